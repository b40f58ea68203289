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
//!
//! ## How the files fit
//!
//! The first six files know nothing of the store; the last four are the
//! store and the `impl PatternStore` blocks of its operations.
//!
//! | file | holds |
//! |---|---|
//! | `trajectory.rs` | [`Trajectory`]: one recorded task and its outcome |
//! | `params.rs` | [`PatternParams`] and [`PrunePolicy`]: the knobs |
//! | `arith.rs` | deterministic vector arithmetic: the fixed-order dot product, normalisation |
//! | `pattern.rs` | [`Pattern`] and [`ExecutorStats`], and the running sums they derive from |
//! | `sketch.rs` | sign sketches and the one-pass Hamming scans that pick candidates |
//! | `kmeans.rs` | spherical k-means: centres, Lloyd iterations, k-means++ and its SplitMix64 |
//! | `store.rs` | [`PatternStore`]: state, serde, `assign`, `record`, `prune`, `consolidate` |
//! | `refine.rs` | [`PatternStore::refine`]: k-means applied to the store, ids kept by overlap |
//! | `suggest.rs` | [`PatternStore::suggest`], [`Suggest`] and [`Suggestion`] |
//! | `ann.rs` | the HNSW graph over centroids serving `suggest` in large stores, and its upkeep |

mod ann;
mod arith;
mod kmeans;
mod params;
mod pattern;
mod refine;
mod sketch;
mod store;
mod suggest;
#[cfg(test)]
mod testkit;
mod trajectory;

pub use crate::base::{PatternId, TrajectoryId};
pub use ann::{
    ANN_DRIFT_COS, ANN_MIN_PATTERNS, ANN_PENDING_MAX, GRAPH_CANDIDATES_MIN, GRAPH_CANDIDATES_PER_K,
};
pub use kmeans::{KMEANSPP_MAX_K, REFINE_CANDIDATES};
pub use params::{PatternParams, PrunePolicy};
pub use pattern::{EVIDENCE, ExecutorStats, Pattern, QUALITY_SUCCESS_WEIGHT};
pub use sketch::SKETCH_MIN_DIMENSION;
pub use store::{ASSIGN_CANDIDATES, CONSOLIDATE_CANDIDATES, PatternStore};
pub use suggest::{
    CONFIDENCE_HALF_TRIALS, RECOMMEND_WEIGHT_POWER, SKETCH_CANDIDATES_MIN, SKETCH_CANDIDATES_PER_K,
    Suggest, Suggestion,
};
pub use trajectory::Trajectory;
