//! The API's operations on a namespace, without HTTP: one synchronous
//! function per operation, the very code the routes run, so an in-process
//! caller (the Python binding) gets the same JSON shapes, the same checks
//! and the same errors (status, code, message) as a client of the server.
//!
//! The routes (`routes/*.rs`) keep what is about the transport: the token
//! and its rights, reading the request, running the call on the blocking
//! pool or the bounded recall pool, the request's deadline, metrics. What
//! they do with the request is a call to a function here.
//!
//! Each function is named after its operation (`listMemories` is
//! [`list_memories`]); it takes the namespace, the path's id as a `u64`,
//! the query parameters as their `...Params` struct and the body as its
//! `...In` struct, and answers the `...Out` struct the route sends. The
//! few that need the server's settings take them as [`Limits`]
//! ([`Limits::default`] is the server's default). Writes and reads of the
//! log block the calling thread (a write waits for its sync).
//!
//! [`call`] runs any operation by its OpenAPI `operationId`, with JSON
//! values for the parameters and the body, read as the HTTP layer reads
//! them; [`remember`] and [`recall`] are the typed fast paths. A watch is
//! a stream: [`watch_start`] and [`watch_event`] make the events the SSE
//! route sends. [`verify_proof`] checks a proof answer with nothing but
//! the answer.
//!
//! Engine errors become [`ApiError`] through its `From<mnemo::Error>`;
//! [`ApiError::is_closed`] tells a closed namespace (500 `internal`, as
//! over HTTP) from other internal errors.
//!
//! ```
//! use mnemo_server::ops;
//! use serde_json::json;
//!
//! let engine = mnemo::Mnemo::in_memory(); // its namespaces close when it is dropped
//! let ns = engine.namespace("notes")?;
//! let limits = ops::Limits::default();
//! let body = json!({"memories": [{"content": "the sky is blue", "tags": ["sky"]}]});
//! let out = ops::call(&ns, "remember", None, json!(null), body, &limits)?;
//! assert_eq!(out["ids"].as_array().map(Vec::len), Some(1));
//!
//! let listed = ops::call(&ns, "listMemories", None, json!({"tag": "sky", "limit": 5}),
//!     json!(null), &limits)?;
//! assert_eq!(listed["total"], json!(1));
//!
//! let bad = ops::call(&ns, "listMemories", None, json!({"limit": "many"}), json!(null), &limits)
//!     .expect_err("limit is a number");
//! assert!(bad.message.contains("limit"), "{bad}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dispatch;
mod facts;
mod lifecycle;
mod links;
mod memories;
mod patterns;
mod proofs;
mod recall;
mod watch;

pub use crate::limits::Limits;
pub use dispatch::{OPERATIONS, call};
pub use facts::{
    assert_fact, challenge_fact, declare_predicate, fact_history, get_conflict, get_fact,
    list_conflicts, list_facts, list_predicates, quarantine_fact, resolve_conflict, retract_fact,
    support_fact,
};
pub use lifecycle::{consolidate_memories, get_tiers, rebalance_tiers};
pub use links::{link, unlink};
pub use memories::{
    expire_due, forget_memory, get_memory, list_memories, purge_memories, query_memories, remember,
    retag_memory, revise_memory, set_expiry, touch_memories,
};
pub use patterns::{
    consolidate_patterns, get_pattern, list_patterns, prune_patterns, record_trajectory,
    refine_patterns, suggest,
};
pub use proofs::{consistency, proof, root, stats, verify_consistency, verify_proof};
pub use recall::{check_query_bytes, recall, recall_answer, recall_options, run_recall};
pub use watch::{watch_event, watch_next, watch_start};

#[cfg(doc)]
use crate::error::ApiError;
