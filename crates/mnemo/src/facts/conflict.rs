//! A contradiction between two believed facts of one key ([`Conflict`]),
//! where it is in its life ([`ConflictState`]) and how it was settled
//! ([`Resolution`]).

use serde::{Deserialize, Serialize};

use crate::base::{ConflictId, FactId};
use crate::model::Timestamp;

/// Where a conflict is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictState {
    /// Found at write time, not yet looked at.
    Detected,
    /// One of its facts was challenged.
    Challenged,
    /// Resolved.
    Resolved,
}

impl ConflictState {
    /// `detected`, `challenged` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictState::Detected => "detected",
            ConflictState::Challenged => "challenged",
            ConflictState::Resolved => "resolved",
        }
    }
}

/// How a conflict was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// Facts kept.
    pub accepted: Vec<FactId>,
    /// Facts deprecated.
    pub deprecated: Vec<FactId>,
    /// Why.
    pub rationale: String,
    /// The resolving event's seq.
    pub seq: u64,
    /// When it was recorded.
    pub recorded: Timestamp,
    /// Whether it was closed because one of its facts was deprecated or
    /// retracted elsewhere (no resolve event names it).
    pub automatic: bool,
}

/// Two believed facts of one key that contradict each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Assigned by the namespace.
    pub id: ConflictId,
    /// The key's context.
    pub context: String,
    /// The key's subject.
    pub subject: String,
    /// The key's predicate.
    pub predicate: String,
    /// The older fact and the newer one.
    pub facts: [FactId; 2],
    /// The verifier's reason.
    pub reason: String,
    /// Detected, challenged or resolved.
    pub state: ConflictState,
    /// Seq of the assert event that opened it.
    pub seq: u64,
    /// When it was opened.
    pub recorded: Timestamp,
    /// Challenges made to its facts while it was open: (fact, reason, seq).
    pub challenges: Vec<(FactId, String, u64)>,
    /// How it was resolved.
    pub resolution: Option<Resolution>,
}

impl Conflict {
    /// Whether it is not resolved yet.
    pub fn is_open(&self) -> bool {
        self.state != ConflictState::Resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_is_open_until_resolved() {
        let mut c = Conflict {
            id: ConflictId(1),
            context: "default".into(),
            subject: "alice".into(),
            predicate: "lives_in".into(),
            facts: [FactId(1), FactId(2)],
            reason: String::new(),
            state: ConflictState::Detected,
            seq: 2,
            recorded: Timestamp(2),
            challenges: Vec::new(),
            resolution: None,
        };
        assert!(c.is_open());
        c.state = ConflictState::Challenged;
        assert!(c.is_open());
        c.state = ConflictState::Resolved;
        assert!(!c.is_open());
        let names = [
            ConflictState::Detected,
            ConflictState::Challenged,
            ConflictState::Resolved,
        ]
        .map(ConflictState::as_str);
        assert_eq!(names, ["detected", "challenged", "resolved"]);
    }
}
