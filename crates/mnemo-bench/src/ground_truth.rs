//! Exact nearest neighbours of every query by brute force: the ground truth
//! that recall is measured against, cached in a file beside the dataset.
//!
//! [`compute`] splits the base rows between threads. Each thread walks its
//! rows in tiles of [`TILE`] rows, transposes a tile (dimension-major), and
//! scores every query against it: for each dimension `j`, `TILE` lanes of
//! `q[j] · tile[j][r]` accumulate at once, a loop the compiler vectorises
//! without any horizontal sum (with AVX2 and FMA where the CPU has them,
//! chosen at run time, else the target's baseline SIMD). A tile stays in
//! cache while all queries pass over it, so the base is read from memory once.
//! A tile's scores feed a bounded heap per query holding a few more
//! candidates than asked; the candidates are then re-scored in `f64` from
//! the original vectors and sorted by (distance, id), so the stored order is
//! exact and does not depend on the thread count.
//!
//! Distances (smaller is nearer) are, per [`Metric`]: cosine `1 - cos(q, b)`
//! (0 for a zero vector's similarity), dot `-q·b`, L2 the squared Euclidean
//! distance.
//!
//! # File format (`gt-<metric>-k<k>.gt`)
//!
//! All integers and floats little-endian:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 8 | magic `MNEMOGT\0` |
//! | 8 | 4 | format version, `1` (u32) |
//! | 12 | 4 | metric: 0 cosine, 1 dot, 2 L2 (u32) |
//! | 16 | 4 | `k`, neighbours per query (u32) |
//! | 20 | 4 | dimension of the vectors (u32) |
//! | 24 | 8 | query count `q` (u64) |
//! | 32 | 8 | base row count (u64) |
//! | 40 | 8 | [`vecfile::fingerprint`] of the base vectors (u64) |
//! | 48 | 8 | fingerprint of the query vectors (u64) |
//! | 56 | 8 | XXH3-64 of bytes 0..56 followed by everything after the header (u64) |
//! | 64 | 4·q·k | neighbour ids (base row numbers, u32), query-major, nearest first |
//! | 64 + 4·q·k | 4·q·k | their distances (f32), same order |
//!
//! The file is exactly `64 + 8·q·k` bytes; anything else is corrupt.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use crate::vecfile::{self, Vectors};

/// The first eight bytes of every ground-truth file.
pub const MAGIC: &[u8; 8] = b"MNEMOGT\0";
/// The format version written.
pub const VERSION: u32 = 1;
/// Bytes before the ids.
pub const HEADER_LEN: usize = 64;
/// Neighbours stored per query by default: enough for recall@10 and @100.
pub const DEFAULT_K: usize = 100;
/// Base rows per tile of the brute-force scan.
pub const TILE: usize = 64;

/// How similar two vectors are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Metric {
    /// Cosine similarity (the normalised dot product).
    Cosine,
    /// Inner product.
    Dot,
    /// Euclidean distance.
    L2,
}

impl Metric {
    /// Short name: `cosine`, `dot`, `l2`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        }
    }

    fn code(self) -> u32 {
        match self {
            Metric::Cosine => 0,
            Metric::Dot => 1,
            Metric::L2 => 2,
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::Dot),
            2 => Some(Metric::L2),
            _ => None,
        }
    }

    /// The exact distance of `a` and `b` (see the module documentation), in
    /// `f64`.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f64 {
        let pairs = a.iter().zip(b).map(|(&x, &y)| (f64::from(x), f64::from(y)));
        match self {
            Metric::L2 => pairs.map(|(x, y)| (x - y) * (x - y)).sum(),
            Metric::Dot => -pairs.map(|(x, y)| x * y).sum::<f64>(),
            Metric::Cosine => {
                let (mut dot, mut aa, mut bb) = (0.0, 0.0, 0.0);
                for (x, y) in pairs {
                    dot += x * y;
                    aa += x * x;
                    bb += y * y;
                }
                if aa == 0.0 || bb == 0.0 {
                    1.0
                } else {
                    1.0 - dot / (aa.sqrt() * bb.sqrt())
                }
            }
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The exact `k` nearest base rows of every query.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// The metric.
    pub metric: Metric,
    /// Neighbours per query.
    pub k: usize,
    /// Dimension of the vectors.
    pub dimension: usize,
    /// Number of queries.
    pub queries: usize,
    /// Number of base rows searched.
    pub base: usize,
    /// [`vecfile::fingerprint`] of the base vectors.
    pub base_fingerprint: u64,
    /// [`vecfile::fingerprint`] of the query vectors.
    pub queries_fingerprint: u64,
    /// `queries × k` base row numbers, nearest first.
    ids: Vec<u32>,
    /// Their distances.
    distances: Vec<f32>,
}

impl GroundTruth {
    /// The `k` nearest base rows of query `query`, nearest first.
    ///
    /// # Panics
    ///
    /// If `query >= self.queries`.
    pub fn neighbours(&self, query: usize) -> &[u32] {
        &self.ids[query * self.k..(query + 1) * self.k]
    }

    /// Their distances.
    ///
    /// # Panics
    ///
    /// If `query >= self.queries`.
    pub fn distances(&self, query: usize) -> &[f32] {
        &self.distances[query * self.k..(query + 1) * self.k]
    }

    /// Whether this is the ground truth of `base` and `queries` under
    /// `metric` with at least `k` neighbours.
    pub fn answers(&self, base: &Vectors, queries: &Vectors, metric: Metric, k: usize) -> bool {
        self.metric == metric
            && self.k >= k
            && self.dimension == base.dimension
            && self.base == base.len()
            && self.queries == queries.len()
            && self.base_fingerprint == vecfile::fingerprint(base)
            && self.queries_fingerprint == vecfile::fingerprint(queries)
    }

    /// The file format's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(8 * self.ids.len());
        body.extend(self.ids.iter().flat_map(|x| x.to_le_bytes()));
        body.extend(self.distances.iter().flat_map(|x| x.to_le_bytes()));
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.metric.code().to_le_bytes());
        // `compute` and `decode` keep k and the dimension below 2^32.
        out.extend_from_slice(&(self.k as u32).to_le_bytes());
        out.extend_from_slice(&(self.dimension as u32).to_le_bytes());
        out.extend_from_slice(&(self.queries as u64).to_le_bytes());
        out.extend_from_slice(&(self.base as u64).to_le_bytes());
        out.extend_from_slice(&self.base_fingerprint.to_le_bytes());
        out.extend_from_slice(&self.queries_fingerprint.to_le_bytes());
        let checksum = checksum(&out, &body);
        out.extend_from_slice(&checksum.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a ground-truth file's bytes, checking the header, size,
    /// checksum and that every id is a base row.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        ensure!(
            bytes.len() >= HEADER_LEN,
            "{} bytes: shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        );
        ensure!(&bytes[..8] == MAGIC, "wrong magic");
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(b)
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let version = u32_at(8);
        ensure!(version == VERSION, "unknown version {version}");
        let metric = Metric::from_code(u32_at(12))
            .with_context(|| format!("unknown metric code {}", u32_at(12)))?;
        let k = u32_at(16);
        let dimension = u32_at(20);
        let queries = u64_at(24);
        let base = u64_at(32);
        let expected = queries
            .checked_mul(u64::from(k))
            .and_then(|v| v.checked_mul(8))
            .and_then(|v| v.checked_add(HEADER_LEN as u64));
        if expected != Some(bytes.len() as u64) {
            bail!(
                "header says {queries} queries × {k} neighbours, but the file has {} bytes",
                bytes.len()
            );
        }
        ensure!(k > 0, "k is 0");
        ensure!(u64::from(k) <= base, "k = {k} but only {base} base rows");
        let body = &bytes[HEADER_LEN..];
        ensure!(
            checksum(&bytes[..56], body) == u64_at(56),
            "checksum mismatch: the file is damaged"
        );
        let n = body.len() / 8;
        let word = |c: &[u8]| [c[0], c[1], c[2], c[3]];
        let ids: Vec<u32> = body[..4 * n]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(word(c)))
            .collect();
        if let Some(bad) = ids.iter().find(|&&id| u64::from(id) >= base) {
            bail!("neighbour id {bad} is not one of the {base} base rows");
        }
        let distances = body[4 * n..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(word(c)))
            .collect();
        Ok(Self {
            metric,
            k: k as usize,
            dimension: dimension as usize,
            queries: usize::try_from(queries)?,
            base: usize::try_from(base)?,
            base_fingerprint: u64_at(40),
            queries_fingerprint: u64_at(48),
            ids,
            distances,
        })
    }

    /// Writes the file (through a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("gt.tmp");
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&self.encode())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
    }

    /// Reads and decodes a ground-truth file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::decode(&bytes)
            .with_context(|| format!("{} is not a valid ground-truth file", path.display()))
    }
}

/// XXH3-64 of the header's first 56 bytes followed by the body.
fn checksum(header: &[u8], body: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(header);
    hasher.update(body);
    hasher.digest()
}

/// `gt-<metric>-k<k>.gt`.
pub fn file_name(metric: Metric, k: usize) -> String {
    format!("gt-{}-k{k}.gt", metric.name())
}

/// The path of the cached ground truth in `dir`.
pub fn path(dir: &Path, metric: Metric, k: usize) -> PathBuf {
    dir.join(file_name(metric, k))
}

/// The ground truth of `base` and `queries` cached in `dir` (as
/// [`file_name`]), computed with every core and written there first if the
/// file is missing, damaged, or belongs to other vectors.
pub fn ensure(
    dir: &Path,
    base: &Vectors,
    queries: &Vectors,
    metric: Metric,
    k: usize,
) -> Result<GroundTruth> {
    let path = path(dir, metric, k);
    match GroundTruth::read(&path) {
        Ok(gt) if gt.k == k && gt.answers(base, queries, metric, k) => return Ok(gt),
        Ok(_) => eprintln!(
            "{} belongs to other vectors; recomputing it",
            path.display()
        ),
        Err(e) if path.exists() => eprintln!("{e:#}; recomputing it"),
        Err(_) => {}
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let gt = compute(base, queries, metric, k, threads)?;
    eprintln!(
        "  ground truth ({metric}, k = {k}) of {} queries over {} × {} in {:.1} s on {threads} threads",
        queries.len(),
        base.len(),
        base.dimension,
        started.elapsed().as_secs_f64()
    );
    gt.write(&path)?;
    Ok(gt)
}

/// The exact `k` nearest base rows of every query under `metric`, by brute
/// force on `threads` threads.
pub fn compute(
    base: &Vectors,
    queries: &Vectors,
    metric: Metric,
    k: usize,
    threads: usize,
) -> Result<GroundTruth> {
    let d = base.dimension;
    ensure!(d > 0, "dimension 0");
    ensure!(
        queries.dimension == d,
        "queries have dimension {}, base rows {d}",
        queries.dimension
    );
    ensure!(
        base.data.len() == base.len() * d && queries.data.len() == queries.len() * d,
        "vectors do not fill whole rows"
    );
    ensure!(k > 0, "k must be at least 1");
    ensure!(k <= base.len(), "k = {k} but only {} base rows", base.len());
    ensure!(
        u32::try_from(base.len()).is_ok() && u32::try_from(d).is_ok() && u32::try_from(k).is_ok(),
        "too many base rows, values or neighbours for the file format"
    );
    for (what, v) in [("base", base), ("queries", queries)] {
        if let Some(i) = v.data.iter().position(|x| !x.is_finite()) {
            bail!("{what} row {} has a non-finite value at {}", i / d, i % d);
        }
    }
    let n = base.len();
    let keep = (k + k / 4 + 8).min(n);
    // The part of the distance that depends on the base row only.
    let base_term: Vec<f32> = match metric {
        Metric::L2 => (0..n).map(|i| dot(base.row(i), base.row(i))).collect(),
        Metric::Cosine => (0..n)
            .map(|i| {
                let norm = dot(base.row(i), base.row(i)).sqrt();
                if norm > 0.0 { 1.0 / norm } else { 0.0 }
            })
            .collect(),
        Metric::Dot => Vec::new(),
    };
    let threads = threads.clamp(1, n.div_ceil(TILE));
    let tiles_per_thread = n.div_ceil(TILE).div_ceil(threads);
    let partial: Vec<Vec<TopK>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = (t * tiles_per_thread * TILE).min(n);
                let end = ((t + 1) * tiles_per_thread * TILE).min(n);
                let base_term = &base_term;
                s.spawn(move || scan(base, queries, base_term, metric, start..end, keep))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });

    // Re-score the candidates exactly and keep the k nearest.
    let nq = queries.len();
    let mut ids = vec![0u32; nq * k];
    let mut distances = vec![0f32; nq * k];
    let per_thread = nq.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for ((t, ids), distances) in ids
            .chunks_mut(per_thread * k)
            .enumerate()
            .zip(distances.chunks_mut(per_thread * k))
        {
            let partial = &partial;
            s.spawn(move || {
                let mut candidates: Vec<(f64, u32)> = Vec::new();
                for (i, (ids, distances)) in ids
                    .chunks_exact_mut(k)
                    .zip(distances.chunks_exact_mut(k))
                    .enumerate()
                {
                    let q = t * per_thread + i;
                    candidates.clear();
                    for tops in partial {
                        candidates.extend(tops[q].heap.iter().map(|c| {
                            (
                                metric.distance(queries.row(q), base.row(c.id as usize)),
                                c.id,
                            )
                        }));
                    }
                    candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    for (slot, (dist, id)) in candidates.iter().take(k).enumerate() {
                        ids[slot] = *id;
                        distances[slot] = *dist as f32;
                    }
                }
            });
        }
    });
    Ok(GroundTruth {
        metric,
        k,
        dimension: d,
        queries: nq,
        base: n,
        base_fingerprint: vecfile::fingerprint(base),
        queries_fingerprint: vecfile::fingerprint(queries),
        ids,
        distances,
    })
}

/// One thread's share: the `keep` best candidates of every query among the
/// base rows `rows`, by the fast (f32, rank-equivalent) score.
fn scan(
    base: &Vectors,
    queries: &Vectors,
    base_term: &[f32],
    metric: Metric,
    rows: std::ops::Range<usize>,
    keep: usize,
) -> Vec<TopK> {
    let d = base.dimension;
    let mut tops: Vec<TopK> = (0..queries.len()).map(|_| TopK::new(keep)).collect();
    let mut tile = vec![0f32; TILE * d];
    let mut scores = [0f32; TILE];
    let mut start = rows.start;
    while start < rows.end {
        let count = TILE.min(rows.end - start);
        // Transpose: tile[j * TILE + r] = base[start + r][j], zero-padded.
        tile.fill(0.0);
        for r in 0..count {
            for (j, &x) in base.row(start + r).iter().enumerate() {
                tile[j * TILE + r] = x;
            }
        }
        for (q, top) in tops.iter_mut().enumerate() {
            tile_dots(&tile, queries.row(q), &mut scores);
            let scores = &mut scores[..count];
            match metric {
                Metric::L2 => {
                    // |q - b|² - |q|² = |b|² - 2 q·b.
                    for (s, &b2) in scores.iter_mut().zip(&base_term[start..start + count]) {
                        *s = b2 - 2.0 * *s;
                    }
                }
                Metric::Cosine => {
                    for (s, &inv) in scores.iter_mut().zip(&base_term[start..start + count]) {
                        *s = -*s * inv;
                    }
                }
                Metric::Dot => {
                    for s in scores.iter_mut() {
                        *s = -*s;
                    }
                }
            }
            let mut threshold = top.threshold();
            for (r, &s) in scores.iter().enumerate() {
                if s < threshold {
                    top.push(s, (start + r) as u32);
                    threshold = top.threshold();
                }
            }
        }
        start += count;
    }
    tops
}

/// The dot products of `q` with the `TILE` rows of a transposed tile
/// (`tile[j * TILE + r]` is row `r`'s value `j`).
fn tile_dots(tile: &[f32], q: &[f32], out: &mut [f32; TILE]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { tile_dots_avx2_fma(tile, q, out) };
        return;
    }
    tile_dots_generic::<false>(tile, q, out);
}

/// [`tile_dots_generic`] compiled for AVX2 and FMA.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_dots_avx2_fma(tile: &[f32], q: &[f32], out: &mut [f32; TILE]) {
    tile_dots_generic::<true>(tile, q, out);
}

/// `TILE` accumulators, one per row, updated per dimension: the inner loop
/// over rows has no dependency between lanes and vectorises.
#[inline(always)]
fn tile_dots_generic<const FMA: bool>(tile: &[f32], q: &[f32], out: &mut [f32; TILE]) {
    let mut acc = [0f32; TILE];
    let (columns, _) = tile.as_chunks::<TILE>();
    for (column, &qj) in columns.iter().zip(q) {
        for r in 0..TILE {
            acc[r] = if FMA {
                qj.mul_add(column[r], acc[r])
            } else {
                acc[r] + qj * column[r]
            };
        }
    }
    *out = acc;
}

/// `a · b` in f32 with several accumulators (vectorises).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + ar.iter().zip(br).map(|(x, y)| x * y).sum::<f32>()
}

/// A candidate: its fast score and base row.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f32,
    id: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.id.cmp(&other.id))
    }
}

/// The `capacity` lowest-scoring candidates seen (a max-heap: the worst on
/// top, replaced when a better one comes).
struct TopK {
    heap: BinaryHeap<Candidate>,
    capacity: usize,
}

impl TopK {
    fn new(capacity: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(capacity + 1),
            capacity,
        }
    }

    /// Scores at or above this cannot enter.
    fn threshold(&self) -> f32 {
        if self.heap.len() < self.capacity {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |c| c.score)
        }
    }

    fn push(&mut self, score: f32, id: u32) {
        let candidate = Candidate { score, id };
        if self.heap.len() < self.capacity {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            // Replacing the top sifts it down when `worst` is dropped.
            *worst = candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gauss::{self, GaussSpec};

    /// `rows` vectors with components uniform in [-1, 1).
    fn random(rows: usize, dimension: usize, seed: u64) -> Vectors {
        use crate::random::{Draw, SplitMix64};
        let mut rng = SplitMix64::new(seed);
        Vectors {
            dimension,
            data: (0..rows * dimension)
                .map(|_| (rng.uniform() * 2.0 - 1.0) as f32)
                .collect(),
        }
    }

    /// The naive answer: every distance in f64, sorted by (distance, id).
    fn naive(base: &Vectors, queries: &Vectors, metric: Metric, k: usize) -> Vec<Vec<u32>> {
        (0..queries.len())
            .map(|q| {
                let mut all: Vec<(f64, u32)> = (0..base.len())
                    .map(|i| (metric.distance(queries.row(q), base.row(i)), i as u32))
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.into_iter().take(k).map(|(_, id)| id).collect()
            })
            .collect()
    }

    #[test]
    fn matches_a_naive_loop() {
        for (rows, dimension, k) in [(1, 3, 1), (200, 5, 7), (1_000, 33, 10), (130, 16, 130)] {
            let base = random(rows, dimension, rows as u64);
            let queries = random(23, dimension, 99);
            for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
                let want = naive(&base, &queries, metric, k);
                for threads in [1, 2, 5] {
                    let gt = compute(&base, &queries, metric, k, threads).expect("compute");
                    assert_eq!((gt.k, gt.queries, gt.base), (k, 23, rows));
                    for (q, want) in want.iter().enumerate() {
                        assert_eq!(
                            gt.neighbours(q),
                            want.as_slice(),
                            "{metric}, {rows} × {dimension}, k {k}, {threads} threads, query {q}"
                        );
                        let d = gt.distances(q);
                        assert!(d.windows(2).all(|w| w[0] <= w[1]));
                        let exact = metric.distance(queries.row(q), base.row(want[0] as usize));
                        assert!((f64::from(d[0]) - exact).abs() <= 1e-6 * exact.abs().max(1.0));
                    }
                }
            }
        }
    }

    #[test]
    fn clustered_data_and_cosine_of_unnormalised_rows() {
        let spec = GaussSpec {
            base: 2_500,
            queries: 40,
            dimension: 24,
            centres: 12,
            seed: 3,
        };
        let (base, queries) = gauss::generate(&spec, 2).expect("generate");
        for metric in [Metric::L2, Metric::Cosine] {
            let gt = compute(&base, &queries, metric, 25, 2).expect("compute");
            let want = naive(&base, &queries, metric, 25);
            for (q, want) in want.iter().enumerate() {
                assert_eq!(gt.neighbours(q), want.as_slice(), "{metric} query {q}");
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let base = random(10, 4, 1);
        let queries = random(3, 4, 2);
        assert!(compute(&base, &queries, Metric::L2, 0, 1).is_err());
        assert!(compute(&base, &queries, Metric::L2, 11, 1).is_err());
        assert!(compute(&base, &random(3, 5, 2), Metric::L2, 1, 1).is_err());
        let mut nan = base.clone();
        nan.data[17] = f32::NAN;
        let err = compute(&nan, &queries, Metric::L2, 1, 1).expect_err("NaN");
        assert!(format!("{err}").contains("row 4"), "{err}");
        // Zero vectors under cosine: well defined (distance 1).
        let mut zero = base.clone();
        zero.data[..4].fill(0.0);
        let gt = compute(&zero, &queries, Metric::Cosine, 10, 1).expect("zero row");
        assert!(gt.neighbours(0).contains(&0));
    }

    #[test]
    fn file_round_trip_and_corruption() {
        let base = random(50, 8, 5);
        let queries = random(6, 8, 6);
        let gt = compute(&base, &queries, Metric::L2, 9, 2).expect("compute");
        let bytes = gt.encode();
        assert_eq!(bytes.len(), HEADER_LEN + 8 * 6 * 9);
        assert_eq!(GroundTruth::decode(&bytes).expect("decode"), gt);

        // Every truncation is an error, never a panic.
        for len in 0..bytes.len() {
            assert!(GroundTruth::decode(&bytes[..len]).is_err(), "length {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(GroundTruth::decode(&longer).is_err());
        // Every flipped byte is an error (the checksum covers all of them).
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            assert!(GroundTruth::decode(&bad).is_err(), "byte {at}");
        }
        // A header whose sizes overflow.
        let mut huge = bytes.clone();
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(GroundTruth::decode(&huge).is_err());
        // An id beyond the base with a valid checksum.
        let mut bad_id = gt.clone();
        bad_id.ids[3] = 50;
        let err = GroundTruth::decode(&bad_id.encode()).expect_err("id");
        assert!(format!("{err}").contains("50"), "{err}");
        // Arbitrary bytes.
        for seed in 0..200u64 {
            let junk = random(1, (seed % 40) as usize + 1, seed);
            let mut raw: Vec<u8> = junk.data.iter().flat_map(|x| x.to_le_bytes()).collect();
            if seed % 2 == 0 && raw.len() >= 8 {
                raw[..8].copy_from_slice(MAGIC);
            }
            assert!(GroundTruth::decode(&raw).is_err());
        }
    }

    #[test]
    fn ensure_caches_and_recomputes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = random(300, 6, 8);
        let queries = random(12, 6, 9);
        let gt = ensure(dir.path(), &base, &queries, Metric::Cosine, 20).expect("compute");
        let file = path(dir.path(), Metric::Cosine, 20);
        assert!(file.exists());
        assert_eq!(GroundTruth::read(&file).expect("read"), gt);
        assert_eq!(
            ensure(dir.path(), &base, &queries, Metric::Cosine, 20).expect("cached"),
            gt
        );
        // Other vectors: recomputed.
        let other = random(300, 6, 10);
        let gt2 = ensure(dir.path(), &other, &queries, Metric::Cosine, 20).expect("recompute");
        assert!(gt2.answers(&other, &queries, Metric::Cosine, 20));
        assert!(!gt2.answers(&base, &queries, Metric::Cosine, 20));
        // A damaged file: recomputed.
        std::fs::write(&file, b"MNEMOGT\0garbage").expect("damage");
        let gt3 = ensure(dir.path(), &other, &queries, Metric::Cosine, 20).expect("recompute");
        assert_eq!(gt3, gt2);
    }
}
