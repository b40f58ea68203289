//! Stage 3, spread: activation flows from the seeds over the association
//! graph (links, temporal neighbours, the HNSW graph's neighbour lists,
//! rare shared words; see [`crate::spread`] for the rule), and the
//! memories it reached rank by what they received from others.

use mnemo_vector::Hnsw;
use roaring::RoaringTreemap;

use super::candidates::Candidates;
use super::options::RecallOptions;
use super::{SignalHit, Source};
use crate::base::{Scored, TopK};
use crate::event::DERIVED_FROM;
use crate::model::MemoryId;
use crate::spread::{Adjacency, Deadline, EdgeKind, NO_NODE, SpreadOutcome, Spreader};
use crate::state::State;

/// Keyword edges follow terms at most this many memories share.
const RARE_DF: u32 = 8;

/// ... and at most one in this many of the namespace's memories (but
/// always terms two memories share): in a small namespace a word a fifth
/// of the memories hold ("user") is not rare.
const RARE_SHARE: usize = 20;

/// The largest document frequency of a rare term among `live` memories.
fn rare_df(live: usize) -> u32 {
    u32::try_from(live / RARE_SHARE)
        .unwrap_or(u32::MAX)
        .clamp(2, RARE_DF)
}

/// Received activation counts fully from this much up (the best seed
/// starts with 1, and passes about this much over a single edge), in
/// proportion below it: scaling by the largest received alone would give
/// two weak seeds that share a word the whole activation weight, ahead of
/// a memory both direct signals rank first.
const FULL_ACTIVATION: f32 = 0.3;

/// Spreaders are taken from the pool for one recall and returned, so their
/// buffers are reused.
pub(crate) type SpreaderPool = parking_lot::Mutex<Vec<Spreader>>;

/// The association graph as recall sees it: the state's temporal chains
/// and links, the HNSW graph's neighbour lists and rare shared words, with
/// the recall's window and limits.
struct RecallGraph<'a> {
    state: &'a State,
    hnsw: Option<&'a Hnsw>,
    /// Temporal window in nanoseconds.
    window: i64,
    /// Vector neighbours followed per node.
    vector_neighbors: usize,
    /// Which kinds are followed at all.
    follow: [bool; EdgeKind::COUNT],
    /// Weight of the temporal edge to the previous memory (the edge to the
    /// next one weighs 1).
    backward: f32,
    /// Keyword edges follow terms at most this many memories share.
    rare_df: u32,
}

impl Adjacency for RecallGraph<'_> {
    fn node_count(&self) -> usize {
        self.state.assoc.node_count()
    }

    fn for_each_neighbor<F: FnMut(u32, EdgeKind, f32)>(&self, node: u32, mut f: F) {
        let g = &self.state.assoc;
        let Some(id) = g.id(node) else {
            return;
        };
        if self.follow[EdgeKind::Temporal.index()] {
            let [next, prev] = g.temporal_neighbors(node, self.window);
            for (other, weight) in [(next, 1.0), (prev, self.backward)] {
                if other != NO_NODE {
                    f(other, EdgeKind::Temporal, weight);
                }
            }
        }
        if self.follow[EdgeKind::Link.index()] {
            let id = MemoryId(id);
            for e in self
                .state
                .links_from(id)
                .iter()
                .chain(self.state.links_to(id))
            {
                // Provenance is not association: through a consolidated
                // memory, one seed would reach every source it summarises.
                if &*e.kind == DERIVED_FROM {
                    continue;
                }
                if let Some(other) = g.node(e.other.0) {
                    f(other, EdgeKind::Link, e.weight);
                }
            }
        }
        if self.follow[EdgeKind::Vector.index()]
            && self.vector_neighbors > 0
            && let Some(hnsw) = self.hnsw
        {
            for other in hnsw.neighbour_ids(id).take(self.vector_neighbors) {
                if let Some(other) = g.node(other) {
                    f(other, EdgeKind::Vector, 1.0);
                }
            }
        }
        if self.follow[EdgeKind::Keyword.index()] {
            self.state
                .text
                .for_each_rare_neighbor(id, self.rare_df, |other, w| {
                    if let Some(other) = g.node(other) {
                        f(other, EdgeKind::Keyword, w);
                    }
                });
        }
    }
}

/// Spreads from `seeds` with a spreader from the source's pool, ranks the
/// memories the filters admit by the activation they received (scaled by
/// the largest) into `candidates`, and returns the spreader (its paths
/// explain the hits; give it back with [`give_back`]) and what spreading
/// did.
pub(super) fn run(
    source: &Source<'_>,
    seeds: &[(u32, f32)],
    options: &RecallOptions,
    deadline: Option<Deadline>,
    allow: Option<&RoaringTreemap>,
    candidates: &mut Candidates,
) -> (Spreader, SpreadOutcome) {
    let state = source.state;
    let hnsw = source.state.vectors.graph();
    let graph = RecallGraph {
        state,
        hnsw: hnsw.as_ref(),
        window: i64::try_from(options.temporal_window.as_nanos()).unwrap_or(i64::MAX),
        vector_neighbors: options.vector_neighbors,
        follow: EdgeKind::ALL.map(|k| options.spread.weight(k) > 0.0),
        backward: options.temporal_backward,
        rare_df: rare_df(state.text.len()),
    };
    let mut spreader = source.spreaders.lock().pop().unwrap_or_default();
    let outcome = spreader.spread(&graph, seeds, &options.spread, deadline);
    drop(hnsw);
    let mut top = TopK::new(options.candidate_depth());
    for &node in spreader.activated() {
        let Some(id) = state.assoc.id(node) else {
            continue;
        };
        let received = spreader.received(node);
        if received > 0.0 && allow.is_none_or(|a| a.contains(id)) {
            top.push(Scored {
                score: received,
                id,
            });
        }
    }
    let activated = top.into_sorted_vec();
    let best = activated
        .first()
        .map_or(1.0, |a| a.score)
        .max(FULL_ACTIVATION);
    for (i, a) in activated.iter().enumerate() {
        candidates.entry(a.id).or_default().activation = Some(SignalHit {
            rank: i + 1,
            score: a.score,
            normalized: a.score / best,
        });
    }
    (spreader, outcome)
}

/// Returns a spreader to the source's pool.
pub(super) fn give_back(source: &Source<'_>, spreader: Spreader) {
    source.spreaders.lock().push(spreader);
}
