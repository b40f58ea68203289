//! The namespace API of facts ([`crate::facts`]) and patterns
//! ([`crate::patterns`]): validation, the writer's coherence and
//! clustering decisions, the events that record them, and the reads.
//!
//! Every write here follows the namespace's rule: it is validated against
//! the current state under the writer lock, recorded as an event, and only
//! then folded. A refused write changes nothing.

use std::collections::HashSet;

use bytes::Bytes;
use mnemo_log::{Hash, InclusionProof};

use crate::error::{Error, Result};
use crate::event::{
    AssertFact, Declare, Event, FactNote, OpenConflict, RecordTrajectory, Refine, Resolve,
    SetQuarantine, Support,
};
use crate::facts::{
    Cardinality, Clock, Conflict, ConflictId, Fact, FactId, FactQuery, FactStatus, NewFact,
    Proposal, Quarantine,
};
use crate::input::{
    Invalid, Limits, validate_label, validate_text, validate_unit, validate_vector,
};
use crate::model::{MemoryId, Timestamp};
use crate::namespace::Namespace;
use crate::patterns::{Pattern, PatternId, PatternStore, PrunePolicy, Suggest, TrajectoryId};

/// Most evidence ids one fact or support may name.
pub const MAX_EVIDENCE: usize = 1024;

/// Most patterns one suggestion returns.
pub const MAX_SUGGEST_K: usize = 1000;

/// What asserting a fact did.
#[derive(Debug, Clone, PartialEq)]
pub struct Asserted {
    /// The new fact.
    pub fact: FactId,
    /// Its event's seq.
    pub seq: u64,
    /// Believed facts whose windows it closed (knowledge updates).
    pub superseded: Vec<FactId>,
    /// Conflicts it opened.
    pub conflicts: Vec<ConflictId>,
}

/// A Merkle inclusion proof of one event of the log.
#[derive(Debug, Clone)]
pub struct EventProof {
    /// The event's seq (its leaf index).
    pub seq: u64,
    /// The event's log record frame (the leaf's data).
    pub frame: Bytes,
    /// The audit path.
    pub proof: InclusionProof,
    /// The root the proof leads to.
    pub root: Hash,
}

impl EventProof {
    /// Checks the proof against its root (and, when given, a root the
    /// caller trusts).
    pub fn verify(&self, trusted_root: Option<&Hash>) -> Result<(), mnemo_log::VerifyError> {
        mnemo_log::verify_inclusion(&self.frame, &self.proof, trusted_root.unwrap_or(&self.root))
    }
}

/// One fact of a timeline with the proof of its assertion.
#[derive(Debug, Clone)]
pub struct FactRecord {
    /// The fact with its whole history.
    pub fact: Fact,
    /// The Merkle proof of the event that asserted it.
    pub proof: EventProof,
}

/// A trajectory to record (see [`Namespace::record_trajectory`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrajectory {
    /// The task's text (embedded unless `vector` is given).
    pub task: Option<String>,
    /// The task's embedding, of the namespace's dimension.
    pub vector: Option<Vec<f32>>,
    /// Whether it succeeded.
    pub success: bool,
    /// Its score in `[0, 1]`. Default 1 on success, 0 on failure.
    pub score: Option<f32>,
    /// How long it took, in milliseconds (finite, not negative).
    pub latency_ms: f32,
    /// What it cost (finite, not negative).
    pub cost: f32,
    /// Who or what carried it out (a model, a tool, a strategy).
    pub executor: String,
    /// Tags.
    pub tags: Vec<String>,
    /// When it happened. Default: when it is recorded.
    pub at: Option<Timestamp>,
}

impl NewTrajectory {
    /// Checks every field against `limits`, naming the first bad one: the
    /// check [`Namespace::record_trajectory`] runs.
    pub fn validate(&self, limits: &Limits) -> std::result::Result<(), Invalid> {
        validate_label("executor", &self.executor)?;
        for tag in &self.tags {
            validate_label("tag", tag)?;
        }
        validate_unit("score", self.effective_score())?;
        for (field, x) in [("latency", self.latency_ms), ("cost", self.cost)] {
            if !x.is_finite() || x < 0.0 {
                return Err(Invalid::new(
                    field,
                    format!("{x} is not a finite number >= 0"),
                ));
            }
        }
        let task = self.task.as_deref().filter(|s| !s.trim().is_empty());
        if let Some(text) = task {
            validate_text("task", text, limits)?;
        }
        match &self.vector {
            Some(v) => validate_vector(v, limits),
            None if task.is_none() => {
                Err(Invalid::new("task", "give the task's text or its vector"))
            }
            None => Ok(()),
        }
    }

    /// The score: as given, else 1 on success and 0 on failure.
    pub fn effective_score(&self) -> f32 {
        self.score.unwrap_or(if self.success { 1.0 } else { 0.0 })
    }

    /// A trajectory of the task `task` carried out by `executor`.
    pub fn new(task: impl Into<String>, executor: impl Into<String>, success: bool) -> Self {
        Self {
            task: Some(task.into()),
            vector: None,
            success,
            score: None,
            latency_ms: 0.0,
            cost: 0.0,
            executor: executor.into(),
            tags: Vec::new(),
            at: None,
        }
    }

    /// A trajectory of a task given as its embedding.
    pub fn from_vector(vector: Vec<f32>, executor: impl Into<String>, success: bool) -> Self {
        Self {
            task: None,
            vector: Some(vector),
            ..Self::new(String::new(), executor, success)
        }
    }

    /// Sets the score.
    pub fn score(mut self, score: f32) -> Self {
        self.score = Some(score);
        self
    }

    /// Sets latency (ms) and cost.
    pub fn latency_cost(mut self, latency_ms: f32, cost: f32) -> Self {
        self.latency_ms = latency_ms;
        self.cost = cost;
        self
    }

    /// Adds tags.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Sets when it happened.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }
}

/// What recording a trajectory did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// The pattern it joined.
    pub pattern: PatternId,
    /// Whether it started that pattern.
    pub new_pattern: bool,
    /// Whether a refinement of all patterns followed it.
    pub refined: bool,
    /// Its event's seq.
    pub seq: u64,
}

/// The seed of the refinement after `trajectories` trajectories:
/// SplitMix64 of the count, so a namespace refines the same way every time.
fn refine_seed(trajectories: u64) -> u64 {
    let mut z = trajectories.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Namespace {
    fn check_text(&self, field: &'static str, text: &str) -> Result<()> {
        validate_text(field, text, &self.limits()).map_err(|e| self.refused(e))
    }

    fn check_evidence(&self, evidence: &[MemoryId]) -> Result<Vec<MemoryId>> {
        if evidence.len() > MAX_EVIDENCE {
            return Err(self.invalid(
                "evidence",
                format!("{} ids exceed the limit of {MAX_EVIDENCE}", evidence.len()),
            ));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(evidence.len());
        for id in evidence {
            self.live(*id)?;
            if seen.insert(*id) {
                out.push(*id);
            }
        }
        Ok(out)
    }

    fn unknown_fact(&self, id: FactId) -> Error {
        self.invalid("fact", format!("no fact with id {id}"))
    }

    /// The fact `id`, which must be believed.
    fn believed(&self, id: FactId) -> Result<()> {
        match self.inner.state.read().facts.get(id).map(|f| f.status) {
            None => Err(self.unknown_fact(id)),
            Some(FactStatus::Believed) => Ok(()),
            Some(status) => Err(self.invalid(
                "fact",
                format!("fact {id} is {}, not believed", status.as_str()),
            )),
        }
    }

    fn commit_one(&self, event: Event) -> Result<u64> {
        Ok(self.commit(vec![event])?.pop().map_or(0, |d| d.seq))
    }

    /// Declares how many objects `predicate` holds at once (single-valued
    /// predicates conflict, multi-valued ones do not). Applies to facts
    /// asserted from now on.
    pub fn declare_predicate(&self, predicate: &str, cardinality: Cardinality) -> Result<u64> {
        self.check_open()?;
        self.check_label("predicate", predicate.trim())?;
        let _writer = self.inner.writer.lock();
        self.commit_one(Event::Declare(Declare {
            predicate: predicate.to_owned(),
            cardinality,
        }))
    }

    /// Asserts a fact. It is checked against the believed facts of its
    /// `(context, subject, predicate)` at once (see [`crate::facts`]): it
    /// may close older facts' windows (a knowledge update) or open
    /// conflicts, both reported.
    pub fn assert_fact(&self, fact: NewFact) -> Result<Asserted> {
        self.check_open()?;
        fact.validate(&self.limits()).map_err(|e| self.refused(e))?;
        let _writer = self.inner.writer.lock();
        let evidence = self.check_evidence(&fact.evidence)?;
        let coherence = &self.inner.options.coherence;
        let (id, first_conflict, decision) = {
            let state = self.inner.state.read();
            let decision = state.facts.check(
                &Proposal::from(&fact),
                coherence.verifier.as_ref(),
                coherence.confidence_threshold,
            );
            (
                state.facts.next_fact_id(),
                state.facts.next_conflict_id(),
                decision,
            )
        };
        let conflicts: Vec<OpenConflict> = decision
            .conflicts
            .into_iter()
            .enumerate()
            .map(|(i, (with, reason))| OpenConflict {
                id: ConflictId(first_conflict.0 + i as u64),
                with,
                reason,
            })
            .collect();
        let opened = conflicts.iter().map(|c| c.id).collect();
        let seq = self.commit_one(Event::Assert(AssertFact {
            id,
            subject: fact.subject,
            predicate: fact.predicate,
            object: fact.object,
            context: fact.context,
            confidence: fact.confidence,
            valid: fact.valid,
            evidence,
            supersedes: decision.supersedes.clone(),
            conflicts,
        }))?;
        Ok(Asserted {
            fact: id,
            seq,
            superseded: decision.supersedes,
            conflicts: opened,
        })
    }

    /// Challenges a believed fact: it needs a witness ([`Self::support`])
    /// before it is trusted again, and its open conflicts become
    /// challenged.
    pub fn challenge(&self, fact: FactId, reason: &str) -> Result<u64> {
        self.note(fact, reason, Event::Challenge)
    }

    /// Retracts a believed fact: it is no longer believed and its open
    /// conflicts are closed.
    pub fn retract(&self, fact: FactId, reason: &str) -> Result<u64> {
        self.note(fact, reason, Event::Retract)
    }

    fn note(&self, fact: FactId, reason: &str, make: fn(FactNote) -> Event) -> Result<u64> {
        self.check_open()?;
        if reason.trim().is_empty() {
            return Err(self.invalid("reason", "it is empty"));
        }
        self.check_text("reason", reason)?;
        let _writer = self.inner.writer.lock();
        self.believed(fact)?;
        self.commit_one(make(FactNote {
            fact,
            reason: reason.to_owned(),
        }))
    }

    /// Adds evidence (live memories) to a believed fact; this witnesses a
    /// challenged fact.
    pub fn support(&self, fact: FactId, evidence: &[MemoryId], note: Option<&str>) -> Result<u64> {
        self.check_open()?;
        if evidence.is_empty() {
            return Err(self.invalid("evidence", "support needs at least one memory"));
        }
        if let Some(n) = note {
            self.check_text("note", n)?;
        }
        let _writer = self.inner.writer.lock();
        self.believed(fact)?;
        let evidence = self.check_evidence(evidence)?;
        self.commit_one(Event::Support(Support {
            fact,
            evidence,
            note: note.map(str::to_owned),
        }))
    }

    /// Resolves an open conflict: each fact named in `deprecated` stops
    /// being believed (and its other open conflicts close); the facts in
    /// `accepted` lose the conflict's quarantine.
    pub fn resolve(
        &self,
        conflict: ConflictId,
        accepted: &[FactId],
        deprecated: &[FactId],
        rationale: &str,
    ) -> Result<u64> {
        self.check_open()?;
        self.check_text("rationale", rationale)?;
        if accepted.is_empty() && deprecated.is_empty() {
            return Err(self.invalid(
                "resolution",
                "name at least one accepted or deprecated fact",
            ));
        }
        if accepted.iter().any(|a| deprecated.contains(a)) {
            return Err(self.invalid(
                "resolution",
                "a fact cannot be both accepted and deprecated",
            ));
        }
        let _writer = self.inner.writer.lock();
        {
            let state = self.inner.state.read();
            let c = state.facts.conflict(conflict).ok_or_else(|| {
                self.invalid("conflict", format!("no conflict with id {conflict}"))
            })?;
            if !c.is_open() {
                return Err(self.invalid(
                    "conflict",
                    format!("conflict {conflict} is already resolved"),
                ));
            }
            if let Some(f) = accepted
                .iter()
                .chain(deprecated)
                .find(|f| !c.facts.contains(f))
            {
                return Err(self.invalid(
                    "resolution",
                    format!(
                        "fact {f} is not part of conflict {conflict} (facts {} and {})",
                        c.facts[0], c.facts[1]
                    ),
                ));
            }
        }
        let dedup = |ids: &[FactId]| {
            let mut v = ids.to_vec();
            v.sort_unstable();
            v.dedup();
            v
        };
        self.commit_one(Event::Resolve(Resolve {
            conflict,
            accepted: dedup(accepted),
            deprecated: dedup(deprecated),
            rationale: rationale.to_owned(),
        }))
    }

    /// Sets a fact's quarantine level explicitly (`None`: back to the level
    /// its history gives it).
    pub fn quarantine(&self, fact: FactId, level: Option<Quarantine>, reason: &str) -> Result<u64> {
        self.check_open()?;
        self.check_text("reason", reason)?;
        let _writer = self.inner.writer.lock();
        if self.inner.state.read().facts.get(fact).is_none() {
            return Err(self.unknown_fact(fact));
        }
        self.commit_one(Event::Quarantine(SetQuarantine {
            fact,
            level,
            reason: reason.to_owned(),
        }))
    }

    /// The fact with this id (any status).
    pub fn fact(&self, id: FactId) -> Option<Fact> {
        self.inner.state.read().facts.get(id).cloned()
    }

    /// The facts citing memory `id` as evidence (any status), by id.
    pub fn facts_citing(&self, id: MemoryId) -> Vec<Fact> {
        let state = self.inner.state.read();
        state.facts.citing(id).into_iter().cloned().collect()
    }

    /// The facts a query admits, by id (see [`FactQuery`]).
    pub fn facts(&self, query: &FactQuery) -> Vec<Fact> {
        self.inner.state.read().facts.query(query)
    }

    /// What the namespace believes now about `subject`: believed facts
    /// valid now, up to [`Quarantine::Conservative`].
    pub fn current(&self, subject: &str) -> Vec<Fact> {
        self.facts(&FactQuery::new().subject(subject).valid_at(Timestamp::now()))
    }

    /// What was true of `subject` at time `t` ([`Clock::Valid`], as known
    /// now) or what the namespace believed at `t` to be true then
    /// ([`Clock::Recorded`]).
    pub fn as_of(&self, subject: &str, t: Timestamp, clock: Clock) -> Vec<Fact> {
        let query = FactQuery::new().subject(subject).valid_at(t);
        self.facts(&match clock {
            Clock::Valid => query,
            Clock::Recorded => query.known_at(t),
        })
    }

    /// The whole timeline of `subject`'s `predicate` in every context:
    /// every fact (any status) with its history and the Merkle proof of
    /// the event that asserted it, oldest first.
    pub fn history(&self, subject: &str, predicate: &str) -> Result<Vec<FactRecord>> {
        let facts: Vec<Fact> = self
            .inner
            .state
            .read()
            .facts
            .timeline(subject, predicate)
            .into_iter()
            .cloned()
            .collect();
        facts
            .into_iter()
            .map(|fact| {
                let proof = self.prove_event(fact.seq)?;
                Ok(FactRecord { fact, proof })
            })
            .collect()
    }

    /// Conflicts by id (only open ones when `open_only`).
    pub fn conflicts(&self, open_only: bool) -> Vec<Conflict> {
        self.inner
            .state
            .read()
            .facts
            .conflicts(open_only)
            .cloned()
            .collect()
    }

    /// The conflict with this id.
    pub fn conflict(&self, id: ConflictId) -> Option<Conflict> {
        self.inner.state.read().facts.conflict(id).cloned()
    }

    /// Declared multi-valued predicates (undeclared ones are single-valued).
    pub fn predicates(&self) -> Vec<(String, Cardinality)> {
        self.inner.state.read().facts.predicates()
    }

    /// The Merkle inclusion proof of the event at `seq` against the current
    /// root.
    pub fn prove_event(&self, seq: u64) -> Result<EventProof> {
        let log_error = |source| Error::Log {
            namespace: self.inner.name.clone(),
            source,
        };
        let (root, size) = self.root()?;
        if seq >= size {
            return Err(self.invalid(
                "proof",
                format!("event {seq} is not in the log (it holds {size})"),
            ));
        }
        let proof = self
            .inner
            .log
            .inclusion_proof(seq, size)
            .map_err(log_error)?;
        let frame = self
            .inner
            .log
            .read(seq)
            .map(|r| r.frame().clone())
            .ok_or_else(|| self.invalid("proof", format!("event {seq} is not in the log")))?;
        Ok(EventProof {
            seq,
            frame,
            proof,
            root,
        })
    }

    // ----- patterns -----

    fn with_patterns<T>(&self, read: impl FnOnce(&PatternStore) -> T) -> Option<T> {
        self.inner.state.read().patterns.as_ref().map(read)
    }

    /// Records what happened when a task was carried out. The task (text,
    /// embedded, or a vector of the namespace's dimension) joins the most
    /// similar pattern, or starts one; every
    /// [`crate::patterns::PatternParams::refine_every`] trajectories the
    /// patterns are refined by k-means++.
    pub fn record_trajectory(&self, t: NewTrajectory) -> Result<Recorded> {
        self.check_open()?;
        t.validate(&self.limits()).map_err(|e| self.refused(e))?;
        let score = t.effective_score();
        let task = t.task.filter(|s| !s.trim().is_empty());
        let vector = match (t.vector, &task) {
            (Some(v), _) => v,
            (None, Some(text)) => self.embed(&[text.as_str()])?.pop().unwrap_or_default(),
            (None, None) => {
                return Err(self.invalid("task", "give the task's text or its vector"));
            }
        };
        let mut tags = t.tags;
        tags.sort_unstable();
        tags.dedup();
        let params = self.inner.options.patterns;
        let _writer = self.inner.writer.lock();
        let (id, pattern, new_pattern, refine) = self
            .with_patterns(|p| {
                let pattern = p.assign(&vector, params.join_threshold);
                (
                    p.next_trajectory_id(),
                    pattern,
                    pattern == p.next_pattern_id(),
                    params.refine_every > 0 && p.since_refine() + 1 >= params.refine_every,
                )
            })
            .ok_or_else(|| self.invalid("trajectory", "the namespace has no embedder yet"))?;
        let mut events = vec![Event::Trajectory(RecordTrajectory {
            id,
            task,
            vector,
            success: t.success,
            score,
            latency_ms: t.latency_ms,
            cost: t.cost,
            executor: t.executor,
            tags,
            at: t.at,
            pattern,
        })];
        if refine {
            events.push(self.refine_event(id.0));
        }
        let seq = self.commit(events)?.first().map_or(0, |d| d.seq);
        Ok(Recorded {
            trajectory: id,
            pattern,
            new_pattern,
            refined: refine,
            seq,
        })
    }

    fn refine_event(&self, trajectories: u64) -> Event {
        let params = self.inner.options.patterns;
        Event::Refine(Refine {
            seed: refine_seed(trajectories),
            iterations: u32::try_from(params.kmeans_iterations).unwrap_or(u32::MAX),
            max_trajectories: u32::try_from(params.refine_max_trajectories).unwrap_or(u32::MAX),
        })
    }

    /// Refines the patterns now (deterministic k-means++ over the
    /// trajectories); returns the event's seq.
    pub fn refine_patterns(&self) -> Result<u64> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        let count = self
            .with_patterns(|p| p.next_trajectory_id().0)
            .unwrap_or(0);
        self.commit_one(self.refine_event(count))
    }

    /// Removes the patterns (and their trajectories from clustering) that
    /// `policy` names; returns them.
    pub fn prune_patterns(&self, policy: &PrunePolicy) -> Result<Vec<PatternId>> {
        self.check_open()?;
        if let Some(q) = policy.min_quality {
            self.check_unit("min_quality", q)?;
        }
        let _writer = self.inner.writer.lock();
        let ids = self
            .with_patterns(|p| p.plan_prune(policy))
            .unwrap_or_default();
        if !ids.is_empty() {
            self.commit_one(Event::Prune(ids.clone()))?;
        }
        Ok(ids)
    }

    /// Merges patterns whose centroids are at least `threshold` similar
    /// (default [`crate::patterns::PatternParams::consolidate_threshold`]);
    /// returns the (kept, absorbed) pairs.
    pub fn consolidate_patterns(
        &self,
        threshold: Option<f32>,
    ) -> Result<Vec<(PatternId, PatternId)>> {
        self.check_open()?;
        let threshold = threshold.unwrap_or(self.inner.options.patterns.consolidate_threshold);
        if !(-1.0..=1.0).contains(&threshold) {
            return Err(self.invalid("threshold", format!("{threshold} is not in [-1, 1]")));
        }
        let _writer = self.inner.writer.lock();
        let merges = self
            .with_patterns(|p| p.plan_consolidate(threshold))
            .unwrap_or_default();
        if !merges.is_empty() {
            self.commit_one(Event::Consolidate(merges.clone()))?;
        }
        Ok(merges)
    }

    /// The `k` patterns best suited to `task` (similarity × quality) and
    /// the executor they recommend.
    pub fn suggest(&self, task: &str, k: usize) -> Result<Suggest> {
        self.check_open()?;
        if task.trim().is_empty() {
            return Err(self.invalid("task", "it is empty"));
        }
        self.check_text("task", task)?;
        let vector = self.embed(&[task])?.pop().unwrap_or_default();
        self.suggest_vector(&vector, k)
    }

    /// [`Self::suggest`] for a task given as its embedding.
    pub fn suggest_vector(&self, vector: &[f32], k: usize) -> Result<Suggest> {
        self.check_open()?;
        self.check_vector(vector)?;
        if k > MAX_SUGGEST_K {
            return Err(self.invalid("k", format!("{k} exceeds the limit of {MAX_SUGGEST_K}")));
        }
        Ok(self
            .with_patterns(|p| p.suggest(vector, k))
            .unwrap_or_else(|| PatternStore::new(vector.len()).suggest(vector, k)))
    }

    /// Every pattern, by id.
    pub fn patterns(&self) -> Vec<Pattern> {
        self.with_patterns(|p| p.patterns().cloned().collect())
            .unwrap_or_default()
    }

    /// The pattern with this id.
    pub fn pattern(&self, id: PatternId) -> Option<Pattern> {
        self.with_patterns(|p| p.get(id).cloned()).flatten()
    }
}
