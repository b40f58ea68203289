//! Signed checkpoints over HTTP: `GET .../checkpoint` (a C2SP signed note
//! with Ed25519 and ML-DSA signatures, from the server's configured key
//! file) and `GET .../consistency` between two of them.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use mnemo_server::config::{CheckpointConfig, Config};
use mnemo_trust::{PqLevel, SigningKeys, Verifier, verify_consistency};

/// A server whose config names a fresh key file; answers it and the
/// verifier of its keys.
fn signing_app(dir: &std::path::Path, level: PqLevel) -> (TestApp, Verifier) {
    let keys = SigningKeys::generate("example.com/mnemo", level).expect("keys");
    let key_file = dir.join("mnemo.key");
    std::fs::write(&key_file, keys.to_private_text()).expect("write the key");
    let config = Config {
        checkpoints: Some(CheckpointConfig::new(key_file)),
        ..Config::default()
    };
    (TestApp::with_config(config), keys.verifier())
}

async fn checkpoint(t: &TestApp, ns: &str) -> (StatusCode, String) {
    let (status, body) = t
        .call_raw(
            Method::GET,
            &format!("/v1/namespaces/{ns}/checkpoint"),
            Some(&t.reader),
            None,
        )
        .await;
    (status, String::from_utf8(body).expect("utf-8"))
}

#[tokio::test]
async fn checkpoints_are_signed_by_both_keys_and_later_ones_extend_earlier_ones() {
    for level in [PqLevel::MlDsa44, PqLevel::MlDsa44And65] {
        let dir = tempfile::tempdir().expect("dir");
        let (t, verifier) = signing_app(dir.path(), level);
        t.create("alice").await;
        t.remember("alice", &["one", "two", "three"]).await;

        let (status, note) = checkpoint(&t, "alice").await;
        assert_eq!(status, StatusCode::OK, "{note}");
        let old = verifier.verify(&note).expect("both signatures verify");
        assert_eq!(old.checkpoint.origin, "example.com/mnemo/alice");
        let (_, root) = t
            .call(
                Method::GET,
                "/v1/namespaces/alice/root",
                Some(&t.reader),
                None,
            )
            .await;
        assert_eq!(root["length"], old.checkpoint.size);
        let expected_lines = if level == PqLevel::MlDsa44 { 2 } else { 3 };
        assert_eq!(note.matches("\n— ").count(), expected_lines, "{note}");

        // Unchanged log: the same note again, not a new signature.
        assert_eq!(checkpoint(&t, "alice").await.1, note);

        t.remember("alice", &["four", "five"]).await;
        let (_, newer) = checkpoint(&t, "alice").await;
        let new = verifier.verify(&newer).expect("verifies").checkpoint;
        assert!(new.size > old.checkpoint.size);
        let (status, proof) = t
            .call(
                Method::GET,
                &format!(
                    "/v1/namespaces/alice/consistency?from={}&to={}",
                    old.checkpoint.size, new.size
                ),
                Some(&t.reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        assert_eq!(proof["verified"], true);
        let path: Vec<[u8; 32]> = proof["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|h| unhex(h.as_str().expect("hex")))
            .collect();
        verify_consistency(&old.checkpoint, &new, &path).expect("the newer extends the older");
        assert!(
            verify_consistency(&new, &old.checkpoint, &path).is_err(),
            "an older checkpoint passed as the newer one (a rollback)"
        );
    }
}

#[tokio::test]
async fn without_a_key_file_there_is_no_checkpoint_and_a_bad_key_file_stops_the_server() {
    let t = TestApp::new();
    t.create("alice").await;
    let (status, body) = checkpoint(&t, "alice").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("key_file"), "{body}");

    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("garbage.key");
    std::fs::write(&key_file, "not a key\n").expect("write");
    let config = Config {
        checkpoints: Some(CheckpointConfig::new(key_file.clone())),
        ..Config::default()
    };
    let e =
        mnemo_server::AppState::new(config, common::engine()).expect_err("an unreadable key file");
    assert!(e.contains("checkpoints.key_file"), "{e}");
    let missing = Config {
        checkpoints: Some(CheckpointConfig::new(dir.path().join("absent.key"))),
        ..Config::default()
    };
    let e = mnemo_server::AppState::new(missing, common::engine()).expect_err("absent");
    assert!(e.contains("absent.key"), "{e}");
}

#[tokio::test]
async fn consistency_refuses_sizes_past_the_log() {
    let t = TestApp::new();
    t.create("alice").await;
    t.remember("alice", &["one"]).await;
    let (status, body) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/consistency?from=1&to=1000",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("to")
    );
    let (status, body) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/consistency?from=x",
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

fn unhex(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_proof_at_a_signed_checkpoints_size_leads_to_its_root_and_bad_sizes_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (t, verifier) = signing_app(dir.path(), PqLevel::MlDsa44);
    t.create("alice").await;
    let ids = t.remember("alice", &["one", "two", "three"]).await;
    let (status, note) = checkpoint(&t, "alice").await;
    assert_eq!(status, StatusCode::OK, "{note}");
    let signed = verifier.verify(&note).expect("verifies").checkpoint;
    // The log grows past the checkpoint the client holds.
    t.remember("alice", &["four", "five", "six"]).await;

    let (status, proof) = t
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/proof/{}?size={}", ids[1], signed.size),
            Some(&t.reader),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["length"], signed.size);
    assert_eq!(proof["root"], hex(&signed.root), "the checkpoint's root");
    let out: mnemo_server::dto::ProofOut = serde_json::from_value(proof.clone()).expect("a proof");
    assert_eq!(
        mnemo_server::ops::verify_proof(&out, Some(&hex(&signed.root))),
        Ok(true),
        "checked by the client against the signed root alone"
    );
    // The same memory's proof at the head leads elsewhere.
    let (_, head) = t
        .call(
            Method::GET,
            &format!("/v1/namespaces/alice/proof/{}", ids[1]),
            Some(&t.reader),
            None,
        )
        .await;
    assert_ne!(head["root"], proof["root"]);
    assert_eq!(head["verified"], true);

    let (_, root) = t
        .call(
            Method::GET,
            "/v1/namespaces/alice/root",
            Some(&t.reader),
            None,
        )
        .await;
    let held = root["length"].as_u64().expect("length");
    let seq = proof["seq"].as_u64().expect("seq");
    for (size, says) in [
        ((held + 1).to_string(), "past the log"),
        (u64::MAX.to_string(), "past the log"),
        (seq.to_string(), "does not contain"),
        ("0".to_owned(), "does not contain"),
    ] {
        let (status, body) = t
            .call(
                Method::GET,
                &format!("/v1/namespaces/alice/proof/{}?size={size}", ids[1]),
                Some(&t.reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{size}: {body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(
            message.contains("size") && message.contains(says),
            "{message}"
        );
    }
    for bad in ["x", "-1", "18446744073709551616"] {
        let (status, body) = t
            .call(
                Method::GET,
                &format!("/v1/namespaces/alice/proof/{}?size={bad}", ids[1]),
                Some(&t.reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains("size"), "{message}");
    }
}
