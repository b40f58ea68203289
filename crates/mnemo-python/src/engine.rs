//! `Engine`: a data directory (or memory) of namespaces, running the
//! API's operations in process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mnemo::{Mnemo, Namespace, Options};
use mnemo_log::SyncPolicy;
use mnemo_server::dto::{RecallIn, RememberIn, WatchParams};
use mnemo_server::ops;
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{from_py, to_py, vectors};
use crate::embedder;
use crate::error::{api, closed, engine, invalid};
use crate::watch::Watch;

/// A mnemo engine: the namespaces of one data directory (or of memory).
///
/// `call(op, namespace, ...)` runs one operation of the server's API (its
/// OpenAPI operationId) with the same parameters and body, and answers
/// the same JSON as plain Python values.
#[pyclass(frozen, module = "mnemo._native")]
pub struct Engine {
    /// `None` once closed.
    mnemo: RwLock<Option<Arc<Mnemo>>>,
    /// Where it is, for messages and `repr`.
    location: String,
    /// The API's limits (the server's defaults).
    limits: ops::Limits,
}

/// The log's sync policy named `sync`: `always`, `never`, `every:N`
/// (records) or `interval:MS` (milliseconds).
fn sync_policy(sync: &str) -> PyResult<SyncPolicy> {
    let number = |text: &str| {
        text.parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid(format!("sync: {sync:?} needs a positive whole number")))
    };
    match sync.split_once(':') {
        None if sync == "always" => Ok(SyncPolicy::Always),
        None if sync == "never" => Ok(SyncPolicy::Never),
        Some(("every", n)) => Ok(SyncPolicy::EveryN(number(n)?)),
        Some(("interval", ms)) => Ok(SyncPolicy::Interval(Duration::from_millis(number(ms)?))),
        _ => Err(invalid(format!(
            "sync: {sync:?} is not \"always\", \"never\", \"every:N\" or \"interval:MS\""
        ))),
    }
}

impl Engine {
    /// The engine, unless closed.
    fn mnemo(&self) -> PyResult<Arc<Mnemo>> {
        self.mnemo
            .read()
            .clone()
            .ok_or_else(|| closed(&format!("the engine at {}", self.location)))
    }

    /// Namespace `name`, opened with the engine's embedder on first use
    /// (a replay of its log: without the GIL).
    fn namespace(&self, py: Python<'_>, name: &str) -> PyResult<Namespace> {
        let mnemo = self.mnemo()?;
        let ns = py.detach(|| mnemo.namespace(name)).map_err(engine)?;
        if ns.is_closed() {
            return Err(closed(&format!("namespace {name}")));
        }
        Ok(ns)
    }
}

#[pymethods]
impl Engine {
    /// Opens the engine in `path` (created if needed), or in memory when
    /// `path` is None. `embedder` (`hash`, `minilm`, `minilm-q8`) is the
    /// default of namespaces created without one (stored namespaces opened
    /// without one use the built-in embedder they were built with); `sync` when writes reach the disk
    /// (`always`: every call returns once durable); `dedup` whether
    /// identical content is stored once; `snapshot_every` events between
    /// background snapshots.
    #[new]
    #[pyo3(signature = (path=None, *, embedder="hash", model_dir=None, sync="always", dedup=true, snapshot_every=None))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        embedder: &str,
        model_dir: Option<PathBuf>,
        sync: &str,
        dedup: bool,
        snapshot_every: Option<u64>,
    ) -> PyResult<Self> {
        if embedder == "vectors" {
            return Err(invalid(
                "embedder: \"vectors\" needs a dimension: give it per namespace, \
                 namespace(name, embedder=\"vectors\", dimension=d)",
            ));
        }
        let embedder = py.detach(|| embedder::load(embedder, model_dir.as_deref(), None))?;
        let mut options = Options::default()
            .embedder(embedder)
            .recorded_embedders(Arc::new(move |info| {
                embedder::recorded(info, model_dir.as_deref())
            }))
            .dedup(dedup);
        options.sync = sync_policy(sync)?;
        if let Some(n) = snapshot_every {
            options.snapshot_every = n;
        }
        let (mnemo, location) = match path {
            Some(path) => {
                let location = path.display().to_string();
                let mnemo = py
                    .detach(|| Mnemo::open_with(&path, options))
                    .map_err(engine)?;
                (mnemo, location)
            }
            None => (Mnemo::in_memory_with(options), "memory".to_owned()),
        };
        Ok(Self {
            mnemo: RwLock::new(Some(Arc::new(mnemo))),
            location,
            limits: ops::Limits::default(),
        })
    }

    /// Opens (or creates) namespace `name` with the embedder `embedder`
    /// (`hash`, `minilm` or `minilm-q8` with `model_dir`, or `vectors` of `dimension`
    /// values from the caller; None: the engine's). Answers the embedder's
    /// id and dimension. A namespace refuses an embedder other than the
    /// one it was built with (`conflict`).
    #[pyo3(signature = (name, embedder=None, *, dimension=None, model_dir=None))]
    fn open(
        &self,
        py: Python<'_>,
        name: &str,
        embedder: Option<&str>,
        dimension: Option<usize>,
        model_dir: Option<PathBuf>,
    ) -> PyResult<(String, usize)> {
        let mnemo = self.mnemo()?;
        let ns = match embedder {
            None => {
                if dimension.is_some() {
                    return Err(invalid("dimension: give it only with embedder=\"vectors\""));
                }
                py.detach(|| mnemo.namespace(name)).map_err(engine)?
            }
            Some(kind) => py.detach(|| {
                let embedder = embedder::load(kind, model_dir.as_deref(), dimension)?;
                mnemo
                    .namespace_with_embedder(name, embedder)
                    .map_err(engine)
            })?,
        };
        let info = ns.embedder_info();
        Ok((info.id.clone(), info.dimension))
    }

    /// Runs API operation `op` on `namespace`: `id` the path's `{id}`,
    /// `params` its query parameters, `body` its JSON body (plain Python
    /// values). `vectors`, with `dimension`, holds float32 rows: one per
    /// memory of a `remember` body, or the query vector of a `recall`.
    /// Answers the operation's JSON as plain Python values; raises
    /// `NativeError` with the server's code and message.
    #[pyo3(signature = (op, namespace, id=None, params=None, body=None, vectors=None, dimension=None))]
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        py: Python<'_>,
        op: &str,
        namespace: &str,
        id: Option<u64>,
        params: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        vectors: Option<&Bound<'_, PyBytes>>,
        dimension: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let rows = |count: usize| -> PyResult<Option<Vec<Vec<f32>>>> {
            match (vectors, dimension) {
                (None, _) => Ok(None),
                (Some(bytes), Some(d)) => vectors_of(bytes, d, count).map(Some),
                (Some(_), None) => Err(invalid("vector: vectors given without their dimension")),
            }
        };
        match op {
            "remember" => {
                let mut input: RememberIn = from_py(require(body, op)?, "body")?;
                if let Some(rows) = rows(input.memories.len())? {
                    for (memory, row) in input.memories.iter_mut().zip(rows) {
                        memory.vector = Some(row);
                    }
                }
                let ns = self.namespace(py, namespace)?;
                let limits = &self.limits;
                let out = py
                    .detach(|| ops::remember(&ns, &input, limits))
                    .map_err(api)?;
                to_py(py, &out)
            }
            "recall" => {
                let mut input: RecallIn = from_py(require(body, op)?, "body")?;
                if let Some(mut rows) = rows(1)? {
                    input.vector = rows.pop();
                }
                let ns = self.namespace(py, namespace)?;
                let limits = &self.limits;
                let out = py
                    .detach(|| {
                        ops::check_query_bytes("query", &input.query, limits.max_query_bytes)?;
                        ops::recall(&ns, &input, None)
                    })
                    .map_err(api)?;
                to_py(py, &out)
            }
            _ => {
                if vectors.is_some() {
                    return Err(invalid(format!("vector: operation {op} takes no vectors")));
                }
                let params: serde_json::Value = match params {
                    Some(p) => from_py(p, "params")?,
                    None => serde_json::Value::Object(Default::default()),
                };
                let body: serde_json::Value = match body {
                    Some(b) => from_py(b, "body")?,
                    None => serde_json::Value::Null,
                };
                let ns = self.namespace(py, namespace)?;
                let limits = &self.limits;
                let out = py
                    .detach(|| ops::call(&ns, op, id, params, body, limits))
                    .map_err(api)?;
                to_py(py, &out)
            }
        }
    }

    /// Starts watching `namespace` (the `watch` operation's parameters:
    /// filters and `limit`). The first event is `current`.
    #[pyo3(signature = (namespace, params=None))]
    fn watch(
        &self,
        py: Python<'_>,
        namespace: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Watch> {
        let params: WatchParams = match params {
            Some(p) => from_py(p, "params")?,
            None => WatchParams::default(),
        };
        let ns = self.namespace(py, namespace)?;
        py.detach(|| Watch::start(ns, params))
    }

    /// Names of the namespaces (on disk, or open in memory).
    fn namespaces(&self) -> PyResult<Vec<String>> {
        Ok(self.mnemo()?.namespaces())
    }

    /// Closes every namespace (snapshots written, logs synced). Later
    /// calls raise `closed`; closing twice does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(mnemo) = self.mnemo.write().take() else {
            return Ok(());
        };
        py.detach(|| mnemo.close()).map_err(engine)
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.mnemo.read().is_none()
    }

    /// Where the engine keeps its data (`memory` when in memory).
    #[getter]
    fn location(&self) -> String {
        self.location.clone()
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", closed" } else { "" };
        format!("Engine({:?}{state})", self.location)
    }
}

/// The body an operation needs.
fn require<'a, 'py>(
    body: Option<&'a Bound<'py, PyAny>>,
    op: &str,
) -> PyResult<&'a Bound<'py, PyAny>> {
    body.ok_or_else(|| invalid(format!("body: operation {op} needs a body")))
}

/// `count` rows of `dimension` float32 values from `bytes`.
fn vectors_of(
    bytes: &Bound<'_, PyBytes>,
    dimension: usize,
    count: usize,
) -> PyResult<Vec<Vec<f32>>> {
    vectors(bytes.as_bytes(), dimension, count)
}
