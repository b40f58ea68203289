//! The `gauss` datasets: vectors from a seeded Gaussian mixture, clustered
//! rather than uniform, for the vector benchmarks at sizes the real-text
//! dataset cannot reach.
//!
//! The mixture, fixed by the seed:
//!
//! - `centres` cluster centres, each component `N(0, 1)`;
//! - cluster weights `exp(N(0, 1))` (log-normal: a few large clusters, many
//!   small ones), normalised;
//! - a spread per cluster, log-uniform in [[`SPREAD_MIN`], [`SPREAD_MAX`]];
//! - a scale per dimension, `exp(-DECAY · j / dimension)` for dimension `j`,
//!   applied to the centre and the noise alike: the variance falls off across
//!   dimensions like the spectrum of real embeddings, so the data has a lower
//!   intrinsic dimension than its 128 coordinates.
//!
//! Row `i` picks a cluster `c` by weight and is `scale ⊙ (centre_c +
//! spread_c · z)` with `z ~ N(0, I)`. Every row draws from its own random
//! stream (SplitMix64 seeded by the seed and the row's number, normals by
//! Box–Muller), so rows are generated in parallel and the result does not
//! depend on the number of threads. Queries are drawn from the same mixture
//! with streams of their own, so none is a base row.
//!
//! `mnemo-bench dataset gauss` writes, to
//! `${XDG_CACHE_HOME:-~/.cache}/mnemo/datasets/gauss-1m-128/` (or
//! `gauss-20k-128/` with `--quick`):
//!
//! - `base.vec` and `queries.vec` (the format of [`crate::vecfile`]);
//! - `manifest.json`: the parameters, the generator version and the
//!   fingerprint of each file's vectors.
//!
//! [`ensure()`] returns the dataset and regenerates it when a file is missing,
//! damaged, or was made with other parameters.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

use crate::random::{Draw, SplitMix64, mix64};
use crate::vecfile::{self, Vectors};

/// Version of the generator: bump it when the mixture or the streams change,
/// so cached datasets made by the old code are regenerated.
pub const GENERATOR: &str = "gauss-mixture v1";
/// Smallest cluster spread (standard deviation of the noise, before the
/// per-dimension scale).
pub const SPREAD_MIN: f64 = 0.2;
/// Largest cluster spread.
pub const SPREAD_MAX: f64 = 0.8;
/// How fast the per-dimension scale falls: the last dimension's scale is
/// `exp(-DECAY)` of the first's.
pub const DECAY: f64 = 3.0;
/// Stream domain of the mixture's own parameters.
const DOMAIN_MIXTURE: u64 = 0x6d69_7874_7572_6500;
/// Stream domain of the base rows.
const DOMAIN_BASE: u64 = 0x6261_7365_0000_0000;
/// Stream domain of the query rows.
const DOMAIN_QUERIES: u64 = 0x7175_6572_7900_0000;

/// The size and seed of one Gaussian-mixture dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GaussSpec {
    /// Base vectors.
    pub base: usize,
    /// Held-out query vectors.
    pub queries: usize,
    /// Values per vector.
    pub dimension: usize,
    /// Clusters in the mixture.
    pub centres: usize,
    /// Seed of everything random.
    pub seed: u64,
}

impl GaussSpec {
    /// The benchmark set: 1,000,000 base and 1,000 query vectors of 128
    /// values from 1,000 clusters.
    pub const FULL: Self = Self {
        base: 1_000_000,
        queries: 1_000,
        dimension: 128,
        centres: 1_000,
        seed: 0x6761_7573_735f_3132,
    };

    /// The smoke-test set: 20,000 base and 1,000 query vectors from 100
    /// clusters (the same seed and shape otherwise).
    pub const QUICK: Self = Self {
        base: 20_000,
        centres: 100,
        ..Self::FULL
    };

    /// The spec for `--quick` or not.
    pub fn new(quick: bool) -> Self {
        if quick { Self::QUICK } else { Self::FULL }
    }

    /// Directory name: `gauss-<base>-<dimension>`, the base count written
    /// with `k` or `m` where it divides evenly (`gauss-1m-128`).
    pub fn name(&self) -> String {
        let n = self.base;
        let count = if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
            format!("{}m", n / 1_000_000)
        } else if n >= 1_000 && n.is_multiple_of(1_000) {
            format!("{}k", n / 1_000)
        } else {
            n.to_string()
        };
        format!("gauss-{count}-{}", self.dimension)
    }

    /// The manifest this spec produces, without the fingerprints and time.
    fn manifest(&self) -> Manifest {
        Manifest {
            name: self.name(),
            generator: GENERATOR.to_owned(),
            dimension: self.dimension,
            base: self.base,
            queries: self.queries,
            centres: self.centres,
            seed: self.seed,
            spread_min: SPREAD_MIN,
            spread_max: SPREAD_MAX,
            decay: DECAY,
            base_fingerprint: 0,
            queries_fingerprint: 0,
            build_seconds: 0.0,
        }
    }
}

/// What `manifest.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Dataset name (the directory's, by default).
    pub name: String,
    /// [`GENERATOR`] of the code that made it.
    pub generator: String,
    /// Values per vector.
    pub dimension: usize,
    /// Rows of `base.vec`.
    pub base: usize,
    /// Rows of `queries.vec`.
    pub queries: usize,
    /// Clusters in the mixture.
    pub centres: usize,
    /// The seed.
    pub seed: u64,
    /// [`SPREAD_MIN`].
    pub spread_min: f64,
    /// [`SPREAD_MAX`].
    pub spread_max: f64,
    /// [`DECAY`].
    pub decay: f64,
    /// [`vecfile::fingerprint`] of the base vectors.
    pub base_fingerprint: u64,
    /// [`vecfile::fingerprint`] of the query vectors.
    pub queries_fingerprint: u64,
    /// Seconds taken to generate and write the dataset.
    pub build_seconds: f64,
}

impl Manifest {
    /// Whether this manifest describes what `spec` generates with this
    /// version of the code (ignoring fingerprints and build time).
    fn matches(&self, spec: &GaussSpec) -> bool {
        let want = spec.manifest();
        Manifest {
            base_fingerprint: 0,
            queries_fingerprint: 0,
            build_seconds: 0.0,
            ..self.clone()
        } == want
    }
}

/// A loaded Gaussian-mixture dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where it lives.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Base vectors.
    pub base: Vectors,
    /// Query vectors.
    pub queries: Vectors,
}

impl Dataset {
    /// Path of the base vector file.
    pub fn base_path(&self) -> PathBuf {
        self.dir.join("base.vec")
    }

    /// Path of the query vector file.
    pub fn queries_path(&self) -> PathBuf {
        self.dir.join("queries.vec")
    }
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/mnemo/datasets/<spec name>`.
pub fn default_dir(spec: &GaussSpec) -> Result<PathBuf> {
    Ok(crate::rustdocs::cache_dir()?
        .join("datasets")
        .join(spec.name()))
}

/// The dataset of `spec` in `dir`, generated first if it is missing, damaged
/// or made with other parameters (or if `rebuild`).
pub fn ensure(dir: &Path, spec: &GaussSpec, rebuild: bool) -> Result<Dataset> {
    if !rebuild {
        match load(dir, spec) {
            Ok(d) => return Ok(d),
            Err(e) => eprintln!("gauss dataset in {}: {e:#}; generating it", dir.display()),
        }
    }
    build(dir, spec)
}

/// Loads the dataset from `dir`, checking that it is `spec`'s and that every
/// file matches the manifest.
pub fn load(dir: &Path, spec: &GaussSpec) -> Result<Dataset> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).context("reading manifest.json")?,
    )
    .context("parsing manifest.json")?;
    ensure!(
        manifest.matches(spec),
        "the manifest describes other parameters or generator ({} {}: {} x {}, {} centres, seed {}) than wanted ({} {}: {} x {}, {} centres, seed {})",
        manifest.name,
        manifest.generator,
        manifest.base,
        manifest.dimension,
        manifest.centres,
        manifest.seed,
        spec.name(),
        GENERATOR,
        spec.base,
        spec.dimension,
        spec.centres,
        spec.seed
    );
    let base = vecfile::read(&dir.join("base.vec"))?;
    let queries = vecfile::read(&dir.join("queries.vec"))?;
    for (what, vectors, count, fingerprint) in [
        ("base", &base, manifest.base, manifest.base_fingerprint),
        (
            "queries",
            &queries,
            manifest.queries,
            manifest.queries_fingerprint,
        ),
    ] {
        ensure!(
            vectors.len() == count && vectors.dimension == manifest.dimension,
            "{what}.vec holds {} vectors of dimension {}, but the manifest says {count} of {}",
            vectors.len(),
            vectors.dimension,
            manifest.dimension
        );
        ensure!(
            vecfile::fingerprint(vectors) == fingerprint,
            "{what}.vec does not match the fingerprint in the manifest"
        );
    }
    Ok(Dataset {
        dir: dir.to_path_buf(),
        manifest,
        base,
        queries,
    })
}

/// Generates `spec`'s dataset and writes it to `dir` (the manifest last, so
/// an interrupted build is detected as damaged).
pub fn build(dir: &Path, spec: &GaussSpec) -> Result<Dataset> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // A stale manifest must not vouch for half-written files.
    match std::fs::remove_file(dir.join("manifest.json")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).context("removing the old manifest.json");
        }
        _ => {}
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (base, queries) = generate(spec, threads)?;
    eprintln!(
        "  generated {} + {} vectors of {} in {:.1} s",
        spec.base,
        spec.queries,
        spec.dimension,
        started.elapsed().as_secs_f64()
    );
    vecfile::write_flat(&dir.join("base.vec"), &base)?;
    vecfile::write_flat(&dir.join("queries.vec"), &queries)?;
    let manifest = Manifest {
        base_fingerprint: vecfile::fingerprint(&base),
        queries_fingerprint: vecfile::fingerprint(&queries),
        build_seconds: started.elapsed().as_secs_f64(),
        ..spec.manifest()
    };
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, json).context("writing manifest.json")?;
    std::fs::rename(&tmp, dir.join("manifest.json")).context("renaming manifest.json")?;
    Ok(Dataset {
        dir: dir.to_path_buf(),
        manifest,
        base,
        queries,
    })
}

/// Generates `spec`'s base and query vectors on `threads` threads (the
/// result does not depend on `threads`).
pub fn generate(spec: &GaussSpec, threads: usize) -> Result<(Vectors, Vectors)> {
    ensure!(spec.dimension > 0, "dimension 0");
    ensure!(spec.centres > 0, "a mixture needs at least one centre");
    let values = |rows: usize| {
        rows.checked_mul(spec.dimension)
            .with_context(|| format!("{rows} rows of {} values", spec.dimension))
    };
    let mixture = Mixture::new(spec);
    let mut base = vec![0.0f32; values(spec.base)?];
    let mut queries = vec![0.0f32; values(spec.queries)?];
    mixture.fill(&mut base, DOMAIN_BASE, threads);
    mixture.fill(&mut queries, DOMAIN_QUERIES, threads);
    Ok((
        Vectors {
            dimension: spec.dimension,
            data: base,
        },
        Vectors {
            dimension: spec.dimension,
            data: queries,
        },
    ))
}

/// The mixture's parameters.
struct Mixture {
    dimension: usize,
    seed: u64,
    /// `centres × dimension`, already multiplied by the dimension scales.
    centres: Vec<f64>,
    /// Spread per cluster.
    spreads: Vec<f64>,
    /// Cumulative weights, the last one 1.
    cumulative: Vec<f64>,
    /// Scale per dimension.
    scales: Vec<f64>,
}

impl Mixture {
    fn new(spec: &GaussSpec) -> Self {
        let d = spec.dimension;
        let mut rng = stream(spec.seed, DOMAIN_MIXTURE);
        let scales: Vec<f64> = (0..d)
            .map(|j| (-DECAY * j as f64 / d as f64).exp())
            .collect();
        let mut centres = Vec::with_capacity(spec.centres * d);
        for _ in 0..spec.centres {
            for scale in &scales {
                centres.push(rng.normal_pair().0 * scale);
            }
        }
        let (lo, hi) = (SPREAD_MIN.ln(), SPREAD_MAX.ln());
        let spreads = (0..spec.centres)
            .map(|_| (lo + (hi - lo) * rng.uniform()).exp())
            .collect();
        let weights: Vec<f64> = (0..spec.centres)
            .map(|_| rng.normal_pair().0.exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cumulative: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        Self {
            dimension: d,
            seed: spec.seed,
            centres,
            spreads,
            cumulative,
            scales,
        }
    }

    /// Fills `out` (whole rows) with rows of stream domain `domain`, row `i`
    /// from stream `domain + i`, on up to `threads` threads.
    fn fill(&self, out: &mut [f32], domain: u64, threads: usize) {
        let d = self.dimension;
        let rows = out.len() / d;
        let per_thread = rows.div_ceil(threads.max(1)).max(1);
        std::thread::scope(|s| {
            for (t, chunk) in out.chunks_mut(per_thread * d).enumerate() {
                s.spawn(move || {
                    let first = t * per_thread;
                    for (i, row) in chunk.chunks_exact_mut(d).enumerate() {
                        self.sample(domain.wrapping_add((first + i) as u64), row);
                    }
                });
            }
        });
    }

    /// Writes the row of stream `stream` into `row`.
    fn sample(&self, stream: u64, row: &mut [f32]) {
        let mut rng = self::stream(self.seed, stream);
        let u = rng.uniform();
        let c = self
            .cumulative
            .partition_point(|&w| w <= u)
            .min(self.cumulative.len() - 1);
        let centre = &self.centres[c * self.dimension..(c + 1) * self.dimension];
        let spread = self.spreads[c];
        let mut j = 0;
        while j < row.len() {
            let (a, b) = rng.normal_pair();
            row[j] = (centre[j] + spread * self.scales[j] * a) as f32;
            if j + 1 < row.len() {
                row[j + 1] = (centre[j + 1] + spread * self.scales[j + 1] * b) as f32;
            }
            j += 2;
        }
    }
}

/// The generator of stream `stream` under `seed`: the state starts at a
/// hash of both, so streams of neighbouring numbers are unrelated.
fn stream(seed: u64, stream: u64) -> SplitMix64 {
    SplitMix64::new(mix64(seed ^ mix64(stream ^ 0x5851_f42d_4c95_7f2d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: GaussSpec = GaussSpec {
        base: 3_001,
        queries: 57,
        dimension: 17,
        centres: 9,
        seed: 7,
    };

    #[test]
    fn deterministic_for_the_seed_whatever_the_threads() {
        let (b1, q1) = generate(&SMALL, 1).expect("generate");
        let (b3, q3) = generate(&SMALL, 3).expect("generate");
        let (b8, q8) = generate(&SMALL, 8).expect("generate");
        assert_eq!((b1.len(), b1.dimension, q1.len()), (3_001, 17, 57));
        assert_eq!(b1, b3);
        assert_eq!(b1, b8);
        assert_eq!(q1, q3);
        assert_eq!(q1, q8);
        assert!(b1.data.iter().chain(&q1.data).all(|x| x.is_finite()));
        // Queries come from other streams than the base rows.
        assert!((0..q1.len()).all(|i| (0..b1.len()).all(|j| q1.row(i) != b1.row(j))));

        let other = GaussSpec { seed: 8, ..SMALL };
        let (b_other, _) = generate(&other, 2).expect("generate");
        assert_ne!(b1, b_other);
        // A longer set starts with the same rows: row i depends only on i.
        let longer = GaussSpec {
            base: 4_000,
            ..SMALL
        };
        let (b_longer, _) = generate(&longer, 2).expect("generate");
        assert_eq!(&b_longer.data[..b1.data.len()], b1.data.as_slice());
    }

    #[test]
    fn clustered_not_uniform() {
        let spec = GaussSpec {
            base: 4_000,
            queries: 10,
            dimension: 32,
            centres: 8,
            seed: 1,
        };
        let (base, _) = generate(&spec, 2).expect("generate");
        let mixture = Mixture::new(&spec);
        // Every row is far closer to its nearest centre than the centres are
        // to one another.
        let d = spec.dimension;
        let dist = |a: &[f32], c: &[f64]| -> f64 {
            a.iter()
                .zip(c)
                .map(|(&x, &y)| (f64::from(x) - y).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let centre = |k: usize| &mixture.centres[k * d..(k + 1) * d];
        let mut nearest = Vec::new();
        let mut counts = vec![0usize; spec.centres];
        for i in 0..base.len() {
            let (k, best) = (0..spec.centres)
                .map(|k| (k, dist(base.row(i), centre(k))))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("centres");
            counts[k] += 1;
            nearest.push(best);
        }
        let mean_nearest = nearest.iter().sum::<f64>() / nearest.len() as f64;
        let mut between = Vec::new();
        for a in 0..spec.centres {
            for b in a + 1..spec.centres {
                let ca: Vec<f32> = centre(a).iter().map(|&x| x as f32).collect();
                between.push(dist(&ca, centre(b)));
            }
        }
        let mean_between = between.iter().sum::<f64>() / between.len() as f64;
        assert!(
            mean_nearest < 0.6 * mean_between,
            "rows {mean_nearest} from their centre, centres {mean_between} apart"
        );
        // Cluster sizes vary (log-normal weights).
        let (min, max) = (
            counts.iter().min().copied().unwrap_or(0),
            counts.iter().max().copied().unwrap_or(0),
        );
        assert!(max > 2 * min.max(1), "cluster sizes {counts:?}");
    }

    #[test]
    fn ensure_writes_reuses_and_regenerates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("g");
        let built = ensure(&path, &SMALL, false).expect("build");
        assert_eq!(built.manifest.name, "gauss-3001-17");
        let loaded = load(&path, &SMALL).expect("load");
        assert_eq!(loaded.base, built.base);
        assert_eq!(loaded.queries, built.queries);
        assert_eq!(loaded.manifest, built.manifest);

        // Another spec does not accept this directory.
        let other = GaussSpec { seed: 99, ..SMALL };
        assert!(load(&path, &other).is_err());

        // A damaged file (same size, other values) is noticed and replaced.
        let base_path = built.base_path();
        let mut bytes = std::fs::read(&base_path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&base_path, &bytes).expect("write");
        let err = load(&path, &SMALL).expect_err("damaged");
        assert!(format!("{err:#}").contains("fingerprint"), "{err:#}");
        let again = ensure(&path, &SMALL, false).expect("regenerate");
        assert_eq!(again.base, built.base);

        // A truncated file too.
        std::fs::write(&base_path, &bytes[..100]).expect("truncate");
        assert!(load(&path, &SMALL).is_err());
        assert_eq!(
            ensure(&path, &SMALL, false).expect("again").base,
            built.base
        );
    }

    #[test]
    fn names() {
        assert_eq!(GaussSpec::FULL.name(), "gauss-1m-128");
        assert_eq!(GaussSpec::QUICK.name(), "gauss-20k-128");
    }
}
