//! Suggestion: the patterns nearest a new task, ranked by
//! `max(similarity, 0) · quality`, and the executor their pooled
//! statistics recommend ([`Suggest`]).

use std::cmp::Ordering;

use mnemo_vector::SearchParams;

use super::ann::{GRAPH_CANDIDATES_MIN, GRAPH_CANDIDATES_PER_K};
use super::arith::unit_vector;
use super::sketch::{ScanKey, scan_top, sketch_into, with_scratch};
use super::store::PatternStore;
use super::{PatternId, TrajectoryId};
use crate::base::TopK;

/// Candidates per requested suggestion that `suggest` re-ranks exactly
/// from the sketch scan (at least [`SKETCH_CANDIDATES_MIN`]).
pub const SKETCH_CANDIDATES_PER_K: usize = 4;
/// Fewest candidates `suggest` re-ranks exactly from the sketch scan.
pub const SKETCH_CANDIDATES_MIN: usize = 16;
/// Power of the similarity weighting in the overall recommendation.
pub const RECOMMEND_WEIGHT_POWER: i32 = 4;
/// Weighted trials at which the recommendation's confidence reaches half
/// of its success rate.
pub const CONFIDENCE_HALF_TRIALS: f64 = 4.0;

/// One ranked pattern of a [`Suggest`].
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The pattern.
    pub pattern: PatternId,
    /// Cosine between the task and the pattern's centroid.
    pub similarity: f32,
    /// The pattern's quality.
    pub quality: f32,
    /// `max(similarity, 0) · quality`: the ranking key.
    pub score: f32,
    /// The pattern's best executor.
    pub executor: Option<String>,
    /// That executor's Laplace-smoothed success rate in this pattern.
    pub executor_success_rate: f32,
    /// Up to 5 of the most recently recorded trajectories of that executor
    /// in this pattern, newest first.
    pub evidence: Vec<TrajectoryId>,
    /// The pattern's member count.
    pub count: u64,
}

/// The answer of [`PatternStore::suggest`].
///
/// The overall recommendation pools the executor statistics of the ranked
/// patterns: with `wₚ = max(similarityₚ, 0)⁴` (the fourth power keeps
/// unrelated patterns, whose similarity is small but not zero, from
/// diluting the evidence), for every executor `e`
/// `S = Σₚ wₚ · successesₚₑ`, `N = Σₚ wₚ · countₚₑ` and
/// `rate = (S + 1) / (N + 2)`. The executor with the highest `rate` wins
/// (ties: larger `N`, then name); executors with `N = 0` never do. Pooling
/// counts rather than averaging per-pattern rates lets a family of tasks
/// split over several patterns speak with all its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggest {
    /// The top `k` patterns by score, descending (ties: lower id).
    pub suggestions: Vec<Suggestion>,
    /// The recommended executor (see above), `None` without evidence.
    pub executor: Option<String>,
    /// `rate · N / (N + 4)` of the recommended executor: its pooled success
    /// rate shrunk towards 0 when the weighted evidence is thin; 0 without
    /// a recommendation.
    pub confidence: f32,
}

impl Suggest {
    pub(super) fn empty() -> Self {
        Self {
            suggestions: Vec::new(),
            executor: None,
            confidence: 0.0,
        }
    }
}

/// A candidate pattern of [`PatternStore::suggest`], exactly scored.
/// Ordered so that the better is the lesser, as [`TopK`] keeps the least:
/// higher score first (IEEE total order), then lower slot (= lower id).
#[derive(Debug, Clone, Copy)]
struct Ranked {
    /// `max(similarity, 0) · quality`.
    score: f32,
    /// Cosine between the task and the centroid.
    similarity: f32,
    /// Index of the pattern's slot.
    slot: usize,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.slot.cmp(&other.slot))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PatternStore {
    /// Read: the top `k` patterns for a task vector by
    /// `max(similarity, 0) · quality` (ties: lower id), with the overall
    /// executor recommendation (see [`Suggest`]). Candidates come from the
    /// sketch scan or the HNSW graph and are re-ranked exactly (see the
    /// [module docs](crate::patterns)). An invalid vector, `k = 0` or an
    /// empty store answers nothing.
    pub fn suggest(&self, vector: &[f32], k: usize) -> Suggest {
        let k = k.min(self.len());
        if k == 0 {
            return Suggest::empty();
        }
        let Some(unit) = unit_vector(vector, self.core.dimension) else {
            return Suggest::empty();
        };
        let wanted = if self.ann.index.is_some() {
            k.saturating_mul(GRAPH_CANDIDATES_PER_K)
                .max(GRAPH_CANDIDATES_MIN)
        } else {
            k.saturating_mul(SKETCH_CANDIDATES_PER_K)
                .max(SKETCH_CANDIDATES_MIN)
        };
        let kernels = mnemo_vector::kernels::kernels();
        let slots = &self.core.slots;
        let mut top = TopK::new(k);
        let mut rank = |i: usize| {
            if let Some(slot) = slots.get(i) {
                let similarity = (kernels.dot)(&unit, &slot.pattern.centroid);
                top.push(Ranked {
                    score: similarity.max(0.0) * slot.pattern.quality,
                    similarity,
                    slot: i,
                });
            }
        };
        if let Some(index) = &self.ann.index {
            let params = SearchParams {
                ef: Some(wanted),
                ..SearchParams::k(wanted)
            };
            let mut cands: Vec<usize> = index
                .search_params(&unit, &params)
                .unwrap_or_default()
                .iter()
                .filter_map(|n| self.slot_index(PatternId(n.id)))
                .collect();
            cands.extend(
                self.ann
                    .pending
                    .iter()
                    .filter_map(|&id| self.slot_index(id)),
            );
            cands.sort_unstable();
            cands.dedup();
            cands.into_iter().for_each(&mut rank);
        } else if self.len() <= wanted || !self.sketches_pay() {
            (0..self.len()).for_each(&mut rank);
        } else {
            with_scratch(|s| {
                s.sketch.clear();
                s.sketch.resize(self.words, 0);
                sketch_into(&unit, &mut s.sketch);
                let key = ScanKey::Score {
                    quality8: &self.quality8,
                    cos8: &self.cos8,
                };
                scan_top(
                    &s.sketch,
                    &self.sketches,
                    key,
                    wanted,
                    &mut s.buf,
                    &mut s.picked,
                );
                s.picked.iter().for_each(|&i| rank(i as usize));
            });
        }
        self.answer(&top.into_sorted_vec())
    }

    /// Builds the answer from the ranked candidates, best first.
    fn answer(&self, ranked: &[Ranked]) -> Suggest {
        let mut suggestions = Vec::with_capacity(ranked.len());
        // (executor, Σ w·successes, Σ w·count)
        let mut pool: Vec<(&str, f64, f64)> = Vec::new();
        for &Ranked {
            score,
            similarity: sim,
            slot: i,
        } in ranked
        {
            let slot = &self.core.slots[i];
            let p = &slot.pattern;
            let best = p.best_executor.as_deref().and_then(|name| {
                p.executors
                    .binary_search_by(|e| e.executor.as_str().cmp(name))
                    .ok()
            });
            let (rate, evidence) = best.map_or((0.0, Vec::new()), |b| {
                let rate = p.executors[b].smoothed_success();
                let evidence = slot
                    .executor_sums
                    .get(b)
                    .map(|s| s.recent.iter().rev().copied().collect())
                    .unwrap_or_default();
                (rate, evidence)
            });
            suggestions.push(Suggestion {
                pattern: p.id,
                similarity: sim,
                quality: p.quality,
                score,
                executor: p.best_executor.clone(),
                executor_success_rate: rate,
                evidence,
                count: p.count,
            });
            let w = f64::from(sim.max(0.0)).powi(RECOMMEND_WEIGHT_POWER);
            if w > 0.0 {
                for e in &p.executors {
                    let at = match pool.iter().position(|x| x.0 == e.executor) {
                        Some(at) => at,
                        None => {
                            pool.push((&e.executor, 0.0, 0.0));
                            pool.len() - 1
                        }
                    };
                    pool[at].1 += w * e.successes as f64;
                    pool[at].2 += w * e.count as f64;
                }
            }
        }
        let mut best: Option<(&str, f64, f64)> = None;
        for &(name, s, n) in &pool {
            if n <= 0.0 {
                continue;
            }
            let rate = (s + 1.0) / (n + 2.0);
            let better = best.is_none_or(|(bname, brate, bn)| {
                rate > brate || (rate == brate && (n > bn || (n == bn && name < bname)))
            });
            if better {
                best = Some((name, rate, n));
            }
        }
        let (executor, confidence) = best.map_or((None, 0.0), |(name, rate, n)| {
            let confidence = rate * n / (n + CONFIDENCE_HALF_TRIALS);
            (Some(name.to_owned()), confidence.clamp(0.0, 1.0) as f32)
        });
        Suggest {
            suggestions,
            executor,
            confidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::EVIDENCE;
    use crate::patterns::arith::dot;
    use crate::patterns::kmeans::{KMEANSPP_MAX_K, SplitMix64};
    use crate::patterns::params::PatternParams;
    use crate::patterns::testkit::{add, bytes, check_invariants, near};

    #[test]
    fn suggest_ranks_by_similarity_times_quality_and_recommends() {
        let mut store = PatternStore::new(4);
        // Pattern 1 along x: "fast" always succeeds, "slow" always fails.
        for i in 0..10 {
            add(&mut store, vec![1.0, 0.0, 0.0, 0.0], true, "fast");
            add(&mut store, vec![1.0, 0.0, 0.0, 0.0], i == 0, "slow");
        }
        // Pattern 2 along y: "slow" succeeds.
        for _ in 0..10 {
            add(&mut store, vec![0.0, 1.0, 0.0, 0.0], true, "slow");
        }
        // Pattern 3 along z: everything fails (low quality).
        for _ in 0..10 {
            add(&mut store, vec![0.0, 0.0, 1.0, 0.0], false, "fast");
        }
        assert_eq!(store.len(), 3);
        let answer = store.suggest(&[1.0, 0.2, 0.0, 0.0], 3);
        assert_eq!(answer.suggestions.len(), 3);
        assert_eq!(answer.suggestions[0].pattern, PatternId(1));
        assert!(
            answer
                .suggestions
                .windows(2)
                .all(|w| w[0].score >= w[1].score)
        );
        let top = &answer.suggestions[0];
        assert_eq!(top.executor.as_deref(), Some("fast"));
        assert_eq!(top.executor_success_rate, 11.0 / 12.0);
        assert_eq!(top.evidence.len(), EVIDENCE);
        assert!(top.evidence.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(answer.executor.as_deref(), Some("fast"));
        assert!(answer.confidence > 0.5 && answer.confidence <= 1.0);
        let y = store.suggest(&[0.1, 1.0, 0.0, 0.0], 2);
        assert_eq!(y.executor.as_deref(), Some("slow"));
        // A task along z: its pattern has quality ~0.2, similarity 1; the
        // others have similarity 0: it still ranks first, and "fast" is
        // recommended with low confidence.
        let z = store.suggest(&[0.0, 0.0, 1.0, 0.0], 1);
        assert_eq!(z.suggestions[0].pattern, PatternId(3));
        assert_eq!(z.executor.as_deref(), Some("fast"));
        assert!(z.confidence < 0.1);
        // Opposite direction: nothing similar, no recommendation.
        let none = store.suggest(&[0.0, 0.0, 0.0, 1.0], 3);
        assert_eq!(none.executor, None);
        assert_eq!(none.confidence, 0.0);
    }

    #[test]
    fn sketch_paths_with_many_patterns() {
        let dim = 64;
        let mut rng = SplitMix64(3);
        let mut store = PatternStore::new(dim);
        for i in 0..600 {
            let v = near(dim, i % 100, 2.0, &mut rng);
            add(&mut store, v, i.is_multiple_of(3), ["a", "b"][i % 2]);
        }
        assert!(store.len() > KMEANSPP_MAX_K);
        let before = store.trajectory_count();
        let mut twin = store.clone();
        store.refine(5, &PatternParams::default());
        twin.refine(5, &PatternParams::default());
        assert_eq!(bytes(&store), bytes(&twin));
        assert_eq!(store.trajectory_count(), before);
        check_invariants(&store);
        // The sketch stage of suggest keeps the exact best pattern among
        // its candidates (40 for k = 10), even on these nearly random
        // directions where quality dominates the score.
        let mut found = 0;
        for _ in 0..50 {
            let q = near(dim, rng.below(100), 2.0, &mut rng);
            let unit = unit_vector(&q, dim).expect("valid");
            let exact = store
                .patterns()
                .map(|p| (dot(&unit, &p.centroid).max(0.0) * p.quality, p.id))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|x| x.1);
            found +=
                usize::from(store.suggest(&q, 10).suggestions.first().map(|s| s.pattern) == exact);
        }
        assert!(
            found >= 45,
            "sketch candidates hold the best pattern: {found}/50"
        );
    }
}
