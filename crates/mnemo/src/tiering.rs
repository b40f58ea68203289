//! Tiers under a memory budget: [`Namespace::rebalance_tiers`] places each
//! memory's vector hot (f32 in the HNSW graph), warm (SQ8 codes, scanned)
//! or cold (only in the log) by its strength from use and its age, so the
//! vectors the namespace keeps in memory stay within
//! [`crate::Options::max_resident_bytes`]; each move is a `tier` event.
//! Also the cold tier's scan for recalls that ask for it.
//!
//! The policy: memories are ranked by strength (ACT-R base-level
//! activation now, which falls with age and rises with use; newer first on
//! ties). The strongest are hot until hot vectors fill half the budget,
//! the next are warm until the budget is full, the rest are cold. Without
//! a budget nothing moves.
//!
//! The policy counts each vector at an upper bound of what its tier holds
//! for it ([`crate::vectors::VectorIndex::planned_bytes_per_vector`]: the
//! row, its SQ8 codes, links, id map entry, the buffers' bounded spare
//! capacity and room for tombstones until the graph compacts;
//! [`WarmVector::planned_bytes`] for the warm tier), so what a rebalance
//! leaves resident ([`TierReport::resident_bytes`], measured from the
//! buffers) is within the budget. Writes after a rebalance arrive hot and
//! may pass it; the maintenance thread rebalances once the measured bytes
//! do.

use crate::base::IdMap;
use crate::error::Result;
use crate::event::{Event, TierMove};
use crate::exec;
use crate::lifecycle::Tier;
use crate::model::{MemoryId, Timestamp};
use crate::namespace::Namespace;
use crate::recall::RecallOptions;
use crate::state::State;
use crate::strength;
use crate::tiers::WarmVector;

/// The share of the budget hot vectors may fill.
const HOT_SHARE: f64 = 0.5;

/// Moves one `tier` event carries at most.
const MOVES_PER_EVENT: usize = 1024;

/// Where a namespace's memories are, and what a rebalance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierReport {
    /// Memories whose vector is in the graph.
    pub hot: usize,
    /// Memories whose vector is kept as SQ8 codes.
    pub warm: usize,
    /// Memories whose vector is only in the log.
    pub cold: usize,
    /// Memories moved by this call.
    pub moved: usize,
    /// Bytes of vectors kept in memory: the vector index's heap (graph and
    /// exact buffer, tombstoned slots until the graph compacts) and the
    /// warm codes.
    pub resident_bytes: u64,
    /// The namespace's budget, if it has one.
    pub budget: Option<u64>,
}

impl Namespace {
    /// Where the memories are now (moves nothing).
    pub fn tiers(&self) -> TierReport {
        let state = self.inner.state.read();
        self.tier_report(&state, 0)
    }

    fn tier_report(&self, state: &State, moved: usize) -> TierReport {
        let warm = state.warm.len();
        let cold = state
            .lifecycle
            .tiers
            .values()
            .filter(|t| **t == Tier::Cold)
            .count();
        TierReport {
            hot: state.len().saturating_sub(warm + cold),
            warm,
            cold,
            moved,
            resident_bytes: self.resident_bytes(state),
            budget: self.inner.options.max_resident_bytes,
        }
    }

    /// Whether the vectors kept in memory are past the budget (measured
    /// from the buffers: a cheap check).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn over_budget(&self) -> bool {
        let Some(budget) = self.inner.options.max_resident_bytes else {
            return false;
        };
        let state = self.inner.state.read();
        self.resident_bytes(&state) > budget
    }

    /// Bytes of vectors kept in memory: the vector index's heap and the
    /// warm codes (see [`TierReport::resident_bytes`]).
    fn resident_bytes(&self, state: &State) -> u64 {
        (self.inner.vectors.memory_bytes() + state.warm.memory_bytes()) as u64
    }

    /// Per-vector bytes of the hot and the warm tier, as the policy
    /// counts them: fixed upper bounds (see the module docs), so placing
    /// memories does not change the costs it placed them by.
    fn costs(&self) -> (usize, usize) {
        let d = self.inner.embedder.dimension;
        (
            self.inner.vectors.planned_bytes_per_vector(),
            WarmVector::planned_bytes(d),
        )
    }

    /// Places every memory in its tier under the budget (see the module
    /// docs), writing the moves as `tier` events (a promotion carries the
    /// vector, read from the log). Without a budget it moves nothing.
    pub fn rebalance_tiers(&self) -> Result<TierReport> {
        self.check_open()?;
        let Some(budget) = self.inner.options.max_resident_bytes else {
            return Ok(self.tiers());
        };
        let moved = self.place_tiers(budget)?;
        // The demoted vectors' graph slots go once past the compaction
        // threshold (writes go on meanwhile).
        self.inner.vectors.compact();
        let state = self.inner.state.read();
        Ok(self.tier_report(&state, moved))
    }

    /// Writes the moves that place every memory in its tier under
    /// `budget`; returns how many memories moved.
    fn place_tiers(&self, budget: u64) -> Result<usize> {
        let _writer = self.inner.writer.lock();
        let now = Timestamp::now();
        let decay = self.inner.options.strength_decay;
        let wanted: Vec<(u64, Tier, Tier)> = {
            let state = self.inner.state.read();
            let (hot_cost, warm_cost) = self.costs();
            let mut ranked: Vec<(f64, u64)> = state
                .memories
                .values()
                .map(|m| {
                    let s =
                        strength::activation(m.recorded, state.accesses.get(&m.id.0), now, decay);
                    (s, m.id.0)
                })
                .collect();
            ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            let hot_budget = (budget as f64 * HOT_SHARE) as u64;
            let mut used = 0u64;
            let mut out = Vec::new();
            for (_, id) in ranked {
                let tier = if used + hot_cost as u64 <= hot_budget {
                    used += hot_cost as u64;
                    Tier::Hot
                } else if used + warm_cost as u64 <= budget {
                    used += warm_cost as u64;
                    Tier::Warm
                } else {
                    Tier::Cold
                };
                let now_in = state.lifecycle.tier(id);
                if now_in != tier {
                    out.push((id, now_in, tier));
                }
            }
            out
        };
        let moved = wanted.len();
        // Demotions first, so memory is freed before promotions take it.
        let (demote, promote): (Vec<_>, Vec<_>) = wanted
            .into_iter()
            .partition(|(_, from, to)| warmth(*to) < warmth(*from));
        for chunk in demote.chunks(MOVES_PER_EVENT) {
            let moves = chunk
                .iter()
                .map(|&(id, _, tier)| TierMove {
                    id: MemoryId(id),
                    tier,
                    vector: None,
                })
                .collect();
            self.commit(vec![Event::Tier(moves)])?;
        }
        for chunk in promote.chunks(MOVES_PER_EVENT) {
            let moves: Vec<TierMove> = {
                let state = self.inner.state.read();
                chunk
                    .iter()
                    .filter_map(|&(id, _, tier)| {
                        let vector = self.log_vector(&state, id)?;
                        Some(TierMove {
                            id: MemoryId(id),
                            tier,
                            vector: Some(vector),
                        })
                    })
                    .collect()
            };
            if !moves.is_empty() {
                self.commit(vec![Event::Tier(moves)])?;
            }
        }
        Ok(moved)
    }

    /// A memory's exact vector, read from the event that last set it (its
    /// write, or a revision with new content); `None` when that record is
    /// no longer in the log or does not decode.
    pub(crate) fn log_vector(&self, state: &State, id: u64) -> Option<Vec<f32>> {
        let memory = state.memories.get(&id)?;
        let seq = state
            .lifecycle
            .vector_seq
            .get(&id)
            .copied()
            .unwrap_or(memory.created_seq);
        let record = self.inner.log.read(seq)?;
        Event::memory_vector(seq, record.payload(), &*self.inner.keys, id)
            .ok()
            .flatten()
    }

    /// The cold memories the recall's filters admit, as `(id, cosine)` to
    /// `query`, the recall's candidate depth of them, nearest first.
    pub(crate) fn scan_cold(
        &self,
        state: &State,
        query: &[f32],
        options: &RecallOptions,
    ) -> Result<Vec<(u64, f32)>> {
        let cold: Vec<u64> = state
            .lifecycle
            .tiers
            .iter()
            .filter(|(_, t)| **t == Tier::Cold)
            .map(|(id, _)| *id)
            .collect();
        if cold.is_empty() {
            return Ok(Vec::new());
        }
        let allow = options
            .filter
            .has_filter()
            .then(|| exec::filter_bitmap(state, &options.filter));
        let mut scored: IdMap<f32> = IdMap::default();
        for id in cold {
            if allow.as_ref().is_some_and(|a| !a.contains(id)) || state.get(MemoryId(id)).is_none()
            {
                continue;
            }
            if let Some(v) = self.log_vector(state, id) {
                scored.insert(id, crate::lifecycle::cosine(query, &v));
            }
        }
        let mut hits: Vec<(u64, f32)> = scored.into_iter().collect();
        hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(options.candidate_depth());
        Ok(hits)
    }
}

/// Orders tiers by warmth (cold 0, warm 1, hot 2).
fn warmth(t: Tier) -> u8 {
    match t {
        Tier::Cold => 0,
        Tier::Warm => 1,
        Tier::Hot => 2,
    }
}
