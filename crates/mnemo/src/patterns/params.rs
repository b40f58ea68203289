//! The knobs of procedural memory: the clustering's [`PatternParams`] and
//! the [`PrunePolicy`] of maintenance.

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// Parameters of the clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PatternParams {
    /// Cosine needed to join an existing pattern (default 0.8).
    pub join_threshold: f32,
    /// The writer asks for a refinement after this many trajectories
    /// (default 512; 0 = never).
    pub refine_every: u64,
    /// Refinement fits its centres on at most this many trajectories
    /// (default 16,384). Beyond, it fits on a uniform sample of this size
    /// drawn with the refinement's seed, then assigns every live trajectory
    /// to its nearest centre. 0 is treated as 1.
    pub refine_max_trajectories: usize,
    /// Lloyd iterations at most (default 8; it stops earlier once no
    /// assignment changes).
    pub kmeans_iterations: usize,
    /// Centroid cosine at or above which two patterns merge (default 0.95).
    pub consolidate_threshold: f32,
}

impl Default for PatternParams {
    fn default() -> Self {
        Self {
            join_threshold: 0.8,
            refine_every: 512,
            refine_max_trajectories: 16_384,
            kmeans_iterations: 8,
            consolidate_threshold: 0.95,
        }
    }
}

/// Which patterns [`PatternStore::plan_prune`] removes: a pattern is
/// pruned when **any** condition that is set holds. The default prunes
/// nothing.
///
/// [`PatternStore::plan_prune`]: super::PatternStore::plan_prune
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PrunePolicy {
    /// Pruned when `quality < min_quality`.
    pub min_quality: Option<f32>,
    /// Pruned when `count < min_count`.
    pub min_count: Option<u64>,
    /// Pruned when `last_used < unused_since`.
    pub unused_since: Option<Timestamp>,
}
