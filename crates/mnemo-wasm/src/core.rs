//! [`Core`]: the engine as the npm package drives it, with JSON in and out
//! and no JavaScript types, so the very same code runs natively (the
//! tests and the benchmark compare the two on the same data).
//!
//! Every operation goes through [`mnemo_server::ops`], the code the HTTP
//! routes and the Python binding run: the same checks, the same JSON
//! shapes and the same errors (code, status, a message naming the field).

use std::collections::HashMap;
use std::sync::Arc;

use mnemo::{Mnemo, Namespace, Options, StorageProvider};
use mnemo_embed::{CallerVectors, Embedder, HashEmbedder};
use mnemo_server::dto::{ProofOut, RecallIn, RememberIn, WatchParams};
use mnemo_server::{ApiError, Limits, ops};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

/// Watches open at once per engine; more are refused (`unavailable`).
pub const MAX_WATCHES: usize = 64;

/// Events one [`Core::watch_poll`] returns at most; the rest stay queued in
/// the engine's bounded buffer (which reports `lagged` when it overflows).
pub const MAX_EVENTS_PER_POLL: usize = 256;

/// A refused or failed call: the API's stable `code`, the HTTP `status` a
/// server would answer and a message naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Machine-readable: `invalid_request`, `not_found`, `conflict`,
    /// `closed`, `storage`, `unavailable`, `internal`, ...
    pub code: String,
    /// For people; names the field when one is at fault.
    pub message: String,
    /// The HTTP status the server answers for the same failure.
    pub status: u16,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>, status: u16) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            status,
        }
    }

    /// `invalid_request` (400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_request", message, 400)
    }

    /// `closed` (503): the engine or a handle was closed.
    pub fn closed(what: &str) -> Self {
        Self::new("closed", format!("{what} is closed"), 503)
    }

    /// The failure as the JSON object `{code, message, status}`.
    pub fn to_json(&self) -> String {
        json!({"code": self.code, "message": self.message, "status": self.status}).to_string()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        if e.is_closed() {
            return Self::new("closed", e.message, 503);
        }
        Self::new(e.code, e.message, e.status.as_u16())
    }
}

impl From<mnemo::Error> for Failure {
    fn from(e: mnemo::Error) -> Self {
        use mnemo::Error as E;
        match e {
            E::Closed(what) => Self::closed(&what),
            E::Log {
                source: mnemo_log::Error::Locked { .. },
                ..
            } => Self::new("locked", e.to_string(), 423),
            E::Log { .. } | E::Io { .. } | E::Snapshot { .. } => {
                Self::new("storage", e.to_string(), 500)
            }
            E::Embed {
                namespace,
                source: mnemo_embed::Error::Mismatch { expected, found },
            } => Self::new(
                "conflict",
                format!(
                    "embedder: namespace {namespace} was built with {} (dimension {}), not {} \
                     (dimension {}); open it with the embedder it was built with",
                    expected.id, expected.dimension, found.id, found.dimension
                ),
                409,
            ),
            other => ApiError::from(other).into(),
        }
    }
}

/// The result of a call: JSON text, or a [`Failure`].
pub type Outcome<T = String> = Result<T, Failure>;

/// One open watch.
struct WatchSlot {
    watch: mnemo::Watch,
    /// The `current` event not yet taken.
    first: Option<Json>,
}

/// The engine behind one `Mnemo.open`: its namespaces, its watches.
pub struct Core {
    mnemo: Option<Mnemo>,
    location: String,
    limits: Limits,
    watches: HashMap<u32, WatchSlot>,
    next_watch: u32,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("location", &self.location)
            .field("closed", &self.mnemo.is_none())
            .field("watches", &self.watches.len())
            .finish_non_exhaustive()
    }
}

/// The engine's options in the package: the hash embedder by default,
/// every write durable before its call returns.
fn options() -> Options {
    Options::default().embedder(Arc::new(HashEmbedder::new()))
}

impl Core {
    /// An engine in memory (gone when closed).
    pub fn in_memory() -> Core {
        Self::with(Mnemo::in_memory_with(options()), "memory")
    }

    /// An engine on `storage` (the host's OPFS, IndexedDB or file volume).
    pub fn on(storage: Arc<dyn StorageProvider>) -> Core {
        let location = storage.location();
        Self::with(Mnemo::open_on(storage, options()), &location)
    }

    /// An engine on the data directory `dir` of the local disk (natively:
    /// what the tests open a database the package wrote with).
    pub fn at(dir: &std::path::Path) -> Outcome<Core> {
        let mnemo = Mnemo::open_with(dir, options())?;
        Ok(Self::with(mnemo, &dir.display().to_string()))
    }

    fn with(mnemo: Mnemo, location: &str) -> Core {
        Core {
            mnemo: Some(mnemo),
            location: location.to_owned(),
            limits: Limits::default(),
            watches: HashMap::new(),
            next_watch: 1,
        }
    }

    /// Where the engine keeps its data (`memory` when in memory).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether [`Core::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.mnemo.is_none()
    }

    fn mnemo(&self) -> Outcome<&Mnemo> {
        self.mnemo
            .as_ref()
            .ok_or_else(|| Failure::closed(&format!("the database {}", self.location)))
    }

    /// Namespace `name`, open already (by [`Core::open_namespace`]) or
    /// opened now with the hash embedder.
    fn namespace(&self, name: &str) -> Outcome<Namespace> {
        let ns = self.mnemo()?.namespace(name)?;
        if ns.is_closed() {
            return Err(Failure::closed(&format!("namespace {name}")));
        }
        Ok(ns)
    }

    /// Opens (or creates) namespace `name` with `embedder`: `hash` (built
    /// in) or `vectors` (every vector from the caller, of `dimension`
    /// values). Answers `{"name", "embedder", "dimension"}`. A namespace
    /// refuses an embedder other than the one it was built with
    /// (`conflict`).
    pub fn open_namespace(&self, name: &str, embedder: &str, dimension: Option<usize>) -> Outcome {
        let embedder: Arc<dyn Embedder> = match (embedder, dimension) {
            ("hash", None) => Arc::new(HashEmbedder::new()),
            ("hash", Some(_)) => {
                return Err(Failure::invalid(
                    "dimension: the hash embedder has a fixed dimension; give a dimension only \
                     with embedder \"vectors\"",
                ));
            }
            ("vectors", Some(d)) => Arc::new(
                CallerVectors::new(d).map_err(|e| Failure::invalid(format!("dimension: {e}")))?,
            ),
            ("vectors", None) => {
                return Err(Failure::invalid(
                    "dimension: embedder \"vectors\" needs the vectors' dimension",
                ));
            }
            (other, _) => {
                return Err(Failure::invalid(format!(
                    "embedder: {other:?} is not one of \"hash\", \"vectors\""
                )));
            }
        };
        let ns = self.mnemo()?.namespace_with_embedder(name, embedder)?;
        let info = ns.embedder_info();
        Ok(json!({"name": name, "embedder": info.id, "dimension": info.dimension}).to_string())
    }

    /// Runs operation `op` (an OpenAPI `operationId` of the server's API)
    /// on namespace `namespace`: `id` the path's id, `params` the query
    /// parameters and `body` the body as JSON text (empty for none).
    /// `vectors` holds `dimension`-long rows: one per memory of a
    /// `remember` body, or the query vector of a `recall`. Answers the
    /// operation's JSON text.
    pub fn call(
        &self,
        namespace: &str,
        op: &str,
        id: Option<u64>,
        params: &str,
        body: &str,
        vectors: Option<(&[f32], usize)>,
    ) -> Outcome {
        let out = match op {
            "remember" => {
                let mut input: RememberIn = parse("body", body)?;
                if let Some((flat, dimension)) = vectors {
                    let count = input.memories.len();
                    for (memory, row) in
                        input.memories.iter_mut().zip(rows(flat, dimension, count)?)
                    {
                        memory.vector = Some(row.to_vec());
                    }
                }
                let ns = self.namespace(namespace)?;
                to_text(&ops::remember(&ns, &input, &self.limits)?)
            }
            "recall" => {
                let mut input: RecallIn = parse("body", body)?;
                if let Some((flat, dimension)) = vectors {
                    input.vector = rows(flat, dimension, 1)?.next().map(<[f32]>::to_vec);
                }
                ops::check_query_bytes("query", &input.query, self.limits.max_query_bytes)?;
                let ns = self.namespace(namespace)?;
                to_text(&ops::recall(&ns, &input, None)?)
            }
            _ => {
                if vectors.is_some() {
                    return Err(Failure::invalid(format!(
                        "vectors: operation {op} takes no vectors"
                    )));
                }
                let params: Json = if params.is_empty() {
                    json!({})
                } else {
                    parse_json("params", params)?
                };
                let body: Json = if body.is_empty() {
                    Json::Null
                } else {
                    parse_json("body", body)?
                };
                let ns = self.namespace(namespace)?;
                to_text(&ops::call(&ns, op, id, params, body, &self.limits)?)
            }
        };
        Ok(out)
    }

    /// Starts watching the memories of `namespace` that `params` (the
    /// `watch` operation's filters and `limit`, JSON text) select. Answers
    /// the watch's id; its first event is `current`.
    pub fn watch_start(&mut self, namespace: &str, params: &str) -> Outcome<u32> {
        if self.watches.len() >= MAX_WATCHES {
            return Err(Failure::new(
                "unavailable",
                format!("watch: at most {MAX_WATCHES} watches may be open at once; close one"),
                503,
            ));
        }
        let params: WatchParams = if params.is_empty() {
            WatchParams::default()
        } else {
            parse("params", params)?
        };
        let ns = self.namespace(namespace)?;
        let (watch, current) = ops::watch_start(&ns, &params)?;
        let id = self.next_watch;
        self.next_watch = self.next_watch.wrapping_add(1).max(1);
        self.watches.insert(
            id,
            WatchSlot {
                watch,
                first: Some(current),
            },
        );
        Ok(id)
    }

    /// The events of watch `id` ready now (at most
    /// [`MAX_EVENTS_PER_POLL`]), as a JSON array of `{"event", "data"}`;
    /// empty when none is. `closed` once the watch or its namespace is.
    pub fn watch_poll(&mut self, id: u32) -> Outcome {
        let closed = self.mnemo.is_none();
        let Some(slot) = self.watches.get_mut(&id) else {
            return Err(Failure::closed("the watch"));
        };
        let mut events = Vec::new();
        if let Some(current) = slot.first.take() {
            events.push(json!({"event": "current", "data": current}));
        }
        while events.len() < MAX_EVENTS_PER_POLL {
            let Some(event) = slot.watch.try_recv() else {
                break;
            };
            let (name, data) = ops::watch_event(&slot.watch, &event);
            events.push(json!({"event": name, "data": data}));
        }
        if events.is_empty() && (closed || slot.watch.is_closed()) {
            self.watches.remove(&id);
            return Err(Failure::closed("the watch"));
        }
        Ok(Json::Array(events).to_string())
    }

    /// Whether watch `id` has events ready.
    pub fn watch_ready(&self, id: u32) -> bool {
        self.watches
            .get(&id)
            .is_some_and(|s| s.first.is_some() || s.watch.is_ready())
    }

    /// Stops watch `id` (nothing when it is not open).
    pub fn watch_stop(&mut self, id: u32) {
        self.watches.remove(&id);
    }

    /// Names of the namespaces stored.
    pub fn namespaces(&self) -> Outcome<Vec<String>> {
        Ok(self.mnemo()?.namespaces())
    }

    /// Writes the snapshots the last writes made due (the browser has no
    /// thread to write them in the background): the host calls it when
    /// idle. Answers how many it wrote.
    pub fn maintain(&self) -> Outcome<u32> {
        let Some(mnemo) = &self.mnemo else {
            return Ok(0);
        };
        let mut written = 0;
        for name in mnemo.namespaces() {
            if let Ok(ns) = mnemo.namespace(&name)
                && ns.snapshot_if_due()?.is_some()
            {
                written += 1;
            }
        }
        Ok(written)
    }

    /// Closes the engine: every namespace writes its snapshot and syncs;
    /// watches end. Later calls fail with `closed`; closing twice does
    /// nothing.
    pub fn close(&mut self) -> Outcome<()> {
        let Some(mnemo) = self.mnemo.take() else {
            return Ok(());
        };
        let result = mnemo.close().map_err(Failure::from);
        self.watches.clear();
        result
    }
}

/// Checks a proof answer (the `proof` operation's JSON) with nothing but
/// the answer, and against `trusted_root` (hex) when given.
pub fn verify(proof: &str, trusted_root: Option<&str>) -> Outcome<bool> {
    let proof: ProofOut = parse("proof", proof)?;
    Ok(ops::verify_proof(&proof, trusted_root)?)
}

/// `count` rows of `dimension` values from `flat`.
fn rows(flat: &[f32], dimension: usize, count: usize) -> Outcome<std::slice::ChunksExact<'_, f32>> {
    if dimension == 0 {
        return Err(Failure::invalid("dimension: must be at least 1"));
    }
    if flat.len() != dimension.saturating_mul(count) {
        return Err(Failure::invalid(format!(
            "vectors: {} values are not {count} rows of dimension {dimension}",
            flat.len()
        )));
    }
    if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
        return Err(Failure::invalid(format!(
            "vectors[{}][{}]: {} is not a finite number",
            i / dimension,
            i % dimension,
            flat[i]
        )));
    }
    Ok(flat.chunks_exact(dimension))
}

/// `text` read as a `T`; a misfit names the field (`body.memories[0].content: ...`).
fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Outcome<T> {
    mnemo_server::json_text::from_json(text.as_bytes()).map_err(|e| {
        if e.path.is_empty() {
            Failure::invalid(format!("{what}: {}", e.message))
        } else {
            Failure::invalid(format!("{what}.{}: {}", e.path, e.message))
        }
    })
}

/// `text` as any JSON value: only its syntax can be wrong, and the message
/// says where (the operation then reads its fields, naming a misfit).
fn parse_json(what: &str, text: &str) -> Outcome<Json> {
    serde_json::from_str(text).map_err(|e| Failure::invalid(format!("{what}: {e}")))
}

fn to_text<T: serde::Serialize>(value: &T) -> String {
    // Serialising the API's own answer types cannot fail (no maps with
    // non-string keys, no non-finite floats reach them).
    serde_json::to_string(value).unwrap_or_else(|e| {
        json!({"error": {"code": "internal", "message": e.to_string()}}).to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_recalls_with_caller_vectors() {
        let core = Core::in_memory();
        core.open_namespace("v", "vectors", Some(2)).expect("open");
        let body = r#"{"memories":[{"content":"north"},{"content":"east"}]}"#;
        let out = core
            .call(
                "v",
                "remember",
                None,
                "",
                body,
                Some((&[0.0, 1.0, 1.0, 0.0], 2)),
            )
            .expect("remember");
        assert!(out.contains("\"ids\":[1,2]"), "{out}");
        let hits = core
            .call(
                "v",
                "recall",
                None,
                "",
                r#"{"query":"","k":1}"#,
                Some((&[0.9, 0.1], 2)),
            )
            .expect("recall");
        let hits: Json = serde_json::from_str(&hits).expect("json");
        assert_eq!(hits["hits"][0]["memory"]["id"], json!(2));
    }

    #[test]
    fn bad_input_names_the_field_and_writes_nothing() {
        let core = Core::in_memory();
        core.open_namespace("v", "vectors", Some(2)).expect("open");
        let body = r#"{"memories":[{"content":"a"}]}"#;
        let e = core
            .call("v", "remember", None, "", body, Some((&[f32::NAN, 0.0], 2)))
            .expect_err("NaN");
        assert_eq!(e.code, "invalid_request");
        assert!(e.message.starts_with("vectors[0][0]"), "{e}");
        let e = core
            .call(
                "v",
                "remember",
                None,
                "",
                r#"{"memories":[{"content":7}]}"#,
                None,
            )
            .expect_err("type");
        assert!(e.message.starts_with("body.memories[0].content"), "{e}");
        let e = core
            .call("v", "remember", None, "", body, Some((&[1.0], 2)))
            .expect_err("short");
        assert!(e.message.starts_with("vectors:"), "{e}");
        for (params, body, field) in [("{", "", "params: "), ("", "[1,", "body: ")] {
            let e = core
                .call("v", "listMemories", None, params, body, None)
                .expect_err("not JSON");
            assert_eq!(e.code, "invalid_request");
            assert!(e.message.starts_with(field), "{e}");
        }
        let stats: Json =
            serde_json::from_str(&core.call("v", "stats", None, "", "", None).expect("stats"))
                .expect("json");
        assert_eq!(stats["memories"], json!(0));
    }

    #[test]
    fn a_closed_engine_refuses_calls() {
        let mut core = Core::in_memory();
        core.open_namespace("n", "hash", None).expect("open");
        core.close().expect("close");
        let e = core
            .call("n", "stats", None, "", "", None)
            .expect_err("closed");
        assert_eq!(e.code, "closed");
        core.close().expect("twice");
    }

    #[test]
    fn a_watch_sees_current_then_changes() {
        let mut core = Core::in_memory();
        core.open_namespace("n", "hash", None).expect("open");
        let id = core.watch_start("n", "").expect("watch");
        let first: Json = serde_json::from_str(&core.watch_poll(id).expect("poll")).expect("json");
        assert_eq!(first[0]["event"], json!("current"));
        core.call(
            "n",
            "remember",
            None,
            "",
            r#"{"memories":[{"content":"hi"}]}"#,
            None,
        )
        .expect("remember");
        assert!(core.watch_ready(id));
        let next: Json = serde_json::from_str(&core.watch_poll(id).expect("poll")).expect("json");
        assert_eq!(next[0]["event"], json!("added"));
        core.watch_stop(id);
        assert_eq!(core.watch_poll(id).expect_err("stopped").code, "closed");
    }
}
