//! Stage 5, explanation: each hit's share of the score per signal and the
//! strongest activation path that reached it, and the activation graph of
//! a whole recall (hits, the memories on their paths, the edges crossed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::RecallHit;
use super::candidates::Candidate;
use super::fuse::{Bonuses, signal_parts};
use super::options::RecallOptions;
use crate::model::{Memory, MemoryId};
use crate::spread::{EdgeKind, Spreader};
use crate::state::State;

/// One step of an activation path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathStep {
    /// The memory.
    pub id: MemoryId,
    /// The edge it was reached over (`None` for the seed the path starts
    /// at).
    pub via: Option<EdgeKind>,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Explanation {
    /// Each signal's share of the fused score (`vector`, `keyword`,
    /// `activation`, `recency`, `importance`, `time`, `tags`,
    /// `answer_type`); only nonzero shares.
    pub contributions: Vec<(&'static str, f32)>,
    /// The strongest activation path from a seed to the hit (empty when
    /// activation did not reach it; just the hit when it was a seed).
    pub path: Vec<PathStep>,
}

/// A memory in an [`ActivationGraph`].
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// The memory.
    pub memory: Arc<Memory>,
    /// Its rank among the hits, from 1 (`None`: only on a path).
    pub rank: Option<usize>,
    /// Its fused score, when it is a hit.
    pub score: Option<f32>,
    /// Whether a path starts at it (it seeded activation).
    pub seed: bool,
}

/// An edge activation crossed on a hit's strongest path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GraphEdge {
    /// Where activation came from.
    pub from: MemoryId,
    /// Where it went.
    pub to: MemoryId,
    /// The kind of association.
    pub via: EdgeKind,
}

/// The part of the association graph a recall's activation used: the hits
/// and the strongest path that reached each (with
/// [`RecallOptions::graph`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivationGraph {
    /// The hits and the memories on their paths, by id.
    pub nodes: Vec<GraphNode>,
    /// The edges the paths crossed, by `(from, to, kind name)`.
    pub edges: Vec<GraphEdge>,
}

/// The strongest activation path from a seed to memory `id` (empty when
/// activation did not reach it or did not run).
pub(super) fn path(state: &State, spreader: Option<&Spreader>, id: u64) -> Vec<PathStep> {
    match (spreader, state.assoc.node(id)) {
        (Some(s), Some(node)) => s
            .path(node)
            .into_iter()
            .filter_map(|(n, via)| {
                Some(PathStep {
                    id: MemoryId(state.assoc.id(n)?),
                    via,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Each signal's nonzero share of a hit's score, and its path.
pub(super) fn explain(
    options: &RecallOptions,
    bonuses: &Bonuses<'_>,
    memory: &Memory,
    c: &Candidate,
    path: Vec<PathStep>,
) -> Explanation {
    let [vector, keyword, activation] = signal_parts(options, c);
    let [recency, importance, time, tags, answer_type, strength] = bonuses.of(memory);
    let contributions = [
        ("vector", vector),
        ("keyword", keyword),
        ("activation", activation),
        ("recency", recency),
        ("importance", importance),
        ("time", time),
        ("tags", tags),
        ("answer_type", answer_type),
        ("strength", strength),
    ]
    .into_iter()
    .filter(|(_, v)| *v != 0.0)
    .collect();
    Explanation {
        contributions,
        path,
    }
}

/// The hits and the memories on their `paths` (one per hit, in hit order),
/// with the edges those paths crossed.
pub(super) fn graph(state: &State, hits: &[RecallHit], paths: &[Vec<PathStep>]) -> ActivationGraph {
    let mut nodes: BTreeMap<MemoryId, GraphNode> = BTreeMap::new();
    for (rank, hit) in hits.iter().enumerate() {
        nodes.insert(
            hit.memory.id,
            GraphNode {
                memory: Arc::clone(&hit.memory),
                rank: Some(rank + 1),
                score: Some(hit.score),
                seed: false,
            },
        );
    }
    let mut edges: BTreeSet<(MemoryId, MemoryId, &'static str, EdgeKind)> = BTreeSet::new();
    for path in paths {
        for (i, step) in path.iter().enumerate() {
            let node = match nodes.entry(step.id) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    // Activation only reaches live memories, and the state
                    // is read under one lock for the whole recall.
                    let Some(memory) = state.memories.get(&step.id.0) else {
                        debug_assert!(false, "an activation path crosses a memory not live");
                        continue;
                    };
                    e.insert(GraphNode {
                        memory: Arc::clone(memory),
                        rank: None,
                        score: None,
                        seed: false,
                    })
                }
            };
            if i == 0 && step.via.is_none() {
                node.seed = true;
            }
            if i > 0
                && let Some(via) = step.via
            {
                edges.insert((path[i - 1].id, step.id, via.name(), via));
            }
        }
    }
    ActivationGraph {
        nodes: nodes.into_values().collect(),
        edges: edges
            .into_iter()
            .map(|(from, to, _, via)| GraphEdge { from, to, via })
            .collect(),
    }
}
