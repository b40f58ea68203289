//! [`Limits`]: bounds on what a client may send or hold, the part of the
//! server's configuration (`[limits]` in its TOML file, see
//! `mnemo_server::config` with the `server` feature) that the API's
//! operations ([`crate::ops`]) apply, so every binding shares it.

use serde::{Deserialize, Serialize};

/// Bounds on what a client may send or hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes; larger bodies get 413.
    pub body_bytes: usize,
    /// Most memories in one batch remember.
    pub batch: usize,
    /// Requests per second each token may make on average.
    pub requests_per_second: f64,
    /// Requests a token may make at once before the rate applies.
    pub burst: f64,
    /// Longest a request may take, in milliseconds (408 after; watch
    /// streams are exempt).
    pub request_timeout_ms: u64,
    /// Longest a client may take to send a request head, in milliseconds;
    /// the connection is closed after it (slow-client protection).
    pub header_timeout_ms: u64,
    /// Connections served at once; further ones wait in the kernel's queue.
    pub max_connections: usize,
    /// Watch streams open at once; more get 503.
    pub max_watchers: usize,
    /// Recalls and suggestions computing at once, each on a blocking-pool
    /// thread; the others wait for a slot until their deadline (then
    /// 503). Unset: the number of CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_recalls: Option<usize>,
    /// Longest recall query or suggest task, in bytes (413 above).
    pub max_query_bytes: usize,
}

impl Limits {
    /// `max_concurrent_recalls`, or the number of CPUs when unset.
    pub fn recall_workers(&self) -> usize {
        self.max_concurrent_recalls.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 8 << 20,
            batch: 10_000,
            requests_per_second: 2_000.0,
            burst: 4_000.0,
            request_timeout_ms: 30_000,
            header_timeout_ms: 10_000,
            max_connections: 1024,
            max_watchers: 64,
            max_concurrent_recalls: None,
            max_query_bytes: 4096,
        }
    }
}
