//! Reads of the fact store: [`FactQuery`] (which facts, valid when, as
//! known when, trusted how far), the query's execution, a key's timeline,
//! and the [`Clock`] a point-in-time read uses.

use super::fact::{Fact, FactStatus, Quarantine};
use super::store::FactStore;
use crate::model::Timestamp;

/// A read of facts (see [`crate::Namespace::facts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FactQuery {
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this predicate.
    pub predicate: Option<String>,
    /// Only this context.
    pub context: Option<String>,
    /// Only facts valid at this time (the validity clock).
    pub valid_at: Option<Timestamp>,
    /// As the namespace held them at this time (the recorded clock).
    /// Default: now.
    pub known_at: Option<Timestamp>,
    /// The least trusted level returned. Default
    /// [`Quarantine::Conservative`].
    pub max_quarantine: Quarantine,
    /// Also deprecated and retracted facts (and any quarantine level).
    pub include_inactive: bool,
}

impl Default for FactQuery {
    fn default() -> Self {
        Self {
            subject: None,
            predicate: None,
            context: None,
            valid_at: None,
            known_at: None,
            max_quarantine: Quarantine::Conservative,
            include_inactive: false,
        }
    }
}

impl FactQuery {
    /// All believed facts admitted by the default level.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only facts about `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Only facts of `predicate`.
    pub fn predicate(mut self, predicate: impl Into<String>) -> Self {
        self.predicate = Some(predicate.into());
        self
    }

    /// Only facts in `context`.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Only facts valid at `t`.
    pub fn valid_at(mut self, t: Timestamp) -> Self {
        self.valid_at = Some(t);
        self
    }

    /// As held at recorded time `t`.
    pub fn known_at(mut self, t: Timestamp) -> Self {
        self.known_at = Some(t);
        self
    }

    /// Admits facts up to `level`.
    pub fn max_quarantine(mut self, level: Quarantine) -> Self {
        self.max_quarantine = level;
        self
    }

    /// Includes deprecated and retracted facts.
    pub fn include_inactive(mut self) -> Self {
        self.include_inactive = true;
        self
    }

    /// Whether fact `f` (as read on the query's recorded clock) passes
    /// every filter.
    fn admits(&self, f: &Fact) -> bool {
        self.subject.as_ref().is_none_or(|s| *s == f.subject)
            && self.predicate.as_ref().is_none_or(|p| *p == f.predicate)
            && self.context.as_ref().is_none_or(|c| *c == f.context)
            && self.valid_at.is_none_or(|t| f.valid.contains(t))
            && (self.include_inactive
                || (f.status == FactStatus::Believed && f.quarantine <= self.max_quarantine))
    }
}

/// Which clock [`crate::Namespace::as_of`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// What was true at the time, as the namespace knows it now.
    Valid,
    /// What the namespace believed at the time to be true then.
    Recorded,
}

impl FactStore {
    /// Facts a query admits, by id. With a subject, only that subject's
    /// facts are read; otherwise every fact is.
    pub fn query(&self, q: &FactQuery) -> Vec<Fact> {
        let pick = |f: &Fact| -> Option<Fact> {
            match q.known_at {
                Some(t) => f.known_at(t).filter(|f| q.admits(f)),
                None => q.admits(f).then(|| f.clone()),
            }
        };
        let mut out: Vec<Fact> = match &q.subject {
            Some(s) => self.subject_facts(s).filter_map(pick).collect(),
            None => self.all().iter().filter_map(pick).collect(),
        };
        out.sort_unstable_by_key(|f| f.id);
        out
    }

    /// Every fact of `subject` and `predicate` (any context and status),
    /// oldest first.
    pub fn timeline(&self, subject: &str, predicate: &str) -> Vec<&Fact> {
        let mut out: Vec<&Fact> = self
            .subject_facts(subject)
            .filter(|f| f.subject == subject && f.predicate == predicate)
            .collect();
        out.sort_unstable_by_key(|f| f.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::FactId;
    use crate::facts::fact::NewFact;
    use crate::facts::fixture::{Writer, at, window};

    /// Event `n` is recorded at instant `n`:
    /// 1. fact 1, alice lives_in Paris from 2020;
    /// 2. fact 2, alice lives_in London from 2023 (supersedes fact 1);
    /// 3. fact 3, alice age 41 in context `census`;
    /// 4. fact 4, bob lives_in Oslo;
    /// 5. fact 5, bob lives_in Rome (conflict 1 with fact 4);
    /// 6. fact 5 challenged;
    /// 7. fact 6, alice likes tea;
    /// 8. fact 6 retracted.
    fn world() -> Writer {
        let mut w = Writer::new();
        w.assert(NewFact::new("alice", "lives_in", "Paris").valid_from(at(2020)));
        w.assert(NewFact::new("alice", "lives_in", "London").valid_from(at(2023)));
        w.assert(NewFact::new("alice", "age", "41").context("census"));
        w.assert(NewFact::new("bob", "lives_in", "Oslo"));
        w.assert(NewFact::new("bob", "lives_in", "Rome"));
        let (seq, t) = w.tick();
        w.store.apply_challenge(seq, t, FactId(5), "unsure");
        let tea = w.assert(NewFact::new("alice", "likes", "tea"));
        let (seq, t) = w.tick();
        w.store.apply_retract(seq, t, tea.id, "coffee");
        w
    }

    fn ids(w: &Writer, q: FactQuery) -> Vec<u64> {
        w.store.query(&q).iter().map(|f| f.id.0).collect()
    }

    #[test]
    fn by_default_believed_facts_up_to_conservative() {
        let w = world();
        assert_eq!(FactQuery::new(), FactQuery::default());
        assert_eq!(FactQuery::new().max_quarantine, Quarantine::Conservative);
        assert_eq!(ids(&w, FactQuery::new()), [1, 2, 3, 4]);
    }

    #[test]
    fn filters_combine() {
        let w = world();
        assert_eq!(ids(&w, FactQuery::new().subject("alice")), [1, 2, 3]);
        assert_eq!(ids(&w, FactQuery::new().subject("bob")), [4]);
        assert_eq!(
            ids(&w, FactQuery::new().subject("carol")),
            Vec::<u64>::new()
        );
        assert_eq!(ids(&w, FactQuery::new().predicate("lives_in")), [1, 2, 4]);
        assert_eq!(ids(&w, FactQuery::new().context("census")), [3]);
        assert_eq!(
            ids(&w, FactQuery::new().subject("alice").context("default")),
            [1, 2]
        );
        let alice = || FactQuery::new().subject("alice");
        assert_eq!(ids(&w, alice().valid_at(at(2019))), [3]);
        assert_eq!(ids(&w, alice().valid_at(at(2020))), [1, 3]);
        assert_eq!(ids(&w, alice().valid_at(at(2023))), [2, 3], "half-open");
    }

    #[test]
    fn the_level_and_inactive_facts_widen_the_read() {
        let w = world();
        let level = |q: Quarantine| ids(&w, FactQuery::new().max_quarantine(q));
        assert_eq!(level(Quarantine::None), [1, 2, 3]);
        assert_eq!(level(Quarantine::RequiresWitness), [1, 2, 3, 4, 5]);
        assert_eq!(
            level(Quarantine::Blocked),
            [1, 2, 3, 4, 5],
            "still believed only"
        );
        assert_eq!(
            ids(&w, FactQuery::new().include_inactive()),
            [1, 2, 3, 4, 5, 6]
        );
        let inactive = FactQuery::new()
            .max_quarantine(Quarantine::None)
            .include_inactive();
        assert_eq!(ids(&w, inactive), [1, 2, 3, 4, 5, 6], "any level");
    }

    #[test]
    fn known_at_reads_the_recorded_clock() {
        let w = world();
        let known = |t: i64| FactQuery::new().known_at(at(t));
        assert_eq!(ids(&w, known(0)), Vec::<u64>::new());
        let then = w.store.query(&known(1));
        assert_eq!(then.len(), 1);
        assert_eq!(
            then[0].valid,
            window(Some(2020), None),
            "not yet superseded"
        );
        assert_eq!(ids(&w, known(1).valid_at(at(2024))), [1]);
        assert_eq!(ids(&w, known(2).valid_at(at(2024))), [2]);
        assert_eq!(ids(&w, known(5).subject("bob")), [4, 5], "disputed");
        assert_eq!(ids(&w, known(6).subject("bob")), [4], "challenged");
        assert_eq!(ids(&w, known(7).predicate("likes")), [6]);
        assert_eq!(ids(&w, known(8).predicate("likes")), Vec::<u64>::new());
        let was = w
            .store
            .query(&known(7).predicate("likes").include_inactive());
        assert_eq!(was[0].status, FactStatus::Believed);
    }

    #[test]
    fn a_timeline_is_every_fact_of_a_subject_and_predicate() {
        let w = world();
        let timeline = |s: &str, p: &str| -> Vec<u64> {
            w.store.timeline(s, p).iter().map(|f| f.id.0).collect()
        };
        assert_eq!(timeline("alice", "lives_in"), [1, 2]);
        assert_eq!(timeline("bob", "lives_in"), [4, 5], "any quarantine");
        assert_eq!(timeline("alice", "likes"), [6], "any status");
        assert_eq!(timeline("alice", "age"), [3], "any context");
        assert_eq!(timeline("carol", "age"), Vec::<u64>::new());
    }
}
