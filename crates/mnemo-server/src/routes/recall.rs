//! Recall: vector search, BM25 keywords and spreading activation fused,
//! with each hit's signals, optional explanations and the activation
//! graph the explorer draws.
//!
//! Embedding the query and ranking run on the [`RecallPool`] (at most
//! `limits.max_concurrent_recalls` at once, on blocking-pool threads),
//! never on an async worker. A query longer than `limits.max_query_bytes`
//! is refused (413). The request's deadline bounds the work: waiting for
//! a slot stops there (503), and a recall that starts gets the time left
//! as its budget (the smaller of that and the caller's `budget_ms`), so a
//! slow one answers its best result so far with `complete` false instead
//! of running past the request timeout.

use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::routing::post;
use mnemo::recall::{ActivationGraph, MAX_RECALL_K};
use mnemo::{Namespace, Recall, RecallOptions, SignalHit};

use super::{ApiJson, ApiPath, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{
    ExplanationOut, GraphEdge, GraphNode, GraphOut, HitOut, MemoryOut, PathStepOut, RecallIn,
    RecallOut, SignalOut, SignalsOut, TimingsOut, ValidityIo,
};
use crate::error::ApiError;
use crate::state::{AppState, Deadline, RecallPool};

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/recall",
        post(recall),
        Doc::new(
            "recall",
            "recall",
            Some(Right::Read),
            "Recalls the memories that matter for a text: vector similarity, BM25 keywords and \
             spreading activation over the association graph, fused; with explain, each \
             signal's share; with graph, the activation graph.",
        )
        .body::<RecallIn>()
        .ok::<RecallOut>(200),
    )
}

/// The engine's options for a request (errors name the field).
pub(crate) fn options(body: &RecallIn) -> Result<RecallOptions, ApiError> {
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
    if let Some(ms) = body.budget_ms {
        o.budget = Some(Duration::from_millis(ms));
    }
    Ok(o)
}

async fn recall(
    State(state): State<AppState>,
    caller: Caller,
    deadline: Deadline,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<RecallIn>,
) -> Result<ApiJson<RecallOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let options = options(&body)?;
    let metrics = state.clone();
    let out = run(
        state.recall_pool(),
        deadline,
        ns,
        body.query,
        options,
        move |result, _| {
            metrics.metrics().observe_recall(&result.timings);
            answer(result)
        },
    )
    .await?;
    Ok(ApiJson(out))
}

/// Recalls `query` in `ns` on `pool` within `deadline` (see the module
/// docs) and hands the result to `finish` on the pool's thread: the one
/// path recall takes, over HTTP and MCP.
pub(crate) async fn run<T: Send + 'static>(
    pool: &RecallPool,
    deadline: Deadline,
    ns: Namespace,
    query: String,
    mut options: RecallOptions,
    finish: impl FnOnce(&Recall, &Namespace) -> T + Send + 'static,
) -> Result<T, ApiError> {
    pool.check_text("query", &query)?;
    pool.run(deadline, "recall", move |left| {
        let result = within(&ns, &query, &mut options, left)?;
        Ok(finish(&result, &ns))
    })
    .await
}

/// Recalls with `left` (the time before the request's deadline) as the
/// budget, or the caller's own budget when that is smaller. Called on the
/// recall pool's thread.
pub(crate) fn within(
    ns: &Namespace,
    query: &str,
    options: &mut RecallOptions,
    left: Duration,
) -> Result<Recall, ApiError> {
    options.budget = Some(options.budget.map_or(left, |b| b.min(left)));
    Ok(ns.recall_with(query, options)?)
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

/// The JSON answer of a recall (with the activation graph when the recall
/// made one).
pub(crate) fn answer(result: &Recall) -> RecallOut {
    let hits: Vec<HitOut> = result
        .hits
        .iter()
        .map(|h| HitOut {
            memory: MemoryOut::from(&*h.memory),
            score: h.score,
            signals: SignalsOut {
                vector: signal(&h.vector),
                keyword: signal(&h.keyword),
                activation: signal(&h.activation),
            },
            matched_terms: h.matched_terms.clone(),
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
