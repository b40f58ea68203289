//! The `vector` suite: mnemo-vector's HNSW on real and clustered vectors.
//!
//! Work in progress: mnemo's own curve on the rustdocs-minilm dataset.

use std::time::Instant;

use anyhow::{Context, Result};
use mnemo_vector::{
    FlatIndex, Hnsw, HnswParams, Metric, Quantization, SearchContext, SearchParams, VectorSource,
};

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better};
use crate::rustdocs;
use crate::vecfile::Vectors;

/// Neighbours per query in the recall metric.
const K: usize = 10;
/// The ef sweep.
const EFS: [usize; 7] = [10, 16, 24, 40, 64, 100, 160];

/// One point of a recall/QPS curve.
#[derive(Debug, Clone, Copy)]
pub struct CurvePoint {
    /// Search width.
    pub ef: usize,
    /// Mean recall@10.
    pub recall: f64,
    /// Single-thread queries per second.
    pub qps: f64,
    /// Median latency, µs.
    pub p50_us: f64,
}

/// A dataset's rows as the re-ranking source of a compact index (ids are
/// row numbers).
struct Rows<'a>(&'a Vectors);

impl VectorSource for Rows<'_> {
    fn vector(&self, id: u64) -> Option<&[f32]> {
        let i = usize::try_from(id).ok()?;
        (i < self.0.len()).then(|| self.0.row(i))
    }
}

/// The exact top-K ids of every query.
fn ground_truth(base: &Vectors, queries: &Vectors, metric: Metric) -> Result<Vec<Vec<u64>>> {
    let mut flat = FlatIndex::new(base.dimension, metric)?;
    let ids: Vec<u64> = (0..base.len() as u64).collect();
    flat.insert_batch(&ids, &base.data)?;
    Ok(flat
        .search_batch(&queries.data, K)?
        .into_iter()
        .map(|r| r.into_iter().map(|n| n.id).collect())
        .collect())
}

/// Builds mnemo's index over `base`, returning it and the build seconds.
fn build(base: &Vectors, metric: Metric, params: HnswParams) -> Result<(Hnsw, f64)> {
    let mut index = Hnsw::new(base.dimension, metric, params)?;
    let ids: Vec<u64> = (0..base.len() as u64).collect();
    let started = Instant::now();
    index.insert_batch(&ids, &base.data)?;
    Ok((index, started.elapsed().as_secs_f64()))
}

/// Recall and single-thread speed of `index` at every ef.
fn curve(
    index: &mut Hnsw,
    queries: &Vectors,
    truth: &[Vec<u64>],
    source: &dyn VectorSource,
) -> Result<Vec<CurvePoint>> {
    let mut ctx = SearchContext::new();
    let mut points = Vec::new();
    for ef in EFS {
        let params = SearchParams {
            ef: Some(ef),
            vectors: Some(source),
            ..SearchParams::k(K)
        };
        // Warm-up pass, then the timed pass.
        for i in 0..queries.len().min(100) {
            index.search_with(&mut ctx, queries.row(i), &params)?;
        }
        let mut latencies = Vec::with_capacity(queries.len());
        let mut hits = 0usize;
        let started = Instant::now();
        for (i, want) in truth.iter().enumerate() {
            let t = Instant::now();
            let got = index.search_with(&mut ctx, queries.row(i), &params)?;
            latencies.push(t.elapsed().as_secs_f64() * 1e6);
            hits += got.iter().filter(|n| want.contains(&n.id)).count();
        }
        let total = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        points.push(CurvePoint {
            ef,
            recall: hits as f64 / (truth.len() * K) as f64,
            qps: truth.len() as f64 / total,
            p50_us: latencies[latencies.len() / 2],
        });
    }
    Ok(points)
}

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    if std::env::var_os("MNEMO_ONLY_PATTERNS").is_some() {
        return patterns(opts.quick);
    }
    let data = rustdocs::ensure(&rustdocs::default_dir()?, false)
        .context("loading the rustdocs-minilm dataset")?;
    let (base, queries) = if opts.quick {
        let n = 5_000.min(data.base.len());
        (
            Vectors {
                dimension: data.base.dimension,
                data: data.base.data[..n * data.base.dimension].to_vec(),
            },
            Vectors {
                dimension: data.queries.dimension,
                data: data.queries.data[..100 * data.queries.dimension].to_vec(),
            },
        )
    } else {
        (data.base.clone(), data.queries.clone())
    };
    let truth = ground_truth(&base, &queries, Metric::Cosine)?;
    let mut results = Vec::new();
    let source = Rows(&base);
    for quantization in [
        Quantization::None,
        Quantization::Sq8,
        Quantization::Sq8Compact,
    ] {
        let params = HnswParams {
            quantization,
            build_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ..HnswParams::new(16, 200)
        };
        let (mut index, seconds) = build(&base, Metric::Cosine, params)?;
        let label = match quantization {
            Quantization::None => "f32",
            Quantization::Sq8 => "sq8",
            Quantization::Sq8Compact => "sq8c",
        };
        eprintln!(
            "{label}: built {} in {seconds:.1} s, {} bytes/vector, vectors {:.3}x f32",
            base.len(),
            index.memory_bytes() / base.len(),
            index.vector_bytes() as f64 / (base.data.len() * 4) as f64
        );
        for p in curve(&mut index, &queries, &truth, &source)? {
            eprintln!(
                "  ef {:4}  recall@10 {:.4}  {:8.0} qps  p50 {:7.1} µs",
                p.ef, p.recall, p.qps, p.p50_us
            );
            results.push(
                BenchResult::new(
                    &format!("rustdocs_{label}_ef{}_qps", p.ef),
                    "queries/s",
                    p.qps,
                    Better::Higher,
                )
                .param("recall_at_10", p.recall)
                .param("p50_us", p.p50_us),
            );
        }
        let mut insert_us = Vec::new();
        for i in 0..200.min(queries.len()) {
            let t = Instant::now();
            index.insert(10_000_000 + i as u64, queries.row(i))?;
            insert_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        insert_us.sort_by(f64::total_cmp);
        eprintln!(
            "  single insert p50 {:.1} µs",
            insert_us[insert_us.len() / 2]
        );
    }
    Ok(results)
}

/// The ReasoningBank case: top-5 of 1,000 patterns of 128 dimensions, by
/// exact search and by a small graph; mean latency per lookup in µs and the
/// graph's recall@5.
pub fn patterns(quick: bool) -> Result<Vec<BenchResult>> {
    use rand::{Rng, SeedableRng};
    let dim = 128;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut gauss = || {
        // Box–Muller.
        let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let centres: Vec<f32> = (0..20 * dim).map(|_| gauss()).collect();
    let mut sample = |n: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = (i * 7) % 20;
            for d in 0..dim {
                out.push(centres[c * dim + d] + 0.6 * gauss());
            }
        }
        out
    };
    let base = sample(1_000);
    let queries = sample(if quick { 200 } else { 2_000 });
    let ids: Vec<u64> = (0..1_000).collect();
    let mut flat = FlatIndex::new(dim, Metric::Cosine)?;
    flat.insert_batch(&ids, &base)?;
    let m: usize = std::env::var("MNEMO_PM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let mut graph = Hnsw::new(dim, Metric::Cosine, HnswParams::new(m, 200))?;
    graph.insert_batch(&ids, &base)?;
    let mut ctx = SearchContext::new();
    let rounds = if quick { 1 } else { 20 };
    let time = |f: &mut dyn FnMut(&[f32])| {
        let started = Instant::now();
        for _ in 0..rounds {
            for q in queries.chunks_exact(dim) {
                f(q);
            }
        }
        started.elapsed().as_secs_f64() * 1e6 / (rounds * queries.len() / dim) as f64
    };
    let truth: Vec<Vec<u64>> = queries
        .chunks_exact(dim)
        .map(|q| Ok(flat.search(q, 5)?.iter().map(|n| n.id).collect()))
        .collect::<Result<_>>()?;
    let flat_us = time(&mut |q| {
        let _ = flat.search_with(&mut ctx, q, 5, mnemo_vector::Filter::All);
    });
    let mut results = vec![
        BenchResult::new("patterns_1k_flat_top5", "µs", flat_us, Better::Lower)
            .target(3.0)
            .param("recall_at_5", 1.0),
    ];
    for ef in [5, 8, 16, 32] {
        let params = SearchParams {
            ef: Some(ef),
            ..SearchParams::k(5)
        };
        let mut hits = 0;
        for (q, want) in queries.chunks_exact(dim).zip(&truth) {
            let got = graph.search_with(&mut ctx, q, &params)?;
            hits += got.iter().filter(|n| want.contains(&n.id)).count();
        }
        let us = time(&mut |q| {
            let _ = graph.search_with(&mut ctx, q, &params);
        });
        results.push(
            BenchResult::new(
                &format!("patterns_1k_hnsw_ef{ef}_top5"),
                "µs",
                us,
                Better::Lower,
            )
            .target(3.0)
            .param("recall_at_5", hits as f64 / (truth.len() * 5) as f64),
        );
    }
    Ok(results)
}
