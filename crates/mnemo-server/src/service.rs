//! The router: every route, the MCP endpoint, the explorer and the
//! middleware around them.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState, api, auth, explorer, mcp, metrics, routes};

/// The whole HTTP application over `state`: the API, `/mcp`, the explorer,
/// metrics, auth and limits. [`crate::Server`] serves it; tests can call it
/// in-process.
pub fn router(state: AppState) -> Router {
    let (protected, public, doc) = routes::all(api::Api::new()).finish();
    state.set_openapi(doc.to_string());
    let protected = match mcp::http_service(state.clone(), "default".to_owned()) {
        Ok(service) => protected.route_service("/mcp", service),
        Err(e) => {
            tracing::error!(error = %e, "the MCP endpoint is unavailable");
            protected
        }
    };
    let protected = protected.route_layer(from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .merge(public)
        .merge(protected)
        .merge(explorer::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(from_fn_with_state(state.clone(), limits))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config().limits.body_bytes,
        ))
        .with_state(state)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// Middleware: the body limit (413 by `Content-Length` at once, or while
/// reading a longer chunked body) and the request timeout (408; streams
/// are exempt).
async fn limits(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config().limits.body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    let path = req.uri().path();
    // The streaming ingest bounds each line instead of the whole upload.
    let upload = path.ends_with("/events/stream");
    let streaming = upload || path.ends_with("/watch") || path == "/mcp";
    let req = if upload {
        req
    } else {
        let (parts, body) = req.into_parts();
        let body = Body::new(http_body_util::Limited::new(body, limit));
        Request::from_parts(parts, body)
    };
    if streaming {
        return next.run(req).await;
    }
    let timeout = Duration::from_millis(state.config().limits.request_timeout_ms);
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the request took longer than {} ms (limits.request_timeout_ms)",
                timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {limit} bytes (limits.body_bytes)"),
    )
}
