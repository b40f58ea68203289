//! The JSON shapes of facts, conflicts, trajectories and patterns: what
//! clients send (`...In`, `...Params`, refusing unknown fields) and what
//! the server answers (`...Out`), each with a JSON Schema for the OpenAPI
//! document.
//!
//! Times are RFC 3339 strings, answered in UTC with a `Z`. A fact is
//! answered as [`FactOut`] (from [`crate::dto`]); its history, proofs and
//! conflicts are defined here.

use mnemo::facts::{FactChange, FactEvent, Resolution};
use mnemo::patterns::{ExecutorStats, Pattern, PrunePolicy, Suggest, Suggestion};
use mnemo::{
    Cardinality, Conflict, EventProof, Fact, FactId, FactQuery, MemoryId, NewFact, NewTrajectory,
    Quarantine, Validity,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dto::{FactOut, MAX_LIST, ValidityIo, hex, parse_time};
use crate::error::ApiError;

/// Items one listing returns unless told otherwise.
pub const DEFAULT_LIMIT: usize = 100;

/// Patterns `suggest` ranks unless told otherwise.
pub const DEFAULT_SUGGEST_K: usize = 5;

/// `offset` and `limit` checked: the page of `items` they name.
pub fn page<T>(
    items: Vec<T>,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Result<Vec<T>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::bad_request(format!(
            "limit: between 1 and {MAX_LIST} (page with offset)"
        )));
    }
    Ok(items
        .into_iter()
        .skip(offset.unwrap_or(0))
        .take(limit)
        .collect())
}

/// Checks that `x` is in [0, 1], naming `field`.
pub fn check_unit(field: &str, x: f32) -> Result<(), ApiError> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: {x} is not a number in [0, 1]"
        )))
    }
}

/// Checks that `text` is not empty or blank, naming `field`.
pub fn check_not_blank(field: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        Err(ApiError::bad_request(format!("{field}: it is empty")))
    } else {
        Ok(())
    }
}

fn parse_validity(field: &str, v: &ValidityIo) -> Result<Validity, ApiError> {
    let from = v
        .from
        .as_deref()
        .map(|t| parse_time(&format!("{field}.from"), t))
        .transpose()?;
    let until = v
        .until
        .as_deref()
        .map(|t| parse_time(&format!("{field}.until"), t))
        .transpose()?;
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        return Err(ApiError::bad_request(format!(
            "{field}.until: {} is not after {field}.from {}",
            mnemo::rfc3339::format(u),
            mnemo::rfc3339::format(f)
        )));
    }
    Ok(Validity { from, until })
}

// ----- facts -----

/// A fact to assert: `subject predicate object` (`alice lives_in Paris`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertIn {
    /// What the fact is about (`alice`; 1 to 256 bytes).
    pub subject: String,
    /// The relation (`lives_in`; 1 to 256 bytes). Undeclared predicates are
    /// single-valued: a different object contradicts.
    pub predicate: String,
    /// The value (`Paris`; not empty).
    pub object: String,
    /// Where it holds (a conversation, a source, a world); default
    /// `default`. Facts of different contexts never contradict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// How sure the writer is, in [0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// When it is true (default: always). A fact whose window starts after
    /// a contradicting one's start supersedes it (closes its window)
    /// instead of opening a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<ValidityIo>,
    /// Ids of live memories the fact was drawn from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<u64>,
}

impl AssertIn {
    /// The engine's form; errors name the field.
    pub fn to_new_fact(&self) -> Result<NewFact, ApiError> {
        check_not_blank("subject", &self.subject)?;
        check_not_blank("predicate", &self.predicate)?;
        check_not_blank("object", &self.object)?;
        let mut fact = NewFact::new(&self.subject, &self.predicate, &self.object);
        if let Some(c) = &self.context {
            check_not_blank("context", c)?;
            fact = fact.context(c);
        }
        if let Some(x) = self.confidence {
            check_unit("confidence", x)?;
            fact = fact.confidence(x);
        }
        if let Some(v) = &self.valid {
            fact.valid = parse_validity("valid", v)?;
        }
        if self.evidence.len() > mnemo::MAX_EVIDENCE {
            return Err(ApiError::bad_request(format!(
                "evidence: {} ids exceed the limit of {}",
                self.evidence.len(),
                mnemo::MAX_EVIDENCE
            )));
        }
        Ok(fact.evidence(self.evidence.iter().copied().map(MemoryId)))
    }
}

/// What asserting a fact did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AssertedOut {
    /// The new fact.
    pub fact: FactOut,
    /// Log seq of the assert event.
    pub seq: u64,
    /// Believed facts whose validity windows it closed (knowledge
    /// updates), as they are now.
    pub superseded: Vec<FactOut>,
    /// Conflicts it opened with believed facts it contradicts.
    pub conflicts: Vec<ConflictOut>,
}

/// A quarantine level, least restrictive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum QuarantineLevel {
    /// Undisputed.
    #[serde(rename = "none")]
    None,
    /// Disputed (in an open conflict): usable with care.
    #[serde(rename = "conservative")]
    Conservative,
    /// Challenged and not supported since: needs a witness.
    #[serde(rename = "requires-witness", alias = "requires_witness")]
    RequiresWitness,
    /// Deprecated, retracted or blocked: not to be used.
    #[serde(rename = "blocked")]
    Blocked,
}

impl QuarantineLevel {
    /// The engine's level.
    pub fn to_engine(self) -> Quarantine {
        match self {
            QuarantineLevel::None => Quarantine::None,
            QuarantineLevel::Conservative => Quarantine::Conservative,
            QuarantineLevel::RequiresWitness => Quarantine::RequiresWitness,
            QuarantineLevel::Blocked => Quarantine::Blocked,
        }
    }
}

/// The query string of `GET .../facts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactParams {
    /// Only facts about this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Only facts of this predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// Only facts in this context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Only facts valid at this time (RFC 3339; the validity clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_at: Option<String>,
    /// The facts as the namespace held them at this time (RFC 3339; the
    /// recorded clock). Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at: Option<String>,
    /// Also deprecated and retracted facts, at any quarantine level
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_inactive: Option<bool>,
    /// The least trusted level returned (default `conservative`: disputed
    /// facts are returned, flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quarantine: Option<QuarantineLevel>,
    /// Facts skipped before the first returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Most facts returned (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl FactParams {
    /// The engine's query; errors name the parameter.
    pub fn to_query(&self) -> Result<FactQuery, ApiError> {
        let mut q = FactQuery::new();
        q.subject = self.subject.clone();
        q.predicate = self.predicate.clone();
        q.context = self.context.clone();
        q.valid_at = self
            .valid_at
            .as_deref()
            .map(|t| parse_time("valid_at", t))
            .transpose()?;
        q.known_at = self
            .known_at
            .as_deref()
            .map(|t| parse_time("known_at", t))
            .transpose()?;
        q.include_inactive = self.include_inactive.unwrap_or(false);
        if let Some(level) = self.max_quarantine {
            q.max_quarantine = level.to_engine();
        }
        Ok(q)
    }
}

/// A page of facts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FactsOut {
    /// The facts, by id.
    pub facts: Vec<FactOut>,
    /// How many match in all (ignoring offset and limit).
    pub total: usize,
}

/// What one change in a fact's life was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeOut {
    /// Asserted (the first change).
    Asserted,
    /// A later fact closed its validity window (a knowledge update).
    Superseded {
        /// The newer fact.
        by: u64,
        /// Where its window now ends.
        until: String,
    },
    /// It joined a conflict.
    ConflictOpened {
        /// The conflict.
        conflict: u64,
        /// The other fact.
        with: u64,
        /// Why they contradict.
        reason: String,
    },
    /// A conflict it was in was resolved with it kept.
    ConflictClosed {
        /// The conflict.
        conflict: u64,
    },
    /// It lost a conflict's resolution.
    Deprecated {
        /// The conflict.
        conflict: u64,
        /// The resolution's rationale.
        rationale: String,
    },
    /// Challenged: it needs a witness.
    Challenged {
        /// Why.
        reason: String,
    },
    /// Supported with evidence (lifts a challenge).
    Supported {
        /// The memories added as evidence.
        evidence: Vec<u64>,
        /// The note given, if any.
        note: Option<String>,
    },
    /// Its quarantine level was set explicitly, or cleared (`level` null).
    Quarantined {
        /// The level set, or null when cleared (back to the level its
        /// history gives it).
        level: Option<String>,
        /// Why.
        reason: String,
    },
    /// Retracted.
    Retracted {
        /// Why.
        reason: String,
    },
}

/// One entry of a fact's history: what changed, by which event, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FactChangeOut {
    /// Log seq of the event.
    pub seq: u64,
    /// When the namespace recorded it.
    pub recorded: String,
    /// What changed (`change` names it; other fields depend on it).
    #[serde(flatten)]
    pub change: ChangeOut,
}

impl From<&FactChange> for FactChangeOut {
    fn from(c: &FactChange) -> Self {
        let change = match &c.event {
            FactEvent::Asserted => ChangeOut::Asserted,
            FactEvent::Superseded { by, until } => ChangeOut::Superseded {
                by: by.0,
                until: mnemo::rfc3339::format(*until),
            },
            FactEvent::ConflictOpened {
                conflict,
                with,
                reason,
            } => ChangeOut::ConflictOpened {
                conflict: conflict.0,
                with: with.0,
                reason: reason.clone(),
            },
            FactEvent::ConflictClosed { conflict } => ChangeOut::ConflictClosed {
                conflict: conflict.0,
            },
            FactEvent::Deprecated {
                conflict,
                rationale,
            } => ChangeOut::Deprecated {
                conflict: conflict.0,
                rationale: rationale.clone(),
            },
            FactEvent::Challenged { reason } => ChangeOut::Challenged {
                reason: reason.clone(),
            },
            FactEvent::Supported { evidence, note } => ChangeOut::Supported {
                evidence: evidence.iter().map(|m| m.0).collect(),
                note: note.clone(),
            },
            FactEvent::Quarantined { level, reason } => ChangeOut::Quarantined {
                level: level.map(|l| l.as_str().to_owned()),
                reason: reason.clone(),
            },
            FactEvent::Retracted { reason } => ChangeOut::Retracted {
                reason: reason.clone(),
            },
        };
        Self {
            seq: c.seq,
            recorded: mnemo::rfc3339::format(c.recorded),
            change,
        }
    }
}

/// A fact with what it was asserted as and its whole history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FactDetailOut {
    /// The fact as it stands.
    pub fact: FactOut,
    /// The validity window it was asserted with (a supersession may have
    /// closed `fact.valid` since).
    pub asserted_valid: ValidityIo,
    /// The evidence it was asserted with (supports may have added more).
    pub asserted_evidence: Vec<u64>,
    /// Facts whose windows its assertion closed.
    pub supersedes: Vec<u64>,
    /// Every change, oldest first.
    pub history: Vec<FactChangeOut>,
}

impl From<&Fact> for FactDetailOut {
    fn from(f: &Fact) -> Self {
        Self {
            fact: FactOut::from(f),
            asserted_valid: ValidityIo::from_validity(&f.asserted_valid),
            asserted_evidence: f.asserted_evidence.iter().map(|m| m.0).collect(),
            supersedes: f.supersedes.iter().map(|x| x.0).collect(),
            history: f.history.iter().map(FactChangeOut::from).collect(),
        }
    }
}

/// The query string of `GET .../facts/history`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// The subject.
    pub subject: String,
    /// The predicate.
    pub predicate: String,
}

/// A Merkle inclusion proof of one event of the namespace's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventProofOut {
    /// Seq of the event (its leaf index).
    pub seq: u64,
    /// The event's log record frame, the leaf's data (hex).
    pub frame: String,
    /// The audit path: sibling hashes from the leaf up (hex).
    pub path: Vec<String>,
    /// Leaves under the root.
    pub length: u64,
    /// The root the proof leads to (hex).
    pub root: String,
}

impl From<&EventProof> for EventProofOut {
    fn from(p: &EventProof) -> Self {
        Self {
            seq: p.seq,
            frame: hex(&p.frame),
            path: p.proof.path.iter().map(|h| hex(h)).collect(),
            length: p.proof.tree_size,
            root: hex(&p.root),
        }
    }
}

/// One fact of a timeline with the proof of the event that asserted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryRecordOut {
    /// The fact, what it was asserted as and its changes.
    #[serde(flatten)]
    pub detail: FactDetailOut,
    /// The Merkle proof of its assert event.
    pub proof: EventProofOut,
    /// Whether the server checked the proof against its root.
    pub verified: bool,
}

/// The whole timeline of a subject's predicate in every context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryOut {
    /// The subject.
    pub subject: String,
    /// The predicate.
    pub predicate: String,
    /// Whether every record's proof verified.
    pub verified: bool,
    /// Every fact (any status), oldest first.
    pub records: Vec<HistoryRecordOut>,
}

/// Why (a challenge or a retraction).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Why, in words (not empty).
    pub reason: String,
}

/// Evidence for a believed fact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportIn {
    /// Ids of live memories supporting it (at least one).
    pub evidence: Vec<u64>,
    /// A note on the support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An explicit quarantine level.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineIn {
    /// The level to set; absent or null clears the explicit level (the
    /// fact goes back to the level its history gives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<QuarantineLevel>,
    /// Why, in words (not empty).
    pub reason: String,
}

/// A fact after a change to it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FactChangedOut {
    /// Log seq of the event.
    pub seq: u64,
    /// The fact as it is now.
    pub fact: FactOut,
}

/// How many objects a predicate holds at once for one subject in one
/// context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CardinalityIo {
    /// One at a time (`lives_in`): different objects contradict. The
    /// default of undeclared predicates.
    Single,
    /// Any number (`likes`, `speaks`): no contradictions.
    Multi,
}

impl CardinalityIo {
    /// The engine's cardinality.
    pub fn to_engine(self) -> Cardinality {
        match self {
            CardinalityIo::Single => Cardinality::Single,
            CardinalityIo::Multi => Cardinality::Multi,
        }
    }

    /// The JSON form of the engine's cardinality.
    pub fn from_engine(c: Cardinality) -> Self {
        match c {
            Cardinality::Single => CardinalityIo::Single,
            Cardinality::Multi => CardinalityIo::Multi,
        }
    }
}

/// A predicate's declaration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredicateIn {
    /// The predicate (1 to 256 bytes).
    pub predicate: String,
    /// `single` or `multi`; applies to facts asserted from now on.
    pub cardinality: CardinalityIo,
}

/// A declared predicate.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PredicateOut {
    /// The predicate.
    pub predicate: String,
    /// `single` or `multi`.
    pub cardinality: CardinalityIo,
    /// Log seq of the declaration (only in the answer to a declaration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The declared predicates.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PredicatesOut {
    /// Declared predicates (undeclared ones are single-valued).
    pub predicates: Vec<PredicateOut>,
}

// ----- conflicts -----

/// The query string of `GET .../conflicts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictParams {
    /// Also resolved conflicts (default false: open ones only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
    /// Conflicts skipped before the first returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Most conflicts returned (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A challenge made to one of a conflict's facts while it was open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChallengeOut {
    /// The fact challenged.
    pub fact: u64,
    /// Why.
    pub reason: String,
    /// Log seq of the challenge.
    pub seq: u64,
}

/// How a conflict was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResolutionOut {
    /// Facts kept.
    pub accepted: Vec<u64>,
    /// Facts deprecated.
    pub deprecated: Vec<u64>,
    /// Why.
    pub rationale: String,
    /// True when it closed because one of its facts was deprecated or
    /// retracted elsewhere.
    pub automatic: bool,
    /// Log seq of the resolving event.
    pub seq: u64,
    /// When it was recorded.
    pub recorded: String,
}

impl From<&Resolution> for ResolutionOut {
    fn from(r: &Resolution) -> Self {
        Self {
            accepted: r.accepted.iter().map(|f| f.0).collect(),
            deprecated: r.deprecated.iter().map(|f| f.0).collect(),
            rationale: r.rationale.clone(),
            automatic: r.automatic,
            seq: r.seq,
            recorded: mnemo::rfc3339::format(r.recorded),
        }
    }
}

/// Two believed facts of one `(context, subject, predicate)` that
/// contradict each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConflictOut {
    /// The conflict's id.
    pub id: u64,
    /// `detected`, `challenged` or `resolved`.
    pub state: String,
    /// Whether it is not resolved yet.
    pub open: bool,
    /// The facts' context.
    pub context: String,
    /// The facts' subject.
    pub subject: String,
    /// The facts' predicate.
    pub predicate: String,
    /// The older fact and the newer one, as they are now.
    pub facts: Vec<FactOut>,
    /// Why they contradict.
    pub reason: String,
    /// Log seq of the assert event that opened it.
    pub seq: u64,
    /// When it was opened.
    pub recorded: String,
    /// Challenges made to its facts while it was open.
    pub challenges: Vec<ChallengeOut>,
    /// How it was resolved, once it is.
    pub resolution: Option<ResolutionOut>,
}

impl ConflictOut {
    /// The JSON form of `c`, its facts read with `fact`.
    pub fn new(c: &Conflict, fact: impl Fn(FactId) -> Option<Fact>) -> Self {
        Self {
            id: c.id.0,
            state: c.state.as_str().to_owned(),
            open: c.is_open(),
            context: c.context.clone(),
            subject: c.subject.clone(),
            predicate: c.predicate.clone(),
            facts: c
                .facts
                .iter()
                .filter_map(|id| fact(*id))
                .map(|f| FactOut::from(&f))
                .collect(),
            reason: c.reason.clone(),
            seq: c.seq,
            recorded: mnemo::rfc3339::format(c.recorded),
            challenges: c
                .challenges
                .iter()
                .map(|(fact, reason, seq)| ChallengeOut {
                    fact: fact.0,
                    reason: reason.clone(),
                    seq: *seq,
                })
                .collect(),
            resolution: c.resolution.as_ref().map(ResolutionOut::from),
        }
    }
}

/// A page of conflicts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConflictsOut {
    /// The conflicts, by id.
    pub conflicts: Vec<ConflictOut>,
    /// How many match in all (ignoring offset and limit).
    pub total: usize,
}

/// How to settle a conflict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// Facts of the conflict to keep (they lose its quarantine).
    #[serde(default)]
    pub accepted: Vec<u64>,
    /// Facts of the conflict to stop believing.
    #[serde(default)]
    pub deprecated: Vec<u64>,
    /// Why it is settled this way (not empty).
    pub rationale: String,
}

impl ResolveIn {
    /// Checks the shape (the facts' membership is checked by the engine).
    pub fn check(&self) -> Result<(), ApiError> {
        if self.accepted.is_empty() && self.deprecated.is_empty() {
            return Err(ApiError::bad_request(
                "accepted, deprecated: name at least one fact of the conflict to keep or to drop",
            ));
        }
        if let Some(f) = self.accepted.iter().find(|f| self.deprecated.contains(f)) {
            return Err(ApiError::bad_request(format!(
                "deprecated: fact {f} is also accepted"
            )));
        }
        check_not_blank("rationale", &self.rationale)
    }
}

// ----- trajectories and patterns -----

/// How a task went.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryIn {
    /// The task's text (embedded with the namespace's embedder). Give
    /// `task` or `vector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The task's embedding, of the namespace's dimension, instead of its
    /// text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
    /// Who or what carried it out (a model, a tool, a strategy; 1 to 256
    /// bytes).
    pub executor: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Graded outcome in [0, 1] (default 1 on success, 0 on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// How long it took, in milliseconds (>= 0; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f32>,
    /// What it cost, in any unit used consistently (>= 0; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f32>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When it happened (RFC 3339); default: when it is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The task of a trajectory or a suggestion: exactly one of its text and
/// its vector, checked.
fn task_input(task: Option<&String>, vector: Option<&Vec<f32>>) -> Result<(), ApiError> {
    match (task, vector) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "task, vector: give the task's text or its vector, not both",
        )),
        (None, None) => Err(ApiError::bad_request(
            "task: give the task's text (task) or its embedding (vector)",
        )),
        (Some(t), None) => check_not_blank("task", t),
        (None, Some(_)) => Ok(()),
    }
}

impl TrajectoryIn {
    /// The engine's form; errors name the field.
    pub fn to_trajectory(&self) -> Result<NewTrajectory, ApiError> {
        task_input(self.task.as_ref(), self.vector.as_ref())?;
        check_not_blank("executor", &self.executor)?;
        if let Some(s) = self.score {
            check_unit("score", s)?;
        }
        let latency = self.latency_ms.unwrap_or(0.0);
        let cost = self.cost.unwrap_or(0.0);
        for (field, x) in [("latency_ms", latency), ("cost", cost)] {
            if !x.is_finite() || x < 0.0 {
                return Err(ApiError::bad_request(format!(
                    "{field}: {x} is not a finite number >= 0"
                )));
            }
        }
        if let Some(t) = self.tags.iter().find(|t| t.trim().is_empty()) {
            return Err(ApiError::bad_request(format!("tags: {t:?} is empty")));
        }
        let mut t = match (&self.task, &self.vector) {
            (_, Some(v)) => NewTrajectory::from_vector(v.clone(), &self.executor, self.success),
            (Some(task), None) => NewTrajectory::new(task, &self.executor, self.success),
            (None, None) => return Err(ApiError::bad_request("task: give the task")),
        };
        t = t
            .latency_cost(latency, cost)
            .tags(self.tags.iter().cloned());
        t.score = self.score;
        t.at = self
            .at
            .as_deref()
            .map(|a| parse_time("at", a))
            .transpose()?;
        Ok(t)
    }
}

/// What recording a trajectory did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecordedOut {
    /// The trajectory's id.
    pub trajectory: u64,
    /// The pattern it joined or started.
    pub pattern: u64,
    /// Whether it started that pattern.
    pub new_pattern: bool,
    /// Whether a refinement of all patterns followed it.
    pub refined: bool,
    /// Log seq of its event.
    pub seq: u64,
}

/// A task to find an executor for.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestIn {
    /// The task's text. Give `task` or `vector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The task's embedding, of the namespace's dimension, instead of its
    /// text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
    /// How many patterns to rank (default 5, 1 to 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
}

impl SuggestIn {
    /// `k` checked (default [`DEFAULT_SUGGEST_K`]) after the task.
    pub fn check(&self) -> Result<usize, ApiError> {
        task_input(self.task.as_ref(), self.vector.as_ref())?;
        let k = self.k.unwrap_or(DEFAULT_SUGGEST_K);
        if k == 0 || k > mnemo::MAX_SUGGEST_K {
            return Err(ApiError::bad_request(format!(
                "k: between 1 and {}",
                mnemo::MAX_SUGGEST_K
            )));
        }
        Ok(k)
    }
}

/// A pattern ranked for a task.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SuggestionOut {
    /// The pattern.
    pub pattern: u64,
    /// Cosine between the task and the pattern's centroid.
    pub similarity: f32,
    /// The pattern's quality, in [0, 1].
    pub quality: f32,
    /// `max(similarity, 0) · quality`: the ranking key.
    pub score: f32,
    /// Trajectories in the pattern.
    pub count: u64,
    /// The pattern's best executor.
    pub executor: Option<String>,
    /// That executor's smoothed success rate in the pattern.
    pub executor_success_rate: f32,
    /// Up to 5 of that executor's most recent trajectories in the
    /// pattern, newest first.
    pub evidence: Vec<u64>,
}

impl From<&Suggestion> for SuggestionOut {
    fn from(s: &Suggestion) -> Self {
        Self {
            pattern: s.pattern.0,
            similarity: s.similarity,
            quality: s.quality,
            score: s.score,
            count: s.count,
            executor: s.executor.clone(),
            executor_success_rate: s.executor_success_rate,
            evidence: s.evidence.iter().map(|t| t.0).collect(),
        }
    }
}

/// The executor recommended for a task and the patterns behind it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SuggestOut {
    /// The recommended executor (pooled over the ranked patterns, weighted
    /// by similarity); null without evidence.
    pub executor: Option<String>,
    /// Its pooled success rate shrunk towards 0 when the evidence is thin,
    /// in [0, 1]; 0 without a recommendation.
    pub confidence: f32,
    /// The top patterns by score, best first.
    pub suggestions: Vec<SuggestionOut>,
}

impl From<&Suggest> for SuggestOut {
    fn from(s: &Suggest) -> Self {
        Self {
            executor: s.executor.clone(),
            confidence: s.confidence,
            suggestions: s.suggestions.iter().map(SuggestionOut::from).collect(),
        }
    }
}

/// One executor's record inside a pattern.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExecutorOut {
    /// The executor.
    pub executor: String,
    /// Trajectories it carried out in the pattern.
    pub count: u64,
    /// How many succeeded.
    pub successes: u64,
    /// Laplace-smoothed success rate `(successes + 1) / (count + 2)`.
    pub smoothed_success: f32,
    /// Mean score.
    pub mean_score: f32,
    /// Mean latency in milliseconds.
    pub mean_latency_ms: f32,
    /// Mean cost.
    pub mean_cost: f32,
}

impl From<&ExecutorStats> for ExecutorOut {
    fn from(e: &ExecutorStats) -> Self {
        Self {
            executor: e.executor.clone(),
            count: e.count,
            successes: e.successes,
            smoothed_success: e.smoothed_success(),
            mean_score: e.mean_score,
            mean_latency_ms: e.mean_latency_ms,
            mean_cost: e.mean_cost,
        }
    }
}

/// A learned pattern: a cluster of similar tasks and how they went.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PatternOut {
    /// The pattern's id.
    pub id: u64,
    /// Trajectories in it.
    pub count: u64,
    /// Share that succeeded.
    pub success_rate: f32,
    /// Mean score.
    pub mean_score: f32,
    /// Mean latency in milliseconds.
    pub mean_latency_ms: f32,
    /// Mean cost.
    pub mean_cost: f32,
    /// `0.75 · (s + 1)/(n + 2) + 0.25 · mean_score`, in [0, 1].
    pub quality: f32,
    /// The executor with the highest smoothed success rate.
    pub best_executor: Option<String>,
    /// Statistics per executor, by name.
    pub executors: Vec<ExecutorOut>,
    /// When its newest trajectory happened.
    pub last_used: String,
    /// Log seq of the event that created it.
    pub created_seq: u64,
    /// Its centroid's dimension.
    pub dimension: usize,
}

impl From<&Pattern> for PatternOut {
    fn from(p: &Pattern) -> Self {
        Self {
            id: p.id.0,
            count: p.count,
            success_rate: p.success_rate,
            mean_score: p.mean_score,
            mean_latency_ms: p.mean_latency_ms,
            mean_cost: p.mean_cost,
            quality: p.quality,
            best_executor: p.best_executor.clone(),
            executors: p.executors.iter().map(ExecutorOut::from).collect(),
            last_used: mnemo::rfc3339::format(p.last_used),
            created_seq: p.created_seq,
            dimension: p.centroid.len(),
        }
    }
}

/// The query string of `GET .../patterns`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternParams {
    /// Patterns skipped before the first returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Most patterns returned (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A page of patterns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PatternsOut {
    /// The patterns, by id.
    pub patterns: Vec<PatternOut>,
    /// How many there are in all.
    pub total: usize,
}

/// Which patterns to prune: a pattern goes when any condition given holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PruneIn {
    /// Prune patterns whose quality is below this, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quality: Option<f32>,
    /// Prune patterns with fewer trajectories than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u64>,
    /// Prune patterns not used since this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_since: Option<String>,
}

impl PruneIn {
    /// The engine's policy; errors name the field.
    pub fn to_policy(&self) -> Result<PrunePolicy, ApiError> {
        if self.min_quality.is_none() && self.min_count.is_none() && self.unused_since.is_none() {
            return Err(ApiError::bad_request(
                "min_quality, min_count, unused_since: name at least one condition \
                 (a pattern is pruned when any holds)",
            ));
        }
        if let Some(q) = self.min_quality {
            check_unit("min_quality", q)?;
        }
        Ok(PrunePolicy {
            min_quality: self.min_quality,
            min_count: self.min_count,
            unused_since: self
                .unused_since
                .as_deref()
                .map(|t| parse_time("unused_since", t))
                .transpose()?,
        })
    }
}

/// What pruning removed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PrunedOut {
    /// The patterns removed (with their trajectories).
    pub pruned: Vec<u64>,
    /// Patterns left.
    pub patterns: usize,
}

/// How close two patterns must be to merge.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateIn {
    /// Centroid cosine at or above which two patterns merge, in [-1, 1]
    /// (default: the namespace's, 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
}

impl ConsolidateIn {
    /// Checks the threshold.
    pub fn check(&self) -> Result<(), ApiError> {
        match self.threshold {
            Some(x) if !(-1.0..=1.0).contains(&x) => Err(ApiError::bad_request(format!(
                "threshold: {x} is not a cosine in [-1, 1]"
            ))),
            _ => Ok(()),
        }
    }
}

/// One merge of two patterns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MergeOut {
    /// The pattern kept.
    pub kept: u64,
    /// The pattern merged into it.
    pub absorbed: u64,
}

/// What consolidation merged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidatedOut {
    /// The merges, in order.
    pub merges: Vec<MergeOut>,
    /// Patterns left.
    pub patterns: usize,
}

/// What a refinement did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RefinedOut {
    /// Log seq of the refinement event.
    pub seq: u64,
    /// Patterns before.
    pub patterns_before: usize,
    /// Patterns after.
    pub patterns_after: usize,
}
