//! An in-process server for the API tests: the router over an in-memory
//! engine with the hash embedder, and tokens of each right.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{AppState, Config};
use serde_json::Value as Json;
use tower::ServiceExt;

/// The router and a token per right (`admin` on every namespace, `write`
/// and `read` on `alice` only).
pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub admin: String,
    pub writer: String,
    pub reader: String,
}

/// The engine's options with the hash embedder.
pub fn options() -> mnemo::Options {
    mnemo::Options::default().embedder(Arc::new(mnemo_embed::HashEmbedder::new()))
}

/// An engine in memory with the hash embedder.
pub fn engine() -> mnemo::Mnemo {
    mnemo::Mnemo::in_memory_with(options())
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// With `config`, its `[lifecycle]` applied to the engine as `mnemo
    /// serve` applies it.
    pub fn with_config(config: Config) -> Self {
        let options = config
            .lifecycle
            .apply(options())
            .expect("a valid [lifecycle]");
        Self::with_engine(config, mnemo::Mnemo::in_memory_with(options))
    }

    /// Over a given engine.
    pub fn with_engine(mut config: Config, engine: mnemo::Mnemo) -> Self {
        let admin = generate_token();
        let writer = generate_token();
        let reader = generate_token();
        config.tokens.push(TokenEntry::new(
            "admin",
            &admin,
            vec!["*".into()],
            vec![Right::Admin],
        ));
        config.tokens.push(TokenEntry::new(
            "writer",
            &writer,
            vec!["alice".into()],
            vec![Right::Write],
        ));
        config.tokens.push(TokenEntry::new(
            "reader",
            &reader,
            vec!["alice".into()],
            vec![Right::Read],
        ));
        let state = AppState::new(config, engine).expect("valid config");
        state.open_all();
        let app = mnemo_server::router(state.clone());
        Self {
            app,
            state,
            admin,
            writer,
            reader,
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Json>,
    ) -> (StatusCode, Json) {
        let (status, bytes) = self.call_raw(method, path, token, body).await;
        let json = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, json)
    }

    /// Sends a request and returns the status and the raw body.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Json>,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let response = self.app.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, bytes)
    }

    /// Creates namespace `ns` with the admin token.
    pub async fn create(&self, ns: &str) {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/namespaces",
                Some(&self.admin),
                Some(serde_json::json!({ "name": ns })),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }

    /// Sends `memories` (a JSON array of memories) to `ns`'s remember
    /// route with `token`; the status and the answer.
    pub async fn remember_json(&self, ns: &str, token: &str, memories: Json) -> (StatusCode, Json) {
        self.call(
            Method::POST,
            &format!("/v1/namespaces/{ns}/memories"),
            Some(token),
            Some(serde_json::json!({ "memories": memories })),
        )
        .await
    }

    /// Remembers `contents` in `ns` with the admin token; their ids.
    pub async fn remember(&self, ns: &str, contents: &[&str]) -> Vec<u64> {
        let memories: Vec<Json> = contents
            .iter()
            .map(|c| serde_json::json!({ "content": c }))
            .collect();
        let (status, body) = self
            .remember_json(ns, &self.admin, Json::Array(memories))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids(&body)
    }
}

/// The ids a remember answered.
pub fn ids(body: &Json) -> Vec<u64> {
    body["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_u64().expect("id"))
        .collect()
}
