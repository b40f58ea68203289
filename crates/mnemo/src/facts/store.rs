//! The fold of fact events: [`FactStore`] holds every fact and conflict
//! of a namespace with the indices the coherence check and the reads use,
//! and applies each fact event to them. The fold never decides anything:
//! the writer's decisions come in the events. [`FactsImage`] is what a
//! snapshot keeps of it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::conflict::{Conflict, ConflictState, Resolution};
use super::decision::{AssertFact, Decision};
use super::fact::{Cardinality, Fact, FactChange, FactEvent, FactStatus, Quarantine};
use super::key::{KeyIndex, key_hash, subject_hash};
use super::verify::{Proposal, Verdict, Verifier};
use super::window::{overlaps, starts_later};
use crate::base::{ConflictId, FactId, IdMap};
use crate::model::{MemoryId, Timestamp};

/// What snapshots keep of the store; the indices are rebuilt.
#[derive(Debug, Serialize, Deserialize, Default, PartialEq)]
pub(crate) struct FactsImage {
    facts: Vec<Fact>,
    conflicts: Vec<Conflict>,
    predicates: Vec<(String, Cardinality)>,
    next_fact: u64,
    next_conflict: u64,
}

/// The facts and conflicts of one namespace and their indices (see the
/// module docs). The fold never fails: an event naming an unknown fact or
/// conflict changes nothing.
#[derive(Debug, Clone)]
pub struct FactStore {
    /// Every fact, by id (ids are dense from 1: fact `i` is at `i - 1`).
    facts: Vec<Fact>,
    /// Believed facts by key.
    by_key: KeyIndex,
    /// Every fact by subject hash.
    by_subject: IdMap<Vec<FactId>>,
    /// Facts citing each memory.
    by_evidence: IdMap<Vec<FactId>>,
    /// Memories whose every citing fact is above `Quarantine::None`, with
    /// the least of their levels.
    withheld: IdMap<Quarantine>,
    /// Every conflict, by id.
    conflicts: BTreeMap<u64, Conflict>,
    /// How many conflicts are open.
    open: usize,
    /// Predicates declared multi-valued (the others are single-valued).
    predicates: HashMap<String, Cardinality>,
    /// The id the next fact gets.
    next_fact: u64,
    /// The id the next conflict gets.
    next_conflict: u64,
}

impl Default for FactStore {
    fn default() -> Self {
        Self {
            facts: Vec::new(),
            by_key: KeyIndex::default(),
            by_subject: IdMap::default(),
            by_evidence: IdMap::default(),
            withheld: IdMap::default(),
            conflicts: BTreeMap::new(),
            open: 0,
            predicates: HashMap::new(),
            next_fact: 1,
            next_conflict: 1,
        }
    }
}

impl FactStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of facts (any status).
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Conflicts not yet resolved.
    pub fn open_conflicts(&self) -> usize {
        self.open
    }

    /// All conflicts, open or not.
    pub fn conflict_count(&self) -> usize {
        self.conflicts.len()
    }

    /// The id the next fact gets.
    pub fn next_fact_id(&self) -> FactId {
        FactId(self.next_fact)
    }

    /// The id the next conflict gets.
    pub fn next_conflict_id(&self) -> ConflictId {
        ConflictId(self.next_conflict)
    }

    /// A predicate's cardinality.
    pub fn cardinality(&self, predicate: &str) -> Cardinality {
        if self.predicates.is_empty() {
            return Cardinality::Single;
        }
        self.predicates.get(predicate).copied().unwrap_or_default()
    }

    /// Declared predicates, by name.
    pub fn predicates(&self) -> Vec<(String, Cardinality)> {
        let mut out: Vec<_> = self
            .predicates
            .iter()
            .map(|(p, c)| (p.clone(), *c))
            .collect();
        out.sort();
        out
    }

    /// The fact with this id.
    pub fn get(&self, id: FactId) -> Option<&Fact> {
        self.slot(id)
    }

    /// The fact with this id.
    pub(super) fn slot(&self, id: FactId) -> Option<&Fact> {
        self.facts.get(slot_index(id)?)
    }

    /// Every fact, by id.
    pub(super) fn all(&self) -> &[Fact] {
        &self.facts
    }

    /// The facts of subjects with `subject`'s hash (callers compare the
    /// subject), in the order they were asserted.
    pub(super) fn subject_facts<'a>(&'a self, subject: &str) -> impl Iterator<Item = &'a Fact> {
        self.by_subject
            .get(&subject_hash(subject))
            .into_iter()
            .flatten()
            .filter_map(|id| self.slot(*id))
    }

    /// The conflict with this id.
    pub fn conflict(&self, id: ConflictId) -> Option<&Conflict> {
        self.conflicts.get(&id.0)
    }

    /// Conflicts by id (open ones only when `open_only`).
    pub fn conflicts(&self, open_only: bool) -> impl Iterator<Item = &Conflict> {
        self.conflicts
            .values()
            .filter(move |c| !open_only || c.is_open())
    }

    /// The least quarantine level among the facts citing memory `id` when
    /// it is above [`Quarantine::None`] (recall withholds such memories
    /// above the level it admits).
    pub fn withheld(&self, id: u64) -> Option<Quarantine> {
        self.withheld.get(&id).copied()
    }

    /// The facts that cite memory `id` as evidence (any status), by id.
    pub fn citing(&self, id: MemoryId) -> Vec<&Fact> {
        let mut ids = self.by_evidence.get(&id.0).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|f| self.get(f)).collect()
    }

    /// Whether any memory is withheld at all.
    pub fn withholds_any(&self) -> bool {
        !self.withheld.is_empty()
    }

    /// The coherence check of a new fact (see the module docs): O(k) in the
    /// believed facts of its key.
    pub fn check(&self, new: &Proposal<'_>, verifier: &dyn Verifier, threshold: f32) -> Decision {
        let mut decision = Decision::default();
        self.check_into(new, verifier, threshold, &mut decision);
        decision
    }

    /// [`Self::check`] into a reused `decision` (cleared first), so a
    /// caller checking many facts allocates nothing.
    pub fn check_into(
        &self,
        new: &Proposal<'_>,
        verifier: &dyn Verifier,
        threshold: f32,
        decision: &mut Decision,
    ) {
        decision.supersedes.clear();
        decision.conflicts.clear();
        if new.confidence < threshold {
            return;
        }
        let cardinality = self.cardinality(new.predicate);
        for entry in self.by_key.entries(new.context, new.subject, new.predicate) {
            // The entry's copy of the window and confidence rules out most
            // facts without reading them.
            if entry.confidence < threshold || !overlaps(&entry.valid, &new.valid) {
                continue;
            }
            let Some(old) = self.slot(entry.id) else {
                continue;
            };
            if old.status != FactStatus::Believed {
                continue;
            }
            match verifier.verify(cardinality, old, new) {
                Verdict::Incompatible(reason) => {
                    if starts_later(&new.valid, &old.valid) {
                        decision.supersedes.push(old.id);
                    } else {
                        decision.conflicts.push((old.id, reason));
                    }
                }
                Verdict::Compatible | Verdict::Defer => {}
            }
        }
    }

    /// Folds a predicate declaration.
    pub fn declare(&mut self, predicate: &str, cardinality: Cardinality) {
        match cardinality {
            Cardinality::Single => self.predicates.remove(predicate),
            Cardinality::Multi => self.predicates.insert(predicate.to_owned(), cardinality),
        };
    }

    /// Folds an assertion (whose decisions the writer made). Returns false
    /// (and changes nothing) when its ids are not the next ones.
    pub fn apply_assert(&mut self, seq: u64, recorded: Timestamp, a: &AssertFact) -> bool {
        if a.id.0 != self.next_fact
            || a.conflicts
                .iter()
                .enumerate()
                .any(|(i, c)| c.id.0 != self.next_conflict + i as u64)
        {
            return false;
        }
        self.next_fact += 1;
        let mut fact = Fact {
            id: a.id,
            subject: a.subject.clone(),
            predicate: a.predicate.clone(),
            object: a.object.clone(),
            context: a.context.clone(),
            confidence: a.confidence,
            asserted_valid: a.valid,
            valid: a.valid,
            status: FactStatus::Believed,
            quarantine: Quarantine::None,
            asserted_evidence: a.evidence.clone(),
            evidence: a.evidence.clone(),
            superseded_by: None,
            supersedes: Vec::new(),
            conflicts: Vec::new(),
            seq,
            recorded,
            history: vec![FactChange {
                seq,
                recorded,
                event: FactEvent::Asserted,
            }],
        };
        let until = a.valid.from.unwrap_or(Timestamp::MIN);
        let hash = key_hash(&a.context, &a.subject, &a.predicate);
        for old in &a.supersedes {
            if self.change_keyed(
                *old,
                seq,
                recorded,
                FactEvent::Superseded { by: a.id, until },
                Some(hash),
            ) {
                fact.supersedes.push(*old);
            }
        }
        for c in &a.conflicts {
            self.next_conflict = c.id.0 + 1;
            let Some(other) = self.slot(c.with) else {
                continue;
            };
            if other.status != FactStatus::Believed {
                continue;
            }
            let reason = if c.reason.is_empty() {
                format!(
                    "{} {} is {:?} (fact {}) and {:?} (fact {}) at once",
                    a.subject, a.predicate, other.object, other.id, a.object, a.id
                )
            } else {
                c.reason.clone()
            };
            self.conflicts.insert(
                c.id.0,
                Conflict {
                    id: c.id,
                    context: a.context.clone(),
                    subject: a.subject.clone(),
                    predicate: a.predicate.clone(),
                    facts: [c.with, a.id],
                    reason: reason.clone(),
                    state: ConflictState::Detected,
                    seq,
                    recorded,
                    challenges: Vec::new(),
                    resolution: None,
                },
            );
            self.open += 1;
            self.change(
                c.with,
                seq,
                recorded,
                FactEvent::ConflictOpened {
                    conflict: c.id,
                    with: a.id,
                    reason: reason.clone(),
                },
            );
            let event = FactEvent::ConflictOpened {
                conflict: c.id,
                with: c.with,
                reason: reason.clone(),
            };
            fact.history.push(FactChange {
                seq,
                recorded,
                event,
            });
            fact.conflicts.push(c.id);
        }
        let state = fact.state();
        fact.set_state(&state);
        self.index(&fact);
        let evidence = fact.evidence.clone();
        self.facts.push(fact);
        debug_assert_eq!(
            self.facts.len() as u64 + 1,
            self.next_fact,
            "fact ids are dense"
        );
        debug_assert!(
            self.conflicts
                .keys()
                .next_back()
                .is_none_or(|c| *c < self.next_conflict),
            "conflict ids increase"
        );
        debug_assert!(self.key_is_consistent(a.id), "key index of fact {}", a.id);
        for m in evidence {
            self.reassess(m);
        }
        true
    }

    /// Whether the key index agrees with the facts of fact `id`'s key:
    /// the fact has an entry exactly when it is believed, and every entry
    /// names a believed fact of that key with the entry's window and
    /// confidence. O(k) in the key's believed facts; checked after every
    /// change in debug builds.
    fn key_is_consistent(&self, id: FactId) -> bool {
        let Some(f) = self.slot(id) else {
            return true;
        };
        let mut listed = false;
        let entries_agree = self
            .by_key
            .entries(&f.context, &f.subject, &f.predicate)
            .all(|e| {
                listed |= e.id == id;
                self.slot(e.id).is_some_and(|g| {
                    g.status == FactStatus::Believed
                        && (&g.context, &g.subject, &g.predicate)
                            == (&f.context, &f.subject, &f.predicate)
                        && g.valid == e.valid
                        && g.confidence.to_bits() == e.confidence.to_bits()
                })
            });
        entries_agree && listed == (f.status == FactStatus::Believed)
    }

    /// Adds fact `f` (not yet in `facts`) to the indices.
    fn index(&mut self, f: &Fact) {
        if f.status == FactStatus::Believed {
            self.by_key.insert(f);
        }
        self.by_subject
            .entry(subject_hash(&f.subject))
            .or_default()
            .push(f.id);
        for m in &f.evidence {
            let cited = self.by_evidence.entry(m.0).or_default();
            if !cited.contains(&f.id) {
                cited.push(f.id);
            }
        }
    }

    /// Records `event` in fact `id`'s history and updates its state and
    /// the indices that depend on it. Returns false for an unknown fact.
    fn change(&mut self, id: FactId, seq: u64, recorded: Timestamp, event: FactEvent) -> bool {
        self.change_keyed(id, seq, recorded, event, None)
    }

    /// [`Self::change`] of a fact whose key hash the caller knows.
    fn change_keyed(
        &mut self,
        id: FactId,
        seq: u64,
        recorded: Timestamp,
        event: FactEvent,
        known_hash: Option<u64>,
    ) -> bool {
        // Indexed directly, not through a method, so `fact` borrows only
        // `facts` and the key index can be updated with it.
        let Some(fact) = slot_index(id).and_then(|i| self.facts.get_mut(i)) else {
            return false;
        };
        let was_believed = fact.status == FactStatus::Believed;
        let was_valid = fact.valid;
        let mut state = fact.state();
        state.apply(&event);
        if let FactEvent::ConflictOpened { conflict, .. } = &event {
            fact.conflicts.push(*conflict);
        }
        fact.history.push(FactChange {
            seq,
            recorded,
            event,
        });
        let before: Vec<MemoryId> = fact.evidence.clone();
        fact.set_state(&state);
        let now_believed = fact.status == FactStatus::Believed;
        let valid = fact.valid;
        let evidence = fact.evidence.clone();
        let reindex = if was_believed && !now_believed {
            Some(None)
        } else if now_believed && valid != was_valid {
            Some(Some(valid))
        } else {
            None
        };
        if let Some(valid) = reindex {
            let hash = known_hash
                .unwrap_or_else(|| key_hash(&fact.context, &fact.subject, &fact.predicate));
            self.by_key.update(hash, fact, valid);
        }
        debug_assert!(self.key_is_consistent(id), "key index of fact {id}");
        for m in evidence.iter().filter(|m| !before.contains(m)) {
            let cited = self.by_evidence.entry(m.0).or_default();
            if !cited.contains(&id) {
                cited.push(id);
            }
        }
        for m in evidence {
            self.reassess(m);
        }
        true
    }

    /// Recomputes whether memory `m` is withheld.
    fn reassess(&mut self, m: MemoryId) {
        let level = self
            .by_evidence
            .get(&m.0)
            .into_iter()
            .flatten()
            .filter_map(|f| self.slot(*f))
            .map(|f| f.quarantine)
            .min();
        match level {
            Some(l) if l > Quarantine::None => {
                self.withheld.insert(m.0, l);
            }
            _ => {
                self.withheld.remove(&m.0);
            }
        }
    }

    /// Folds a challenge of fact `id`: its open conflicts become
    /// challenged.
    pub(crate) fn apply_challenge(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        reason: &str,
    ) {
        let Some(fact) = self.slot(id) else {
            return;
        };
        for c in fact.conflicts.clone() {
            if let Some(conflict) = self.conflicts.get_mut(&c.0)
                && conflict.is_open()
            {
                conflict.state = ConflictState::Challenged;
                conflict.challenges.push((id, reason.to_owned(), seq));
            }
        }
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Challenged {
                reason: reason.to_owned(),
            },
        );
    }

    /// Folds support of fact `id` with more evidence.
    pub(crate) fn apply_support(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        evidence: &[MemoryId],
        note: Option<&str>,
    ) {
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Supported {
                evidence: evidence.to_vec(),
                note: note.map(str::to_owned),
            },
        );
    }

    /// Folds an explicit quarantine level of fact `id`.
    pub(crate) fn apply_quarantine(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        level: Option<Quarantine>,
        reason: &str,
    ) {
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Quarantined {
                level,
                reason: reason.to_owned(),
            },
        );
    }

    /// Folds the resolution of conflict `id`.
    pub(crate) fn apply_resolve(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: ConflictId,
        accepted: &[FactId],
        deprecated: &[FactId],
        rationale: &str,
    ) {
        let Some(conflict) = self.conflicts.get_mut(&id.0) else {
            return;
        };
        if !conflict.is_open() {
            return;
        }
        conflict.state = ConflictState::Resolved;
        conflict.resolution = Some(Resolution {
            accepted: accepted.to_vec(),
            deprecated: deprecated.to_vec(),
            rationale: rationale.to_owned(),
            seq,
            recorded,
            automatic: false,
        });
        self.open -= 1;
        let facts = conflict.facts;
        for f in facts {
            if deprecated.contains(&f) {
                self.deprecate(seq, recorded, f, id, rationale);
            } else {
                self.change(f, seq, recorded, FactEvent::ConflictClosed { conflict: id });
            }
        }
    }

    /// Folds a retraction of fact `id`.
    pub(crate) fn apply_retract(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        reason: &str,
    ) {
        if self
            .slot(id)
            .is_none_or(|f| f.status != FactStatus::Believed)
        {
            return;
        }
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Retracted {
                reason: reason.to_owned(),
            },
        );
        self.close_conflicts_of(seq, recorded, id, &format!("fact {id} was retracted"));
    }

    /// Deprecates fact `f` (by conflict `by`) and closes its other open
    /// conflicts.
    fn deprecate(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        f: FactId,
        by: ConflictId,
        rationale: &str,
    ) {
        self.change(
            f,
            seq,
            recorded,
            FactEvent::Deprecated {
                conflict: by,
                rationale: rationale.to_owned(),
            },
        );
        self.close_conflicts_of(seq, recorded, f, &format!("fact {f} was deprecated"));
    }

    /// Resolves automatically the open conflicts of fact `f`, which is no
    /// longer believed: the other side stays believed.
    fn close_conflicts_of(&mut self, seq: u64, recorded: Timestamp, f: FactId, rationale: &str) {
        let Some(fact) = self.slot(f) else {
            return;
        };
        for c in fact.conflicts.clone() {
            let Some(conflict) = self.conflicts.get_mut(&c.0) else {
                continue;
            };
            if !conflict.is_open() {
                continue;
            }
            conflict.state = ConflictState::Resolved;
            let others: Vec<FactId> = conflict.facts.iter().copied().filter(|x| *x != f).collect();
            conflict.resolution = Some(Resolution {
                accepted: Vec::new(),
                deprecated: vec![f],
                rationale: rationale.to_owned(),
                seq,
                recorded,
                automatic: true,
            });
            self.open -= 1;
            for o in others {
                self.change(o, seq, recorded, FactEvent::ConflictClosed { conflict: c });
            }
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        let fact_bytes: usize = self
            .facts
            .iter()
            .map(|f| {
                std::mem::size_of::<Fact>()
                    + f.subject.len()
                    + f.predicate.len()
                    + f.object.len()
                    + f.context.len()
                    + f.evidence.len() * 8
                    + f.history.len() * std::mem::size_of::<FactChange>()
            })
            .sum();
        fact_bytes
            + self.by_key.bucket_count() * 48
            + self.by_subject.len() * 64
            + self.conflicts.len() * std::mem::size_of::<Conflict>()
    }

    /// What a snapshot keeps.
    pub(crate) fn image(&self) -> FactsImage {
        FactsImage {
            facts: self.facts.clone(),
            conflicts: self.conflicts.values().cloned().collect(),
            predicates: self.predicates(),
            next_fact: self.next_fact,
            next_conflict: self.next_conflict,
        }
    }

    /// Rebuilds a store (and its indices) from a snapshot image.
    pub(crate) fn from_image(image: FactsImage) -> Result<Self, String> {
        let mut store = FactStore {
            next_fact: image.next_fact,
            next_conflict: image.next_conflict,
            predicates: image.predicates.into_iter().collect(),
            ..FactStore::default()
        };
        for f in image.facts {
            if f.id.0 != store.facts.len() as u64 + 1 || f.id.0 >= store.next_fact {
                return Err(format!("fact {} is out of order", f.id));
            }
            store.index(&f);
            store.facts.push(f);
        }
        if store.facts.len() as u64 + 1 != store.next_fact {
            return Err("facts are missing".into());
        }
        for c in image.conflicts {
            if c.id.0 >= store.next_conflict || c.facts.iter().any(|f| store.get(*f).is_none()) {
                return Err(format!("conflict {} names unknown facts", c.id));
            }
            if c.is_open() {
                store.open += 1;
            }
            store.conflicts.insert(c.id.0, c);
        }
        let cited: Vec<u64> = store.by_evidence.keys().copied().collect();
        for m in cited {
            store.reassess(MemoryId(m));
        }
        Ok(store)
    }
}

/// Where fact `id` sits in the store's `facts` (ids are dense from 1).
fn slot_index(id: FactId) -> Option<usize> {
    usize::try_from(id.0.checked_sub(1)?).ok()
}
