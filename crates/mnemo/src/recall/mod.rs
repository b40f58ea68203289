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
//!    candidate's, over a span of at least 0.2 so that noise among a few
//!    candidates does not become the whole vector weight).
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
//!    seed's own activation is not counted again), scaled by the largest,
//!    or by 0.3 (what the best seed passes over about one edge) when the
//!    largest is smaller: weak flows stay weak. Keyword edges follow words
//!    at most 8 memories and at most one in 20 share (at least two).
//!    Memories the filters do not admit pass activation on but are never
//!    returned.
//! 4. **Fusion** ([`Fusion`]). By default a memory's score is
//!    `Σ weight_s · normalized_s` over the vector, keyword and activation
//!    signals; [`Fusion::ReciprocalRank`] uses `Σ weight_s / (RRF_K + rank_s)`
//!    instead (Cormack et al., SIGIR 2009). On top come
//!    `recency · 2^(-age / half-life)`, `importance · importance`, `time`
//!    when a date named in the query ([`crate::timehint`]) covers the
//!    memory's event time, `tags` when the query names one of the
//!    memory's tags, and `answer_type` when the query asks for a place, a
//!    time or a quantity (`where`, `when`, `how many`) and the memory names
//!    one (`answer.rs`).
//! 5. **Top k**, each hit with its ranks, raw scores, matched words and,
//!    with [`RecallOptions::explain`], each signal's share of the score and
//!    the activation path that reached it.
//!
//! One file per stage: `candidates.rs` (1), `seeds.rs` (2), `spread.rs`
//! (3), `fuse.rs` (4, 5), `explain.rs` (explanations and the
//! [`ActivationGraph`]); `options.rs` holds what a recall may be asked and
//! [`run`] below strings the stages together.
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
//! edges are off by default: with the HNSW graph built for these small
//! namespaces, hit@5 was 0.776 at edge weight 0.1 (3 questions of 760 more
//! than at 0), 0.772 at 0, 0.736 at 0.5 and 0.717 at 1 (near neighbours are
//! already vector candidates, and the edges spread activation thin), while
//! at 100,000 memories following eight of them per node took half of the
//! spreading stage (about 55 µs of a 480 µs recall: each is a neighbour-list
//! read and a node lookup out of cache). Namespaces below the flat
//! threshold (LoCoMo's) have no graph to follow. Tag weight 0.4 gives
//! 0.758, 0.8 gives 0.773, 1.5 gives 0.767.
//!
//! ### Independent memories
//!
//! Agents store facts, preferences and tool results as often as dialogue.
//! Two more measures watch that: `mnemo eval locomo --granularity
//! observation` (each session's observations, the dataset's fact
//! sentences, stored as independent memories without a source in a seeded
//! random order) and a hand-written suite of 24 independent memories with
//! 25 paraphrased questions (`crates/mnemo-cli/tests/general_memory.rs`,
//! with all-MiniLM-L6-v2 int8), where the right memory must come first.
//! With int8 MiniLM (hit@5 turn / observation; suite questions missed):
//!
//! | configuration | turns | observations | suite |
//! |---|---|---|---|
//! | the defaults before these changes | 0.772 | 0.797 | - |
//! | + vector span at least 0.2 | 0.772 | 0.797 | - |
//! | + answer type 0.3 | 0.778 | 0.802 | 4 |
//! | + keyword edges at most one in 20 | 0.778 | 0.802 | 4 |
//! | + activation full from 0.3 (the defaults) | **0.772** | **0.802** | **1** |
//! | answer type 0.1 / 0.2 / 0.5 (before the last row) | 0.774 / 0.778 / 0.779 | 0.797 / 0.800 / 0.800 | |
//! | activation full from 0.2 / 0.5 | 0.776 / 0.759 | 0.802 / 0.796 | 4 / 1 |
//! | sourceless memories not chained in time | 0.778 | 0.794 | 4 |
//!
//! The answer type helps every development conversation or ties (leave one
//! out holds). Scaling activation against a fixed 0.3 costs four turn-level
//! questions and ends three of the suite's four misses, where two weak
//! seeds sharing a word ("every") passed each other the whole activation
//! weight, ahead of the memory both direct signals ranked first; the miss
//! left is a question with no word in common with its memory.

mod answer;
mod candidates;
mod explain;
mod fuse;
mod options;
mod seeds;
mod spread;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use roaring::RoaringTreemap;

pub use explain::{ActivationGraph, Explanation, GraphEdge, GraphNode, PathStep};
pub use options::{Fusion, MAX_RECALL_K, RRF_K, RecallOptions, SignalWeights};
pub(crate) use spread::SpreaderPool;

use crate::base::Tick;
use crate::error::{Error, Result};
use crate::exec;
use crate::model::{Memory, Timestamp};
use crate::query::TimeRange;
use crate::spread::{Deadline, SpreadOutcome};
use crate::state::State;
use crate::timehint;

/// What a recall reads: a namespace's state with its vectors (read-locked
/// by the caller for the whole recall) and its pool of spreading buffers.
pub(crate) struct Source<'a> {
    /// The namespace's name, for errors.
    pub namespace: &'a str,
    /// The folded state.
    pub state: &'a State,
    /// Spreading buffers reused across recalls.
    pub spreaders: &'a SpreaderPool,
    /// The namespace's decay of strength (see [`crate::strength`]).
    pub strength_decay: f64,
    /// Cold memories' cosines to the query, when the recall asked to scan
    /// the cold tier ([`RecallOptions::scan_cold`]; the namespace reads
    /// their vectors from the log).
    pub cold: &'a [(u64, f32)],
    /// Reads a cold memory's vector from the log: keyword search finds
    /// cold memories, and those it found are scored by vector too (see
    /// [`candidates::vector`]).
    pub cold_vector: &'a dyn Fn(u64) -> Option<Vec<f32>>,
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
    /// The tier that holds its vector (see [`crate::lifecycle::Tier`]).
    pub tier: crate::lifecycle::Tier,
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
    /// With [`RecallOptions::graph`]: the hits, the memories on their
    /// strongest activation paths and the edges those paths crossed.
    pub graph: Option<ActivationGraph>,
}

/// Converts an option error into the engine's error.
pub(crate) fn invalid(namespace: &str, (field, reason): (&'static str, String)) -> Error {
    Error::Invalid {
        namespace: namespace.to_owned(),
        field,
        reason,
    }
}

/// A stopwatch on the monotonic clock ([`Tick`]).
pub(crate) struct Stopwatch(Tick);

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Stopwatch(Tick::now())
    }

    /// Time since the start or the last lap; restarts.
    pub(crate) fn lap(&mut self) -> Duration {
        let now = Tick::now();
        let lap = now.since(self.0);
        self.0 = now;
        lap
    }
}

/// Runs the recall pipeline (see the module docs) with the query's
/// embedding already made (or none: keyword and activation only), on
/// options the caller has validated.
pub(crate) fn run(
    source: &Source<'_>,
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
    let state = source.state;
    let w = &options.weights;
    let depth = options.candidate_depth();
    let mut allow: Option<RoaringTreemap> = options
        .filter
        .has_filter()
        .then(|| exec::filter_bitmap(state, &options.filter));
    // Memories past their deadline leave recall before their expiry is
    // written (`filter_bitmap` already left them out).
    if allow.is_none()
        && let Some(overdue) = state.overdue_now()
    {
        allow = Some(&state.live - overdue);
    }
    if allow.as_ref().is_some_and(|a| a.is_empty()) {
        return Ok(out);
    }

    // 1. Candidates.
    let mut found = candidates::Candidates::default();
    if w.keyword > 0.0 {
        candidates::keyword(source, text, depth, allow.as_ref(), &mut found);
    }
    if w.vector > 0.0
        && let Some(v) = vector
        && !out_of_time()
    {
        let width = (options.search_width > 0).then_some(options.search_width);
        candidates::vector(source, v, depth, width, allow.as_ref(), &mut found)?;
    }
    out.timings.candidates = clock.lap();

    // 2 and 3. Seeds and spreading.
    let mut spreader = None;
    if options.spreading && w.activation > 0.0 && options.seeds > 0 && !found.is_empty() {
        if out_of_time() {
            out.complete = false;
        } else {
            let seeds = seeds::choose(state, &found, options);
            out.seeds = seeds.len();
            let (s, outcome) = spread::run(
                source,
                &seeds,
                options,
                deadline,
                allow.as_ref(),
                &mut found,
            );
            if outcome.timed_out {
                out.complete = false;
            }
            out.spread = outcome;
            spreader = Some(s);
        }
    }
    out.timings.spread = clock.lap();

    // 4. Fusion and the top k.
    let newest = state.by_at.last().map_or(Timestamp(0), |&(at, _)| at);
    out.time_hint = if options.time_hints && w.time > 0.0 {
        timehint::parse_at(text, newest)
    } else {
        None
    };
    let bonuses = fuse::Bonuses::new(
        options,
        state,
        text,
        newest,
        out.time_hint,
        source.strength_decay,
        &found,
    );
    let mut ranked = fuse::top(state, &found, options, &bonuses);
    let query_terms = state.text.query_terms(text);
    if options.newest_first {
        versions::newest_first(state, &mut ranked, &query_terms);
    }
    if options.prefer_consolidated {
        ranked = fuse::prefer_consolidated(state, ranked, options.k);
    } else {
        fuse::yield_consolidated(state, &mut ranked, options.k, &query_terms);
    }
    ranked.truncate(options.k);

    // 5. Hits, with explanations and the activation graph when asked.
    let want_paths = options.explain || options.graph;
    let mut paths = Vec::new();
    out.hits = ranked
        .into_iter()
        .filter_map(|r| {
            let memory = state.memories.get(&r.id)?.clone();
            let c = found.remove(&r.id).unwrap_or_default();
            let path = if want_paths {
                explain::path(state, spreader.as_ref(), r.id)
            } else {
                Vec::new()
            };
            if options.graph {
                paths.push(path.clone());
            }
            let explanation = options
                .explain
                .then(|| explain::explain(options, &bonuses, &memory, &c, path));
            Some(RecallHit {
                matched_terms: state.text.matched(&query_terms, r.id),
                tier: state.lifecycle.tier(r.id),
                memory,
                score: r.score,
                vector: c.vector,
                keyword: c.keyword,
                activation: c.activation,
                explanation,
            })
        })
        .collect();
    if options.graph {
        out.graph = Some(explain::graph(state, &out.hits, &paths));
    }
    if let Some(s) = spreader {
        spread::give_back(source, s);
    }
    out.timings.fuse = clock.lap();
    Ok(out)
}
