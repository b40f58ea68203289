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
