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
//!
//! The request is checked and answered by [`crate::ops`]'s building
//! blocks ([`ops::recall_options`], [`ops::run_recall`],
//! [`ops::recall_answer`]); this module schedules them.

use axum::extract::State;
use axum::http::Method;
use axum::routing::post;
use mnemo::{Namespace, Recall, RecallOptions};

use super::{ApiJson, ApiPath, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{RecallIn, RecallOut};
use crate::error::ApiError;
use crate::ops;
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

async fn recall(
    State(state): State<AppState>,
    caller: Caller,
    deadline: Deadline,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<RecallIn>,
) -> Result<ApiJson<RecallOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let options = ops::recall_options(&ns, &body)?;
    let include_memory = body.wants_memory();
    let metrics = state.clone();
    let out = run(
        state.recall_pool(),
        deadline,
        ns,
        body.query,
        options,
        move |result, ns| {
            metrics.metrics().observe_recall(&result.timings);
            ops::recall_answer(ns, result, include_memory)
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
        let result = ops::run_recall(&ns, &query, &mut options, Some(left))?;
        Ok(finish(&result, &ns))
    })
    .await
}
