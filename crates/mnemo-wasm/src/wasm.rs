//! The wasm-bindgen face: [`Engine`], a [`Core`] JavaScript can hold. The
//! package's JavaScript (`mnemo.js`, `worker.js`) wraps it in the async,
//! typed API; this layer only moves JSON text, `Float32Array`s and errors
//! across. A failure is thrown as the JSON text `{code, message, status}`.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use crate::core::{self, Core, Failure};
use crate::volume::{Volume, VolumeProvider};

fn thrown(e: Failure) -> JsValue {
    JsValue::from_str(&e.to_json())
}

/// A path id from JavaScript: a whole number in `0..=2^53`.
fn id_of(id: Option<f64>) -> Result<Option<u64>, JsValue> {
    match id {
        None => Ok(None),
        Some(v)
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 =>
        {
            Ok(Some(v as u64))
        }
        Some(v) => Err(thrown(Failure::invalid(format!(
            "id: {v} is not a whole number between 0 and 2^53"
        )))),
    }
}

/// The dimension of supplied vectors: a whole number from 1.
fn dimension_of(dimension: Option<f64>) -> Result<Option<usize>, JsValue> {
    match dimension {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 1.0 && v.fract() == 0.0 && v <= 1e6 => {
            Ok(Some(v as usize))
        }
        Some(v) => Err(thrown(Failure::invalid(format!(
            "dimension: {v} is not a whole number from 1"
        )))),
    }
}

/// The engine of one open database.
#[wasm_bindgen]
pub struct Engine {
    core: Core,
}

#[wasm_bindgen]
impl Engine {
    /// An engine in memory.
    #[wasm_bindgen(js_name = inMemory)]
    pub fn in_memory() -> Engine {
        Engine {
            core: Core::in_memory(),
        }
    }

    /// An engine keeping its files on `volume`.
    #[wasm_bindgen(js_name = onVolume)]
    pub fn on_volume(volume: Volume) -> Engine {
        Engine {
            core: Core::on(Arc::new(VolumeProvider::new(volume))),
        }
    }

    /// Where the data is (`memory` in memory).
    #[wasm_bindgen(getter)]
    pub fn location(&self) -> String {
        self.core.location().to_owned()
    }

    /// Opens (or creates) a namespace with embedder `hash` or `vectors`
    /// (with `dimension`). Answers `{name, embedder, dimension}` as JSON.
    pub fn namespace(
        &self,
        name: &str,
        embedder: &str,
        dimension: Option<f64>,
    ) -> Result<String, JsValue> {
        self.core
            .open_namespace(name, embedder, dimension_of(dimension)?)
            .map_err(thrown)
    }

    /// Runs an API operation (its OpenAPI `operationId`) with its path id,
    /// query parameters and body as JSON text (empty for none), and, for
    /// `remember` and `recall`, `vectors` as one flat array of rows of
    /// `dimension` values. Answers the operation's JSON text.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &self,
        namespace: &str,
        op: &str,
        id: Option<f64>,
        params: &str,
        body: &str,
        vectors: Option<Vec<f32>>,
        dimension: Option<f64>,
    ) -> Result<String, JsValue> {
        let id = id_of(id)?;
        let dimension = dimension_of(dimension)?;
        let vectors = match (&vectors, dimension) {
            (None, _) => None,
            (Some(v), Some(d)) => Some((v.as_slice(), d)),
            (Some(_), None) => {
                return Err(thrown(Failure::invalid(
                    "dimension: vectors given without their dimension",
                )));
            }
        };
        self.core
            .call(namespace, op, id, params, body, vectors)
            .map_err(thrown)
    }

    /// Starts a watch; answers its id (poll it for events).
    #[wasm_bindgen(js_name = watchStart)]
    pub fn watch_start(&mut self, namespace: &str, params: &str) -> Result<u32, JsValue> {
        self.core.watch_start(namespace, params).map_err(thrown)
    }

    /// The watch's events ready now, as a JSON array (may be empty).
    #[wasm_bindgen(js_name = watchPoll)]
    pub fn watch_poll(&mut self, id: u32) -> Result<String, JsValue> {
        self.core.watch_poll(id).map_err(thrown)
    }

    /// Whether the watch has events ready.
    #[wasm_bindgen(js_name = watchReady)]
    pub fn watch_ready(&self, id: u32) -> bool {
        self.core.watch_ready(id)
    }

    /// Stops a watch.
    #[wasm_bindgen(js_name = watchStop)]
    pub fn watch_stop(&mut self, id: u32) {
        self.core.watch_stop(id);
    }

    /// Names of the namespaces stored.
    pub fn namespaces(&self) -> Result<Vec<String>, JsValue> {
        self.core.namespaces().map_err(thrown)
    }

    /// Writes the snapshots that are due (call when idle); answers how
    /// many.
    pub fn maintain(&self) -> Result<u32, JsValue> {
        self.core.maintain().map_err(thrown)
    }

    /// Closes the engine (snapshots written, logs synced).
    pub fn close(&mut self) -> Result<(), JsValue> {
        self.core.close().map_err(thrown)
    }

    /// Whether the engine was closed.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.core.is_closed()
    }
}

/// Checks a `proof` answer (JSON text) with nothing but the answer, and
/// against `trustedRoot` (hex) when given.
#[wasm_bindgen(js_name = verifyProof)]
pub fn verify_proof(proof: &str, trusted_root: Option<String>) -> Result<bool, JsValue> {
    core::verify(proof, trusted_root.as_deref()).map_err(thrown)
}
