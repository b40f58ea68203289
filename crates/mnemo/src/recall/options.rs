//! What a recall may be asked: hits wanted, filters, signal weights, how
//! the signals are fused, spreading parameters and the time budget.

use std::time::Duration;

use crate::facts::Quarantine;
use crate::query::Query;
use crate::spread::SpreadParams;

/// The reciprocal-rank-fusion constant.
pub const RRF_K: f32 = 60.0;

/// Most candidates (per signal) and most results a recall may ask for.
pub const MAX_RECALL_K: usize = 10_000;

/// Per-signal weights of the fusion (see the module docs). Each must be a
/// finite number `>= 0`, and at least one of vector, keyword and activation
/// must be positive; a signal with weight 0 is not computed at all.
/// Defaults: vector 0.5, keyword 1, activation 0.8, recency 0, importance
/// 0, time 1, tags 0.8, answer type 0.3.
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
    /// Added when the query asks for a place, a time or a quantity
    /// (`where`, `when`, `how many`, ...) and the memory names one: "where
    /// does Alice live?" favours "Alice moved to Lisbon" (see the module
    /// docs of [`crate::recall`]).
    pub answer_type: f32,
    /// Added times the memory's strength from use relative to the
    /// strongest candidate's (ACT-R activation over its write and its
    /// touches, see [`crate::strength`]). Off by default, like recency: the development
    /// data has no usage to learn from; turn it on where an agent's use of
    /// its memories should count (with `reinforce_on_recall`, or
    /// [`crate::Namespace::touch`]).
    pub strength: f32,
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
    /// How many candidates the vector search keeps while it walks the HNSW
    /// graph (its `ef`): wider finds more of the true nearest neighbours
    /// and costs more. 0 (the default) is the index's own width (64); it is
    /// never below the candidate depth. At most [`MAX_RECALL_K`].
    pub search_width: usize,
    /// Candidates that seed activation. Default 10.
    pub seeds: usize,
    /// Fusion weights.
    pub weights: SignalWeights,
    /// Whether activation spreads at all (off: plain weighted fusion of
    /// vector and keyword).
    pub spreading: bool,
    /// Spreading parameters. Default: 2 hops, decay 0.7, threshold 0.01,
    /// visit budget 20,000, edge weights link 1, temporal 1, vector 0
    /// (not followed; see the module docs of [`crate::recall`]), keyword
    /// 0.25.
    pub spread: SpreadParams,
    /// Two consecutive memories of a source are temporal neighbours when
    /// their event times differ by at most this. Default 6 hours.
    pub temporal_window: Duration,
    /// Weight of the temporal edge from a memory to the one before it (the
    /// edge to the one after weighs 1). Default 0.5.
    pub temporal_backward: f32,
    /// Vector neighbours followed per memory (in the graph's order), when
    /// the vector edge kind has a weight (it has none by default). Default 8.
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
    /// Whether hits carry an [`Explanation`](super::Explanation).
    pub explain: bool,
    /// Whether the result carries the [`ActivationGraph`](super::ActivationGraph):
    /// the hits and the memories on their strongest activation paths, with
    /// the edges those paths crossed. Default off.
    pub graph: bool,
    /// Whether vector search also scans the cold tier (memories whose
    /// vectors are not in memory; see [`crate::lifecycle::Tier`]): their
    /// vectors are read from the log, which costs a read and a decryption
    /// per cold memory the filters admit. Default off: cold memories are
    /// found by keywords, filters and spreading only.
    pub scan_cold: bool,
    /// Whether a consolidated memory stands for its sources: when both are
    /// among the hits, the sources leave and the consolidated memory takes
    /// the place (and the best score) of the first of them, so the hits
    /// cover more ground (see `Namespace::consolidate`). Default off: then
    /// a consolidated memory yields to its sources instead, leaving the
    /// hits when one of its sources is ranked above it, or among the first
    /// `k` unless it matches the query in a word none of its sources holds
    /// (the source answers in its own words), and keeping its place
    /// otherwise (it then stands in for sources the hits would not show).
    pub prefer_consolidated: bool,
    /// Whether versions of one statement are listed newest first: semantic
    /// memories holding the same words of the query and alike in their own
    /// words (a preference restated with a new value) keep the places they
    /// were ranked at, filled newest first. Default on.
    pub newest_first: bool,
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
            search_width: 0,
            seeds: 10,
            weights: SignalWeights::default(),
            spreading: true,
            spread: SpreadParams {
                hops: 2,
                kind_weights: [1.0, 1.0, 0.0, 0.25],
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
            graph: false,
            scan_cold: false,
            prefer_consolidated: false,
            newest_first: true,
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
            answer_type: 0.3,
            strength: 0.0,
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
        if self.search_width > MAX_RECALL_K {
            return bad("search_width", &format!("at most {MAX_RECALL_K}"));
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
            ("weights.answer_type", w.answer_type),
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
