//! The lifecycle jobs: consolidation (related episodic memories
//! summarised into semantic ones linked to their sources) and the tiers
//! that keep the vectors in memory within a budget ([`crate::ops`] does
//! the work). Each runs on the blocking pool: consolidation embeds and
//! groups, a rebalance ranks every memory and writes, and even the tier
//! report counts the cold tier.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};

use super::{ApiJson, ApiPath, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{ConsolidateMemoriesIn, ConsolidatedOut, TiersOut};
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

const TAG: &str = "lifecycle";

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/consolidate",
        post(consolidate),
        Doc::new(
            "consolidateMemories",
            TAG,
            Some(Right::Write),
            "Groups related episodic memories and writes a semantic summary of each group, tagged consolidated and linked derived_from to its sources (one durable event; the sources stay). Every setting is optional; an empty namespace is a no-op.",
        )
        .body::<ConsolidateMemoriesIn>()
        .ok::<ConsolidatedOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/tiers",
        get(tiers),
        Doc::new(
            "getTiers",
            TAG,
            Some(Right::Read),
            "How many memories are hot, warm and cold, the bytes their vectors keep in memory, and the budget.",
        )
        .ok::<TiersOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/tiers/rebalance",
        post(rebalance),
        Doc::new(
            "rebalanceTiers",
            TAG,
            Some(Right::Write),
            "Places every memory in its tier under the budget (strongest from use hot, then warm, the rest cold; each move a durable event) and answers the tiers. Without a budget nothing moves.",
        )
        .ok::<TiersOut>(200),
    )
}

async fn consolidate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<ConsolidateMemoriesIn>,
) -> Result<ApiJson<ConsolidatedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::consolidate_memories(&ns, &body))
        .await
        .map(ApiJson)
}

async fn tiers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<TiersOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    blocking(move || Ok(ops::get_tiers(&ns))).await.map(ApiJson)
}

async fn rebalance(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<TiersOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::rebalance_tiers(&ns))
        .await
        .map(ApiJson)
}
