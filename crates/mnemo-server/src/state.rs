//! What every request shares: the engine, its open namespaces, the tokens,
//! the rate limiter, the metrics and the server's phase.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use mnemo::{Mnemo, Namespace};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Semaphore;

use crate::auth::TokenTable;
use crate::config::Config;
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
    phase: AtomicU8,
    openapi: std::sync::OnceLock<String>,
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
        Ok(Self(Arc::new(Inner {
            mnemo,
            config,
            tokens,
            limiter,
            metrics: Metrics::default(),
            open: RwLock::new(HashMap::new()),
            watchers,
            phase: AtomicU8::new(Phase::Starting as u8),
            openapi: std::sync::OnceLock::new(),
        })))
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
        match self.0.phase.load(Ordering::Acquire) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Stopping,
        }
    }

    /// Moves to `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.0.phase.store(phase as u8, Ordering::Release);
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
