//! Procedural memory: recording trajectories (how a task went, by which
//! executor), suggesting an executor for a new task from the patterns
//! learned so far, and maintaining those patterns (prune, consolidate,
//! refine; admin right).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use mnemo::patterns::PatternId;

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto_facts::{
    ConsolidateIn, ConsolidatedOut, MergeOut, PatternOut, PatternParams, PatternsOut, PruneIn,
    PrunedOut, RecordedOut, RefinedOut, SuggestIn, SuggestOut, TrajectoryIn, page,
};
use crate::error::ApiError;
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
    let trajectory = body.to_trajectory()?;
    // Embedding the task and the write's sync both run on the blocking
    // pool.
    blocking(move || {
        let r = ns.record_trajectory(trajectory)?;
        Ok((
            StatusCode::CREATED,
            ApiJson(RecordedOut {
                trajectory: r.trajectory.0,
                pattern: r.pattern.0,
                new_pattern: r.new_pattern,
                refined: r.refined,
                seq: r.seq,
            }),
        ))
    })
    .await
}

async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    deadline: Deadline,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<SuggestIn>,
) -> Result<ApiJson<SuggestOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let k = body.check()?;
    let pool = state.recall_pool();
    if let Some(task) = &body.task {
        pool.check_text("task", task)?;
    }
    // Like recall: embedding the task and ranking patterns is CPU work,
    // done on the bounded recall pool rather than an async worker.
    pool.run(deadline, "suggest", move |_| {
        let found = match (&body.task, &body.vector) {
            (_, Some(v)) => ns.suggest_vector(v, k)?,
            (Some(task), None) => ns.suggest(task, k)?,
            (None, None) => return Err(ApiError::bad_request("task: give the task")),
        };
        Ok(ApiJson(SuggestOut::from(&found)))
    })
    .await
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<PatternParams>,
) -> Result<ApiJson<PatternsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let all = ns.patterns();
    let total = all.len();
    let patterns = page(all, params.offset, params.limit)?
        .iter()
        .map(PatternOut::from)
        .collect();
    Ok(ApiJson(PatternsOut { patterns, total }))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<PatternOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let pattern = ns.pattern(PatternId(id)).ok_or_else(|| {
        ApiError::not_found(format!(
            "no pattern with id {id} in namespace {}",
            ns.name()
        ))
    })?;
    Ok(ApiJson(PatternOut::from(&pattern)))
}

async fn prune(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<PruneIn>,
) -> Result<ApiJson<PrunedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    let policy = body.to_policy()?;
    blocking(move || {
        let pruned = ns.prune_patterns(&policy)?;
        Ok(ApiJson(PrunedOut {
            pruned: pruned.iter().map(|p| p.0).collect(),
            patterns: ns.patterns().len(),
        }))
    })
    .await
}

async fn consolidate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<ConsolidateIn>,
) -> Result<ApiJson<ConsolidatedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    body.check()?;
    blocking(move || {
        let merges = ns.consolidate_patterns(body.threshold)?;
        Ok(ApiJson(ConsolidatedOut {
            merges: merges
                .iter()
                .map(|(kept, absorbed)| MergeOut {
                    kept: kept.0,
                    absorbed: absorbed.0,
                })
                .collect(),
            patterns: ns.patterns().len(),
        }))
    })
    .await
}

async fn refine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<RefinedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Admin)?;
    blocking(move || {
        let before = ns.patterns().len();
        let seq = ns.refine_patterns()?;
        Ok(ApiJson(RefinedOut {
            seq,
            patterns_before: before,
            patterns_after: ns.patterns().len(),
        }))
    })
    .await
}
