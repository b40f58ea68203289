//! What every request shares: the engine, its open namespaces, the tokens,
//! the rate limiter, the metrics, the recall pool and the server's phase.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use mnemo::{Mnemo, Namespace};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Semaphore, watch};

use crate::auth::TokenTable;
use crate::config::{Config, Limits};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The server's phase, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening the stored namespaces (replaying logs).
    Starting,
    /// Serving.
    Ready,
    /// Draining requests before closing the engine.
    Stopping,
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    mnemo: Mnemo,
    config: Config,
    tokens: TokenTable,
    limiter: RateLimiter,
    metrics: Metrics,
    open: RwLock<HashMap<String, Namespace>>,
    watchers: Arc<Semaphore>,
    recalls: RecallPool,
    /// A channel rather than an atomic so watch streams can await
    /// [`Phase::Stopping`] instead of polling for it.
    phase: watch::Sender<Phase>,
    openapi: std::sync::OnceLock<String>,
    checkpoints: Option<Checkpoints>,
    kept: crate::kept::Kept,
}

/// The checkpoint signer, when to keep checkpoints, and, per namespace,
/// the last checkpoint it signed (answered again while the log has not
/// grown).
struct Checkpoints {
    keys: mnemo_trust::SigningKeys,
    every_events: u64,
    every_seconds: u64,
    last: Mutex<HashMap<String, Signed>>,
}

/// A signed checkpoint: the log's size and root, and the note.
struct Signed {
    size: u64,
    root: mnemo::Hash,
    note: Arc<str>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("mnemo", &self.0.mnemo)
            .field("tokens", &self.0.tokens.len())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `mnemo` with `config` (checked: a bad token entry is an
    /// error naming it).
    pub fn new(config: Config, mnemo: Mnemo) -> Result<Self, String> {
        config.check()?;
        let tokens = TokenTable::new(&config.tokens)?;
        let limiter = RateLimiter::new(config.limits.requests_per_second, config.limits.burst);
        let watchers = Arc::new(Semaphore::new(config.limits.max_watchers));
        let recalls = RecallPool::new(&config.limits);
        let checkpoints = config
            .checkpoints
            .as_ref()
            .map(|c| {
                let text = std::fs::read_to_string(&c.key_file)
                    .map_err(|e| format!("checkpoints.key_file: {}: {e}", c.key_file.display()))?;
                let keys = mnemo_trust::SigningKeys::from_private_text(&text).map_err(|e| {
                    format!(
                        "checkpoints.key_file: {}: not a mnemo key file: {e}",
                        c.key_file.display()
                    )
                })?;
                Ok::<_, String>(Checkpoints {
                    keys,
                    every_events: c.every_events,
                    every_seconds: c.every_seconds,
                    last: Mutex::new(HashMap::new()),
                })
            })
            .transpose()?;
        let kept = crate::kept::Kept::new(mnemo.dir().map(std::path::Path::to_path_buf));
        Ok(Self(Arc::new(Inner {
            kept,
            mnemo,
            config,
            tokens,
            limiter,
            metrics: Metrics::default(),
            open: RwLock::new(HashMap::new()),
            watchers,
            recalls,
            phase: watch::Sender::new(Phase::Starting),
            openapi: std::sync::OnceLock::new(),
            checkpoints,
        })))
    }

    /// Namespace `ns`'s log head as a signed C2SP checkpoint (origin
    /// `<key name>/<namespace>`), signed now or, while the log has not
    /// grown, the one signed last. 404 when the config names no key file.
    pub fn checkpoint(&self, ns: &Namespace) -> Result<Arc<str>, ApiError> {
        let Some(signer) = &self.0.checkpoints else {
            return Err(ApiError::not_found(
                "checkpoint: this server signs no checkpoints; name a key file in its config \
                 ([checkpoints] key_file, made by `mnemo key create`)",
            ));
        };
        let (root, size) = ns.root()?;
        Self::sign(signer, ns, size, root)
    }

    /// The note of namespace `ns`'s checkpoint of tree size `size` and root
    /// `root`: the one signed last when it is of that head, else signed now.
    fn sign(
        signer: &Checkpoints,
        ns: &Namespace,
        size: u64,
        root: mnemo::Hash,
    ) -> Result<Arc<str>, ApiError> {
        if let Some(last) = signer.last.lock().get(ns.name())
            && (last.size, last.root) == (size, root)
        {
            return Ok(last.note.clone());
        }
        let origin = mnemo_trust::namespace_origin(signer.keys.name(), ns.name());
        let checkpoint = mnemo_trust::Checkpoint::new(&origin, size, root)
            .map_err(|e| ApiError::internal(format!("checkpoint: {e}")))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let note: Arc<str> = signer
            .keys
            .sign(&checkpoint, now)
            .map_err(|e| ApiError::internal(format!("checkpoint: signing: {e}")))?
            .into();
        signer.last.lock().insert(
            ns.name().to_owned(),
            Signed {
                size,
                root,
                note: note.clone(),
            },
        );
        Ok(note)
    }

    /// Whether the server keeps signed checkpoints at intervals: the config
    /// names a key file, at least one of `every_events` and
    /// `every_seconds` is not 0, and the engine has a data directory.
    pub fn keeps_checkpoints_at_intervals(&self) -> bool {
        self.0.kept.enabled()
            && self
                .0
                .checkpoints
                .as_ref()
                .is_some_and(|c| c.every_events > 0 || c.every_seconds > 0)
    }

    /// Keeps a signed checkpoint of the current head of every open
    /// namespace whose log grew since its last kept one and is due one:
    /// `every_events` events appended since it, or `every_seconds` passed
    /// since this process kept one there (or since it first read the
    /// namespace's kept checkpoints, when it has kept none yet),
    /// or, with `closing`, any growth at all. Each is written durably to
    /// `DATA/<ns>/checkpoints/<size>.note` before the next. Signs and
    /// writes files: call it off the async workers. Answers the
    /// (namespace, size) pairs kept; a namespace that fails is logged and
    /// skipped. Does nothing without a key file or a data directory.
    pub fn keep_checkpoints(&self, closing: bool) -> Vec<(String, u64)> {
        let mut done = Vec::new();
        let Some(signer) = &self.0.checkpoints else {
            return done;
        };
        if !self.0.kept.enabled() {
            return done;
        }
        for ns in self.open_namespaces() {
            match self.keep_one(signer, &ns, closing) {
                Ok(Some(size)) => {
                    tracing::debug!(namespace = ns.name(), size, "kept a signed checkpoint");
                    done.push((ns.name().to_owned(), size));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(namespace = ns.name(), error = %e, "cannot keep a checkpoint");
                }
            }
        }
        done
    }

    /// Keeps namespace `ns`'s head when it is due (see
    /// [`AppState::keep_checkpoints`]); its size when one was kept.
    fn keep_one(
        &self,
        signer: &Checkpoints,
        ns: &Namespace,
        closing: bool,
    ) -> Result<Option<u64>, ApiError> {
        let kept = self.0.kept.namespace(ns.name())?;
        // Held while signing and writing, so two keepers of one namespace
        // (the interval and the shutdown) never race.
        let mut kept = kept.lock();
        let (root, size) = ns.root()?;
        let latest = kept.latest();
        if size <= latest {
            if size < latest && !kept.warned_shorter {
                kept.warned_shorter = true;
                tracing::warn!(
                    namespace = ns.name(),
                    size,
                    latest,
                    "the log holds fewer events than its newest kept checkpoint covers; \
                     keeping none until it grows past it"
                );
            }
            return Ok(None);
        }
        let by_count = signer.every_events > 0 && size - latest >= signer.every_events;
        let by_time = signer.every_seconds > 0
            && kept.since.elapsed() >= std::time::Duration::from_secs(signer.every_seconds);
        if !(closing || by_count || by_time) {
            return Ok(None);
        }
        let note = Self::sign(signer, ns, size, root)?;
        kept.keep(size, &note)?;
        Ok(Some(size))
    }

    /// Up to `limit` sizes of namespace `ns`'s kept checkpoints after
    /// `after`, oldest first. 404 without a data directory.
    pub(crate) fn kept_page(
        &self,
        ns: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<crate::kept::Page, ApiError> {
        self.0.kept.page(ns, after, limit)
    }

    /// The kept note of tree size `size` of namespace `ns`; 404 naming the
    /// size when none is kept.
    pub(crate) fn kept_note(&self, ns: &str, size: u64) -> Result<String, ApiError> {
        self.0.kept.note(ns, size)
    }

    /// The engine.
    pub fn mnemo(&self) -> &Mnemo {
        &self.0.mnemo
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The accepted tokens.
    pub fn tokens(&self) -> &TokenTable {
        &self.0.tokens
    }

    /// The per-token rate limiter.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Permits for open watch streams.
    pub fn watchers(&self) -> &Arc<Semaphore> {
        &self.0.watchers
    }

    /// The bounded pool recall and suggest run on.
    pub fn recall_pool(&self) -> &RecallPool {
        &self.0.recalls
    }

    /// The OpenAPI document (JSON text).
    pub fn openapi(&self) -> &str {
        self.0.openapi.get().map_or("{}", String::as_str)
    }

    /// Sets the OpenAPI document (once, when the router is built).
    pub(crate) fn set_openapi(&self, doc: String) {
        let _ = self.0.openapi.set(doc);
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.0.phase.borrow()
    }

    /// Moves to `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.0.phase.send_replace(phase);
    }

    /// Completes once the server is stopping (at once if it is already).
    pub async fn stopping(&self) {
        let mut phase = self.0.phase.subscribe();
        // An error would mean the sender is gone, but `self` holds it.
        let _ = phase.wait_for(|p| *p == Phase::Stopping).await;
    }

    /// The stored namespace `name`: 400 for an invalid name, 404 when it
    /// does not exist. Opening replays its log on first use.
    pub fn namespace(&self, name: &str) -> Result<Namespace, ApiError> {
        if let Some(ns) = self.0.open.read().get(name) {
            return Ok(ns.clone());
        }
        mnemo::validate_namespace(name).map_err(ApiError::from)?;
        let exists = match self.0.mnemo.dir() {
            Some(dir) => dir.join(name).join("log").is_dir(),
            None => self.0.mnemo.namespaces().iter().any(|n| n == name),
        };
        if !exists {
            return Err(ApiError::not_found(format!(
                "no namespace {name:?} (POST /v1/namespaces creates one)"
            )));
        }
        self.open_namespace(name)
    }

    /// The namespace `name`, created when missing.
    pub fn namespace_or_create(&self, name: &str) -> Result<Namespace, ApiError> {
        if let Some(ns) = self.0.open.read().get(name) {
            return Ok(ns.clone());
        }
        mnemo::validate_namespace(name).map_err(ApiError::from)?;
        self.open_namespace(name)
    }

    fn open_namespace(&self, name: &str) -> Result<Namespace, ApiError> {
        let ns = self.0.mnemo.namespace(name)?;
        for warning in &ns.open_report().warnings {
            tracing::warn!(namespace = name, "{warning}");
        }
        self.0.open.write().insert(name.to_owned(), ns.clone());
        Ok(ns)
    }

    /// Names of the stored namespaces.
    pub fn namespace_names(&self) -> Vec<String> {
        self.0.mnemo.namespaces()
    }

    /// The namespaces opened so far.
    pub fn open_namespaces(&self) -> Vec<Namespace> {
        let mut list: Vec<Namespace> = self.0.open.read().values().cloned().collect();
        list.sort_by(|a, b| a.name().cmp(b.name()));
        list
    }

    /// Opens every stored namespace (at start, so the first requests do
    /// not wait for a replay), then marks the server ready.
    pub fn open_all(&self) {
        for name in self.namespace_names() {
            if let Err(e) = self.namespace(&name) {
                tracing::error!(namespace = %name, error = %e, "cannot open namespace");
            }
        }
        if self.phase() == Phase::Starting {
            self.set_phase(Phase::Ready);
        }
    }
}

/// When a request's head arrived: the server stamps each request with it
/// as hyper hands it over, so the time spent reading the body counts
/// against the request's deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestStart(pub(crate) Instant);

/// The moment a request must be answered by: `limits.request_timeout_ms`
/// after its head arrived (after the handler started when the request
/// carries no [`RequestStart`], as in a router called in-process). The
/// recall pool spends no longer than this waiting for a slot, and a recall
/// gets the time left as its budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(pub(crate) Instant);

impl Deadline {
    /// The deadline of a request that arrived at `start` (now if unknown).
    pub(crate) fn after(start: Option<Instant>, pool: &RecallPool) -> Self {
        Self(start.unwrap_or_else(Instant::now) + pool.timeout)
    }

    /// The deadline of the request with these extensions.
    pub(crate) fn of(extensions: &axum::http::Extensions, pool: &RecallPool) -> Self {
        Self::after(extensions.get::<RequestStart>().map(|s| s.0), pool)
    }
}

impl FromRequestParts<AppState> for Deadline {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions, state.recall_pool()))
    }
}

/// The bounded pool for the requests that embed a text and rank over a
/// namespace (recall over HTTP and MCP, suggest): at most
/// `limits.max_concurrent_recalls` run at once, each on a thread of
/// tokio's blocking pool, so the async workers stay free for every other
/// request (`/healthz` included) however many recalls arrive. A request
/// waits for a slot only until its [`Deadline`].
#[derive(Debug)]
pub struct RecallPool {
    permits: Arc<Semaphore>,
    size: usize,
    max_query_bytes: usize,
    timeout: Duration,
}

impl RecallPool {
    /// A pool sized and limited as `limits` says.
    pub fn new(limits: &Limits) -> Self {
        let size = limits.recall_workers();
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
            max_query_bytes: limits.max_query_bytes,
            timeout: Duration::from_millis(limits.request_timeout_ms),
        }
    }

    /// How many run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// 413 naming `field` when `text` is longer than
    /// `limits.max_query_bytes`.
    pub fn check_text(&self, field: &str, text: &str) -> Result<(), ApiError> {
        crate::ops::check_query_bytes(field, text, self.max_query_bytes)
    }

    /// Runs `work` on a blocking-pool thread once a slot is free, handing
    /// it the time left before `deadline`; 503 naming `what` when no slot
    /// frees up before the deadline. The slot is held until `work`
    /// returns, even if the request is abandoned meanwhile (a timed-out
    /// client cannot make the pool run more than its size).
    pub(crate) async fn run<T, F>(
        &self,
        deadline: Deadline,
        what: &str,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Duration) -> Result<T, ApiError> + Send + 'static,
    {
        let busy = || {
            ApiError::unavailable(format!(
                "{what} could not start before the request's deadline \
                 (limits.request_timeout_ms = {} ms): all {} slots of \
                 limits.max_concurrent_recalls stayed busy; try again later",
                self.timeout.as_millis(),
                self.size
            ))
        };
        let acquire = Arc::clone(&self.permits).acquire_owned();
        let permit = match tokio::time::timeout_at(deadline.0.into(), acquire).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed; were it, no slot would come.
            Ok(Err(_)) | Err(_) => return Err(busy()),
        };
        if Instant::now() >= deadline.0 {
            return Err(busy());
        }
        let end = deadline.0;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(end.saturating_duration_since(Instant::now()))
        })
        .await
        .map_err(|e| ApiError::internal(format!("the {what} task failed: {e}")))?
    }
}

/// A token bucket per principal: `rate` requests per second on average,
/// `burst` at once. The map holds one entry per configured token, so it
/// is bounded by the config.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter allowing `rate` per second with bursts of `burst`.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of `who`, or says how long until one would be.
    pub fn admit(&self, who: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = match buckets.get_mut(who) {
            Some(b) => b,
            None => buckets.entry(who.to_owned()).or_insert(Bucket {
                tokens: self.burst,
                last: now,
            }),
        };
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_admits_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(1.0, 3.0);
        for _ in 0..3 {
            assert!(limiter.admit("a").is_ok());
        }
        let wait = limiter.admit("a").expect_err("over the burst");
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1));
        // Another token has its own bucket.
        assert!(limiter.admit("b").is_ok());
    }
}
