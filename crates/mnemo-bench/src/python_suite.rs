//! The `python` suite: mnemo's Python package (`crates/mnemo-python`)
//! beside the same calls in Rust and beside Python memory stores, driven by
//! `python/bench_python.py` in a virtual environment under
//! `target/bench-python/`.
//!
//! - **Binding overhead**: `remember_many` of 100 memories with their
//!   vectors (durable: each call is fsynced, the engine's default) and
//!   `recall` top-10 at 100k memories with the query text and vector, per
//!   call, from Python; the same `remember_batch` and `recall_with` calls
//!   timed here in Rust on the same data in the same run are the peer.
//! - **Vector stores**: insert throughput (same batches of 1,000) and
//!   top-10 query latency at 100k memories of 384 values, the same vectors
//!   given to mnemo (embedder `vectors`), chromadb (embedded
//!   `PersistentClient`) and lancedb (embedded, a local directory); each
//!   system's recall@10 against the exact neighbours is recorded beside.
//! - **LoCoMo**: the development split (see [`crate::locomo`]), one memory
//!   per turn, against mem0 (`Memory` with `infer=False`, its local Qdrant
//!   store): both get the same all-MiniLM-L6-v2 vectors computed here (mem0
//!   through its embedder interface, mnemo as caller vectors with the query
//!   text), and both answer the same questions; the rankings come back here
//!   and are scored by [`locomo::add`], the metric of every LoCoMo row.
//!   Per-turn add and per-question search latencies of both.
//!
//! The corpus of the first two parts is synthetic and seeded: unit vectors
//! from a mixture of Gaussian clusters (see [`corpus`]), each with a short
//! text naming its cluster and a few words of the cluster's vocabulary.
//!
//! The virtual environment (`target/bench-python/peers`) holds the pinned
//! peers and maturin; every run builds the `mnemo` wheel from the work tree
//! (`--release`, or the `ci` profile with `--quick`) and installs it there,
//! unless `MNEMO_BENCH_WHEEL` names a wheel to install instead. `--quick`
//! uses the peers' environment when it exists and otherwise a small one
//! with numpy alone (`target/bench-python/mnemo-only`), measuring mnemo
//! without peers and saying so in each row.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use mnemo::{Mnemo, NewMemory, Options, RecallOptions, Timestamp};
use mnemo_embed::{CallerVectors, Embedder, MiniLm};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::SuiteOptions;
use crate::harness::{self, BenchResult, Better};
use crate::locomo::{self, Conversation};
use crate::pyvenv;
use crate::random::{Draw, SplitMix64, mix64};

/// Values per vector (all-MiniLM-L6-v2's dimension).
const DIM: usize = 384;
/// Hits asked of every query.
const K: usize = 10;
/// The cut-off of the LoCoMo metric (the rankings hold [`K`]).
const LOCOMO_K: usize = 5;
/// Memories per `remember_many` call of the overhead figures.
const OVERHEAD_BATCH: usize = 100;
/// Items per insert call of the vector-store comparison, every system.
const INSERT_BATCH: usize = 1000;
/// Seed of the synthetic corpus.
const SEED: u64 = 0x7079_7468_6f6e_0001;

/// The peers' environment: pinned versions (the stamp of [`pyvenv`]).
const PEER_REQUIREMENTS: &[&str] = &[
    "chromadb==1.5.9",
    "lancedb==0.40.0",
    "pyarrow==26.0.1",
    "mem0ai==2.2.1",
    "qdrant-client==1.20.0",
    "numpy==2.4.6",
    "httpx>=0.27",
    "maturin==1.16.0",
];
/// The environment of a `--quick` run without the peers' one.
const MNEMO_ONLY_REQUIREMENTS: &[&str] = &["numpy==2.4.6", "httpx>=0.27", "maturin==1.16.0"];

/// The target of the binding's overhead: Python per call at most this
/// many times Rust's (the number).
const TARGET_OVERHEAD_RATIO: f64 = 1.10;
/// The target of the latency recall adds from Python, in microseconds.
const TARGET_ADDED_RECALL_US: f64 = 20.0;
/// mnemo at least this many times the faster peer (insert and query).
const TARGET_VS_STORES: f64 = 3.0;
/// mnemo's LoCoMo hit@5 at least this many times mem0's.
const TARGET_HIT_VS_MEM0: f64 = 1.3;
/// mnemo's search p95 at most this fraction of mem0's.
const TARGET_SEARCH_P95_VS_MEM0: f64 = 0.1;
/// Where the targets come from.
const TARGET_SOURCE: &str = "the Python package issue";

/// Sizes of one run.
struct Sizes {
    /// Memories of the synthetic corpus.
    memories: usize,
    /// Query vectors (each timed once, after warm-up ones).
    queries: usize,
    /// Untimed queries first.
    warmup_queries: usize,
    /// Clusters of the corpus.
    clusters: usize,
    /// LoCoMo conversations.
    conversations: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                memories: 5_000,
                queries: 200,
                warmup_queries: 20,
                clusters: 64,
                conversations: 1,
            }
        } else {
            Self {
                memories: 100_000,
                queries: 1_000,
                warmup_queries: 100,
                clusters: 1_000,
                conversations: usize::MAX,
            }
        }
    }
}

/// The synthetic corpus and its queries.
pub struct Corpus {
    /// Row-major unit vectors, `memories × DIM`.
    pub vectors: Vec<f32>,
    /// One text per vector.
    pub texts: Vec<String>,
    /// Row-major unit query vectors.
    pub queries: Vec<f32>,
    /// One text per query.
    pub query_texts: Vec<String>,
}

/// Words the texts are made of; each cluster draws from its own eight.
const WORDS: &[&str] = &[
    "apple", "river", "garden", "engine", "violin", "harbour", "mountain", "letter", "window",
    "market", "forest", "bridge", "candle", "winter", "summer", "island", "doctor", "teacher",
    "planet", "rocket", "coffee", "bakery", "museum", "theatre", "library", "station", "kitchen",
    "meadow", "castle", "desert", "lantern", "compass", "painting", "recipe", "journey", "holiday",
    "concert", "project", "meeting", "deadline", "budget", "invoice", "contract", "password",
    "server", "backup", "release", "ticket", "garage", "bicycle", "camera", "jacket", "birthday",
    "wedding", "puppy", "kitten", "tennis", "football", "chess", "guitar", "novel", "poetry",
    "science", "history",
];

/// The corpus: `clusters` centres with components `N(0, 1)`; row `i` of
/// cluster `c` (uniform) is `centre_c + z`, `z ~ N(0, I)` (the noise as
/// large as the centre: same-cluster cosines near 0.5, others near 0),
/// scaled to unit length. Its text is `note {i} on topic {c}: ` and four
/// words of the cluster's eight. Queries come from the same mixture on
/// streams of their own (no query is a row), with texts `topic {c}: ` and
/// two of its words. Every row draws from its own SplitMix64 stream.
pub fn corpus(memories: usize, queries: usize, clusters: usize) -> Corpus {
    let mut rng = SplitMix64::new(mix64(SEED));
    let centres: Vec<f32> = (0..clusters * DIM / 2)
        .flat_map(|_| {
            let (a, b) = rng.normal_pair();
            [a as f32, b as f32]
        })
        .collect();
    let row = |stream: u64, i: usize, out: &mut Vec<f32>| -> (usize, SplitMix64) {
        let mut rng = SplitMix64::new(mix64(SEED ^ stream ^ (i as u64).wrapping_mul(0x9e37)));
        let c = rng.index(clusters);
        let start = out.len();
        for j in (0..DIM).step_by(2) {
            let (a, b) = rng.normal_pair();
            out.push(centres[c * DIM + j] + a as f32);
            out.push(centres[c * DIM + j + 1] + b as f32);
        }
        let v = &mut out[start..];
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        (c, rng)
    };
    let words = |c: usize, rng: &mut SplitMix64, n: usize| -> String {
        (0..n)
            .map(|_| WORDS[(c * 8 + rng.index(8)) % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut vectors = Vec::with_capacity(memories * DIM);
    let texts = (0..memories)
        .map(|i| {
            let (c, mut rng) = row(0x6261_7365, i, &mut vectors);
            format!("note {i} on topic {c}: {}", words(c, &mut rng, 4))
        })
        .collect();
    let mut query_vectors = Vec::with_capacity(queries * DIM);
    let query_texts = (0..queries)
        .map(|i| {
            let (c, mut rng) = row(0x7175_6572_7900, i, &mut query_vectors);
            format!("topic {c}: {}", words(c, &mut rng, 2))
        })
        .collect();
    Corpus {
        vectors,
        texts,
        queries: query_vectors,
        query_texts,
    }
}

const CORPUS_NOTE: &str = "synthetic, seeded: unit vectors of 384 values from a mixture of Gaussian clusters (centres N(0, I), noise N(0, I), normalised), each with a short text (`note i on topic c: ` and four words of the cluster's vocabulary); queries drawn from the same mixture, not rows of the corpus";

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let started = Instant::now();
    let sizes = Sizes::new(opts.quick);
    let root = harness::workspace_root();
    let skip = |name: &str| opts.only.as_deref().is_some_and(|o| !name.contains(o));

    // The environment, and the package built from this work tree.
    let bench_dir = root.join("target").join("bench-python");
    let peers_dir = bench_dir.join("peers");
    let (python, peers) = if opts.quick {
        match pyvenv::ready_at(&peers_dir, PEER_REQUIREMENTS) {
            Some(python) => (python, true),
            None => {
                eprintln!(
                    "  --quick: no peers' environment at {} (a full run makes it): mnemo only",
                    peers_dir.display()
                );
                let dir = bench_dir.join("mnemo-only");
                (pyvenv::ensure_at(&dir, MNEMO_ONLY_REQUIREMENTS)?, false)
            }
        }
    } else {
        (pyvenv::ensure_at(&peers_dir, PEER_REQUIREMENTS)?, true)
    };
    let t = Instant::now();
    let wheel = install_mnemo(&root, &python, opts.quick)?;
    eprintln!(
        "  mnemo package ({wheel}): {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let tmp = match &opts.tmp_dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let work = tmp.path();

    let want_overhead = !skip("overhead");
    let want_vectors = !skip("vectors");
    let want_locomo = !skip("locomo");

    // The synthetic corpus, for the Rust side here and for Python as files.
    let t = Instant::now();
    let corpus = corpus(sizes.memories, sizes.queries, sizes.clusters);
    write_f32(&work.join("corpus.f32"), &corpus.vectors)?;
    write_f32(&work.join("queries.f32"), &corpus.queries)?;
    write_json(&work.join("texts.json"), &json!(corpus.texts))?;
    write_json(&work.join("query_texts.json"), &json!(corpus.query_texts))?;
    eprintln!(
        "  corpus: {} memories, {} queries, {:.1} s",
        sizes.memories,
        sizes.queries,
        t.elapsed().as_secs_f64()
    );

    // LoCoMo: turns, questions and their MiniLM vectors.
    let conversations = if want_locomo {
        let t = Instant::now();
        let c = locomo_files(&root, work, &bench_dir.join("cache"), sizes.conversations)?;
        eprintln!("  locomo vectors: {:.1} s", t.elapsed().as_secs_f64());
        c
    } else {
        Vec::new()
    };

    // The Rust side of the overhead figures, before Python starts.
    let rust = if want_overhead {
        let t = Instant::now();
        let r = rust_overhead(&corpus, work, sizes.warmup_queries)?;
        eprintln!("  rust calls: {:.1} s", t.elapsed().as_secs_f64());
        Some(r)
    } else {
        None
    };

    let mut parts = Vec::new();
    if want_overhead {
        parts.push("overhead");
    }
    if want_vectors {
        parts.push("vectors");
    }
    if want_locomo {
        parts.push("locomo");
    }
    let mut systems = vec!["mnemo"];
    if peers {
        systems.extend(["chromadb", "lancedb", "mem0"]);
    }
    // The package has no call that waits for the background indexer:
    // Python sleeps twice what flush_index took here after the same
    // inserts, plus half a second.
    let index_wait_s = rust
        .as_ref()
        .map_or(5.0, |r| 2.0 * r.index_wait.as_secs_f64() + 0.5);
    let manifest = json!({
        "work": work.join("dbs"),
        "index_wait_s": index_wait_s,
        "parts": parts,
        "systems": systems,
        "k": K,
        "corpus": {
            "n": sizes.memories,
            "dimension": DIM,
            "queries": sizes.queries,
            "vectors": work.join("corpus.f32"),
            "texts": work.join("texts.json"),
            "query_vectors": work.join("queries.f32"),
            "query_texts": work.join("query_texts.json"),
        },
        "overhead": {"batch": OVERHEAD_BATCH, "warmup_queries": sizes.warmup_queries},
        "vectors": {"batch": INSERT_BATCH, "warmup_queries": sizes.warmup_queries},
        "locomo": {
            "file": work.join("locomo.json"),
            "turn_vectors": work.join("turns.f32"),
            "question_vectors": work.join("questions.f32"),
            "dimension": DIM,
            "k": K,
        },
    });
    let manifest_path = work.join("manifest.json");
    write_json(&manifest_path, &manifest)?;
    let out_path = work.join("python-out.json");
    let script = root.join("crates/mnemo-bench/python/bench_python.py");
    let t = Instant::now();
    pyvenv::run(
        Command::new(&python)
            .arg(&script)
            .arg(&manifest_path)
            .arg(&out_path)
            // lance logs a deprecation warning per query otherwise.
            .env("LANCE_LOG", "error")
            // Every system runs with its default threads, as a user's
            // process would (main() sets 1 for the embedder benchmarks).
            .env_remove("RAYON_NUM_THREADS"),
        "running the Python driver",
    )?;
    eprintln!("  python driver: {:.1} s", t.elapsed().as_secs_f64());
    let out: PyOut = serde_json::from_str(
        &std::fs::read_to_string(&out_path)
            .with_context(|| format!("reading {}", out_path.display()))?,
    )
    .context("parsing the Python driver's report")?;
    if let Some(e) = out.errors.get("mnemo") {
        bail!(
            "the mnemo package does not import in {}: {e}",
            python.display()
        );
    }
    for (what, e) in &out.errors {
        eprintln!("  python error in {what}: {e}");
    }

    let rust = match rust {
        Some(mut r) => {
            let t = Instant::now();
            r.remember_after_us = rust_remember_pass(&corpus, work)?;
            eprintln!(
                "  rust remember calls again: {:.1} s",
                t.elapsed().as_secs_f64()
            );
            Some(r)
        }
        None => None,
    };
    let env = Env {
        fsync_us: fsync_p50_us(work)?,
        python: out.python.clone(),
        versions: out.versions.clone(),
        peers,
        wheel,
    };
    let mut results = Vec::new();
    if let Some(rust) = &rust {
        let py = out
            .overhead
            .as_ref()
            .with_context(|| format!("no overhead figures from Python: {:?}", out.errors))?;
        results.extend(overhead_rows(&env, rust, py, &sizes));
    }
    if want_vectors {
        results.extend(vector_rows(&env, &out, &sizes, rust.as_ref())?);
    }
    if want_locomo {
        results.extend(locomo_rows(&env, &out, &conversations)?);
    }
    eprintln!("python suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

/// What the run's rows say about where they ran.
struct Env {
    /// [`fsync_p50_us`] of the temporary directory.
    fsync_us: f64,
    python: String,
    versions: HashMap<String, String>,
    peers: bool,
    wheel: String,
}

impl Env {
    fn version(&self, dist: &str) -> String {
        self.versions
            .get(dist)
            .cloned()
            .unwrap_or_else(|| "?".to_owned())
    }

    /// Adds the common params.
    fn stamp(&self, row: BenchResult) -> BenchResult {
        row.param("python", format!("CPython {}", self.python))
            .param("disk_fsync_4k_p50_us", self.fsync_us)
            .param(
                "mnemo_package",
                format!("mnemo {} ({})", self.version("mnemo"), self.wheel),
            )
    }

    /// Why a peer is missing, for rows without one.
    fn no_peers(&self, row: BenchResult) -> BenchResult {
        if self.peers {
            row
        } else {
            row.param(
                "peer_note",
                "peers not run: --quick without the peers' environment (target/bench-python/peers, made by a full run)",
            )
        }
    }
}

/// `pip install --force-reinstall --no-deps` of `what` into the
/// environment of `python`.
fn pip_reinstall(
    python: &Path,
    what: &std::ffi::OsStr,
    extra: &[&str],
    env: &[(&str, String)],
    why: &str,
) -> Result<()> {
    // maturin's build backend runs the `maturin` of the environment.
    let bin = python
        .parent()
        .context("the interpreter is in a directory")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
    )?;
    let mut command = pyvenv::pip_install(python);
    command
        .env("PATH", path)
        .args(["--force-reinstall", "--no-deps"])
        .args(extra)
        .arg(what);
    for (key, value) in env {
        command.env(key, value);
    }
    pyvenv::run(&mut command, why)
}

/// Builds the `mnemo` wheel from the work tree and installs it into the
/// environment of `python` (or installs `MNEMO_BENCH_WHEEL`); answers what
/// was installed.
fn install_mnemo(root: &Path, python: &Path, quick: bool) -> Result<String> {
    if let Some(wheel) = std::env::var_os("MNEMO_BENCH_WHEEL") {
        pip_reinstall(python, &wheel, &[], &[], "installing MNEMO_BENCH_WHEEL")?;
        let name = Path::new(&wheel).file_name().unwrap_or_default();
        return Ok(format!("wheel {}", name.to_string_lossy()));
    }
    let profile = if quick { "ci" } else { "release" };
    pip_reinstall(
        python,
        root.join("crates/mnemo-python").as_os_str(),
        &["--no-build-isolation"],
        &[("MATURIN_PEP517_ARGS", format!("--profile {profile}"))],
        "building the mnemo wheel (maturin) and installing it",
    )?;
    Ok(format!(
        "built from this work tree by maturin, cargo profile {profile}"
    ))
}

fn write_f32(path: &Path, values: &[f32]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    std::fs::write(path, serde_json::to_vec(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes the LoCoMo turns and questions of the first `limit`
/// conversations and their MiniLM vectors for the driver; answers the
/// conversations (to score the rankings). The vectors are cached in
/// `cache` under a hash of the texts and the model's id.
fn locomo_files(root: &Path, work: &Path, cache: &Path, limit: usize) -> Result<Vec<Conversation>> {
    let path = locomo::default_path(root);
    let mut conversations = locomo::load(&path)?;
    conversations.truncate(limit);
    let mut convs = Vec::new();
    for conv in &conversations {
        let turns: Vec<Value> = conv
            .turns
            .iter()
            .zip(&conv.data.turns)
            .map(|(text, turn)| {
                // As the recall suite stores them: its session's time plus
                // one second per turn, tags session and speaker.
                let at = Timestamp(turn.at.0 + i64::from(turn.index) * 1_000_000_000);
                json!({
                    "content": text,
                    "source": conv.data.sample_id,
                    "tags": [format!("session_{}", turn.session), turn.speaker],
                    "at": mnemo::rfc3339::format(at),
                    "at_ns": at.0,
                })
            })
            .collect();
        let questions: Vec<&str> = conv.questions.iter().map(|q| q.text.as_str()).collect();
        convs.push(json!({"id": conv.data.sample_id, "turns": turns, "questions": questions}));
    }
    let turn_texts: Vec<&str> = conversations
        .iter()
        .flat_map(|c| c.turns.iter().map(String::as_str))
        .collect();
    let question_texts: Vec<&str> = conversations
        .iter()
        .flat_map(|c| c.questions.iter().map(|q| q.text.as_str()))
        .collect();
    let all: Vec<&str> = turn_texts.iter().chain(&question_texts).copied().collect();
    let vectors = cached_minilm(cache, &all)?;
    let (turns, questions) = vectors.split_at(turn_texts.len() * DIM);
    write_json(&work.join("locomo.json"), &Value::Array(convs))?;
    write_f32(&work.join("turns.f32"), turns)?;
    write_f32(&work.join("questions.f32"), questions)?;
    Ok(conversations)
}

/// The MiniLM vectors of `texts`, row-major, from `cache` if an earlier
/// run computed them for the same texts and model, else computed (batches
/// of 32) and stored there.
fn cached_minilm(cache: &Path, texts: &[&str]) -> Result<Vec<f32>> {
    let model_dir = mnemo_embed::model_dir::find()?;
    let weights = std::fs::metadata(model_dir.join(mnemo_embed::model_dir::WEIGHTS_FILE))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(format!("all-MiniLM-L6-v2 {} bytes\0", weights.len()).as_bytes());
    for t in texts {
        hasher.update(t.as_bytes());
        hasher.update(b"\0");
    }
    let file = cache.join(format!("locomo-minilm-{:016x}.f32", hasher.digest()));
    if let Ok(bytes) = std::fs::read(&file)
        && bytes.len() == texts.len() * DIM * 4
    {
        return Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect());
    }
    let model = MiniLm::load_default()?;
    ensure!(model.info().dimension == DIM, "MiniLM has dimension {DIM}");
    let mut out = Vec::with_capacity(texts.len() * DIM);
    for chunk in texts.chunks(32) {
        for v in model.embed_batch(chunk)? {
            out.extend(v);
        }
    }
    std::fs::create_dir_all(cache)?;
    write_f32(&file, &out)?;
    Ok(out)
}

/// The median time of a 4 KiB write and fsync in `dir` (the disk's
/// durability cost, which every durable write here pays), in microseconds.
fn fsync_p50_us(dir: &Path) -> Result<f64> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5au8; 4096];
    let mut samples = Vec::with_capacity(50);
    for _ in 0..50 {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    std::fs::remove_file(&path)?;
    Ok(p50(&samples))
}

/// The Rust side of the overhead figures: per-call microseconds.
struct RustOverhead {
    /// The remember calls before the Python driver ran.
    remember_us: Vec<f64>,
    /// The same calls again, into a fresh namespace, after it ran (see
    /// [`rust_remember_pass`]).
    remember_after_us: Vec<f64>,
    recall_us: Vec<f64>,
    /// Per recall: the engine's own phase timings (embed, candidates,
    /// spread, fuse) summed, in microseconds.
    recall_engine_us: Vec<f64>,
    index_wait: Duration,
}

/// `remember_batch` of [`OVERHEAD_BATCH`] memories with their vectors
/// (on disk, `Options::default()`: sync always) over the whole corpus, then
/// `recall_with` top-[`K`] with the query text and vector: the calls the
/// Python package makes, timed one by one.
fn rust_overhead(corpus: &Corpus, work: &Path, warmup: usize) -> Result<RustOverhead> {
    let dir = tempfile::tempdir_in(work)?;
    let mnemo = Mnemo::open_with(dir.path(), Options::default())?;
    let ns = mnemo.namespace_with_embedder("bench", Arc::new(CallerVectors::new(DIM)?))?;
    let remember_us = remember_all(&ns, corpus)?;
    let t = Instant::now();
    ns.flush_index();
    let index_wait = t.elapsed();
    let options: Vec<RecallOptions> = (0..corpus.query_texts.len())
        .map(|i| {
            let mut o = RecallOptions::k(K);
            o.query_vector = Some(corpus.queries[i * DIM..(i + 1) * DIM].to_vec());
            o
        })
        .collect();
    for (text, o) in corpus.query_texts.iter().zip(&options).take(warmup) {
        std::hint::black_box(ns.recall_with(text, o)?);
    }
    let mut recall_us = Vec::with_capacity(options.len());
    let mut recall_engine_us = Vec::with_capacity(options.len());
    for (text, o) in corpus.query_texts.iter().zip(&options) {
        let t = Instant::now();
        let r = ns.recall_with(text, o)?;
        recall_us.push(t.elapsed().as_secs_f64() * 1e6);
        let phases = r.timings.embed + r.timings.candidates + r.timings.spread + r.timings.fuse;
        recall_engine_us.push(phases.as_secs_f64() * 1e6);
        std::hint::black_box(r);
    }
    drop(ns);
    drop(mnemo);
    Ok(RustOverhead {
        remember_us,
        remember_after_us: Vec::new(),
        recall_us,
        recall_engine_us,
        index_wait,
    })
}

/// The whole corpus remembered in batches of [`OVERHEAD_BATCH`], each
/// call timed: microseconds per call.
fn remember_all(ns: &mnemo::Namespace, corpus: &Corpus) -> Result<Vec<f64>> {
    let n = corpus.texts.len();
    let mut remember_us = Vec::with_capacity(n / OVERHEAD_BATCH + 1);
    for start in (0..n).step_by(OVERHEAD_BATCH) {
        let end = (start + OVERHEAD_BATCH).min(n);
        let batch: Vec<NewMemory> = (start..end)
            .map(|i| {
                NewMemory::new(corpus.texts[i].clone())
                    .vector(corpus.vectors[i * DIM..(i + 1) * DIM].to_vec())
            })
            .collect();
        let t = Instant::now();
        let done = ns.remember_batch(batch)?;
        remember_us.push(t.elapsed().as_secs_f64() * 1e6);
        ensure!(
            done.len() == end - start,
            "remember_batch answered {} of {}",
            done.len(),
            end - start
        );
    }
    Ok(remember_us)
}

/// The remember calls of [`rust_overhead`] again, into a fresh on-disk
/// namespace, after the Python driver: the calls are fsync-bound and the
/// disk's sync latency drifts over the minutes between the Rust and the
/// Python calls, so the Rust side is timed before and after the Python
/// side and both passes make its figure.
fn rust_remember_pass(corpus: &Corpus, work: &Path) -> Result<Vec<f64>> {
    let dir = tempfile::tempdir_in(work)?;
    let mnemo = Mnemo::open_with(dir.path(), Options::default())?;
    let ns = mnemo.namespace_with_embedder("bench", Arc::new(CallerVectors::new(DIM)?))?;
    remember_all(&ns, corpus)
}

/// What `bench_python.py` writes.
#[derive(Debug, Deserialize)]
struct PyOut {
    python: String,
    #[serde(default)]
    versions: HashMap<String, String>,
    #[serde(default)]
    errors: HashMap<String, String>,
    overhead: Option<PyOverhead>,
    #[serde(default)]
    vectors: HashMap<String, PyStore>,
    #[serde(default)]
    locomo: HashMap<String, PyLocomo>,
    mem0_pipeline: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct PyOverhead {
    remember_batch_us: Vec<f64>,
    recall_us: Vec<f64>,
    /// Per recall: the answer's `timings_us` summed.
    #[serde(default)]
    recall_engine_us: Vec<f64>,
    index_wait_s: f64,
    index_wait: String,
    mean_hits: f64,
}

#[derive(Debug, Deserialize)]
struct PyStore {
    version: String,
    insert_s: f64,
    ready_s: Option<f64>,
    index_s: Option<f64>,
    index_wait: Option<String>,
    query_us: Vec<f64>,
    recall_at_k: f64,
    /// mnemo only: the same queries as its default hybrid recall.
    #[serde(default)]
    hybrid_query_us: Vec<f64>,
    /// mnemo only: recall@k of the hybrid answers against exact neighbours.
    #[serde(default)]
    hybrid_recall_at_k: Option<f64>,
    settings: String,
}

#[derive(Debug, Deserialize)]
struct PyLocomo {
    add_us: Vec<f64>,
    search_us: Vec<f64>,
    /// Per conversation, per question: turn positions, best first.
    rankings: Vec<Vec<Vec<usize>>>,
}

/// The `q` quantile of `v` (nearest rank on the sorted samples).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 * q).ceil() as usize).clamp(1, s.len()) - 1;
    s[i]
}

fn p50(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

fn p95(v: &[f64]) -> f64 {
    quantile(v, 0.95)
}

const RUST_PEER: &str = "the same call in Rust (mnemo crate), same data, same machine, same run";

/// One overhead row: Python's `q` quantile against Rust's, both sides'
/// p50 and p95 as params.
fn overhead_row(
    env: &Env,
    name: &str,
    q: f64,
    py: &[f64],
    rust: &[f64],
    call: &str,
) -> BenchResult {
    env.stamp(
        BenchResult::new(name, "us/call", quantile(py, q), Better::Lower)
            .peer(&format!("{call}: {RUST_PEER}"), quantile(rust, q))
            .param("py_p50_us", p50(py))
            .param("py_p95_us", p95(py))
            .param("rust_p50_us", p50(rust))
            .param("rust_p95_us", p95(rust))
            .param("calls", py.len())
            .param("data", CORPUS_NOTE),
    )
}

/// Part A's rows.
fn overhead_rows(env: &Env, rust: &RustOverhead, py: &PyOverhead, s: &Sizes) -> Vec<BenchResult> {
    let mut rows = Vec::new();
    let rust_remember: Vec<f64> = rust
        .remember_us
        .iter()
        .chain(&rust.remember_after_us)
        .copied()
        .collect();
    for (name, q) in [
        ("py_remember_batch100_p50", 0.5),
        ("py_remember_batch100_p95", 0.95),
    ] {
        let row = overhead_row(
            env,
            name,
            q,
            &py.remember_batch_us,
            &rust_remember,
            &format!("remember_batch of {OVERHEAD_BATCH}"),
        )
        .param(
            "rust_passes",
            json!({
                "before_python_p50_us": p50(&rust.remember_us),
                "after_python_p50_us": p50(&rust.remember_after_us),
                "what": "the Rust calls run twice, each pass into a fresh namespace, once before and once after the Python calls (fsync-bound calls: the disk's sync latency drifts over the minutes between them); the Rust figure pools both passes",
            }),
        )
        .param("batch", OVERHEAD_BATCH)
        .param("memories", s.memories)
        .param(
            "call",
            "Python: Namespace.remember_many(texts, vectors=float32 ndarray (100, 384)); Rust: Namespace::remember_batch(Vec<NewMemory> with .vector(..)), built before the timer",
        )
        .param(
            "engine",
            "Mnemo on disk (temporary directory), default options: sync always (each call returns once fsynced), dedup on, background HNSW indexer; namespace with caller vectors of 384",
        );
        let ratio = (q == 0.5)
            .then(|| row.ratio_row(TARGET_OVERHEAD_RATIO, TARGET_SOURCE))
            .flatten();
        rows.push(row);
        rows.extend(ratio);
    }
    for (name, q) in [("py_recall_top10_p50", 0.5), ("py_recall_top10_p95", 0.95)] {
        let row = overhead_row(
            env,
            name,
            q,
            &py.recall_us,
            &rust.recall_us,
            &format!("recall_with top-{K} with the query vector"),
        )
        .param("k", K)
        .param("memories", s.memories)
        .param("warmup_queries", s.warmup_queries)
        .param(
            "call",
            "Python: Namespace.recall(text, k=10, vector=float32 ndarray (384,)); Rust: Namespace::recall_with(text, &RecallOptions::k(10) with query_vector), options built before the timer",
        )
        .param(
            "index",
            "after the memories of the remember figure; Rust waits with flush_index, Python with the package's own wait if it has one",
        )
        .param(
            "engine_phases_p50_us",
            json!({
                "rust": p50(&rust.recall_engine_us),
                "python": p50(&py.recall_engine_us),
                "what": "the recall's own phase timings (embed, candidates, spread, fuse) summed, p50: time inside the engine's recall, apart from the call around it",
            }),
        )
        .param("py_index_wait_s", py.index_wait_s)
        .param("py_index_wait", py.index_wait.as_str())
        .param("rust_index_wait_s", rust.index_wait.as_secs_f64())
        .param("py_mean_hits", py.mean_hits);
        let ratio = (q == 0.5)
            .then(|| row.ratio_row(TARGET_OVERHEAD_RATIO, TARGET_SOURCE))
            .flatten();
        rows.push(row);
        rows.extend(ratio);
    }
    let added = p50(&py.recall_us) - p50(&rust.recall_us);
    rows.push(
        env.stamp(
            BenchResult::new("py_recall_added_us_p50", "us", added, Better::Lower)
                .target(TARGET_ADDED_RECALL_US)
                .peer(
                    &format!("Rust recall_with p50: {RUST_PEER}"),
                    p50(&rust.recall_us),
                )
                .param(
                    "definition",
                    "Python recall p50 minus Rust recall_with p50, same queries, same run",
                )
                .param("memories", s.memories),
        ),
    );
    rows
}

/// Part B's rows: mnemo against the faster of chromadb and lancedb.
fn vector_rows(
    env: &Env,
    out: &PyOut,
    s: &Sizes,
    rust: Option<&RustOverhead>,
) -> Result<Vec<BenchResult>> {
    let Some(mnemo) = out.vectors.get("mnemo") else {
        bail!(
            "no vector-store figures for mnemo from Python: {:?}",
            out.errors
        );
    };
    let peers: Vec<(&str, &PyStore)> = ["chromadb", "lancedb"]
        .into_iter()
        .filter_map(|name| out.vectors.get(name).map(|p| (name, p)))
        .collect();
    if env.peers && peers.len() < 2 {
        bail!("a vector-store peer failed: {:?}", out.errors);
    }
    let label = |name: &str, p: &PyStore| {
        format!(
            "{name} {} (same vectors, same batches, same run)",
            p.version
        )
    };
    let common = |row: BenchResult| {
        let half = mnemo.query_us.len() / 2;
        let mut row = row
            .param("memories", s.memories)
            .param("dimension", DIM)
            .param("batch", INSERT_BATCH)
            .param("data", CORPUS_NOTE)
            .param("mnemo_settings", mnemo.settings.as_str())
            .param("mnemo_recall_at_10", mnemo.recall_at_k)
            .param(
                "mnemo_hybrid_recall",
                json!({
                    "query_p50_us": p50(&mnemo.hybrid_query_us),
                    "query_p95_us": p95(&mnemo.hybrid_query_us),
                    "recall_at_10": mnemo.hybrid_recall_at_k,
                    "what": "the same queries through mnemo's default recall (query text and vector; BM25 keywords and spreading activation fused with the vector signal): ranks by relevance, not by vector distance alone, so its recall@10 against exact neighbours is not the figure's",
                }),
            )
            .param(
                "mnemo_index_wait",
                mnemo.index_wait.as_deref().unwrap_or("?"),
            )
            .param(
                "mnemo_query_p50_us_first_half_second_half",
                json!([p50(&mnemo.query_us[..half]), p50(&mnemo.query_us[half..])]),
            );
        if let Some(r) = rust {
            row = row.param(
                "mnemo_rust_flush_index_s",
                json!({
                    "value": r.index_wait.as_secs_f64(),
                    "what": "Rust: Namespace::flush_index after the overhead figure's inserts (same corpus, batches of 100): how long the background HNSW indexer still ran after the last insert returned",
                }),
            );
        }
        for (name, p) in &peers {
            row = row
                .param(&format!("{name}_settings"), p.settings.as_str())
                .param(&format!("{name}_recall_at_10"), p.recall_at_k)
                .param(
                    &format!("{name}_insert_items_per_s"),
                    s.memories as f64 / p.insert_s,
                )
                .param(&format!("{name}_query_p50_us"), p50(&p.query_us))
                .param(&format!("{name}_query_p95_us"), p95(&p.query_us));
            if let Some(ready) = p.ready_s {
                row = row.param(
                    &format!("{name}_insert_until_indexed_items_per_s"),
                    s.memories as f64 / ready,
                );
            }
            if let Some(i) = p.index_s {
                row = row.param(&format!("{name}_index_build_s"), i);
            }
        }
        env.no_peers(env.stamp(row)).param(
            "durability",
            "mnemo: every remember_many call is fsynced before it returns (sync always, the default); chromadb and lancedb: their defaults (neither is asked to sync; no durability option was set)",
        )
    };
    let mut rows = Vec::new();
    let mut row = BenchResult::new(
        "py_insert_100k",
        "items/s",
        s.memories as f64 / mnemo.insert_s,
        Better::Higher,
    )
    .param(
        "timed",
        "the insert calls alone, first to last (same batches of 1,000 for every system); indexing after the last call is not included (see *_index_build_s, mnemo_rust_flush_index_s)",
    );
    if let Some((pname, p)) = peers
        .iter()
        .min_by(|a, b| a.1.insert_s.total_cmp(&b.1.insert_s))
    {
        row = row.peer(
            &format!("the faster peer: {}", label(pname, p)),
            s.memories as f64 / p.insert_s,
        );
    }
    let row = common(row);
    let ratio = row.ratio_row(TARGET_VS_STORES, TARGET_SOURCE);
    rows.push(row);
    rows.extend(ratio);
    for (name, q) in [("py_query_top10_p50", 0.5), ("py_query_top10_p95", 0.95)] {
        let mut row = BenchResult::new(name, "us", quantile(&mnemo.query_us, q), Better::Lower)
            .param("k", K)
            .param("queries", mnemo.query_us.len())
            .param("warmup_queries", s.warmup_queries)
            .param(
                "timed",
                "one query at a time, single caller, after insert and index wait",
            );
        if let Some((pname, p)) = peers
            .iter()
            .min_by(|a, b| quantile(&a.1.query_us, q).total_cmp(&quantile(&b.1.query_us, q)))
        {
            row = row.peer(
                &format!("the faster peer: {}", label(pname, p)),
                quantile(&p.query_us, q),
            );
        }
        let row = common(row);
        let ratio = row.ratio_row(1.0 / TARGET_VS_STORES, TARGET_SOURCE);
        rows.push(row);
        rows.extend(ratio.map(|r| {
            r.param(
                "target_note",
                "mnemo at least 3x faster than the faster peer: value at most 1/3",
            )
        }));
    }
    Ok(rows)
}

/// Part C's rows: mnemo against mem0 on LoCoMo.
fn locomo_rows(env: &Env, out: &PyOut, conversations: &[Conversation]) -> Result<Vec<BenchResult>> {
    let Some(mnemo) = out.locomo.get("mnemo") else {
        bail!("no LoCoMo figures for mnemo from Python: {:?}", out.errors);
    };
    let mem0 = out.locomo.get("mem0");
    if env.peers && mem0.is_none() {
        bail!("mem0 failed on LoCoMo: {:?}", out.errors);
    }
    let score = |run: &PyLocomo| -> Result<locomo::RetrievalScore> {
        ensure!(
            run.rankings.len() == conversations.len(),
            "rankings for {} conversations, not {}",
            run.rankings.len(),
            conversations.len()
        );
        let mut tally = locomo::Tally::default();
        for (conv, rankings) in conversations.iter().zip(&run.rankings) {
            ensure!(
                rankings.len() == conv.questions.len(),
                "{}: {} rankings for {} questions",
                conv.data.sample_id,
                rankings.len(),
                conv.questions.len()
            );
            for (q, ranking) in conv.questions.iter().zip(rankings) {
                locomo::add(&mut tally, q, ranking, LOCOMO_K);
            }
        }
        Ok(locomo::rates(&tally))
    };
    let ours = score(mnemo)?;
    let theirs = mem0.map(score).transpose()?;
    let mem0_label = format!(
        "mem0ai {} Memory(infer=False) on local Qdrant (qdrant-client {}), same MiniLM vectors through its embedder interface, same turns and questions (same run)",
        env.version("mem0ai"),
        env.version("qdrant-client")
    );
    let turns: usize = conversations.iter().map(|c| c.turns.len()).sum();
    let common = |row: BenchResult| {
        let mut row = row
            .param("split", "LoCoMo dev, categories 1-4, every turn one memory (\"speaker: text\")")
            .param("conversations", conversations.len())
            .param("turns", turns)
            .param("questions", ours.questions)
            .param("k_asked", K)
            .param("vectors", "all-MiniLM-L6-v2 (mnemo-embed MiniLm, f32) computed by the harness for every turn and question, given to both systems")
            .param(
                "mnemo_call",
                "Mnemo(path) defaults, namespace embedder=\"vectors\"; remember(content, tags=[session, speaker], source=conversation, at=session time + turn index s, vector=...) per turn; recall(question, k=10, vector=question vector)",
            )
            .param(
                "mem0_call",
                "Memory.from_config(vector_store qdrant local path, history sqlite), embedding_model replaced by an EmbeddingBase answering the harness's vectors; add([{role: user, content}], user_id=conversation, infer=False) per turn; search(question, top_k=10, filters={user_id}) with its defaults (threshold 0.1)",
            )
            .param(
                "mem0_offline",
                "mem0 runs with no network: infer=False never calls the LLM (an OpenAI client is constructed with a dummy key and never used); its hybrid search's extras are absent: BM25 needs fastembed's Qdrant/bm25 files from the Hugging Face hub and entity boosts need spaCy's en_core_web_sm from GitHub, neither reachable here, so mem0 logs that it falls back to semantic scoring (and add with infer=False links no entities to a memory in any case)",
            );
        if let Some(p) = &out.mem0_pipeline {
            row = row.param("mem0_pipeline_extras", p.clone());
        }
        env.no_peers(env.stamp(row))
    };
    let mut rows = Vec::new();
    let hit = {
        let mut row = BenchResult::new("locomo_hit5_vs_mem0", "fraction", ours.hit, Better::Higher);
        if let Some(t) = &theirs {
            row = row.peer(&mem0_label, t.hit);
        }
        common(row).param("mnemo_recall5", ours.recall).param(
            "mem0_recall5",
            theirs.map_or(Value::Null, |t| json!(t.recall)),
        )
    };
    let hit_ratio = hit.ratio_row(TARGET_HIT_VS_MEM0, TARGET_SOURCE);
    rows.push(hit);
    rows.extend(hit_ratio);
    for (name, q, target) in [
        ("locomo_search_p50", 0.5, None),
        ("locomo_search_p95", 0.95, Some(TARGET_SEARCH_P95_VS_MEM0)),
    ] {
        let mut row = BenchResult::new(
            name,
            "ms",
            quantile(&mnemo.search_us, q) / 1000.0,
            Better::Lower,
        )
        .param("searches", mnemo.search_us.len());
        if let Some(m) = mem0 {
            row = row.peer(&mem0_label, quantile(&m.search_us, q) / 1000.0);
        }
        let row = common(row);
        let ratio = target.and_then(|t| row.ratio_row(t, TARGET_SOURCE));
        rows.push(row);
        rows.extend(ratio);
    }
    for (name, q) in [("locomo_add_p50", 0.5), ("locomo_add_p95", 0.95)] {
        let mut row = BenchResult::new(name, "ms", quantile(&mnemo.add_us, q) / 1000.0, Better::Lower)
            .param("adds", mnemo.add_us.len())
            .param("durability", "mnemo: each remember fsynced before it returns (sync always); mem0: Qdrant local and its SQLite history with their defaults");
        if let Some(m) = mem0 {
            row = row.peer(&mem0_label, quantile(&m.add_us, q) / 1000.0);
        }
        rows.push(common(row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_seeded_unit_and_clustered() {
        let a = corpus(200, 10, 8);
        let b = corpus(200, 10, 8);
        assert_eq!(a.vectors, b.vectors);
        assert_eq!(a.texts, b.texts);
        assert_eq!(a.vectors.len(), 200 * DIM);
        assert_eq!(a.queries.len(), 10 * DIM);
        for v in a.vectors.chunks(DIM).chain(a.queries.chunks(DIM)) {
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
        assert!(a.texts[3].starts_with("note 3 on topic "));
        assert!(a.query_texts[0].starts_with("topic "));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p50(&v), 50.0);
        assert_eq!(p95(&v), 95.0);
        assert_eq!(quantile(&[3.0], 0.95), 3.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
