//! Lifecycle over HTTP: deadlines on remember (`expires_at`,
//! `ttl_seconds`), in a memory's detail, set and cleared with
//! `PUT .../memories/{id}/expiry`, swept with `POST .../expire`; and a
//! server whose `[lifecycle]` merges or flags near-duplicate writes.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, ids};
use mnemo_server::Config;
use serde_json::{Value as Json, json};

const PAST: &str = "2000-01-01T00:00:00Z";
const FAR: &str = "2200-01-01T00:00:00Z";

/// Remembers `memories` (JSON objects) in `alice` as the writer.
async fn remember(app: &TestApp, memories: Json) -> (StatusCode, Json) {
    app.remember_json("alice", &app.writer, memories).await
}

/// A number in the answer to `GET /v1/namespaces/alice/{path}`, as the
/// reader.
async fn number(app: &TestApp, path: &str, field: &str) -> u64 {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/{path}"),
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body[field].as_u64().expect(field)
}

/// How many memories `alice` lists.
async fn total(app: &TestApp) -> u64 {
    number(app, "memories", "total").await
}

/// Events in `alice`'s log.
async fn events(app: &TestApp) -> u64 {
    number(app, "stats", "events").await
}

/// `GET .../memories/{id}` as the reader.
async fn detail(app: &TestApp, id: u64) -> (StatusCode, Json) {
    app.call(
        Method::GET,
        &format!("/v1/namespaces/alice/memories/{id}"),
        Some(&app.reader),
        None,
    )
    .await
}

/// `PUT .../memories/{id}/expiry` with `body`, as `token`.
async fn set_expiry(app: &TestApp, id: u64, token: &str, body: Json) -> (StatusCode, Json) {
    app.call(
        Method::PUT,
        &format!("/v1/namespaces/alice/memories/{id}/expiry"),
        Some(token),
        Some(body),
    )
    .await
}

fn seconds(rfc3339: &Json) -> i64 {
    mnemo::rfc3339::parse(rfc3339.as_str().expect("a time"))
        .expect("RFC 3339")
        .as_secs()
}

#[tokio::test]
async fn deadlines_from_remember_show_in_the_detail() {
    let app = TestApp::new();
    app.create("alice").await;
    let before = mnemo::Timestamp::now().as_secs();
    let (status, body) = remember(
        &app,
        json!([
            {"content": "the meeting room is B12", "ttl_seconds": 3600},
            {"content": "the lease ends in 2200", "expires_at": FAR},
            {"content": "the user lives in Lisbon"},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let after = mnemo::Timestamp::now().as_secs();
    let ids = ids(&body);

    let (status, got) = detail(&app, ids[0]).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let deadline = seconds(&got["expires_at"]);
    assert!(
        (before + 3600..=after + 3600).contains(&deadline),
        "{deadline} is an hour after the write"
    );
    assert_eq!(got["duplicate_of"], Json::Null);
    assert_eq!(got["merged"], json!({"count": 0, "recent": []}));
    assert_eq!(detail(&app, ids[1]).await.1["expires_at"], FAR);
    assert_eq!(detail(&app, ids[2]).await.1["expires_at"], Json::Null);
}

#[tokio::test]
async fn a_past_deadline_leaves_reads_at_once_and_a_sweep_erases_it() {
    let app = TestApp::new();
    app.create("alice").await;
    let kept = app.remember("alice", &["the user lives in Lisbon"]).await[0];
    let (status, body) = remember(
        &app,
        json!([{"content": "the one-time code is 449120", "expires_at": PAST}]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let gone = ids(&body)[0];

    let (status, err) = detail(&app, gone).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, hits) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&app.reader),
            Some(json!({"query": "one-time code 449120", "k": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    let hit_ids: Vec<u64> = hits["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_u64().expect("id"))
        .collect();
    assert!(!hit_ids.contains(&gone), "{hits}");
    assert_eq!(total(&app).await, 1);

    // The sweep writes it down once: this call's, or the server's own
    // (about once a second) if that came first.
    let sweep = || async {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/namespaces/alice/expire",
                Some(&app.writer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    };
    let first = sweep().await;
    assert!(
        first == json!({"expired": [gone]}) || first == json!({"expired": []}),
        "{first}"
    );
    assert_eq!(sweep().await, json!({"expired": []}));
    assert_eq!(detail(&app, kept).await.0, StatusCode::OK);

    // A past deadline set later expires the memory the same way.
    let (status, body) = set_expiry(&app, kept, &app.writer, json!({"expires_at": PAST})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(detail(&app, kept).await.0, StatusCode::NOT_FOUND);
    let swept = sweep().await;
    assert!(
        swept == json!({"expired": [kept]}) || swept == json!({"expired": []}),
        "{swept}"
    );

    // Reading is not enough to sweep.
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/expire",
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_deadline_is_set_and_cleared_and_bad_ones_write_nothing() {
    let app = TestApp::new();
    app.create("alice").await;
    let id = app.remember("alice", &["the meeting room is B12"]).await[0];

    let (status, body) = set_expiry(&app, id, &app.writer, json!({"expires_at": FAR})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["expires_at"], FAR);
    assert!(body["seq"].as_u64().is_some(), "{body}");
    assert_eq!(detail(&app, id).await.1["expires_at"], FAR);

    let (status, body) = set_expiry(&app, id, &app.writer, json!({"expires_at": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_at"], Json::Null);
    assert_eq!(detail(&app, id).await.1["expires_at"], Json::Null);

    let before = events(&app).await;
    for (body, field) in [
        (json!({}), "expires_at"),
        (json!({"expires_at": "next tuesday"}), "expires_at"),
        (json!({"expires_at": FAR, "ttl": 5}), "ttl"),
    ] {
        let (status, err) = set_expiry(&app, id, &app.writer, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.contains(field), "{body}: {message}");
    }
    let (status, err) = set_expiry(&app, 999, &app.writer, json!({"expires_at": FAR})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("999")),
        "{err}"
    );
    let (status, _) = set_expiry(&app, id, &app.reader, json!({"expires_at": FAR})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(events(&app).await, before, "refused changes write nothing");
    assert_eq!(detail(&app, id).await.1["expires_at"], Json::Null);
}

#[tokio::test]
async fn bad_deadlines_on_remember_name_the_field_and_write_nothing() {
    let app = TestApp::new();
    app.create("alice").await;
    app.remember("alice", &["already here"]).await;
    let before = events(&app).await;
    for (memory, field) in [
        (
            json!({"content": "x", "expires_at": FAR, "ttl_seconds": 60}),
            "memories[1]: ttl_seconds: ",
        ),
        (
            json!({"content": "x", "ttl_seconds": -5}),
            "memories[1].ttl_seconds: ",
        ),
        (
            json!({"content": "x", "ttl_seconds": 0}),
            "memories[1]: ttl_seconds: ",
        ),
        (
            json!({"content": "x", "ttl_seconds": 1u64 << 62}),
            "memories[1]: ttl_seconds: ",
        ),
        (
            json!({"content": "x", "expires_at": "2024-13-45T99:00:00Z"}),
            "memories[1]: expires_at: ",
        ),
    ] {
        let (status, err) = remember(&app, json!([{"content": "fine"}, memory])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{memory}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.contains(field), "{memory}: {message}");
    }
    assert_eq!(events(&app).await, before, "refused batches write nothing");
}

/// A server with `[lifecycle]` from TOML text.
fn with_lifecycle(toml: &str) -> TestApp {
    TestApp::with_config(Config::parse(&format!("[lifecycle]\n{toml}")).expect("valid config"))
}

#[tokio::test]
async fn a_server_that_merges_near_duplicates_counts_the_repeat_as_a_use() {
    let app = with_lifecycle("duplicates = \"merge\"");
    app.create("alice").await;
    let (status, body) = remember(
        &app,
        json!([{"content": "The user prefers dark mode in the editor", "source": "chat-1"}]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = ids(&body)[0];
    let (status, body) = remember(
        &app,
        json!([
            {"content": "the user prefers dark mode in the editor!", "source": "chat-2"},
            {"content": "The user prefers light mode in the editor", "source": "chat-3"},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["results"][0]["outcome"], "merged", "{body}");
    assert_eq!(body["results"][0]["id"], first, "{body}");
    assert_eq!(
        body["results"][1]["outcome"], "added",
        "a changed preference is new: {body}"
    );

    let (_, got) = detail(&app, first).await;
    assert_eq!(got["merged"]["count"], 1, "{got}");
    let recent = got["merged"]["recent"].as_array().expect("recent");
    assert_eq!(recent.len(), 1, "{got}");
    assert_eq!(recent[0]["source"], "chat-2");
    assert!(seconds(&recent[0]["at"]) > 0, "{got}");
    assert_eq!(got["touches"], 1, "a merge is a use: {got}");
    assert_eq!(got["duplicate_of"], Json::Null);
    assert_eq!(total(&app).await, 2);
}

#[tokio::test]
async fn a_server_that_flags_near_duplicates_keeps_both_and_says_which() {
    let app = with_lifecycle("duplicates = \"flag\"\nduplicate_text_similarity = 0.75");
    app.create("alice").await;
    let ids = app
        .remember(
            "alice",
            &[
                "Alice moved to Lisbon in May",
                "alice moved to Lisbon in May.",
            ],
        )
        .await;
    assert_ne!(ids[0], ids[1]);
    let (_, got) = detail(&app, ids[1]).await;
    let flag = &got["duplicate_of"];
    assert_eq!(flag["id"], ids[0], "{got}");
    assert!(flag["vector_similarity"].as_f64().expect("cosine") >= 0.9);
    assert!(flag["text_similarity"].as_f64().expect("jaccard") >= 0.75);
    assert_eq!(detail(&app, ids[0]).await.1["duplicate_of"], Json::Null);
}

#[tokio::test]
async fn a_server_with_a_namespace_ttl_gives_every_memory_a_deadline() {
    let app = with_lifecycle("ttl_seconds = 86400\n[lifecycle.tag_ttl_seconds]\nsession = 60");
    app.create("alice").await;
    let before = mnemo::Timestamp::now().as_secs();
    let (status, body) = remember(
        &app,
        json!([
            {"content": "a plain note"},
            {"content": "a session note", "tags": ["session"]},
            {"content": "kept ten minutes", "tags": ["session"], "ttl_seconds": 600},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let after = mnemo::Timestamp::now().as_secs();
    let ids = ids(&body);
    for (id, ttl) in [(ids[0], 86_400), (ids[1], 60), (ids[2], 600)] {
        let deadline = seconds(&detail(&app, id).await.1["expires_at"]);
        assert!(
            (before + ttl..=after + ttl).contains(&deadline),
            "memory {id}: {deadline} is {ttl} s after the write"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_lifecycle() {
    let app = TestApp::new();
    let (status, doc) = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let put = &doc["paths"]["/v1/namespaces/{ns}/memories/{id}/expiry"]["put"];
    assert_eq!(put["operationId"], "setExpiry", "{put}");
    assert_eq!(put["x-mnemo-right"], "write");
    let post = &doc["paths"]["/v1/namespaces/{ns}/expire"]["post"];
    assert_eq!(post["operationId"], "expireDue", "{post}");
    assert_eq!(post["x-mnemo-right"], "write");
    let schemas = &doc["components"]["schemas"];
    let outcome = &schemas["RememberedOut"]["properties"]["outcome"];
    assert!(
        outcome["enum"]
            .as_array()
            .is_some_and(|values| values.contains(&json!("merged"))),
        "{outcome}"
    );
    let memory = &schemas["NewMemoryIn"]["properties"];
    assert!(memory["expires_at"].is_object() && memory["ttl_seconds"].is_object());
    let detail = schemas["MemoryDetailOut"].to_string();
    for field in ["expires_at", "duplicate_of", "merged"] {
        assert!(detail.contains(field), "{field}: {detail}");
    }
    let expiry = &schemas["ExpiryIn"];
    assert_eq!(expiry["required"], json!(["expires_at"]), "{expiry}");
    assert_eq!(
        expiry["properties"]["expires_at"]["type"],
        json!(["string", "null"]),
        "{expiry}"
    );
}
