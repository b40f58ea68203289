//! Raw events over HTTP: the three ingest forms, the streaming ingest
//! (including a producer that disconnects mid-line), tailing, counters and
//! metrics, promotion from the server's `[ingest]` rules, backpressure
//! answers, and bad input refused whole.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::TestApp;
use http_body_util::BodyExt;
use mnemo_server::Config;
use mnemo_server::events_binary::{BinaryEvent, encode_into};
use serde_json::{Value as Json, json};
use tower::ServiceExt;

async fn send(app: &TestApp, path: &str, content_type: &str, body: Body) -> (StatusCode, Json) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", content_type)
        .body(body)
        .expect("request");
    let response = app.app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
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

async fn written(app: &TestApp) -> u64 {
    let (status, stats) = app
        .call(
            Method::GET,
            "/v1/namespaces/alice/events/stats",
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    stats["shards"].as_array().map_or(0, |s| {
        s.iter()
            .map(|s| s["written"].as_u64().expect("written"))
            .sum()
    })
}

#[tokio::test]
async fn three_forms_are_acknowledged_and_read_back() {
    let app = TestApp::new();
    app.create("alice").await;
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/events",
            Some(&app.writer),
            Some(json!({"events": [
                {"type": "tool_result", "producer": "agent-1",
                 "at": "2026-12-01T10:00:00Z", "payload": {"tool": "search", "error": "timeout"}},
                {"type": "note", "producer": 7, "data": "plain text"},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"accepted": 2, "dropped": 0}));
    let lines = "{\"type\":\"note\",\"data\":\"a\"}\n\n{\"type\":\"note\",\"data\":\"b\"}\r\n{\"type\":\"note\",\"data\":\"c\"}";
    let (status, body) = send(
        &app,
        "/v1/namespaces/alice/events",
        "application/x-ndjson",
        Body::from(lines),
    )
    .await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{body}"
    );
    let mut binary = Vec::new();
    for payload in [&b"\xff\x00raw"[..], b"{\"n\":1}"] {
        encode_into(
            &BinaryEvent {
                kind: "sensor",
                producer: 9,
                at_nanos: 0,
                payload,
            },
            &mut binary,
        );
    }
    let (status, body) = send(
        &app,
        "/v1/namespaces/alice/events",
        "application/vnd.mnemo.events",
        Body::from(binary),
    )
    .await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{body}"
    );

    let (status, tail) = app
        .call(
            Method::GET,
            "/v1/namespaces/alice/events?max=100",
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tail}");
    let events = tail["events"].as_array().expect("events");
    assert_eq!(events.len(), 7);
    let find =
        |pred: &dyn Fn(&Json) -> bool| events.iter().find(|e| pred(e)).cloned().expect("event");
    let tool = find(&|e| e["type"] == "tool_result");
    assert_eq!(
        tool["payload"],
        json!({"tool": "search", "error": "timeout"})
    );
    assert_eq!(tool["at"], "2026-12-01T10:00:00Z");
    assert_eq!(find(&|e| e["data"] == "plain text")["producer"], 7);
    assert_eq!(
        find(&|e| e["type"] == "sensor" && e["payload"].is_object())["payload"]["n"],
        1
    );
    assert_eq!(
        find(&|e| e.get("data_base64").is_some())["data_base64"],
        "/wByYXc="
    );
    assert_eq!(tail["lag"], 0);
    let next = tail["next"].as_str().expect("next").to_owned();
    let (_, again) = app
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/events?from={next}"),
            Some(&app.reader),
            None,
        )
        .await;
    assert_eq!(again["events"], json!([]));
    assert_eq!(written(&app).await, 7);

    let (status, metrics) = app
        .call_raw(Method::GET, "/metrics", Some(&app.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8(metrics).expect("text");
    assert!(
        metrics.contains("mnemo_events_written_total{namespace=\"alice\"} 7"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mnemo_events_dropped_total{namespace=\"alice\",reason=\"rejected\"} 0")
    );

    // Reading needs read, writing needs write.
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/events",
            Some(&app.reader),
            Some(json!({"events": []})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_input_is_refused_whole_and_names_what_is_wrong() {
    let app = TestApp::new();
    app.create("alice").await;
    let path = "/v1/namespaces/alice/events";
    let cases: Vec<(Json, &str)> = vec![
        (
            json!({"events": [{"type": "ok", "data": "x"}, {"type": "ok", "colour": 1}]}),
            "colour",
        ),
        (
            json!({"events": [{"type": "ok", "data": "x", "payload": {}}]}),
            "not both",
        ),
        (
            json!({"events": [{"type": "bad type", "data": "x"}]}),
            "bad type",
        ),
        (json!({"events": [{"type": "ok", "at": "yesterday"}]}), "at"),
        (
            json!({"events": [{"type": "ok", "data": "x".repeat(70_000)}]}),
            "max_event_bytes",
        ),
    ];
    for (body, needle) in cases {
        let (status, answer) = app
            .call(Method::POST, path, Some(&app.admin), Some(body))
            .await;
        assert!(status.is_client_error(), "{status} {answer}");
        assert!(answer.to_string().contains(needle), "{needle}: {answer}");
    }
    let (status, answer) = send(
        &app,
        path,
        "application/x-ndjson",
        Body::from("{\"type\":\"ok\"}\n{oops\n"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer.to_string().contains("line 2"), "{answer}");
    let (status, answer) = send(
        &app,
        path,
        "application/vnd.mnemo.events",
        Body::from(vec![3u8, b'a']),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer.to_string().contains("event 0 at byte 0"), "{answer}");
    let (status, _) = send(&app, path, "text/plain", Body::from("x")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for query in [
        "from=x",
        "max=0",
        "max=10001",
        "wait_ms=40000",
        "from=1,2,3",
    ] {
        let (status, answer) = app
            .call(
                Method::GET,
                &format!("{path}?{query}"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
    assert_eq!(
        written(&app).await,
        0,
        "nothing of a refused request was written"
    );
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/namespaces/nobody/events",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn streaming_ingest_acknowledges_batches_and_survives_a_disconnect() {
    let app = TestApp::new();
    app.create("alice").await;
    let line =
        |i: usize| format!("{{\"type\":\"tick\",\"producer\":1,\"payload\":{{\"i\":{i}}}}}\n");
    let all: String = (0..50).map(line).collect();
    // Chunks that split lines anywhere.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        all.as_bytes().chunks(37).map(|c| Ok(c.to_vec())).collect();
    let (status, acks) = send(
        &app,
        "/v1/namespaces/alice/events/stream",
        "application/x-ndjson",
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let acks: Vec<Json> = acks
        .as_str()
        .expect("JSON lines")
        .lines()
        .map(|l| serde_json::from_str(l).expect("ack line"))
        .collect();
    let last = acks.last().expect("a final line");
    assert_eq!(last["done"], true);
    assert_eq!(
        (last["acked"].as_u64(), last["lines"].as_u64()),
        (Some(50), Some(50))
    );
    assert!(
        acks.windows(2)
            .all(|w| w[0]["acked"].as_u64() <= w[1]["acked"].as_u64())
    );
    assert_eq!(written(&app).await, 50);

    // Two whole lines and half of a third, then the connection breaks.
    let partial = format!("{}{}{}", line(50), line(51), &line(52)[..20]);
    let broken: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(partial.into_bytes()),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "gone",
        )),
    ];
    let _ = send(
        &app,
        "/v1/namespaces/alice/events/stream",
        "application/x-ndjson",
        Body::from_stream(futures_util::stream::iter(broken)),
    )
    .await;
    let began = Instant::now();
    while written(&app).await < 52 && began.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        written(&app).await,
        52,
        "the whole lines went in, the cut one did not"
    );

    // A bad line ends the exchange with an error naming it.
    let (status, acks) = send(
        &app,
        "/v1/namespaces/alice/events/stream",
        "application/x-ndjson",
        Body::from(format!("{}not json\n{}", line(0), line(1))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = acks
        .as_str()
        .map_or_else(|| acks.to_string(), str::to_owned);
    assert!(text.contains("line 2"), "{text}");
    assert_eq!(
        written(&app).await,
        52,
        "a batch with a bad line is refused whole"
    );
}

fn config_with(f: impl FnOnce(&mut Config)) -> (Config, mnemo::Mnemo) {
    let mut config = Config::default();
    f(&mut config);
    let options = mnemo::Options::default()
        .embedder(Arc::new(mnemo_embed::HashEmbedder::new()))
        .ingest(
            config
                .ingest
                .options(mnemo::SyncPolicy::Always)
                .expect("valid [ingest]"),
        );
    (config, mnemo::Mnemo::in_memory_with(options))
}

#[tokio::test]
async fn rules_from_the_config_promote_events_to_memories() {
    let (config, engine) = config_with(|c| {
        c.ingest = toml::from_str(
            r#"
            [[rules]]
            name = "tool-errors"
            types = ["tool_result"]
            when = { exists = "error" }
            content = "{tool} failed: {error}"
            tags = ["tool-error"]
            tag_fields = ["tool"]
            "#,
        )
        .expect("[ingest] TOML");
    });
    let app = TestApp::with_engine(config, engine);
    app.create("alice").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/events",
            Some(&app.writer),
            Some(json!({"events": [
                {"type": "tool_result", "payload": {"tool": "search", "error": "rate limited"}},
                {"type": "tool_result", "payload": {"tool": "search", "result": 3}},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let began = Instant::now();
    loop {
        let (_, list) = app
            .call(
                Method::GET,
                "/v1/namespaces/alice/memories?tag=tool-error",
                Some(&app.reader),
                None,
            )
            .await;
        let memories = list["memories"].as_array().cloned().unwrap_or_default();
        if let Some(m) = memories.first() {
            assert_eq!(memories.len(), 1);
            assert_eq!(m["content"], "search failed: rate limited");
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "never promoted: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The counters move just after the memory is written.
    loop {
        let (_, stats) = app
            .call(
                Method::GET,
                "/v1/namespaces/alice/events/stats",
                Some(&app.reader),
                None,
            )
            .await;
        if stats["promoted"] == 1 && stats["unmatched"] == 1 && stats["promotion_lag"] == 0 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "counters: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_full_stream_under_error_answers_429_after_writing_what_it_took() {
    let (config, engine) = config_with(|c| {
        c.ingest.backpressure = "error".into();
        c.ingest.ring_capacity = 2;
        c.ingest.shards = 1;
    });
    let app = TestApp::with_engine(config, engine);
    app.create("alice").await;
    let stream = app
        .state
        .namespace("alice")
        .expect("ns")
        .events()
        .expect("stream");
    stream.pause();
    let events: Vec<Json> = (0..3)
        .map(|i| json!({"type": "tick", "payload": {"i": i}}))
        .collect();
    let request = {
        let app_router = app.app.clone();
        let token = app.admin.clone();
        tokio::spawn(async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/v1/namespaces/alice/events")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(json!({ "events": events }).to_string()))
                .expect("request");
            let response = app_router.oneshot(req).await.expect("infallible");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.resume();
    let (status, body) = request.await.expect("request task");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body.contains("2 events of the batch before it were accepted"),
        "{body}"
    );
    assert_eq!(written(&app).await, 2);
}
