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
