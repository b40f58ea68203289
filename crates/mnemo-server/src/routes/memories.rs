//! Memories: batch remember, list and query, get (with links and facts),
//! revise, retag, touch, deadlines and forget ([`crate::ops`] does the
//! work).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post, put};

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{
    ExpireOut, ExpiryIn, ExpiryOut, ForgetOut, ListOut, ListParams, MemoryDetailOut, MemoryOut,
    PurgeIn, PurgeOut, QueryIn, RememberIn, RememberOut, RetagIn, RevisionIn, TouchIn, TouchOut,
};
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

const TAG: &str = "memories";

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/memories",
        post(remember),
        Doc::new(
            "remember",
            TAG,
            Some(Right::Write),
            "Remembers a batch of memories in one atomic, durable log append; answers their ids.",
        )
        .body::<RememberIn>()
        .ok::<RememberOut>(201),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/memories",
        get(list),
        Doc::new(
            "listMemories",
            TAG,
            Some(Right::Read),
            "Lists memories, filtered by tag, source, kind or text, in pages.",
        )
        .query::<ListParams>()
        .ok::<ListOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/memories/query",
        post(query),
        Doc::new(
            "queryMemories",
            TAG,
            Some(Right::Read),
            "Queries memories with every filter (tags, times, metadata, ...), an order and a page.",
        )
        .body::<QueryIn>()
        .ok::<ListOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/memories/{id}",
        get(get_one),
        Doc::new(
            "getMemory",
            TAG,
            Some(Right::Read),
            "One memory with its links and the facts citing it.",
        )
        .ok::<MemoryDetailOut>(200),
    )
    .op(
        Method::PATCH,
        "/v1/namespaces/{ns}/memories/{id}",
        patch(revise),
        Doc::new(
            "reviseMemory",
            TAG,
            Some(Right::Write),
            "Changes a memory's content, kind, importance, confidence, metadata, time or source.",
        )
        .body::<RevisionIn>()
        .ok::<MemoryOut>(200),
    )
    .op(
        Method::DELETE,
        "/v1/namespaces/{ns}/memories/{id}",
        delete(forget),
        Doc::new(
            "forgetMemory",
            TAG,
            Some(Right::Write),
            "Forgets a memory and erases it: its key is destroyed, so what the log holds of it can no longer be read (its links go with it).",
        )
        .ok::<ForgetOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/memories/touch",
        post(touch),
        Doc::new(
            "touchMemories",
            TAG,
            Some(Right::Write),
            "Records a use of each memory now, which raises its strength (one durable event).",
        )
        .body::<TouchIn>()
        .ok::<TouchOut>(200),
    )
    .op(
        Method::PUT,
        "/v1/namespaces/{ns}/memories/{id}/expiry",
        put(set_expiry),
        Doc::new(
            "setExpiry",
            TAG,
            Some(Right::Write),
            "Sets a memory's deadline, or clears it with null (one durable event); past it the memory leaves every read and is erased.",
        )
        .body::<ExpiryIn>()
        .ok::<ExpiryOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/expire",
        post(expire),
        Doc::new(
            "expireDue",
            TAG,
            Some(Right::Write),
            "Expires every memory past its deadline now (erased as forgetting erases); answers their ids. The server also sweeps about once a second.",
        )
        .ok::<ExpireOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/purge",
        post(purge),
        Doc::new(
            "purgeMemories",
            TAG,
            Some(Right::Write),
            "Forgets and erases every memory with a tag, from a source, or all of them (exactly one).",
        )
        .body::<PurgeIn>()
        .ok::<PurgeOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/memories/{id}/tags",
        post(retag),
        Doc::new(
            "retagMemory",
            TAG,
            Some(Right::Write),
            "Adds and removes tags of a memory.",
        )
        .body::<RetagIn>()
        .ok::<MemoryOut>(200),
    )
}

async fn remember(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<RememberIn>,
) -> Result<(StatusCode, ApiJson<RememberOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let out = blocking(move || ops::remember(&ns, &body, &state.config().limits)).await?;
    Ok((StatusCode::CREATED, ApiJson(out)))
}

async fn touch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<TouchIn>,
) -> Result<ApiJson<TouchOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::touch_memories(&ns, &body))
        .await
        .map(ApiJson)
}

async fn set_expiry(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ExpiryIn>,
) -> Result<ApiJson<ExpiryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::set_expiry(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn expire(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<ExpireOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::expire_due(&ns)).await.map(ApiJson)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<ApiJson<ListOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::list_memories(&ns, &params).map(ApiJson)
}

async fn query(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<QueryIn>,
) -> Result<ApiJson<ListOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::query_memories(&ns, &body).map(ApiJson)
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<MemoryDetailOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::get_memory(&ns, id).map(ApiJson)
}

async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<RevisionIn>,
) -> Result<ApiJson<MemoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::revise_memory(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn retag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<RetagIn>,
) -> Result<ApiJson<MemoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::retag_memory(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn purge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<PurgeIn>,
) -> Result<ApiJson<PurgeOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::purge_memories(&ns, &body))
        .await
        .map(ApiJson)
}

async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<ForgetOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::forget_memory(&ns, id))
        .await
        .map(ApiJson)
}
