//! [`MiniLm`]: the sentence-transformers all-MiniLM-L6-v2 model on the CPU.
//!
//! The pipeline is the model's own: BERT WordPiece tokenisation (the
//! model's `tokenizer.json`, truncated at 256 tokens including
//! `[CLS]` and `[SEP]`), a 6-layer BERT forward pass with candle, mean
//! pooling of the last hidden states over the attention mask, then L2
//! normalisation.
//!
//! A batch is tokenised in parallel, ordered by token count and cut into
//! sub-batches of at most [`SUB_BATCH`] texts; each sub-batch is padded to its
//! own longest sequence (so little work is spent on padding), and the
//! sub-batches run side by side on one worker thread per core, so every core
//! of a small machine is busy.
//!
//! # Threads
//!
//! candle also splits each matrix product across `RAYON_NUM_THREADS`
//! threads (all cores by default). For this model's small matrices that is
//! slower than one thread per sub-batch: on 2 cores, LoCoMo turns embed
//! about 1.7 times faster with `RAYON_NUM_THREADS=1`, and a single query is
//! faster too. Programs that embed a lot should set it before they start any
//! thread (`mnemo-bench` does); the results are the same either way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct, PositionEmbeddingType};
use rayon::prelude::*;

use crate::model_dir::{self, WEIGHTS_FILE};
use crate::wordpiece::WordPieces;
use crate::{Embedder, EmbedderInfo, Error, l2_normalize};

/// Most texts run through the model at once.
pub const SUB_BATCH: usize = 4;
/// Dimension of the model's vectors.
const DIMENSION: usize = 384;
/// The embedder id recorded by namespaces.
const ID: &str = "minilm-l6-v2";

/// The vectors of one sub-batch, or why it failed.
type ChunkResult = Result<Vec<Vec<f32>>, Error>;

/// The all-MiniLM-L6-v2 sentence embedder (see the module documentation).
///
/// ```no_run
/// use mnemo_embed::{Embedder, MiniLm};
///
/// let model = MiniLm::load_default()?; // MNEMO_MODEL_DIR or the cache
/// let v = model.embed("Where did Caroline go yesterday?")?;
/// assert_eq!(v.len(), 384);
/// # Ok::<(), mnemo_embed::Error>(())
/// ```
pub struct MiniLm {
    info: EmbedderInfo,
    model: BertModel,
    tokenizer: WordPieces,
    dir: PathBuf,
    /// One single-threaded rayon pool per core. Sub-batches run in parallel,
    /// one per pool; inside a pool candle's matrix products and element-wise
    /// operations run on that one thread, which on small matrices is much
    /// faster than splitting each product across cores.
    workers: Vec<rayon::ThreadPool>,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("info", &self.info)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl MiniLm {
    /// Loads the model from the first directory of
    /// [`model_dir::candidates`] that holds its files.
    pub fn load_default() -> Result<Self, Error> {
        Self::load(&model_dir::find()?)
    }

    /// Loads the model from `dir`, which must hold `model.safetensors` and
    /// `tokenizer.json` of all-MiniLM-L6-v2.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        model_dir::ensure_complete(dir)?;
        let corrupt = |path: &Path, reason: String| Error::ModelFile {
            path: path.to_path_buf(),
            reason,
        };
        let tokenizer = WordPieces::load(dir)?;

        let weights_path = dir.join(WEIGHTS_FILE);
        let weights =
            std::fs::read(&weights_path).map_err(|e| corrupt(&weights_path, e.to_string()))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| corrupt(&weights_path, e.to_string()))?;
        let model =
            BertModel::load(vb, &config()).map_err(|e| corrupt(&weights_path, e.to_string()))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = (0..cores)
            .map(|w| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(move |_| format!("mnemo-minilm-{w}"))
                    .build()
                    .map_err(|e| Error::Inference {
                        reason: format!("starting worker threads: {e}"),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            info: EmbedderInfo::new(ID, DIMENSION),
            model,
            tokenizer,
            dir: dir.to_path_buf(),
            workers,
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

    /// Runs [`Self::forward`] over every chunk of `order` (indices into
    /// `ids`), spread over the worker pools, and returns the vectors chunk by
    /// chunk.
    fn run_chunks(
        &self,
        chunks: &[&[usize]],
        ids: &[Vec<u32>],
    ) -> Result<Vec<Vec<Vec<f32>>>, Error> {
        let forward = |chunk: &[usize]| {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            self.forward(&batch)
        };
        let workers = &self.workers[..self.workers.len().min(chunks.len())];
        if let [only] = workers {
            return only.install(|| chunks.iter().map(|c| forward(c)).collect());
        }
        // Each worker takes the next chunk until none is left: the chunks are
        // sorted by length, so this balances better than fixed shares.
        let next = AtomicUsize::new(0);
        let mut done: Vec<(usize, ChunkResult)> = std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .iter()
                .map(|pool| {
                    let (next, forward) = (&next, &forward);
                    scope.spawn(move || {
                        pool.install(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(chunk) = chunks.get(i) else { break };
                                mine.push((i, forward(chunk)));
                            }
                            mine
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![(
                            usize::MAX,
                            Err(Error::Inference {
                                reason: "a MiniLM worker thread panicked".to_owned(),
                            }),
                        )]
                    })
                })
                .collect()
        });
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }

    /// Runs the model over texts already tokenised, all in one padded batch,
    /// and returns one normalised vector per text.
    fn forward(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>, Error> {
        let batch = ids.len();
        let len = ids.iter().map(|x| x.len()).max().unwrap_or(0).max(1);
        let mut input = vec![0u32; batch * len];
        let mut mask = vec![0u32; batch * len];
        for (row, seq) in ids.iter().enumerate() {
            input[row * len..row * len + seq.len()].copy_from_slice(seq);
            mask[row * len..row * len + seq.len()].fill(1);
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let input = Tensor::from_vec(input, (batch, len), &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, (batch, len), &Device::Cpu)?;
            let types = input.zeros_like()?;
            let hidden = self.model.forward(&input, &types, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            summed.broadcast_div(&counts)?.to_vec2::<f32>()
        };
        let mut vectors = run().map_err(|e| Error::Inference {
            reason: format!("BERT forward pass: {e}"),
        })?;
        for v in &mut vectors {
            l2_normalize(v);
        }
        Ok(vectors)
    }
}

impl Embedder for MiniLm {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        let ids: Vec<Vec<u32>> = texts
            .par_iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let chunks: Vec<&[usize]> = order.chunks(SUB_BATCH).collect();
        let results = self.run_chunks(&chunks, &ids)?;
        let mut out = vec![Vec::new(); texts.len()];
        for (chunk, vectors) in chunks.iter().zip(results) {
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// all-MiniLM-L6-v2's architecture (the `config.json` that ships with it).
fn config() -> Config {
    Config {
        vocab_size: 30522,
        hidden_size: DIMENSION,
        num_hidden_layers: 6,
        num_attention_heads: 12,
        intermediate_size: 1536,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.0,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        initializer_range: 0.02,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: false,
        classifier_dropout: None,
        model_type: Some("bert".to_owned()),
    }
}
