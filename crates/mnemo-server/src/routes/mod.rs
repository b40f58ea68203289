//! The API's routes, one module per area; each adds its operations to the
//! route table with [`crate::api::Api::op`].
//!
//! Handlers read through the engine directly (reads take microseconds)
//! and run writes on the blocking pool, since a write may wait for
//! `fdatasync`.

pub(crate) mod events;
pub(crate) mod facts;
pub(crate) mod lifecycle;
pub(crate) mod links;
pub(crate) mod memories;
pub(crate) mod namespaces;
pub(crate) mod patterns;
pub(crate) mod proofs;
pub(crate) mod recall;
pub(crate) mod system;
pub(crate) mod watch;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::Api;
use crate::auth::{Principal, Right};
use crate::error::ApiError;
use crate::state::AppState;

/// Every area's routes.
pub(crate) fn all(api: Api) -> Api {
    let api = system::routes(api);
    let api = system::openapi_route(api);
    let api = namespaces::routes(api);
    let api = memories::routes(api);
    let api = lifecycle::routes(api);
    let api = recall::routes(api);
    let api = links::routes(api);
    let api = watch::routes(api);
    let api = proofs::routes(api);
    let api = facts::routes(api);
    let api = events::routes(api);
    patterns::routes(api)
}

/// A JSON body or answer; a body that does not parse is a structured 400
/// (413 when too large, 415 without a JSON content type).
#[derive(Debug, Clone, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a bad one (an id that is not a number) is a 400.
#[derive(Debug, Clone, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub T);

/// Query-string parameters; unknown or mistyped ones are a 400.
#[derive(Debug, Clone, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub T);

/// The authenticated caller (the token middleware put it there).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("send a token: Authorization: Bearer <token>"))
    }
}

impl Caller {
    /// The namespace `ns` after checking the caller may do what `right`
    /// covers there (403 before 404, so names outside the token's scope
    /// are not revealed).
    pub(crate) fn namespace(
        &self,
        state: &AppState,
        ns: &str,
        right: Right,
    ) -> Result<mnemo::Namespace, ApiError> {
        mnemo::validate_namespace(ns).map_err(ApiError::from)?;
        self.0.check(ns, right)?;
        state.namespace(ns)
    }
}

/// Runs a write on the blocking pool (it may wait for `fdatasync`).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("the write task failed: {e}")))?
}
