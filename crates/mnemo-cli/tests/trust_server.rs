//! `mnemo verify --checkpoint OLD --key PUB --server URL` against real
//! `mnemo serve` processes: a server whose log grew since OLD passes; one
//! whose history was rewritten (another data directory with the same
//! namespace and signing key) or cut back fails with exit code 1; a
//! tampered or foreign OLD fails; a server that refuses the request is an
//! error (exit code 2).

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{ok, stderr, stdout};
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::{CheckpointConfig, TokenEntry};
use serde_json::{Value, json};

/// Longest wait for a server to start (a hang guard, not a speed
/// requirement).
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `mnemo serve`, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `mnemo serve` over `data` with a config signing with `key` and
    /// accepting `token`, on a free loopback port.
    fn start(dir: &Path, data: &Path, key: &Path, token: &str) -> Served {
        let config_file = data.with_extension("toml");
        let mut config = mnemo_server::Config::default();
        config.tokens.push(TokenEntry::new(
            "admin",
            token,
            vec!["*".into()],
            vec![Right::Admin],
        ));
        config.checkpoints = Some(CheckpointConfig::new(key));
        config.save(&config_file).expect("write the config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mnemo"))
            .current_dir(dir)
            .arg("--data")
            .arg(data)
            .args(["--embedder", "hash", "serve", "--config"])
            .arg(&config_file)
            .args(["--listen", "127.0.0.1:0", "--log-json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mnemo serve");
        let stderr = child.stderr.take().expect("piped");
        let (found, addr) = mpsc::channel();
        // Drains standard error for the server's life, reporting its address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if v["fields"]["message"] == "serving"
                    && let Some(a) = v["fields"]["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = found.send(a);
                }
            }
        });
        let addr = addr
            .recv_timeout(PATIENCE)
            .expect("the server logs its address");
        let served = Served { child, addr };
        // Ready once the stored namespaces are open.
        let agent = agent();
        let deadline = std::time::Instant::now() + PATIENCE;
        while agent
            .get(served.url("/readyz"))
            .call()
            .map_or(true, |r| r.status() != 200)
        {
            assert!(std::time::Instant::now() < deadline, "never ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        served
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The body of `GET path` with `token`, which must answer 200.
    fn get(&self, path: &str, token: &str) -> String {
        let mut response = agent()
            .get(self.url(path))
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .expect("the server answers");
        let body = response.body_mut().read_to_string().expect("text");
        assert_eq!(response.status(), 200, "{path}: {body}");
        body
    }

    /// Remembers `texts` in namespace `default`, one event each.
    fn remember(&self, token: &str, texts: &[&str]) {
        for text in texts {
            let response = agent()
                .post(self.url("/v1/namespaces/default/memories"))
                .header("authorization", &format!("Bearer {token}"))
                .send_json(json!({ "memories": [{ "content": text }] }))
                .expect("the server answers");
            assert_eq!(response.status(), 201);
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

/// `mnemo verify --checkpoint NOTE --key PUB --server URL [EXTRA...]`
/// with `token` in MNEMO_TOKEN (when given).
fn verify(
    dir: &Path,
    note: &Path,
    key: &Path,
    server: &Served,
    token: Option<&str>,
    extra: &[&str],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mnemo"));
    command
        .current_dir(dir)
        .args(extra)
        .arg("verify")
        .arg("--checkpoint")
        .arg(note)
        .arg("--key")
        .arg(key)
        .args(["--server", &server.url("")]);
    command.env_remove("MNEMO_TOKEN");
    if let Some(token) = token {
        command.env("MNEMO_TOKEN", token);
    }
    command.output().expect("run mnemo verify")
}

/// The row of check `name` in `mnemo verify`'s table.
fn row<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name} row: {out}"))
}

#[test]
fn a_server_that_only_grew_passes_and_a_rewritten_or_cut_back_one_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let key = &root.join("signer.key");
    let public = &root.join("signer.pub");
    ok(
        &root.join("unused"),
        &[
            "key",
            "create",
            "--name",
            "example.com/mnemo",
            "--out",
            key.to_str().expect("utf-8"),
        ],
    );
    let token = generate_token();

    // The true history: three memories, a checkpoint from the server, then
    // more writes through it.
    let data = &root.join("data");
    for text in ["one", "two", "three"] {
        ok(data, &["remember", text]);
    }
    let server = Served::start(root, data, key, &token);
    let note = server.get("/v1/namespaces/default/checkpoint", &token);
    let old = &root.join("old.note");
    std::fs::write(old, &note).expect("write the note");
    server.remember(&token, &["four", "five", "six"]);

    let out = verify(root, old, public, &server, Some(&token), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    for name in ["checkpoint", "server checkpoint", "consistency"] {
        assert!(row(&text, name).contains("OK"), "{name}: {text}");
    }
    assert!(
        text.contains("OK: the server's log extends the checkpoint"),
        "{text}"
    );

    // Without a token the server refuses: an error (2), not a verdict.
    let out = verify(root, old, public, &server, None, &[]);
    assert_eq!(out.status.code(), Some(2), "no token: {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("401") && err.contains("token"), "{err}");

    // The same with --token and --json.
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .current_dir(root)
        .args(["--json", "verify", "--checkpoint"])
        .arg(old)
        .arg("--key")
        .arg(public)
        .args(["--server", &server.url("/"), "--token", &token])
        .env_remove("MNEMO_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["checks"][2]["check"], "consistency");

    // A checkpoint of another namespace than --namespace: refused before
    // the server is asked.
    let out = verify(
        root,
        old,
        public,
        &server,
        Some(&token),
        &["--namespace", "nobody"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        row(&stdout(&out), "checkpoint").contains("not this namespace"),
        "{}",
        stdout(&out)
    );
    // A namespace the server does not hold: an error naming it.
    let elsewhere = &root.join("elsewhere");
    ok(elsewhere, &["--namespace", "nobody", "remember", "x"]);
    let nobody = &root.join("nobody.note");
    let signed = ok(
        elsewhere,
        &[
            "--namespace",
            "nobody",
            "checkpoint",
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    std::fs::write(nobody, signed).expect("write");
    let out = verify(
        root,
        nobody,
        public,
        &server,
        Some(&token),
        &["--namespace", "nobody"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("404") && err.contains("nobody"), "{err}");

    // A tampered checkpoint, and another signer's keys.
    let mut lines: Vec<&str> = note.split('\n').collect();
    lines[1] = "2";
    let tampered = &root.join("tampered.note");
    std::fs::write(tampered, lines.join("\n")).expect("write");
    let out = verify(root, tampered, public, &server, Some(&token), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        row(&stdout(&out), "checkpoint").contains("FAILED"),
        "{}",
        stdout(&out)
    );
    ok(
        &root.join("unused"),
        &[
            "key",
            "create",
            "--name",
            "example.com/mnemo",
            "--out",
            root.join("other.key").to_str().expect("utf-8"),
        ],
    );
    let out = verify(
        root,
        old,
        &root.join("other.pub"),
        &server,
        Some(&token),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    drop(server);

    // A rewritten history: another data directory, the same namespace and
    // signing key, more events than the checkpoint covers.
    let forged = &root.join("forged");
    for text in ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete"] {
        ok(forged, &["remember", text]);
    }
    let server = Served::start(root, forged, key, &token);
    let out = verify(root, old, public, &server, Some(&token), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        row(&text, "server checkpoint").contains("OK"),
        "signed by the same key: {text}"
    );
    assert!(
        row(&text, "consistency").contains("FAILED") && text.contains("does not extend"),
        "{text}"
    );
    assert!(text.contains("FAILED: see the checks above"), "{text}");
    drop(server);

    // Cut back: a copy holding fewer events than the checkpoint.
    let short = &root.join("short");
    ok(short, &["remember", "only one"]);
    let server = Served::start(root, short, key, &token);
    let out = verify(root, old, public, &server, Some(&token), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(row(&text, "consistency").contains("cut back"), "{text}");

    // Nothing listens there any more: an error naming the URL.
    let url = server.url("");
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .current_dir(root)
        .args(["verify", "--checkpoint"])
        .arg(old)
        .arg("--key")
        .arg(public)
        .args(["--server", &url, "--token", &token])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains(&url), "{}", stderr(&out));
}
