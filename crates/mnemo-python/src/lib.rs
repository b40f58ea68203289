//! `mnemo._native`: the Rust engine inside the Python package `mnemo`.
//!
//! The Python surface (`mnemo.Namespace` and friends, pure Python) builds
//! every request in the shape of the server's JSON API and hands it to a
//! transport; this module is the in-process transport. It runs each
//! operation through `mnemo_server::ops`, the very code the HTTP routes
//! run, so an embedded call and the same call over HTTP answer the same
//! JSON-shaped values and fail with the same error codes and messages.
//!
//! - [`Engine`](engine::Engine): a data directory (or memory) of
//!   namespaces; `call(op, ...)` runs one API operation.
//! - [`Watch`](watch::Watch): a watched query's changes, blocking with a
//!   timeout.
//! - [`Embedder`](embedder::Embedder): the engine's text embedders for
//!   Python code that wants the vectors themselves.
//! - `verify_proof`: checks a proof answer against its root, offline.
//! - `NativeError(code, message, status)`: every failure; the Python layer
//!   maps the code onto `mnemo.errors`.
//!
//! Every call into the engine releases the GIL; every object is safe to
//! share between Python threads.

mod convert;
mod embedder;
mod engine;
mod error;
mod watch;

use pyo3::prelude::*;

/// Checks a proof answer (the `proof` operation's JSON) by itself:
/// recomputes the leaf from its frame, walks the path and compares with
/// its root, and with `root` (a trusted root, hex) when given.
#[pyfunction]
#[pyo3(signature = (proof, root=None))]
fn verify_proof(proof: &Bound<'_, PyAny>, root: Option<&str>) -> PyResult<bool> {
    let proof: mnemo_server::dto::ProofOut = convert::from_py(proof, "proof")?;
    mnemo_server::ops::verify_proof(&proof, root).map_err(error::api)
}

/// The module `mnemo._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<error::NativeError>())?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<watch::Watch>()?;
    m.add_class::<embedder::Embedder>()?;
    m.add_function(wrap_pyfunction!(verify_proof, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
