//! `mnemo-bench`: mnemo's benchmark harness.
//!
//! `cargo run --release -p mnemo-bench -- SUITE` runs one suite, prints a
//! table and writes `bench-results/SUITE.json` in the workspace (see the
//! benchmarks section of the design document for the format). Every suite
//! measures its peers (other systems or physical limits) in the same run.
//! `--quick` shrinks every size so the whole harness can be smoke-tested in
//! seconds; its figures are not comparable with a full run and go to
//! `bench-results/SUITE.quick.json` unless `--out` says otherwise.
//!
//! Recorded results (a full run writing into `bench-results/`) must come
//! from a clean work tree, so that every figure belongs to a commit: the
//! run is refused before the suite starts, and again before the report is
//! written, when `git status --porcelain` lists changes outside
//! `bench-results/`, unless `--allow-dirty` is given (the report then says
//! `"dirty": true`). `scripts/bench-all` runs every suite at one commit.
//!
//! Targets are fixed numbers from the issues that set them, never computed
//! from a figure of the same run; a target stated relative to a peer is a
//! `NAME_ratio` row (see [`harness::BenchResult::ratio_row`]).
//!
//! A new suite is a module with a `run(&SuiteOptions) -> Result<Vec<BenchResult>>`
//! function and a variant of [`Suite`].

mod browser_suite;
mod coherence_suite;
mod embed_suite;
mod engine_suite;
mod gauss;
mod ground_truth;
mod harness;
mod ingest_http;
mod ingest_suite;
mod lifecycle_sim;
mod lifecycle_suite;
mod locomo;
mod log_suite;
mod patterns_suite;
mod peers;
mod powerlaw;
mod python_suite;
mod pyvenv;
mod random;
mod recall_suite;
mod rustdocs;
mod server_suite;
mod trust_suite;
mod vecfile;
mod vector_suite;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};

use harness::{Machine, Report};

/// mnemo's benchmark harness.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A suite, or a dataset tool.
#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Suite(Suite),
    /// Builds (or checks) a vector dataset and its ground truth, in a cache
    /// directory outside the repository: `rustdocs` (101,000 sentences of the
    /// toolchain's documentation, components `rust-docs` and `rustc-docs`,
    /// embedded with all-MiniLM-L6-v2) or `gauss` (a seeded Gaussian
    /// mixture, 1M × 128, or 20k with `--quick`).
    Dataset(DatasetOptions),
    /// Development tool: runs the vector suite's peers (hnswlib, USearch)
    /// on the datasets and prints their recall/QPS table.
    Peers(peers::dev::PeersOptions),
    /// The `server` suite's server process (started by the suite itself).
    #[command(hide = true)]
    ServerChild(server_suite::ChildOptions),
}

/// Options of the `dataset` command.
#[derive(Debug, Clone, Args)]
struct DatasetOptions {
    /// Which dataset.
    #[arg(value_enum, default_value = "rustdocs")]
    which: peers::dev::DatasetName,
    /// The small Gaussian set (20k vectors) instead of the full one.
    #[arg(long)]
    quick: bool,
    /// Where the dataset lives (default:
    /// `${XDG_CACHE_HOME:-~/.cache}/mnemo/datasets/NAME`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Build it again even if it is present and valid.
    #[arg(long)]
    rebuild: bool,
    /// Only extract the sentences (no embedding, nothing written): print
    /// their count, where they came from and a few random samples.
    #[arg(long)]
    extract_only: bool,
    /// With `--extract-only`: how many random sentences to print.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// With `--extract-only`: print samples of this origin only.
    #[arg(long, value_enum)]
    origin: Option<rustdocs::Origin>,
    /// With `--extract-only`: seed of the sample choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The suites.
#[derive(Debug, Subcommand)]
enum Suite {
    /// mnemo-log: appends, durable appends, reads, scans, Merkle hashing,
    /// proofs and recovery, against `Vec`/`BufWriter`/`sha2`/fjall peers.
    Log(SuiteOptions),
    /// mnemo-embed: MiniLM throughput and query latency against ONNX
    /// Runtime, HashEmbedder throughput, LoCoMo retrieval hit@5.
    Embed(SuiteOptions),
    /// mnemo-vector: HNSW recall against single-thread QPS, build time and
    /// memory on real MiniLM embeddings and a clustered Gaussian set,
    /// beside hnswlib and a Rust HNSW crate.
    Vector(SuiteOptions),
    /// mnemo: remember throughput, tag queries over 1M memories, substring
    /// scans, watcher overhead, open with and without a snapshot and bytes
    /// per memory, against SQLite (bundled) and physical limits.
    Engine(SuiteOptions),
    /// mnemo's recall: spreading activation over a 100k-node power-law
    /// graph against a plain BFS, hybrid recall over 100k memories with
    /// and without spreading, and LoCoMo hit@5 with ablations.
    Recall(SuiteOptions),
    /// mnemo's facts: asserts with their conflict check over 1M facts and
    /// 100k keys, and conflict detection in one context against the
    /// edge-net O(n²) pass at 100, 1k and 10k assertions.
    Coherence(SuiteOptions),
    /// mnemo's procedural memory: suggest latency over 1k and 100k
    /// patterns against an exact scan, record and refine costs, and the
    /// routing accuracy learned from trajectories against a
    /// nearest-successful-trajectory memory.
    Patterns(SuiteOptions),
    /// mnemo-server under load from this process over loopback HTTP/1.1:
    /// batch remember, single remember latency and recall at 100k
    /// memories with 64 clients, against a constant axum handler (the
    /// HTTP stack's ceiling) under the same load.
    Server(SuiteOptions),
    /// mnemo's Python package: per-call overhead against the same calls
    /// in Rust, insert and query at 100k vectors against chromadb and
    /// lancedb, LoCoMo hit@5 and latency against mem0 (offline), in a
    /// venv under target/bench-python.
    Python(SuiteOptions),
    /// mnemo's npm package (WebAssembly) in headless Chromium: package
    /// size, insert throughput and QPS at recall@10 0.95 on 10k real
    /// embeddings beside edgevec and hnswlib-wasm in the same page, the
    /// same calls against the engine natively, and the open of a 100k
    /// database from OPFS.
    Browser(SuiteOptions),
    /// Signed checkpoints: Ed25519, ML-DSA-44 and ML-DSA-65 sign and verify
    /// (mnemo-trust's pure-Rust implementations) against AWS-LC, whole
    /// checkpoints, consistency proofs in a 10M-record log against
    /// RFC 9162's reference algorithm, and forget (erasure) latency against
    /// one durable log append.
    Trust(SuiteOptions),
    /// mnemo-bus raw-event ingest: one shard's ring (1 producer, 1
    /// draining consumer, 32 and 64 B events) against crossbeam-queue's
    /// ArrayQueue and the disruptor crate, p99 enqueue latency, a whole
    /// in-memory stream against the log's append_batch, 2 producers × 2
    /// shards, and durable group commit against write + fdatasync of the
    /// same frames.
    Ingest(SuiteOptions),
    /// A seeded year of an assistant's use (1M writes with repetition and
    /// drift) written with near-duplicate merging on and off: throughput,
    /// memories and resident index bytes, merged and wrongly merged
    /// writes, the newest version of changed preferences recalled first,
    /// and one consolidation.
    Lifecycle(SuiteOptions),
}

impl Suite {
    fn name(&self) -> &'static str {
        match self {
            Suite::Log(_) => "log",
            Suite::Embed(_) => "embed",
            Suite::Vector(_) => "vector",
            Suite::Engine(_) => "engine",
            Suite::Recall(_) => "recall",
            Suite::Coherence(_) => "coherence",
            Suite::Patterns(_) => "patterns",
            Suite::Server(_) => "server",
            Suite::Python(_) => "python",
            Suite::Browser(_) => "browser",
            Suite::Trust(_) => "trust",
            Suite::Ingest(_) => "ingest",
            Suite::Lifecycle(_) => "lifecycle",
        }
    }

    fn options(&self) -> &SuiteOptions {
        match self {
            Suite::Log(opts)
            | Suite::Embed(opts)
            | Suite::Vector(opts)
            | Suite::Engine(opts)
            | Suite::Recall(opts)
            | Suite::Coherence(opts)
            | Suite::Patterns(opts)
            | Suite::Server(opts)
            | Suite::Python(opts)
            | Suite::Browser(opts)
            | Suite::Trust(opts)
            | Suite::Ingest(opts)
            | Suite::Lifecycle(opts) => opts,
        }
    }
}

/// Options every suite accepts.
#[derive(Debug, Clone, Args)]
pub struct SuiteOptions {
    /// Small sizes and few repetitions: a smoke test of the harness that
    /// finishes in seconds (figures are not meaningful).
    #[arg(long)]
    pub quick: bool,
    /// Where to write the JSON report (default:
    /// `bench-results/SUITE.json`, or `SUITE.quick.json` with `--quick`,
    /// in the workspace root).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory for the on-disk benchmarks' temporary data (default: the
    /// system temporary directory; it must be on a real disk, not tmpfs).
    #[arg(long)]
    pub tmp_dir: Option<PathBuf>,
    /// Run only the steps whose name contains this text (for profiling one
    /// measurement); the report then holds only their results.
    #[arg(long)]
    pub only: Option<String>,
    /// Record results in `bench-results/` even though the work tree has
    /// changes outside it (or git cannot tell): the report then says
    /// `"dirty": true` and lists them. Without it such a run is refused,
    /// before the suite starts and again before the report is written.
    #[arg(long)]
    pub allow_dirty: bool,
}

fn main() -> Result<()> {
    let command = Cli::parse().command;
    // Smoke runs (`--quick`, numbers not recorded) may use a build with
    // debug assertions (CI's `ci` profile); recorded figures may not. A
    // server child is started by a suite that was checked already.
    let smoke = match &command {
        Command::Suite(suite) => suite.options().quick,
        Command::ServerChild(_) => true,
        Command::Dataset(_) | Command::Peers(_) => false,
    };
    if cfg!(debug_assertions) && !smoke {
        bail!("benchmarks are only meaningful in release mode: cargo run --release -p mnemo-bench");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: nothing has started a thread yet (parsing the arguments
        // starts none), so no one reads the environment concurrently.
        // candle splits every matrix product across this many threads;
        // MiniLm runs its sub-batches on its own worker per core, which is
        // faster (see mnemo-embed's minilm module).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    let suite = match command {
        Command::Suite(suite) => suite,
        Command::Dataset(opts) => return dataset(&opts),
        Command::Peers(opts) => return peers::dev::run(&opts),
        Command::ServerChild(opts) => return server_suite::child_main(&opts),
    };
    let opts = suite.options();
    let name = suite.name();
    let root = harness::workspace_root();
    let out = opts.out.clone().unwrap_or_else(|| {
        let file = if opts.quick {
            format!("{name}.quick.json")
        } else {
            format!("{name}.json")
        };
        root.join(harness::RESULTS_DIR).join(file)
    });
    // Refused before the suite runs, not after an hour of measuring.
    let recorded = harness::is_recorded(&out, &root, opts.quick);
    let before = harness::Tree::read(&root);
    if let Some(why) = harness::refusal(&before, recorded, opts.allow_dirty, &out) {
        bail!(why);
    }
    let results = match &suite {
        Suite::Log(opts) => log_suite::run(opts)?,
        Suite::Embed(opts) => embed_suite::run(opts)?,
        Suite::Vector(opts) => vector_suite::run(opts)?,
        Suite::Engine(opts) => engine_suite::run(opts)?,
        Suite::Recall(opts) => recall_suite::run(opts)?,
        Suite::Coherence(opts) => coherence_suite::run(opts)?,
        Suite::Patterns(opts) => patterns_suite::run(opts)?,
        Suite::Server(opts) => server_suite::run(opts)?,
        Suite::Python(opts) => python_suite::run(opts)?,
        Suite::Browser(opts) => browser_suite::run(opts)?,
        Suite::Trust(opts) => trust_suite::run(opts)?,
        Suite::Ingest(opts) => ingest_suite::run(opts)?,
        Suite::Lifecycle(opts) => lifecycle_suite::run(opts)?,
    };
    // Checked again: the tree may have changed while the suite ran.
    let tree = harness::Tree::over_run(&before, &harness::Tree::read(&root));
    let report = Report {
        suite: name.to_owned(),
        git: tree.describe(),
        dirty: !tree.is_clean(),
        dirty_changes: tree.changes(),
        quick: opts.quick,
        machine: Machine::detect(),
        results,
    };
    report.print_table();
    if let Some(why) = harness::refusal(&tree, recorded, opts.allow_dirty, &out) {
        // The measurements are not thrown away: they go where nothing
        // takes them for recorded figures.
        let aside = std::env::temp_dir().join(format!("mnemo-bench-{name}-refused.json"));
        report.write(&aside)?;
        bail!(
            "{why}\nThis run's report was written to {} instead.",
            aside.display()
        );
    }
    report.write(&out)?;
    println!("wrote {}", out.display());
    if matches!(suite, Suite::Vector(_)) && !opts.quick {
        let png = out.with_file_name("vector-recall-qps.png");
        vector_suite::plot(&out, &png)?;
        println!("wrote {}", png.display());
    }
    Ok(())
}

/// The `dataset` command: ensures the dataset and its ground truth exist
/// and prints a summary.
fn dataset(opts: &DatasetOptions) -> Result<()> {
    if opts.extract_only {
        return rustdocs::extract_report(opts.samples, opts.origin, opts.seed);
    }
    if opts.which == peers::dev::DatasetName::Gauss {
        return dataset_gauss(opts);
    }
    let dir = match &opts.dir {
        Some(dir) => dir.clone(),
        None => rustdocs::default_dir()?,
    };
    let data = rustdocs::ensure(&dir, opts.rebuild)?;
    let m = &data.manifest;
    println!(
        "{}: {} base and {} query sentences, {}, built from {} ({}) in {:.0} s",
        data.dir.display(),
        m.base,
        m.queries,
        m.embedder,
        m.source,
        m.rustc,
        m.build_seconds
    );
    println!(
        "vectors: {} x {} and {} x {}",
        data.base.len(),
        data.base.dimension,
        data.queries.len(),
        data.queries.dimension
    );
    let metric = ground_truth::Metric::Cosine;
    let k = ground_truth::DEFAULT_K;
    let truth = ground_truth::ensure(&data.dir, &data.base, &data.queries, metric, k)?;
    // A sanity check a person can read: the first query's nearest base
    // sentence by exact search.
    if let Some(q) = data.query_text.first()
        && let Some(nearest) = truth.neighbours(0).first()
        && let Some(sentence) = data.base_text.get(*nearest as usize)
    {
        println!("first query: {q}\nits nearest base sentence: {sentence}");
    }
    println!(
        "ground truth: {}",
        ground_truth::path(&data.dir, metric, k).display()
    );
    Ok(())
}

/// `dataset gauss`: generates (or checks) the Gaussian-mixture set and its
/// L2 ground truth.
fn dataset_gauss(opts: &DatasetOptions) -> Result<()> {
    let spec = gauss::GaussSpec::new(opts.quick);
    let dir = match &opts.dir {
        Some(dir) => dir.clone(),
        None => gauss::default_dir(&spec)?,
    };
    let data = gauss::ensure(&dir, &spec, opts.rebuild)?;
    let m = &data.manifest;
    println!(
        "{}: {} base and {} query vectors of {} from {} clusters ({}, seed {:#x}), generated in {:.1} s",
        data.dir.display(),
        m.base,
        m.queries,
        m.dimension,
        m.centres,
        m.generator,
        m.seed,
        m.build_seconds
    );
    let metric = ground_truth::Metric::L2;
    let k = ground_truth::DEFAULT_K;
    let truth = ground_truth::ensure(&data.dir, &data.base, &data.queries, metric, k)?;
    println!(
        "ground truth: {} (query 0's nearest: row {} at squared distance {:.3})",
        ground_truth::path(&data.dir, metric, k).display(),
        truth.neighbours(0)[0],
        truth.distances(0)[0]
    );
    Ok(())
}
