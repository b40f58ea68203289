//! Lifecycle over HTTP: deadlines on remember (`expires_at`,
//! `ttl_seconds`), in a memory's detail, set and cleared with
//! `PUT .../memories/{id}/expiry`, swept with `POST .../expire`; a server
//! whose `[lifecycle]` merges or flags near-duplicate writes;
//! consolidation (`POST .../consolidate`, the provenance in a memory's
//! detail, recall's `prefer_consolidated`); and the tiers under a
//! `[lifecycle]` memory budget (`GET .../tiers`, `POST .../tiers/rebalance`,
//! each hit's tier and strength, recall's `scan_cold`).

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
    for (path, method, id, right) in [
        (
            "/v1/namespaces/{ns}/consolidate",
            "post",
            "consolidateMemories",
            "write",
        ),
        ("/v1/namespaces/{ns}/tiers", "get", "getTiers", "read"),
        (
            "/v1/namespaces/{ns}/tiers/rebalance",
            "post",
            "rebalanceTiers",
            "write",
        ),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["operationId"], id, "{path}: {op}");
        assert_eq!(op["x-mnemo-right"], right, "{path}");
        assert!(op["responses"]["200"].is_object(), "{path}: {op}");
        assert!(op["responses"]["default"].is_object(), "{path}: {op}");
    }
    let consolidate = &schemas["ConsolidateMemoriesIn"]["properties"];
    for field in [
        "filter",
        "max_episodes",
        "similarity",
        "min_group",
        "max_group",
        "max_sentences",
        "max_summary_bytes",
        "dry_run",
    ] {
        assert!(consolidate[field].is_object(), "{field}: {consolidate}");
    }
    assert_eq!(consolidate["similarity"]["maximum"], 1.0, "{consolidate}");
    let out = schemas["ConsolidatedOut"].to_string();
    for field in [
        "considered",
        "planned",
        "created",
        "deferred",
        "groups",
        "took_ms",
    ] {
        assert!(out.contains(field), "{field}: {out}");
    }
    let tiers = &schemas["TiersOut"]["properties"];
    for field in ["hot", "warm", "cold", "moved", "resident_bytes", "budget"] {
        assert!(tiers[field].is_object(), "{field}: {tiers}");
    }
    let hit = &schemas["HitOut"]["properties"];
    assert_eq!(hit["tier"]["enum"], json!(["hot", "warm", "cold"]), "{hit}");
    assert!(hit["strength"].is_object(), "{hit}");
    let recall = &schemas["RecallIn"]["properties"];
    assert!(recall["prefer_consolidated"].is_object() && recall["scan_cold"].is_object());
    for field in ["derived_from", "consolidated_into", "tier"] {
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

/// `POST .../consolidate` with `body`, as `token`.
async fn consolidate(app: &TestApp, token: &str, body: Json) -> (StatusCode, Json) {
    app.call(
        Method::POST,
        "/v1/namespaces/alice/consolidate",
        Some(token),
        Some(body),
    )
    .await
}

/// `POST .../recall` with `body`, as the reader; the answer must be 200.
async fn recall(app: &TestApp, body: Json) -> Json {
    let (status, hits) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&app.reader),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    hits
}

/// The hit for memory `id` in a recall answer, if there is one.
fn hit(answer: &Json, id: u64) -> Option<&Json> {
    answer["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["id"] == id)
}

/// The ids of a recall answer's hits.
fn hit_ids(answer: &Json) -> Vec<u64> {
    answer["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_u64().expect("id"))
        .collect()
}

fn u64s(value: &Json) -> Vec<u64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_u64().expect("an id"))
        .collect()
}

const TRIP: [&str; 3] = [
    "Melanie flew to Lisbon for the tile museum",
    "Melanie walked around Lisbon and the tile museum",
    "Melanie loved the tile museum in Lisbon",
];
const CLASS: [&str; 3] = [
    "Caroline started a pottery class downtown",
    "Caroline glazed a bowl at the pottery class",
    "Caroline finished the pottery class course",
];

#[tokio::test]
async fn consolidating_an_empty_namespace_writes_nothing() {
    let app = TestApp::new();
    app.create("alice").await;
    let before = events(&app).await;
    let (status, done) = consolidate(&app, &app.writer, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["considered"], 0, "{done}");
    assert_eq!(done["planned"], 0, "{done}");
    assert_eq!(done["deferred"], 0, "{done}");
    assert_eq!(done["created"], json!([]), "{done}");
    assert_eq!(done["groups"], json!([]), "{done}");
    assert_eq!(done["seq"], Json::Null, "{done}");
    assert_eq!(done["dry_run"], false, "{done}");
    assert!(
        done["took_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{done}"
    );
    assert_eq!(events(&app).await, before);
    assert_eq!(total(&app).await, 0);
}

#[tokio::test]
async fn consolidation_over_http_writes_summaries_linked_to_their_sources() {
    let app = TestApp::new();
    app.create("alice").await;
    let trip = app.remember("alice", &TRIP).await;
    let class = app.remember("alice", &CLASS).await;
    let settings = json!({"similarity": 0.3});

    // A dry run plans and writes nothing.
    let before = events(&app).await;
    let mut dry_body = settings.clone();
    dry_body["dry_run"] = json!(true);
    let (status, dry) = consolidate(&app, &app.writer, dry_body).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["considered"], 6, "{dry}");
    assert_eq!(dry["created"], json!([]), "{dry}");
    let planned = dry["planned"].as_u64().expect("planned");
    assert!(planned >= 1, "{dry}");
    assert!(dry["groups"][0]["id"].is_null(), "{dry}");
    assert_eq!(events(&app).await, before, "a dry run writes nothing");

    // Reading is not enough to consolidate.
    let (status, _) = consolidate(&app, &app.reader, settings.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, done) = consolidate(&app, &app.writer, settings.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["considered"], 6, "{done}");
    assert_eq!(done["planned"], planned, "{done}");
    assert_eq!(done["deferred"], 0, "{done}");
    assert!(done["seq"].as_u64().is_some(), "{done}");
    let created = u64s(&done["created"]);
    assert_eq!(created.len() as u64, planned, "{done}");
    assert_eq!(total(&app).await, 6 + planned, "the sources stay");
    let groups = done["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), created.len());
    for (group, &id) in groups.iter().zip(&created) {
        assert_eq!(group["id"], id, "{group}");
        let sources = u64s(&group["sources"]);
        assert!(sources.len() >= 3, "min_group 3: {group}");
        assert!(
            sources.iter().all(|s| trip.contains(s)) || sources.iter().all(|s| class.contains(s)),
            "one topic per group: {group}"
        );
        let (status, got) = detail(&app, id).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["derived_from"], json!(sources), "{got}");
        assert_eq!(got["consolidated_into"], json!([]), "{got}");
        assert_eq!(got["memory"]["kind"], "semantic", "{got}");
        assert_eq!(got["memory"]["content"], group["content"], "{got}");
        assert!(
            got["memory"]["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("consolidated"))),
            "{got}"
        );
        for source in sources {
            let (_, got) = detail(&app, source).await;
            assert_eq!(got["consolidated_into"], json!([id]), "{got}");
            assert_eq!(got["derived_from"], json!([]), "{got}");
        }
    }

    // A memory that was not consolidated has empty provenance.
    let plain = app.remember("alice", &["the user lives in Porto"]).await[0];
    let (_, got) = detail(&app, plain).await;
    assert_eq!(got["derived_from"], json!([]), "{got}");
    assert_eq!(got["consolidated_into"], json!([]), "{got}");

    // Used memories are not considered again.
    let (status, again) = consolidate(&app, &app.writer, settings).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], json!([]), "{again}");

    // With prefer_consolidated the summary stands for its sources.
    let first = &groups[0];
    let summary = created[0];
    let sources = u64s(&first["sources"]);
    let query = json!({"query": TRIP[2], "k": 20, "include_memory": false});
    let plain_hits = hit_ids(&recall(&app, query.clone()).await);
    assert!(
        sources.iter().any(|s| plain_hits.contains(s)),
        "{plain_hits:?}"
    );
    let mut preferring = query;
    preferring["prefer_consolidated"] = json!(true);
    let preferred = hit_ids(&recall(&app, preferring).await);
    assert!(preferred.contains(&summary), "{preferred:?}");
    assert!(
        sources.iter().all(|s| !preferred.contains(s)),
        "the sources leave: {preferred:?}"
    );
}

#[tokio::test]
async fn bad_consolidation_settings_name_the_field_and_write_nothing() {
    let app = TestApp::new();
    app.create("alice").await;
    app.remember("alice", &TRIP).await;
    let before = events(&app).await;
    for (body, field) in [
        (json!({"min_group": 1}), "min_group: "),
        (json!({"similarity": 1.5}), "similarity: "),
        (json!({"similarity": -0.1}), "similarity: "),
        (json!({"similarity": "high"}), "similarity"),
        (json!({"min_group": 5, "max_group": 4}), "max_group: "),
        (json!({"max_group": 100000}), "max_group: "),
        (json!({"max_sentences": 0}), "max_sentences: "),
        (json!({"max_summary_bytes": 10}), "max_summary_bytes: "),
        (
            json!({"max_summary_bytes": 10000000}),
            "max_summary_bytes: ",
        ),
        (json!({"max_episodes": 0}), "max_episodes: "),
        (json!({"max_episodes": 1000000}), "max_episodes: "),
        (json!({"max_episodes": -3}), "max_episodes"),
        (json!({"dry_run": "yes"}), "dry_run"),
        (json!({"filter": {"at_from": "yesterday"}}), "at_from: "),
        (json!({"filter": {"colour": "red"}}), "colour"),
        (json!({"groups": 3}), "groups"),
    ] {
        let (status, err) = consolidate(&app, &app.writer, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(events(&app).await, before, "refused settings write nothing");
    assert_eq!(total(&app).await, 3);
}

/// `METHOD .../{path}` (no body) as `token`; the answer must be 200.
async fn tiers(app: &TestApp, method: Method, path: &str, token: &str) -> Json {
    let (status, body) = app
        .call(
            method,
            &format!("/v1/namespaces/alice/{path}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Sixteen unrelated memories, oldest first.
const NOTES: [&str; 16] = [
    "the spare house key hides under the blue flowerpot",
    "the dentist appointment moved to thursday afternoon",
    "the wifi password for the cabin is written on the fridge",
    "grandma's lasagna recipe needs three kinds of cheese",
    "the car insurance renews every march",
    "the office printer jams when paper is damp",
    "the passport expires in the autumn of next year",
    "the neighbour's cat is called biscuit",
    "the gym closes early on public holidays",
    "the backup drive sits in the left desk drawer",
    "the plumber recommended replacing the kitchen valve",
    "the library books are due back on the fifth",
    "the bicycle tyre pressure should be sixty psi",
    "the tax documents live in the green folder",
    "the train to the airport leaves from platform nine",
    "the garden hose leaks near the tap connector",
];

#[tokio::test]
async fn tiers_under_a_budget_move_memories_out_of_hot_and_recall_says_where() {
    // Hash vectors of 384 numbers: the tiers plan about 3 KB for a hot
    // vector and 0.5 KB for a warm one, so 6,000 bytes hold one hot, a few
    // warm and the rest cold. On disk, so cold vectors are read from the log files.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = Config::parse("[lifecycle]\nmax_resident_bytes = 6000").expect("valid config");
    let options = config
        .lifecycle
        .apply(common::options())
        .expect("a valid [lifecycle]");
    let engine = mnemo::Mnemo::open_with(dir.path(), options).expect("the engine opens");
    let app = TestApp::with_engine(config, engine);
    app.create("alice").await;
    let ids = app.remember("alice", &NOTES).await;

    // The newest memory is the strongest until the oldest is used.
    for _ in 0..3 {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/namespaces/alice/memories/touch",
                Some(&app.writer),
                Some(json!({"ids": [ids[0]]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let report = tiers(&app, Method::POST, "tiers/rebalance", &app.writer).await;
    assert_eq!(report["budget"], 6000, "{report}");
    let (hot, warm, cold) = (
        report["hot"].as_u64().expect("hot"),
        report["warm"].as_u64().expect("warm"),
        report["cold"].as_u64().expect("cold"),
    );
    assert_eq!(hot + warm + cold, 16, "{report}");
    assert!((1..16).contains(&hot), "{report}");
    assert!(cold >= 1, "{report}");
    assert!(report["moved"].as_u64().is_some(), "{report}");
    let resident = report["resident_bytes"].as_u64().expect("resident_bytes");
    assert!(resident > 0, "{report}");

    // The report alone moves nothing and says the same.
    let now = tiers(&app, Method::GET, "tiers", &app.reader).await;
    assert_eq!(now["moved"], 0, "{now}");
    for field in ["hot", "warm", "cold", "budget"] {
        assert_eq!(now[field], report[field], "{field}: {now} vs {report}");
    }
    // Reading is not enough to rebalance.
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/tiers/rebalance",
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The used memory is hot; the oldest unused one is cold, in its
    // detail and in the hits.
    assert_eq!(detail(&app, ids[0]).await.1["tier"], "hot");
    let coldest = ids[1];
    assert_eq!(detail(&app, coldest).await.1["tier"], "cold");
    let answer = recall(&app, json!({"query": NOTES[1], "k": 16})).await;
    let cold_hit = hit(&answer, coldest).expect("found by its keywords");
    assert_eq!(cold_hit["tier"], "cold", "{cold_hit}");
    // Found by its keywords, it is scored by its vector (read from the log).
    assert!(
        cold_hit["signals"]["vector"]["score"]
            .as_f64()
            .expect("vector")
            > 0.99,
        "{cold_hit}"
    );
    let answer = recall(&app, json!({"query": NOTES[0], "k": 16})).await;
    let hot_hit = hit(&answer, ids[0]).expect("found");
    assert_eq!(hot_hit["tier"], "hot", "{hot_hit}");
    let strength = |h: &Json| h["strength"].as_f64().expect("strength");
    assert!(
        strength(hot_hit) > strength(cold_hit),
        "use makes strength: {hot_hit} {cold_hit}"
    );
    let touched = detail(&app, ids[0]).await.1;
    assert_eq!(touched["touches"], 3, "{touched}");

    // Scanning the cold tier finds the cold memory by its vector too.
    let scanned = recall(&app, json!({"query": NOTES[1], "k": 16, "scan_cold": true})).await;
    let found = hit(&scanned, coldest).expect("found");
    assert_eq!(found["tier"], "cold", "{found}");
    assert_eq!(found["signals"]["vector"]["rank"], 1, "{found}");
}

#[tokio::test]
async fn without_a_budget_every_memory_stays_hot() {
    let app = TestApp::new();
    app.create("alice").await;
    let ids = app.remember("alice", &NOTES[..4]).await;
    let (status, report) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/tiers/rebalance",
            Some(&app.writer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            &report["hot"],
            &report["warm"],
            &report["cold"],
            &report["moved"],
            &report["budget"]
        ),
        (&json!(4), &json!(0), &json!(0), &json!(0), &Json::Null),
        "{report}"
    );
    let answer = recall(&app, json!({"query": NOTES[2], "k": 4})).await;
    let first = hit(&answer, ids[2]).expect("found");
    assert_eq!(first["tier"], "hot", "{first}");
    assert!(first["strength"].as_f64().is_some(), "{first}");
    assert_eq!(detail(&app, ids[2]).await.1["tier"], "hot");
}
