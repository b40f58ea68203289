//! Procedural memory: trajectories clustered online into patterns, and
//! executor suggestions for new tasks.
//!
//! An agent records *trajectories*: a task (an embedding vector, optionally
//! its text), the executor or strategy that carried it out, and the outcome
//! (success, score in `[0, 1]`, latency, cost). The [`PatternStore`] groups
//! them into [`Pattern`]s — clusters of similar tasks with their outcome
//! statistics per executor — and [`PatternStore::suggest`] recommends an
//! executor for a new task from the patterns nearest to it.
//!
//! ## The algorithm
//!
//! - **Online clustering (leader clustering).** The writer calls
//!   [`PatternStore::assign`]: a new trajectory joins the pattern whose
//!   centroid is most similar (cosine) if that similarity reaches
//!   [`PatternParams::join_threshold`], otherwise it founds a new pattern.
//!   The decision is logged with the trajectory, and [`PatternStore::record`]
//!   (the fold) adds it to the pattern's running sums in `O(d + executors)`.
//!   A centroid is the normalised sum of its members' normalised vectors
//!   (the spherical mean direction).
//! - **Refinement.** Every [`PatternParams::refine_every`] trajectories the
//!   writer logs a refinement: spherical k-means with `k` = the current
//!   pattern count ([`PatternStore::refine`]). Two initialisations are
//!   tried when `k ≤` [`KMEANSPP_MAX_K`]: the current centroids (a warm
//!   start, which keeps the online clustering's ids where it is already
//!   good) and k-means++ seeding (D² sampling with a SplitMix64 stream
//!   seeded by the event). Each runs Lloyd iterations (capped by
//!   [`PatternParams::kmeans_iterations`], stopping early once no
//!   assignment changes); k-means++ wins only if its inertia is at least 1%
//!   lower. Above [`KMEANSPP_MAX_K`] only the warm start runs: a fresh
//!   seeding of hundreds of centres costs `O(k·n·d)` and does not beat an
//!   online clustering that already has that many patterns. New clusters
//!   take the old pattern ids by largest overlap (greedy), empty ones are
//!   dropped, and every statistic is recomputed from the members.
//! - **Maintenance.** [`PatternStore::plan_prune`] / [`PatternStore::prune`]
//!   remove patterns (and their trajectories) by quality, size or age;
//!   [`PatternStore::plan_consolidate`] / [`PatternStore::consolidate`]
//!   merge patterns whose centroids have become near-duplicates.
//! - **Suggestion.** [`PatternStore::suggest`] ranks patterns by
//!   `max(similarity, 0) · quality` and pools the executor statistics of
//!   the top `k` (see [`Suggest`] for the exact formula).
//!
//! ## Statistics
//!
//! For a pattern with `n` members of which `s` succeeded:
//!
//! - `success_rate = s / n`;
//! - an executor's smoothed success rate is Laplace's `(s + 1) / (n + 2)`,
//!   and the best executor has the highest (ties: lower mean latency, then
//!   lower mean cost, then name; rates are compared exactly as fractions);
//! - `quality = 0.75 · (s + 1) / (n + 2) + 0.25 · mean_score`, clamped to
//!   `[0, 1]`: mostly the smoothed success rate, so that a pattern with one
//!   lucky trajectory does not outrank one with a long good record, with
//!   the graded score as a tie-breaker between patterns of equal success.
//!
//! ## Determinism
//!
//! Everything that changes state is a pure function of the calls made, with
//! the same bits on every platform: vector sums, normalisation, dot products
//! and k-means use plain `f32`/`f64` additions, multiplications, divisions
//! and square roots (IEEE 754, correctly rounded) in an order fixed by this
//! source — dot products keep eight interleaved partial sums combined in a
//! fixed tree, which the compiler may map onto SIMD registers without
//! changing a bit. The SIMD kernels of `mnemo-vector` are *not* used there:
//! their lane count depends on the CPU, and so do their sums. Randomness
//! comes from a SplitMix64 stream seeded by the refinement event; ties are
//! broken by id or index everywhere. The serialised store
//! (`postcard`/`serde`) holds only this state, in id order.
//!
//! The read path ([`PatternStore::suggest`]) may use the SIMD kernels and an
//! HNSW graph, because it changes nothing.
//!
//! ## Candidate indices
//!
//! Each pattern keeps a *sign sketch* of its centroid: one bit per
//! dimension (set when the component is positive), in `u64` words. The
//! Hamming distance `h` between two sketches estimates the angle between
//! the vectors (`θ ≈ π·h/d`, random-hyperplane LSH along the axes).
//!
//! - `assign` and `plan_consolidate` scan the sketches of every pattern
//!   (a few nanoseconds each with hardware popcount), verify the
//!   [`ASSIGN_CANDIDATES`] nearest exactly with the scalar dot product and
//!   take the best. With at most that many patterns this is exact; beyond,
//!   it is the exact best of the sketch-nearest. The sketches are a pure
//!   function of the state, so these decisions are deterministic too.
//! - Below [`SKETCH_MIN_DIMENSION`] dimensions sketches are too coarse and
//!   every one of these searches is an exact scan instead.
//! - `suggest`, below [`ANN_MIN_PATTERNS`] patterns, estimates each
//!   pattern's score as `cos(π·h/d) · quality` (8-bit fixed point), keeps
//!   the `max(4k, 16)` best in one pass with a rising admission threshold,
//!   and re-ranks them exactly with the SIMD dot product.
//! - From [`ANN_MIN_PATTERNS`] patterns up, `suggest` fetches `max(6k,
//!   24)` candidates (the search width too) from an HNSW graph ([`mnemo_vector::Hnsw`]) over the
//!   rows `quality · centroid` under the inner product — a maximum inner
//!   product search whose key is exactly the score `similarity · quality`
//!   — plus the patterns of a small exact *pending* buffer (new patterns
//!   and those whose row moved more than [`ANN_DRIFT_COS`] allows since
//!   they were indexed), and re-ranks them all exactly. The buffer is flushed into the graph in one batch once it
//!   holds [`ANN_PENDING_MAX`] patterns, so `record` stays `O(d)` except on
//!   those flushes. The graph is derived (not serialised): after a restore
//!   `suggest` falls back to the sketch scan until
//!   [`PatternStore::rebuild_index`] builds it. It is built by the fold when
//!   the store first reaches [`ANN_MIN_PATTERNS`] (a one-time batch insert)
//!   and dropped when it shrinks below half of that.
//!
//! ## Bounds and complexity
//!
//! With `P` patterns, `N` live trajectories, dimension `d`, `E` executors
//! in a pattern and `W = ⌈d/64⌉`:
//!
//! | operation | cost |
//! |---|---|
//! | `record` | `O(d + E)` (plus an amortised graph insert above [`ANN_MIN_PATTERNS`]) |
//! | `assign` | `O(P·W + 64·d)` |
//! | `suggest` | `O(P·W + C·d)` below [`ANN_MIN_PATTERNS`], an HNSW search above |
//! | `refine` | `O(i·m·k·d)` for `k ≤ 64`, else `O(i·m·(k·W + 16·d))`, plus one assignment pass over `N`; `m ≤ refine_max_trajectories`, `i ≤ kmeans_iterations` |
//! | `plan_consolidate` | `O(P²·W + 16·P·d)` |
//! | `plan_prune`, `prune`, `consolidate` | `O(P + N·d)` at most |
//!
//! Refinement fits its centres on at most `refine_max_trajectories`
//! trajectories: beyond that it draws a uniform sample of that size
//! (Fisher–Yates with the event's seed), then assigns *every* live
//! trajectory to its nearest centre. Evidence lists keep the 5 newest
//! trajectories per executor and pattern. Nothing else is bounded by the
//! store itself: the writer bounds growth with pruning.
//!
//! ## Bad input
//!
//! Callers validate; the store still never panics. A vector of the wrong
//! dimension, with a non-finite component or zero length, a non-finite or
//! out-of-range score, latency or cost, an unexpected id: `record` ignores
//! the trajectory and returns `false`; `assign` answers a new pattern;
//! `suggest` answers nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;

use mnemo_vector::{Hnsw, HnswParams, Metric, SearchParams};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Timestamp;

pub use crate::base::{PatternId, TrajectoryId};

/// Candidates the sketch stage of `assign` and `plan_consolidate` verifies
/// exactly; stores with at most this many patterns are searched exactly.
pub const ASSIGN_CANDIDATES: usize = 64;
/// Candidates per requested suggestion that `suggest` re-ranks exactly
/// from the sketch scan (at least [`SKETCH_CANDIDATES_MIN`]).
pub const SKETCH_CANDIDATES_PER_K: usize = 4;
/// Fewest candidates `suggest` re-ranks exactly from the sketch scan.
pub const SKETCH_CANDIDATES_MIN: usize = 16;
/// Candidates (and search width) per requested suggestion that `suggest`
/// fetches from the HNSW graph (at least [`GRAPH_CANDIDATES_MIN`]).
pub const GRAPH_CANDIDATES_PER_K: usize = 6;
/// Fewest candidates `suggest` fetches from the HNSW graph.
pub const GRAPH_CANDIDATES_MIN: usize = 24;
/// Below this dimension sign sketches are too coarse to pick candidates
/// (and exact comparisons are cheap): every search is exact.
pub const SKETCH_MIN_DIMENSION: usize = 64;
/// Candidates per pattern `plan_consolidate` verifies exactly.
pub const CONSOLIDATE_CANDIDATES: usize = 16;
/// From this many patterns up, `suggest` uses an HNSW graph over the
/// centroids instead of scanning every sketch.
pub const ANN_MIN_PATTERNS: usize = 8_192;
/// Patterns the exact buffer in front of the graph holds before it is
/// inserted in one batch.
pub const ANN_PENDING_MAX: usize = 256;
/// An indexed row `quality · centroid` that has moved from the current
/// one by more than a cosine of this would allow (about 2.6°) is
/// re-indexed.
pub const ANN_DRIFT_COS: f32 = 0.999;
/// Largest `k` for which refinement also tries a k-means++ seeding and
/// assigns points by exact comparison with every centre.
pub const KMEANSPP_MAX_K: usize = 64;
/// Centres verified exactly per point when `k >` [`KMEANSPP_MAX_K`].
pub const REFINE_CANDIDATES: usize = 16;
/// Trajectory ids kept per executor and pattern as evidence.
pub const EVIDENCE: usize = 5;
/// Power of the similarity weighting in the overall recommendation.
pub const RECOMMEND_WEIGHT_POWER: i32 = 4;
/// Weighted trials at which the recommendation's confidence reaches half
/// of its success rate.
pub const CONFIDENCE_HALF_TRIALS: f64 = 4.0;
/// Share of the Laplace-smoothed success rate in a pattern's quality (the
/// rest is the mean score).
pub const QUALITY_SUCCESS_WEIGHT: f64 = 0.75;

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

/// Per-executor statistics inside a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorStats {
    /// The executor's name.
    pub executor: String,
    /// Trajectories it carried out in the pattern.
    pub count: u64,
    /// How many of them succeeded.
    pub successes: u64,
    /// Their mean score.
    pub mean_score: f32,
    /// Their mean latency in milliseconds.
    pub mean_latency_ms: f32,
    /// Their mean cost.
    pub mean_cost: f32,
}

impl ExecutorStats {
    /// Laplace-smoothed success rate `(successes + 1) / (count + 2)`.
    pub fn smoothed_success(&self) -> f32 {
        laplace(self.successes, self.count) as f32
    }
}

/// A learned pattern: a cluster of trajectories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// Its id.
    pub id: PatternId,
    /// Unit-length mean direction of its members' normalised vectors (all
    /// zeros in the degenerate case where they cancel out).
    pub centroid: Vec<f32>,
    /// Members.
    pub count: u64,
    /// `successes / count`.
    pub success_rate: f32,
    /// Mean score of the members.
    pub mean_score: f32,
    /// Mean latency of the members, in milliseconds.
    pub mean_latency_ms: f32,
    /// Mean cost of the members.
    pub mean_cost: f32,
    /// Statistics per executor, sorted by executor name.
    pub executors: Vec<ExecutorStats>,
    /// The executor with the highest Laplace-smoothed success rate (ties:
    /// lower mean latency, then lower mean cost, then name).
    pub best_executor: Option<String>,
    /// `0.75 · (s + 1)/(n + 2) + 0.25 · mean_score`, in `[0, 1]` (see the
    /// module docs).
    pub quality: f32,
    /// The newest member's `at`.
    pub last_used: Timestamp,
    /// Log sequence number of the event that created it (for a pattern a
    /// refinement created: its oldest member's).
    pub created_seq: u64,
}

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

/// Which patterns [`PatternStore::plan_prune`] removes: a pattern is pruned
/// when **any** condition that is set holds. The default prunes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PrunePolicy {
    /// Pruned when `quality < min_quality`.
    pub min_quality: Option<f32>,
    /// Pruned when `count < min_count`.
    pub min_count: Option<u64>,
    /// Pruned when `last_used < unused_since`.
    pub unused_since: Option<Timestamp>,
}

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
    fn empty() -> Self {
        Self {
            suggestions: Vec::new(),
            executor: None,
            confidence: 0.0,
        }
    }
}

/// Running sums of one executor inside a pattern.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct ExecutorSums {
    score_sum: f64,
    latency_sum: f64,
    cost_sum: f64,
    /// The newest (highest) member ids of this executor, ascending, at most
    /// [`EVIDENCE`].
    recent: Vec<TrajectoryId>,
}

/// A pattern with the sums its statistics derive from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Slot {
    pattern: Pattern,
    /// Σ of the members' normalised vectors, in member id order.
    sum: Vec<f32>,
    /// Member ids, ascending.
    members: Vec<TrajectoryId>,
    successes: u64,
    score_sum: f64,
    latency_sum: f64,
    cost_sum: f64,
    /// Parallel to `pattern.executors`.
    executor_sums: Vec<ExecutorSums>,
}

impl Slot {
    fn new(id: PatternId, dimension: usize, created_seq: u64) -> Self {
        Self {
            pattern: Pattern {
                id,
                centroid: vec![0.0; dimension],
                count: 0,
                success_rate: 0.0,
                mean_score: 0.0,
                mean_latency_ms: 0.0,
                mean_cost: 0.0,
                executors: Vec::new(),
                best_executor: None,
                quality: 0.0,
                last_used: Timestamp::MIN,
                created_seq,
            },
            sum: vec![0.0; dimension],
            members: Vec::new(),
            successes: 0,
            score_sum: 0.0,
            latency_sum: 0.0,
            cost_sum: 0.0,
            executor_sums: Vec::new(),
        }
    }

    /// Adds a member whose id is above every current member's, without
    /// refreshing the derived statistics.
    fn add(&mut self, t: &Trajectory, unit: &[f32]) {
        for (s, &x) in self.sum.iter_mut().zip(unit) {
            *s += x;
        }
        self.members.push(t.id);
        let p = &mut self.pattern;
        p.count += 1;
        p.last_used = p.last_used.max(t.at);
        self.successes += u64::from(t.success);
        self.score_sum += f64::from(t.score);
        self.latency_sum += f64::from(t.latency_ms);
        self.cost_sum += f64::from(t.cost);
        let at = match p
            .executors
            .binary_search_by(|e| e.executor.as_str().cmp(&t.executor))
        {
            Ok(at) => at,
            Err(at) => {
                p.executors.insert(
                    at,
                    ExecutorStats {
                        executor: t.executor.clone(),
                        count: 0,
                        successes: 0,
                        mean_score: 0.0,
                        mean_latency_ms: 0.0,
                        mean_cost: 0.0,
                    },
                );
                self.executor_sums.insert(at, ExecutorSums::default());
                at
            }
        };
        if let (Some(stats), Some(sums)) = (p.executors.get_mut(at), self.executor_sums.get_mut(at))
        {
            stats.count += 1;
            stats.successes += u64::from(t.success);
            sums.score_sum += f64::from(t.score);
            sums.latency_sum += f64::from(t.latency_ms);
            sums.cost_sum += f64::from(t.cost);
            if sums.recent.len() == EVIDENCE {
                sums.recent.remove(0);
            }
            sums.recent.push(t.id);
        }
    }

    /// Recomputes every derived field from the sums: a pure function of
    /// them, so refreshing after each add or once after many gives the same
    /// bits.
    fn refresh(&mut self) {
        let p = &mut self.pattern;
        normalize_into(&self.sum, &mut p.centroid);
        let n = p.count.max(1) as f64;
        p.success_rate = (self.successes as f64 / n) as f32;
        p.mean_score = (self.score_sum / n) as f32;
        p.mean_latency_ms = (self.latency_sum / n) as f32;
        p.mean_cost = (self.cost_sum / n) as f32;
        let rate = laplace(self.successes, p.count);
        let quality = QUALITY_SUCCESS_WEIGHT * rate
            + (1.0 - QUALITY_SUCCESS_WEIGHT) * f64::from(p.mean_score);
        p.quality = quality.clamp(0.0, 1.0) as f32;
        for (stats, sums) in p.executors.iter_mut().zip(&self.executor_sums) {
            let n = stats.count.max(1) as f64;
            stats.mean_score = (sums.score_sum / n) as f32;
            stats.mean_latency_ms = (sums.latency_sum / n) as f32;
            stats.mean_cost = (sums.cost_sum / n) as f32;
        }
        let mut best: Option<&ExecutorStats> = None;
        for stats in &p.executors {
            if best.is_none_or(|b| executor_better(stats, b)) {
                best = Some(stats);
            }
        }
        p.best_executor = best.map(|b| b.executor.clone());
    }
}

// ----- arithmetic (deterministic: fixed order, no SIMD kernels) -----

/// Laplace's rule of succession `(s + 1) / (n + 2)`.
fn laplace(successes: u64, count: u64) -> f64 {
    (successes as f64 + 1.0) / (count as f64 + 2.0)
}

/// Whether `a` is a better executor than `b`: higher smoothed success rate
/// (compared exactly as fractions), then lower mean latency, then lower
/// mean cost. Equal on all three is not better (the caller walks names in
/// order, so the first name wins).
fn executor_better(a: &ExecutorStats, b: &ExecutorStats) -> bool {
    let lhs = u128::from(a.successes.saturating_add(1)) * u128::from(b.count.saturating_add(2));
    let rhs = u128::from(b.successes.saturating_add(1)) * u128::from(a.count.saturating_add(2));
    if lhs != rhs {
        return lhs > rhs;
    }
    match a.mean_latency_ms.total_cmp(&b.mean_latency_ms) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => a.mean_cost.total_cmp(&b.mean_cost).is_lt(),
    }
}

/// `Σ a[i]·b[i]` over the shorter length, in a fixed order: eight
/// interleaved partial sums (lane `i mod 8`), combined as
/// `((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7))`, then the tail in order.
/// No fused multiply-add, no CPU-dependent lane count: the same bits on
/// every platform.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])))
        + tail
}

/// `v / |v|` into `out` (resized to `v.len()`); all zeros when `|v|` is 0
/// or not finite. Returns whether the norm was usable.
fn normalize_into(v: &[f32], out: &mut Vec<f32>) -> bool {
    out.clear();
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        out.extend(v.iter().map(|x| x / norm));
        true
    } else {
        out.resize(v.len(), 0.0);
        false
    }
}

/// The normalised copy of a task vector of `dimension` components, or
/// `None` if it has another length, a non-finite component or no length.
fn unit_vector(v: &[f32], dimension: usize) -> Option<Vec<f32>> {
    if v.len() != dimension || dimension == 0 || !v.iter().all(|x| x.is_finite()) {
        return None;
    }
    let mut out = Vec::with_capacity(dimension);
    normalize_into(v, &mut out).then_some(out)
}

/// A quality in fixed point for the sketch scan.
fn quality8(q: f32) -> u8 {
    (q.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Whether a trajectory's outcome fields are in range.
fn valid_outcome(t: &Trajectory) -> bool {
    (0.0..=1.0).contains(&t.score)
        && t.latency_ms.is_finite()
        && t.latency_ms >= 0.0
        && t.cost.is_finite()
        && t.cost >= 0.0
}

/// A SplitMix64 stream (Steele, Lea & Flood): tiny, fast, and the same
/// sequence everywhere, so refinement needs no `rand` dependency.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `[0, 1)` with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

// ----- sign sketches -----

/// `u64` words of a sketch of `dimension` bits.
fn sketch_words(dimension: usize) -> usize {
    dimension.div_ceil(64)
}

/// Writes the sign sketch of `v` (bit `i` set when `v[i] > 0`) into `out`.
fn sketch_into(v: &[f32], out: &mut [u64]) {
    out.fill(0);
    for (word, chunk) in out.iter_mut().zip(v.chunks(64)) {
        *word = chunk
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, &x)| w | (u64::from(x > 0.0) << i));
    }
}

/// Hamming distance of two sketches.
#[inline(always)]
fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// How a sketch scan ranks rows: a key from the Hamming distance to the
/// query and the row index (higher is better).
#[derive(Clone, Copy)]
enum ScanKey<'a> {
    /// `bits − h`: the nearest by angle.
    Closeness { bits: u32 },
    /// The estimated score `cos(π·h/d) · quality` in fixed point,
    /// `(cos8[h] · quality8[i] + 255) >> 8`.
    Score { quality8: &'a [u8], cos8: &'a [u16] },
}

impl ScanKey<'_> {
    #[inline(always)]
    fn key(&self, h: u32, i: usize) -> u32 {
        match *self {
            ScanKey::Closeness { bits } => bits.saturating_sub(h),
            ScanKey::Score { quality8, cos8 } => {
                let c = u32::from(cos8.get(h as usize).copied().unwrap_or(0));
                let q = u32::from(quality8.get(i).copied().unwrap_or(0));
                (c * q + 255) >> 8
            }
        }
    }
}

/// Keeps the `c` best of `buf` (key descending, ties: lower index) and
/// returns the key a later row needs to enter: one above the worst kept,
/// since a later row with the same key has a higher index and loses.
fn shrink(buf: &mut Vec<(u32, u32)>, c: usize) -> u32 {
    if buf.len() > c {
        buf.select_nth_unstable_by(c - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        buf.truncate(c);
    }
    buf.iter().map(|x| x.0).min().unwrap_or(0) + 1
}

/// The body of [`scan_top`] for `W`-word sketches (`W = 0`: any width):
/// one pass with a rising admission threshold, so most rows cost a few
/// instructions and a well-predicted branch, and no row is visited twice.
#[inline(always)]
fn scan_top_body<const W: usize>(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    let mut floor = 0u32;
    let admit = |k: u32, i: usize, floor: &mut u32, buf: &mut Vec<(u32, u32)>| {
        if k >= *floor {
            buf.push((k, i as u32));
            if buf.len() >= 4 * c {
                *floor = shrink(buf, c);
            }
        }
    };
    if W == 0 {
        let w = query.len().max(1);
        for (i, row) in rows.chunks_exact(w).enumerate() {
            admit(key.key(hamming(query, row), i), i, &mut floor, buf);
        }
    } else {
        let mut q = [0u64; W];
        for (q, &x) in q.iter_mut().zip(query) {
            *q = x;
        }
        for (i, row) in rows.chunks_exact(W).enumerate() {
            let mut h = 0u32;
            for j in 0..W {
                h += (q[j] ^ row[j]).count_ones();
            }
            admit(key.key(h, i), i, &mut floor, buf);
        }
    }
}

/// [`scan_top_body`] for the common widths (compile-time loop bounds).
#[inline(always)]
fn scan_top_any(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    match query.len() {
        1 => scan_top_body::<1>(query, rows, key, c, buf),
        2 => scan_top_body::<2>(query, rows, key, c, buf),
        4 => scan_top_body::<4>(query, rows, key, c, buf),
        6 => scan_top_body::<6>(query, rows, key, c, buf),
        8 => scan_top_body::<8>(query, rows, key, c, buf),
        12 => scan_top_body::<12>(query, rows, key, c, buf),
        24 => scan_top_body::<24>(query, rows, key, c, buf),
        _ => scan_top_body::<0>(query, rows, key, c, buf),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_top_popcnt(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    scan_top_any(query, rows, key, c, buf);
}

/// The indices of the `c` rows of `rows` (sketches of `query.len()` words)
/// with the highest `key` (ties: lower index), ascending, into `out`; with
/// the hardware popcount where the CPU has it. `O(rows)`, plus
/// `O(c log(rows/c))` expected for the kept candidates.
fn scan_top(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
    out: &mut Vec<u32>,
) {
    buf.clear();
    out.clear();
    if c == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports `popcnt`, checked just above.
        unsafe { scan_top_popcnt(query, rows, key, c, buf) };
        true
    } else {
        false
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        scan_top_any(query, rows, key, c, buf);
    }
    shrink(buf, c);
    out.extend(buf.iter().map(|x| x.1));
    out.sort_unstable();
}

/// Scratch buffers of the candidate scans, one set per thread.
#[derive(Default)]
struct Scratch {
    buf: Vec<(u32, u32)>,
    picked: Vec<u32>,
    sketch: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (fresh ones if they are
/// already in use further up the stack).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

// ----- the HNSW graph over centroids (read path only) -----

/// The HNSW graph of large stores, with its exact pending buffer. Derived:
/// never serialised; cloned through its byte encoding.
#[derive(Debug, Default)]
struct Ann {
    index: Option<Hnsw>,
    /// Patterns not (or no longer faithfully) in the graph, ascending.
    pending: Vec<PatternId>,
}

impl Clone for Ann {
    fn clone(&self) -> Self {
        // A failed round trip (it does not happen: the bytes come straight
        // from `encode`) leaves a store that scans its sketches until
        // `rebuild_index`.
        let index = self
            .index
            .as_ref()
            .and_then(|h| Hnsw::decode(&h.encode()).ok());
        let pending = if index.is_some() {
            self.pending.clone()
        } else {
            Vec::new()
        };
        Self { index, pending }
    }
}

/// Graph parameters: the defaults with a narrower construction search
/// (centroids change, so inserts should be cheap), built on every core.
fn ann_params() -> HnswParams {
    HnswParams {
        ef_construction: 100,
        build_threads: 0,
        ..HnswParams::default()
    }
}

// ----- k-means -----

/// The centres of a k-means run, with their sketches.
struct Centres {
    dimension: usize,
    words: usize,
    rows: Vec<f32>,
    sketches: Vec<u64>,
}

impl Centres {
    fn new(dimension: usize, rows: Vec<f32>) -> Self {
        let mut centres = Self {
            dimension,
            words: sketch_words(dimension),
            rows,
            sketches: Vec::new(),
        };
        centres.resketch();
        centres
    }

    fn len(&self) -> usize {
        self.rows.len() / self.dimension.max(1)
    }

    fn row(&self, c: usize) -> &[f32] {
        self.rows
            .get(c * self.dimension..(c + 1) * self.dimension)
            .unwrap_or(&[])
    }

    fn resketch(&mut self) {
        let k = self.len();
        self.sketches.clear();
        self.sketches.resize(k * self.words, 0);
        if self.words == 0 {
            return;
        }
        for (row, sketch) in self
            .rows
            .chunks_exact(self.dimension)
            .zip(self.sketches.chunks_exact_mut(self.words))
        {
            sketch_into(row, sketch);
        }
    }

    /// The nearest centre to the unit vector `p` and its cosine (ties: lower
    /// index): exact over every centre up to [`KMEANSPP_MAX_K`] centres,
    /// else exact over the [`REFINE_CANDIDATES`] sketch-nearest.
    fn nearest(&self, p: &[f32], scratch: &mut Scratch) -> (usize, f32) {
        let k = self.len();
        let mut best = (0usize, f32::NEG_INFINITY);
        let mut consider = |c: usize| {
            let cos = dot(p, self.row(c));
            if cos > best.1 {
                best = (c, cos);
            }
        };
        if k <= KMEANSPP_MAX_K || self.dimension < SKETCH_MIN_DIMENSION {
            (0..k).for_each(&mut consider);
        } else {
            scratch.sketch.clear();
            scratch.sketch.resize(self.words, 0);
            sketch_into(p, &mut scratch.sketch);
            let key = ScanKey::Closeness {
                bits: self.dimension as u32,
            };
            scan_top(
                &scratch.sketch,
                &self.sketches,
                key,
                REFINE_CANDIDATES,
                &mut scratch.buf,
                &mut scratch.picked,
            );
            scratch.picked.iter().for_each(|&c| consider(c as usize));
        }
        if best.1 == f32::NEG_INFINITY {
            best.1 = 0.0;
        }
        best
    }
}

/// One assignment pass: every point to its nearest centre. Returns whether
/// any assignment changed and the inertia `Σ (1 − cos)`.
fn assign_pass(
    centres: &Centres,
    points: &[f32],
    assignment: &mut [usize],
    scratch: &mut Scratch,
) -> (bool, f64) {
    let d = centres.dimension.max(1);
    let mut changed = false;
    let mut inertia = 0.0f64;
    for (p, a) in points.chunks_exact(d).zip(assignment.iter_mut()) {
        let (c, cos) = centres.nearest(p, scratch);
        if *a != c {
            *a = c;
            changed = true;
        }
        inertia += f64::from(1.0 - cos).max(0.0);
    }
    (changed, inertia)
}

/// Spherical Lloyd iterations (at most `iterations`, fewer once no
/// assignment changes); a centre that loses every point keeps its place.
/// Returns the final inertia.
fn lloyd(centres: &mut Centres, points: &[f32], iterations: usize) -> f64 {
    let d = centres.dimension.max(1);
    let n = points.len() / d;
    let k = centres.len();
    let mut assignment = vec![usize::MAX; n];
    let mut scratch = Scratch::default();
    let mut unit = Vec::with_capacity(d);
    for _ in 0..iterations {
        let (changed, inertia) = assign_pass(centres, points, &mut assignment, &mut scratch);
        if !changed {
            return inertia;
        }
        let mut sums = vec![0.0f32; k * d];
        let mut counts = vec![0usize; k];
        for (p, &c) in points.chunks_exact(d).zip(&assignment) {
            if let Some(sum) = sums.get_mut(c * d..(c + 1) * d) {
                for (s, &x) in sum.iter_mut().zip(p) {
                    *s += x;
                }
                counts[c] += 1;
            }
        }
        for (c, sum) in sums.chunks_exact(d).enumerate() {
            if counts[c] > 0 && normalize_into(sum, &mut unit) {
                centres.rows[c * d..(c + 1) * d].copy_from_slice(&unit);
            }
        }
        centres.resketch();
    }
    assign_pass(centres, points, &mut assignment, &mut scratch).1
}

/// k-means++ seeding (Arthur & Vassilvitskii) in its spherical form: the
/// first centre uniform, each next one drawn with probability proportional
/// to `1 − cos` to its nearest chosen centre (`= |a − b|²/2` for unit
/// vectors). `points` holds at least `k ≥ 1` rows.
fn kmeanspp(points: &[f32], dimension: usize, k: usize, rng: &mut SplitMix64) -> Centres {
    let d = dimension.max(1);
    let n = points.len() / d;
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let mut rows = Vec::with_capacity(k * d);
    let first = rng.below(n);
    rows.extend_from_slice(row(first));
    let mut dist: Vec<f64> = (0..n)
        .map(|i| f64::from(1.0 - dot(row(i), row(first))).max(0.0))
        .collect();
    for _ in 1..k {
        let total: f64 = dist.iter().sum();
        let pick = if total > 0.0 {
            let r = rng.unit() * total;
            let mut acc = 0.0f64;
            let mut pick = None;
            let mut last_positive = 0;
            for (i, &x) in dist.iter().enumerate() {
                if x > 0.0 {
                    last_positive = i;
                }
                acc += x;
                if acc > r {
                    pick = Some(i);
                    break;
                }
            }
            pick.unwrap_or(last_positive)
        } else {
            rng.below(n)
        };
        let chosen = row(pick);
        rows.extend_from_slice(chosen);
        for (i, x) in dist.iter_mut().enumerate() {
            *x = x.min(f64::from(1.0 - dot(row(i), chosen)).max(0.0));
        }
    }
    Centres::new(dimension, rows)
}

// ----- the store -----

/// The persistent part of a [`PatternStore`]: exactly what is serialised.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Core {
    dimension: usize,
    next_trajectory: u64,
    next_pattern: u64,
    since_refine: u64,
    trajectories: BTreeMap<TrajectoryId, Trajectory>,
    /// Sorted by pattern id.
    slots: Vec<Slot>,
}

/// Trajectories and the patterns learned from them (see the module docs).
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
    core: Core,
    /// Derived from `core` (rebuilt on deserialisation): sketch words per
    /// pattern, and per slot the id, sketch and quality.
    words: usize,
    ids: Vec<PatternId>,
    sketches: Vec<u64>,
    /// Quality in fixed point, `round(quality · 255)`.
    quality8: Vec<u8>,
    /// `round(max(cos(π·h/d), 0) · 255)` for `h` in `0..=64·words`: the
    /// cosine a Hamming distance estimates, in fixed point.
    cos8: Vec<u16>,
    ann: Ann,
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
    fn rebuild_derived(&mut self) {
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
    fn sketches_pay(&self) -> bool {
        self.core.dimension >= SKETCH_MIN_DIMENSION
    }

    fn slot_index(&self, id: PatternId) -> Option<usize> {
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
    /// it with [`PatternParams::refine_every`]).
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
    /// covers the sketch-nearest candidates only (see the module docs).
    /// Deterministic; an invalid vector answers a new pattern.
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
        true
    }

    /// A slot rebuilt from its members (ascending ids), exactly as
    /// recording them one by one would have built it.
    fn build_slot(
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

    /// Fold: refines the patterns by spherical k-means with `k` = the
    /// current pattern count (see the module docs for the two
    /// initialisations, the sample bound and the id mapping). Deterministic
    /// for a given `seed`, params and state. Resets [`Self::since_refine`].
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
        let mut taken = std::collections::BTreeSet::new();
        for (_, c, old) in pairs {
            if new_id[c].is_none() && self.slot_index(old).is_some() && taken.insert(old) {
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
        let mut dirty: Vec<PatternId> = Vec::new();
        for &(keep, absorb) in merges {
            if keep == absorb || dead.contains(&keep) || dead.contains(&absorb) {
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

    /// Read: the top `k` patterns for a task vector by
    /// `max(similarity, 0) · quality` (ties: lower id), with the overall
    /// executor recommendation (see [`Suggest`]). Candidates come from the
    /// sketch scan or the HNSW graph and are re-ranked exactly (see the
    /// module docs). An invalid vector, `k = 0` or an empty store answers
    /// nothing.
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
        let mut ranked: Vec<(f32, f32, usize)> = Vec::with_capacity(wanted);
        let mut rank = |i: usize| {
            if let Some(slot) = slots.get(i) {
                let sim = (kernels.dot)(&unit, &slot.pattern.centroid);
                ranked.push((sim.max(0.0) * slot.pattern.quality, sim, i));
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
        let order =
            |a: &(f32, f32, usize), b: &(f32, f32, usize)| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2));
        if ranked.len() > k {
            ranked.select_nth_unstable_by(k - 1, order);
            ranked.truncate(k);
        }
        ranked.sort_unstable_by(order);
        self.answer(&ranked)
    }

    /// Builds the answer from the ranked `(score, similarity, slot)`.
    fn answer(&self, ranked: &[(f32, f32, usize)]) -> Suggest {
        let mut suggestions = Vec::with_capacity(ranked.len());
        // (executor, Σ w·successes, Σ w·count)
        let mut pool: Vec<(&str, f64, f64)> = Vec::new();
        for &(score, sim, i) in ranked {
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

    /// Builds the HNSW graph if the store is large enough and has none
    /// (after a restore), or drops it if the store has shrunk below half of
    /// [`ANN_MIN_PATTERNS`]. Idempotent; does nothing when nothing is
    /// needed. The sketch arrays are rebuilt on deserialisation already.
    pub fn rebuild_index(&mut self) {
        let len = self.len();
        if self.ann.index.is_none() && len >= ANN_MIN_PATTERNS {
            self.ann_build();
        } else if self.ann.index.is_some() && len < ANN_MIN_PATTERNS / 2 {
            self.ann = Ann::default();
        }
    }

    /// Whether the HNSW graph is in use (for tests and diagnostics).
    pub fn has_graph(&self) -> bool {
        self.ann.index.is_some()
    }

    // ----- graph maintenance -----

    /// Builds the graph from every centroid (zero centroids stay out: the
    /// graph would never rank them above 0 either).
    fn ann_build(&mut self) {
        self.ann = Ann::default();
        let Ok(mut index) = Hnsw::new(self.core.dimension, Metric::Dot, ann_params()) else {
            return;
        };
        let (ids, rows) = self.graph_rows(self.ids.iter().copied());
        if index.insert_batch(&ids, &rows).is_ok() {
            self.ann.index = Some(index);
        }
    }

    /// The ids and graph rows (flat) of these patterns: `quality ·
    /// centroid`, so that the inner product with a unit query is the
    /// pattern's score (patterns whose row is zero stay out: they never
    /// score above 0).
    fn graph_rows(&self, ids: impl Iterator<Item = PatternId>) -> (Vec<u64>, Vec<f32>) {
        let mut out_ids = Vec::new();
        let mut rows = Vec::new();
        for id in ids {
            if let Some(i) = self.slot_index(id) {
                let p = &self.core.slots[i].pattern;
                if p.quality > 0.0 && p.centroid.iter().any(|&x| x != 0.0) {
                    out_ids.push(id.0);
                    rows.extend(p.centroid.iter().map(|x| x * p.quality));
                }
            }
        }
        (out_ids, rows)
    }

    /// Keeps the graph in step with pattern `id` after its centroid changed
    /// (or it was created); builds the graph when the store reaches
    /// [`ANN_MIN_PATTERNS`]; flushes the pending buffer if `flush` and it
    /// is full.
    fn ann_touch(&mut self, id: PatternId, flush: bool) {
        let Some(index) = &mut self.ann.index else {
            if self.len() >= ANN_MIN_PATTERNS {
                self.ann_build();
            }
            return;
        };
        let Some(i) = self.ids.binary_search(&id).ok() else {
            return;
        };
        let p = &self.core.slots[i].pattern;
        // Stale when `|indexed − current|² > 2·(1 − ANN_DRIFT_COS)·|current|²`
        // (for rows of equal length: a cosine below ANN_DRIFT_COS).
        let stale = match index.get(id.0) {
            Some(indexed) => {
                let mut diff = 0.0f32;
                let mut norm = 0.0f32;
                for (&a, &c) in indexed.iter().zip(&p.centroid) {
                    let b = c * p.quality;
                    diff += (a - b) * (a - b);
                    norm += b * b;
                }
                diff > 2.0 * (1.0 - ANN_DRIFT_COS) * norm
            }
            None => false,
        };
        if stale {
            let _ = index.delete(id.0);
        }
        if (stale || !index.contains(id.0))
            && let Err(at) = self.ann.pending.binary_search(&id)
        {
            self.ann.pending.insert(at, id);
        }
        if flush && self.ann.pending.len() >= ANN_PENDING_MAX {
            self.ann_flush();
        }
    }

    /// Inserts the pending patterns into the graph in one batch (and
    /// compacts it when tombstones pass its threshold); on any error the
    /// graph is dropped and `suggest` falls back to the sketch scan.
    fn ann_flush(&mut self) {
        let pending = std::mem::take(&mut self.ann.pending);
        let (ids, rows) = self.graph_rows(pending.into_iter());
        let Some(index) = &mut self.ann.index else {
            return;
        };
        let ok = index.insert_batch(&ids, &rows).is_ok() && index.compact().is_ok();
        if !ok {
            self.ann = Ann::default();
        }
    }

    /// Brings the graph up to date after a bulk change that removed these
    /// patterns and may have moved any centroid.
    fn ann_after_bulk(&mut self, removed: &[PatternId]) {
        if self.ann.index.is_none() {
            if self.len() >= ANN_MIN_PATTERNS {
                self.ann_build();
            }
            return;
        }
        if self.len() < ANN_MIN_PATTERNS / 2 {
            self.ann = Ann::default();
            return;
        }
        if let Some(index) = &mut self.ann.index {
            for id in removed {
                let _ = index.delete(id.0);
            }
        }
        self.ann
            .pending
            .retain(|id| removed.binary_search(id).is_err());
        for i in 0..self.len() {
            self.ann_touch(self.ids[i], false);
        }
        if self.ann.pending.len() >= ANN_PENDING_MAX {
            self.ann_flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A trajectory for `store`, joining what `assign` says.
    fn trajectory(
        store: &PatternStore,
        vector: Vec<f32>,
        success: bool,
        executor: &str,
        threshold: f32,
    ) -> Trajectory {
        let pattern = store.assign(&vector, threshold);
        let id = store.next_trajectory_id();
        Trajectory {
            id,
            task: None,
            vector,
            success,
            score: if success { 1.0 } else { 0.0 },
            latency_ms: 10.0,
            cost: 1.0,
            executor: executor.to_owned(),
            tags: Vec::new(),
            at: Timestamp(id.0 as i64),
            pattern,
            seq: id.0 * 10,
        }
    }

    fn add(store: &mut PatternStore, vector: Vec<f32>, success: bool, executor: &str) -> PatternId {
        let t = trajectory(store, vector, success, executor, 0.8);
        let p = t.pattern;
        assert!(store.record(t));
        p
    }

    /// Unit-ish vector near axis `axis` of `dim`, perturbed by `noise`.
    fn near(dim: usize, axis: usize, noise: f32, rng: &mut SplitMix64) -> Vec<f32> {
        (0..dim)
            .map(|i| {
                let base = if i == axis % dim { 1.0 } else { 0.0 };
                base + noise * (rng.unit() as f32 - 0.5)
            })
            .collect()
    }

    /// Every invariant the store promises.
    fn check_invariants(store: &PatternStore) {
        assert!(store.ids.windows(2).all(|w| w[0] < w[1]), "ids sorted");
        assert_eq!(store.ids.len(), store.core.slots.len());
        assert_eq!(store.quality8.len(), store.ids.len());
        assert_eq!(store.sketches.len(), store.ids.len() * store.words);
        let mut members = 0;
        let mut unit = Vec::new();
        for (i, slot) in store.core.slots.iter().enumerate() {
            assert_eq!(slot.pattern.id, store.ids[i]);
            assert!(slot.pattern.id < store.next_pattern_id());
            assert!(!slot.members.is_empty(), "no empty pattern");
            assert!(slot.members.windows(2).all(|w| w[0] < w[1]));
            for m in &slot.members {
                assert_eq!(
                    store.trajectory(*m).map(|t| t.pattern),
                    Some(slot.pattern.id)
                );
            }
            members += slot.members.len();
            let rebuilt = store.build_slot(
                slot.pattern.id,
                slot.pattern.created_seq,
                &slot.members,
                &mut unit,
            );
            assert_eq!(&rebuilt, slot, "incremental stats == recomputed");
            assert_eq!(store.quality8[i], quality8(slot.pattern.quality));
            let mut sketch = vec![0; store.words];
            sketch_into(&slot.pattern.centroid, &mut sketch);
            assert_eq!(
                &store.sketches[i * store.words..(i + 1) * store.words],
                &sketch[..]
            );
            let q = slot.pattern.quality;
            assert!((0.0..=1.0).contains(&q));
        }
        assert_eq!(members, store.trajectory_count());
    }

    fn bytes(store: &PatternStore) -> Vec<u8> {
        postcard::to_allocvec(store).expect("serialises")
    }

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
    fn statistics_and_best_executor() {
        let mut store = PatternStore::new(3);
        // a: 3 of 4 succeed -> 4/6; b: 1 of 1 -> 2/3: equal smoothed rates,
        // so the lower mean latency wins.
        for (ok, exec, latency) in [
            (true, "a", 10.0),
            (true, "a", 10.0),
            (true, "a", 10.0),
            (false, "a", 10.0),
            (true, "b", 5.0),
        ] {
            let mut t = trajectory(&store, vec![1.0, 0.1, 0.0], ok, exec, 0.5);
            t.latency_ms = latency;
            t.score = if ok { 0.9 } else { 0.2 };
            assert!(store.record(t));
        }
        let p = store.get(PatternId(1)).expect("pattern");
        assert_eq!(p.count, 5);
        assert_eq!(p.success_rate, 0.8);
        assert_eq!(p.executors.len(), 2);
        assert_eq!(p.executors[0].executor, "a");
        assert_eq!(p.executors[0].count, 4);
        assert_eq!(p.executors[0].successes, 3);
        assert_eq!(p.best_executor.as_deref(), Some("b"));
        let mean_score = (0.9f64 * 4.0 + 0.2) / 5.0;
        let expected = 0.75 * (5.0 / 7.0) + 0.25 * f64::from(mean_score as f32);
        assert!((f64::from(p.quality) - expected).abs() < 1e-6);
        assert_eq!(p.mean_latency_ms, 9.0);
        assert_eq!(p.last_used, Timestamp(5));
        assert_eq!(p.created_seq, 10);
        let norm = dot(&p.centroid, &p.centroid).sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        // One more failure for b: a now leads on smoothed success.
        let t = trajectory(&store, vec![1.0, 0.1, 0.0], false, "b", 0.5);
        assert!(store.record(t));
        assert_eq!(
            store
                .get(PatternId(1))
                .and_then(|p| p.best_executor.clone())
                .as_deref(),
            Some("a")
        );
        check_invariants(&store);
    }

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

    #[test]
    fn the_graph_serves_large_stores() {
        let dim = 8;
        let mut rng = SplitMix64(5);
        let mut store = PatternStore::new(dim);
        // Force a new pattern per trajectory.
        for i in 0..ANN_MIN_PATTERNS + ANN_PENDING_MAX + 10 {
            let v = near(dim, i, 3.0, &mut rng);
            let mut t = trajectory(&store, v, i.is_multiple_of(2), "e", 2.0);
            t.pattern = store.next_pattern_id();
            assert!(store.record(t));
        }
        assert!(store.has_graph());
        let mut plain = store.clone();
        plain.ann = Ann::default();
        let mut agree = 0;
        for _ in 0..50 {
            let q = near(dim, rng.below(dim), 3.0, &mut rng);
            let a = store.suggest(&q, 5);
            let b = plain.suggest(&q, 5);
            assert_eq!(a.suggestions.len(), 5);
            agree += usize::from(a.suggestions[0].pattern == b.suggestions[0].pattern);
        }
        assert!(
            agree >= 45,
            "graph and exact scan agree on the top pattern: {agree}/50"
        );
        // Restore: no graph until rebuild_index, answers all the same.
        let mut restored: PatternStore = postcard::from_bytes(&bytes(&store)).expect("decodes");
        assert!(!restored.has_graph());
        restored.rebuild_index();
        assert!(restored.has_graph());
        restored.rebuild_index();
        // Pruning most patterns drops the graph.
        let ids: Vec<PatternId> = store.patterns().map(|p| p.id).skip(100).collect();
        store.prune(&ids);
        assert!(!store.has_graph());
        assert_eq!(store.suggest(&[1.0; 8], 5).suggestions.len(), 5);
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
