//! Liveness, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiJson, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::StatusOut;
use crate::error::ApiError;
use crate::state::{AppState, Phase};

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::GET,
        "/healthz",
        get(healthz),
        Doc::new("healthz", "system", None, "Liveness: the process answers.").ok::<StatusOut>(200),
    )
    .op(
        Method::GET,
        "/readyz",
        get(readyz),
        Doc::new(
            "readyz",
            "system",
            None,
            "Readiness: 200 once the stored namespaces are open, 503 while starting or stopping.",
        )
        .ok::<StatusOut>(200),
    )
    .op(
        Method::GET,
        "/metrics",
        get(metrics),
        Doc::new(
            "metrics",
            "system",
            Some(Right::Read),
            "Prometheus metrics (needs a token with read on every namespace).",
        )
        .ok_raw("text/plain"),
    )
}

async fn healthz() -> ApiJson<StatusOut> {
    ApiJson(StatusOut {
        status: "ok".into(),
    })
}

async fn readyz(State(state): State<AppState>) -> Response {
    let (status, word) = match state.phase() {
        Phase::Ready => (StatusCode::OK, "ready"),
        Phase::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
        Phase::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
    };
    (
        status,
        ApiJson(StatusOut {
            status: word.into(),
        }),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.0.check_global(Right::Read)?;
    let text = state.metrics().render(&state);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub(crate) fn openapi_route(api: Api) -> Api {
    api.op(
        Method::GET,
        "/v1/openapi.json",
        get(openapi),
        Doc::new(
            "openapi",
            "system",
            None,
            "This OpenAPI 3.1 document: every route the server answers.",
        ),
    )
}

async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi().to_owned(),
    )
        .into_response()
}
