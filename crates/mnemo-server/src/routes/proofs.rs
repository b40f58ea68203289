//! Stats, the log's Merkle root, inclusion and consistency proofs, signed
//! checkpoints and the kept ones.

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{
    CheckpointParams, CheckpointsOut, CheckpointsParams, ConsistencyOut, ConsistencyParams,
    DEFAULT_CHECKPOINTS_LIMIT, MAX_CHECKPOINTS_LIMIT, ProofOut, ProofParams, RootOut, StatsOut,
};
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::GET,
        "/v1/namespaces/{ns}/stats",
        get(stats),
        Doc::new(
            "stats",
            "namespaces",
            Some(Right::Read),
            "Counts and sizes of a namespace.",
        )
        .ok::<StatsOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/root",
        get(root),
        Doc::new(
            "root",
            "proofs",
            Some(Right::Read),
            "The Merkle root of the namespace's event log and the events it covers.",
        )
        .ok::<RootOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/proof/{id}",
        get(proof),
        Doc::new(
            "proof",
            "proofs",
            Some(Right::Read),
            "A Merkle inclusion proof of the event that last wrote a memory, checked by the \
             server against the current root, or with `size` against the root of the log's \
             first `size` events: the size of a signed checkpoint the client holds, whose root \
             the proof then leads to. 400 naming `size` when it is past the log or before the \
             memory's event.",
        )
        .query::<ProofParams>()
        .ok::<ProofOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/consistency",
        get(consistency),
        Doc::new(
            "consistency",
            "proofs",
            Some(Right::Read),
            "A Merkle consistency proof (RFC 9162) that the log's first `from` events are a \
             prefix of its first `to` (default: all of them): the history a client saw at an \
             older root was only appended to since. With both roots, checked by the server.",
        )
        .query::<ConsistencyParams>()
        .ok::<ConsistencyOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/checkpoint",
        get(checkpoint),
        Doc::new(
            "checkpoint",
            "proofs",
            Some(Right::Read),
            "The log's head (event count and Merkle root) as a C2SP tlog-checkpoint, signed as a \
             C2SP signed note by the server's Ed25519 and ML-DSA-44 keys (and ML-DSA-65 when it \
             has one): check it with their vkeys, both signatures must verify; then ask \
             `consistency` from its size to prove later heads extend it. 404 when the server's \
             config names no `[checkpoints] key_file`. With `size`, the checkpoint of that tree \
             size the server kept (see `checkpoints`), 404 naming the size when none is kept.",
        )
        .query::<CheckpointParams>()
        .ok_raw("text/plain"),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/checkpoints",
        get(checkpoints),
        Doc::new(
            "checkpoints",
            "proofs",
            Some(Right::Read),
            "The tree sizes of the signed checkpoints the server kept in the namespace (every \
             `[checkpoints] every_events` events or `every_seconds` seconds of growth, and on \
             shutdown), oldest first, newest last, at most `limit` (default 100, at most 1000) \
             after `after`; `next` is the next page's `after`. Each is \
             `GET .../checkpoint?size=N`. 404 when the server has no data directory.",
        )
        .query::<CheckpointsParams>()
        .ok::<CheckpointsOut>(200),
    )
}

async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<StatsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    Ok(ApiJson(ops::stats(&ns)))
}

async fn root(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<RootOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::root(&ns).map(ApiJson)
}

async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiQuery(params): ApiQuery<ProofParams>,
) -> Result<ApiJson<ProofOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    // Proofs may read hashes from the log's files: off the request's
    // worker thread.
    blocking(move || ops::proof(&ns, id, &params))
        .await
        .map(ApiJson)
}

async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<CheckpointParams>,
) -> Result<Response, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    // Signing (ML-DSA) takes about a millisecond, and a kept note is read
    // from a file: off the async workers.
    let note = blocking(move || match params.size {
        Some(size) => state.kept_note(ns.name(), size),
        None => state.checkpoint(&ns).map(|note| note.to_string()),
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

async fn checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<CheckpointsParams>,
) -> Result<ApiJson<CheckpointsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let limit = params.limit.unwrap_or(DEFAULT_CHECKPOINTS_LIMIT);
    if !(1..=MAX_CHECKPOINTS_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is not between 1 and {MAX_CHECKPOINTS_LIMIT}"
        )));
    }
    // The first listing of a namespace reads its directory.
    let page = blocking(move || state.kept_page(ns.name(), params.after, limit)).await?;
    Ok(ApiJson(CheckpointsOut {
        next: if page.more {
            page.sizes.last().copied()
        } else {
            None
        },
        sizes: page.sizes,
        count: page.count,
        latest: page.latest,
    }))
}

async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<ConsistencyParams>,
) -> Result<ApiJson<ConsistencyOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    // Proofs may read hashes from the log's files: off the request's
    // worker thread.
    blocking(move || ops::consistency(&ns, &params))
        .await
        .map(ApiJson)
}
