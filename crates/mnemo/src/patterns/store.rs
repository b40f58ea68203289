//! The [`PatternStore`]: its persistent core and the arrays derived from
//! it, serialisation, the online clustering (`assign`, `record`) and
//! maintenance (`prune`, `consolidate`).
//!
//! Refinement, suggestion and the graph are `impl PatternStore` blocks of
//! their own files (`refine.rs`, `suggest.rs`, `ann.rs`).

use std::collections::BTreeMap;

use mnemo_vector::Hnsw;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ann::Ann;
use super::arith::{dot, normalize_into, unit_vector};
use super::params::PrunePolicy;
use super::pattern::{ExecutorStats, ExecutorSums, Pattern, Slot};
use super::sketch::{
    SKETCH_MIN_DIMENSION, ScanKey, Scratch, quality8, scan_top, sketch_into, sketch_words,
    with_scratch,
};
use super::trajectory::{Trajectory, valid_outcome};
use super::{PatternId, TrajectoryId};
use crate::base::IdSet;

/// Candidates the sketch stage of `assign` and `plan_consolidate` verifies
/// exactly; stores with at most this many patterns are searched exactly.
pub const ASSIGN_CANDIDATES: usize = 64;
/// Candidates per pattern `plan_consolidate` verifies exactly.
pub const CONSOLIDATE_CANDIDATES: usize = 16;

/// The persistent part of a [`PatternStore`]: exactly what is serialised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Core {
    pub(super) dimension: usize,
    pub(super) next_trajectory: u64,
    pub(super) next_pattern: u64,
    pub(super) since_refine: u64,
    pub(super) trajectories: BTreeMap<TrajectoryId, Trajectory>,
    /// Sorted by pattern id.
    pub(super) slots: Vec<Slot>,
}

/// Trajectories and the patterns learned from them (see the
/// [module docs](crate::patterns)).
///
/// ```
/// use mnemo::patterns::{PatternStore, Trajectory, TrajectoryId};
/// use mnemo::Timestamp;
///
/// let mut store = PatternStore::new(2);
/// let vector = vec![1.0, 0.1];
/// let pattern = store.assign(&vector, 0.8);
/// assert!(store.record(Trajectory {
///     id: store.next_trajectory_id(),
///     task: Some("deploy".into()),
///     vector,
///     success: true,
///     score: 1.0,
///     latency_ms: 120.0,
///     cost: 0.01,
///     executor: "planner".into(),
///     tags: vec![],
///     at: Timestamp(0),
///     pattern,
///     seq: 1,
/// }));
/// let answer = store.suggest(&[0.9, 0.2], 3);
/// assert_eq!(answer.executor.as_deref(), Some("planner"));
/// ```
#[derive(Debug, Clone)]
pub struct PatternStore {
    pub(super) core: Core,
    /// Derived from `core` (rebuilt on deserialisation): sketch words per
    /// pattern, and per slot the id, sketch and quality.
    pub(super) words: usize,
    pub(super) ids: Vec<PatternId>,
    pub(super) sketches: Vec<u64>,
    /// Quality in fixed point, `round(quality · 255)`.
    pub(super) quality8: Vec<u8>,
    /// `round(max(cos(π·h/d), 0) · 255)` for `h` in `0..=64·words`: the
    /// cosine a Hamming distance estimates, in fixed point.
    pub(super) cos8: Vec<u16>,
    pub(super) ann: Ann,
}

impl Serialize for PatternStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PatternStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Core::deserialize(deserializer).map(PatternStore::from_core)
    }
}

impl PatternStore {
    /// An empty store of `dimension`-component task vectors.
    pub fn new(dimension: usize) -> Self {
        Self::from_core(Core {
            dimension,
            next_trajectory: 1,
            next_pattern: 1,
            since_refine: 0,
            trajectories: BTreeMap::new(),
            slots: Vec::new(),
        })
    }

    /// A store around persistent state, made consistent enough that no
    /// later call can panic (slots sorted and unique, vectors of the right
    /// length, next ids above every id), with its derived arrays.
    fn from_core(mut core: Core) -> Self {
        let dim = core.dimension;
        core.slots.sort_by_key(|s| s.pattern.id);
        core.slots.dedup_by_key(|s| s.pattern.id);
        for s in &mut core.slots {
            s.sum.resize(dim, 0.0);
            s.pattern.centroid.resize(dim, 0.0);
            s.executor_sums
                .resize(s.pattern.executors.len(), ExecutorSums::default());
        }
        let max_pattern = core.slots.last().map_or(0, |s| s.pattern.id.0);
        core.next_pattern = core.next_pattern.max(max_pattern.saturating_add(1));
        let max_trajectory = core.trajectories.keys().next_back().map_or(0, |t| t.0);
        core.next_trajectory = core.next_trajectory.max(max_trajectory.saturating_add(1));
        let words = sketch_words(dim);
        let cos8 = (0..=words * 64)
            .map(|h| {
                let cos = (std::f64::consts::PI * h as f64 / dim.max(1) as f64).cos();
                (cos.max(0.0) * 255.0).round() as u16
            })
            .collect();
        let mut store = Self {
            core,
            words,
            ids: Vec::new(),
            sketches: Vec::new(),
            quality8: Vec::new(),
            cos8,
            ann: Ann::default(),
        };
        store.rebuild_derived();
        store
    }

    /// Recomputes the per-slot arrays from the slots.
    pub(super) fn rebuild_derived(&mut self) {
        let w = self.words;
        let slots = &self.core.slots;
        self.ids = slots.iter().map(|s| s.pattern.id).collect();
        self.quality8 = slots.iter().map(|s| quality8(s.pattern.quality)).collect();
        self.sketches.clear();
        self.sketches.resize(slots.len() * w, 0);
        if w > 0 {
            for (s, sketch) in slots.iter().zip(self.sketches.chunks_exact_mut(w)) {
                sketch_into(&s.pattern.centroid, sketch);
            }
        }
        debug_assert!(
            self.ids.windows(2).all(|w| w[0] < w[1]),
            "slots sorted by id, unique"
        );
        self.debug_assert_derived();
    }

    /// The derived arrays are parallel to the slots (`O(1)`: run after
    /// every change in debug builds).
    fn debug_assert_derived(&self) {
        let len = self.core.slots.len();
        debug_assert_eq!(self.ids.len(), len, "an id per slot");
        debug_assert_eq!(self.quality8.len(), len, "a quality per slot");
        debug_assert_eq!(self.sketches.len(), len * self.words, "a sketch per slot");
        debug_assert_eq!(
            self.cos8.len(),
            self.words * 64 + 1,
            "a cosine per distance"
        );
        debug_assert!(
            self.ids
                .last()
                .is_none_or(|id| id.0 < self.core.next_pattern),
            "the next pattern id is above every id"
        );
    }

    /// Refreshes slot `i`'s sketch and quality.
    fn sync_derived(&mut self, i: usize) {
        let w = self.words;
        if let (Some(slot), Some(sketch), Some(q)) = (
            self.core.slots.get(i),
            self.sketches.get_mut(i * w..(i + 1) * w),
            self.quality8.get_mut(i),
        ) {
            sketch_into(&slot.pattern.centroid, sketch);
            *q = quality8(slot.pattern.quality);
        }
    }

    /// Whether the dimension is large enough for sketch candidates.
    pub(super) fn sketches_pay(&self) -> bool {
        self.core.dimension >= SKETCH_MIN_DIMENSION
    }

    pub(super) fn slot_index(&self, id: PatternId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Vector dimension.
    pub fn dimension(&self) -> usize {
        self.core.dimension
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.core.slots.len()
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.core.slots.is_empty()
    }

    /// Number of live (not pruned) trajectories.
    pub fn trajectory_count(&self) -> usize {
        self.core.trajectories.len()
    }

    /// Trajectories recorded since the last refinement (the writer compares
    /// it with [`PatternParams::refine_every`](super::PatternParams::refine_every)).
    pub fn since_refine(&self) -> u64 {
        self.core.since_refine
    }

    /// The id the next recorded trajectory must have.
    pub fn next_trajectory_id(&self) -> TrajectoryId {
        TrajectoryId(self.core.next_trajectory)
    }

    /// The id the next new pattern gets.
    pub fn next_pattern_id(&self) -> PatternId {
        PatternId(self.core.next_pattern)
    }

    /// A pattern by id.
    pub fn get(&self, id: PatternId) -> Option<&Pattern> {
        self.slot_index(id).map(|i| &self.core.slots[i].pattern)
    }

    /// Every pattern, by id.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.core.slots.iter().map(|s| &s.pattern)
    }

    /// A live trajectory by id.
    pub fn trajectory(&self, id: TrajectoryId) -> Option<&Trajectory> {
        self.core.trajectories.get(&id)
    }

    /// The member trajectories of a pattern, ascending (empty if unknown).
    pub fn members(&self, id: PatternId) -> Vec<TrajectoryId> {
        self.slot_index(id)
            .map(|i| self.core.slots[i].members.clone())
            .unwrap_or_default()
    }

    /// Write side: the pattern a new trajectory with this task vector joins:
    /// the most similar pattern (exact scalar cosine of the normalised
    /// vector and the centroid; ties: lower id) if the similarity is at
    /// least `join_threshold`, else [`Self::next_pattern_id`] (a new
    /// pattern). Above [`ASSIGN_CANDIDATES`] patterns the exact comparison
    /// covers the sketch-nearest candidates only (see the
    /// [module docs](crate::patterns)). Deterministic; an invalid vector
    /// answers a new pattern.
    pub fn assign(&self, vector: &[f32], join_threshold: f32) -> PatternId {
        let next = self.next_pattern_id();
        let Some(unit) = unit_vector(vector, self.core.dimension) else {
            return next;
        };
        match self.nearest_pattern(&unit) {
            Some((i, cos)) if cos >= join_threshold => self.ids[i],
            _ => next,
        }
    }

    /// The slot most similar to `unit` and the cosine (deterministic).
    fn nearest_pattern(&self, unit: &[f32]) -> Option<(usize, f32)> {
        let mut best: Option<(usize, f32)> = None;
        let mut consider = |i: usize| {
            let cos = dot(unit, &self.core.slots[i].pattern.centroid);
            if best.is_none_or(|(_, b)| cos > b) {
                best = Some((i, cos));
            }
        };
        if self.len() <= ASSIGN_CANDIDATES || !self.sketches_pay() {
            (0..self.len()).for_each(&mut consider);
        } else {
            with_scratch(|s| {
                self.sketch_candidates(unit, ASSIGN_CANDIDATES, s);
                s.picked.iter().for_each(|&i| consider(i as usize));
            });
        }
        best
    }

    /// The `c` slots whose sketches are nearest to `unit`'s, into
    /// `scratch.picked` (ties: lower index).
    fn sketch_candidates(&self, unit: &[f32], c: usize, scratch: &mut Scratch) {
        scratch.sketch.clear();
        scratch.sketch.resize(self.words, 0);
        sketch_into(unit, &mut scratch.sketch);
        let key = ScanKey::Closeness {
            bits: self.core.dimension as u32,
        };
        scan_top(
            &scratch.sketch,
            &self.sketches,
            key,
            c,
            &mut scratch.buf,
            &mut scratch.picked,
        );
    }

    /// Fold: adds a trajectory. Its id must be [`Self::next_trajectory_id`],
    /// its pattern an existing one or [`Self::next_pattern_id`] (which
    /// creates it), its vector of the store's dimension, finite and not
    /// zero, its score in `[0, 1]`, its latency and cost finite and `≥ 0`;
    /// otherwise nothing changes and it returns `false`. Updates the
    /// pattern's sums and statistics in `O(d + executors)`.
    pub fn record(&mut self, t: Trajectory) -> bool {
        if t.id.0 != self.core.next_trajectory || !valid_outcome(&t) {
            return false;
        }
        let Some(unit) = unit_vector(&t.vector, self.core.dimension) else {
            return false;
        };
        let i = if t.pattern.0 == self.core.next_pattern {
            self.core
                .slots
                .push(Slot::new(t.pattern, self.core.dimension, t.seq));
            self.ids.push(t.pattern);
            self.quality8.push(0);
            self.sketches.resize(self.sketches.len() + self.words, 0);
            self.core.next_pattern = self.core.next_pattern.saturating_add(1);
            self.core.slots.len() - 1
        } else if let Some(i) = self.slot_index(t.pattern) {
            i
        } else {
            return false;
        };
        let slot = &mut self.core.slots[i];
        slot.add(&t, &unit);
        slot.refresh();
        self.sync_derived(i);
        self.core.next_trajectory = self.core.next_trajectory.saturating_add(1);
        self.core.since_refine = self.core.since_refine.saturating_add(1);
        let pattern = t.pattern;
        self.core.trajectories.insert(t.id, t);
        self.ann_touch(pattern, true);
        self.debug_assert_derived();
        true
    }

    /// A slot rebuilt from its members (ascending ids), exactly as
    /// recording them one by one would have built it.
    pub(super) fn build_slot(
        &self,
        id: PatternId,
        created_seq: u64,
        members: &[TrajectoryId],
        unit: &mut Vec<f32>,
    ) -> Slot {
        let mut slot = Slot::new(id, self.core.dimension, created_seq);
        for m in members {
            if let Some(t) = self.core.trajectories.get(m)
                && t.vector.len() == self.core.dimension
                && normalize_into(&t.vector, unit)
            {
                slot.add(t, unit);
            }
        }
        slot.refresh();
        slot
    }

    /// Write side: the patterns `policy` would remove, ascending.
    pub fn plan_prune(&self, policy: &PrunePolicy) -> Vec<PatternId> {
        self.patterns()
            .filter(|p| {
                policy.min_quality.is_some_and(|q| p.quality < q)
                    || policy.min_count.is_some_and(|n| p.count < n)
                    || policy.unused_since.is_some_and(|t| p.last_used < t)
            })
            .map(|p| p.id)
            .collect()
    }

    /// Fold: removes these patterns and their trajectories (unknown ids are
    /// ignored). Returns how many patterns it removed.
    pub fn prune(&mut self, ids: &[PatternId]) -> usize {
        let mut removed: Vec<PatternId> = ids
            .iter()
            .copied()
            .filter(|&id| self.slot_index(id).is_some())
            .collect();
        removed.sort_unstable();
        removed.dedup();
        if removed.is_empty() {
            return 0;
        }
        for &id in &removed {
            if let Some(i) = self.slot_index(id) {
                for m in &self.core.slots[i].members {
                    self.core.trajectories.remove(m);
                }
            }
        }
        self.core
            .slots
            .retain(|s| removed.binary_search(&s.pattern.id).is_err());
        self.rebuild_derived();
        self.ann_after_bulk(&removed);
        removed.len()
    }

    /// Write side: pairs `(keep, absorb)` of patterns whose centroids have
    /// cosine `≥ threshold`, `keep` the lower id, each pattern in at most
    /// one pair: candidate pairs (each pattern against its
    /// [`CONSOLIDATE_CANDIDATES`] sketch-nearest, or every other pattern in
    /// small stores) are verified exactly, then taken greedily by
    /// descending cosine (ties: lower ids). Deterministic.
    pub fn plan_consolidate(&self, threshold: f32) -> Vec<(PatternId, PatternId)> {
        let len = self.len();
        if len < 2 {
            return Vec::new();
        }
        let slots = &self.core.slots;
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        let mut check = |i: usize, j: usize| {
            if i == j {
                return;
            }
            let (a, b) = (i.min(j), i.max(j));
            let cos = dot(&slots[a].pattern.centroid, &slots[b].pattern.centroid);
            if cos >= threshold {
                pairs.push((cos, a, b));
            }
        };
        if len <= ASSIGN_CANDIDATES || !self.sketches_pay() {
            for i in 0..len {
                for j in i + 1..len {
                    check(i, j);
                }
            }
        } else {
            with_scratch(|s| {
                for (i, slot) in slots.iter().enumerate() {
                    self.sketch_candidates(&slot.pattern.centroid, CONSOLIDATE_CANDIDATES + 1, s);
                    s.picked.iter().for_each(|&j| check(i, j as usize));
                }
            });
        }
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        pairs.dedup_by(|x, y| x.1 == y.1 && x.2 == y.2);
        let mut used = vec![false; len];
        let mut plan = Vec::new();
        for (_, a, b) in pairs {
            if !used[a] && !used[b] {
                used[a] = true;
                used[b] = true;
                plan.push((self.ids[a], self.ids[b]));
            }
        }
        plan
    }

    /// Fold: merges each `(keep, absorb)`: the absorbed pattern's members
    /// move to `keep`, whose statistics are recomputed from its members,
    /// and the absorbed pattern disappears. Pairs naming an unknown or
    /// already absorbed pattern, or the same pattern twice, are skipped.
    /// Returns how many merges it applied.
    pub fn consolidate(&mut self, merges: &[(PatternId, PatternId)]) -> usize {
        let mut dead: Vec<PatternId> = Vec::new();
        // The same ids as `dead`, for the membership test of every pair.
        let mut absorbed = IdSet::default();
        let mut dirty: Vec<PatternId> = Vec::new();
        for &(keep, absorb) in merges {
            if keep == absorb || absorbed.contains(&keep.0) || absorbed.contains(&absorb.0) {
                continue;
            }
            let (Some(k), Some(a)) = (self.slot_index(keep), self.slot_index(absorb)) else {
                continue;
            };
            let moved = std::mem::take(&mut self.core.slots[a].members);
            for m in &moved {
                if let Some(t) = self.core.trajectories.get_mut(m) {
                    t.pattern = keep;
                }
            }
            let members = &mut self.core.slots[k].members;
            members.extend(moved);
            members.sort_unstable();
            members.dedup();
            dead.push(absorb);
            absorbed.insert(absorb.0);
            dirty.push(keep);
        }
        if dead.is_empty() {
            return 0;
        }
        dead.sort_unstable();
        dirty.sort_unstable();
        dirty.dedup();
        let mut unit = Vec::with_capacity(self.core.dimension);
        for id in dirty {
            if dead.binary_search(&id).is_ok() {
                continue;
            }
            if let Some(i) = self.slot_index(id) {
                let slot = &self.core.slots[i];
                let rebuilt = self.build_slot(
                    id,
                    slot.pattern.created_seq,
                    &slot.members.clone(),
                    &mut unit,
                );
                self.core.slots[i] = rebuilt;
            }
        }
        self.core
            .slots
            .retain(|s| dead.binary_search(&s.pattern.id).is_err());
        self.rebuild_derived();
        self.ann_after_bulk(&dead);
        dead.len()
    }

    /// Heap bytes held by the store (trajectories, patterns, indices),
    /// approximately.
    pub fn memory_bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.capacity() + 24).sum::<usize>();
        let trajectories: usize = self
            .core
            .trajectories
            .values()
            .map(|t| {
                size_of::<Trajectory>()
                    + size_of::<TrajectoryId>()
                    + 16
                    + t.vector.capacity() * 4
                    + t.task.as_ref().map_or(0, String::capacity)
                    + t.executor.capacity()
                    + strings(&t.tags)
            })
            .sum();
        let slots: usize = self
            .core
            .slots
            .iter()
            .map(|s| {
                size_of::<Slot>()
                    + (s.sum.capacity() + s.pattern.centroid.capacity()) * 4
                    + s.members.capacity() * 8
                    + s.pattern
                        .executors
                        .iter()
                        .map(|e| size_of::<ExecutorStats>() + e.executor.capacity())
                        .sum::<usize>()
                    + s.executor_sums
                        .iter()
                        .map(|e| size_of::<ExecutorSums>() + e.recent.capacity() * 8)
                        .sum::<usize>()
                    + s.pattern.best_executor.as_ref().map_or(0, String::capacity)
            })
            .sum();
        let derived = self.ids.capacity() * 8
            + self.sketches.capacity() * 8
            + self.quality8.capacity()
            + self.cos8.capacity() * 2
            + self.ann.pending.capacity() * 8
            + self.ann.index.as_ref().map_or(0, Hnsw::memory_bytes);
        trajectories + slots + derived
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::Timestamp;
    use crate::patterns::kmeans::SplitMix64;
    use crate::patterns::params::PatternParams;
    use crate::patterns::suggest::Suggest;
    use crate::patterns::testkit::{add, bytes, check_invariants, near, trajectory};

    #[test]
    fn joins_at_the_threshold_and_founds_below() {
        let mut store = PatternStore::new(2);
        let first = add(&mut store, vec![1.0, 0.0], true, "a");
        assert_eq!(first, PatternId(1));
        let v = [0.6f32, 0.8];
        let cos = dot(&unit_vector(&v, 2).expect("valid"), &[1.0, 0.0]);
        assert_eq!(store.assign(&v, cos), first, "cosine == threshold joins");
        assert_eq!(
            store.assign(&v, cos.next_up()),
            PatternId(2),
            "just below founds"
        );
        assert_eq!(store.assign(&[-1.0, 0.0], -1.0), first);
        let t = trajectory(&store, v.to_vec(), true, "a", 0.9);
        assert_eq!(t.pattern, PatternId(2));
        assert!(store.record(t));
        assert_eq!(store.len(), 2);
        assert_eq!(store.next_pattern_id(), PatternId(3));
        check_invariants(&store);
    }

    #[test]
    fn garbage_never_panics() {
        let mut store = PatternStore::new(3);
        assert_eq!(store.suggest(&[1.0, 0.0, 0.0], 5), Suggest::empty());
        assert_eq!(store.assign(&[f32::NAN, 0.0, 0.0], 0.8), PatternId(1));
        add(&mut store, vec![1.0, 0.0, 0.0], true, "a");
        for bad in [
            vec![f32::NAN, 0.0, 0.0],
            vec![f32::INFINITY, 0.0, 0.0],
            vec![0.0, 0.0, 0.0],
            vec![1.0, 0.0],
            vec![],
            vec![f32::MAX, f32::MAX, f32::MAX],
        ] {
            let t = trajectory(&store, bad.clone(), true, "a", 0.8);
            assert!(!store.record(t));
            assert_eq!(store.suggest(&bad, 3).suggestions.len(), 0);
            assert_eq!(store.assign(&bad, 0.0), store.next_pattern_id());
        }
        let good = trajectory(&store, vec![1.0, 0.0, 0.0], true, "a", 0.8);
        for broken in [
            Trajectory {
                id: TrajectoryId(99),
                ..good.clone()
            },
            Trajectory {
                pattern: PatternId(77),
                ..good.clone()
            },
            Trajectory {
                score: f32::NAN,
                ..good.clone()
            },
            Trajectory {
                score: 1.5,
                ..good.clone()
            },
            Trajectory {
                latency_ms: -1.0,
                ..good.clone()
            },
            Trajectory {
                cost: f32::INFINITY,
                ..good.clone()
            },
        ] {
            assert!(!store.record(broken));
        }
        assert_eq!(store.suggest(&[1.0, 0.0, 0.0], 0), Suggest::empty());
        assert_eq!(
            store
                .suggest(&[1.0, 0.0, 0.0], usize::MAX)
                .suggestions
                .len(),
            1
        );
        assert_eq!(
            store.assign(&[1.0, 0.0, 0.0], f32::NAN),
            store.next_pattern_id()
        );
        store.refine(
            0,
            &PatternParams {
                refine_max_trajectories: 0,
                kmeans_iterations: 0,
                ..PatternParams::default()
            },
        );
        assert_eq!(store.prune(&[PatternId(42), PatternId(42)]), 0);
        assert_eq!(
            store.consolidate(&[(PatternId(1), PatternId(1)), (PatternId(1), PatternId(9))]),
            0
        );
        assert!(store.plan_consolidate(f32::NAN).is_empty());
        assert!(
            store
                .plan_prune(&PrunePolicy {
                    min_quality: Some(f32::NAN),
                    ..PrunePolicy::default()
                })
                .is_empty()
        );
        check_invariants(&store);
        let mut empty = PatternStore::new(0);
        assert!(!empty.record(trajectory(&empty, vec![], true, "a", 0.8)));
        empty.refine(1, &PatternParams::default());
        assert_eq!(empty.suggest(&[], 3), Suggest::empty());
        assert!(postcard::from_bytes::<PatternStore>(&[1, 2, 3]).is_err());
    }

    #[test]
    fn prune_and_consolidate() {
        let mut store = PatternStore::new(3);
        let a = add(&mut store, vec![1.0, 0.0, 0.0], true, "x");
        let b = add(&mut store, vec![0.0, 1.0, 0.0], false, "x");
        add(&mut store, vec![0.0, 1.0, 0.0], false, "x");
        let c = add(&mut store, vec![0.0, 0.0, 1.0], true, "y");
        // Two near-duplicates of a, forced into their own patterns.
        let mut dup = trajectory(&store, vec![1.0, 0.05, 0.0], true, "y", 2.0);
        let d = dup.pattern;
        dup.at = Timestamp(100);
        assert!(store.record(dup));
        assert_eq!(store.len(), 4);
        // Prune by count, quality and age (any condition).
        let by_count = store.plan_prune(&PrunePolicy {
            min_count: Some(2),
            ..PrunePolicy::default()
        });
        assert_eq!(by_count, vec![a, c, d]);
        let by_quality = store.plan_prune(&PrunePolicy {
            min_quality: Some(0.4),
            ..PrunePolicy::default()
        });
        assert_eq!(by_quality, vec![b]);
        let by_age = store.plan_prune(&PrunePolicy {
            unused_since: Some(Timestamp(50)),
            ..PrunePolicy::default()
        });
        assert_eq!(by_age, vec![a, b, c]);
        let any = PrunePolicy {
            min_quality: Some(0.4),
            unused_since: Some(Timestamp(4)),
            ..PrunePolicy::default()
        };
        assert_eq!(store.plan_prune(&any), vec![a, b]);
        // Consolidate a and d.
        let plan = store.plan_consolidate(0.95);
        assert_eq!(plan, vec![(a, d)]);
        assert_eq!(store.consolidate(&plan), 1);
        assert_eq!(store.len(), 3);
        assert!(store.get(d).is_none());
        let merged = store.get(a).expect("kept");
        assert_eq!(merged.count, 2);
        assert_eq!(merged.last_used, Timestamp(100));
        assert_eq!(store.consolidate(&plan), 0, "already absorbed");
        check_invariants(&store);
        // Prune b: its trajectories go too.
        assert_eq!(store.prune(&[b, b]), 1);
        assert_eq!(store.trajectory_count(), 3);
        assert!(store.get(b).is_none());
        check_invariants(&store);
        assert_eq!(store.suggest(&[0.0, 1.0, 0.0], 5).suggestions.len(), 2);
    }

    #[test]
    fn serde_round_trip_rebuilds_the_derived_arrays() {
        let mut rng = SplitMix64(11);
        let mut store = PatternStore::new(8);
        for i in 0..300 {
            let v = near(8, i % 5, 0.5, &mut rng);
            add(&mut store, v, !i.is_multiple_of(4), ["p", "q", "r"][i % 3]);
        }
        let encoded = bytes(&store);
        let mut restored: PatternStore = postcard::from_bytes(&encoded).expect("decodes");
        restored.rebuild_index();
        assert_eq!(bytes(&restored), encoded);
        check_invariants(&restored);
        let q = near(8, 2, 0.5, &mut rng);
        assert_eq!(restored.suggest(&q, 4), store.suggest(&q, 4));
        assert_eq!(restored.assign(&q, 0.8), store.assign(&q, 0.8));
    }

    /// One random operation of the model-based property test.
    #[derive(Debug, Clone)]
    enum Op {
        Record {
            cluster: usize,
            noise: u64,
            success: bool,
            executor: u8,
            threshold: f32,
        },
        Garbage {
            kind: u8,
        },
        Refine {
            seed: u64,
            iterations: usize,
            max: usize,
        },
        Prune {
            min_quality: Option<f32>,
            min_count: Option<u64>,
        },
        Consolidate {
            threshold: f32,
        },
        Suggest {
            cluster: usize,
            k: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..6usize, any::<u64>(), any::<bool>(), 0..4u8, -1.0f32..1.1)
                .prop_map(|(cluster, noise, success, executor, threshold)| Op::Record { cluster, noise, success, executor, threshold }),
            1 => (0..4u8).prop_map(|kind| Op::Garbage { kind }),
            1 => (any::<u64>(), 0..4usize, 0..40usize).prop_map(|(seed, iterations, max)| Op::Refine { seed, iterations, max }),
            1 => (proptest::option::of(0.0f32..1.0), proptest::option::of(0..4u64))
                .prop_map(|(min_quality, min_count)| Op::Prune { min_quality, min_count }),
            1 => (0.5f32..1.0).prop_map(|threshold| Op::Consolidate { threshold }),
            1 => (0..6usize, 0..8usize).prop_map(|(cluster, k)| Op::Suggest { cluster, k }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_operations_keep_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
            let dim = 6;
            let mut store = PatternStore::new(dim);
            for op in ops {
                match op {
                    Op::Record { cluster, noise, success, executor, threshold } => {
                        let mut rng = SplitMix64(noise);
                        let v = near(dim, cluster, 0.8, &mut rng);
                        let t = trajectory(&store, v, success, ["a", "b", "c", "d"][executor as usize], threshold);
                        prop_assert!(store.record(t));
                    }
                    Op::Garbage { kind } => {
                        let mut t = trajectory(&store, vec![1.0; dim], true, "a", 0.8);
                        match kind {
                            0 => t.vector[0] = f32::NAN,
                            1 => t.vector.pop().map_or((), drop),
                            // Neither an existing pattern nor the next one.
                            2 => t.pattern = PatternId(store.next_pattern_id().0 + 1),
                            _ => t.id = TrajectoryId(0),
                        }
                        prop_assert!(!store.record(t));
                    }
                    Op::Refine { seed, iterations, max } => {
                        let before = store.trajectory_count();
                        store.refine(seed, &PatternParams { kmeans_iterations: iterations, refine_max_trajectories: max, ..PatternParams::default() });
                        prop_assert_eq!(store.trajectory_count(), before);
                    }
                    Op::Prune { min_quality, min_count } => {
                        let plan = store.plan_prune(&PrunePolicy { min_quality, min_count, unused_since: None });
                        prop_assert_eq!(store.prune(&plan), plan.len());
                    }
                    Op::Consolidate { threshold } => {
                        let plan = store.plan_consolidate(threshold);
                        let before = store.len();
                        prop_assert_eq!(store.consolidate(&plan), plan.len());
                        prop_assert_eq!(store.len(), before - plan.len());
                    }
                    Op::Suggest { cluster, k } => {
                        let mut rng = SplitMix64(cluster as u64);
                        let answer = store.suggest(&near(dim, cluster, 0.8, &mut rng), k);
                        prop_assert_eq!(answer.suggestions.len(), k.min(store.len()));
                        prop_assert!((0.0..=1.0).contains(&answer.confidence));
                    }
                }
                check_invariants(&store);
            }
        }
    }
}
