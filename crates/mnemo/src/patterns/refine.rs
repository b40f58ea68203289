//! Refinement: spherical k-means over the store's trajectories, applied
//! back to its patterns (old ids kept by largest overlap, statistics
//! recomputed from the members).

use std::collections::BTreeMap;

use super::arith::normalize_into;
use super::kmeans::{Centres, KMEANSPP_MAX_K, SplitMix64, kmeanspp, lloyd};
use super::params::PatternParams;
use super::pattern::Slot;
use super::sketch::Scratch;
use super::store::PatternStore;
use super::{PatternId, TrajectoryId};
use crate::base::IdSet;

impl PatternStore {
    /// Fold: refines the patterns by spherical k-means with `k` = the
    /// current pattern count (see the [module docs](crate::patterns) for
    /// the two initialisations, the sample bound and the id mapping).
    /// Deterministic for a given `seed`, params and state. Resets
    /// [`Self::since_refine`].
    pub fn refine(&mut self, seed: u64, params: &PatternParams) {
        self.core.since_refine = 0;
        let k = self.len();
        let dim = self.core.dimension;
        if k == 0 || dim == 0 || self.core.trajectories.is_empty() {
            return;
        }
        let mut rng = SplitMix64(seed);
        let mut sample: Vec<TrajectoryId> = self.core.trajectories.keys().copied().collect();
        let m = params.refine_max_trajectories.max(1);
        if sample.len() > m {
            for i in 0..m {
                let j = i + rng.below(sample.len() - i);
                sample.swap(i, j);
            }
            sample.truncate(m);
            sample.sort_unstable();
        }
        let mut points = Vec::with_capacity(sample.len() * dim);
        let mut unit = Vec::with_capacity(dim);
        for id in &sample {
            if let Some(t) = self.core.trajectories.get(id)
                && t.vector.len() == dim
                && normalize_into(&t.vector, &mut unit)
            {
                points.extend_from_slice(&unit);
            }
        }
        let n = points.len() / dim;
        if n == 0 {
            return;
        }
        let warm: Vec<f32> = self
            .core
            .slots
            .iter()
            .flat_map(|s| s.pattern.centroid.iter().copied())
            .collect();
        let mut centres = Centres::new(dim, warm);
        let inertia = lloyd(&mut centres, &points, params.kmeans_iterations);
        if k <= KMEANSPP_MAX_K && n >= k {
            let mut seeded = kmeanspp(&points, dim, k, &mut rng);
            let seeded_inertia = lloyd(&mut seeded, &points, params.kmeans_iterations);
            if seeded_inertia < 0.99 * inertia {
                centres = seeded;
            }
        }
        self.apply_clustering(&centres);
    }

    /// Assigns every live trajectory to its nearest centre and rebuilds the
    /// patterns from the clusters: old ids by largest overlap, new ids for
    /// the rest, empty clusters dropped.
    fn apply_clustering(&mut self, centres: &Centres) {
        let k = centres.len();
        let dim = self.core.dimension;
        let mut scratch = Scratch::default();
        let mut unit = Vec::with_capacity(dim);
        let mut clusters: Vec<Vec<TrajectoryId>> = vec![Vec::new(); k];
        let mut overlap: BTreeMap<(usize, PatternId), u64> = BTreeMap::new();
        for (id, t) in &self.core.trajectories {
            if t.vector.len() != dim || !normalize_into(&t.vector, &mut unit) {
                continue;
            }
            let (c, _) = centres.nearest(&unit, &mut scratch);
            if let Some(cluster) = clusters.get_mut(c) {
                cluster.push(*id);
                *overlap.entry((c, t.pattern)).or_insert(0) += 1;
            }
        }
        let mut pairs: Vec<(u64, usize, PatternId)> =
            overlap.into_iter().map(|((c, p), n)| (n, c, p)).collect();
        pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut new_id: Vec<Option<PatternId>> = vec![None; k];
        let mut taken = IdSet::default();
        for (_, c, old) in pairs {
            if new_id[c].is_none() && self.slot_index(old).is_some() && taken.insert(old.0) {
                new_id[c] = Some(old);
            }
        }
        let mut plan: Vec<(PatternId, u64, Vec<TrajectoryId>)> = Vec::new();
        for (c, members) in clusters.into_iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let (id, created_seq) = match new_id[c] {
                Some(old) => {
                    let created = self
                        .slot_index(old)
                        .map_or(0, |i| self.core.slots[i].pattern.created_seq);
                    (old, created)
                }
                None => {
                    let id = PatternId(self.core.next_pattern);
                    self.core.next_pattern = self.core.next_pattern.saturating_add(1);
                    let created = members
                        .iter()
                        .filter_map(|m| self.core.trajectories.get(m))
                        .map(|t| t.seq)
                        .min()
                        .unwrap_or(0);
                    (id, created)
                }
            };
            plan.push((id, created_seq, members));
        }
        plan.sort_by_key(|p| p.0);
        let slots: Vec<Slot> = plan
            .iter()
            .map(|(id, created, members)| self.build_slot(*id, *created, members, &mut unit))
            .collect();
        for (id, _, members) in &plan {
            for m in members {
                if let Some(t) = self.core.trajectories.get_mut(m) {
                    t.pattern = *id;
                }
            }
        }
        let removed: Vec<PatternId> = self
            .ids
            .iter()
            .copied()
            .filter(|old| plan.binary_search_by_key(old, |p| p.0).is_err())
            .collect();
        self.core.slots = slots;
        self.rebuild_derived();
        self.ann_after_bulk(&removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::testkit::{bytes, check_invariants, near, trajectory};
    use crate::patterns::trajectory::Trajectory;

    #[test]
    fn refine_recovers_planted_clusters_and_is_deterministic() {
        let dim = 16;
        let mut rng = SplitMix64(7);
        let mut store = PatternStore::new(dim);
        // Four planted clusters (axes 0, 4, 8, 12) dealt round-robin into
        // four patterns: every pattern is a mixture.
        let mut truth = BTreeMap::new();
        for i in 0..200u64 {
            let cluster = (i * 7 / 3 % 4) as usize;
            let v = near(dim, cluster * 4, 0.3, &mut rng);
            let pattern = if i < 4 {
                store.next_pattern_id()
            } else {
                PatternId(i % 4 + 1)
            };
            let t = Trajectory {
                pattern,
                ..trajectory(&store, v, cluster.is_multiple_of(2), "e", 0.8)
            };
            truth.insert(t.id, cluster);
            assert!(store.record(t));
        }
        assert_eq!(store.len(), 4);
        assert_eq!(store.since_refine(), 200);
        let mut twin = store.clone();
        store.refine(42, &PatternParams::default());
        twin.refine(42, &PatternParams::default());
        assert_eq!(bytes(&store), bytes(&twin), "same seed, same bits");
        assert_eq!(store.since_refine(), 0);
        check_invariants(&store);
        assert_eq!(store.len(), 4);
        for p in store.patterns() {
            let clusters: std::collections::BTreeSet<usize> =
                store.members(p.id).iter().map(|m| truth[m]).collect();
            assert_eq!(clusters.len(), 1, "pattern {} is pure", p.id);
        }
        // Refining a clean clustering again keeps every id.
        let ids: Vec<PatternId> = store.patterns().map(|p| p.id).collect();
        store.refine(43, &PatternParams::default());
        assert_eq!(store.patterns().map(|p| p.id).collect::<Vec<_>>(), ids);
        check_invariants(&store);
        // A bounded sample still assigns every trajectory.
        let small = PatternParams {
            refine_max_trajectories: 10,
            ..PatternParams::default()
        };
        store.refine(44, &small);
        assert_eq!(store.trajectory_count(), 200);
        check_invariants(&store);
    }
}
