//! USearch (crates.io `usearch`): the Rust peer.
//!
//! Why USearch rather than hnsw_rs (the other crate the issue allows):
//!
//! - it is the stronger peer, so beating it means something: a C++ HNSW
//!   with SIMD distance kernels picked at run time (NumKong), thread-safe
//!   inserts, widely benchmarked. On the first 30,000 rustdocs-minilm
//!   vectors (M 16, ef_construction 200, 2 threads, a busy 2-core machine)
//!   USearch built in 16–29 s and answered 3,000–3,400 queries/s at ef 40,
//!   hnsw_rs 0.3.5 (default features, `parallel_insert_slice`) took 97 s and
//!   answered 1,335/s, and hnswlib 15 s and 5,300–7,000/s;
//! - it takes exactly hnswlib's graph parameters (`connectivity` = M with
//!   2·M links on layer 0, `expansion_add` = ef_construction,
//!   `expansion_search` = ef) and reports its memory (`memory_usage()`);
//! - it adds three crates (`usearch`, `cxx`, `numkong`) where hnsw_rs brings
//!   about seventy (a logger, mmap, rayon, bincode, ...) and needs a feature
//!   (`simdeez_f`) or nightly for SIMD distances.
//!
//! The cost is a C++ build with the system compiler (`cxx-build`/`cc`; with
//! NumKong's kernels about three minutes of one core the first time per
//! profile), which builds cleanly here with g++. The default features are
//! kept, NumKong included: the peer is measured as its users get it. (NumKong
//! accumulates f32 distances in f64; without it USearch's plain C++ kernels
//! were no faster here.)
//!
//! The index stores f32 (no quantisation). Inserts run on
//! [`HnswConfig::build_threads`] threads (`Index::add` is thread-safe after
//! `reserve_capacity_and_threads`). Metrics: L2 → `L2sq`, dot → `IP`, cosine
//! → `IP` over normalised copies of the vectors (what hnswlib does too; the
//! base is normalised inside the build time, each query inside its search
//! time). USearch takes no seed for its level generator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use super::{HnswConfig, K, PeerRun, Sweep, VectorSet, measure_curve};
use crate::ground_truth::Metric;
use crate::vecfile::Vectors;

/// Rows an inserting thread claims at a time.
const CHUNK: usize = 64;

/// Builds a USearch index over `set` with `config` and measures it over
/// `sweep` (one query per call, on the calling thread).
pub fn run(set: &VectorSet<'_>, config: &HnswConfig, sweep: &Sweep) -> Result<PeerRun> {
    set.check(config.metric)?;
    let (index, build_seconds) = build(set.base, config)?;
    let cosine = config.metric == Metric::Cosine;
    let mut query = vec![0f32; set.queries.dimension];
    let points = measure_curve(
        set.queries,
        set.truth,
        sweep,
        |ef| {
            index.change_expansion_search(ef);
            Ok(())
        },
        |q| {
            let q = if cosine {
                query.copy_from_slice(q);
                normalise(&mut query);
                query.as_slice()
            } else {
                q
            };
            let found = index
                .search(q, K)
                .map_err(|e| anyhow!("usearch search: {e}"))?;
            Ok(found.keys)
        },
    )?;
    let memory_bytes = Some(index.memory_usage() as u64);
    let vectors = index.size();
    index
        .reserve(vectors + sweep.single_inserts)
        .map_err(|e| anyhow!("usearch reserve: {e}"))?;
    let single_inserts = super::time_inserts(
        set.queries,
        sweep.single_inserts,
        vectors as u64,
        |id, q| {
            let q = if cosine {
                query.copy_from_slice(q);
                normalise(&mut query);
                query.as_slice()
            } else {
                q
            };
            index.add(id, q).map_err(|e| anyhow!("usearch add: {e}"))
        },
    )?;
    Ok(PeerRun {
        name: "usearch".to_owned(),
        version: format!(
            "{} (Rust binding, {})",
            usearch::version(),
            index.hardware_acceleration()
        ),
        settings: format!(
            "connectivity {}, expansion_add {}, {:?}, f32",
            config.m,
            config.ef_construction,
            metric_kind(config.metric)
        ),
        build_seconds,
        build_threads: config.build_threads,
        vectors,
        points,
        memory_bytes,
        memory_note: "memory_usage(): graph and vectors".to_owned(),
        single_inserts,
    })
}

/// USearch's metric for ours.
fn metric_kind(metric: Metric) -> MetricKind {
    match metric {
        Metric::L2 => MetricKind::L2sq,
        Metric::Dot | Metric::Cosine => MetricKind::IP,
    }
}

/// Builds the index with ids `0..n` on `config.build_threads` threads and
/// returns it with the wall time of the inserts (and of the normalisation,
/// under cosine).
pub fn build(base: &Vectors, config: &HnswConfig) -> Result<(Index, f64)> {
    let options = IndexOptions {
        dimensions: base.dimension,
        metric: metric_kind(config.metric),
        quantization: ScalarKind::F32,
        connectivity: config.m,
        expansion_add: config.ef_construction,
        expansion_search: 64,
        multi: false,
    };
    let index = Index::new(&options).map_err(|e| anyhow!("usearch index: {e}"))?;
    let threads = config.build_threads.max(1);
    index
        .reserve_capacity_and_threads(base.len(), threads)
        .map_err(|e| anyhow!("usearch reserve: {e}"))?;
    let started = Instant::now();
    let normalised;
    let rows = if config.metric == Metric::Cosine {
        let mut copy = base.clone();
        for row in copy.data.chunks_exact_mut(base.dimension.max(1)) {
            normalise(row);
        }
        normalised = copy;
        &normalised
    } else {
        base
    };
    let next = AtomicUsize::new(0);
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= rows.len() {
                            return Ok(());
                        }
                        for i in start..(start + CHUNK).min(rows.len()) {
                            index
                                .add(i as u64, rows.row(i))
                                .map_err(|e| anyhow!("usearch add of row {i}: {e}"))?;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<()>>()?;
    Ok((index, seconds))
}

/// Scales `v` to unit length (a zero vector stays zero).
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gauss::{self, GaussSpec};
    use crate::ground_truth;

    /// The wrapper finds neighbours (behaviour, not speed): recall@10 on a
    /// small clustered set is high at a generous ef, under both metrics.
    #[test]
    fn finds_neighbours() {
        let spec = GaussSpec {
            base: 3_000,
            queries: 50,
            dimension: 16,
            centres: 20,
            seed: 11,
        };
        let (base, queries) = gauss::generate(&spec, 2).expect("generate");
        for metric in [Metric::L2, Metric::Cosine] {
            let truth = ground_truth::compute(&base, &queries, metric, K, 2).expect("truth");
            let path = std::path::Path::new("unused.vec");
            let set = VectorSet {
                name: "test",
                base_path: path,
                queries_path: path,
                base: &base,
                queries: &queries,
                truth: &truth,
            };
            let config = HnswConfig {
                m: 8,
                ef_construction: 64,
                metric,
                build_threads: 2,
                seed: 1,
            };
            let sweep = Sweep {
                efs: vec![128],
                reps: 1,
                single_inserts: 10,
            };
            let run = run(&set, &config, &sweep).expect("run");
            assert_eq!(run.vectors, 3_000);
            assert!(
                run.points[0].recall_at_10 > 0.9,
                "{metric}: recall {}",
                run.points[0].recall_at_10
            );
            assert!(run.memory_bytes.is_some_and(|b| b > 3_000 * 16 * 4));
            assert_eq!(run.single_inserts.map(|t| t.count), Some(10));
        }
    }
}
