//! `NativeError`: how every failure leaves the native module.

use mnemo_server::ApiError;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    NativeError,
    PyException,
    "A failure of the engine: args are (code, message, status), the code and HTTP status \
     the server would answer (`invalid_request`, `not_found`, `conflict`, `closed`, \
     `storage`, ...). `mnemo.errors` turns it into its own classes."
);

/// A `NativeError` with this code, message and status.
pub fn native(code: &str, message: impl Into<String>, status: u16) -> PyErr {
    NativeError::new_err((code.to_owned(), message.into(), status))
}

/// The server's error for the same failure; a closed namespace, which the
/// server answers as a generic 500, is `closed` here.
pub fn api(e: ApiError) -> PyErr {
    if e.is_closed() {
        return native("closed", e.message, 503);
    }
    native(e.code, e.message, e.status.as_u16())
}

/// 400 `invalid_request`.
pub fn invalid(message: impl Into<String>) -> PyErr {
    native("invalid_request", message, 400)
}

/// The engine or namespace was closed.
pub fn closed(what: &str) -> PyErr {
    native("closed", format!("{what} is closed"), 503)
}

/// An engine error, kept apart where the server folds it into a generic
/// code: closed namespaces (`closed`) and storage failures (`storage`).
pub fn engine(e: mnemo::Error) -> PyErr {
    use mnemo::Error as E;
    match e {
        E::Closed(what) => closed(&what),
        E::Log { .. } | E::Io { .. } | E::Snapshot { .. } => native("storage", e.to_string(), 500),
        E::Embed {
            namespace,
            source: mnemo_embed::Error::Mismatch { expected, found },
        } => native(
            "conflict",
            format!(
                "embedder: namespace {namespace} was built with {} (dimension {}), not {} \
                 (dimension {}); open it with the embedder it was built with",
                expected.id, expected.dimension, found.id, found.dimension
            ),
            409,
        ),
        other => api(ApiError::from(other)),
    }
}
