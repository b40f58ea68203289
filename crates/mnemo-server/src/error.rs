//! The API's error: a status code, a stable machine-readable code and a
//! sentence for people, sent as `{"error": {"code": ..., "message": ...}}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

/// An error answer. Every handler returns one instead of panicking; none
/// is sent after a write took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code clients can match (`invalid_request`, `not_found`, ...).
    pub code: &'static str,
    /// What was wrong, in plain words.
    pub message: String,
}

/// The JSON body of an error answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// A stable code: `invalid_request`, `invalid_json`, `unauthorized`,
    /// `forbidden`, `not_found`, `method_not_allowed`, `timeout`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `rate_limited`, `internal` or `unavailable`.
    pub code: String,
    /// What was wrong, in plain words.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_request`: an argument is missing, of the wrong type or
    /// out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthorized`: no token, or one the server does not know.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: the token may not do this here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`: the request contradicts what is stored.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }

    /// 503 `unavailable`: the server is shutting down or over its limits.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 `internal`: the server failed (the log could not be written, ...).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Whether this is the error of a call to a closed namespace or engine
    /// ([`mnemo::Error::Closed`]). Over HTTP it is a 500 `internal` like
    /// the other engine failures, with the message `namespace <name> is
    /// closed`; this tells it apart for in-process callers (see
    /// [`crate::ops`]), for which it means "reopen", not "report a bug".
    pub fn is_closed(&self) -> bool {
        self.status == StatusCode::INTERNAL_SERVER_ERROR
            && self.code == "internal"
            && self
                .message
                .strip_prefix("namespace ")
                .and_then(|rest| rest.strip_suffix(" is closed"))
                // A valid name has no space or colon: no other engine
                // error ("namespace x: log: ...") has this form.
                .is_some_and(|name| mnemo::validate_namespace(name).is_ok())
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        (self.status, Json(self.body())).into_response()
    }
}

impl From<mnemo::Error> for ApiError {
    fn from(e: mnemo::Error) -> Self {
        use mnemo::Error as E;
        match e {
            E::UnknownId { namespace, id } => {
                Self::not_found(format!("no memory with id {id} in namespace {namespace}"))
            }
            E::Invalid {
                namespace: _,
                field,
                reason,
            } => Self::bad_request(format!("invalid {field}: {reason}")),
            E::InvalidNamespace { .. } => Self::bad_request(e.to_string()),
            E::Embed {
                namespace,
                source: mnemo_embed::Error::Mismatch { expected, found },
            } => Self::conflict(format!(
                "namespace {namespace} was created with the embedder {} (dimension {}), but \
                 this server uses {} (dimension {})",
                expected.id, expected.dimension, found.id, found.dimension
            )),
            // Kept a 500 `internal` over HTTP (the server closes
            // namespaces only once its requests are done);
            // [`ApiError::is_closed`] recognises it.
            E::Closed(_) => Self::internal(e.to_string()),
            #[cfg(not(target_arch = "wasm32"))]
            E::Ingest {
                namespace: _,
                accepted,
                source,
            } => ingest_error(accepted, source),
            E::Embed {
                namespace: _,
                source: source @ mnemo_embed::Error::VectorRequired { .. },
            } => Self::bad_request(source.to_string()),
            other => Self::internal(other.to_string()),
        }
    }
}

/// The status a refusal of the raw-event stream answers.
#[cfg(not(target_arch = "wasm32"))]
fn ingest_error(accepted: usize, source: mnemo::ingest::bus::Error) -> ApiError {
    use mnemo::ingest::bus::Error as B;
    let before = if accepted > 0 {
        format!(" ({accepted} events of the batch before it were accepted and are durable)")
    } else {
        String::new()
    };
    let message = format!("{source}{before}");
    match source {
        B::Full { .. } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", message),
        B::Timeout { .. } => ApiError::unavailable(message),
        B::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
        }
        B::UnknownType { .. } | B::UnknownTypeId { .. } | B::InvalidName { .. } | B::Config(_) => {
            ApiError::bad_request(message)
        }
        _ => ApiError::internal(message),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with content-type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!(
                    "the body is not valid JSON: {}",
                    inner_message(&e.body_text())
                ),
            ),
            JsonRejection::JsonDataError(e) => Self::bad_request(format!(
                "the body does not fit: {}",
                inner_message(&e.body_text())
            )),
            JsonRejection::BytesRejection(e) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Self::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "the body is larger than the server's limit (limits.body_bytes)",
                    )
                } else {
                    Self::bad_request(format!("cannot read the body: {}", e.body_text()))
                }
            }
            other => Self::bad_request(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(format!("bad path: {}", inner_message(&r.body_text())))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!(
            "bad query string: {}",
            inner_message(&r.body_text())
        ))
    }
}

/// axum prefixes serde's message with its own ("Failed to deserialize the
/// JSON body into the target type: "); keep serde's part, which names the
/// field.
fn inner_message(text: &str) -> String {
    text.split_once(": ")
        .map_or(text, |(_, rest)| rest)
        .to_owned()
}
