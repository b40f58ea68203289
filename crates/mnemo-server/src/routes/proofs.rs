//! Stats, the log's Merkle root, inclusion and consistency proofs.

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{ConsistencyOut, ConsistencyParams, ProofOut, RootOut, StatsOut};
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
             server against the current root.",
        )
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
) -> Result<ApiJson<ProofOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::proof(&ns, id).map(ApiJson)
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
