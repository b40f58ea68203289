//! Signed checkpoints kept in the namespace: a real server (`Server::bind`
//! and `run`, as `mnemo serve` does) over a data directory keeps one every
//! `[checkpoints] every_events` events or `every_seconds` seconds of growth
//! and on graceful shutdown, in `DATA/<ns>/checkpoints/<size>.note`, and
//! serves them (`GET .../checkpoints`, `GET .../checkpoint?size=N`). Each
//! kept note verifies with the public keys and its root is the log's root
//! at its size.
//!
//! The client is blocking (ureq) and runs on the test's blocking pool, so
//! it never borrows the server's async workers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mnemo::{Mnemo, Options};
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::{CheckpointConfig, TokenEntry};
use mnemo_server::{Config, Phase, Server, ServerError};
use mnemo_trust::{PqLevel, SignedCheckpoint, SigningKeys, Verifier};
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

/// The namespace written.
const NS: &str = "alice";
/// Longest wait for something the server does on its own (a hang guard on
/// a busy machine, not a speed requirement).
const PATIENCE: Duration = Duration::from_secs(60);

/// A server on a free loopback port over a data directory.
struct Running {
    addr: SocketAddr,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<Result<(), ServerError>>,
}

fn engine(data: &Path) -> Mnemo {
    Mnemo::open_with(
        data,
        Options::default().embedder(Arc::new(mnemo_embed::HashEmbedder::new())),
    )
    .expect("the data directory opens")
}

impl Running {
    async fn start(data: &Path, key_file: &Path, every_events: u64, every_seconds: u64) -> Self {
        let token = generate_token();
        let mut config = Config::default();
        config.tokens.push(TokenEntry::new(
            "admin",
            &token,
            vec!["*".into()],
            vec![Right::Admin],
        ));
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.checkpoints = Some(CheckpointConfig {
            every_events,
            every_seconds,
            ..CheckpointConfig::new(key_file)
        });
        let server = Server::bind(config, engine(data)).await.expect("bind");
        let addr = server.local_addr();
        let state = server.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let began = Instant::now();
        while state.phase() != Phase::Ready {
            assert!(began.elapsed() < PATIENCE, "never ready");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            addr,
            token,
            stop: Some(stop),
            served,
        }
    }

    /// Stops the server gracefully, as SIGTERM does.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.served)
            .await
            .expect("the server stops in time")
            .expect("the server task")
            .expect("a clean stop");
    }

    /// `GET` or `POST` `path`: the status and the body as text.
    async fn call(&self, method: &'static str, path: &str, body: Option<Json>) -> (u16, String) {
        let url = format!("http://{}{path}", self.addr);
        let auth = format!("Bearer {}", self.token);
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(PATIENCE))
                .build()
                .into();
            let response = match (method, body) {
                ("POST", Some(body)) => agent
                    .post(&url)
                    .header("authorization", &auth)
                    .send_json(&body),
                _ => agent.get(&url).header("authorization", &auth).call(),
            };
            let mut response = response.expect("the server answers");
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().expect("a text body");
            (status, text)
        })
        .await
        .expect("client thread")
    }

    async fn json(&self, path: &str) -> Json {
        let (status, text) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// The namespace's event count now.
    async fn size(&self) -> u64 {
        let root = self.json(&format!("/v1/namespaces/{NS}/root")).await;
        root["length"].as_u64().expect("length")
    }

    /// Remembers one memory (one event).
    async fn remember(&self, text: &str) {
        let (status, body) = self
            .call(
                "POST",
                &format!("/v1/namespaces/{NS}/memories"),
                Some(json!({ "memories": [{ "content": text }] })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// The kept sizes, all pages.
    async fn kept(&self) -> Vec<u64> {
        let mut sizes = Vec::new();
        let mut after: Option<u64> = None;
        loop {
            let query = after.map_or(String::new(), |a| format!("&after={a}"));
            let page = self
                .json(&format!("/v1/namespaces/{NS}/checkpoints?limit=2{query}"))
                .await;
            sizes.extend(
                page["sizes"]
                    .as_array()
                    .expect("sizes")
                    .iter()
                    .map(|s| s.as_u64().expect("a size")),
            );
            match page["next"].as_u64() {
                Some(next) => after = Some(next),
                None => {
                    assert_eq!(page["count"], sizes.len(), "{page}");
                    assert_eq!(page["latest"].as_u64(), sizes.last().copied(), "{page}");
                    return sizes;
                }
            }
        }
    }

    /// Waits until more than `known` checkpoints are kept; the sizes.
    async fn kept_more_than(&self, known: usize) -> Vec<u64> {
        let began = Instant::now();
        loop {
            let sizes = self.kept().await;
            if sizes.len() > known {
                return sizes;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "no new checkpoint was kept: {sizes:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The kept note of `size`, checked with `verifier` and against the
    /// server's answer for the root at that size.
    async fn checked_note(&self, verifier: &Verifier, size: u64) -> SignedCheckpoint {
        let (status, note) = self
            .call(
                "GET",
                &format!("/v1/namespaces/{NS}/checkpoint?size={size}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{note}");
        let signed = verifier.verify(&note).expect("a kept note verifies");
        let checkpoint = &signed.checkpoint;
        assert_eq!(checkpoint.size, size);
        assert_eq!(checkpoint.origin, format!("example.com/mnemo/{NS}"));
        let proof = self
            .json(&format!(
                "/v1/namespaces/{NS}/consistency?from={size}&to={size}"
            ))
            .await;
        assert_eq!(
            proof["from_root"],
            hex(&checkpoint.root),
            "the log's root at {size}"
        );
        signed
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh key file in `dir`; its path and verifier.
fn keys(dir: &Path) -> (PathBuf, Verifier) {
    let keys = SigningKeys::generate("example.com/mnemo", PqLevel::MlDsa44).expect("keys");
    let key_file = dir.join("mnemo.key");
    std::fs::write(&key_file, keys.to_private_text()).expect("write the key");
    (key_file, keys.verifier())
}

/// The sizes of the notes in `DATA/NS/checkpoints`, and that no temporary
/// file is left there.
fn files(data: &Path) -> Vec<u64> {
    let dir = data.join(NS).join("checkpoints");
    let mut sizes: Vec<u64> = std::fs::read_dir(&dir)
        .expect("the checkpoints directory")
        .map(|e| {
            let name = e.expect("entry").file_name().into_string().expect("utf-8");
            let digits = name
                .strip_suffix(".note")
                .unwrap_or_else(|| panic!("{name}"));
            assert_eq!(digits.len(), 20, "{name}");
            digits.parse().expect("a size")
        })
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Every note in `DATA/NS/checkpoints` verifies and holds the root the log
/// (opened again from the directory) has at its size.
fn check_files_against_the_log(data: &Path, verifier: &Verifier) -> Vec<u64> {
    let sizes = files(data);
    let engine = engine(data);
    let ns = engine.namespace(NS).expect("namespace");
    for &size in &sizes {
        let path = data
            .join(NS)
            .join("checkpoints")
            .join(format!("{size:020}.note"));
        let note = std::fs::read_to_string(&path).expect("read");
        let signed = verifier.verify(&note).expect("verifies").checkpoint;
        assert_eq!(signed.size, size, "{}", path.display());
        assert_eq!(
            signed.root,
            ns.root_at(size).expect("root at"),
            "size {size}"
        );
    }
    engine.close().expect("close");
    sizes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_kept_every_n_events_and_on_shutdown() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let (key_file, verifier) = keys(dir.path());
    let server = Running::start(&data, &key_file, 5, 0).await;
    let (status, body) = server
        .call("POST", "/v1/namespaces", Some(json!({ "name": NS })))
        .await;
    assert!(status == 200 || status == 201, "{body}");

    // Below five events: nothing is kept (the keeper looks every second).
    let mut n = 0;
    while server.size().await < 4 {
        n += 1;
        server.remember(&format!("early {n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.kept().await, Vec::<u64>::new());
    let (status, body) = server
        .call(
            "GET",
            &format!("/v1/namespaces/{NS}/checkpoint?size=4"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("size 4") && body.contains("none is kept yet"),
        "{body}"
    );

    // The fifth event: one is kept, of at least five events.
    server.remember("fifth").await;
    let first = server.kept_more_than(0).await;
    assert_eq!(first.len(), 1);
    assert!(first[0] >= 5, "{first:?}");
    server.checked_note(&verifier, first[0]).await;

    // Five more: another, five or more after the first.
    for i in 0..5 {
        server.remember(&format!("more {i}")).await;
    }
    let second = server.kept_more_than(1).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second[1] >= second[0] + 5, "{second:?}");
    let old = server.checked_note(&verifier, second[0]).await.checkpoint;
    let new = server.checked_note(&verifier, second[1]).await.checkpoint;
    let proof = server
        .json(&format!(
            "/v1/namespaces/{NS}/consistency?from={}&to={}",
            old.size, new.size
        ))
        .await;
    let path: Vec<[u8; 32]> = proof["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|h| unhex(h.as_str().expect("hex")))
        .collect();
    mnemo_trust::verify_consistency(&old, &new, &path).expect("the later extends the earlier");

    // No growth: nothing more is kept.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.kept().await, second);

    // Pages, bounds and unknown sizes.
    let page = server
        .json(&format!("/v1/namespaces/{NS}/checkpoints?limit=1"))
        .await;
    assert_eq!(page["sizes"], json!([second[0]]));
    assert_eq!(page["next"], second[0]);
    for bad in ["limit=0", "limit=1001", "after=x"] {
        let (status, body) = server
            .call(
                "GET",
                &format!("/v1/namespaces/{NS}/checkpoints?{bad}"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        let name = bad.split('=').next().expect("name");
        assert!(body.contains(name), "{bad}: {body}");
    }
    let missing = second[1] + 1;
    let (status, body) = server
        .call(
            "GET",
            &format!("/v1/namespaces/{NS}/checkpoint?size={missing}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(&format!("size {missing}")), "{body}");

    // Two events, fewer than five, then a graceful stop: the head is kept.
    server.remember("last one").await;
    server.remember("really the last").await;
    let head = server.size().await;
    server.stop().await;
    let kept = check_files_against_the_log(&data, &verifier);
    assert_eq!(kept, vec![second[0], second[1], head]);

    // Restarted: the kept ones are served; a stop without growth keeps none.
    let server = Running::start(&data, &key_file, 5, 0).await;
    assert_eq!(server.kept().await, kept);
    server.checked_note(&verifier, head).await;
    server.stop().await;
    assert_eq!(files(&data), kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_kept_every_t_seconds_of_growth() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let (key_file, verifier) = keys(dir.path());
    let server = Running::start(&data, &key_file, 0, 2).await;
    let (status, body) = server
        .call("POST", "/v1/namespaces", Some(json!({ "name": NS })))
        .await;
    assert!(status == 200 || status == 201, "{body}");
    server.remember("one").await;

    let first = server.kept_more_than(0).await;
    assert_eq!(first.len(), 1);
    let first_note = server.checked_note(&verifier, first[0]).await;

    // A write right after: kept, but not before two seconds have passed
    // (the notes' signing times, whole seconds, are at least 2 apart).
    server.remember("two").await;
    let second = server.kept_more_than(1).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second[1] > second[0]);
    let second_note = server.checked_note(&verifier, second[1]).await;
    assert!(
        second_note.timestamp >= first_note.timestamp + 2,
        "signed at {} and {}",
        first_note.timestamp,
        second_note.timestamp
    );

    // No growth for more than two seconds: nothing more is kept.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(server.kept().await, second);
    server.stop().await;
    assert_eq!(check_files_against_the_log(&data, &verifier), second);
}

fn unhex(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}
