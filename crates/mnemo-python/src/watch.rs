//! `Watch`: a watched query's changes, for Python's blocking and async
//! iterators (which wait in short slices so Ctrl-C and cancellation are
//! honoured).

use std::time::Duration;

use mnemo::Namespace;
use mnemo_server::dto::WatchParams;
use mnemo_server::ops;
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::convert::to_py;
use crate::error::{api, closed, invalid};

/// The changes to one watched query: `current` (the result) first, then
/// `added`, `changed`, `removed`, and `lagged` (followed by a fresh
/// `current`) when the consumer fell more than the engine's buffer behind.
/// Each is `{"event": name, "data": {...}}`, the server's SSE events.
#[pyclass(frozen, module = "mnemo._native")]
pub struct Watch {
    /// The engine's watcher: taken out while a thread waits on it, `None`
    /// for good once closed.
    slot: Mutex<Slot>,
    namespace: Namespace,
}

#[derive(Default)]
struct Slot {
    watch: Option<mnemo::Watch>,
    /// The data of the first `current` event, until it is taken.
    current: Option<serde_json::Value>,
    closed: bool,
}

impl Watch {
    /// Starts watching `params`'s query on `namespace` (runs the query:
    /// call without the GIL).
    pub fn start(namespace: Namespace, params: WatchParams) -> PyResult<Watch> {
        let (watch, current) = ops::watch_start(&namespace, &params).map_err(api)?;
        Ok(Watch {
            slot: Mutex::new(Slot {
                watch: Some(watch),
                current: Some(current),
                closed: false,
            }),
            namespace,
        })
    }
}

#[pymethods]
impl Watch {
    /// The next change, waiting at most `timeout` seconds (None: until
    /// one comes); None when the time passed first. Raises `closed` once
    /// the watch or its namespace is closed. One thread at a time waits.
    #[pyo3(signature = (timeout=None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        let timeout = match timeout {
            Some(t) if !(t.is_finite() && t >= 0.0) => {
                return Err(invalid(format!(
                    "timeout: {t} is not a finite number of seconds >= 0"
                )));
            }
            Some(t) => Some(Duration::from_secs_f64(t.min(86_400.0))),
            None => None,
        };
        let mut watch = {
            let mut slot = self.slot.lock();
            if slot.closed {
                return Err(closed("the watch"));
            }
            if let Some(data) = slot.current.take() {
                let event = serde_json::json!({ "event": "current", "data": data });
                return to_py(py, &event).map(Some);
            }
            slot.watch
                .take()
                .ok_or_else(|| invalid("watch: another thread is already waiting on this watch"))?
        };
        let answer = py.detach(|| ops::watch_next(&mut watch, timeout));
        {
            let mut slot = self.slot.lock();
            if !slot.closed {
                slot.watch = Some(watch);
            }
        }
        match answer {
            Some((name, data)) => {
                let event = serde_json::json!({ "event": name, "data": data });
                to_py(py, &event).map(Some)
            }
            None if self.namespace.is_closed() => {
                self.close();
                Err(closed(&format!("namespace {}", self.namespace.name())))
            }
            None => Ok(None),
        }
    }

    /// Stops watching (idempotent).
    fn close(&self) {
        let mut slot = self.slot.lock();
        slot.closed = true;
        slot.watch = None;
    }

    /// Whether the watch was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.slot.lock().closed
    }
}
