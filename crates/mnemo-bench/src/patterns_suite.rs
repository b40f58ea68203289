//! The `patterns` suite: mnemo's procedural memory
//! ([`mnemo::patterns::PatternStore`]).
//!
//! 1. **Suggest latency** over 1,000 and 100,000 patterns of 128
//!    dimensions, top 5, one thread: stores built by calling `record`
//!    directly (no log), each pattern 1–4 trajectories around a centre drawn
//!    near one of 64 task families, so patterns cluster and their qualities
//!    vary. Peer: an exact brute-force scan of every centroid with the SIMD
//!    dot product, ranking by `max(similarity, 0) · quality` with a bounded
//!    top 5 (no answer building), in the same run. `recall_at_5`: the share
//!    of the exact top 5 that `suggest` returns.
//! 2. **Record**: nanoseconds per `record` (the fold) of 128-d trajectories
//!    whose patterns `assign` chose beforehand (its cost is a separate
//!    row). Peer: pushing the same trajectories into a `Vec` (the floor of
//!    storing them at all).
//! 3. **Refine**: one refinement of 1,000 patterns × 16 trajectories.
//!    Peer: one exact assignment pass (every trajectory against every
//!    centroid with the SIMD kernels), what a single brute-force Lloyd step
//!    costs.
//! 4. **Learning**: a seeded routing task: 8 task families (random unit
//!    centres in 128-d, tasks at cosine ≈ 0.9 from their centre), 5
//!    executors with hidden per-family success probabilities (the best one,
//!    0.85, differs by family; the others are uniform in `[0.15, 0.6]`),
//!    executors picked uniformly at random (exploration), outcomes
//!    Bernoulli. The engine's loop: `assign` with the default join
//!    threshold, `record`, and a `refine` every `refine_every` (512)
//!    trajectories. After 50, 100, 200, 500 and 1,000 trajectories, the
//!    share of 500 fresh tasks for which `suggest(task, 5).executor` is the
//!    family's truly best executor; mean over 5 seeds. Peer:
//!    "ReasoningBank-style" memory that keeps every trajectory as its own
//!    pattern and answers with the executor of the most similar successful
//!    trajectory.
//!
//! `--quick` shrinks every size (10,000 patterns instead of 100,000, which
//! still crosses the HNSW threshold; 2 learning seeds): a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mnemo::Timestamp;
use mnemo::patterns::{PatternParams, PatternStore, Trajectory};
use serde_json::{Map, Value, json};

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better, Reps, median_duration, ns_per, timed};
use crate::random::{Draw, SplitMix64, box_muller};

/// Dimension of every task vector.
const DIM: usize = 128;
/// Task families the suggest stores' patterns are drawn around.
const STORE_FAMILIES: usize = 64;
/// Patterns returned by suggest.
const TOP_K: usize = 5;
/// Targets, µs per suggest.
const SUGGEST_1K_TARGET_US: f64 = 3.0;
const SUGGEST_100K_TARGET_US: f64 = 50.0;
/// Learning target: share of tasks routed to the truly best executor.
const LEARNING_TARGET: f64 = 0.9;
/// Learning task: families, executors, checkpoints, test tasks.
const LEARN_FAMILIES: usize = 8;
const LEARN_EXECUTORS: usize = 5;
const CHECKPOINTS: [usize; 5] = [50, 100, 200, 500, 1000];
const LEARN_TEST_TASKS: usize = 500;
/// Success probability of each family's best executor.
const BEST_P: f64 = 0.85;
/// Noise norm of a learning task around its family centre (cosine ≈ 0.9).
const LEARN_NOISE: f64 = 0.45;

/// Sizes of one run.
struct Sizes {
    reps: Reps,
    small_patterns: usize,
    large_patterns: usize,
    queries: usize,
    records: usize,
    refine_patterns: usize,
    refine_members: usize,
    learn_seeds: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                reps: Reps { warmup: 1, runs: 3 },
                small_patterns: 1_000,
                large_patterns: 10_000,
                queries: 200,
                records: 10_000,
                refine_patterns: 200,
                refine_members: 8,
                learn_seeds: 2,
            }
        } else {
            Self {
                reps: Reps { warmup: 1, runs: 5 },
                small_patterns: 1_000,
                large_patterns: 100_000,
                queries: 2_000,
                records: 100_000,
                refine_patterns: 1_000,
                refine_members: 16,
                learn_seeds: 5,
            }
        }
    }
}

/// One named measurement step of the suite.
type Step<'a> = (&'static str, &'a dyn Fn() -> Result<Vec<BenchResult>>);

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let s = Sizes::new(opts.quick);
    let started = Instant::now();
    let skip = |name: &str| opts.only.as_deref().is_some_and(|o| !name.contains(o));
    let large_name = if opts.quick {
        "suggest_10k_top5"
    } else {
        "suggest_100k_top5"
    };
    let steps: [Step<'_>; 5] = [
        ("suggest 1k", &|| {
            suggest_case(
                &s,
                "suggest_1k_top5",
                s.small_patterns,
                SUGGEST_1K_TARGET_US,
            )
        }),
        ("suggest 100k", &|| {
            suggest_case(&s, large_name, s.large_patterns, SUGGEST_100K_TARGET_US)
        }),
        ("record", &|| record(&s)),
        ("refine", &|| refine(&s)),
        ("learning", &|| learning(&s)),
    ];
    let mut results = Vec::new();
    for (name, step) in steps {
        if skip(name) {
            continue;
        }
        let t = Instant::now();
        results.extend(step().with_context(|| format!("patterns suite: {name}"))?);
        eprintln!("  {name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("patterns suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

// ----- data -----

/// A standard normal deviate (Box–Muller of an open uniform and a
/// uniform; the suite's data was generated with this draw).
fn normal(rng: &mut SplitMix64) -> f64 {
    box_muller(rng.open_uniform(), rng.uniform()).0
}

/// A random unit vector.
fn random_unit(rng: &mut SplitMix64) -> Vec<f64> {
    let v: Vec<f64> = (0..DIM).map(|_| normal(rng)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// `centre` plus Gaussian noise of expected norm `noise`, as f32.
fn around(centre: &[f64], noise: f64, rng: &mut SplitMix64) -> Vec<f32> {
    let scale = noise / (DIM as f64).sqrt();
    centre
        .iter()
        .map(|&c| (c + scale * normal(rng)) as f32)
        .collect()
}

/// A trajectory for `store` (pattern left for the caller).
fn trajectory(
    store: &PatternStore,
    vector: Vec<f32>,
    success: bool,
    executor: String,
) -> Trajectory {
    let id = store.next_trajectory_id();
    Trajectory {
        id,
        task: None,
        vector,
        success,
        score: if success { 0.9 } else { 0.1 },
        latency_ms: 100.0,
        cost: 0.01,
        executor,
        tags: Vec::new(),
        at: Timestamp(id.0 as i64),
        pattern: store.next_pattern_id(),
        seq: id.0,
    }
}

/// A store of `patterns` patterns: each 1–4 trajectories (forced into its
/// own pattern) around a centre near one of [`STORE_FAMILIES`] families,
/// with a per-pattern success probability, so qualities vary.
fn build_store(patterns: usize, seed: u64) -> PatternStore {
    let mut rng = SplitMix64::new(seed);
    let families: Vec<Vec<f64>> = (0..STORE_FAMILIES).map(|_| random_unit(&mut rng)).collect();
    let mut store = PatternStore::new(DIM);
    for _ in 0..patterns {
        let family = &families[rng.index(STORE_FAMILIES)];
        let centre: Vec<f64> = around(family, 0.8, &mut rng)
            .into_iter()
            .map(f64::from)
            .collect();
        let p_success = rng.uniform();
        let pattern = store.next_pattern_id();
        for _ in 0..1 + rng.index(4) {
            let success = rng.uniform() < p_success;
            let executor = format!("exec-{}", rng.index(4));
            let mut t = trajectory(&store, around(&centre, 0.1, &mut rng), success, executor);
            t.pattern = pattern;
            store.record(t);
        }
    }
    store
}

/// Query vectors near the store's families (same seed, so the same
/// families).
fn queries(count: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SplitMix64::new(seed);
    let families: Vec<Vec<f64>> = (0..STORE_FAMILIES).map(|_| random_unit(&mut rng)).collect();
    let mut rng = SplitMix64::new(seed ^ 0x5175_6572_7900);
    (0..count)
        .map(|_| around(&families[rng.index(STORE_FAMILIES)], 0.8, &mut rng))
        .collect()
}

// ----- 1. suggest -----

/// The exact peer: every centroid, flat, with its quality and id.
struct ExactScan {
    rows: Vec<f32>,
    quality: Vec<f32>,
    ids: Vec<u64>,
}

impl ExactScan {
    fn new(store: &PatternStore) -> Self {
        let mut scan = Self {
            rows: Vec::with_capacity(store.len() * DIM),
            quality: Vec::with_capacity(store.len()),
            ids: Vec::with_capacity(store.len()),
        };
        for p in store.patterns() {
            scan.rows.extend_from_slice(&p.centroid);
            scan.quality.push(p.quality);
            scan.ids.push(p.id.0);
        }
        scan
    }

    /// The top `k` ids by `max(cos, 0) · quality` (ties: lower id).
    fn top(&self, query: &[f32], k: usize) -> Vec<u64> {
        let kernels = mnemo_vector::kernels::kernels();
        let norm = (kernels.dot)(query, query).sqrt();
        let unit: Vec<f32> = query.iter().map(|x| x / norm).collect();
        let mut top: Vec<(f32, u64)> = Vec::with_capacity(k + 1);
        for ((row, &q), &id) in self
            .rows
            .chunks_exact(DIM)
            .zip(&self.quality)
            .zip(&self.ids)
        {
            let score = (kernels.dot)(&unit, row).max(0.0) * q;
            if top.len() < k || top.last().is_some_and(|l| score > l.0) {
                let at = top.partition_point(|x| x.0 >= score);
                top.insert(at, (score, id));
                top.truncate(k);
            }
        }
        top.into_iter().map(|x| x.1).collect()
    }
}

/// Step 1: suggest over a store of `patterns` patterns.
fn suggest_case(
    s: &Sizes,
    name: &str,
    patterns: usize,
    target_us: f64,
) -> Result<Vec<BenchResult>> {
    let seed = 0x7061_7474_0000 + patterns as u64;
    let (store, built) = timed(|| build_store(patterns, seed));
    eprintln!(
        "    {name}: {} patterns, {} trajectories built in {:.2} s (graph: {})",
        store.len(),
        store.trajectory_count(),
        built.as_secs_f64(),
        store.has_graph()
    );
    let qs = queries(s.queries, seed);
    let exact = ExactScan::new(&store);
    let mut hits = 0usize;
    for q in &qs {
        let ours: Vec<u64> = store
            .suggest(q, TOP_K)
            .suggestions
            .iter()
            .map(|x| x.pattern.0)
            .collect();
        let truth = exact.top(q, TOP_K);
        hits += truth.iter().filter(|id| ours.contains(id)).count();
    }
    let recall = hits as f64 / (qs.len() * TOP_K) as f64;
    let ours = median_duration(s.reps, || {
        let (_, d) = timed(|| {
            for q in &qs {
                black_box(store.suggest(black_box(q), TOP_K));
            }
        });
        Ok(d)
    })?;
    let peer = median_duration(s.reps, || {
        let (_, d) = timed(|| {
            for q in &qs {
                black_box(exact.top(black_box(q), TOP_K));
            }
        });
        Ok(d)
    })?;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / qs.len() as f64;
    let stage = if store.has_graph() {
        "HNSW over centroids + pending buffer, exact re-rank"
    } else {
        "sign-sketch scan, exact re-rank"
    };
    Ok(vec![
        BenchResult::new(name, "µs", us(ours), Better::Lower)
            .target(target_us)
            .peer("exact brute-force scan, SIMD dot (same run)", us(peer))
            .param("patterns", store.len())
            .param("trajectories", store.trajectory_count())
            .param("dimension", DIM)
            .param("k", TOP_K)
            .param("queries", qs.len())
            .param("recall_at_5", recall)
            .param("candidate_stage", stage)
            .param("memory_bytes", store.memory_bytes()),
    ])
}

// ----- 2. record -----

/// Step 2: the fold's `record`, and the writer's `assign`.
fn record(s: &Sizes) -> Result<Vec<BenchResult>> {
    let mut rng = SplitMix64::new(0x7265_636f_7264);
    let families: Vec<Vec<f64>> = (0..STORE_FAMILIES).map(|_| random_unit(&mut rng)).collect();
    let params = PatternParams::default();
    let mut setup = PatternStore::new(DIM);
    let mut log = Vec::with_capacity(s.records);
    for _ in 0..s.records {
        let v = around(&families[rng.index(STORE_FAMILIES)], LEARN_NOISE, &mut rng);
        let success = rng.index(2) == 0;
        let mut tr = trajectory(&setup, v, success, format!("exec-{}", rng.index(5)));
        tr.pattern = setup.assign(&tr.vector, params.join_threshold);
        log.push(tr.clone());
        setup.record(tr);
    }
    // The writer's decision, against the final store (read only).
    let assign = median_duration(s.reps, || {
        let (_, d) = timed(|| {
            for t in &log {
                black_box(setup.assign(black_box(&t.vector), params.join_threshold));
            }
        });
        Ok(d)
    })?;
    let ours = median_duration(s.reps, || {
        let input = log.clone();
        let mut store = PatternStore::new(DIM);
        let (_, d) = timed(|| {
            for t in input {
                store.record(t);
            }
        });
        black_box(&store);
        Ok(d)
    })?;
    let floor = median_duration(s.reps, || {
        let input = log.clone();
        let mut sink = Vec::new();
        let (_, d) = timed(|| {
            for t in input {
                sink.push(t);
            }
        });
        black_box(&sink);
        Ok(d)
    })?;
    let n = s.records as u64;
    Ok(vec![
        BenchResult::new(
            "record_trajectory",
            "ns/record",
            ns_per(ours, n),
            Better::Lower,
        )
        .peer(
            "Vec::push of the same trajectories (same run)",
            ns_per(floor, n),
        )
        .param("trajectories", s.records)
        .param("patterns", setup.len())
        .param("dimension", DIM),
        BenchResult::new(
            "assign_trajectory",
            "ns/record",
            ns_per(assign, n),
            Better::Lower,
        )
        .param("note", "the writer's assign, against the final store")
        .param("patterns", setup.len()),
    ])
}

// ----- 3. refine -----

/// Step 3: one refinement.
fn refine(s: &Sizes) -> Result<Vec<BenchResult>> {
    let mut rng = SplitMix64::new(0x7265_6669_6e65);
    let families: Vec<Vec<f64>> = (0..STORE_FAMILIES).map(|_| random_unit(&mut rng)).collect();
    let mut store = PatternStore::new(DIM);
    for _ in 0..s.refine_patterns {
        let centre: Vec<f64> = around(&families[rng.index(STORE_FAMILIES)], 0.8, &mut rng)
            .into_iter()
            .map(f64::from)
            .collect();
        let pattern = store.next_pattern_id();
        for _ in 0..s.refine_members {
            let mut t = trajectory(
                &store,
                around(&centre, LEARN_NOISE, &mut rng),
                true,
                "e".into(),
            );
            t.pattern = pattern;
            store.record(t);
        }
    }
    let params = PatternParams::default();
    let mut after = 0;
    let ours = median_duration(s.reps, || {
        let mut copy = store.clone();
        let (_, d) = timed(|| copy.refine(7, &params));
        after = copy.len();
        Ok(d)
    })?;
    let points: Vec<Vec<f32>> = store
        .patterns()
        .flat_map(|p| store.members(p.id))
        .filter_map(|id| store.trajectory(id).map(|t| t.vector.clone()))
        .collect();
    let exact = ExactScan::new(&store);
    let peer = median_duration(s.reps, || {
        let (_, d) = timed(|| {
            for p in &points {
                black_box(exact.top(p, 1));
            }
        });
        Ok(d)
    })?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let name = if s.refine_patterns == 1_000 {
        "refine_1k".to_owned()
    } else {
        format!("refine_{}", s.refine_patterns)
    };
    Ok(vec![
        BenchResult::new(&name, "ms", ms(ours), Better::Lower)
            .peer(
                "one exact assignment pass, SIMD kernels (same run)",
                ms(peer),
            )
            .param("patterns", store.len())
            .param("patterns_after", after)
            .param("trajectories", store.trajectory_count())
            .param("dimension", DIM)
            .param("kmeans_iterations", params.kmeans_iterations),
    ])
}

// ----- 4. learning -----

/// The hidden world of one learning seed.
struct World {
    centres: Vec<Vec<f64>>,
    /// `p[family][executor]`.
    p: Vec<Vec<f64>>,
    best: Vec<usize>,
}

impl World {
    fn new(rng: &mut SplitMix64) -> Self {
        let centres: Vec<Vec<f64>> = (0..LEARN_FAMILIES).map(|_| random_unit(rng)).collect();
        let mut p = Vec::new();
        let mut best = Vec::new();
        for f in 0..LEARN_FAMILIES {
            let b = (f + rng.index(LEARN_EXECUTORS)) % LEARN_EXECUTORS;
            let row: Vec<f64> = (0..LEARN_EXECUTORS)
                .map(|e| {
                    if e == b {
                        BEST_P
                    } else {
                        0.15 + 0.45 * rng.uniform()
                    }
                })
                .collect();
            p.push(row);
            best.push(b);
        }
        Self { centres, p, best }
    }

    fn task(&self, rng: &mut SplitMix64) -> (usize, Vec<f32>) {
        let f = rng.index(LEARN_FAMILIES);
        (f, around(&self.centres[f], LEARN_NOISE, rng))
    }
}

fn executor_name(e: usize) -> String {
    format!("exec-{e}")
}

/// The "ReasoningBank-style" peer: every trajectory its own pattern; the
/// answer is the executor of the most similar successful one.
#[derive(Default)]
struct NearestSuccess {
    rows: Vec<(Vec<f32>, usize)>,
}

impl NearestSuccess {
    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn record(&mut self, v: &[f32], executor: usize, success: bool) {
        if success {
            self.rows.push((Self::unit(v), executor));
        }
    }

    fn answer(&self, v: &[f32]) -> Option<usize> {
        let u = Self::unit(v);
        let kernels = mnemo_vector::kernels::kernels();
        self.rows
            .iter()
            .map(|(r, e)| ((kernels.dot)(&u, r), *e))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|x| x.1)
    }
}

/// Step 4: routing accuracy along the learning curve.
fn learning(s: &Sizes) -> Result<Vec<BenchResult>> {
    let params = PatternParams::default();
    let mut ours = vec![Vec::new(); CHECKPOINTS.len()];
    let mut peer = vec![Vec::new(); CHECKPOINTS.len()];
    let mut patterns_at_end = Vec::new();
    for seed in 0..s.learn_seeds {
        let mut rng = SplitMix64::new(0x6c65_6172_6e00 + seed);
        let world = World::new(&mut rng);
        let mut test_rng = SplitMix64::new(0x7465_7374_0000 + seed);
        let tests: Vec<(usize, Vec<f32>)> = (0..LEARN_TEST_TASKS)
            .map(|_| world.task(&mut test_rng))
            .collect();
        let mut store = PatternStore::new(DIM);
        let mut bank = NearestSuccess::default();
        let mut next_check = 0;
        for n in 1..=CHECKPOINTS[CHECKPOINTS.len() - 1] {
            let (f, v) = world.task(&mut rng);
            let e = rng.index(LEARN_EXECUTORS);
            let success = rng.uniform() < world.p[f][e];
            bank.record(&v, e, success);
            let mut t = trajectory(&store, v, success, executor_name(e));
            t.pattern = store.assign(&t.vector, params.join_threshold);
            store.record(t);
            if params.refine_every > 0 && store.since_refine() >= params.refine_every {
                store.refine(seed.wrapping_mul(1_000_003).wrapping_add(n as u64), &params);
            }
            if n == CHECKPOINTS[next_check] {
                let mut right = 0usize;
                let mut bank_right = 0usize;
                for (f, v) in &tests {
                    let want = executor_name(world.best[*f]);
                    right += usize::from(
                        store.suggest(v, TOP_K).executor.as_deref() == Some(want.as_str()),
                    );
                    bank_right += usize::from(bank.answer(v) == Some(world.best[*f]));
                }
                ours[next_check].push(right as f64 / tests.len() as f64);
                peer[next_check].push(bank_right as f64 / tests.len() as f64);
                next_check += 1;
            }
        }
        patterns_at_end.push(store.len());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let curve = |acc: &[Vec<f64>]| -> Value {
        let mut m = Map::new();
        for (c, a) in CHECKPOINTS.iter().zip(acc) {
            m.insert(c.to_string(), json!(mean(a)));
        }
        Value::Object(m)
    };
    let last = CHECKPOINTS.len() - 1;
    Ok(vec![
        BenchResult::new(
            "learning_accuracy_1000",
            "fraction",
            mean(&ours[last]),
            Better::Higher,
        )
        .target(LEARNING_TARGET)
        .peer(
            "ReasoningBank-style: executor of the nearest successful trajectory (same run)",
            mean(&peer[last]),
        )
        .param("learning_curve", curve(&ours))
        .param("peer_learning_curve", curve(&peer))
        .param("per_seed_at_1000", json!(ours[last]))
        .param("seeds", s.learn_seeds)
        .param("families", LEARN_FAMILIES)
        .param("executors", LEARN_EXECUTORS)
        .param("test_tasks", LEARN_TEST_TASKS)
        .param("refine_every", params.refine_every)
        .param("join_threshold", f64::from(params.join_threshold))
        .param("patterns_at_end", json!(patterns_at_end))
        .param("best_p", BEST_P)
        .param("others_p", "uniform in [0.15, 0.6]"),
    ])
}
