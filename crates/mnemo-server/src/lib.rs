//! mnemo over the network: the HTTP API under `/v1`, the MCP server
//! (`/mcp` and standard input/output), bearer-token auth, Prometheus
//! metrics, graceful shutdown and the memory explorer page.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mnemo_server::{Config, Server, auth};
//! let mut config = Config::default();
//! let token = auth::generate_token();
//! config.tokens.push(mnemo_server::config::TokenEntry::new(
//!     "agent", &token, vec!["*".into()], vec![auth::Right::Write],
//! ));
//! let server = Server::bind(config, mnemo::Mnemo::open("./mnemo-data")?).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(mnemo_server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Safe defaults
//! - Listens on `127.0.0.1:7373`; every `/v1` route but the OpenAPI
//!   document needs a token (401 without, 403 outside its namespaces or
//!   rights); tokens are stored as SHA-256 hashes.
//! - Bodies are limited (`limits.body_bytes`, 413), each token is rate
//!   limited (429 with `Retry-After`), requests time out (408), a client
//!   has `limits.header_timeout_ms` to send a request head (then the
//!   connection is closed), connections and watch streams are bounded.
//! - Every error is `{"error": {"code", "message"}}` with its status.
//! - SIGTERM or SIGINT: stop accepting, finish requests in flight, close
//!   watch streams, sync every log and write snapshots. Writes are
//!   acknowledged only once durable under the engine's sync policy
//!   (`Always` by default), so even SIGKILL loses no acknowledged write.
//!   With `[checkpoints]`, a signed checkpoint of every open namespace
//!   whose log grew is kept in its directory before the engine closes.
//!
//! ## Modules
//! `config` (the TOML file), `auth` (tokens, principals, rights), `error`
//! (the error body), `dto` (JSON shapes with schemas), `api` (the route
//! table that builds the router and the OpenAPI document together),
//! `ops` (each operation on a namespace as a plain function, callable
//! without HTTP), `routes/*` (one module per area: auth, extraction and
//! scheduling around a call to `ops`), `metrics`, `server` (accept loop,
//! TLS, shutdown), `mcp`, `explorer` (the embedded page), `kept` (signed
//! checkpoints kept in each namespace's directory).
//!
//! ## Features
//! `server` (default) is everything above. Without it the crate is the
//! API's operations alone: `ops`, `dto`, `dto_facts`, `error` and
//! `limits`, with no async runtime, network or TLS, so the Python and
//! browser (`wasm32-unknown-unknown`) bindings run the very code the
//! routes run.

#[cfg(feature = "server")]
mod api;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
pub mod dto;
pub mod dto_facts;
pub mod error;
#[cfg(feature = "server")]
pub mod events_binary;
#[cfg(feature = "server")]
mod explorer;
pub mod json_text;
#[cfg(feature = "server")]
mod kept;
pub mod limits;
#[cfg(feature = "server")]
pub mod mcp;
#[cfg(feature = "server")]
pub mod metrics;
pub mod ops;
#[cfg(feature = "server")]
mod routes;
/// The JSON forms of raw events (ingest lines, events read back, counters).
#[cfg(feature = "server")]
pub mod events_json {
    pub use crate::routes::events::{
        EventIn, EventOut, EventStatsOut, EventsIn, IngestEvent, IngestOut, ProducerIn,
        ShardStatsOut, TailOut, TailParams, ingest_lines, parse_lines, stats_of,
    };
}
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod state;

#[cfg(feature = "server")]
pub use config::Config;
pub use error::ApiError;
pub use limits::Limits;
#[cfg(feature = "server")]
pub use server::{Server, ServerError, shutdown_signal};
#[cfg(feature = "server")]
pub use state::{AppState, Phase};

#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
pub use service::router;
