//! Stats, the log's Merkle root and inclusion proofs.

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;

use super::{ApiJson, ApiPath, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{ProofOut, RootOut, StatsOut};
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
