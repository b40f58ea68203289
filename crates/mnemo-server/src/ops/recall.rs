//! Recall: vector search, BM25 keywords and spreading activation fused,
//! with each hit's signals, optional explanations and the activation
//! graph the explorer draws.
//!
//! Three building blocks, shared by the HTTP route, MCP and in-process
//! callers: [`recall_options`] (the request checked, as the engine's
//! options), [`run_recall`] (the engine's recall within a budget) and
//! [`recall_answer`] (the JSON answer). [`recall`] chains them. The
//! server runs [`run_recall`] on its bounded recall pool with the time
//! left before the request's deadline as the budget, and refuses a query
//! longer than `limits.max_query_bytes` first ([`check_query_bytes`]).

use std::time::Duration;

use axum::http::StatusCode;
use mnemo::recall::{ActivationGraph, MAX_RECALL_K};
use mnemo::{Namespace, Recall, RecallOptions, SignalHit};

use crate::dto::{
    ExplanationOut, GraphEdge, GraphNode, GraphOut, HitOut, MemoryOut, PathStepOut, RecallIn,
    RecallOut, SignalOut, SignalsOut, TimingsOut, ValidityIo,
};
use crate::error::ApiError;

/// `recall`: the memories that matter for `body.query` (or for
/// `body.vector`, when given), within `budget` when given (the smaller of
/// it and `body.budget_ms` applies; when it runs out the answer holds the
/// best hits so far with `complete` false).
///
/// The text length limit is the server's (`limits.max_query_bytes`): this
/// function does not apply it; [`super::call`] does, as HTTP does.
pub fn recall(
    ns: &Namespace,
    body: &RecallIn,
    budget: Option<Duration>,
) -> Result<RecallOut, ApiError> {
    let mut options = recall_options(ns, body)?;
    let result = run_recall(ns, &body.query, &mut options, budget)?;
    Ok(recall_answer(ns, &result, body.wants_memory()))
}

/// The engine's options for a request in `ns` (errors name the field:
/// `k`, `filter...`, `vector` when its dimension is not the namespace's).
pub fn recall_options(ns: &Namespace, body: &RecallIn) -> Result<RecallOptions, ApiError> {
    let k = body.k.unwrap_or(10);
    if k == 0 || k > MAX_RECALL_K {
        return Err(ApiError::bad_request(format!(
            "k: between 1 and {MAX_RECALL_K}"
        )));
    }
    let mut o = RecallOptions::k(k);
    if let Some(f) = &body.filter {
        o.filter = f.to_query()?;
    }
    if let Some(w) = &body.weights {
        let weights = &mut o.weights;
        for (slot, value) in [
            (&mut weights.vector, w.vector),
            (&mut weights.keyword, w.keyword),
            (&mut weights.activation, w.activation),
            (&mut weights.recency, w.recency),
            (&mut weights.importance, w.importance),
            (&mut weights.time, w.time),
            (&mut weights.tags, w.tags),
            (&mut weights.answer_type, w.answer_type),
            (&mut weights.strength, w.strength),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
    }
    if let Some(s) = body.spreading {
        o.spreading = s;
    }
    // The graph's paths are the hits' explanations: asking for the graph
    // explains the hits too.
    o.explain = body.explain || body.graph;
    o.graph = body.graph;
    o.prefer_consolidated = body.prefer_consolidated;
    o.scan_cold = body.scan_cold;
    if let Some(newest) = body.newest_first {
        o.newest_first = newest;
    }
    if let Some(ms) = body.budget_ms {
        o.budget = Some(Duration::from_millis(ms));
    }
    for (field, value, slot) in [
        ("candidates", body.candidates, &mut o.candidates),
        ("search_width", body.search_width, &mut o.search_width),
    ] {
        if let Some(n) = value {
            if n == 0 || n > MAX_RECALL_K {
                return Err(ApiError::bad_request(format!(
                    "{field}: between 1 and {MAX_RECALL_K}"
                )));
            }
            *slot = n;
        }
    }
    if let Some(v) = &body.vector {
        // Checked here rather than left to the engine, so the error names
        // the request's field and both dimensions.
        if let Some(dimension) = ns.limits().dimension
            && v.len() != dimension
        {
            return Err(ApiError::bad_request(format!(
                "vector: {} numbers, but namespace {}'s embedder has dimension {dimension}",
                v.len(),
                ns.name()
            )));
        }
        o.query_vector = Some(v.clone());
    }
    Ok(o)
}

/// Recalls `query` in `ns`; `budget` (the time left before a deadline)
/// caps the options' own budget. An engine error about the query vector
/// names the request's field, `vector`.
pub fn run_recall(
    ns: &Namespace,
    query: &str,
    options: &mut RecallOptions,
    budget: Option<Duration>,
) -> Result<Recall, ApiError> {
    if let Some(left) = budget {
        options.budget = Some(options.budget.map_or(left, |b| b.min(left)));
    }
    ns.recall_with(query, options).map_err(|e| match e {
        mnemo::Error::Invalid {
            field: "query_vector",
            reason,
            ..
        } => ApiError::bad_request(format!("invalid vector: {reason}")),
        other => ApiError::from(other),
    })
}

/// 413 naming `field` when `text` is longer than `max_query_bytes` (the
/// server's `limits.max_query_bytes`, for recall queries and suggest
/// tasks).
pub fn check_query_bytes(field: &str, text: &str, max_query_bytes: usize) -> Result<(), ApiError> {
    if text.len() <= max_query_bytes {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "{field}: {} bytes, longer than the {max_query_bytes} allowed \
             (limits.max_query_bytes)",
            text.len(),
        ),
    ))
}

fn signal(s: &Option<SignalHit>) -> Option<SignalOut> {
    s.as_ref().map(|s| SignalOut {
        rank: s.rank,
        score: s.score,
        normalized: s.normalized,
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The JSON answer of a recall in `ns` (with the activation graph when
/// the recall made one); each hit with its tier and its strength from use
/// now, and with its memory when `include_memory`, else with its id alone.
pub fn recall_answer(ns: &Namespace, result: &Recall, include_memory: bool) -> RecallOut {
    let hits: Vec<HitOut> = result
        .hits
        .iter()
        .map(|h| HitOut {
            id: h.memory.id.0,
            memory: include_memory.then(|| MemoryOut::from(&*h.memory)),
            score: h.score,
            signals: SignalsOut {
                vector: signal(&h.vector),
                keyword: signal(&h.keyword),
                activation: signal(&h.activation),
            },
            matched_terms: h.matched_terms.clone(),
            tier: h.tier.as_str().to_owned(),
            strength: ns.strength(h.memory.id),
            explanation: h.explanation.as_ref().map(|e| ExplanationOut {
                contributions: e
                    .contributions
                    .iter()
                    .map(|(name, share)| ((*name).to_owned(), *share))
                    .collect(),
                path: e
                    .path
                    .iter()
                    .map(|step| PathStepOut {
                        id: step.id.0,
                        via: step.via.map(|v| v.name().to_owned()),
                    })
                    .collect(),
            }),
        })
        .collect();
    let graph = result.graph.as_ref().map(graph);
    RecallOut {
        hits,
        complete: result.complete,
        seeds: result.seeds,
        timings_us: TimingsOut {
            embed: micros(result.timings.embed),
            candidates: micros(result.timings.candidates),
            spread: micros(result.timings.spread),
            fuse: micros(result.timings.fuse),
        },
        time_hint: result.time_hint.map(|r| ValidityIo {
            from: r.from.map(mnemo::rfc3339::format),
            until: r.until.map(mnemo::rfc3339::format),
        }),
        graph,
    }
}

/// The engine's activation graph as JSON, memories' text shortened.
fn graph(g: &ActivationGraph) -> GraphOut {
    GraphOut {
        nodes: g
            .nodes
            .iter()
            .map(|n| GraphNode {
                id: n.memory.id.0,
                content: preview(&n.memory.content),
                hit: n.rank.is_some(),
                rank: n.rank,
                score: n.score,
                seed: n.seed,
            })
            .collect(),
        edges: g
            .edges
            .iter()
            .map(|e| GraphEdge {
                from: e.from.0,
                to: e.to.0,
                via: e.via.name().to_owned(),
            })
            .collect(),
    }
}

/// The first 200 characters of a text.
fn preview(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
