//! What the writer decides for a new fact and how the log records it: the
//! coherence check's [`Decision`] (which believed facts the new one
//! supersedes, which it contradicts), and the assert event's payload
//! ([`AssertFact`], with the [`OpenConflict`]s it opens), which the
//! [`super::FactStore`] folds without deciding anything again.
//!
//! The payload is part of the log format (event kind 8 in the event
//! module's table, re-exported there): postcard encodes its fields in
//! declaration order, so they are never reordered, renamed in serde or
//! retyped.

use serde::{Deserialize, Serialize};

use crate::base::{ConflictId, FactId};
use crate::model::{MemoryId, Validity};

/// What the coherence check decided for a new fact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Believed facts whose windows the new fact closes.
    pub supersedes: Vec<FactId>,
    /// Believed facts it contradicts, with the verifier's reasons.
    pub conflicts: Vec<(FactId, String)>,
}

/// A conflict a new fact opens (decided by the writer's verifier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenConflict {
    /// The conflict's assigned id.
    pub id: ConflictId,
    /// The believed fact the new one contradicts.
    pub with: FactId,
    /// The verifier's reason.
    pub reason: String,
}

/// A fact asserted, with the coherence decisions the writer made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertFact {
    /// Assigned id.
    pub id: FactId,
    /// Subject.
    pub subject: String,
    /// Predicate.
    pub predicate: String,
    /// Object.
    pub object: String,
    /// Context.
    pub context: String,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Validity window.
    pub valid: Validity,
    /// Memories it was drawn from.
    pub evidence: Vec<MemoryId>,
    /// Believed facts whose windows it closes (knowledge updates).
    pub supersedes: Vec<FactId>,
    /// Conflicts it opens.
    pub conflicts: Vec<OpenConflict>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    /// The payload's bytes are part of the log format: this pins them.
    #[test]
    fn the_assert_payload_encodes_field_by_field_in_declaration_order() {
        let event = AssertFact {
            id: FactId(2),
            subject: "a".into(),
            predicate: "p".into(),
            object: "o".into(),
            context: "c".into(),
            confidence: 1.0,
            valid: Validity {
                from: Some(Timestamp(3)),
                until: None,
            },
            evidence: vec![MemoryId(5)],
            supersedes: vec![FactId(1)],
            conflicts: vec![OpenConflict {
                id: ConflictId(7),
                with: FactId(1),
                reason: "r".into(),
            }],
        };
        let bytes = postcard::to_allocvec(&event).expect("encodes");
        #[rustfmt::skip]
        let expected = [
            2, // id
            1, b'a', 1, b'p', 1, b'o', 1, b'c', // subject, predicate, object, context
            0x00, 0x00, 0x80, 0x3f, // confidence, f32 little-endian
            1, 6, 0, // valid: Some(3) zig-zagged, None
            1, 5, // evidence
            1, 1, // supersedes
            1, 7, 1, 1, b'r', // conflicts: id, with, reason
        ];
        assert_eq!(bytes, expected);
        let back: AssertFact = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, event);
    }
}
