//! Rights are the same on every front door: every REST route (taken from
//! the OpenAPI document, which names each operation's right, so a new
//! route is covered without touching this file) and every MCP tool (taken
//! from `tools/list`) answers each of four tokens as its right and scope
//! call for, MCP deciding as the REST route that does the same thing. And
//! creating a namespace needs `admin` everywhere: an MCP write with a
//! `write` token into a missing namespace is refused and creates nothing,
//! on disk or in the namespace list.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{AppState, Config};
use serde_json::{Map, Value as Json, json};
use tower::ServiceExt;

/// The namespace every scoped route and tool is called on; it exists.
const NS: &str = "alice";

/// REST operations that answer a token scoped to some namespaces with
/// only what it may see, instead of refusing it (the other routes without
/// a namespace in their path need the right on every namespace).
const FILTERED_FOR_SCOPED_TOKENS: [&str; 1] = ["listNamespaces"];

/// The REST operation that does what each MCP tool does.
const REST_EQUIVALENT: [(&str, &str); 7] = [
    ("remember", "remember"),
    ("recall", "recall"),
    ("forget", "forgetMemory"),
    ("list_memories", "listMemories"),
    ("link", "link"),
    ("assert_fact", "assertFact"),
    ("conflicts", "listConflicts"),
];

/// One of the test's tokens: what it is, its secret, its highest right
/// and whether it is scoped to every namespace.
struct Token {
    name: &'static str,
    secret: String,
    right: Right,
    everywhere: bool,
}

/// The four tokens: read, write and admin on `*`, and an admin scoped to
/// namespace `other` only.
fn tokens() -> Vec<Token> {
    [
        ("read", Right::Read, true),
        ("write", Right::Write, true),
        ("admin", Right::Admin, true),
        ("outsider", Right::Admin, false),
    ]
    .into_iter()
    .map(|(name, right, everywhere)| Token {
        name,
        secret: generate_token(),
        right,
        everywhere,
    })
    .collect()
}

/// The application over an engine on disk in `dir`, with `tokens`.
fn app(dir: &Path, tokens: &[Token]) -> (Router, AppState) {
    let mut config = Config::default();
    for t in tokens {
        let scope = if t.everywhere { "*" } else { "other" };
        config.tokens.push(TokenEntry::new(
            t.name,
            &t.secret,
            vec![scope.to_owned()],
            vec![t.right],
        ));
    }
    let options = mnemo::Options::default().embedder(Arc::new(mnemo_embed::HashEmbedder::new()));
    let engine = mnemo::Mnemo::open_with(dir, options).expect("open the data directory");
    let state = AppState::new(config, engine).expect("valid config");
    state.open_all();
    (mnemo_server::router(state.clone()), state)
}

/// Sends one request; the status and the body as JSON (or text). An event
/// stream's body is not read: its status is the answer.
async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Json>,
) -> (StatusCode, Json) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let response = app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if streaming {
        return (status, Json::Null);
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, json)
}

/// A value the JSON schema `schema` accepts, built from its required
/// parts only; `root` is the document its `$ref`s point into.
fn sample(schema: &Json, root: &Json) -> Json {
    if let Some(pointer) = schema["$ref"].as_str() {
        let target = pointer
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolved $ref {pointer}"));
        return sample(target, root);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema[combinator].as_array() {
            let chosen = variants
                .iter()
                .find(|v| v["type"] != "null")
                .unwrap_or_else(|| panic!("no usable variant in {schema}"));
            return sample(chosen, root);
        }
    }
    let kind = match &schema["type"] {
        Json::String(t) => t.as_str(),
        Json::Array(types) => types
            .iter()
            .filter_map(Json::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match kind {
        "object" => {
            let mut out = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().expect("property name");
                out.insert(name.to_owned(), sample(&schema["properties"][name], root));
            }
            Json::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0);
            Json::Array((0..n).map(|_| sample(&schema["items"], root)).collect())
        }
        "string" if schema["format"] == "date-time" => json!("2024-05-01T12:00:00Z"),
        "string" => {
            let n = schema["minLength"].as_u64().unwrap_or(1).max(1);
            json!("x".repeat(usize::try_from(n).expect("small")))
        }
        "integer" => json!(schema["minimum"].as_u64().unwrap_or(1).max(1)),
        "number" => {
            let low = schema["minimum"].as_f64().unwrap_or(0.0);
            let high = schema["maximum"].as_f64().unwrap_or(low + 1.0);
            json!((low + high) / 2.0)
        }
        "boolean" => json!(false),
        _ => Json::Null,
    }
}

/// One REST operation of the OpenAPI document.
struct Operation {
    id: String,
    method: Method,
    /// The path with `{ns}` and `{id}` filled in, and the required query
    /// parameters.
    uri: String,
    right: Option<Right>,
    /// Whether it acts on the namespace in its path.
    namespaced: bool,
    body: Option<Json>,
}

fn right_named(name: &str) -> Right {
    match name {
        "read" => Right::Read,
        "write" => Right::Write,
        "admin" => Right::Admin,
        other => panic!("unknown right {other:?} in the OpenAPI document"),
    }
}

/// Every operation the document lists, ready to send.
fn operations(doc: &Json) -> Vec<Operation> {
    let mut out = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in paths {
        for (method, op) in methods.as_object().expect("operations") {
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            let mut uri = path.replace("{ns}", NS).replace("{id}", "1");
            assert!(!uri.contains('{'), "{id}: a path parameter to fill: {path}");
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    let value = match sample(&p["schema"], doc) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    format!("{}={value}", p["name"].as_str().expect("name"))
                })
                .collect();
            if !query.is_empty() {
                uri = format!("{uri}?{}", query.join("&"));
            }
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(|schema| sample(schema, doc));
            out.push(Operation {
                right: op["x-mnemo-right"].as_str().map(right_named),
                method: Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method"),
                namespaced: path.contains("{ns}"),
                id,
                uri,
                body,
            });
        }
    }
    out
}

/// Whether `token` may do what `op` does: its right suffices and, on a
/// namespace, it may see it; routes without one need the right on every
/// namespace unless they filter what they answer.
fn allowed(token: &Token, op: &Operation) -> bool {
    let Some(needed) = op.right else {
        return true;
    };
    let in_scope = token.everywhere
        || (!op.namespaced && FILTERED_FOR_SCOPED_TOKENS.contains(&op.id.as_str()));
    in_scope && token.right >= needed
}

/// What the server decided: let the caller through, refused it for its
/// right or scope, or did not know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allowed,
    Forbidden,
    Unauthorized,
}

fn rest_decision(status: StatusCode) -> Decision {
    match status {
        StatusCode::FORBIDDEN => Decision::Forbidden,
        StatusCode::UNAUTHORIZED => Decision::Unauthorized,
        _ => Decision::Allowed,
    }
}

/// A JSON-RPC call to `/mcp`: the HTTP status and the answer.
async fn mcp(app: &Router, token: Option<&str>, method: &str, params: Json) -> (StatusCode, Json) {
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    send(app, Method::POST, "/mcp", token, Some(&call)).await
}

/// A tool call: the HTTP status, the tool's text and whether it is a tool
/// error.
async fn tool(app: &Router, token: &str, name: &str, args: &Json) -> (StatusCode, String, bool) {
    let (status, body) = mcp(
        app,
        Some(token),
        "tools/call",
        json!({"name": name, "arguments": args}),
    )
    .await;
    let result = &body["result"];
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: not a tool result: {status} {body}"))
        .to_owned();
    (status, text, result["isError"] == true)
}

/// How a tool answer maps onto the REST decisions: a refusal for want of
/// a right or scope is `forbidden: ...`; any other answer, even an error
/// about the arguments or an unknown id, let the caller through.
fn tool_decision(text: &str, failed: bool) -> Decision {
    if failed && text.starts_with("forbidden:") {
        Decision::Forbidden
    } else if failed && text.starts_with("unauthorized:") {
        Decision::Unauthorized
    } else {
        Decision::Allowed
    }
}

/// The namespaces `GET /v1/namespaces` lists to the admin token.
async fn listed(app: &Router, admin: &str) -> Vec<String> {
    let (status, body) = send(app, Method::GET, "/v1/namespaces", Some(admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body["namespaces"].clone()).expect("names")
}

fn secret<'a>(tokens: &'a [Token], name: &str) -> &'a str {
    &tokens
        .iter()
        .find(|t| t.name == name)
        .expect("a test token")
        .secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_route_answers_each_token_as_its_right_and_scope_say() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = tokens();
    let (app, _state) = app(dir.path(), &tokens);
    let admin = secret(&tokens, "admin");
    let (status, body) = send(
        &app,
        Method::POST,
        "/v1/namespaces",
        Some(admin),
        Some(&json!({"name": NS})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, doc) = send(&app, Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let ops = operations(&doc);
    assert!(
        ops.len() > 30,
        "the document lists every route: {}",
        ops.len()
    );
    let mut failures = Vec::new();
    for op in &ops {
        let (status, body) = send(&app, op.method.clone(), &op.uri, None, op.body.as_ref()).await;
        match op.right {
            Some(_) if status != StatusCode::UNAUTHORIZED => failures.push(format!(
                "{} {} without a token: {status} {body}",
                op.method, op.uri
            )),
            None if status == StatusCode::UNAUTHORIZED => failures.push(format!(
                "{} {} is public but answered 401",
                op.method, op.uri
            )),
            _ => {}
        }
        if op.right.is_some() {
            let (status, _) = send(
                &app,
                op.method.clone(),
                &op.uri,
                Some("mnemo_not-a-token-the-server-knows"),
                op.body.as_ref(),
            )
            .await;
            if status != StatusCode::UNAUTHORIZED {
                failures.push(format!(
                    "{} {} with an unknown token: {status}",
                    op.method, op.uri
                ));
            }
        }
        for token in &tokens {
            let (status, body) = send(
                &app,
                op.method.clone(),
                &op.uri,
                Some(&token.secret),
                op.body.as_ref(),
            )
            .await;
            let expected = if allowed(token, op) {
                Decision::Allowed
            } else {
                Decision::Forbidden
            };
            if rest_decision(status) != expected {
                failures.push(format!(
                    "{} ({} {}) with the {} token: expected {expected:?}, got {status} {body}",
                    op.id, op.method, op.uri, token.name
                ));
            }
            if op.id == "listNamespaces" && status == StatusCode::OK {
                let names = body["namespaces"].as_array().expect("names");
                let sees_alice = names.iter().any(|n| n == NS);
                assert_eq!(
                    sees_alice, token.everywhere,
                    "{}: the list holds only what the token may see: {body}",
                    token.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mcp_tool_decides_as_its_rest_route() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = tokens();
    let (app, _state) = app(dir.path(), &tokens);
    let admin = secret(&tokens, "admin");
    let (status, _) = send(
        &app,
        Method::POST,
        "/v1/namespaces",
        Some(admin),
        Some(&json!({"name": NS})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _) = mcp(&app, None, "tools/list", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token, no MCP");
    let (status, init) = mcp(
        &app,
        Some(admin),
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "rights-test", "version": "0"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "mnemo", "{init}");
    let (status, listed_tools) = mcp(&app, Some(admin), "tools/list", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{listed_tools}");
    let tools = listed_tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    assert!(!tools.is_empty());

    let (_, doc) = send(&app, Method::GET, "/v1/openapi.json", None, None).await;
    let ops = operations(&doc);
    let mut failures = Vec::new();
    for t in &tools {
        let name = t["name"].as_str().expect("tool name");
        let rest_id = REST_EQUIVALENT
            .iter()
            .find(|(tool, _)| *tool == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("tool {name} has no REST equivalent listed here"));
        let op = ops
            .iter()
            .find(|op| op.id == rest_id)
            .unwrap_or_else(|| panic!("no REST operation {rest_id}"));
        assert!(op.namespaced, "{rest_id} acts on a namespace");
        let mut args = sample(&t["inputSchema"], &t["inputSchema"]);
        args["namespace"] = json!(NS);
        for token in &tokens {
            let (status, text, failed) = tool(&app, &token.secret, name, &args).await;
            assert_eq!(status, StatusCode::OK, "{name}: {text}");
            let got = tool_decision(&text, failed);
            let (rest_status, rest_body) = send(
                &app,
                op.method.clone(),
                &op.uri,
                Some(&token.secret),
                op.body.as_ref(),
            )
            .await;
            let expected = if allowed(token, op) {
                Decision::Allowed
            } else {
                Decision::Forbidden
            };
            if got != expected || rest_decision(rest_status) != expected {
                failures.push(format!(
                    "{name} with the {} token: expected {expected:?}; MCP {got:?} ({text}), \
                     REST {rest_id} {rest_status} {rest_body}",
                    token.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admin_creates_a_namespace_on_any_door() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = tokens();
    let (app, state) = app(dir.path(), &tokens);
    let admin = secret(&tokens, "admin");
    let writes = [
        ("remember", json!({"content": "Alice likes jasmine tea"})),
        (
            "assert_fact",
            json!({"subject": "alice", "predicate": "likes", "object": "tea"}),
        ),
    ];

    // write, read and an out-of-scope admin: refused, nothing created.
    for token in tokens.iter().filter(|t| t.name != "admin") {
        for (name, args) in &writes {
            let mut args = args.clone();
            args["namespace"] = json!("ghost");
            let (_, text, failed) = tool(&app, &token.secret, name, &args).await;
            assert_eq!(
                tool_decision(&text, failed),
                Decision::Forbidden,
                "{name} with the {} token: {text}",
                token.name
            );
            if token.name == "write" {
                assert!(
                    text.contains("admin right") && text.contains("\"ghost\""),
                    "the refusal names the right and the namespace: {text}"
                );
            }
        }
        let (status, body) = send(
            &app,
            Method::POST,
            "/v1/namespaces",
            Some(&token.secret),
            Some(&json!({"name": "ghost"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {body}", token.name);
    }
    assert!(
        !dir.path().join("ghost").exists(),
        "no directory for a refused namespace"
    );
    assert!(!listed(&app, admin).await.contains(&"ghost".to_owned()));
    assert!(!state.namespace_names().contains(&"ghost".to_owned()));

    // A read of a missing namespace: 404 within the scope, 403 outside
    // it (so the scope reveals nothing), and MCP finds nothing.
    let (status, _) = send(
        &app,
        Method::GET,
        "/v1/namespaces/ghost/stats",
        Some(secret(&tokens, "read")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &app,
        Method::GET,
        "/v1/namespaces/ghost/stats",
        Some(secret(&tokens, "outsider")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, text, failed) = tool(
        &app,
        secret(&tokens, "read"),
        "recall",
        &json!({"query": "tea", "namespace": "ghost"}),
    )
    .await;
    assert!(!failed && text.contains("\"hits\":[]"), "{text}");
    assert!(!dir.path().join("ghost").exists());

    // admin creates on either door.
    for (name, args) in &writes {
        let ns = format!("made-by-{name}");
        let mut args = args.clone();
        args["namespace"] = json!(ns);
        let (_, text, failed) = tool(&app, admin, name, &args).await;
        assert!(!failed, "{name}: {text}");
        assert!(dir.path().join(&ns).join("log").is_dir(), "{ns} on disk");
        assert!(listed(&app, admin).await.contains(&ns), "{ns} listed");
    }
    let (status, body) = send(
        &app,
        Method::POST,
        "/v1/namespaces",
        Some(admin),
        Some(&json!({"name": "made-by-rest"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Once it exists, write suffices on both doors.
    let writer = secret(&tokens, "write");
    let (_, text, failed) = tool(
        &app,
        writer,
        "remember",
        &json!({"content": "Bob drinks coffee", "namespace": "made-by-rest"}),
    )
    .await;
    assert!(!failed, "{text}");
    let (status, body) = send(
        &app,
        Method::POST,
        "/v1/namespaces/made-by-rest/memories",
        Some(writer),
        Some(&json!({"memories": [{"content": "Bob drinks tea too"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
