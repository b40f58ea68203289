//! [`MiniLmQ8`]: all-MiniLM-L6-v2 with int8 weights, on mnemo's own
//! kernels.
//!
//! The same model files as [`crate::MiniLm`], the same tokeniser and
//! truncation (256 tokens; long texts are cut at white space before
//! tokenising), and a BERT forward pass written for small inputs:
//!
//! - token, position and type embeddings and every LayerNorm in f32;
//! - the query/key/value (fused into one product), attention-output and two
//!   feed-forward linear layers of each of the six layers as int8 products
//!   (see `int8_gemm`): weights quantised per output channel when the model
//!   loads, activations per token when they are used, sums in i32;
//! - GELU in its exact (erf) form, as BERT;
//! - attention in f32, head by head, each sequence at its own length: a
//!   batch is never padded, its sequences' tokens are simply stacked for the
//!   linear layers;
//! - mean pooling over the tokens, then L2 normalisation.
//!
//! The f32 steps are plain Rust written so that the compiler vectorises
//! them (sums in eight lanes, `exp` as a polynomial rather than a library
//! call), and are compiled twice: for AVX2 when the integer kernel implies
//! it (the AVX2 and AVX-512 VNNI kernels), and for the baseline otherwise. Neither uses fused multiply-adds, so both
//! compute the same floats and the vectors do not depend on the CPU (a test
//! compares them bit for bit).
//!
//! Its vectors differ a little from the f32 model's (cosine ≥ 0.99 with
//! them on the reference sentences), so it has its own id,
//! `minilm-l6-v2-q8`, and namespaces built with one refuse the other.
//!
//! # Threads
//!
//! The embedder owns a pool of one thread per core. A single text splits
//! each large product's output channels between two threads (each applies
//! GELU to its own half of the feed-forward layer) and its attention heads
//! likewise; a batch is cut into groups of about [`GROUP_ROWS`] tokens that
//! run side by side, one per thread.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

use crate::int8_gemm::{Int8Linear, Kernel, QuantRows, Sums};
use crate::model_dir::{self, WEIGHTS_FILE};
use crate::wordpiece::{MAX_TOKENS, WordPieces};
use crate::{Embedder, EmbedderInfo, Error, l2_normalize};

/// The embedder id recorded by namespaces.
const ID: &str = "minilm-l6-v2-q8";
/// Width of the hidden states, and dimension of the vectors.
const HIDDEN: usize = 384;
/// Attention heads per layer.
const HEADS: usize = 12;
/// Width of one head.
const HEAD_DIM: usize = HIDDEN / HEADS;
/// Width of the feed-forward layer.
const FFN: usize = 1536;
/// Transformer layers.
const LAYERS: usize = 6;
/// Positions the model has embeddings for.
const MAX_POSITIONS: usize = 512;
/// LayerNorm's epsilon in this model.
const LN_EPS: f32 = 1e-12;
/// Tokens of one group of a batch: large enough that each weight panel is
/// reused across many tokens, small enough that a batch makes several
/// groups to share among the cores.
pub const GROUP_ROWS: usize = 64;

/// all-MiniLM-L6-v2 with int8 weights (see the module documentation).
///
/// ```no_run
/// use mnemo_embed::{Embedder, MiniLmQ8};
///
/// let model = MiniLmQ8::load_default()?; // MNEMO_MODEL_DIR or the cache
/// let v = model.embed("Where did Caroline go yesterday?")?;
/// assert_eq!(v.len(), 384);
/// assert_eq!(model.info().id, "minilm-l6-v2-q8");
/// # Ok::<(), mnemo_embed::Error>(())
/// ```
pub struct MiniLmQ8 {
    info: EmbedderInfo,
    bert: Bert,
    tokenizer: WordPieces,
    dir: PathBuf,
    kernel: Kernel,
    /// One thread per core, for every pass of this embedder.
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for MiniLmQ8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmQ8")
            .field("info", &self.info)
            .field("dir", &self.dir)
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

/// The weights of the whole model.
struct Bert {
    /// `vocab × HIDDEN` token embeddings.
    words: Vec<f32>,
    /// `MAX_POSITIONS × HIDDEN` position embeddings.
    positions: Vec<f32>,
    /// The embedding of token type 0 (the only type a sentence has).
    token_type: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
}

/// One transformer layer.
struct Layer {
    /// Query, key and value stacked: `3 × HIDDEN` outputs.
    qkv: Int8Linear,
    attention_out: Int8Linear,
    attention_norm: Norm,
    up: Int8Linear,
    down: Int8Linear,
    output_norm: Norm,
}

/// A LayerNorm's scale and shift.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// The buffers of one forward pass.
#[derive(Default)]
struct Scratch {
    hidden: Vec<f32>,
    qkv: Vec<f32>,
    attention: AttentionScratch,
    sum: Vec<f32>,
    ffn: Vec<f32>,
    quantized: QuantRows,
    sums: Sums,
}

/// The buffers of the attention step.
#[derive(Default)]
struct AttentionScratch {
    /// Its result: `rows × HIDDEN`.
    context: Vec<f32>,
    /// The second half of the heads' results, when they run on a second
    /// thread: `rows × HIDDEN / 2`.
    right: Vec<f32>,
    /// Per-head buffers of the first (or only) and the second thread.
    heads: HeadScratch,
    right_heads: HeadScratch,
}

/// The buffers of one thread's heads.
#[derive(Default)]
struct HeadScratch {
    /// One query's scores, one per key.
    scores: Vec<f32>,
    /// One head's keys, transposed: `HEAD_DIM` rows of one value per key.
    keys: Vec<f32>,
}

impl MiniLmQ8 {
    /// Loads the model from where [`crate::MiniLm::load_default`] finds it
    /// (the first of [`model_dir::candidates`] holding its files).
    pub fn load_default() -> Result<Self, Error> {
        Self::load(&model_dir::find()?)
    }

    /// Loads the model from `dir`, which must hold `model.safetensors` and
    /// `tokenizer.json` of all-MiniLM-L6-v2, and quantises its linear
    /// layers.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        model_dir::ensure_complete(dir)?;
        let tokenizer = WordPieces::load(dir)?;
        let bert = Bert::load(&dir.join(WEIGHTS_FILE))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("mnemo-minilm-q8-{i}"))
            .build()
            .map_err(|e| Error::Inference {
                reason: format!("starting worker threads: {e}"),
            })?;
        Ok(Self {
            info: EmbedderInfo::new(ID, HIDDEN),
            bert,
            tokenizer,
            dir: dir.to_path_buf(),
            kernel: Kernel::detect(),
            pool,
        })
    }

    /// The directory the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// The token ids of `text` as the model sees them: `[CLS]`, at most
    /// 254 WordPiece tokens, `[SEP]`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tokenizer.ids(text)
    }

    /// Which integer kernel runs the products: `"avx512-vnni"`, `"avx2"` or
    /// `"scalar"`.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel.name()
    }

    /// Runs the model over `seqs` (token ids, each at most [`MAX_TOKENS`]
    /// long) stacked into one pass; `split` lets each large product use two
    /// threads of the current pool.
    fn forward(&self, seqs: &[&[u32]], split: bool) -> Result<Vec<Vec<f32>>, Error> {
        #[cfg(target_arch = "x86_64")]
        if self.kernel.is_avx2() {
            // SAFETY: the kernel is AVX2 only when the CPU reported AVX2.
            return unsafe { self.forward_avx2(seqs, split) };
        }
        self.forward_inline(seqs, split)
    }

    /// [`Self::forward`] with its f32 loops compiled for AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, seqs: &[&[u32]], split: bool) -> Result<Vec<Vec<f32>>, Error> {
        self.forward_inline(seqs, split)
    }

    /// [`Self::forward`], inlined into its callers so its f32 loops use the
    /// vector unit the kernel chose. It has no fused multiply-adds, so the
    /// floats are the same, operation for operation, whichever it is.
    #[inline(always)]
    fn forward_inline(&self, seqs: &[&[u32]], split: bool) -> Result<Vec<Vec<f32>>, Error> {
        let bert = &self.bert;
        let mut s = Scratch::default();
        let lens: Vec<usize> = seqs.iter().map(|q| q.len()).collect();
        bert.embed_tokens(seqs, &mut s.hidden)?;
        for layer in &bert.layers {
            let (k, q, sums) = (self.kernel, &mut s.quantized, &mut s.sums);
            q.quantize(&s.hidden, HIDDEN);
            let none = &|_: &mut [f32]| {};
            layer.qkv.forward_then(k, q, &mut s.qkv, split, sums, none);
            attention_step(k, &s.qkv, &lens, split, &mut s.attention);
            q.quantize(&s.attention.context, HIDDEN);
            layer
                .attention_out
                .forward_then(k, q, &mut s.sum, split, sums, none);
            add_and_norm(&mut s.hidden, &s.sum, &layer.attention_norm);
            q.quantize(&s.hidden, HIDDEN);
            let gelu = &|x: &mut [f32]| gelu_in_place(k, x);
            layer.up.forward_then(k, q, &mut s.ffn, split, sums, gelu);
            q.quantize(&s.ffn, FFN);
            layer.down.forward_then(k, q, &mut s.sum, split, sums, none);
            add_and_norm(&mut s.hidden, &s.sum, &layer.output_norm);
        }
        let mut vectors = Vec::with_capacity(seqs.len());
        let mut rows = s.hidden.chunks_exact(HIDDEN);
        for &len in &lens {
            let mut mean = vec![0.0f32; HIDDEN];
            for row in rows.by_ref().take(len) {
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
            }
            // Dividing by the length would not change the normalised vector.
            l2_normalize(&mut mean);
            vectors.push(mean);
        }
        Ok(vectors)
    }
}

impl Embedder for MiniLmQ8 {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        if let [text] = texts {
            let ids = self.token_ids(text)?;
            return self.pool.install(|| self.forward(&[&ids], true));
        }
        self.pool.install(|| {
            let ids: Vec<Vec<u32>> = texts
                .par_iter()
                .map(|t| self.token_ids(t))
                .collect::<Result<_, _>>()?;
            let groups = groups(&ids);
            let split = groups.len() == 1;
            let done: Vec<Vec<Vec<f32>>> = groups
                .par_iter()
                .map(|g| {
                    let seqs: Vec<&[u32]> = g.iter().map(Vec::as_slice).collect();
                    self.forward(&seqs, split)
                })
                .collect::<Result<_, _>>()?;
            Ok(done.into_iter().flatten().collect())
        })
    }
}

/// `ids` cut, in order, into groups of consecutive sequences of at most
/// [`GROUP_ROWS`] tokens in all (a longer sequence makes a group alone).
fn groups(ids: &[Vec<u32>]) -> Vec<&[Vec<u32>]> {
    let mut out = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, seq) in ids.iter().enumerate() {
        if i > start && rows + seq.len() > GROUP_ROWS {
            out.push(&ids[start..i]);
            (start, rows) = (i, 0);
        }
        rows += seq.len();
    }
    if start < ids.len() {
        out.push(&ids[start..]);
    }
    out
}

impl Bert {
    /// Reads the weights from `path` and quantises the linear layers.
    fn load(path: &Path) -> Result<Self, Error> {
        let corrupt = |reason: String| Error::ModelFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| corrupt(e.to_string()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| corrupt(e.to_string()))?;
        drop(bytes);
        let get = |name: &str, shape: &[usize]| tensor(&tensors, name, shape).map_err(corrupt);
        let norm = |prefix: &str| -> Result<Norm, Error> {
            Ok(Norm {
                gamma: get(&format!("{prefix}.LayerNorm.weight"), &[HIDDEN])?,
                beta: get(&format!("{prefix}.LayerNorm.bias"), &[HIDDEN])?,
            })
        };
        let linear = |weights: &[&str], n_each: usize, k: usize| -> Result<Int8Linear, Error> {
            let (mut w, mut b) = (Vec::new(), Vec::new());
            for name in weights {
                w.extend(get(&format!("{name}.weight"), &[n_each, k])?);
                b.extend(get(&format!("{name}.bias"), &[n_each])?);
            }
            Int8Linear::new(&w, &b, b.len(), k).map_err(corrupt)
        };

        let words = tensors
            .get("embeddings.word_embeddings.weight")
            .or_else(|| tensors.get("bert.embeddings.word_embeddings.weight"))
            .map(|t| t.dims().to_vec())
            .unwrap_or_default();
        let vocab = match words.as_slice() {
            [vocab, HIDDEN] if *vocab > 0 => *vocab,
            _ => {
                return Err(corrupt(format!(
                    "embeddings.word_embeddings.weight has shape {words:?}, not [vocabulary, {HIDDEN}]"
                )));
            }
        };
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}");
            let a = format!("{p}.attention");
            layers.push(Layer {
                qkv: linear(
                    &[
                        &format!("{a}.self.query"),
                        &format!("{a}.self.key"),
                        &format!("{a}.self.value"),
                    ],
                    HIDDEN,
                    HIDDEN,
                )?,
                attention_out: linear(&[&format!("{a}.output.dense")], HIDDEN, HIDDEN)?,
                attention_norm: norm(&format!("{a}.output"))?,
                up: linear(&[&format!("{p}.intermediate.dense")], FFN, HIDDEN)?,
                down: linear(&[&format!("{p}.output.dense")], HIDDEN, FFN)?,
                output_norm: norm(&format!("{p}.output"))?,
            });
        }
        let token_types = get("embeddings.token_type_embeddings.weight", &[2, HIDDEN])?;
        Ok(Self {
            words: get("embeddings.word_embeddings.weight", &[vocab, HIDDEN])?,
            positions: get(
                "embeddings.position_embeddings.weight",
                &[MAX_POSITIONS, HIDDEN],
            )?,
            token_type: token_types[..HIDDEN].to_vec(),
            norm: norm("embeddings")?,
            layers,
        })
    }

    /// The normalised input embeddings of every token of `seqs`, stacked.
    #[inline(always)]
    fn embed_tokens(&self, seqs: &[&[u32]], out: &mut Vec<f32>) -> Result<(), Error> {
        out.clear();
        for seq in seqs {
            if seq.len() > MAX_TOKENS {
                return Err(Error::Inference {
                    reason: format!(
                        "{} tokens given to the model, at most {MAX_TOKENS} allowed",
                        seq.len()
                    ),
                });
            }
            for (pos, &id) in seq.iter().enumerate() {
                let at = id as usize * HIDDEN;
                let word = self
                    .words
                    .get(at..at + HIDDEN)
                    .ok_or_else(|| Error::Inference {
                        reason: format!("token id {id} is outside the model's vocabulary"),
                    })?;
                let position = &self.positions[pos * HIDDEN..(pos + 1) * HIDDEN];
                out.extend(
                    word.iter()
                        .zip(position)
                        .zip(&self.token_type)
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        out.chunks_exact_mut(HIDDEN)
            .for_each(|row| layer_norm(row, &self.norm));
        Ok(())
    }
}

/// The f32 values of tensor `name` (with or without a `bert.` prefix), which
/// must have `shape`.
fn tensor(
    tensors: &HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, String> {
    let t = tensors
        .get(name)
        .or_else(|| tensors.get(&format!("bert.{name}")))
        .ok_or_else(|| format!("tensor {name} is missing"))?;
    if t.dims() != shape {
        return Err(format!(
            "tensor {name} has shape {:?}, expected {shape:?}",
            t.dims()
        ));
    }
    t.to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| format!("tensor {name}: {e}"))
}

/// Self-attention of every sequence (`lens` tokens each, stacked in `qkv`,
/// rows of query, key and value) into `a.context`; with `split`, each half
/// of the heads on its own thread of the current pool.
fn attention_step(
    kernel: Kernel,
    qkv: &[f32],
    lens: &[usize],
    split: bool,
    a: &mut AttentionScratch,
) {
    const HALF: usize = HEADS / 2;
    const HALF_WIDTH: usize = HALF * HEAD_DIM;
    let rows: usize = lens.iter().sum();
    // Every value is written by `attention`, so the buffers are not
    // zeroed first.
    a.context.resize(rows * HIDDEN, 0.0);
    if !split || rows < 2 {
        let all = 0..HEADS;
        attention(kernel, qkv, lens, all, &mut a.context, HIDDEN, &mut a.heads);
        return;
    }
    a.right.resize(rows * HALF_WIDTH, 0.0);
    let AttentionScratch {
        context,
        right,
        heads,
        right_heads,
    } = a;
    rayon::join(
        || attention(kernel, qkv, lens, 0..HALF, context, HIDDEN, heads),
        || {
            attention(
                kernel,
                qkv,
                lens,
                HALF..HEADS,
                right,
                HALF_WIDTH,
                right_heads,
            )
        },
    );
    for (c, r) in context
        .chunks_exact_mut(HIDDEN)
        .zip(right.chunks_exact(HALF_WIDTH))
    {
        c[HALF_WIDTH..].copy_from_slice(r);
    }
}

/// Self-attention of `heads` of every sequence (`lens` tokens each, stacked
/// in `qkv`, rows of query, key and value) into `out`, whose rows are `ld`
/// long and start with the first of `heads`; compiled for the kernel's
/// vector unit (the same floats either way).
fn attention(
    kernel: Kernel,
    qkv: &[f32],
    lens: &[usize],
    heads: Range<usize>,
    out: &mut [f32],
    ld: usize,
    buf: &mut HeadScratch,
) {
    /// [`attention_inline`] compiled for AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2(
        qkv: &[f32],
        lens: &[usize],
        heads: Range<usize>,
        out: &mut [f32],
        ld: usize,
        buf: &mut HeadScratch,
    ) {
        attention_inline(qkv, lens, heads, out, ld, buf);
    }
    #[cfg(target_arch = "x86_64")]
    if kernel.is_avx2() {
        // SAFETY: the kernel is AVX2 only when the CPU reported AVX2.
        return unsafe { avx2(qkv, lens, heads, out, ld, buf) };
    }
    let _ = kernel;
    attention_inline(qkv, lens, heads, out, ld, buf);
}

/// See [`attention`].
#[inline(always)]
fn attention_inline(
    qkv: &[f32],
    lens: &[usize],
    heads: Range<usize>,
    out: &mut [f32],
    ld: usize,
    buf: &mut HeadScratch,
) {
    const QKV: usize = 3 * HIDDEN;
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let HeadScratch { scores, keys } = buf;
    let mut start = 0;
    for &len in lens {
        let (Some(seq), Some(out)) = (
            qkv.get(start * QKV..(start + len) * QKV),
            out.get_mut(start * ld..(start + len) * ld),
        ) else {
            return;
        };
        start += len;
        if len == 0 {
            continue;
        }
        scores.clear();
        scores.resize(len, 0.0);
        keys.clear();
        keys.resize(HEAD_DIM * len, 0.0);
        for (column, head) in heads.clone().enumerate() {
            let at = head * HEAD_DIM;
            let column = column * HEAD_DIM;
            // The head's keys transposed, so that a query's scores are
            // summed over the head's dimensions for all keys at once, in
            // vector registers.
            for (j, row) in seq.chunks_exact(QKV).enumerate() {
                if let Some(k) = head_of(row, HIDDEN + at) {
                    for (d, &v) in k.iter().enumerate() {
                        keys[d * len + j] = v;
                    }
                }
            }
            for (row, o) in seq.chunks_exact(QKV).zip(out.chunks_exact_mut(ld)) {
                let (Some(q), Some(o)) = (head_of(row, at), o.get_mut(column..column + HEAD_DIM))
                else {
                    continue;
                };
                scores.fill(0.0);
                for (&q, k) in q.iter().zip(keys.chunks_exact(len)) {
                    for (s, &k) in scores.iter_mut().zip(k) {
                        *s += q * k;
                    }
                }
                scores.iter_mut().for_each(|s| *s *= scale);
                softmax(scores);
                // Summed in a local array, which the compiler keeps in
                // vector registers.
                let mut sum = [0.0f32; HEAD_DIM];
                for (&p, value) in scores.iter().zip(seq.chunks_exact(QKV)) {
                    if let Some(v) = head_of(value, 2 * HIDDEN + at) {
                        for (s, v) in sum.iter_mut().zip(v) {
                            *s += p * v;
                        }
                    }
                }
                o.copy_from_slice(&sum);
            }
        }
    }
}

/// GELU of every value of `x`, compiled for the kernel's vector unit (the
/// same floats either way).
fn gelu_in_place(kernel: Kernel, x: &mut [f32]) {
    /// The loop compiled for AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2(x: &mut [f32]) {
        x.iter_mut().for_each(|v| *v = gelu(*v));
    }
    #[cfg(target_arch = "x86_64")]
    if kernel.is_avx2() {
        // SAFETY: the kernel is AVX2 only when the CPU reported AVX2.
        return unsafe { avx2(x) };
    }
    let _ = kernel;
    x.iter_mut().for_each(|v| *v = gelu(*v));
}

/// The [`HEAD_DIM`] values of `row` from `at`, as an array (so loops over
/// them have a length the compiler knows).
#[inline(always)]
fn head_of(row: &[f32], at: usize) -> Option<&[f32; HEAD_DIM]> {
    row.get(at..)?.first_chunk::<HEAD_DIM>()
}

/// The sum of `x` in eight lanes (then the lanes in order), so the
/// compiler can keep it in vector registers.
#[inline(always)]
fn sum8(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for l in 0..8 {
            lanes[l] += f(c[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Softmax in place.
#[inline(always)]
fn softmax(x: &mut [f32]) {
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    x.iter_mut().for_each(|v| *v = exp(*v - max));
    let sum = sum8(x, |v| v);
    if sum > 0.0 {
        let inv = 1.0 / sum;
        x.iter_mut().for_each(|v| *v *= inv);
    }
}

/// `hidden = LayerNorm(hidden + sum)`, row by row.
#[inline(always)]
fn add_and_norm(hidden: &mut [f32], sum: &[f32], norm: &Norm) {
    for (h, s) in hidden
        .chunks_exact_mut(HIDDEN)
        .zip(sum.chunks_exact(HIDDEN))
    {
        h.iter_mut().zip(s).for_each(|(h, s)| *h += s);
        layer_norm(h, norm);
    }
}

/// LayerNorm of one row of [`HIDDEN`] values.
#[inline(always)]
fn layer_norm(row: &mut [f32], norm: &Norm) {
    let n = row.len() as f32;
    let mean = sum8(row, |v| v) / n;
    let var = sum8(row, |v| (v - mean) * (v - mean)) / n;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// GELU in BERT's exact form, `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error below
/// 1.5e-7, well under the int8 rounding that follows).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// `e^x` in plain f32 arithmetic (Cephes' `expf`: relative error about
/// 1e-7), so loops over it vectorise where `f32::exp`, a library call,
/// would not. Inputs are clamped to −87..=88, where the result is a normal
/// float; NaN becomes e^−87.
#[inline(always)]
fn exp(x: f32) -> f32 {
    /// 1.5 · 2²³: adding it rounds to an integer kept in the low bits.
    const SHIFTER: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Not `clamp`, which keeps NaN.
    let x = if x > -87.0 { x } else { -87.0 };
    let x = if x < 88.0 { x } else { 88.0 };
    let t = x * std::f32::consts::LOG2_E + SHIFTER;
    let n = t - SHIFTER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n is in −126..=127, so 2ⁿ is a normal float: exponent bits n + 127.
    let n_bits = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    y * f32::from_bits((n_bits.wrapping_add(127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable kernel and code give exactly the vectors of the AVX2
    /// kernel and code, one text at a time (products split across threads)
    /// and in batches (grouped). Skipped without the model.
    #[test]
    fn scalar_and_detected_kernels_give_the_same_vectors() {
        let Ok(dir) = model_dir::find() else {
            eprintln!("SKIPPED: the model is not here");
            return;
        };
        let mut model = MiniLmQ8::load(&dir).expect("model");
        let long = "we talked about the lake and the mountains ".repeat(40);
        let texts = [
            "",
            "Where did Caroline go yesterday?",
            "Ünïcödé 🧑‍🤝‍🧑 ﷽ text",
            long.as_str(),
            "Melanie: I painted a sunset over the lake last week!",
        ];
        let embed_all = |m: &MiniLmQ8| {
            let batch = m.embed_batch(&texts).expect("batch");
            let single: Vec<Vec<f32>> = texts.iter().map(|t| m.embed(t).expect("one")).collect();
            (batch, single)
        };
        let fast = embed_all(&model);
        model.kernel = Kernel::scalar();
        assert_eq!(embed_all(&model), fast);
    }

    #[test]
    fn exp_is_close_to_the_library_exp() {
        let mut x = -90.0f32;
        while x < 89.0 {
            let (got, want) = (exp(x), x.clamp(-87.0, 88.0).exp());
            assert!(
                ((got - want) / want).abs() < 3e-7,
                "exp({x}) = {got}, not {want}"
            );
            x += 0.013;
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_finite() && exp(f32::INFINITY).is_finite());
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
            (4.0, 0.999_999_98),
        ] {
            assert!((erf(x) - want).abs() < 1e-6, "erf({x}) = {}", erf(x));
        }
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
        assert_eq!(gelu(0.0), 0.0);
    }

    #[test]
    fn groups_keep_order_and_bound_their_tokens() {
        let ids: Vec<Vec<u32>> = [30, 30, 10, 300, 5, 1]
            .iter()
            .map(|&n| vec![1; n])
            .collect();
        let g = groups(&ids);
        let sizes: Vec<usize> = g.iter().map(|g| g.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 2]);
        assert_eq!(g.iter().map(|g| g.len()).sum::<usize>(), ids.len());
        assert!(groups(&[]).is_empty());
    }

    #[test]
    fn attention_of_one_token_is_its_value() {
        let mut qkv = vec![0.0f32; 3 * HIDDEN];
        for (i, v) in qkv[2 * HIDDEN..].iter_mut().enumerate() {
            *v = i as f32;
        }
        for split in [false, true] {
            let mut a = AttentionScratch::default();
            attention_step(Kernel::detect(), &qkv, &[1], split, &mut a);
            assert_eq!(a.context, qkv[2 * HIDDEN..]);
        }
    }
}
