//! One entry point for every operation: its name (the OpenAPI
//! `operationId`), the path's id, the query parameters and the body as
//! JSON values; the answer as a JSON value. The values are read the way
//! the HTTP layer reads a request, so a misfit is refused with the same
//! message, naming the field.

use std::time::Duration;

use mnemo::Namespace;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::{Limits, facts, lifecycle, links, memories, patterns, proofs, recall};
use crate::dto::{
    ConsistencyParams, ConsolidateMemoriesIn, ExpiryIn, LinkIn, ListParams, ProofParams, PurgeIn,
    QueryIn, RecallIn, RememberIn, RetagIn, RevisionIn, TouchIn, UnlinkParams, WatchParams,
};
use crate::dto_facts::{
    AssertIn, ConflictParams, ConsolidateIn, FactParams, HistoryParams, PatternParams, PredicateIn,
    PruneIn, QuarantineIn, ReasonIn, ResolveIn, SuggestIn, SupportIn, TrajectoryIn,
};
use crate::error::ApiError;

/// Every operation on a namespace, by its OpenAPI `operationId`. [`call`]
/// runs all but `watch`, a stream: [`super::watch_start`] and
/// [`super::watch_event`] produce its events.
pub const OPERATIONS: &[&str] = &[
    "remember",
    "listMemories",
    "queryMemories",
    "getMemory",
    "reviseMemory",
    "forgetMemory",
    "purgeMemories",
    "retagMemory",
    "touchMemories",
    "setExpiry",
    "expireDue",
    "consolidateMemories",
    "getTiers",
    "rebalanceTiers",
    "link",
    "unlink",
    "recall",
    "assertFact",
    "listFacts",
    "factHistory",
    "getFact",
    "challengeFact",
    "supportFact",
    "retractFact",
    "quarantineFact",
    "declarePredicate",
    "listPredicates",
    "listConflicts",
    "getConflict",
    "resolveConflict",
    "recordTrajectory",
    "suggest",
    "listPatterns",
    "getPattern",
    "prunePatterns",
    "consolidatePatterns",
    "refinePatterns",
    "stats",
    "root",
    "proof",
    "consistency",
    "watch",
];

/// Runs operation `op` (an OpenAPI `operationId`, see [`OPERATIONS`]) on
/// `ns` and answers what the HTTP route answers, as JSON.
///
/// - `id`: the path's `{id}`; required by the operations whose path has
///   one (400 naming `id` without it), refused by the others.
/// - `params`: the query parameters, an object (or null for none). Values
///   may be strings, as in a query string, or JSON numbers and booleans;
///   they are read by the same parser as the query string, so the rules
///   and messages are the HTTP ones (null values are left out).
/// - `body`: the JSON body; ignored by operations that take none.
/// - `limits`: the server's limits that apply (`batch`,
///   `max_query_bytes`, and `request_timeout_ms` as recall's budget);
///   [`Limits::default`] is the server's default.
///
/// Errors are the route's (status, code, message); an unknown `op` is 404
/// `not_found` naming it. Like the route, a refused call writes nothing.
pub fn call(
    ns: &Namespace,
    op: &str,
    id: Option<u64>,
    params: Json,
    body: Json,
    limits: &Limits,
) -> Result<Json, ApiError> {
    let needs_id = || required_id(op, id);
    if !OPERATIONS.contains(&op) {
        return Err(unknown(op));
    }
    if !takes_id(op) && id.is_some() {
        return Err(ApiError::bad_request(format!(
            "id: {op} takes no id (its path has none)"
        )));
    }
    match op {
        "remember" => answer(memories::remember(
            ns,
            &read_body::<RememberIn>(body)?,
            limits,
        )),
        "listMemories" => answer(memories::list_memories(
            ns,
            &read_params::<ListParams>(&params)?,
        )),
        "queryMemories" => answer(memories::query_memories(ns, &read_body::<QueryIn>(body)?)),
        "getMemory" => answer(memories::get_memory(ns, needs_id()?)),
        "reviseMemory" => {
            let id = needs_id()?;
            answer(memories::revise_memory(
                ns,
                id,
                &read_body::<RevisionIn>(body)?,
            ))
        }
        "forgetMemory" => answer(memories::forget_memory(ns, needs_id()?)),
        "purgeMemories" => answer(memories::purge_memories(ns, &read_body::<PurgeIn>(body)?)),
        "retagMemory" => {
            let id = needs_id()?;
            answer(memories::retag_memory(ns, id, &read_body::<RetagIn>(body)?))
        }
        "touchMemories" => answer(memories::touch_memories(ns, &read_body::<TouchIn>(body)?)),
        "setExpiry" => {
            let id = needs_id()?;
            answer(memories::set_expiry(ns, id, &read_body::<ExpiryIn>(body)?))
        }
        "expireDue" => answer(memories::expire_due(ns)),
        "consolidateMemories" => answer(lifecycle::consolidate_memories(
            ns,
            &read_body::<ConsolidateMemoriesIn>(body)?,
        )),
        "getTiers" => answer(Ok(lifecycle::get_tiers(ns))),
        "rebalanceTiers" => answer(lifecycle::rebalance_tiers(ns)),
        "link" => answer(links::link(ns, &read_body::<LinkIn>(body)?)),
        "unlink" => answer(links::unlink(ns, &read_params::<UnlinkParams>(&params)?)),
        "recall" => {
            let body: RecallIn = read_body(body)?;
            // In the route's order: the request's fields, then the text's
            // length, then the recall within the request's time.
            let mut options = recall::recall_options(ns, &body)?;
            recall::check_query_bytes("query", &body.query, limits.max_query_bytes)?;
            let budget = Duration::from_millis(limits.request_timeout_ms);
            let result = recall::run_recall(ns, &body.query, &mut options, Some(budget))?;
            answer(Ok(recall::recall_answer(ns, &result, body.wants_memory())))
        }
        "assertFact" => answer(facts::assert_fact(ns, &read_body::<AssertIn>(body)?)),
        "listFacts" => answer(facts::list_facts(ns, &read_params::<FactParams>(&params)?)),
        "factHistory" => answer(facts::fact_history(
            ns,
            &read_params::<HistoryParams>(&params)?,
        )),
        "getFact" => answer(facts::get_fact(ns, needs_id()?)),
        "challengeFact" => {
            let id = needs_id()?;
            answer(facts::challenge_fact(ns, id, &read_body::<ReasonIn>(body)?))
        }
        "supportFact" => {
            let id = needs_id()?;
            answer(facts::support_fact(ns, id, &read_body::<SupportIn>(body)?))
        }
        "retractFact" => {
            let id = needs_id()?;
            answer(facts::retract_fact(ns, id, &read_body::<ReasonIn>(body)?))
        }
        "quarantineFact" => {
            let id = needs_id()?;
            answer(facts::quarantine_fact(
                ns,
                id,
                &read_body::<QuarantineIn>(body)?,
            ))
        }
        "declarePredicate" => answer(facts::declare_predicate(
            ns,
            &read_body::<PredicateIn>(body)?,
        )),
        "listPredicates" => answer(Ok(facts::list_predicates(ns))),
        "listConflicts" => answer(facts::list_conflicts(
            ns,
            &read_params::<ConflictParams>(&params)?,
        )),
        "getConflict" => answer(facts::get_conflict(ns, needs_id()?)),
        "resolveConflict" => {
            let id = needs_id()?;
            answer(facts::resolve_conflict(
                ns,
                id,
                &read_body::<ResolveIn>(body)?,
            ))
        }
        "recordTrajectory" => answer(patterns::record_trajectory(
            ns,
            &read_body::<TrajectoryIn>(body)?,
        )),
        "suggest" => {
            let body: SuggestIn = read_body(body)?;
            // The route's order: the fields, then the task's length.
            body.check()?;
            if let Some(task) = &body.task {
                recall::check_query_bytes("task", task, limits.max_query_bytes)?;
            }
            answer(patterns::suggest(ns, &body))
        }
        "listPatterns" => answer(patterns::list_patterns(
            ns,
            &read_params::<PatternParams>(&params)?,
        )),
        "getPattern" => answer(patterns::get_pattern(ns, needs_id()?)),
        "prunePatterns" => answer(patterns::prune_patterns(ns, &read_body::<PruneIn>(body)?)),
        "consolidatePatterns" => answer(patterns::consolidate_patterns(
            ns,
            &read_body::<ConsolidateIn>(body)?,
        )),
        "refinePatterns" => answer(patterns::refine_patterns(ns)),
        "stats" => answer(Ok(proofs::stats(ns))),
        "root" => answer(proofs::root(ns)),
        "proof" => answer(proofs::proof(
            ns,
            needs_id()?,
            &read_params::<ProofParams>(&params)?,
        )),
        "consistency" => answer(proofs::consistency(
            ns,
            &read_params::<ConsistencyParams>(&params)?,
        )),
        "watch" => {
            // Checked as the route checks them, so a bad filter is
            // reported the same way before saying it is a stream.
            read_params::<WatchParams>(&params)?.to_query()?;
            Err(ApiError::bad_request(
                "watch is a stream of events, not a call: use ops::watch_start and \
                 ops::watch_event",
            ))
        }
        _ => Err(unknown(op)),
    }
}

/// 404 naming an operation [`call`] does not know.
fn unknown(op: &str) -> ApiError {
    ApiError::not_found(format!(
        "no operation {op:?} (the operations are the OpenAPI operationIds: {})",
        OPERATIONS.join(", ")
    ))
}

/// Whether the operation's path has an `{id}`.
fn takes_id(op: &str) -> bool {
    matches!(
        op,
        "getMemory"
            | "reviseMemory"
            | "forgetMemory"
            | "retagMemory"
            | "setExpiry"
            | "getFact"
            | "challengeFact"
            | "supportFact"
            | "retractFact"
            | "quarantineFact"
            | "getConflict"
            | "resolveConflict"
            | "getPattern"
            | "proof"
    )
}

/// The path's id, or 400 naming `id`.
fn required_id(op: &str, id: Option<u64>) -> Result<u64, ApiError> {
    id.ok_or_else(|| {
        ApiError::bad_request(format!(
            "id: {op} needs the id of the item it acts on (its path ends in {{id}})"
        ))
    })
}

/// The answer as JSON.
fn answer<T: Serialize>(out: Result<T, ApiError>) -> Result<Json, ApiError> {
    serde_json::to_value(out?)
        .map_err(|e| ApiError::internal(format!("cannot encode the answer: {e}")))
}

/// A body read as the HTTP layer reads one (`axum::Json`): the same
/// rules, and a misfit refused with the same message naming the field.
#[cfg(feature = "server")]
fn read_body<T: DeserializeOwned>(body: Json) -> Result<T, ApiError> {
    // Through the text, not `serde_json::from_value`: the HTTP layer
    // parses text, and numbers and messages must come out as they do
    // there.
    let text = body_text(&body)?;
    axum::Json::<T>::from_bytes(&text)
        .map(|axum::Json(value)| value)
        .map_err(ApiError::from)
}

/// A body read as [`read_body`] reads it with the HTTP layer, naming a
/// misfit's field by walking the text instead of tracking the path (the
/// bindings' build: no second copy of every input type's decoder).
#[cfg(not(feature = "server"))]
fn read_body<T: DeserializeOwned>(body: Json) -> Result<T, ApiError> {
    let text = body_text(&body)?;
    crate::json_text::from_json(&text).map_err(|e| {
        if e.syntax {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
            )
        } else {
            ApiError::bad_request(format!("the body does not fit: {e}"))
        }
    })
}

fn body_text(body: &Json) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|e| ApiError::internal(format!("cannot encode the body: {e}")))
}

/// Query parameters read by the HTTP layer's query-string parser
/// (`axum::extract::Query`): JSON scalars become their text.
#[cfg(feature = "server")]
fn read_params<T: DeserializeOwned>(params: &Json) -> Result<T, ApiError> {
    let uri: axum::http::Uri = format!("/?{}", query_string(params)?)
        .parse()
        .map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(ApiError::from)
}

/// Query parameters read as [`read_params`] reads them with the HTTP
/// layer (`serde_urlencoded`), a misfit's parameter named by reading again
/// without each one in turn: the first whose absence lets the rest through
/// is the one that did not fit (the bindings' build, without path
/// tracking).
#[cfg(not(feature = "server"))]
fn read_params<T: DeserializeOwned>(params: &Json) -> Result<T, ApiError> {
    let query = query_string(params)?;
    serde_urlencoded::from_str::<T>(&query).map_err(|e| {
        let misfit = match params {
            Json::Object(fields) => fields.keys().find(|name| {
                let mut others = fields.clone();
                others.remove(name.as_str());
                query_string(&Json::Object(others))
                    .is_ok_and(|rest| serde_urlencoded::from_str::<T>(&rest).is_ok())
            }),
            _ => None,
        };
        match misfit {
            Some(name) => ApiError::bad_request(format!("bad query string: {name}: {e}")),
            None => ApiError::bad_request(format!("bad query string: {e}")),
        }
    })
}

/// `params` (an object of scalars, or null) as a query string.
fn query_string(params: &Json) -> Result<String, ApiError> {
    let fields = match params {
        Json::Null => return Ok(String::new()),
        Json::Object(fields) => fields,
        _ => {
            return Err(ApiError::bad_request(
                "bad query string: give the parameters as an object of names and values",
            ));
        }
    };
    let mut out = String::new();
    for (name, value) in fields {
        let text = match value {
            Json::Null => continue,
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => s.clone(),
            Json::Array(_) | Json::Object(_) => {
                return Err(ApiError::bad_request(format!(
                    "bad query string: {name}: give a string, a number or a boolean"
                )));
            }
        };
        if !out.is_empty() {
            out.push('&');
        }
        percent_encode(&mut out, name);
        out.push('=');
        percent_encode(&mut out, &text);
    }
    Ok(out)
}

/// Appends `text` to `out` with every byte but the unreserved ones
/// (RFC 3986) as `%XX`.
fn percent_encode(out: &mut String, text: &str) {
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::StatusCode;
    use serde_json::json;

    use super::*;

    /// A namespace in memory, and its engine (dropping the engine closes
    /// its namespaces).
    fn namespace() -> (mnemo::Mnemo, Namespace) {
        let engine = mnemo::Mnemo::in_memory();
        let ns = engine.namespace("t").expect("a namespace in memory");
        (engine, ns)
    }

    fn run(ns: &Namespace, op: &str, id: Option<u64>, params: Json, body: Json) -> Json {
        call(ns, op, id, params, body, &Limits::default())
            .unwrap_or_else(|e| panic!("{op} failed: {e}"))
    }

    fn refused(ns: &Namespace, op: &str, id: Option<u64>, params: Json, body: Json) -> ApiError {
        let before = ns.stats().events;
        let e =
            call(ns, op, id, params, body, &Limits::default()).expect_err("the call is refused");
        assert_eq!(ns.stats().events, before, "{op} refused but wrote: {e}");
        e
    }

    fn remember_texts(ns: &Namespace, texts: &[&str]) -> Vec<u64> {
        let memories: Vec<Json> = texts
            .iter()
            .map(|t| json!({"content": t, "tags": ["note"]}))
            .collect();
        let out = run(
            ns,
            "remember",
            None,
            Json::Null,
            json!({"memories": memories}),
        );
        out["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|id| id.as_u64().expect("an id"))
            .collect()
    }

    #[test]
    fn memories_round_trip_through_the_dispatcher() {
        let (_engine, ns) = namespace();
        let ids = remember_texts(&ns, &["the sky is blue", "grass is green", "snow is white"]);
        assert_eq!(ids.len(), 3);

        let got = run(&ns, "getMemory", Some(ids[1]), Json::Null, Json::Null);
        assert_eq!(got["memory"]["content"], "grass is green");
        assert_eq!(got["links"]["outgoing"], json!([]));

        // JSON-typed parameters and query-string text are both accepted.
        for params in [
            json!({"tag": "note", "limit": 2, "descending": true}),
            json!({"tag": "note", "limit": "2", "descending": "true", "kind": null}),
        ] {
            let page = run(&ns, "listMemories", None, params, Json::Null);
            assert_eq!(page["total"], 3);
            let contents: Vec<&str> = page["memories"]
                .as_array()
                .expect("memories")
                .iter()
                .map(|m| m["content"].as_str().expect("content"))
                .collect();
            assert_eq!(contents, ["snow is white", "grass is green"]);
        }

        let queried = run(
            &ns,
            "queryMemories",
            None,
            Json::Null,
            json!({"filter": {"contains": "SKY"}}),
        );
        assert_eq!(queried["total"], 1);

        let revised = run(
            &ns,
            "reviseMemory",
            Some(ids[0]),
            Json::Null,
            json!({"importance": 0.9}),
        );
        assert_eq!(revised["content"], "the sky is blue");
        let retagged = run(
            &ns,
            "retagMemory",
            Some(ids[0]),
            Json::Null,
            json!({"add": ["sky"]}),
        );
        assert!(
            retagged["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("sky")))
        );

        let linked = run(
            &ns,
            "link",
            None,
            Json::Null,
            json!({"from": ids[0], "to": ids[1], "kind": "refers_to"}),
        );
        assert_eq!(linked["weight"], 1.0);
        let unlinked = run(
            &ns,
            "unlink",
            None,
            json!({"from": ids[0], "to": ids[1], "kind": "refers_to"}),
            Json::Null,
        );
        assert_eq!(unlinked, linked);

        let forgotten = run(&ns, "forgetMemory", Some(ids[2]), Json::Null, Json::Null);
        assert_eq!(forgotten, json!({"id": ids[2], "forgotten": true}));
        assert_eq!(
            run(&ns, "stats", None, Json::Null, Json::Null)["memories"],
            2
        );
    }

    #[test]
    fn deadlines_and_sweeps_through_the_dispatcher() {
        let (_engine, ns) = namespace();
        let ids = remember_texts(&ns, &["kept", "short lived"]);
        let set = run(
            &ns,
            "setExpiry",
            Some(ids[1]),
            Json::Null,
            json!({"expires_at": "2000-01-01T00:00:00Z"}),
        );
        assert_eq!(set["expires_at"], "2000-01-01T00:00:00Z");
        let e = refused(&ns, "getMemory", Some(ids[1]), Json::Null, Json::Null);
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let swept = run(&ns, "expireDue", None, Json::Null, Json::Null);
        // The maintenance thread may have swept it first.
        assert!(
            swept == json!({"expired": [ids[1]]}) || swept == json!({"expired": []}),
            "{swept}"
        );
        let touched = run(
            &ns,
            "touchMemories",
            None,
            Json::Null,
            json!({"ids": [ids[0]]}),
        );
        assert_eq!(touched, json!({"touched": 1}));
        let e = refused(&ns, "setExpiry", Some(ids[0]), Json::Null, json!({}));
        assert!(e.message.contains("expires_at"), "{e}");
        let e = refused(
            &ns,
            "setExpiry",
            None,
            Json::Null,
            json!({"expires_at": null}),
        );
        assert!(e.message.starts_with("id: "), "{e}");
    }

    #[test]
    fn consolidation_and_tiers_through_the_dispatcher() {
        let (_engine, ns) = namespace();
        let empty = run(&ns, "consolidateMemories", None, Json::Null, json!({}));
        assert_eq!(empty["considered"], 0, "{empty}");
        assert_eq!(empty["created"], json!([]), "{empty}");
        assert_eq!(empty["seq"], Json::Null, "{empty}");

        let ids = remember_texts(
            &ns,
            &[
                "alice drank green tea at the cafe on monday",
                "alice drank green tea at the cafe on tuesday",
                "alice drank green tea at the cafe on friday",
            ],
        );
        let done = run(
            &ns,
            "consolidateMemories",
            None,
            Json::Null,
            json!({"similarity": 0.3, "min_group": 3}),
        );
        assert_eq!(done["considered"], 3, "{done}");
        assert_eq!(done["planned"], 1, "{done}");
        let created = done["created"][0].as_u64().expect("a consolidated memory");
        assert_eq!(done["groups"][0]["id"], created, "{done}");
        assert_eq!(done["groups"][0]["sources"], json!(ids), "{done}");
        let detail = run(&ns, "getMemory", Some(created), Json::Null, Json::Null);
        assert_eq!(detail["derived_from"], json!(ids), "{detail}");
        assert_eq!(detail["memory"]["kind"], "semantic", "{detail}");
        let source = run(&ns, "getMemory", Some(ids[0]), Json::Null, Json::Null);
        assert_eq!(source["consolidated_into"], json!([created]), "{source}");
        assert_eq!(source["tier"], "hot", "{source}");

        let e = refused(
            &ns,
            "consolidateMemories",
            None,
            Json::Null,
            json!({"min_group": 1}),
        );
        assert!(e.message.starts_with("min_group: "), "{e}");

        let tiers = run(&ns, "getTiers", None, Json::Null, Json::Null);
        assert_eq!(tiers["hot"], 4, "{tiers}");
        assert_eq!(tiers["budget"], Json::Null, "{tiers}");
        let rebalanced = run(&ns, "rebalanceTiers", None, Json::Null, Json::Null);
        assert_eq!(rebalanced["moved"], 0, "no budget, no moves: {rebalanced}");
        let e = refused(&ns, "getTiers", Some(1), Json::Null, Json::Null);
        assert!(e.message.starts_with("id: "), "{e}");
    }

    #[test]
    fn a_misfit_names_the_field_and_writes_nothing() {
        let (_engine, ns) = namespace();
        remember_texts(&ns, &["one"]);

        let e = refused(
            &ns,
            "remember",
            None,
            Json::Null,
            json!({"memories": [{"content": "fine"}, {"content": 7}]}),
        );
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
        assert!(
            e.message
                .starts_with("the body does not fit: memories[1].content: "),
            "{e}"
        );

        // Refused by the engine's checks: the whole batch is refused.
        let e = refused(
            &ns,
            "remember",
            None,
            Json::Null,
            json!({"memories": [{"content": "fine"}, {"content": "x", "importance": 2.0}]}),
        );
        assert!(e.message.contains("importance"), "{e}");

        let e = refused(
            &ns,
            "remember",
            None,
            Json::Null,
            json!({"memories": [{"content": "fine"}], "extra": 1}),
        );
        assert!(e.message.contains("extra"), "{e}");

        let small = Limits {
            batch: 1,
            ..Limits::default()
        };
        let before = ns.stats().events;
        let body = json!({"memories": [{"content": "a"}, {"content": "b"}]});
        let e = call(&ns, "remember", None, Json::Null, body, &small).expect_err("over the batch");
        assert!(
            e.message.starts_with("memories: at most 1 per request"),
            "{e}"
        );
        assert_eq!(ns.stats().events, before);

        let e = refused(
            &ns,
            "listMemories",
            None,
            json!({"limit": "many"}),
            Json::Null,
        );
        assert!(e.message.starts_with("bad query string: limit: "), "{e}");
        let e = refused(
            &ns,
            "listMemories",
            None,
            json!({"tag": ["a", "b"]}),
            Json::Null,
        );
        assert!(e.message.starts_with("bad query string: tag: "), "{e}");
        let e = refused(
            &ns,
            "listMemories",
            None,
            json!({"colour": "red"}),
            Json::Null,
        );
        assert!(e.message.contains("colour"), "{e}");

        let e = refused(
            &ns,
            "challengeFact",
            Some(1),
            Json::Null,
            json!({"reason": "  "}),
        );
        assert_eq!(e.message, "reason: it is empty");
    }

    #[test]
    fn operations_and_ids_are_checked() {
        let (_engine, ns) = namespace();
        let e = refused(&ns, "rememberAll", None, Json::Null, Json::Null);
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, "not_found"));
        assert!(e.message.contains("\"rememberAll\""), "{e}");

        let e = refused(&ns, "getMemory", None, Json::Null, Json::Null);
        assert_eq!(e.code, "invalid_request");
        assert!(e.message.starts_with("id: "), "{e}");
        let e = refused(&ns, "stats", Some(3), Json::Null, Json::Null);
        assert!(e.message.starts_with("id: "), "{e}");

        let e = refused(&ns, "getMemory", Some(42), Json::Null, Json::Null);
        assert_eq!(e.message, "no memory with id 42 in namespace t");
        let e = refused(&ns, "watch", None, Json::Null, Json::Null);
        assert!(e.message.contains("watch_start"), "{e}");
    }

    #[test]
    fn recall_takes_its_candidates_and_search_width_in_bounds() {
        let (_engine, ns) = namespace();
        remember_texts(&ns, &["the cat sat on the mat", "dogs bark at night"]);
        let ids = |out: &Json| -> Vec<u64> {
            out["hits"]
                .as_array()
                .expect("hits")
                .iter()
                .map(|h| h["memory"]["id"].as_u64().expect("id"))
                .collect()
        };
        let plain = run(
            &ns,
            "recall",
            None,
            Json::Null,
            json!({"query": "cat", "k": 2}),
        );
        let tuned = run(
            &ns,
            "recall",
            None,
            Json::Null,
            json!({"query": "cat", "k": 2, "candidates": 2, "search_width": 8}),
        );
        assert_eq!(ids(&plain), ids(&tuned));
        for (field, value) in [
            ("candidates", 0),
            ("candidates", 10_001),
            ("search_width", 0),
            ("search_width", 10_001),
        ] {
            let e = refused(
                &ns,
                "recall",
                None,
                Json::Null,
                json!({"query": "cat", field: value}),
            );
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(
                e.message.starts_with(&format!("{field}: between 1 and")),
                "{e}"
            );
        }
    }

    #[test]
    fn recall_typed_and_by_name_agree_and_a_wrong_vector_is_named() {
        let (_engine, ns) = namespace();
        remember_texts(
            &ns,
            &[
                "the cat sat on the mat",
                "dogs bark at night",
                "a cat chased a mouse",
            ],
        );
        let body = RecallIn {
            query: "cat".into(),
            k: Some(2),
            ..RecallIn::default()
        };
        let typed = recall::recall(&ns, &body, Some(Duration::from_secs(10))).expect("recall");
        let named = run(
            &ns,
            "recall",
            None,
            Json::Null,
            serde_json::to_value(&body).expect("encodes"),
        );
        let named_ids: Vec<u64> = named["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h["memory"]["id"].as_u64().expect("id"))
            .collect();
        let typed_ids: Vec<u64> = typed.hits.iter().map(|h| h.id).collect();
        assert_eq!(typed_ids, named_ids);
        assert_eq!(typed.hits.len(), 2);
        for (hit, named) in typed
            .hits
            .iter()
            .zip(named["hits"].as_array().expect("hits"))
        {
            let memory = hit.memory.as_ref().expect("memories by default");
            assert_eq!(memory.id, hit.id);
            assert_eq!(named["id"], json!(hit.id));
        }

        // Without memories: the same hits, ids and scores, no memory bodies.
        let bare = RecallIn {
            include_memory: Some(false),
            ..body.clone()
        };
        let named_bare = run(
            &ns,
            "recall",
            None,
            Json::Null,
            serde_json::to_value(&bare).expect("encodes"),
        );
        let bare_hits = named_bare["hits"].as_array().expect("hits");
        assert_eq!(bare_hits.len(), typed.hits.len());
        for (hit, bare_hit) in typed.hits.iter().zip(bare_hits) {
            assert_eq!(bare_hit["id"], json!(hit.id));
            assert_eq!(bare_hit["score"], json!(hit.score));
            assert!(bare_hit.get("memory").is_none(), "{bare_hit}");
            assert!(bare_hit["signals"].is_object(), "{bare_hit}");
        }

        let dimension = ns
            .limits()
            .dimension
            .expect("the namespace has a dimension");
        let mut with_vector = body.clone();
        with_vector.vector = Some(vec![0.0; dimension + 1]);
        let e = recall::recall(&ns, &with_vector, None).expect_err("wrong dimension");
        assert_eq!(e.code, "invalid_request");
        assert!(e.message.starts_with("vector: "), "{e}");

        let mut vector = vec![0.0; dimension];
        vector[0] = 1.0;
        with_vector.vector = Some(vector);
        let by_vector = recall::recall(&ns, &with_vector, None).expect("recall by vector");
        assert_eq!(by_vector.hits.len(), 2);

        let long = Limits {
            max_query_bytes: 2,
            ..Limits::default()
        };
        let e = call(
            &ns,
            "recall",
            None,
            Json::Null,
            json!({"query": "cat"}),
            &long,
        )
        .expect_err("too long");
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(e.message.starts_with("query: 3 bytes"), "{e}");
    }

    #[test]
    fn facts_and_conflicts_through_the_dispatcher() {
        let (_engine, ns) = namespace();
        let ids = remember_texts(&ns, &["alice moved to Paris", "alice lives in Rome"]);
        let first = run(
            &ns,
            "assertFact",
            None,
            Json::Null,
            json!({"subject": "alice", "predicate": "lives_in", "object": "Paris",
                   "evidence": [ids[0]]}),
        );
        let fact = first["fact"]["id"].as_u64().expect("a fact id");
        run(
            &ns,
            "assertFact",
            None,
            Json::Null,
            json!({"subject": "alice", "predicate": "lives_in", "object": "Rome",
                   "evidence": [ids[1]]}),
        );
        let listed = run(
            &ns,
            "listFacts",
            None,
            json!({"subject": "alice"}),
            Json::Null,
        );
        assert_eq!(listed["total"], 2);
        let conflicts = run(&ns, "listConflicts", None, json!({"all": true}), Json::Null);
        assert_eq!(conflicts["total"], 1);
        let history = run(
            &ns,
            "factHistory",
            None,
            json!({"subject": "alice", "predicate": "lives_in"}),
            Json::Null,
        );
        assert_eq!(history["verified"], true);

        let e = refused(
            &ns,
            "supportFact",
            Some(fact),
            Json::Null,
            json!({"evidence": [999]}),
        );
        assert!(
            e.message.starts_with("evidence: no memory with id 999"),
            "{e}"
        );
        let retracted = run(
            &ns,
            "retractFact",
            Some(fact),
            Json::Null,
            json!({"reason": "moved"}),
        );
        assert_eq!(retracted["fact"]["status"], "retracted");
        let e = refused(
            &ns,
            "challengeFact",
            Some(fact),
            Json::Null,
            json!({"reason": "doubt"}),
        );
        assert_eq!(e.status, StatusCode::CONFLICT);
    }

    #[test]
    fn patterns_and_proofs_through_the_dispatcher() {
        let (_engine, ns) = namespace();
        for (task, executor, success) in [
            ("summarise a long report", "writer", true),
            ("summarise a short memo", "writer", true),
            ("summarise a meeting", "coder", false),
        ] {
            let recorded = run(
                &ns,
                "recordTrajectory",
                None,
                Json::Null,
                json!({"task": task, "executor": executor, "success": success}),
            );
            assert!(recorded["pattern"].as_u64().is_some(), "{recorded}");
        }
        let suggested = run(
            &ns,
            "suggest",
            None,
            Json::Null,
            json!({"task": "summarise a report"}),
        );
        assert_eq!(suggested["executor"], "writer", "{suggested}");
        let e = refused(
            &ns,
            "suggest",
            None,
            Json::Null,
            json!({"task": "x", "k": 0}),
        );
        assert!(e.message.starts_with("k: "), "{e}");

        let listed = run(&ns, "listPatterns", None, json!({"limit": 10}), Json::Null);
        let first = listed["patterns"][0]["id"].as_u64().expect("a pattern");
        let one = run(&ns, "getPattern", Some(first), Json::Null, Json::Null);
        assert_eq!(one["id"], first);
        let refined = run(&ns, "refinePatterns", None, Json::Null, Json::Null);
        assert!(refined["patterns_after"].as_u64().is_some(), "{refined}");
        let e = refused(
            &ns,
            "consolidatePatterns",
            None,
            Json::Null,
            json!({"threshold": 7}),
        );
        assert!(e.message.contains("threshold"), "{e}");

        let id = remember_texts(&ns, &["proved"])[0];
        let root = run(&ns, "root", None, Json::Null, Json::Null);
        let proof = run(&ns, "proof", Some(id), Json::Null, Json::Null);
        assert_eq!(proof["verified"], true);
        assert_eq!(proof["root"], root["root"]);
        let proof: crate::dto::ProofOut = serde_json::from_value(proof).expect("a proof");
        let trusted = root["root"].as_str();
        assert_eq!(proofs::verify_proof(&proof, trusted), Ok(true));
    }

    #[test]
    fn a_closed_namespace_is_told_apart() {
        let (_engine, ns) = namespace();
        ns.close().expect("closes");
        let e = call(
            &ns,
            "remember",
            None,
            Json::Null,
            json!({"memories": [{"content": "late"}]}),
            &Limits::default(),
        )
        .expect_err("closed");
        assert!(e.is_closed(), "{e}");
        assert_eq!(
            (e.status, e.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(!ApiError::internal("namespace t: log: disk is closed").is_closed());
    }
}
