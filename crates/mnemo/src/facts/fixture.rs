//! Test fixtures of the facts module: instants and windows written as
//! small integers, and a [`Writer`] that checks a new fact against the
//! store and folds its assertion the way the namespace's writer does, so
//! the tests of every file drive the store through the engine's path.

use super::decision::{AssertFact, OpenConflict};
use super::fact::{Fact, NewFact};
use super::store::FactStore;
use super::verify::{DefaultVerifier, Proposal, Verifier};
use crate::base::{ConflictId, FactId};
use crate::model::{Timestamp, Validity};

/// Instant `t`.
pub(super) fn at(t: i64) -> Timestamp {
    Timestamp(t)
}

/// The window `[from, until)`, `None` for an open end.
pub(super) fn window(from: Option<i64>, until: Option<i64>) -> Validity {
    Validity {
        from: from.map(Timestamp),
        until: until.map(Timestamp),
    }
}

/// A store written the namespace's way. Event `n` has seq `n` and is
/// recorded at instant `n`, so the recorded clock reads as seqs.
pub(super) struct Writer {
    /// The store the events fold into.
    pub(super) store: FactStore,
    /// The seq of the next event.
    next_seq: u64,
    verifier: Box<dyn Verifier>,
    threshold: f32,
}

impl Writer {
    /// With the default verifier and the namespace's default threshold.
    pub(super) fn new() -> Self {
        Self::with(Box::new(DefaultVerifier), 0.5)
    }

    /// With `verifier` and confidence `threshold`.
    pub(super) fn with(verifier: Box<dyn Verifier>, threshold: f32) -> Self {
        Writer {
            store: FactStore::new(),
            next_seq: 1,
            verifier,
            threshold,
        }
    }

    /// The seq and recorded time of the next event, taken.
    pub(super) fn tick(&mut self) -> (u64, Timestamp) {
        let seq = self.next_seq;
        self.next_seq += 1;
        (seq, at(seq as i64))
    }

    /// The event `new` would be recorded as: the coherence check's
    /// decision, with the next ids.
    pub(super) fn decide(&self, new: &NewFact) -> AssertFact {
        let decision =
            self.store
                .check(&Proposal::from(new), self.verifier.as_ref(), self.threshold);
        let first = self.store.next_conflict_id();
        AssertFact {
            id: self.store.next_fact_id(),
            subject: new.subject.clone(),
            predicate: new.predicate.clone(),
            object: new.object.clone(),
            context: new.context.clone(),
            confidence: new.confidence,
            valid: new.valid,
            evidence: new.evidence.clone(),
            supersedes: decision.supersedes,
            conflicts: decision
                .conflicts
                .into_iter()
                .zip(first.0..)
                .map(|((with, reason), id)| OpenConflict {
                    id: ConflictId(id),
                    with,
                    reason,
                })
                .collect(),
        }
    }

    /// Checks, records and folds `new`; returns its event.
    pub(super) fn assert(&mut self, new: NewFact) -> AssertFact {
        let event = self.decide(&new);
        let (seq, recorded) = self.tick();
        assert!(self.store.apply_assert(seq, recorded, &event));
        event
    }

    /// The fact with this id (which the test asserted).
    pub(super) fn fact(&self, id: FactId) -> &Fact {
        self.store.get(id).expect("the test asserted this fact")
    }
}
