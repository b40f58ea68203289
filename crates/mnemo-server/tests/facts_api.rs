//! The facts, conflicts and procedural-memory API in process: contradicting
//! facts open a conflict that is then resolved, a later fact supersedes an
//! earlier one, a fact's life (challenge, support, quarantine, retract),
//! history proofs that verify (checked here independently of the server),
//! trajectories and suggestions, pattern maintenance, rights, unknown
//! fields and unknown ids.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mnemo::{Mnemo, Options};
use mnemo_embed::HashEmbedder;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{AppState, Config};
use serde_json::{Value as Json, json};
use tower::ServiceExt;

const NS: &str = "alice";

/// The router over an in-memory engine and a token per right (plus one
/// that only sees another namespace).
struct App {
    router: Router,
    read: String,
    write: String,
    admin: String,
    elsewhere: String,
}

impl App {
    async fn new() -> Self {
        let (read, write, admin, elsewhere) = (
            generate_token(),
            generate_token(),
            generate_token(),
            generate_token(),
        );
        let all = || vec!["*".to_owned()];
        let config = Config {
            tokens: vec![
                TokenEntry::new("reader", &read, all(), vec![Right::Read]),
                TokenEntry::new("writer", &write, all(), vec![Right::Write]),
                TokenEntry::new("admin", &admin, all(), vec![Right::Admin]),
                TokenEntry::new("other", &elsewhere, vec!["bob".into()], vec![Right::Admin]),
            ],
            ..Config::default()
        };
        let engine =
            Mnemo::in_memory_with(Options::default().embedder(Arc::new(HashEmbedder::new())));
        let state = AppState::new(config, engine).expect("valid config");
        let app = Self {
            router: mnemo_server::router(state),
            read,
            write,
            admin,
            elsewhere,
        };
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/namespaces",
                &app.admin.clone(),
                Some(json!({"name": NS})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app
    }

    /// One request; the status and the JSON answer (`null` for an empty
    /// body).
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: Option<Json>,
    ) -> (StatusCode, Json) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        (status, json)
    }

    async fn get(&self, path: &str) -> (StatusCode, Json) {
        self.call(Method::GET, &ns_uri(path), &self.read, None)
            .await
    }

    async fn post(&self, path: &str, body: Json) -> (StatusCode, Json) {
        self.call(Method::POST, &ns_uri(path), &self.write, Some(body))
            .await
    }

    async fn admin_post(&self, path: &str, body: Option<Json>) -> (StatusCode, Json) {
        self.call(Method::POST, &ns_uri(path), &self.admin, body)
            .await
    }

    /// Asserts a fact (201 expected); the answer.
    async fn assert_fact(&self, fact: Json) -> Json {
        let (status, body) = self.post("facts", fact).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Remembers one memory; its id.
    async fn remember(&self, content: &str) -> u64 {
        let (status, body) = self
            .post("memories", json!({"memories": [{"content": content}]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["ids"][0].as_u64().expect("an id")
    }
}

fn ns_uri(path: &str) -> String {
    format!("/v1/namespaces/{NS}/{path}")
}

fn id(v: &Json) -> u64 {
    v["id"].as_u64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// The error's message, after checking the status and the error shape.
fn error(status: StatusCode, body: &Json, expected: StatusCode) -> String {
    assert_eq!(status, expected, "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
        .to_owned()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hash(s: &str) -> mnemo_log::Hash {
    unhex(s).try_into().expect("a 32-byte hash")
}

#[tokio::test]
async fn contradicting_facts_open_a_conflict_that_resolves() {
    let app = App::new().await;
    let paris = app
        .assert_fact(json!({"subject": "alice", "predicate": "lives_in", "object": "Paris"}))
        .await;
    assert_eq!(paris["conflicts"], json!([]));
    assert_eq!(paris["superseded"], json!([]));
    assert_eq!(paris["fact"]["status"], "believed");
    assert_eq!(paris["fact"]["context"], "default");
    let paris_id = id(&paris["fact"]);

    let berlin = app
        .assert_fact(
            json!({"subject": "alice", "predicate": "lives_in", "object": "Berlin",
                            "confidence": 0.9}),
        )
        .await;
    let berlin_id = id(&berlin["fact"]);
    let opened = berlin["conflicts"].as_array().expect("conflicts");
    assert_eq!(opened.len(), 1, "{berlin}");
    let conflict_id = id(&opened[0]);
    assert_eq!(opened[0]["state"], "detected");
    assert_eq!(opened[0]["open"], true);
    let pair: Vec<u64> = opened[0]["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .map(id)
        .collect();
    assert_eq!(pair, vec![paris_id, berlin_id]);
    // Both are disputed now.
    assert_eq!(berlin["fact"]["quarantine"], "conservative");
    assert_eq!(berlin["fact"]["conflicts"], json!([conflict_id]));

    // The conflict is listed, and readable alone.
    let (status, listed) = app.get("conflicts").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["total"], 1);
    assert_eq!(id(&listed["conflicts"][0]), conflict_id);
    assert_eq!(listed["conflicts"][0]["subject"], "alice");
    assert_eq!(listed["conflicts"][0]["predicate"], "lives_in");
    let (status, one) = app.get(&format!("conflicts/{conflict_id}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["facts"][0]["object"], "Paris");
    assert_eq!(one["facts"][1]["object"], "Berlin");
    assert_eq!(one["facts"][0]["quarantine"], "conservative");
    assert!(one["resolution"].is_null());

    // A fact outside the conflict cannot be named in its resolution.
    let (status, body) = app
        .post(
            &format!("conflicts/{conflict_id}/resolve"),
            json!({"accepted": [999], "rationale": "no"}),
        )
        .await;
    let message = error(status, &body, StatusCode::BAD_REQUEST);
    assert!(message.contains("999"), "{message}");

    // Resolve: Berlin is kept, Paris deprecated.
    let (status, resolved) = app
        .post(
            &format!("conflicts/{conflict_id}/resolve"),
            json!({"accepted": [berlin_id], "deprecated": [paris_id],
                   "rationale": "she moved; the newer source is right"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["open"], false);
    assert_eq!(resolved["resolution"]["accepted"], json!([berlin_id]));
    assert_eq!(resolved["resolution"]["deprecated"], json!([paris_id]));
    assert_eq!(resolved["resolution"]["automatic"], false);
    assert_eq!(resolved["facts"][0]["status"], "deprecated");
    assert_eq!(resolved["facts"][0]["quarantine"], "blocked");
    assert_eq!(resolved["facts"][1]["status"], "believed");
    assert_eq!(resolved["facts"][1]["quarantine"], "none");

    // No open conflict is left; with all=true the resolved one is listed.
    let (_, open) = app.get("conflicts").await;
    assert_eq!(open["total"], 0, "{open}");
    assert_eq!(open["conflicts"], json!([]));
    let (_, all) = app.get("conflicts?all=true").await;
    assert_eq!(all["total"], 1, "{all}");
    assert_eq!(all["conflicts"][0]["state"], "resolved");

    // Resolving again is a conflict with what is stored.
    let (status, body) = app
        .post(
            &format!("conflicts/{conflict_id}/resolve"),
            json!({"accepted": [berlin_id], "rationale": "again"}),
        )
        .await;
    let message = error(status, &body, StatusCode::CONFLICT);
    assert!(message.contains("already resolved"), "{message}");

    // Believed facts: Berlin only; with include_inactive, both.
    let (_, believed) = app.get("facts?subject=alice").await;
    assert_eq!(believed["total"], 1, "{believed}");
    assert_eq!(believed["facts"][0]["object"], "Berlin");
    let (_, every) = app.get("facts?subject=alice&include_inactive=true").await;
    assert_eq!(every["total"], 2, "{every}");

    // Paris's history records the conflict and its deprecation.
    let (status, detail) = app.get(&format!("facts/{paris_id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let changes: Vec<&str> = detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["change"].as_str().expect("change"))
        .collect();
    assert_eq!(changes, vec!["asserted", "conflict_opened", "deprecated"]);
    let deprecated = &detail["history"][2];
    assert_eq!(deprecated["conflict"], conflict_id);
    assert_eq!(
        deprecated["rationale"],
        "she moved; the newer source is right"
    );
    assert!(deprecated["seq"].as_u64().is_some() && deprecated["recorded"].is_string());
    assert_eq!(detail["history"][1]["with"], berlin_id);
}

#[tokio::test]
async fn a_later_fact_supersedes_and_both_clocks_read_it() {
    let app = App::new().await;
    let acme = app
        .assert_fact(
            json!({"subject": "bob", "predicate": "works_at", "object": "Acme",
                            "valid": {"from": "2020-01-01T00:00:00Z"}}),
        )
        .await;
    let acme_id = id(&acme["fact"]);
    let known_before = acme["fact"]["recorded"]
        .as_str()
        .expect("recorded")
        .to_owned();
    // The recorded clock needs the two assertions apart in time.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let globex = app
        .assert_fact(
            json!({"subject": "bob", "predicate": "works_at", "object": "Globex",
                            "valid": {"from": "2023-01-01T00:00:00Z"}}),
        )
        .await;
    let globex_id = id(&globex["fact"]);
    assert_eq!(globex["conflicts"], json!([]), "an update, not a conflict");
    let superseded = globex["superseded"].as_array().expect("superseded");
    assert_eq!(superseded.len(), 1);
    assert_eq!(id(&superseded[0]), acme_id);
    assert_eq!(superseded[0]["valid"]["until"], "2023-01-01T00:00:00Z");
    assert_eq!(superseded[0]["superseded_by"], globex_id);
    assert_eq!(superseded[0]["status"], "believed");

    // The validity clock: who was bob's employer when.
    let (_, in_2021) = app
        .get("facts?subject=bob&valid_at=2021-06-01T00:00:00Z")
        .await;
    assert_eq!(in_2021["total"], 1, "{in_2021}");
    assert_eq!(in_2021["facts"][0]["object"], "Acme");
    let (_, in_2024) = app
        .get("facts?subject=bob&predicate=works_at&valid_at=2024-06-01T00:00:00Z")
        .await;
    assert_eq!(in_2024["total"], 1, "{in_2024}");
    assert_eq!(in_2024["facts"][0]["object"], "Globex");

    // The recorded clock: before Globex was recorded, Acme's window was
    // still open and Globex unknown.
    let (status, then) = app
        .get(&format!("facts?subject=bob&known_at={known_before}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["total"], 1, "{then}");
    assert_eq!(then["facts"][0]["object"], "Acme");
    assert!(then["facts"][0]["valid"]["until"].is_null(), "{then}");

    // Acme's own record: asserted open-ended, closed by Globex.
    let (_, detail) = app.get(&format!("facts/{acme_id}")).await;
    assert!(detail["asserted_valid"]["until"].is_null(), "{detail}");
    assert_eq!(detail["fact"]["valid"]["until"], "2023-01-01T00:00:00Z");
    assert_eq!(detail["history"][1]["change"], "superseded");
    assert_eq!(detail["history"][1]["by"], globex_id);
    let (_, detail) = app.get(&format!("facts/{globex_id}")).await;
    assert_eq!(detail["supersedes"], json!([acme_id]));

    // A multi-valued predicate holds several objects without conflict.
    let (status, declared) = app
        .post(
            "predicates",
            json!({"predicate": "speaks", "cardinality": "multi"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{declared}");
    assert_eq!(declared["cardinality"], "multi");
    assert!(declared["seq"].as_u64().is_some());
    for language in ["French", "German"] {
        let a = app
            .assert_fact(json!({"subject": "bob", "predicate": "speaks", "object": language}))
            .await;
        assert_eq!(a["conflicts"], json!([]), "{a}");
        assert_eq!(a["superseded"], json!([]), "{a}");
    }
    let (_, listed) = app.get("predicates").await;
    assert!(
        listed["predicates"]
            .as_array()
            .expect("predicates")
            .iter()
            .any(|p| p["predicate"] == "speaks" && p["cardinality"] == "multi"),
        "{listed}"
    );
    let (_, speaks) = app.get("facts?subject=bob&predicate=speaks").await;
    assert_eq!(speaks["total"], 2, "{speaks}");
}

#[tokio::test]
async fn history_proofs_verify_against_the_log_root() {
    let app = App::new().await;
    let evidence = app.remember("Carol said she moved to Lisbon in May").await;
    app.assert_fact(
        json!({"subject": "carol", "predicate": "lives_in", "object": "Porto",
                           "context": "work"}),
    )
    .await;
    app.assert_fact(
        json!({"subject": "carol", "predicate": "lives_in", "object": "Lisbon",
                           "evidence": [evidence]}),
    )
    .await;
    app.assert_fact(json!({"subject": "carol", "predicate": "likes", "object": "fado"}))
        .await;

    // `history` is a static segment: it must not be taken for a fact id.
    let (status, history) = app
        .get("facts/history?subject=carol&predicate=lives_in")
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["verified"], true);
    let records = history["records"].as_array().expect("records");
    assert_eq!(records.len(), 2, "only lives_in, every context: {history}");
    assert_eq!(records[0]["fact"]["object"], "Porto");
    assert_eq!(records[0]["fact"]["context"], "work");
    assert_eq!(records[1]["fact"]["object"], "Lisbon");
    assert_eq!(records[1]["asserted_evidence"], json!([evidence]));

    let (status, root) = app.get("root").await;
    assert_eq!(status, StatusCode::OK, "{root}");
    for r in records {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(r["history"][0]["change"], "asserted");
        let proof = &r["proof"];
        assert_eq!(
            proof["seq"], r["fact"]["seq"],
            "the proof is of the assertion"
        );
        // Nothing was written since: the proofs lead to the current root.
        assert_eq!(proof["root"], root["root"]);
        assert_eq!(proof["length"], root["length"]);
        // Check the proof here, independently of the server.
        let inclusion = mnemo_log::InclusionProof {
            leaf_index: proof["seq"].as_u64().expect("seq"),
            tree_size: proof["length"].as_u64().expect("length"),
            path: proof["path"]
                .as_array()
                .expect("path")
                .iter()
                .map(|h| hash(h.as_str().expect("hex")))
                .collect(),
        };
        let frame = unhex(proof["frame"].as_str().expect("frame"));
        let root_hash = hash(proof["root"].as_str().expect("root"));
        mnemo_log::verify_inclusion(&frame, &inclusion, &root_hash).expect("the proof verifies");
        // A tampered frame does not.
        let mut tampered = frame.clone();
        if let Some(b) = tampered.last_mut() {
            *b ^= 1;
        }
        assert!(mnemo_log::verify_inclusion(&tampered, &inclusion, &root_hash).is_err());
    }

    // An unknown timeline is empty, not an error; a missing parameter is.
    let (status, none) = app.get("facts/history?subject=nobody&predicate=x").await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["records"], json!([]));
    let (status, body) = app.get("facts/history?subject=carol").await;
    let message = error(status, &body, StatusCode::BAD_REQUEST);
    assert!(message.contains("predicate"), "{message}");
}

#[tokio::test]
async fn a_fact_is_challenged_supported_quarantined_and_retracted() {
    let app = App::new().await;
    let witness = app.remember("Dan's badge shows he works in Oslo").await;
    let fact = app
        .assert_fact(json!({"subject": "dan", "predicate": "office", "object": "Oslo"}))
        .await;
    let fact_id = id(&fact["fact"]);

    let (status, challenged) = app
        .post(
            &format!("facts/{fact_id}/challenge"),
            json!({"reason": "he said Bergen yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{challenged}");
    assert_eq!(challenged["fact"]["quarantine"], "requires-witness");
    assert_eq!(challenged["fact"]["status"], "believed");
    // The default read withholds facts that need a witness...
    let (_, listed) = app.get("facts?subject=dan").await;
    assert_eq!(listed["total"], 0, "{listed}");
    // ...a higher level admits them.
    let (_, listed) = app
        .get("facts?subject=dan&max_quarantine=requires-witness")
        .await;
    assert_eq!(listed["total"], 1, "{listed}");

    // Support needs live memories.
    let (status, body) = app
        .post(
            &format!("facts/{fact_id}/support"),
            json!({"evidence": [4242]}),
        )
        .await;
    let message = error(status, &body, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("evidence") && message.contains("4242"),
        "{message}"
    );
    let (status, body) = app
        .post(&format!("facts/{fact_id}/support"), json!({"evidence": []}))
        .await;
    assert!(error(status, &body, StatusCode::BAD_REQUEST).contains("evidence"));
    let (status, supported) = app
        .post(
            &format!("facts/{fact_id}/support"),
            json!({"evidence": [witness], "note": "badge photo"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{supported}");
    assert_eq!(supported["fact"]["quarantine"], "none");
    assert_eq!(supported["fact"]["evidence"], json!([witness]));
    assert!(supported["seq"].as_u64() > challenged["seq"].as_u64());

    // An explicit level, then cleared.
    let (status, blocked) = app
        .post(
            &format!("facts/{fact_id}/quarantine"),
            json!({"level": "blocked", "reason": "under review"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{blocked}");
    assert_eq!(blocked["fact"]["quarantine"], "blocked");
    let (status, cleared) = app
        .post(
            &format!("facts/{fact_id}/quarantine"),
            json!({"reason": "review done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["fact"]["quarantine"], "none");
    let (status, body) = app
        .post(
            &format!("facts/{fact_id}/quarantine"),
            json!({"level": "sort-of", "reason": "x"}),
        )
        .await;
    assert!(error(status, &body, StatusCode::BAD_REQUEST).contains("level"));

    // Retract; a retracted fact cannot be challenged or retracted again.
    let (status, retracted) = app
        .post(
            &format!("facts/{fact_id}/retract"),
            json!({"reason": "he left"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{retracted}");
    assert_eq!(retracted["fact"]["status"], "retracted");
    for action in ["challenge", "retract"] {
        let (status, body) = app
            .post(
                &format!("facts/{fact_id}/{action}"),
                json!({"reason": "again"}),
            )
            .await;
        let message = error(status, &body, StatusCode::CONFLICT);
        assert!(message.contains("retracted"), "{message}");
    }
    let (status, body) = app
        .post(
            &format!("facts/{fact_id}/challenge"),
            json!({"reason": "  "}),
        )
        .await;
    assert!(error(status, &body, StatusCode::BAD_REQUEST).contains("reason"));

    // The whole life is in the history, in order.
    let (_, detail) = app.get(&format!("facts/{fact_id}")).await;
    let changes: Vec<&str> = detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["change"].as_str().expect("change"))
        .collect();
    assert_eq!(
        changes,
        vec![
            "asserted",
            "challenged",
            "supported",
            "quarantined",
            "quarantined",
            "retracted"
        ]
    );
    assert_eq!(detail["history"][2]["note"], "badge photo");
    assert_eq!(detail["history"][3]["level"], "blocked");
    assert!(detail["history"][4]["level"].is_null());
}

#[tokio::test]
async fn trajectories_teach_suggest_the_successful_executor() {
    let app = App::new().await;
    let translate = "translate the supplier contract from French into English";
    let photos = "resize the product photos for the web shop";
    let mut first = None;
    for i in 0..4 {
        for (executor, success) in [("polyglot", true), ("quickmt", false)] {
            let (status, r) = app
                .post(
                    "trajectories",
                    json!({"task": translate, "executor": executor, "success": success,
                           "latency_ms": 1200.0 + f64::from(i), "cost": 0.02,
                           "tags": ["legal"], "at": "2024-05-01T12:00:00Z"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{r}");
            assert!(r["trajectory"].as_u64().is_some() && r["seq"].as_u64().is_some());
            let pattern = r["pattern"].as_u64().expect("pattern");
            // The same task always joins the pattern the first one started.
            match first {
                None => {
                    assert_eq!(r["new_pattern"], true, "{r}");
                    first = Some(pattern);
                }
                Some(p) => {
                    assert_eq!(pattern, p, "{r}");
                    assert_eq!(r["new_pattern"], false, "{r}");
                }
            }
        }
    }
    for _ in 0..3 {
        let (status, r) = app
            .post(
                "trajectories",
                json!({"task": photos, "executor": "imagemagick", "success": true, "score": 0.9}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        assert_ne!(
            r["pattern"].as_u64(),
            first,
            "a different task, another pattern"
        );
    }

    let (status, s) = app
        .call(
            Method::POST,
            &ns_uri("suggest"),
            &app.read,
            Some(json!({"task": translate, "k": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["executor"], "polyglot", "{s}");
    // Pooled over the patterns weighted by similarity^4, the photo
    // pattern barely counts: polyglot has S = N = 4, so its rate is
    // (4 + 1) / (4 + 2) and the confidence rate * N / (N + 4) = 5/12.
    let confidence = s["confidence"].as_f64().expect("confidence");
    assert!((confidence - 5.0 / 12.0).abs() < 1e-3, "{s}");
    let top = &s["suggestions"][0];
    assert_eq!(top["pattern"].as_u64(), first);
    assert_eq!(top["executor"], "polyglot");
    assert!(
        top["similarity"].as_f64().expect("similarity") > 0.99,
        "{s}"
    );
    assert!(top["quality"].as_f64().is_some() && top["score"].as_f64().is_some());
    assert_eq!(top["count"], 8);
    let evidence = top["evidence"].as_array().expect("evidence");
    assert!(!evidence.is_empty() && evidence.len() <= 5, "{s}");
    let (_, s) = app
        .call(
            Method::POST,
            &ns_uri("suggest"),
            &app.read,
            Some(json!({"task": photos})),
        )
        .await;
    assert_eq!(s["executor"], "imagemagick", "{s}");

    // The patterns, with their executors' records.
    let (status, listed) = app.get("patterns").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["total"], 2, "{listed}");
    let first_id = first.expect("a pattern");
    let (status, p) = app.get(&format!("patterns/{first_id}")).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["best_executor"], "polyglot");
    assert_eq!(p["count"], 8);
    assert_eq!(p["dimension"], 384);
    let polyglot = p["executors"]
        .as_array()
        .expect("executors")
        .iter()
        .find(|e| e["executor"] == "polyglot")
        .cloned()
        .expect("polyglot's record");
    assert_eq!(polyglot["successes"], 4);
    assert_eq!(polyglot["count"], 4);
    assert_eq!(p["last_used"], "2024-05-01T12:00:00Z");

    // Maintenance needs the admin right.
    let (status, body) = app.post("patterns/refine", json!({})).await;
    assert!(error(status, &body, StatusCode::FORBIDDEN).contains("admin"));
    let (status, refined) = app.admin_post("patterns/refine", None).await;
    assert_eq!(status, StatusCode::OK, "{refined}");
    assert_eq!(refined["patterns_before"], 2);
    assert_eq!(
        refined["patterns_after"], 2,
        "two distinct tasks stay apart"
    );
    let (status, merged) = app
        .admin_post("patterns/consolidate", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["merges"], json!([]), "{merged}");
    assert_eq!(merged["patterns"], 2);
    // Every pair merges at the lowest threshold.
    let (status, merged) = app
        .admin_post("patterns/consolidate", Some(json!({"threshold": -1.0})))
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(
        merged["merges"].as_array().map(Vec::len),
        Some(1),
        "{merged}"
    );
    assert_eq!(merged["patterns"], 1);
    let (status, body) = app
        .admin_post("patterns/consolidate", Some(json!({"threshold": 1.5})))
        .await;
    assert!(error(status, &body, StatusCode::BAD_REQUEST).contains("threshold"));
    let (status, body) = app.admin_post("patterns/prune", Some(json!({}))).await;
    assert!(error(status, &body, StatusCode::BAD_REQUEST).contains("min_count"));
    let (status, pruned) = app
        .admin_post("patterns/prune", Some(json!({"min_count": 100})))
        .await;
    assert_eq!(status, StatusCode::OK, "{pruned}");
    assert_eq!(
        pruned["pruned"].as_array().map(Vec::len),
        Some(1),
        "{pruned}"
    );
    assert_eq!(pruned["patterns"], 0);
    let (_, listed) = app.get("patterns").await;
    assert_eq!(listed["total"], 0, "{listed}");
    let (_, s) = app
        .call(
            Method::POST,
            &ns_uri("suggest"),
            &app.read,
            Some(json!({"task": translate})),
        )
        .await;
    assert!(s["executor"].is_null(), "no evidence left: {s}");
}

#[tokio::test]
async fn tasks_given_as_vectors_and_their_checks() {
    let app = App::new().await;
    let mut v = vec![0.0f32; 384];
    v[0] = 1.0;
    let (status, r) = app
        .post(
            "trajectories",
            json!({"vector": v, "executor": "vec-runner", "success": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (status, s) = app
        .call(
            Method::POST,
            &ns_uri("suggest"),
            &app.read,
            Some(json!({"vector": v, "k": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["executor"], "vec-runner");
    assert_eq!(s["suggestions"].as_array().map(Vec::len), Some(1));

    let cases = [
        (
            json!({"vector": [1.0, 2.0], "executor": "x", "success": true}),
            "vector",
        ),
        (
            json!({"task": "t", "vector": v, "executor": "x", "success": true}),
            "task",
        ),
        (json!({"executor": "x", "success": true}), "task"),
        (
            json!({"task": "t", "executor": "x", "success": true, "score": 2.0}),
            "score",
        ),
        (
            json!({"task": "t", "executor": "x", "success": true, "latency_ms": -1.0}),
            "latency_ms",
        ),
        (
            json!({"task": "t", "executor": "", "success": true}),
            "executor",
        ),
        (
            json!({"task": "t", "executor": "x", "success": true, "at": "yesterday"}),
            "at",
        ),
        (json!({"task": "t", "executor": "x"}), "success"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("trajectories", body.clone()).await;
        let message = error(status, &answer, StatusCode::BAD_REQUEST);
        assert!(message.contains(field), "{body} -> {message}");
    }
    for (body, field) in [
        (json!({"task": "t", "k": 0}), "k"),
        (json!({"task": "t", "k": 1001}), "k"),
        (json!({"vector": [0.5]}), "vector"),
        (json!({}), "task"),
    ] {
        let (status, answer) = app
            .call(
                Method::POST,
                &ns_uri("suggest"),
                &app.read,
                Some(body.clone()),
            )
            .await;
        let message = error(status, &answer, StatusCode::BAD_REQUEST);
        assert!(message.contains(field), "{body} -> {message}");
    }
}

#[tokio::test]
async fn rights_are_enforced() {
    let app = App::new().await;
    let fact = app
        .assert_fact(json!({"subject": "erin", "predicate": "role", "object": "admin"}))
        .await;
    let fact_id = id(&fact["fact"]);
    app.assert_fact(json!({"subject": "erin", "predicate": "role", "object": "guest"}))
        .await;

    let writes: Vec<(&str, Json)> = vec![
        (
            "facts",
            json!({"subject": "erin", "predicate": "age", "object": "30"}),
        ),
        (
            "predicates",
            json!({"predicate": "likes", "cardinality": "multi"}),
        ),
        (
            "trajectories",
            json!({"task": "t", "executor": "x", "success": true}),
        ),
    ];
    let fact_writes = [
        (format!("facts/{fact_id}/challenge"), json!({"reason": "r"})),
        (format!("facts/{fact_id}/retract"), json!({"reason": "r"})),
        (format!("facts/{fact_id}/support"), json!({"evidence": [1]})),
        (
            format!("facts/{fact_id}/quarantine"),
            json!({"reason": "r"}),
        ),
        (
            "conflicts/1/resolve".to_owned(),
            json!({"accepted": [1], "rationale": "r"}),
        ),
    ];
    let all_writes = writes
        .into_iter()
        .map(|(p, b)| (p.to_owned(), b))
        .chain(fact_writes);
    for (path, body) in all_writes {
        let (status, answer) = app
            .call(Method::POST, &ns_uri(&path), &app.read, Some(body))
            .await;
        let message = error(status, &answer, StatusCode::FORBIDDEN);
        assert!(message.contains("write"), "{path}: {message}");
    }
    for (path, body) in [
        ("patterns/prune", Some(json!({"min_count": 1}))),
        ("patterns/consolidate", Some(json!({"threshold": 0.9}))),
        ("patterns/refine", None),
    ] {
        let (status, answer) = app
            .call(Method::POST, &ns_uri(path), &app.write, body)
            .await;
        let message = error(status, &answer, StatusCode::FORBIDDEN);
        assert!(message.contains("admin"), "{path}: {message}");
    }
    // Nothing was written by the refused requests.
    let (_, detail) = app.get(&format!("facts/{fact_id}")).await;
    assert_eq!(detail["fact"]["status"], "believed");
    assert_eq!(detail["fact"]["quarantine"], "conservative");
    assert_eq!(
        detail["history"].as_array().map(Vec::len),
        Some(2),
        "{detail}"
    );
    let (_, conflicts) = app.get("conflicts").await;
    assert_eq!(conflicts["total"], 1);

    // Reads are open to the read right, including suggestions.
    for path in [
        "facts".to_owned(),
        format!("facts/{fact_id}"),
        "facts/history?subject=erin&predicate=role".to_owned(),
        "conflicts".to_owned(),
        "conflicts/1".to_owned(),
        "patterns".to_owned(),
        "predicates".to_owned(),
    ] {
        let (status, answer) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let (status, answer) = app
        .call(
            Method::POST,
            &ns_uri("suggest"),
            &app.read,
            Some(json!({"task": "t"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // A token scoped to another namespace sees nothing here.
    let (status, answer) = app
        .call(Method::GET, &ns_uri("facts"), &app.elsewhere, None)
        .await;
    assert!(error(status, &answer, StatusCode::FORBIDDEN).contains(NS));
    // No token at all.
    let req = Request::builder()
        .uri(ns_uri("facts"))
        .body(Body::empty())
        .expect("request");
    let response = app.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_fields_and_bad_values_are_400_naming_them() {
    let app = App::new().await;
    let bodies = [
        (
            "facts",
            json!({"subjekt": "a", "predicate": "p", "object": "o"}),
            "subjekt",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o", "colour": 1}),
            "colour",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o",
                         "valid": {"from": "2020-01-01T00:00:00Z", "to": "x"}}),
            "to",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o", "confidence": 1.5}),
            "confidence",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "  "}),
            "object",
        ),
        (
            "facts",
            json!({"subject": "", "predicate": "p", "object": "o"}),
            "subject",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o",
                         "valid": {"from": "2021-01-01T00:00:00Z",
                                   "until": "2020-01-01T00:00:00Z"}}),
            "valid.until",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o",
                         "valid": {"from": "soon"}}),
            "valid.from",
        ),
        (
            "facts",
            json!({"subject": "a", "predicate": "p", "object": "o", "evidence": [77]}),
            "evidence",
        ),
        ("facts", json!({"subject": "a", "predicate": "p"}), "object"),
        (
            "predicates",
            json!({"predicate": "p", "cardinality": "many"}),
            "cardinality",
        ),
        (
            "predicates",
            json!({"predicate": "p", "cardinality": "multi", "x": 1}),
            "x",
        ),
        (
            "trajectories",
            json!({"task": "t", "executor": "e", "success": true, "speed": 1}),
            "speed",
        ),
        (
            "conflicts/1/resolve",
            json!({"accepted": [1], "rationale": "r", "why": "x"}),
            "why",
        ),
        ("conflicts/1/resolve", json!({"rationale": "r"}), "accepted"),
        (
            "conflicts/1/resolve",
            json!({"accepted": [1], "deprecated": [1], "rationale": "r"}),
            "deprecated",
        ),
        (
            "conflicts/1/resolve",
            json!({"accepted": [1], "rationale": " "}),
            "rationale",
        ),
    ];
    for (path, body, field) in bodies {
        let (status, answer) = app.post(path, body.clone()).await;
        let message = error(status, &answer, StatusCode::BAD_REQUEST);
        assert!(message.contains(field), "{path} {body} -> {message}");
    }
    let (status, answer) = app
        .admin_post(
            "patterns/prune",
            Some(json!({"min_quality": 0.5, "max_age": 3})),
        )
        .await;
    assert!(error(status, &answer, StatusCode::BAD_REQUEST).contains("max_age"));
    let (status, answer) = app
        .admin_post("patterns/prune", Some(json!({"min_quality": 2.0})))
        .await;
    assert!(error(status, &answer, StatusCode::BAD_REQUEST).contains("min_quality"));

    let queries = [
        ("facts?sbject=a", "sbject"),
        ("facts?valid_at=tomorrow", "valid_at"),
        ("facts?known_at=1999-99-99", "known_at"),
        ("facts?max_quarantine=maybe", "maybe"),
        ("facts?include_inactive=perhaps", "include_inactive"),
        ("facts?limit=0", "limit"),
        ("facts?limit=100000", "limit"),
        ("conflicts?al=true", "al"),
        ("patterns?limit=5000", "limit"),
        ("facts/history?subject=a&predicate=b&verify=true", "verify"),
    ];
    for (path, field) in queries {
        let (status, answer) = app.get(path).await;
        let message = error(status, &answer, StatusCode::BAD_REQUEST);
        assert!(message.contains(field), "{path} -> {message}");
    }
    // A path id that is not a number.
    let (status, answer) = app.get("facts/abc").await;
    error(status, &answer, StatusCode::BAD_REQUEST);
    // Nothing was asserted by any refused request.
    let (_, facts) = app.get("facts?include_inactive=true").await;
    assert_eq!(facts["total"], 0, "{facts}");
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let app = App::new().await;
    let gets = ["facts/999", "conflicts/999", "patterns/999"];
    for path in gets {
        let (status, answer) = app.get(path).await;
        let message = error(status, &answer, StatusCode::NOT_FOUND);
        assert!(message.contains("999"), "{path}: {message}");
    }
    let posts = [
        ("facts/999/challenge", json!({"reason": "r"})),
        ("facts/999/retract", json!({"reason": "r"})),
        ("facts/999/support", json!({"evidence": [1]})),
        (
            "facts/999/quarantine",
            json!({"level": "blocked", "reason": "r"}),
        ),
        (
            "conflicts/999/resolve",
            json!({"accepted": [1], "rationale": "r"}),
        ),
    ];
    for (path, body) in posts {
        let (status, answer) = app.post(path, body).await;
        let message = error(status, &answer, StatusCode::NOT_FOUND);
        assert!(message.contains("999"), "{path}: {message}");
    }
    // An unknown namespace.
    let (status, answer) = app
        .call(Method::GET, "/v1/namespaces/nobody/facts", &app.read, None)
        .await;
    assert!(error(status, &answer, StatusCode::NOT_FOUND).contains("nobody"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_right() {
    let app = App::new().await;
    let (status, doc) = app
        .call(Method::GET, "/v1/openapi.json", &app.read, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let expected = [
        ("/v1/namespaces/{ns}/facts", "post", "assertFact", "write"),
        ("/v1/namespaces/{ns}/facts", "get", "listFacts", "read"),
        (
            "/v1/namespaces/{ns}/facts/history",
            "get",
            "factHistory",
            "read",
        ),
        ("/v1/namespaces/{ns}/facts/{id}", "get", "getFact", "read"),
        (
            "/v1/namespaces/{ns}/facts/{id}/challenge",
            "post",
            "challengeFact",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/facts/{id}/support",
            "post",
            "supportFact",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/facts/{id}/retract",
            "post",
            "retractFact",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/facts/{id}/quarantine",
            "post",
            "quarantineFact",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/predicates",
            "post",
            "declarePredicate",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/predicates",
            "get",
            "listPredicates",
            "read",
        ),
        (
            "/v1/namespaces/{ns}/conflicts",
            "get",
            "listConflicts",
            "read",
        ),
        (
            "/v1/namespaces/{ns}/conflicts/{id}",
            "get",
            "getConflict",
            "read",
        ),
        (
            "/v1/namespaces/{ns}/conflicts/{id}/resolve",
            "post",
            "resolveConflict",
            "write",
        ),
        (
            "/v1/namespaces/{ns}/trajectories",
            "post",
            "recordTrajectory",
            "write",
        ),
        ("/v1/namespaces/{ns}/suggest", "post", "suggest", "read"),
        (
            "/v1/namespaces/{ns}/patterns",
            "get",
            "listPatterns",
            "read",
        ),
        (
            "/v1/namespaces/{ns}/patterns/{id}",
            "get",
            "getPattern",
            "read",
        ),
        (
            "/v1/namespaces/{ns}/patterns/prune",
            "post",
            "prunePatterns",
            "admin",
        ),
        (
            "/v1/namespaces/{ns}/patterns/consolidate",
            "post",
            "consolidatePatterns",
            "admin",
        ),
        (
            "/v1/namespaces/{ns}/patterns/refine",
            "post",
            "refinePatterns",
            "admin",
        ),
    ];
    for (path, method, op, right) in expected {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["operationId"], op, "{method} {path}");
        assert_eq!(operation["x-mnemo-right"], right, "{method} {path}");
    }
    // Request fields carry their descriptions.
    let assert_body = &doc["paths"]["/v1/namespaces/{ns}/facts"]["post"]["requestBody"];
    let reference = assert_body["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("a schema reference");
    let name = reference.rsplit('/').next().expect("a name");
    let schema = &doc["components"]["schemas"][name];
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    for field in [
        "subject",
        "predicate",
        "object",
        "context",
        "confidence",
        "valid",
        "evidence",
    ] {
        assert!(
            schema["properties"][field]["description"].is_string(),
            "{field} has no description: {schema}"
        );
    }
    // Query parameters too.
    let params = doc["paths"]["/v1/namespaces/{ns}/facts"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    for name in [
        "subject",
        "valid_at",
        "known_at",
        "include_inactive",
        "max_quarantine",
    ] {
        let p = params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        assert_eq!(p["in"], "query");
        assert!(p["description"].is_string(), "{p}");
    }
}
