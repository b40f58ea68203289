//! The MCP server end to end: the tools through rmcp's own client over an
//! in-memory pipe (answers, argument errors, unknown ids and namespaces),
//! rights through the streamable HTTP service behind the real auth
//! middleware, and the official MCP Python SDK (`mcp` 2.3.0, installed once
//! into `target/mcp-venv`) against the HTTP service on a real socket. The
//! SDK over standard input and output runs in `mnemo-cli/tests/mcp.rs`,
//! where the `mnemo` binary is built.

#[path = "mcp/venv.rs"]
mod venv;

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::sync::Arc;

use mnemo::{Mnemo, Query};
use mnemo_server::AppState;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::{Config, TokenEntry};
use mnemo_server::mcp::{self, Access, Engine, MnemoMcp};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ServerHandler, ServiceExt};
use serde_json::{Value, json};

const TOOLS: [&str; 7] = [
    "assert_fact",
    "conflicts",
    "forget",
    "link",
    "list_memories",
    "recall",
    "remember",
];

// ---- rmcp's client over a pipe, as the local user --------------------------

/// A client talking to a local-access server over an in-memory pipe.
struct Pipe {
    client: RunningService<RoleClient, ()>,
    mnemo: Arc<Mnemo>,
}

impl Pipe {
    async fn new() -> Self {
        let mnemo = Arc::new(Mnemo::in_memory());
        let engine: Arc<dyn Engine> = Arc::clone(&mnemo) as Arc<dyn Engine>;
        let server = MnemoMcp::new(engine, "default", Access::Local).expect("valid namespace");
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_end).await {
                let _ = running.waiting().await;
            }
        });
        let client = ().serve(client_end).await.expect("MCP handshake");
        Self { client, mnemo }
    }

    async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let args = args.as_object().cloned().expect("arguments are an object");
        self.client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
            .await
            .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
    }

    /// Calls a tool that must succeed; its JSON answer.
    async fn ok(&self, tool: &str, args: Value) -> Value {
        let result = self.call(tool, args.clone()).await;
        let text = text(&result);
        assert_ne!(result.is_error, Some(true), "{tool} {args} failed: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool}: {e}: {text}"))
    }

    /// Calls a tool that must fail; its message.
    async fn refused(&self, tool: &str, args: Value) -> String {
        let result = self.call(tool, args.clone()).await;
        let text = text(&result);
        assert_eq!(
            result.is_error,
            Some(true),
            "{tool} {args} should fail but answered {text}"
        );
        text
    }
}

fn text(result: &CallToolResult) -> String {
    assert_eq!(result.content.len(), 1, "one content block: {result:?}");
    result.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .expect("text content")
}

#[tokio::test]
async fn tools_are_listed_with_descriptions_and_argument_schemas() {
    let pipe = Pipe::new().await;
    let mut tools = pipe.client.list_all_tools().await.expect("tools/list");
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, TOOLS);
    for tool in &tools {
        let description = tool.description.as_deref().unwrap_or("");
        assert!(description.len() > 40, "{}: {description:?}", tool.name);
        let schema = &tool.input_schema;
        assert_eq!(schema.get("type"), Some(&json!("object")), "{}", tool.name);
        assert_eq!(
            schema.get("additionalProperties"),
            Some(&json!(false)),
            "{}: unknown arguments are refused",
            tool.name
        );
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{}: no properties", tool.name));
        assert!(properties.contains_key("namespace"), "{}", tool.name);
        for (name, spec) in properties {
            let described = spec
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty());
            assert!(described, "{}.{name} has no description: {spec}", tool.name);
        }
    }
    let info = pipe.client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("mnemo")
    );
    assert!(
        info.instructions
            .as_deref()
            .is_some_and(|i| i.contains("recall"))
    );
}

#[tokio::test]
async fn remember_recall_list_and_forget() {
    let pipe = Pipe::new().await;
    let lisbon = pipe
        .ok(
            "remember",
            json!({"content": "Alice moved to Lisbon in May", "tags": ["alice", "move"],
                   "source": "chat", "kind": "semantic", "importance": 0.9}),
        )
        .await;
    assert_eq!(lisbon["namespace"], "default");
    let lisbon_id = lisbon["id"].as_u64().expect("id");
    let tea = pipe
        .ok(
            "remember",
            json!({"content": "Bob drinks green tea every morning"}),
        )
        .await["id"]
        .as_u64()
        .expect("id");
    assert_ne!(lisbon_id, tea);
    let again = pipe
        .ok(
            "remember",
            json!({"content": "Alice moved to Lisbon in May"}),
        )
        .await;
    assert_eq!(
        again["id"].as_u64(),
        Some(lisbon_id),
        "same content, same id"
    );

    let recalled = pipe
        .ok("recall", json!({"query": "where did Alice move", "k": 2}))
        .await;
    let hits = recalled["hits"].as_array().expect("hits");
    assert_eq!(hits[0]["id"].as_u64(), Some(lisbon_id));
    assert_eq!(hits[0]["content"], "Alice moved to Lisbon in May");
    assert_eq!(hits[0]["tags"], json!(["alice", "move"]));
    assert!(hits[0]["score"].as_f64().is_some_and(|s| s > 0.0));
    let at = hits[0]["at"].as_str().expect("at");
    assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339: {at}");

    let filtered = pipe
        .ok("recall", json!({"query": "morning tea", "tags": ["alice"]}))
        .await;
    assert!(
        filtered["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["id"].as_u64() == Some(lisbon_id)),
        "the tag filter admits only Alice's memory: {filtered}"
    );

    let listed = pipe.ok("list_memories", json!({})).await;
    assert_eq!(listed["total"], 2);
    let ids: Vec<u64> = listed["memories"]
        .as_array()
        .expect("memories")
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![tea, lisbon_id], "newest first");
    assert_eq!(listed["memories"][1]["kind"], "semantic");
    assert_eq!(listed["memories"][1]["source"], "chat");
    let page = pipe
        .ok(
            "list_memories",
            json!({"limit": 1, "offset": 1, "tag": "alice"}),
        )
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["memories"], json!([]));

    let forgotten = pipe.ok("forget", json!({"id": lisbon_id})).await;
    assert_eq!(forgotten, json!({"id": lisbon_id, "forgotten": true}));
    let after = pipe
        .ok("recall", json!({"query": "where did Alice move"}))
        .await;
    assert!(
        after["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["id"].as_u64() != Some(lisbon_id)),
        "a forgotten memory is never recalled: {after}"
    );
    let twice = pipe.refused("forget", json!({"id": lisbon_id})).await;
    assert!(
        twice.contains(&format!("no memory with id {lisbon_id}")),
        "{twice}"
    );
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_that_name_the_argument() {
    let pipe = Pipe::new().await;
    let cases = [
        ("remember", json!({"content": 5}), "content"),
        ("remember", json!({"text": "hi"}), "text"),
        ("remember", json!({}), "content"),
        (
            "remember",
            json!({"content": "x", "kind": "dream"}),
            "dream",
        ),
        (
            "remember",
            json!({"content": "x", "importance": 2.0}),
            "importance",
        ),
        ("remember", json!({"content": ""}), "content"),
        (
            "remember",
            json!({"content": "x", "namespace": "../etc"}),
            "namespace",
        ),
        ("recall", json!({"query": "x", "k": 0}), "k"),
        ("recall", json!({"query": "x", "k": 101}), "k"),
        ("recall", json!({"query": "x", "k": -1}), "k"),
        ("list_memories", json!({"limit": 1001}), "limit"),
        ("forget", json!({"id": "seven"}), "id"),
        ("link", json!({"from": 1, "to": 2}), "kind"),
        (
            "assert_fact",
            json!({"subject": "a", "predicate": "b"}),
            "object",
        ),
        ("conflicts", json!({"all": "yes"}), "all"),
    ];
    for (tool, args, names) in cases {
        let message = pipe.refused(tool, args.clone()).await;
        assert!(
            message.contains(names),
            "{tool} {args}: the error should name {names:?}: {message}"
        );
    }
    // Nothing was written by the refused calls.
    let listed = pipe.ok("list_memories", json!({})).await;
    assert_eq!(listed["total"], 0);
}

#[tokio::test]
async fn reads_of_a_namespace_never_written_find_nothing_and_create_nothing() {
    let pipe = Pipe::new().await;
    let recalled = pipe
        .ok("recall", json!({"query": "anything", "namespace": "ghost"}))
        .await;
    assert_eq!(recalled, json!({"namespace": "ghost", "hits": []}));
    let listed = pipe
        .ok("list_memories", json!({"namespace": "ghost"}))
        .await;
    assert_eq!(listed["total"], 0);
    let conflicts = pipe.ok("conflicts", json!({"namespace": "ghost"})).await;
    assert_eq!(conflicts["conflicts"], json!([]));
    let forget = pipe
        .refused("forget", json!({"id": 1, "namespace": "ghost"}))
        .await;
    assert!(
        forget.contains("no memory with id 1 in namespace ghost"),
        "{forget}"
    );
    assert!(!pipe.mnemo.namespaces().contains(&"ghost".to_owned()));

    pipe.ok(
        "remember",
        json!({"content": "only in alice", "namespace": "alice"}),
    )
    .await;
    let elsewhere = pipe.ok("recall", json!({"query": "only in alice"})).await;
    assert_eq!(elsewhere["hits"], json!([]), "namespaces share nothing");
    let there = pipe
        .ok(
            "recall",
            json!({"query": "only in alice", "namespace": "alice"}),
        )
        .await;
    assert_eq!(there["hits"][0]["content"], "only in alice");
}

#[tokio::test]
async fn links_join_existing_memories_only() {
    let pipe = Pipe::new().await;
    let a = pipe
        .ok("remember", json!({"content": "the kettle broke"}))
        .await["id"]
        .as_u64()
        .expect("id");
    let b = pipe
        .ok("remember", json!({"content": "we bought a new kettle"}))
        .await["id"]
        .as_u64()
        .expect("id");
    let linked = pipe
        .ok("link", json!({"from": a, "to": b, "kind": "caused"}))
        .await;
    assert_eq!(
        linked,
        json!({"from": a, "to": b, "kind": "caused", "weight": 1.0})
    );
    let weighted = pipe
        .ok(
            "link",
            json!({"from": b, "to": a, "kind": "refers_to", "weight": 0.25}),
        )
        .await;
    assert_eq!(weighted["weight"], 0.25);
    let unknown = pipe
        .refused("link", json!({"from": a, "to": 999, "kind": "caused"}))
        .await;
    assert!(unknown.contains("999"), "{unknown}");
    let heavy = pipe
        .refused(
            "link",
            json!({"from": a, "to": b, "kind": "caused", "weight": 3.0}),
        )
        .await;
    assert!(heavy.contains("weight"), "{heavy}");
}

#[tokio::test]
async fn contradicting_facts_open_a_conflict() {
    let pipe = Pipe::new().await;
    let said = pipe
        .ok(
            "remember",
            json!({"content": "Alice said she lives in Lisbon"}),
        )
        .await["id"]
        .as_u64()
        .expect("id");
    let first = pipe
        .ok(
            "assert_fact",
            json!({"subject": "alice", "predicate": "lives_in", "object": "Lisbon",
                   "evidence": [said]}),
        )
        .await;
    assert_eq!(first["conflicts"], json!([]));
    let first_id = first["fact"].as_u64().expect("fact id");
    let second = pipe
        .ok(
            "assert_fact",
            json!({"subject": "alice", "predicate": "lives_in", "object": "Paris",
                   "confidence": 0.8}),
        )
        .await;
    let opened = second["conflicts"].as_array().expect("conflicts");
    assert_eq!(opened.len(), 1, "{second}");
    assert_eq!(opened[0]["subject"], "alice");
    assert_eq!(opened[0]["state"], "detected");
    let objects: Vec<&str> = opened[0]["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .filter_map(|f| f["object"].as_str())
        .collect();
    assert_eq!(objects, ["Lisbon", "Paris"]);
    assert_eq!(opened[0]["facts"][0]["id"].as_u64(), Some(first_id));

    let listed = pipe.ok("conflicts", json!({})).await;
    assert_eq!(listed["conflicts"], second["conflicts"]);
    let all = pipe.ok("conflicts", json!({"all": true})).await;
    assert_eq!(all["conflicts"].as_array().map(Vec::len), Some(1));

    let no_evidence = pipe
        .refused(
            "assert_fact",
            json!({"subject": "bob", "predicate": "likes", "object": "tea", "evidence": [404]}),
        )
        .await;
    assert!(no_evidence.contains("404"), "{no_evidence}");
    let unsure = pipe
        .refused(
            "assert_fact",
            json!({"subject": "bob", "predicate": "likes", "object": "tea", "confidence": 1.5}),
        )
        .await;
    assert!(unsure.contains("confidence"), "{unsure}");
}

#[test]
fn an_invalid_default_namespace_is_refused_up_front() {
    let engine: Arc<dyn Engine> = Arc::new(Mnemo::in_memory());
    let err = MnemoMcp::new(engine, "../up", Access::Local).expect_err("invalid name");
    assert!(err.to_string().contains("../up"), "{err}");
    let server =
        MnemoMcp::new(Arc::new(Mnemo::in_memory()), "alice", Access::Token).expect("valid name");
    assert_eq!(server.default_namespace(), "alice");
    assert_eq!(server.get_info().server_info.name, "mnemo");
    assert!(mcp::http_service(Mnemo::in_memory(), "".into()).is_err());
}

// ---- the streamable HTTP service behind the auth middleware ----------------

/// Serves the whole HTTP application (`mnemo_server::router`: `/mcp`
/// behind the real auth middleware and limits) on 127.0.0.1 with these
/// tokens, or `/mcp` alone with no middleware at all; the state holds the
/// engine.
async fn http_server(tokens: Vec<TokenEntry>, authenticate: bool) -> (SocketAddr, AppState) {
    let config = Config {
        tokens,
        ..Config::default()
    };
    let state = AppState::new(config, Mnemo::in_memory()).expect("valid config");
    let app = if authenticate {
        mnemo_server::router(state.clone())
    } else {
        let service = mcp::http_service(state.clone(), "default".to_owned()).expect("service");
        axum::Router::new().route_service("/mcp", service)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, state)
}

fn token(name: &str, namespaces: &[&str], right: Right) -> (String, TokenEntry) {
    let token = generate_token();
    let entry = TokenEntry::new(
        name,
        &token,
        namespaces.iter().map(|s| (*s).to_owned()).collect(),
        vec![right],
    );
    (token, entry)
}

/// One JSON-RPC `tools/call` POSTed to `/mcp`: the HTTP status and the
/// JSON body.
async fn post_call(
    addr: SocketAddr,
    bearer: Option<&str>,
    tool: &str,
    args: Value,
) -> (u16, Value) {
    let bearer = bearer.map(str::to_owned);
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": args},
    });
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent
            .post(format!("http://{addr}/mcp"))
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18");
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.send_json(&body).expect("POST /mcp");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    })
    .await
    .expect("request thread")
}

/// The tool's text and whether it is an error, from a JSON-RPC answer.
fn tool_answer(body: &Value) -> (String, bool) {
    let result = &body["result"];
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a tool result: {body}"))
        .to_owned();
    (text, result["isError"] == json!(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tool_checks_the_tokens_rights_on_its_namespace() {
    let (reader, reader_entry) = token("reader", &["*"], Right::Read);
    let (alice, alice_entry) = token("alice-writer", &["alice"], Right::Write);
    let (addr, state) = http_server(vec![reader_entry, alice_entry], true).await;
    // Creating a namespace needs admin; the writer writes into one that
    // exists.
    state.namespace_or_create("alice").expect("create alice");

    let (status, _) = post_call(addr, None, "recall", json!({"query": "x"})).await;
    assert_eq!(status, 401, "no token, no MCP");

    let (status, body) = post_call(
        addr,
        Some(&alice),
        "remember",
        json!({"content": "Alice likes jasmine tea", "namespace": "alice"}),
    )
    .await;
    assert_eq!(status, 200);
    let (text, failed) = tool_answer(&body);
    assert!(!failed, "{text}");

    let refusals = [
        (
            &reader,
            "remember",
            json!({"content": "x", "namespace": "alice"}),
            "lacks the write right",
        ),
        (
            &reader,
            "forget",
            json!({"id": 1, "namespace": "alice"}),
            "lacks the write right",
        ),
        (
            &reader,
            "link",
            json!({"from": 1, "to": 1, "kind": "k", "namespace": "alice"}),
            "lacks the write right",
        ),
        (
            &reader,
            "assert_fact",
            json!({"subject": "a", "predicate": "b", "object": "c", "namespace": "alice"}),
            "lacks the write right",
        ),
        (
            &alice,
            "remember",
            json!({"content": "x", "namespace": "bob"}),
            "no access to namespace \"bob\"",
        ),
        (
            &alice,
            "recall",
            json!({"query": "x"}),
            "no access to namespace \"default\"",
        ),
        (
            &alice,
            "list_memories",
            json!({"namespace": "bob"}),
            "no access",
        ),
        (
            &alice,
            "conflicts",
            json!({"namespace": "bob"}),
            "no access",
        ),
    ];
    for (token, tool, args, expected) in refusals {
        let (status, body) = post_call(addr, Some(token), tool, args.clone()).await;
        assert_eq!(status, 200, "{tool}: a refusal is a tool error: {body}");
        let (text, failed) = tool_answer(&body);
        assert!(failed && text.contains(expected), "{tool} {args}: {text}");
    }

    let (_, body) = post_call(
        addr,
        Some(&reader),
        "recall",
        json!({"query": "what tea does Alice like", "namespace": "alice"}),
    )
    .await;
    let (text, failed) = tool_answer(&body);
    assert!(!failed, "{text}");
    assert!(text.contains("jasmine"), "{text}");
    let alice_ns = state.mnemo().namespace("alice").expect("alice");
    assert_eq!(
        alice_ns.count(&Query::new()),
        1,
        "the refused writes wrote nothing"
    );
    assert!(!state.mnemo().namespaces().contains(&"bob".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_auth_middleware_every_tool_is_refused() {
    let (addr, state) = http_server(Vec::new(), false).await;
    for (tool, args) in [
        ("remember", json!({"content": "x"})),
        ("recall", json!({"query": "x"})),
    ] {
        let (status, body) = post_call(addr, None, tool, args).await;
        assert_eq!(status, 200);
        let (text, failed) = tool_answer(&body);
        assert!(failed && text.contains("unauthorized"), "{tool}: {text}");
    }
    assert!(state.mnemo().namespaces().is_empty());
}

// ---- the official Python SDK -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_streamable_http() {
    let (secret, entry) = token("sdk", &["*"], Right::Write);
    let (addr, state) = http_server(vec![entry], true).await;
    // A write token writes into namespaces that exist (creating one needs
    // admin).
    state
        .namespace_or_create("default")
        .expect("create default");
    let url = format!("http://{addr}/mcp");
    tokio::task::spawn_blocking(move || {
        venv::run_client(&[OsStr::new("http"), OsStr::new(&url), OsStr::new(&secret)]);
    })
    .await
    .expect("client thread");
    let ns = state.mnemo().namespace("default").expect("default");
    assert_eq!(
        ns.count(&Query::new()),
        4,
        "two memories per connection mode"
    );
}
