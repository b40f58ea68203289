//! Search-only recall: vector kNN and BM25 keywords, fused by reciprocal
//! rank.
//!
//! Each signal ranks up to `max(4k, 50)` candidates among the memories the
//! filters admit; a memory's fused score is the sum over the signals that
//! found it of `1 / (60 + rank)` (rank from 1; 60 is the constant of
//! Cormack et al., SIGIR 2009). Every hit carries each signal's rank and
//! raw score and the query words it matched, so a caller can see why it
//! was recalled.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec;
use crate::model::Memory;
use crate::namespace::Inner;
use crate::query::Query;
use crate::state::IdMap;

/// The reciprocal-rank-fusion constant.
pub const RRF_K: f32 = 60.0;

/// One signal's view of a hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalHit {
    /// Rank in that signal's list, from 1.
    pub rank: usize,
    /// The signal's own score (cosine similarity for vectors, BM25 for
    /// keywords).
    pub score: f32,
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
    /// The (stemmed) query words found in it.
    pub matched_terms: Vec<String>,
}

/// A candidate's fused score and its place in each signal.
type Fused = (f32, Option<SignalHit>, Option<SignalHit>);

/// Runs hybrid recall on a namespace's state.
pub(crate) fn hybrid(
    inner: &Inner,
    text: &str,
    vector: Option<&[f32]>,
    k: usize,
    filter: &Query,
) -> Result<Vec<RecallHit>> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let depth = (4 * k).max(50);
    let state = inner.state.read();
    let allow = filter
        .has_filter()
        .then(|| exec::filter_bitmap(&state, filter));
    if allow.as_ref().is_some_and(|a| a.is_empty()) {
        return Ok(Vec::new());
    }
    let keyword = state.text.search(text, depth, allow.as_ref());
    let vector_hits = match vector {
        Some(v) => inner
            .vectors
            .search(v, depth, allow.as_ref())
            .map_err(|e| Error::Invalid {
                namespace: inner.name.clone(),
                field: "recall vector",
                reason: e.to_string(),
            })?,
        None => Vec::new(),
    };
    let mut fused: IdMap<Fused> = IdMap::default();
    for (i, n) in vector_hits.iter().enumerate() {
        let e = fused.entry(n.id).or_default();
        e.0 += 1.0 / (RRF_K + (i + 1) as f32);
        e.1 = Some(SignalHit {
            rank: i + 1,
            score: 1.0 - n.distance,
        });
    }
    for (i, h) in keyword.iter().enumerate() {
        let e = fused.entry(h.id).or_default();
        e.0 += 1.0 / (RRF_K + (i + 1) as f32);
        e.2 = Some(SignalHit {
            rank: i + 1,
            score: h.score,
        });
    }
    let mut ranked: Vec<(u64, Fused)> = fused.into_iter().collect();
    let by_score = |a: &(u64, (f32, _, _)), b: &(u64, (f32, _, _))| {
        b.1.0.total_cmp(&a.1.0).then(a.0.cmp(&b.0))
    };
    if ranked.len() > k {
        ranked.select_nth_unstable_by(k - 1, by_score);
        ranked.truncate(k);
    }
    ranked.sort_unstable_by(by_score);
    Ok(ranked
        .into_iter()
        .filter_map(|(id, (score, vector, keyword))| {
            let memory = state.memories.get(&id)?.clone();
            let matched_terms = if keyword.is_some() {
                state.text.matched_terms(text, id)
            } else {
                Vec::new()
            };
            Some(RecallHit {
                memory,
                score,
                vector,
                keyword,
                matched_terms,
            })
        })
        .collect())
}
