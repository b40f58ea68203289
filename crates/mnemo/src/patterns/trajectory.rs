//! One recorded trajectory: a task, the executor that carried it out and
//! its outcome.

use serde::{Deserialize, Serialize};

use super::{PatternId, TrajectoryId};
use crate::model::Timestamp;

/// One recorded trajectory as the state holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// Its id.
    pub id: TrajectoryId,
    /// The task's text, if given.
    pub task: Option<String>,
    /// The task's embedding (any length; the store normalises a copy).
    pub vector: Vec<f32>,
    /// Whether it succeeded.
    pub success: bool,
    /// Graded outcome in `[0, 1]`.
    pub score: f32,
    /// How long it took, in milliseconds (`≥ 0`).
    pub latency_ms: f32,
    /// What it cost (`≥ 0`, in the caller's unit).
    pub cost: f32,
    /// The executor or strategy that carried it out.
    pub executor: String,
    /// Free tags.
    pub tags: Vec<String>,
    /// When it happened.
    pub at: Timestamp,
    /// The pattern it belongs to.
    pub pattern: PatternId,
    /// Log sequence number of its event.
    pub seq: u64,
}

/// Whether a trajectory's outcome fields are in range.
pub(super) fn valid_outcome(t: &Trajectory) -> bool {
    (0.0..=1.0).contains(&t.score)
        && t.latency_ms.is_finite()
        && t.latency_ms >= 0.0
        && t.cost.is_finite()
        && t.cost >= 0.0
}
