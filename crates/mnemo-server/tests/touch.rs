//! `POST .../memories/touch` and the strength in a memory's detail.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn touching_raises_strength_and_unknown_ids_change_nothing() {
    let app = TestApp::new();
    app.create("alice").await;
    let ids = app.remember("alice", &["dark mode", "light mode"]).await;
    let detail = |id: u64| {
        let app = &app;
        async move {
            let (status, body) = app
                .call(
                    Method::GET,
                    &format!("/v1/namespaces/alice/memories/{id}"),
                    Some(&app.reader),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            (
                body["strength"].as_f64().expect("strength"),
                body["touches"].as_u64().expect("touches"),
            )
        }
    };
    let (before, touches) = detail(ids[0]).await;
    assert_eq!(touches, 0);
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories/touch",
            Some(&app.writer),
            Some(json!({"ids": [ids[0], ids[0]]})),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"touched": 1})));
    let (after, touches) = detail(ids[0]).await;
    assert_eq!(touches, 1);
    assert!(after > before, "{after} > {before}");

    let (status, body) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories/touch",
            Some(&app.writer),
            Some(json!({"ids": [ids[1], 999]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(detail(ids[1]).await.1, 0, "a refused touch writes nothing");
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/namespaces/alice/memories/touch",
            Some(&app.reader),
            Some(json!({"ids": [ids[1]]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
