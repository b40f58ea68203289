//! The vector suite's peers: other HNSW implementations, built with the same
//! M and ef_construction over the same vector files, queried one query at a
//! time on one thread over an ef sweep, so mnemo-vector's curve can be drawn
//! beside theirs from one run.
//!
//! - [`hnswlib`]: the reference C++ implementation (PyPI `hnswlib`), driven
//!   by `scripts/peers/hnswlib_peer.py` in a virtual environment
//!   ([`crate::pyvenv`]);
//! - [`usearch`]: USearch's Rust binding (crates.io `usearch`).
//!
//! Every peer returns a [`PeerRun`]; [`measure_curve`] times any index
//! (mnemo's too) the same way, and [`recall_at_k`] scores results against a
//! [`GroundTruth`]. `mnemo-bench peers` ([`dev`]) runs both peers on the
//! Gaussian and rustdocs datasets and prints the table.

pub mod dev;
pub mod hnswlib;
pub mod usearch;

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

use crate::ground_truth::{GroundTruth, Metric};
use crate::vecfile::Vectors;

/// Neighbours asked per query in the recall/QPS sweep (recall@10).
pub const K: usize = 10;
/// The ef sweep of the development run.
pub const EFS: [usize; 6] = [10, 20, 40, 80, 160, 320];
/// Vectors inserted one at a time after the sweep.
pub const SINGLE_INSERTS: usize = 1_000;
/// Queries run untimed before each ef's timed passes.
pub const WARMUP_QUERIES: usize = 100;

/// How the queries are timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Search widths, in order.
    pub efs: Vec<usize>,
    /// Timed passes over all queries per ef: QPS is their median, the
    /// latency percentiles are over every query of every pass.
    pub reps: usize,
    /// After the sweep, this many query vectors are inserted one at a time
    /// (ids from the base count up) and each insert is timed.
    pub single_inserts: usize,
}

impl Sweep {
    /// [`EFS`] with 3 passes.
    pub fn new() -> Self {
        Self {
            efs: EFS.to_vec(),
            reps: 3,
            single_inserts: SINGLE_INSERTS,
        }
    }
}

impl Default for Sweep {
    fn default() -> Self {
        Self::new()
    }
}

/// How every system builds its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswConfig {
    /// Links per node above layer 0 (layer 0 has 2·M in all three systems).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// The metric.
    pub metric: Metric,
    /// Threads inserting in parallel (queries always run on one thread).
    pub build_threads: usize,
    /// Seed of the level generator where the system takes one.
    pub seed: u64,
}

impl HnswConfig {
    /// M = 16, ef_construction = 200, every core, seed 100 (hnswlib's
    /// default).
    pub fn new(metric: Metric) -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            metric,
            build_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 100,
        }
    }
}

/// A dataset as the peers see it: the files (for the Python peer) and the
/// same vectors loaded (for in-process ones), with their ground truth.
#[derive(Debug, Clone, Copy)]
pub struct VectorSet<'a> {
    /// Dataset name for tables.
    pub name: &'a str,
    /// The base vector file (`vecfile` format).
    pub base_path: &'a Path,
    /// The query vector file.
    pub queries_path: &'a Path,
    /// The base vectors, row `i` has id `i`.
    pub base: &'a Vectors,
    /// The query vectors.
    pub queries: &'a Vectors,
    /// The exact neighbours of every query (at least [`K`]).
    pub truth: &'a GroundTruth,
}

impl VectorSet<'_> {
    /// Checks that the parts belong together.
    pub fn check(&self, metric: Metric) -> Result<()> {
        ensure!(
            self.base.dimension == self.queries.dimension,
            "{}: base dimension {} but query dimension {}",
            self.name,
            self.base.dimension,
            self.queries.dimension
        );
        ensure!(
            self.truth.metric == metric
                && self.truth.k >= K
                && self.truth.queries == self.queries.len()
                && self.truth.base == self.base.len(),
            "{}: the ground truth ({} queries × {} over {} rows, {}) does not fit \
             {} queries over {} rows under {metric} with k = {K}",
            self.name,
            self.truth.queries,
            self.truth.k,
            self.truth.base,
            self.truth.metric,
            self.queries.len(),
            self.base.len()
        );
        Ok(())
    }
}

/// One point of a recall/QPS curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Search width (candidate list size).
    pub ef: usize,
    /// Mean recall@10 over the queries.
    pub recall_at_10: f64,
    /// Queries per second on one thread, one query per call.
    pub qps: f64,
    /// Median latency of one query, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Queries per second on one thread when all are handed over in one call
    /// (where the system has such a call: hnswlib's, which shows the C++
    /// speed without Python's per-call overhead).
    pub batch_qps: Option<f64>,
}

/// One system's build and curve on one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerRun {
    /// System, e.g. `hnswlib`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The settings it was built with, in words.
    pub settings: String,
    /// Wall time of inserting every base vector.
    pub build_seconds: f64,
    /// Threads inserting.
    pub build_threads: usize,
    /// Vectors indexed.
    pub vectors: usize,
    /// The curve, in the order of the ef sweep.
    pub points: Vec<CurvePoint>,
    /// Bytes the index takes, vectors included, where the system reports it.
    pub memory_bytes: Option<u64>,
    /// What `memory_bytes` measures.
    pub memory_note: String,
    /// Latency of inserting single vectors into the built index (measured
    /// after `memory_bytes`).
    pub single_inserts: Option<InsertTimes>,
}

/// This process's resident set in bytes (`VmRSS` of Linux's
/// `/proc/self/status`), or `None` where that is not available.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Latencies of single inserts into a built index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InsertTimes {
    /// Inserts timed.
    pub count: usize,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
}

/// Inserts the first `count` rows of `queries` one at a time with `insert`
/// (ids `first_id`, `first_id + 1`, ...) and times each; `None` for none.
pub fn time_inserts(
    queries: &Vectors,
    count: usize,
    first_id: u64,
    mut insert: impl FnMut(u64, &[f32]) -> Result<()>,
) -> Result<Option<InsertTimes>> {
    let count = count.min(queries.len());
    if count == 0 {
        return Ok(None);
    }
    let mut micros = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        insert(first_id + i as u64, queries.row(i))?;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    Ok(Some(InsertTimes {
        count,
        p50_us: percentile(&micros, 0.5),
        p99_us: percentile(&micros, 0.99),
    }))
}

impl PeerRun {
    /// Index bytes per vector.
    pub fn bytes_per_vector(&self) -> Option<f64> {
        self.memory_bytes
            .map(|b| b as f64 / self.vectors.max(1) as f64)
    }

    /// Vectors inserted per second.
    pub fn build_rate(&self) -> f64 {
        self.vectors as f64 / self.build_seconds
    }

    /// The fastest point whose recall@10 reaches `recall`, if any.
    pub fn best_at_recall(&self, recall: f64) -> Option<&CurvePoint> {
        self.points
            .iter()
            .filter(|p| p.recall_at_10 >= recall)
            .max_by(|a, b| a.qps.total_cmp(&b.qps))
    }
}

/// recall@k of one query: the share of the true `k` nearest that `found`
/// (ids, nearest first) has among its first `k`. Missing results count as
/// misses and a repeated id counts once.
pub fn recall_at_k(found: &[u64], truth: &[u32], k: usize) -> f64 {
    let k = k.min(truth.len());
    if k == 0 {
        return 1.0;
    }
    let truth = &truth[..k];
    let found = &found[..found.len().min(k)];
    let hits = found
        .iter()
        .enumerate()
        .filter(|&(i, id)| !found[..i].contains(id) && truth.iter().any(|&t| u64::from(t) == *id))
        .count();
    hits as f64 / k as f64
}

/// Mean recall@k of `results[q]` (one list per query, in query order)
/// against `truth`.
pub fn mean_recall_at_k(results: &[Vec<u64>], truth: &GroundTruth, k: usize) -> Result<f64> {
    ensure!(
        results.len() == truth.queries,
        "{} result lists for {} queries",
        results.len(),
        truth.queries
    );
    ensure!(
        k <= truth.k,
        "recall@{k} asked, but the ground truth has {} neighbours",
        truth.k
    );
    if results.is_empty() {
        return Ok(1.0);
    }
    let sum: f64 = results
        .iter()
        .enumerate()
        .map(|(q, found)| recall_at_k(found, truth.neighbours(q), k))
        .sum();
    Ok(sum / results.len() as f64)
}

/// The value at quantile `p` (0..=1) of sorted `values` (nearest rank); 0
/// for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Builds a curve point from one ef's results (one id list per query),
/// the latencies of every timed query (µs, any order) and the wall time of
/// each timed pass over all queries (QPS is taken from the median pass).
pub fn curve_point(
    ef: usize,
    results: &[Vec<u64>],
    mut latencies_us: Vec<f64>,
    pass_seconds: &[f64],
    truth: &GroundTruth,
) -> Result<CurvePoint> {
    ensure!(!pass_seconds.is_empty(), "no timed pass");
    latencies_us.sort_by(f64::total_cmp);
    let mut passes = pass_seconds.to_vec();
    passes.sort_by(f64::total_cmp);
    Ok(CurvePoint {
        ef,
        recall_at_10: mean_recall_at_k(results, truth, K)?,
        qps: results.len() as f64 / passes[passes.len() / 2],
        p50_us: percentile(&latencies_us, 0.5),
        p99_us: percentile(&latencies_us, 0.99),
        batch_qps: None,
    })
}

/// Times `search(query) -> ids` over every query at every ef of `sweep`, on
/// the calling thread: `prepare(ef)` first (to set the search width), then
/// [`WARMUP_QUERIES`] untimed queries, then `sweep.reps` passes over all
/// queries, each query timed alone. Recall comes from the last pass.
pub fn measure_curve(
    queries: &Vectors,
    truth: &GroundTruth,
    sweep: &Sweep,
    mut prepare: impl FnMut(usize) -> Result<()>,
    mut search: impl FnMut(&[f32]) -> Result<Vec<u64>>,
) -> Result<Vec<CurvePoint>> {
    let mut points = Vec::with_capacity(sweep.efs.len());
    let reps = sweep.reps.max(1);
    for &ef in &sweep.efs {
        prepare(ef)?;
        for q in 0..queries.len().min(WARMUP_QUERIES) {
            std::hint::black_box(search(queries.row(q))?);
        }
        let mut results = Vec::with_capacity(queries.len());
        let mut latencies = Vec::with_capacity(reps * queries.len());
        let mut passes = Vec::with_capacity(reps);
        for _ in 0..reps {
            results.clear();
            let started = Instant::now();
            for q in 0..queries.len() {
                let t = Instant::now();
                let ids = search(queries.row(q))?;
                latencies.push(t.elapsed().as_secs_f64() * 1e6);
                results.push(ids);
            }
            passes.push(started.elapsed().as_secs_f64());
        }
        points.push(curve_point(ef, &results, latencies, &passes, truth)?);
    }
    Ok(points)
}

/// Prints the runs on one dataset as a table: one row per system and ef.
pub fn print_table(dataset: &str, runs: &[PeerRun]) {
    println!("\n{dataset}");
    println!(
        "{:<10} {:>9} {:>10} {:>5} {:>10} {:>10} {:>10} {:>9} {:>9} {:>10}",
        "system",
        "build s",
        "vec/s",
        "ef",
        "recall@10",
        "QPS",
        "batch QPS",
        "p50 µs",
        "p99 µs",
        "bytes/vec"
    );
    for run in runs {
        for p in &run.points {
            println!(
                "{:<10} {:>9.2} {:>10.0} {:>5} {:>10.4} {:>10.0} {:>10} {:>9.1} {:>9.1} {:>10}",
                run.name,
                run.build_seconds,
                run.build_rate(),
                p.ef,
                p.recall_at_10,
                p.qps,
                p.batch_qps
                    .map_or_else(|| "-".to_owned(), |q| format!("{q:.0}")),
                p.p50_us,
                p.p99_us,
                run.bytes_per_vector()
                    .map_or_else(|| "-".to_owned(), |b| format!("{b:.0}")),
            );
        }
    }
    for run in runs {
        let at95 = run.best_at_recall(0.95).map_or_else(
            || "never reaches recall@10 0.95".to_owned(),
            |p| format!("{:.0} QPS at recall@10 ≥ 0.95 (ef {})", p.qps, p.ef),
        );
        println!(
            "  {} {} ({}; {} build threads): {at95}; memory: {}",
            run.name,
            run.version,
            run.settings,
            run.build_threads,
            run.memory_bytes.map_or_else(
                || "not reported".to_owned(),
                |b| format!("{:.1} MB ({})", b as f64 / 1e6, run.memory_note)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ground_truth;

    #[test]
    fn recall_counts_hits_among_the_first_k() {
        let truth = [5u32, 3, 9, 1];
        assert_eq!(recall_at_k(&[5, 3, 9, 1], &truth, 4), 1.0);
        assert_eq!(recall_at_k(&[1, 9, 3, 5], &truth, 4), 1.0, "order is free");
        assert_eq!(recall_at_k(&[5, 3, 7, 8], &truth, 4), 0.5);
        assert_eq!(recall_at_k(&[5, 3], &truth, 4), 0.5, "missing results miss");
        assert_eq!(
            recall_at_k(&[5, 5, 5, 5], &truth, 4),
            0.25,
            "repeats count once"
        );
        assert_eq!(
            recall_at_k(&[7, 8, 9, 1, 5], &truth, 4),
            0.5,
            "only the first k"
        );
        assert_eq!(recall_at_k(&[5, 3], &truth, 2), 1.0, "k below the truth's");
        assert_eq!(recall_at_k(&[9], &truth, 1), 0.0);
        assert_eq!(recall_at_k(&[], &truth, 0), 1.0);
        assert_eq!(
            recall_at_k(&[5, 3, 9, 1], &truth, 10),
            1.0,
            "k capped by the truth"
        );
    }

    #[test]
    fn mean_recall_and_curve_points() {
        let base = Vectors {
            dimension: 1,
            data: (0..20).map(|i| i as f32).collect(),
        };
        let queries = Vectors {
            dimension: 1,
            data: vec![0.0, 19.0],
        };
        let truth =
            ground_truth::compute(&base, &queries, Metric::L2, 10, 1).expect("ground truth");
        let exact: Vec<Vec<u64>> = (0..2)
            .map(|q| truth.neighbours(q).iter().map(|&i| u64::from(i)).collect())
            .collect();
        assert_eq!(exact[0], (0..10).collect::<Vec<u64>>());
        assert_eq!(mean_recall_at_k(&exact, &truth, 10).expect("recall"), 1.0);
        let half = vec![(0..5).collect(), (0..10).collect()];
        assert_eq!(mean_recall_at_k(&half, &truth, 10).expect("recall"), 0.25);
        assert!(mean_recall_at_k(&half[..1], &truth, 10).is_err());
        assert!(mean_recall_at_k(&half, &truth, 11).is_err());

        let point =
            curve_point(40, &exact, vec![3.0, 1.0], &[0.25, 0.5, 2.0], &truth).expect("point");
        assert_eq!(point.qps, 4.0, "the median pass");
        assert_eq!((point.p50_us, point.p99_us), (1.0, 3.0));
        assert!(curve_point(40, &exact, vec![], &[], &truth).is_err());

        // measure_curve with an exact "index".
        let mut prepared = Vec::new();
        let sweep = Sweep {
            efs: vec![10, 20],
            reps: 2,
            single_inserts: 0,
        };
        let points = measure_curve(
            &queries,
            &truth,
            &sweep,
            |ef| {
                prepared.push(ef);
                Ok(())
            },
            |q| {
                let mut ids: Vec<u64> = (0..20).collect();
                ids.sort_by(|&a, &b| (a as f32 - q[0]).abs().total_cmp(&(b as f32 - q[0]).abs()));
                Ok(ids[..10].to_vec())
            },
        )
        .expect("curve");
        assert_eq!(prepared, [10, 20]);
        assert!(points.iter().all(|p| p.recall_at_10 == 1.0 && p.qps > 0.0));
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }
}
