//! Links between memories.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, post};

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{LinkIn, LinkOut, UnlinkParams};
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/links",
        post(link),
        Doc::new(
            "link",
            "links",
            Some(Right::Write),
            "Links two memories with a kind and a weight (linking again updates the weight); \
             recall's activation spreads over links.",
        )
        .body::<LinkIn>()
        .ok::<LinkOut>(201),
    )
    .op(
        Method::DELETE,
        "/v1/namespaces/{ns}/links",
        delete(unlink),
        Doc::new(
            "unlink",
            "links",
            Some(Right::Write),
            "Removes the link of this kind between two memories.",
        )
        .query::<UnlinkParams>()
        .ok::<LinkOut>(200),
    )
}

async fn link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<LinkIn>,
) -> Result<(StatusCode, ApiJson<LinkOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let out = blocking(move || ops::link(&ns, &body)).await?;
    Ok((StatusCode::CREATED, ApiJson(out)))
}

async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<UnlinkParams>,
) -> Result<ApiJson<LinkOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::unlink(&ns, &params))
        .await
        .map(ApiJson)
}
