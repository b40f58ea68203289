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
        out.sort_unstable();
        out
    }

    /// The fact with this id.
    pub fn get(&self, id: FactId) -> Option<&Fact> {
        self.slot(id)
    }

    /// The fact with this id.
    fn slot(&self, id: FactId) -> Option<&Fact> {
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

    /// Marks memory `m` erased in the evidence of every fact citing it
    /// (it was forgotten); it is no longer withheld, having no content.
    pub(crate) fn erase_evidence(&mut self, m: MemoryId) {
        for f in self.by_evidence.get(&m.0).cloned().unwrap_or_default() {
            if let Some(fact) = slot_index(f).and_then(|i| self.facts.get_mut(i))
                && let Err(at) = fact.erased_evidence.binary_search(&m)
            {
                fact.erased_evidence.insert(at, m);
            }
        }
        self.withheld.remove(&m.0);
    }

    /// Marks erased, in every fact, the evidence memories `is_live` says
    /// are gone (after a snapshot is loaded: evidence is live when it is
    /// cited, so a memory no longer live was forgotten).
    pub(crate) fn mark_erased_evidence(&mut self, is_live: impl Fn(MemoryId) -> bool) {
        let mut gone = Vec::new();
        for (&m, _) in self.by_evidence.iter() {
            if !is_live(MemoryId(m)) {
                gone.push(MemoryId(m));
            }
        }
        gone.sort_unstable();
        for m in gone {
            self.erase_evidence(m);
        }
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
            erased_evidence: Vec::new(),
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

    /// Recomputes whether memory `m` is withheld (an erased one never
    /// is).
    fn reassess(&mut self, m: MemoryId) {
        let citing = || {
            self.by_evidence
                .get(&m.0)
                .into_iter()
                .flatten()
                .filter_map(|f| self.slot(*f))
        };
        let erased = citing().any(|f| f.erased_evidence.binary_search(&m).is_ok());
        let level = citing().map(|f| f.quarantine).min().filter(|_| !erased);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::fact::NewFact;
    use crate::facts::fixture::{Writer, at, window};
    use crate::facts::query::FactQuery;
    use crate::facts::verify::{DefaultVerifier, NumericTolerance};

    fn lives_in(object: &str) -> NewFact {
        NewFact::new("alice", "lives_in", object)
    }

    fn history(w: &Writer, id: FactId) -> Vec<FactEvent> {
        w.fact(id).history.iter().map(|c| c.event.clone()).collect()
    }

    fn withs(a: &AssertFact) -> Vec<u64> {
        a.conflicts.iter().map(|c| c.with.0).collect()
    }

    /// Paris (fact 1, citing memory 1) and London (fact 2, citing memory
    /// 2), both always: conflict 1.
    fn disputed() -> Writer {
        let mut w = Writer::new();
        w.assert(lives_in("Paris").evidence([MemoryId(1)]));
        w.assert(lives_in("London").evidence([MemoryId(2)]));
        w
    }

    #[test]
    fn ids_are_dense_and_an_out_of_turn_assertion_changes_nothing() {
        let mut w = Writer::new();
        assert!(w.store.is_empty());
        let paris = w.assert(lives_in("Paris"));
        assert_eq!(paris.id, FactId(1));
        assert_eq!((w.store.len(), w.store.next_fact_id()), (1, FactId(2)));
        let mut late = w.decide(&lives_in("Paris"));
        late.id = FactId(3);
        assert!(!w.store.apply_assert(9, at(9), &late));
        let mut skipping = w.decide(&lives_in("London"));
        assert_eq!(skipping.conflicts[0].id, ConflictId(1));
        skipping.conflicts[0].id = ConflictId(2);
        assert!(!w.store.apply_assert(9, at(9), &skipping));
        assert_eq!(w.store.len(), 1);
        assert_eq!(w.store.conflict_count(), 0);
        assert_eq!(w.store.next_conflict_id(), ConflictId(1));
        assert_eq!(history(&w, paris.id), [FactEvent::Asserted]);
    }

    #[test]
    fn a_later_start_supersedes_and_closes_the_old_window() {
        let mut w = Writer::new();
        let paris = w.assert(lives_in("Paris").valid_from(at(2020))).id;
        let london = w.assert(lives_in("London").valid_from(at(2023)));
        assert_eq!(london.supersedes, [paris]);
        assert!(london.conflicts.is_empty());
        let old = w.fact(paris);
        assert_eq!(old.valid, window(Some(2020), Some(2023)));
        assert_eq!(old.asserted_valid, window(Some(2020), None));
        assert_eq!(
            (old.status, old.quarantine),
            (FactStatus::Believed, Quarantine::None)
        );
        assert_eq!(old.superseded_by, Some(london.id));
        assert_eq!(
            history(&w, paris),
            [
                FactEvent::Asserted,
                FactEvent::Superseded {
                    by: london.id,
                    until: at(2023)
                }
            ]
        );
        assert_eq!(w.fact(london.id).supersedes, [paris]);
        assert_eq!(w.store.conflict_count(), 0);

        // The key index holds the closed window: Rome from 2021 cuts
        // Paris again and contradicts London, which starts after it.
        let rome = w.assert(lives_in("Rome").valid_from(at(2021)));
        assert_eq!(rome.supersedes, [paris]);
        assert_eq!(withs(&rome), [london.id.0]);
        assert_eq!(w.fact(paris).valid, window(Some(2020), Some(2021)));
        assert_eq!(w.fact(paris).superseded_by, Some(rome.id));
        let c = w.store.conflict(ConflictId(1)).expect("opened");
        assert_eq!(c.facts, [london.id, rome.id]);
    }

    #[test]
    fn only_confident_overlapping_facts_of_one_key_are_compared() {
        let mut w = Writer::new();
        w.assert(lives_in("Paris").valid_until(at(10)));
        let decided = |w: &Writer, f: NewFact| {
            let a = w.decide(&f);
            (a.supersedes.len(), a.conflicts.len())
        };
        assert_eq!(decided(&w, lives_in("Paris")), (0, 0), "same object");
        let after = lives_in("Rome").valid_from(at(10));
        assert_eq!(decided(&w, after), (0, 0), "touching windows");
        let dream = lives_in("Rome").context("dream");
        assert_eq!(decided(&w, dream), (0, 0), "another context");
        let bob = NewFact::new("bob", "lives_in", "Rome");
        assert_eq!(decided(&w, bob.clone()), (0, 0), "another subject");
        let unsure = lives_in("Rome").confidence(0.4);
        assert_eq!(decided(&w, unsure), (0, 0), "an unsure new fact");
        assert_eq!(decided(&w, lives_in("Rome")), (0, 1));
        w.assert(bob.confidence(0.4));
        let sure = NewFact::new("bob", "lives_in", "Oslo");
        assert_eq!(decided(&w, sure), (0, 0), "an unsure old fact");
    }

    #[test]
    fn a_multi_valued_predicate_holds_many_objects() {
        let mut w = Writer::new();
        assert_eq!(w.store.cardinality("likes"), Cardinality::Single);
        w.store.declare("speaks", Cardinality::Multi);
        w.store.declare("likes", Cardinality::Multi);
        assert_eq!(
            w.store.predicates(),
            [
                ("likes".to_owned(), Cardinality::Multi),
                ("speaks".to_owned(), Cardinality::Multi)
            ]
        );
        w.assert(NewFact::new("alice", "likes", "tea"));
        let coffee = w.assert(NewFact::new("alice", "likes", "coffee"));
        assert!(coffee.supersedes.is_empty() && coffee.conflicts.is_empty());
        assert_eq!(w.store.cardinality("lives_in"), Cardinality::Single);

        w.store.declare("likes", Cardinality::Single);
        assert_eq!(w.store.cardinality("likes"), Cardinality::Single);
        assert_eq!(
            w.store.predicates(),
            [("speaks".to_owned(), Cardinality::Multi)]
        );
        let cocoa = w.decide(&NewFact::new("alice", "likes", "cocoa"));
        assert_eq!(withs(&cocoa), [1, 2], "single again: both contradict");
    }

    #[test]
    fn a_contradiction_opens_a_conflict_and_flags_both_facts() {
        let w = disputed();
        let c = w.store.conflict(ConflictId(1)).expect("opened");
        let reason = r#"alice lives_in is "Paris" (fact 1) and "London" (fact 2) at once"#;
        assert_eq!(c.reason, reason);
        assert_eq!(c.facts, [FactId(1), FactId(2)]);
        assert_eq!(
            (c.state, c.seq, c.recorded),
            (ConflictState::Detected, 2, at(2))
        );
        assert_eq!(
            [&c.context, &c.subject, &c.predicate],
            ["default", "alice", "lives_in"]
        );
        assert_eq!(c.resolution, None);
        assert_eq!(w.store.open_conflicts(), 1);
        for (id, with) in [(1, 2), (2, 1)] {
            let f = w.fact(FactId(id));
            assert_eq!(f.quarantine, Quarantine::Conservative);
            assert_eq!(f.conflicts, [ConflictId(1)]);
            assert_eq!(
                history(&w, FactId(id))[1],
                FactEvent::ConflictOpened {
                    conflict: ConflictId(1),
                    with: FactId(with),
                    reason: reason.to_owned()
                }
            );
        }
        assert_eq!(w.store.withheld(1), Some(Quarantine::Conservative));
        assert_eq!(w.store.withheld(2), Some(Quarantine::Conservative));
        assert!(w.store.withholds_any());
    }

    #[test]
    fn a_verifiers_reason_is_kept() {
        let tolerance = NumericTolerance {
            predicates: vec!["age".into()],
            tolerance: 1.0,
        };
        let mut w = Writer::with(Box::new(tolerance), 0.5);
        w.assert(NewFact::new("bob", "age", "7"));
        w.assert(NewFact::new("bob", "age", "7.5"));
        assert_eq!(w.store.conflict_count(), 0, "within the tolerance");
        w.assert(NewFact::new("bob", "age", "9"));
        let reasons: Vec<&str> = w.store.conflicts(true).map(|c| c.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "bob age differs by 2 (more than 1) from fact 1",
                "bob age differs by 1.5 (more than 1) from fact 2"
            ]
        );
    }

    #[test]
    fn resolving_deprecates_the_loser_and_clears_the_winner() {
        let mut w = disputed();
        let (seq, t) = w.tick();
        w.store
            .apply_resolve(seq, t, ConflictId(1), &[FactId(2)], &[FactId(1)], "moved");
        let c = w.store.conflict(ConflictId(1)).expect("kept");
        assert_eq!(c.state, ConflictState::Resolved);
        assert_eq!(
            c.resolution,
            Some(Resolution {
                accepted: vec![FactId(2)],
                deprecated: vec![FactId(1)],
                rationale: "moved".into(),
                seq: 3,
                recorded: at(3),
                automatic: false,
            })
        );
        assert_eq!(w.store.open_conflicts(), 0);
        assert_eq!(w.store.conflicts(true).count(), 0);
        assert_eq!(w.store.conflicts(false).count(), 1);
        let paris = w.fact(FactId(1));
        assert_eq!(
            (paris.status, paris.quarantine),
            (FactStatus::Deprecated, Quarantine::Blocked)
        );
        assert_eq!(
            history(&w, FactId(1)).last(),
            Some(&FactEvent::Deprecated {
                conflict: ConflictId(1),
                rationale: "moved".into()
            })
        );
        let london = w.fact(FactId(2));
        assert_eq!(
            (london.status, london.quarantine),
            (FactStatus::Believed, Quarantine::None)
        );
        assert_eq!(
            history(&w, FactId(2)).last(),
            Some(&FactEvent::ConflictClosed {
                conflict: ConflictId(1)
            })
        );
        assert_eq!(w.store.withheld(1), Some(Quarantine::Blocked));
        assert_eq!(w.store.withheld(2), None);
        // Paris left the key index: Paris again contradicts London only.
        assert_eq!(withs(&w.decide(&lives_in("Paris"))), [2]);

        let before = w.store.image();
        let (seq, t) = w.tick();
        w.store
            .apply_resolve(seq, t, ConflictId(1), &[FactId(1)], &[FactId(2)], "no");
        w.store
            .apply_resolve(seq, t, ConflictId(9), &[], &[FactId(2)], "unknown");
        assert_eq!(w.store.image(), before, "resolved once, unknown: no-ops");
    }

    #[test]
    fn a_deprecated_fact_leaves_its_other_conflicts() {
        let mut w = disputed();
        let rome = w.assert(lives_in("Rome"));
        let opened: Vec<(u64, u64)> = rome.conflicts.iter().map(|c| (c.id.0, c.with.0)).collect();
        assert_eq!(opened, [(2, 1), (3, 2)]);
        assert_eq!(w.store.open_conflicts(), 3);
        let (seq, t) = w.tick();
        w.store
            .apply_resolve(seq, t, ConflictId(1), &[FactId(2)], &[FactId(1)], "moved");
        let auto = w
            .store
            .conflict(ConflictId(2))
            .and_then(|c| c.resolution.clone())
            .expect("closed");
        assert!(auto.automatic);
        assert_eq!(auto.deprecated, [FactId(1)]);
        assert_eq!(auto.rationale, "fact 1 was deprecated");
        let open: Vec<ConflictId> = w.store.conflicts(true).map(|c| c.id).collect();
        assert_eq!(open, [ConflictId(3)]);
        assert_eq!(w.store.open_conflicts(), 1);
        let rome = w.fact(rome.id);
        assert_eq!(
            rome.quarantine,
            Quarantine::Conservative,
            "London disputes it"
        );
    }

    #[test]
    fn retracting_a_disputed_fact_closes_its_conflict_automatically() {
        let mut w = disputed();
        let (seq, t) = w.tick();
        w.store.apply_retract(seq, t, FactId(2), "typo");
        let c = w.store.conflict(ConflictId(1)).expect("kept");
        assert_eq!(
            c.resolution,
            Some(Resolution {
                accepted: vec![],
                deprecated: vec![FactId(2)],
                rationale: "fact 2 was retracted".into(),
                seq: 3,
                recorded: at(3),
                automatic: true,
            })
        );
        assert_eq!(w.store.open_conflicts(), 0);
        assert_eq!(w.fact(FactId(2)).status, FactStatus::Retracted);
        assert_eq!(w.fact(FactId(1)).quarantine, Quarantine::None);
        assert_eq!(w.store.withheld(1), None);
        assert_eq!(w.store.withheld(2), Some(Quarantine::Blocked));
        assert_eq!(withs(&w.decide(&lives_in("London"))), [1], "Paris only");

        let before = w.store.image();
        let (seq, t) = w.tick();
        w.store.apply_retract(seq, t, FactId(2), "again");
        w.store.apply_retract(seq, t, FactId(7), "unknown");
        assert_eq!(w.store.image(), before, "retracted once, unknown: no-ops");
    }

    #[test]
    fn a_challenge_needs_a_witness_and_marks_the_conflict() {
        let mut w = disputed();
        let (seq, t) = w.tick();
        w.store.apply_challenge(seq, t, FactId(1), "says who?");
        let c = w.store.conflict(ConflictId(1)).expect("open");
        assert_eq!(c.state, ConflictState::Challenged);
        assert_eq!(c.challenges, [(FactId(1), "says who?".to_owned(), 3)]);
        assert!(c.is_open());
        assert_eq!(w.fact(FactId(1)).quarantine, Quarantine::RequiresWitness);
        assert_eq!(w.store.withheld(1), Some(Quarantine::RequiresWitness));

        let (seq, t) = w.tick();
        let lease = [MemoryId(3), MemoryId(1)];
        w.store
            .apply_support(seq, t, FactId(1), &lease, Some("the lease"));
        let paris = w.fact(FactId(1));
        assert_eq!(paris.quarantine, Quarantine::Conservative, "still disputed");
        assert_eq!(paris.evidence, [MemoryId(1), MemoryId(3)]);
        assert_eq!(paris.asserted_evidence, [MemoryId(1)]);
        let citing: Vec<FactId> = w.store.citing(MemoryId(3)).iter().map(|f| f.id).collect();
        assert_eq!(citing, [FactId(1)]);
        assert_eq!(w.store.withheld(3), Some(Quarantine::Conservative));

        // Without open conflicts a challenge flags the fact alone.
        let mut w = Writer::new();
        let alone = w.assert(lives_in("Paris"));
        let (seq, t) = w.tick();
        w.store.apply_challenge(seq, t, alone.id, "hm");
        assert_eq!(w.fact(alone.id).quarantine, Quarantine::RequiresWitness);
        assert_eq!(w.store.conflict_count(), 0);
    }

    #[test]
    fn an_explicit_quarantine_overrides_and_clears() {
        let mut w = Writer::new();
        let paris = w.assert(lives_in("Paris").evidence([MemoryId(1)])).id;
        let age = w
            .assert(NewFact::new("alice", "age", "41").evidence([MemoryId(1)]))
            .id;
        let (seq, t) = w.tick();
        w.store
            .apply_quarantine(seq, t, paris, Some(Quarantine::Blocked), "spam");
        assert_eq!(w.fact(paris).quarantine, Quarantine::Blocked);
        assert_eq!(w.fact(paris).status, FactStatus::Believed);
        assert_eq!(w.store.withheld(1), None, "the age fact vouches for it");
        // Still believed, so still compared.
        assert_eq!(withs(&w.decide(&lives_in("Rome"))), [paris.0]);

        let (seq, t) = w.tick();
        w.store
            .apply_quarantine(seq, t, age, Some(Quarantine::RequiresWitness), "odd");
        assert_eq!(
            w.store.withheld(1),
            Some(Quarantine::RequiresWitness),
            "the least"
        );
        let (seq, t) = w.tick();
        w.store.apply_quarantine(seq, t, paris, None, "fine");
        assert_eq!(w.fact(paris).quarantine, Quarantine::None);
        assert_eq!(w.store.withheld(1), None);
        assert!(!w.store.withholds_any());
    }

    /// A store that has seen every kind of change.
    fn eventful() -> Writer {
        let mut w = disputed();
        w.store.declare("likes", Cardinality::Multi);
        w.assert(NewFact::new("alice", "likes", "tea").evidence([MemoryId(3)]));
        let rome = w.assert(lives_in("Rome").valid_from(at(50)));
        assert_eq!(rome.supersedes, [FactId(1), FactId(2)]);
        let (s, t) = w.tick();
        w.store.apply_challenge(s, t, rome.id, "sure?");
        let (s, t) = w.tick();
        w.store.apply_support(s, t, rome.id, &[MemoryId(4)], None);
        let (s, t) = w.tick();
        w.store
            .apply_quarantine(s, t, FactId(3), Some(Quarantine::RequiresWitness), "odd");
        let (s, t) = w.tick();
        w.store
            .apply_resolve(s, t, ConflictId(1), &[FactId(1)], &[FactId(2)], "Paris");
        let dream = w.assert(lives_in("Oslo").context("dream"));
        let (s, t) = w.tick();
        w.store.apply_retract(s, t, dream.id, "woke up");
        let lima = w.assert(lives_in("Lima").valid_from(at(10)).valid_until(at(20)));
        assert_eq!(lima.supersedes, [FactId(1)]);
        w
    }

    #[test]
    fn an_image_rebuilds_the_same_store() {
        let w = eventful();
        let image = w.store.image();
        let bytes = postcard::to_allocvec(&image).expect("encodes");
        let back: FactsImage = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, image);
        let store = FactStore::from_image(back).expect("a valid image");
        assert_eq!(store.image(), image);
        assert_eq!(
            (store.len(), store.open_conflicts(), store.conflict_count()),
            (6, 0, 1)
        );
        assert_eq!(
            (store.next_fact_id(), store.next_conflict_id()),
            (FactId(7), ConflictId(2))
        );
        let withheld: Vec<_> = (1..=4).map(|m| store.withheld(m)).collect();
        assert_eq!(
            withheld,
            [
                None,
                Some(Quarantine::Blocked),
                Some(Quarantine::RequiresWitness),
                None
            ]
        );
        let all = FactQuery::new().include_inactive();
        assert_eq!(store.query(&all), w.store.query(&all));
        assert_eq!(store.cardinality("likes"), Cardinality::Multi);
        // The indices are rebuilt: every check decides the same.
        for new in [
            lives_in("Quito"),
            lives_in("Quito").valid_from(at(60)),
            lives_in("Quito").valid_from(at(15)),
            NewFact::new("alice", "likes", "cake"),
            lives_in("Oslo").context("dream"),
        ] {
            let p = Proposal::from(&new);
            let rebuilt = store.check(&p, &DefaultVerifier, 0.5);
            assert_eq!(rebuilt, w.store.check(&p, &DefaultVerifier, 0.5), "{new:?}");
        }
        let empty = FactStore::from_image(FactStore::new().image()).expect("empty");
        assert!(empty.is_empty());
        assert!(w.store.memory_bytes() > empty.memory_bytes());
    }

    #[test]
    fn an_inconsistent_image_is_refused() {
        let refused = |image: FactsImage| FactStore::from_image(image).err();
        let mut swapped = eventful().store.image();
        swapped.facts.swap(0, 1);
        assert_eq!(refused(swapped).as_deref(), Some("fact 2 is out of order"));
        let mut short = eventful().store.image();
        short.facts.pop();
        assert_eq!(refused(short).as_deref(), Some("facts are missing"));
        let mut ahead = eventful().store.image();
        ahead.next_fact = 3;
        assert_eq!(refused(ahead).as_deref(), Some("fact 3 is out of order"));
        let mut unknown = eventful().store.image();
        unknown.conflicts[0].facts[1] = FactId(99);
        assert_eq!(
            refused(unknown).as_deref(),
            Some("conflict 1 names unknown facts")
        );
        let mut early = eventful().store.image();
        early.next_conflict = 1;
        assert_eq!(
            refused(early).as_deref(),
            Some("conflict 1 names unknown facts")
        );
    }
}
