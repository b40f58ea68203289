//! Cognitive recall: vector kNN and BM25 keywords find candidates, the best
//! of them seed spreading activation over the association graph, and the
//! three signals are fused, with recency, importance, dates and tags named
//! in the query on top.
//!
//! ## The pipeline
//!
//! 1. **Candidates.** Vector search and BM25 each rank up to
//!    [`RecallOptions::candidates`] memories among those the filters admit.
//!    Each signal's scores are scaled to `[0, 1]` over its list (BM25 as a
//!    share of the best score, cosine between the last and the best
//!    candidate's).
//! 2. **Seeds.** The candidates are fused (step 4, without activation); the
//!    best [`RecallOptions::seeds`] seed activation in proportion to their
//!    fused score (the best seed gets 1).
//! 3. **Spread.** Activation flows over the association graph
//!    ([`crate::spread`]): explicit links, temporal neighbours (consecutive
//!    memories of one source within [`RecallOptions::temporal_window`]; the
//!    edge to the next memory weighs 1, to the previous one
//!    [`RecallOptions::temporal_backward`]), vector neighbours (the HNSW
//!    graph's own layer-0 lists) and memories sharing a rare keyword. A
//!    memory's *activation signal* is what it received from others (a
//!    seed's own activation is not counted again), scaled by the largest.
//!    Memories the filters do not admit pass activation on but are never
//!    returned.
//! 4. **Fusion** ([`Fusion`]). By default a memory's score is
//!    `Σ weight_s · normalized_s` over the vector, keyword and activation
//!    signals; [`Fusion::ReciprocalRank`] uses `Σ weight_s / (RRF_K + rank_s)`
//!    instead (Cormack et al., SIGIR 2009). On top come
//!    `recency · 2^(-age / half-life)`, `importance · importance`, `time`
//!    when a date named in the query ([`crate::timehint`]) covers the
//!    memory's event time, and `tags` when the query names one of the
//!    memory's tags.
//! 5. **Top k**, each hit with its ranks, raw scores, matched words and,
//!    with [`RecallOptions::explain`], each signal's share of the score and
//!    the activation path that reached it.
//!
//! A time budget ([`RecallOptions::budget`]) is checked between stages and
//! inside the spread; when it runs out the best result so far is returned
//! and [`Recall::complete`] is false.
//!
//! ## Why these defaults
//!
//! Measured on the LoCoMo development split (5 conversations, 759
//! questions of categories 1-4 with evidence, MiniLM, each turn a memory
//! whose source is its conversation and whose tags include its speaker;
//! `mnemo eval locomo` runs the same), hit@5:
//!
//! | configuration | hit@5 |
//! |---|---|
//! | keywords only (BM25, `b` = 0.75) | 0.618 |
//! | vector only | 0.497 |
//! | vector + keywords, reciprocal rank (k = 60) | 0.586 |
//! | vector + keywords, scaled scores | 0.634 |
//! | + spreading, ranking a seed's own activation too | 0.653 |
//! | + spreading, received activation only | 0.697 |
//! | + BM25 `b` = 0.3 and dates in the query | 0.730 |
//! | + tags the query names (the defaults) | **0.773** |
//! | the defaults without spreading | 0.696 |
//! | the defaults without temporal edges | 0.698 |
//! | the defaults without keyword edges | 0.768 |
//! | the defaults without dates in the query | 0.751 |
//! | the defaults with reciprocal-rank fusion (before tags) | 0.617 |
//!
//! Most of spreading's gain is the reply: a question's words match the turn
//! that asks about something, and the answer is the next turn. Two hops beat
//! three (0.726 against 0.719), ten seeds beat five or twenty, a vector
//! weight of 0.5 beats 0.3 and 1, activation weight 0.8 beats 0.6, and a
//! keyword-edge weight of 0.25 beats 0 and 1 (by 0.002 to 0.01 each). Vector
//! edges hurt: with the HNSW graph built for these small namespaces, hit@5
//! is 0.776 at edge weight 0.1, 0.772 at 0, 0.736 at 0.5 and 0.717 at 1
//! (near neighbours are already vector candidates, and the edges spread
//! activation thin). Tag weight 0.4 gives 0.758, 0.8 gives 0.773, 1.5 gives
//! 0.767.

use std::sync::Arc;
use std::time::Duration;

use crate::assoc::RecallGraph;
use crate::base::IdMap;
use crate::error::{Error, Result};
use crate::exec;
use crate::facts::Quarantine;
use crate::model::{Memory, MemoryId, Timestamp};
use crate::namespace::Inner;
use crate::query::{Query, TimeRange};
use crate::spread::{Deadline, EdgeKind, SpreadOutcome, SpreadParams, Spreader};
use crate::timehint;

/// The reciprocal-rank-fusion constant.
pub const RRF_K: f32 = 60.0;

/// Most candidates (per signal) and most results a recall may ask for.
pub const MAX_RECALL_K: usize = 10_000;

/// Per-signal weights of the fusion (see the module docs). Each must be a
/// finite number `>= 0`, and at least one of vector, keyword and activation
/// must be positive; a signal with weight 0 is not computed at all.
/// Defaults: vector 0.5, keyword 1, activation 0.8, recency 0, importance
/// 0, time 1, tags 0.8.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalWeights {
    /// Vector kNN rank.
    pub vector: f32,
    /// BM25 rank.
    pub keyword: f32,
    /// Spreading-activation rank.
    pub activation: f32,
    /// Added times `2^(-age / recency_half_life)`, age measured from the
    /// namespace's newest event time.
    pub recency: f32,
    /// Added times the memory's importance.
    pub importance: f32,
    /// Added when a date named in the query covers the memory's event time.
    pub time: f32,
    /// Added when the query names one of the memory's tags (whole words,
    /// any case): "what did Caroline paint?" favours memories tagged
    /// `Caroline`.
    pub tags: f32,
}

/// How recall combines its signals (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fusion {
    /// `Σ weight · score scaled to [0, 1]`: keeps how far ahead the best
    /// candidates are.
    #[default]
    Scores,
    /// `Σ weight / (RRF_K + rank)`: weighted reciprocal-rank fusion.
    ReciprocalRank,
}

/// Options of [`crate::Namespace::recall_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecallOptions {
    /// Hits wanted. Default 10; at most [`MAX_RECALL_K`].
    pub k: usize,
    /// Only memories this query's filters admit (its order and limit are
    /// ignored).
    pub filter: Query,
    /// The query's embedding, when the caller has it (skips embedding the
    /// text). Must have the namespace's dimension.
    pub query_vector: Option<Vec<f32>>,
    /// Candidates ranked per signal. Default `max(4k, 50)` (0 = default).
    pub candidates: usize,
    /// Candidates that seed activation. Default 10.
    pub seeds: usize,
    /// Fusion weights.
    pub weights: SignalWeights,
    /// Whether activation spreads at all (off: plain weighted fusion of
    /// vector and keyword).
    pub spreading: bool,
    /// Spreading parameters. Default: 2 hops, decay 0.7, threshold 0.01,
    /// visit budget 20,000, edge weights link 1, temporal 1, vector 0.1,
    /// keyword 0.25.
    pub spread: SpreadParams,
    /// Two consecutive memories of a source are temporal neighbours when
    /// their event times differ by at most this. Default 6 hours.
    pub temporal_window: Duration,
    /// Weight of the temporal edge from a memory to the one before it (the
    /// edge to the one after weighs 1). Default 0.5.
    pub temporal_backward: f32,
    /// Vector neighbours followed per memory (in the graph's order). Default 8.
    pub vector_neighbors: usize,
    /// How the signals are combined. Default [`Fusion::Scores`].
    pub fusion: Fusion,
    /// Half-life of the recency bonus. Default 30 days.
    pub recency_half_life: Duration,
    /// Whether dates named in the query text ("in May 2023", "2022-05-07")
    /// earn memories in that period the `time` weight. Default on.
    pub time_hints: bool,
    /// Wall-clock budget; the best result so far is returned when it runs
    /// out. Default none.
    pub budget: Option<Duration>,
    /// Whether hits carry an [`Explanation`].
    pub explain: bool,
    /// Memories cited only by facts less trusted than this are withheld
    /// (see [`crate::facts`]). Default [`Quarantine::Conservative`]: the
    /// evidence of deprecated, retracted and unwitnessed challenged facts
    /// is not recalled.
    pub max_quarantine: Quarantine,
}

impl Default for RecallOptions {
    fn default() -> Self {
        Self {
            k: 10,
            filter: Query::new(),
            query_vector: None,
            candidates: 0,
            seeds: 10,
            weights: SignalWeights::default(),
            spreading: true,
            spread: SpreadParams {
                hops: 2,
                kind_weights: [1.0, 1.0, 0.1, 0.25],
                ..SpreadParams::default()
            },
            temporal_window: Duration::from_secs(6 * 3600),
            temporal_backward: 0.5,
            vector_neighbors: 8,
            fusion: Fusion::Scores,
            recency_half_life: Duration::from_secs(30 * 86_400),
            time_hints: true,
            budget: None,
            explain: false,
            max_quarantine: Quarantine::Conservative,
        }
    }
}

impl Default for SignalWeights {
    fn default() -> Self {
        Self {
            vector: 0.5,
            keyword: 1.0,
            activation: 0.8,
            recency: 0.0,
            importance: 0.0,
            time: 1.0,
            tags: 0.8,
        }
    }
}

impl RecallOptions {
    /// Default options asking for `k` hits.
    pub fn k(k: usize) -> Self {
        Self {
            k,
            ..Self::default()
        }
    }

    /// Candidates per signal after applying the default.
    pub fn candidate_depth(&self) -> usize {
        if self.candidates == 0 {
            (4 * self.k).clamp(50, MAX_RECALL_K)
        } else {
            self.candidates.max(self.k)
        }
    }

    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        let bad = |field: &'static str, reason: &str| Err((field, reason.to_owned()));
        if self.k > MAX_RECALL_K {
            return bad("k", &format!("at most {MAX_RECALL_K}"));
        }
        if self.candidates > MAX_RECALL_K {
            return bad("candidates", &format!("at most {MAX_RECALL_K}"));
        }
        if self.seeds > MAX_RECALL_K {
            return bad("seeds", &format!("at most {MAX_RECALL_K}"));
        }
        let w = &self.weights;
        for (name, v) in [
            ("weights.vector", w.vector),
            ("weights.keyword", w.keyword),
            ("weights.activation", w.activation),
            ("weights.recency", w.recency),
            ("weights.importance", w.importance),
            ("weights.time", w.time),
            ("weights.tags", w.tags),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(name, "must be a finite number >= 0");
            }
        }
        if w.vector == 0.0 && w.keyword == 0.0 && w.activation == 0.0 {
            return bad(
                "weights",
                "at least one of vector, keyword and activation must be positive",
            );
        }
        if let Err(e) = self.spread.validate() {
            return Err(("spread", e.to_string()));
        }
        if !self.temporal_backward.is_finite() || self.temporal_backward < 0.0 {
            return bad("temporal_backward", "must be a finite number >= 0");
        }
        if self.recency_half_life.is_zero() {
            return bad("recency_half_life", "must be positive");
        }
        if let Some(v) = &self.query_vector
            && v.iter().any(|x| !x.is_finite())
        {
            return bad("query_vector", "must hold finite numbers");
        }
        Ok(())
    }
}

/// One signal's view of a hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalHit {
    /// Rank in that signal's list, from 1.
    pub rank: usize,
    /// The signal's own score (cosine similarity for vectors, BM25 for
    /// keywords, activation for spreading).
    pub score: f32,
    /// The score scaled to `[0, 1]` over the signal's list: 1 for the best,
    /// 0 for the last (for vectors: the cosine's place between the last
    /// and the best candidate's; for keywords and activation: the share
    /// of the best score).
    pub normalized: f32,
}

/// One step of an activation path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathStep {
    /// The memory.
    pub id: MemoryId,
    /// The edge it was reached over (`None` for the seed the path starts
    /// at).
    pub via: Option<EdgeKind>,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Explanation {
    /// Each signal's share of the fused score (`vector`, `keyword`,
    /// `activation`, `recency`, `importance`, `time`, `tags`); only nonzero
    /// shares.
    pub contributions: Vec<(&'static str, f32)>,
    /// The strongest activation path from a seed to the hit (empty when
    /// activation did not reach it; just the hit when it was a seed).
    pub path: Vec<PathStep>,
}

/// A recalled memory and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallHit {
    /// The memory.
    pub memory: Arc<Memory>,
    /// Fused score (higher is better).
    pub score: f32,
    /// Where vector search ranked it, if it did.
    pub vector: Option<SignalHit>,
    /// Where keyword search ranked it, if it did.
    pub keyword: Option<SignalHit>,
    /// Where spreading activation ranked it, if it reached it.
    pub activation: Option<SignalHit>,
    /// The (stemmed) query words found in it.
    pub matched_terms: Vec<String>,
    /// With [`RecallOptions::explain`]: the score's parts and the
    /// activation path.
    pub explanation: Option<Explanation>,
}

/// Time spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecallTimings {
    /// Embedding the query (zero when the caller gave the vector).
    pub embed: Duration,
    /// Vector and keyword candidates.
    pub candidates: Duration,
    /// Spreading activation.
    pub spread: Duration,
    /// Fusion, ranking and building hits.
    pub fuse: Duration,
}

/// The result of [`crate::Namespace::recall_with`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recall {
    /// The hits, best first.
    pub hits: Vec<RecallHit>,
    /// False when the time budget ran out and stages were cut short or
    /// skipped (the hits are the best found by then).
    pub complete: bool,
    /// What spreading did.
    pub spread: SpreadOutcome,
    /// Seeds used.
    pub seeds: usize,
    /// The period a date in the query named, if any.
    pub time_hint: Option<TimeRange>,
    /// Time per stage.
    pub timings: RecallTimings,
}

/// Converts an option error into the engine's error.
pub(crate) fn invalid(namespace: &str, (field, reason): (&'static str, String)) -> Error {
    Error::Invalid {
        namespace: namespace.to_owned(),
        field,
        reason,
    }
}

/// `2^(-age / half_life)`: 1 for the newest memory, 1/2 one half-life
/// older.
pub(crate) fn recency(newest: Timestamp, at: Timestamp, half_life: Duration) -> f32 {
    let age = newest.0.saturating_sub(at.0).max(0) as f64;
    let half = half_life.as_nanos().max(1) as f64;
    (-(age / half) * std::f64::consts::LN_2).exp() as f32
}

/// A stopwatch that reads zero on `wasm32-unknown-unknown` (no clock).
pub(crate) struct Stopwatch(
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))] std::time::Instant,
);

impl Stopwatch {
    pub(crate) fn start() -> Self {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            Stopwatch(std::time::Instant::now())
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            Stopwatch()
        }
    }

    /// Time since the start or the last lap; restarts.
    pub(crate) fn lap(&mut self) -> Duration {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            let now = std::time::Instant::now();
            let d = now - self.0;
            self.0 = now;
            d
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            Duration::ZERO
        }
    }
}

/// One memory's standing in the signals while fusing.
#[derive(Default, Clone)]
struct Candidate {
    vector: Option<SignalHit>,
    keyword: Option<SignalHit>,
    activation: Option<SignalHit>,
}

/// A signal's part of the fused score (0 when it did not find the memory).
fn part(fusion: Fusion, weight: f32, hit: Option<&SignalHit>) -> f32 {
    hit.map_or(0.0, |h| match fusion {
        Fusion::Scores => weight * h.normalized,
        Fusion::ReciprocalRank => weight / (RRF_K + h.rank as f32),
    })
}

/// Keyword edges follow terms at most this many memories share.
const RARE_DF: u32 = 8;

/// Runs the recall pipeline (see the module docs) with the query's
/// embedding already made (or none: keyword and activation only), on
/// options the caller has validated.
pub(crate) fn run(
    inner: &Inner,
    text: &str,
    vector: Option<&[f32]>,
    options: &RecallOptions,
    embed_time: Duration,
) -> Result<Recall> {
    let mut out = Recall {
        complete: true,
        timings: RecallTimings {
            embed: embed_time,
            ..RecallTimings::default()
        },
        ..Recall::default()
    };
    if options.k == 0 {
        return Ok(out);
    }
    let deadline = options.budget.map(Deadline::after);
    let out_of_time = || deadline.is_some_and(|d| d.passed());
    let mut clock = Stopwatch::start();
    let w = &options.weights;
    let fusion = options.fusion;
    let depth = options.candidate_depth();
    let state = inner.state.read();
    let allow = options
        .filter
        .has_filter()
        .then(|| exec::filter_bitmap(&state, &options.filter));
    if allow.as_ref().is_some_and(|a| a.is_empty()) {
        return Ok(out);
    }
    let mut fused: IdMap<Candidate> = IdMap::default();
    if w.keyword > 0.0 {
        let hits = state.text.search(text, depth, allow.as_ref());
        let best = hits.first().map_or(1.0, |h| h.score).max(f32::MIN_POSITIVE);
        for (i, h) in hits.iter().enumerate() {
            fused.entry(h.id).or_default().keyword = Some(SignalHit {
                rank: i + 1,
                score: h.score,
                normalized: h.score / best,
            });
        }
    }
    if w.vector > 0.0
        && let Some(v) = vector
        && !out_of_time()
    {
        let hits = inner
            .vectors
            .search(v, depth, allow.as_ref())
            .map_err(|e| invalid(&inner.name, ("recall vector", e.to_string())))?;
        let (best, last) = match (hits.first(), hits.last()) {
            (Some(b), Some(l)) => (1.0 - b.distance, 1.0 - l.distance),
            _ => (1.0, 0.0),
        };
        let span = (best - last).max(f32::MIN_POSITIVE);
        for (i, n) in hits.iter().enumerate() {
            let score = 1.0 - n.distance;
            fused.entry(n.id).or_default().vector = Some(SignalHit {
                rank: i + 1,
                score,
                normalized: if hits.len() == 1 {
                    1.0
                } else {
                    (score - last) / span
                },
            });
        }
    }
    out.timings.candidates = clock.lap();

    // Seeds: the best candidates by weighted fusion of the two searches.
    let mut spreader = None;
    if options.spreading && w.activation > 0.0 && options.seeds > 0 && !fused.is_empty() {
        if out_of_time() {
            out.complete = false;
        } else {
            let mut ranked: Vec<(u64, f32)> = fused
                .iter()
                .map(|(&id, c)| {
                    (
                        id,
                        part(fusion, w.vector, c.vector.as_ref())
                            + part(fusion, w.keyword, c.keyword.as_ref()),
                    )
                })
                .collect();
            top_by_score(&mut ranked, options.seeds);
            let best = ranked.first().map_or(1.0, |r| r.1).max(f32::MIN_POSITIVE);
            let seeds: Vec<(u32, f32)> = ranked
                .iter()
                .filter_map(|&(id, score)| Some((state.assoc.node(id)?, score / best)))
                .collect();
            out.seeds = seeds.len();
            let hnsw = inner.vectors.graph();
            let graph = RecallGraph {
                state: &state,
                hnsw: hnsw.as_ref(),
                window: i64::try_from(options.temporal_window.as_nanos()).unwrap_or(i64::MAX),
                vector_neighbors: options.vector_neighbors,
                follow: EdgeKind::ALL.map(|k| options.spread.weight(k) > 0.0),
                rare_df: RARE_DF,
                backward: options.temporal_backward,
            };
            let mut s = inner.spreaders.lock().pop().unwrap_or_default();
            out.spread = s.spread(&graph, &seeds, &options.spread, deadline);
            drop(hnsw);
            if out.spread.timed_out {
                out.complete = false;
            }
            let mut activated: Vec<(u64, f32)> = s
                .activated()
                .iter()
                .filter_map(|&n| {
                    let id = state.assoc.id(n)?;
                    let received = s.received(n);
                    (received > 0.0 && allow.as_ref().is_none_or(|a| a.contains(id)))
                        .then_some((id, received))
                })
                .collect();
            activated.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            activated.truncate(depth);
            let best = activated
                .first()
                .map_or(1.0, |a| a.1)
                .max(f32::MIN_POSITIVE);
            for (i, &(id, a)) in activated.iter().enumerate() {
                fused.entry(id).or_default().activation = Some(SignalHit {
                    rank: i + 1,
                    score: a,
                    normalized: a / best,
                });
            }
            spreader = Some(s);
        }
    }
    out.timings.spread = clock.lap();

    let newest = state.by_at.last().map_or(Timestamp(0), |&(at, _)| at);
    out.time_hint = if options.time_hints && w.time > 0.0 {
        timehint::parse_at(text, newest)
    } else {
        None
    };
    let query_lower = text.to_lowercase();
    let extras = |m: &Memory| -> [f32; 4] {
        [
            if w.recency > 0.0 {
                w.recency * recency(newest, m.at, options.recency_half_life)
            } else {
                0.0
            },
            w.importance * m.importance,
            if out.time_hint.is_some_and(|r| r.contains(m.at)) {
                w.time
            } else {
                0.0
            },
            if w.tags > 0.0 && m.tags.iter().any(|t| names_tag(&query_lower, t)) {
                w.tags
            } else {
                0.0
            },
        ]
    };
    let withholds = state.facts.withholds_any();
    let mut ranked: Vec<(u64, f32)> = fused
        .iter()
        .filter_map(|(&id, c)| {
            if withholds
                && state
                    .facts
                    .withheld(id)
                    .is_some_and(|level| level > options.max_quarantine)
            {
                return None;
            }
            let m = state.memories.get(&id)?;
            let base = part(fusion, w.vector, c.vector.as_ref())
                + part(fusion, w.keyword, c.keyword.as_ref())
                + part(fusion, w.activation, c.activation.as_ref());
            Some((id, base + extras(m).iter().sum::<f32>()))
        })
        .collect();
    top_by_score(&mut ranked, options.k);
    out.hits = ranked
        .into_iter()
        .filter_map(|(id, score)| {
            let memory = state.memories.get(&id)?.clone();
            let c = fused.remove(&id).unwrap_or_default();
            let explanation = options.explain.then(|| {
                let [recency, importance, time, tags] = extras(&memory);
                let contributions = [
                    ("vector", part(fusion, w.vector, c.vector.as_ref())),
                    ("keyword", part(fusion, w.keyword, c.keyword.as_ref())),
                    (
                        "activation",
                        part(fusion, w.activation, c.activation.as_ref()),
                    ),
                    ("recency", recency),
                    ("importance", importance),
                    ("time", time),
                    ("tags", tags),
                ]
                .into_iter()
                .filter(|(_, v)| *v != 0.0)
                .collect();
                let path = match (&spreader, state.assoc.node(id)) {
                    (Some(s), Some(node)) => s
                        .path(node)
                        .into_iter()
                        .filter_map(|(n, via)| {
                            Some(PathStep {
                                id: MemoryId(state.assoc.id(n)?),
                                via,
                            })
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Explanation {
                    contributions,
                    path,
                }
            });
            Some(RecallHit {
                matched_terms: state.text.matched_terms(text, id),
                memory,
                score,
                vector: c.vector,
                keyword: c.keyword,
                activation: c.activation,
                explanation,
            })
        })
        .collect();
    if let Some(s) = spreader {
        inner.spreaders.lock().push(s);
    }
    out.timings.fuse = clock.lap();
    Ok(out)
}

/// Whether `query` (lower-cased) names `tag` as whole words, ignoring case:
/// "what did Caroline paint" names the tag `caroline`, not `car`.
fn names_tag(query: &str, tag: &str) -> bool {
    if tag.chars().count() < 2 {
        return false;
    }
    let tag = tag.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    query.match_indices(tag.as_str()).any(|(at, _)| {
        !is_word(query[..at].chars().next_back())
            && !is_word(query[at + tag.len()..].chars().next())
    })
}

/// Keeps the `k` best `(id, score)` pairs, best first (ties by id).
fn top_by_score(items: &mut Vec<(u64, f32)>, k: usize) {
    let order = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if items.len() > k && k > 0 {
        items.select_nth_unstable_by(k - 1, order);
    }
    items.truncate(k);
    items.sort_unstable_by(order);
}

/// A spreader pool entry: spreaders are taken for one recall and returned.
pub(crate) type SpreaderPool = parking_lot::Mutex<Vec<Spreader>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_named_as_whole_words() {
        let q = "what did caroline paint in the car-park near the carpool?";
        assert!(names_tag(q, "Caroline"));
        assert!(names_tag(q, "car-park"));
        assert!(names_tag(q, "park"));
        assert!(!names_tag(q, "carp"));
        assert!(!names_tag(q, "pool"));
        assert!(!names_tag(q, "line"));
        assert!(!names_tag(q, "a"));
        assert!(names_tag("ask émile about it", "Émile"));
        assert!(!names_tag("", "caroline"));
    }

    #[test]
    fn recency_halves_per_half_life() {
        let day = Duration::from_secs(86_400);
        let now = Timestamp(10 * 86_400 * 1_000_000_000);
        assert!((recency(now, now, day) - 1.0).abs() < 1e-6);
        let earlier = Timestamp(9 * 86_400 * 1_000_000_000);
        assert!((recency(now, earlier, day) - 0.5).abs() < 1e-6);
        // A memory dated after the newest one counts as new.
        assert!((recency(earlier, now, day) - 1.0).abs() < 1e-6);
    }
}
