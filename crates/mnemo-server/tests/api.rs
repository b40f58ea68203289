//! The HTTP API end to end, in process: namespaces, memories, recall,
//! links, watch, stats, proofs, metrics, auth and the error shape.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::TestApp;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn memories_round_trip_through_every_route() {
    let t = TestApp::new();
    t.create("alice").await;
    let (status, body) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(&t.writer),
            Some(json!({"memories": [
                {"content": "Alice moved to Paris in May 2023", "tags": ["alice", "move"],
                 "source": "chat", "kind": "semantic", "importance": 0.9,
                 "metadata": {"city": "Paris", "year": 2023, "sure": true},
                 "at": "2023-05-02T10:00:00Z", "valid": {"from": "2023-05-01"}},
                {"content": "Bob drinks green tea every morning", "tags": ["bob"]},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ids: Vec<u64> = serde_json::from_value(body["ids"].clone()).expect("ids");
    assert_eq!(ids.len(), 2);

    let (status, got) = t
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/memories/{}", ids[0]),
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let m = &got["memory"];
    assert_eq!(m["content"], "Alice moved to Paris in May 2023");
    assert_eq!(m["kind"], "semantic");
    assert_eq!(m["tags"], json!(["alice", "move"]));
    assert_eq!(
        m["metadata"],
        json!({"city": "Paris", "year": 2023, "sure": true})
    );
    assert_eq!(m["at"], "2023-05-02T10:00:00Z");
    assert_eq!(m["valid"]["from"], "2023-05-01T00:00:00Z");
    assert_eq!(got["links"], json!({"outgoing": [], "incoming": []}));

    // List with a filter, then the full query form.
    let (status, list) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/memories?tag=bob&limit=5",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["memories"][0]["id"], ids[1]);
    let (status, list) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories/query",
            Some(&t.reader),
            Some(
                json!({"filter": {"metadata": {"city": "Paris"}}, "order_by": "importance",
                        "descending": true}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["memories"][0]["id"], ids[0]);

    // Revise, retag, link, unlink, forget.
    let path = format!("/v1/namespaces/alice/memories/{}", ids[1]);
    let (status, revised) = t
        .call(
            Method::PATCH,
            &path,
            Some(&t.writer),
            Some(json!({"content": "Bob drinks black tea", "importance": 0.2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revised}");
    assert_eq!(revised["content"], "Bob drinks black tea");
    let (status, retagged) = t
        .call(
            Method::POST,
            &format!("{path}/tags"),
            Some(&t.writer),
            Some(json!({"add": ["tea"], "remove": ["bob"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{retagged}");
    assert_eq!(retagged["tags"], json!(["tea"]));
    let (status, link) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/links",
            Some(&t.writer),
            Some(json!({"from": ids[0], "to": ids[1], "kind": "refers_to", "weight": 0.5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let (_, detail) = t.call(Method::GET, &path, Some(&t.reader), None).await;
    assert_eq!(detail["links"]["incoming"][0]["from"], ids[0]);
    let (status, gone) = t
        .call(
            Method::DELETE,
            &format!(
                "/v1/namespaces/alice/links?from={}&to={}&kind=refers_to",
                ids[0], ids[1]
            ),
            Some(&t.writer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!(
                "/v1/namespaces/alice/links?from={}&to={}&kind=refers_to",
                ids[0], ids[1]
            ),
            Some(&t.writer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, forgotten) = t.call(Method::DELETE, &path, Some(&t.writer), None).await;
    assert_eq!(status, StatusCode::OK, "{forgotten}");
    assert_eq!(forgotten, json!({"id": ids[1], "forgotten": true}));
    let (status, err) = t.call(Method::GET, &path, Some(&t.reader), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "not_found");
}

#[tokio::test]
async fn recall_explains_its_hits_and_draws_the_graph() {
    let t = TestApp::new();
    t.create("alice").await;
    let ids = t
        .remember(
            "alice",
            &[
                "Caroline went to the LGBTQ support group on Tuesday",
                "She said the group made her feel accepted",
                "Melanie painted a sunrise over the lake",
                "The weather was rainy all week",
            ],
        )
        .await;
    let (status, r) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(json!({"query": "support group Caroline", "k": 3, "graph": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let hits = r["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["memory"]["id"], ids[0]);
    assert!(hits[0]["signals"]["keyword"]["rank"].as_u64().is_some());
    let shares = hits[0]["explanation"]["contributions"]
        .as_object()
        .expect("explained");
    assert!(shares.contains_key("keyword"), "{shares:?}");
    assert!(r["complete"].as_bool().expect("complete"));
    let nodes = r["graph"]["nodes"].as_array().expect("graph");
    assert!(nodes.iter().any(|n| n["id"] == ids[0] && n["hit"] == true));
    assert!(nodes.iter().any(|n| n["seed"] == true));
    // Without explain/graph the answer carries neither.
    let (_, plain) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(json!({"query": "weather this week", "k": 1})),
        )
        .await;
    assert!(plain.get("graph").is_none());
    assert!(plain["hits"][0].get("explanation").is_none());
    assert_eq!(plain["hits"][0]["memory"]["id"], ids[3]);
    assert_eq!(plain["hits"][0]["id"], ids[3]);
    // Without memories: the same hit, its id and score, no memory body.
    let (status, bare) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(json!({"query": "weather this week", "k": 1, "include_memory": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bare}");
    assert_eq!(bare["hits"][0]["id"], ids[3]);
    assert_eq!(bare["hits"][0]["score"], plain["hits"][0]["score"]);
    assert!(bare["hits"][0].get("memory").is_none(), "{bare}");
    // Bad options name the field.
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(json!({"query": "rain", "k": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"].as_str().expect("msg").contains('k'),
        "{err}"
    );
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(json!({"query": "rain", "weights": {"vector": -1}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn recall_takes_a_query_vector_of_the_namespace_dimension() {
    use mnemo_embed::Embedder;

    let t = TestApp::new();
    t.create("alice").await;
    let texts = [
        "Caroline went to the LGBTQ support group on Tuesday",
        "Melanie painted a sunrise over the lake",
        "The weather was rainy all week",
    ];
    let ids = t.remember("alice", &texts).await;
    let recall = |body| {
        t.call(
            Method::POST,
            "/v1/namespaces/alice/recall",
            Some(&t.reader),
            Some(body),
        )
    };
    // The server's embedder: a vector the caller computed itself.
    let vector = mnemo_embed::HashEmbedder::new()
        .embed(texts[1])
        .expect("the hash embedder embeds");
    let (status, r) = recall(json!({"query": "an unrelated text", "k": 1, "vector": vector})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["hits"][0]["memory"]["id"], ids[1], "{r}");
    assert!(
        r["hits"][0]["signals"]["vector"]["rank"].as_u64().is_some(),
        "{r}"
    );

    // A vector of another dimension is refused naming the field and both
    // dimensions; one that is not a list of numbers, naming the entry.
    let (_, stats) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/stats",
            Some(&t.reader),
            None,
        )
        .await;
    let dimension = stats["dimension"].as_u64().expect("a dimension");
    let wrong =
        format!("vector: 2 numbers, but namespace alice's embedder has dimension {dimension}");
    for (vector, expected) in [
        (json!([0.5, 0.5]), wrong.as_str()),
        (json!(["a"]), "the body does not fit: vector[0]: "),
    ] {
        let (status, err) = recall(json!({"query": "x", "vector": vector})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let message = err["error"]["message"].as_str().expect("a message");
        assert!(message.starts_with(expected), "{message}");
    }

    // The OpenAPI document describes the field.
    let (_, doc) = t.call(Method::GET, "/v1/openapi.json", None, None).await;
    let field = &doc["components"]["schemas"]["RecallIn"]["properties"]["vector"];
    assert!(
        field["description"]
            .as_str()
            .is_some_and(|d| d.contains("embedding")),
        "{field}"
    );
    assert_eq!(field["items"]["type"], "number", "{field}");
}

#[tokio::test]
async fn tokens_are_checked_for_namespace_and_right() {
    let t = TestApp::new();
    t.create("alice").await;
    t.create("bob").await;
    let body = json!({"memories": [{"content": "x"}]});
    // No token, a wrong token, a malformed header.
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "unauthorized");
    let (status, _) = t
        .call(
            Method::GET,
            "/v1/namespaces",
            Some("mnemo_not-a-real-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The writer may write to alice but not bob; the reader may not write.
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(&t.writer),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/bob/memories",
            Some(&t.writer),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "forbidden");
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(&t.reader),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Namespaces outside a token's scope are neither listed nor revealed.
    let (_, list) = t
        .call(Method::GET, "/v1/namespaces", Some(&t.reader), None)
        .await;
    assert_eq!(list["namespaces"], json!(["alice"]));
    let (status, _) = t
        .call(
            Method::GET,
            "/v1/namespaces/nobody/stats",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .call(
            Method::GET,
            "/v1/namespaces/nobody/stats",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only admin creates namespaces; metrics need read on every namespace.
    let (status, _) = t
        .call(
            Method::POST,
            "/v1/namespaces",
            Some(&t.writer),
            Some(json!({"name": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.call(Method::GET, "/metrics", Some(&t.reader), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Public routes need nothing.
    for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
        let (status, _) = t.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn stats_root_proof_and_metrics_agree() {
    let t = TestApp::new();
    t.create("alice").await;
    let ids = t.remember("alice", &["one", "two", "three"]).await;
    let (_, stats) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/stats",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(stats["memories"], 3);
    assert_eq!(stats["embedder"], "hash-v1");
    let (_, root) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/root",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(root["length"], stats["events"]);
    let (status, proof) = t
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/proof/{}", ids[1]),
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["root"], root["root"]);
    assert_eq!(proof["length"], root["length"]);
    let (status, text) = t
        .call_raw(Method::GET, "/metrics", Some(&t.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(text).expect("utf-8");
    assert!(
        text.contains("mnemo_memories{namespace=\"alice\"} 3"),
        "{text}"
    );
    assert!(
        text.contains(
            "mnemo_http_requests_total{method=\"GET\",route=\"/v1/namespaces/{ns}/stats\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("mnemo_http_request_duration_seconds_bucket"));
    assert!(text.contains("mnemo_log_bytes{namespace=\"alice\"}"));
    assert!(text.contains("mnemo_namespaces 1"));
}

#[tokio::test]
async fn watch_streams_the_result_then_each_change() {
    let t = TestApp::new();
    t.create("alice").await;
    t.remember("alice", &["before"]).await;
    let req = Request::get("/v1/namespaces/alice/watch?contains=tea")
        .header("authorization", format!("Bearer {}", t.reader))
        .body(Body::empty())
        .expect("request");
    let response = t.app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut seen = String::new();
    let mut next = async |seen: &mut String, want: &str| {
        while !seen.contains(want) {
            let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
                .await
                .expect("an event within 5 s")
                .expect("stream open")
                .expect("frame");
            if let Ok(data) = frame.into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
    };
    next(&mut seen, "event: current").await;
    assert!(seen.contains("\"memories\":[]"), "{seen}");
    let ids = t.remember("alice", &["green tea", "coffee"]).await;
    next(&mut seen, "event: added").await;
    next(&mut seen, "green tea").await;
    assert!(!seen.contains("coffee"), "{seen}");
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/v1/namespaces/alice/memories/{}", ids[0]),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    next(&mut seen, "event: removed").await;
    assert!(seen.contains(&format!("{{\"id\":{}}}", ids[0])), "{seen}");
}

#[tokio::test]
async fn errors_have_one_shape_and_the_right_status() {
    let t = TestApp::new();
    t.create("alice").await;
    let cases: Vec<(Method, &str, Option<serde_json::Value>, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/v1/nowhere",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/namespaces/alice/recall",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/v1/namespaces/alice/memories/abc",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(json!({"memories": []})),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(json!({"memories": [{"content": 5}]})),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(json!({"memories": [{"content": "x", "importance": 3}]})),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(json!({"memories": [{"content": "x", "at": "yesterday"}]})),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/v1/namespaces/..%2Fetc/stats",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/v1/namespaces/alice/memories?limit=5000",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/v1/namespaces/alice/memories?colour=red",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, err) = t.call(method.clone(), path, Some(&t.admin), body).await;
        assert_eq!(got, status, "{method} {path}: {err}");
        assert_eq!(err["error"]["code"], code, "{method} {path}: {err}");
        assert!(
            !err["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{method} {path}: {err}"
        );
    }
    // Not JSON at all, and JSON without the content type.
    let req = Request::post("/v1/namespaces/alice/memories")
        .header("authorization", format!("Bearer {}", t.admin))
        .header("content-type", "application/json")
        .body(Body::from("{\"memories\": ["))
        .expect("request");
    let response = t.app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let req = Request::post("/v1/namespaces/alice/memories")
        .header("authorization", format!("Bearer {}", t.admin))
        .body(Body::from("{\"memories\": [{\"content\": \"x\"}]}"))
        .expect("request");
    let response = t.app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing of the refused writes was stored.
    let (_, stats) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/stats",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(stats["memories"], 0);
}

#[tokio::test]
async fn batches_are_bounded_and_namespaces_are_created_once() {
    let mut config = mnemo_server::Config::default();
    config.limits.batch = 3;
    let t = TestApp::with_config(config);
    let (status, created) = t
        .call(
            Method::POST,
            "/v1/namespaces",
            Some(&t.admin),
            Some(json!({"name": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["created"], true);
    let (status, again) = t
        .call(
            Method::POST,
            "/v1/namespaces",
            Some(&t.admin),
            Some(json!({"name": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["created"], false);
    let four: Vec<_> = (0..4)
        .map(|i| json!({"content": format!("m{i}")}))
        .collect();
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(&t.admin),
            Some(json!({"memories": four})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("limits.batch")
    );
    // A bad memory in a batch refuses the whole batch.
    let (status, err) = t
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories",
            Some(&t.admin),
            Some(json!({"memories": [{"content": "ok"}, {"content": "  "}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (_, stats) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/stats",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(stats["memories"], 0);
}
