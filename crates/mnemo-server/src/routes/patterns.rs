//! Procedural memory: recording trajectories (how a task went, by which
//! executor), suggesting an executor for a new task from the patterns
//! learned so far, and maintaining those patterns (prune, consolidate,
//! refine; admin right). [`crate::ops`] does the work.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto_facts::{
    ConsolidateIn, ConsolidatedOut, PatternOut, PatternParams, PatternsOut, PruneIn, PrunedOut,
    RecordedOut, RefinedOut, SuggestIn, SuggestOut, TrajectoryIn,
};
use crate::error::ApiError;
use crate::ops;
use crate::state::{AppState, Deadline};

const TAG: &str = "patterns";

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/trajectories",
        post(record),
        Doc::new(
            "recordTrajectory",
            TAG,
            Some(Right::Write),
            "Records how a task went (its text or embedding, the executor, the outcome). It \
             joins the most similar pattern or starts one; answers the trajectory's and the \
             pattern's ids.",
        )
        .body::<TrajectoryIn>()
        .ok::<RecordedOut>(201),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/suggest",
        post(suggest),
        Doc::new(
            "suggest",
            TAG,
            Some(Right::Read),
            "Recommends an executor for a task from the learned patterns most similar to it, \
             with a confidence and the ranked patterns (similarity, quality, evidence \
             trajectories).",
        )
        .body::<SuggestIn>()
        .ok::<SuggestOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/patterns",
        get(list),
        Doc::new(
            "listPatterns",
            TAG,
            Some(Right::Read),
            "The learned patterns with their statistics per executor, in pages.",
        )
        .query::<PatternParams>()
        .ok::<PatternsOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/patterns/{id}",
        get(get_one),
        Doc::new(
            "getPattern",
            TAG,
            Some(Right::Read),
            "One learned pattern with its statistics per executor.",
        )
        .ok::<PatternOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/patterns/prune",
        post(prune),
        Doc::new(
            "prunePatterns",
            TAG,
            Some(Right::Admin),
            "Removes the patterns (and their trajectories) that any given condition names: \
             quality below, fewer trajectories than, unused since.",
        )
        .body::<PruneIn>()
        .ok::<PrunedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/patterns/consolidate",
        post(consolidate),
        Doc::new(
            "consolidatePatterns",
            TAG,
            Some(Right::Admin),
            "Merges patterns whose centroids have become near-duplicates (cosine at or above \
             the threshold).",
        )
        .body::<ConsolidateIn>()
        .ok::<ConsolidatedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/patterns/refine",
        post(refine),
        Doc::new(
            "refinePatterns",
            TAG,
            Some(Right::Admin),
            "Re-clusters every trajectory now (deterministic k-means++); takes no body.",
        )
        .ok::<RefinedOut>(200),
    )
}

async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<TrajectoryIn>,
) -> Result<(StatusCode, ApiJson<RecordedOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    // Embedding the task and the write's sync both run on the blocking
    // pool.
    let out = blocking(move || ops::record_trajectory(&ns, &body)).await?;
    Ok((StatusCode::CREATED, ApiJson(out)))
}

async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    deadline: Deadline,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<SuggestIn>,
) -> Result<ApiJson<SuggestOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    // The request's checks come before its text's length and before
    // waiting for a slot; `ops::suggest` repeats the cheap first ones.
    body.check()?;
    let pool = state.recall_pool();
    if let Some(task) = &body.task {
        pool.check_text("task", task)?;
    }
    // Like recall: embedding the task and ranking patterns is CPU work,
    // done on the bounded recall pool rather than an async worker.
    pool.run(deadline, "suggest", move |_| ops::suggest(&ns, &body))
        .await
        .map(ApiJson)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<PatternParams>,
) -> Result<ApiJson<PatternsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::list_patterns(&ns, &params).map(ApiJson)
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<PatternOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::get_pattern(&ns, id).map(ApiJson)
}

async fn prune(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<PruneIn>,
) -> Result<ApiJson<PrunedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    blocking(move || ops::prune_patterns(&ns, &body))
        .await
        .map(ApiJson)
}

async fn consolidate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<ConsolidateIn>,
) -> Result<ApiJson<ConsolidatedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    blocking(move || ops::consolidate_patterns(&ns, &body))
        .await
        .map(ApiJson)
}

async fn refine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<RefinedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    blocking(move || ops::refine_patterns(&ns))
        .await
        .map(ApiJson)
}
