//! Listing and creating namespaces. Creating one needs `admin` on it
//! ([`crate::auth::Principal::check_create`], the rule MCP writes share).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::get;

use super::{ApiJson, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{NamespaceIn, NamespaceOut, NamespacesOut};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::GET,
        "/v1/namespaces",
        get(list),
        Doc::new(
            "listNamespaces",
            "namespaces",
            Some(Right::Read),
            "The namespaces this token may use.",
        )
        .ok::<NamespacesOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces",
        axum::routing::post(create),
        Doc::new(
            "createNamespace",
            "namespaces",
            Some(Right::Admin),
            "Creates a namespace (needs admin on it); 200 with created false when it exists.",
        )
        .body::<NamespaceIn>()
        .ok::<NamespaceOut>(201)
        .also(200),
    )
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiJson<NamespacesOut> {
    let namespaces = state
        .namespace_names()
        .into_iter()
        .filter(|n| caller.0.sees(n))
        .collect();
    ApiJson(NamespacesOut { namespaces })
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NamespaceIn>,
) -> Result<(StatusCode, ApiJson<NamespaceOut>), ApiError> {
    mnemo::validate_namespace(&body.name).map_err(ApiError::from)?;
    // The one creation rule every front door applies (MCP writes too):
    // admin on the namespace, scope checked first.
    caller.0.check_create(&body.name)?;
    let existed = state.namespace(&body.name).is_ok();
    if !existed {
        let name = body.name.clone();
        let st = state.clone();
        blocking(move || st.namespace_or_create(&name).map(|_| ())).await?;
    }
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        ApiJson(NamespaceOut {
            name: body.name,
            created: !existed,
        }),
    ))
}
