//! `mnemo serve` end to end, through the real binary: no acknowledged write
//! is lost when the server is killed with SIGKILL under load; SIGTERM under
//! the same load answers every request in flight, exits 0 and leaves a
//! snapshot; tokens made by `mnemo token create` authenticate and are
//! scoped; `/readyz` follows the server's life, an open watch stream
//! does not hold up a shutdown, and namespaces built with another embedder
//! than the server's open with their own; the `[lifecycle]` section
//! reaches the namespaces it serves.
//!
//! Each server listens on `127.0.0.1:0`; the port is read from its
//! `serving` log line (`--log-json` on standard error).

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The namespace the writers fill.
const NS: &str = "load";
/// How long the writers run before the server is killed or stopped.
const LOAD: Duration = Duration::from_millis(1500);
/// Concurrent writers.
const WRITERS: usize = 4;
/// Longest wait for a server to start or to exit (a hang guard, not a
/// speed requirement).
const PATIENCE: Duration = Duration::from_secs(60);

// ---- a server process ------------------------------------------------------

/// A running `mnemo serve`, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `mnemo serve` on `data` with `config` on a free loopback port
    /// and waits until `/healthz` answers.
    fn start(data: &Path, config: &Path) -> Served {
        Served::start_with(data, config, "hash")
    }

    /// [`Served::start`] with `--embedder embedder`.
    fn start_with(data: &Path, config: &Path, embedder: &str) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mnemo"))
            .arg("--data")
            .arg(data)
            .args(["--embedder", embedder, "serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--sync", "always", "--log-json"])
            .env("MNEMO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mnemo serve");
        let stderr = child.stderr.take().expect("standard error is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, addr) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Drains standard error for the server's whole life (a full pipe
        // would block its logging) and reports the `serving` address.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = serving_addr(&line) {
                    let _ = found.send(a);
                }
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match addr.recv_timeout(PATIENCE) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not log its address:\n{}", text(&log));
            }
        };
        let mut served = Served { child, addr, log };
        served.wait_until_healthy();
        served
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        text(&self.log)
    }

    fn wait_until_healthy(&mut self) {
        let agent = agent();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}:\n{}", self.log());
            }
            if let Ok(response) = agent.get(self.url("/healthz")).call()
                && response.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never answered:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM {pid}");
    }

    /// Sends SIGKILL and reaps the process.
    fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        let status = self.child.wait().expect("reap");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "{status}"
        );
    }

    /// Waits for the process to exit on its own.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {PATIENCE:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit status must be 0.
    fn stop(&mut self) {
        self.terminate();
        let status = self.wait_exit();
        assert_eq!(status.code(), Some(0), "{status}:\n{}", self.log());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn text(log: &Mutex<String>) -> String {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The address of a `{"fields": {"message": "serving", "addr": ...}}` line.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v["fields"]["message"] != "serving" {
        return None;
    }
    v["fields"]["addr"].as_str()?.parse().ok()
}

// ---- setup -----------------------------------------------------------------

/// A data directory and a config file whose rate limit is out of the way
/// (the tests send thousands of requests with one token).
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let config = dir.path().join("mnemo.toml");
    std::fs::write(
        &config,
        "[limits]\nrequests_per_second = 1000000.0\nburst = 1000000.0\n",
    )
    .expect("write config");
    (dir, data, config)
}

/// `mnemo token create`: the token it prints (only that, on one line).
fn create_token(data: &Path, config: &Path, name: &str, right: &str, scopes: &[&str]) -> String {
    let config = config.to_str().expect("UTF-8 path");
    let mut args = vec![
        "token", "create", "--name", name, "--right", right, "--config", config,
    ];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let out = common::ok(data, &args);
    let token = out.trim();
    assert_eq!(out.lines().count(), 1, "one line on stdout: {out:?}");
    assert!(
        token.starts_with("mnemo_") && token.len() == 6 + 43,
        "{token:?}"
    );
    token.to_owned()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A status and a JSON body (a string when the body is not JSON).
type Answer = (u16, Value);

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, json)
}

fn get(agent: &ureq::Agent, url: &str, token: &str) -> Result<Answer, ureq::Error> {
    agent
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .call()
        .map(answer)
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: &Value) -> Result<Answer, ureq::Error> {
    agent
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .send_json(body)
        .map(answer)
}

fn create_namespace(server: &Served, token: &str, name: &str) {
    let (status, body) = post(
        &agent(),
        &server.url("/v1/namespaces"),
        token,
        &json!({"name": name}),
    )
    .expect("create namespace");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true, "{body}");
}

/// What the server said `total` is for namespace `ns`.
fn total(server: &Served, token: &str, ns: &str) -> u64 {
    let url = server.url(&format!("/v1/namespaces/{ns}/memories?limit=1"));
    let (status, body) = get(&agent(), &url, token).expect("list");
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().expect("total")
}

// ---- the load --------------------------------------------------------------

/// What one writer saw.
#[derive(Default)]
struct Seen {
    /// Ids acknowledged with 201, with the content sent.
    acked: Vec<(u64, String)>,
    /// Requests answered with 201.
    created: usize,
    /// Answers other than 201 (there must be none).
    unexpected: Vec<String>,
}

/// Remembers batches of 1 and 20 memories until the server goes away
/// (the first connection error) or `stop` is set.
fn writer(url: String, token: String, id: usize, stop: Arc<AtomicBool>) -> Seen {
    let agent = agent();
    let mut seen = Seen::default();
    for request in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let n = if request % 2 == 0 { 1 } else { 20 };
        let contents: Vec<String> = (0..n)
            .map(|j| format!("writer {id} request {request} memory {j}: the kettle is blue"))
            .collect();
        let memories: Vec<Value> = contents
            .iter()
            .map(|c| json!({"content": c, "tags": ["load"]}))
            .collect();
        match post(&agent, &url, &token, &json!({"memories": memories})) {
            Ok((201, body)) => {
                let ids: Vec<u64> = body["ids"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                if ids.len() != n {
                    seen.unexpected
                        .push(format!("201 with {} ids for {n}: {body}", ids.len()));
                }
                seen.acked.extend(ids.into_iter().zip(contents));
                seen.created += 1;
            }
            Ok((status, body)) => seen.unexpected.push(format!("{status}: {body}")),
            // The server is gone (killed, or stopped accepting).
            Err(_) => break,
        }
    }
    seen
}

/// Load on the server until `end` runs (kills or stops it); then what the
/// writers saw, all together.
fn under_load(server: &mut Served, token: &str, end: impl FnOnce(&mut Served)) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url(&format!("/v1/namespaces/{NS}/memories"));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (url, token, stop) = (url.clone(), token.to_owned(), Arc::clone(&stop));
            thread::spawn(move || writer(url, token, i, stop))
        })
        .collect();
    thread::sleep(LOAD);
    end(server);
    stop.store(true, Ordering::Relaxed);
    let mut all = Seen::default();
    for (i, w) in writers.into_iter().enumerate() {
        let seen = w.join().expect("writer thread");
        assert!(seen.created > 0, "writer {i} had no write acknowledged");
        all.acked.extend(seen.acked);
        all.created += seen.created;
        all.unexpected.extend(seen.unexpected);
    }
    assert!(
        all.unexpected.is_empty(),
        "answers other than 201 under load: {:?}",
        &all.unexpected[..all.unexpected.len().min(10)]
    );
    all
}

/// Every acknowledged id is there with its content (checked by 4 threads).
fn verify(server: &Served, token: &str, acked: &[(u64, String)]) {
    let chunk = acked.len().div_ceil(4).max(1);
    thread::scope(|s| {
        for part in acked.chunks(chunk) {
            s.spawn(move || {
                let agent = agent();
                for (id, content) in part {
                    let url = server.url(&format!("/v1/namespaces/{NS}/memories/{id}"));
                    let (status, body) = get(&agent, &url, token).expect("get a memory");
                    assert_eq!(status, 200, "acknowledged id {id} is missing: {body}");
                    assert_eq!(body["memory"]["id"], *id, "{body}");
                    assert_eq!(body["memory"]["content"], content.as_str(), "id {id}");
                }
            });
        }
    });
}

// ---- the tests -------------------------------------------------------------

#[test]
fn sigkill_under_load_loses_no_acknowledged_write() {
    let (_dir, data, config) = workspace();
    let token = create_token(&data, &config, "agent", "admin", &[]);
    let mut server = Served::start(&data, &config);
    create_namespace(&server, &token, NS);

    let seen = under_load(&mut server, &token, Served::kill9);
    let mut ids: Vec<u64> = seen.acked.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.acked.len(), "an id was acknowledged twice");

    let mut server = Served::start(&data, &config);
    verify(&server, &token, &seen.acked);
    // Writes in flight at the kill may have landed unacknowledged; none
    // acknowledged is missing.
    assert!(total(&server, &token, NS) >= seen.acked.len() as u64);
    eprintln!(
        "{} requests, {} memories acknowledged before SIGKILL; all present after restart",
        seen.created,
        seen.acked.len()
    );
    server.stop();
}

#[test]
fn sigterm_under_load_drains_exits_zero_and_snapshots() {
    let (_dir, data, config) = workspace();
    let token = create_token(&data, &config, "agent", "admin", &[]);
    let mut server = Served::start(&data, &config);
    create_namespace(&server, &token, NS);

    let mut status = None;
    let seen = under_load(&mut server, &token, |server| {
        server.terminate();
        status = Some(server.wait_exit());
    });
    let status = status.expect("exited");
    assert_eq!(status.code(), Some(0), "{status}:\n{}", server.log());
    let log = server.log();
    assert!(log.contains("snapshots written"), "{log}");

    let snapshots = data.join(NS).join("snapshots");
    let names: Vec<String> = std::fs::read_dir(&snapshots)
        .unwrap_or_else(|e| panic!("{}: {e}", snapshots.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".snap")),
        "no snapshot in {}: {names:?}",
        snapshots.display()
    );
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "a snapshot was left half written: {names:?}"
    );

    let mut server = Served::start(&data, &config);
    verify(&server, &token, &seen.acked);
    // A graceful stop answers every request it took: each write that took
    // effect was acknowledged, so the namespace holds exactly those.
    assert_eq!(
        total(&server, &token, NS),
        seen.acked.len() as u64,
        "a write took effect but its answer never reached the client"
    );
    eprintln!(
        "{} requests, {} memories acknowledged before SIGTERM; all present after restart",
        seen.created,
        seen.acked.len()
    );
    server.stop();
}

#[test]
fn tokens_from_the_cli_authenticate_and_are_scoped() {
    let (_dir, data, config) = workspace();
    let admin = create_token(&data, &config, "root", "admin", &[]);
    let scoped = create_token(&data, &config, "alice-agent", "write", &["a"]);
    let reader = create_token(&data, &config, "auditor", "read", &[]);

    // The config file keeps hashes only.
    let text = std::fs::read_to_string(&config).expect("read config");
    for token in [&admin, &scoped, &reader] {
        assert!(
            !text.contains(token.as_str()),
            "a plaintext token in:\n{text}"
        );
        let hash = mnemo_server::auth::hash_token(token);
        assert!(text.contains(&hash), "{hash} missing from:\n{text}");
    }
    assert_eq!(text.matches("sha256:").count(), 3, "{text}");
    let listed = common::ok(
        &data,
        &["token", "list", "--config", config.to_str().expect("UTF-8")],
    );
    assert!(listed.contains("alice-agent\twrite\ta"), "{listed}");

    let mut server = Served::start(&data, &config);
    let agent = agent();

    // No token, or an unknown one: 401 with a Bearer challenge.
    for auth in [
        None,
        Some("Bearer mnemo_unknown"),
        Some("Basic dXNlcjpwYXNz"),
    ] {
        let mut request = agent.get(server.url("/v1/namespaces"));
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        let response = request.call().expect("request");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, body) = answer(response);
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{auth:?}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }

    // Admin creates namespaces; others may not.
    create_namespace(&server, &admin, "a");
    create_namespace(&server, &admin, "b");
    let url = server.url("/v1/namespaces");
    let (status, body) = post(&agent, &url, &admin, &json!({"name": "a"})).expect("again");
    assert_eq!((status, &body["created"]), (200, &json!(false)), "{body}");
    for token in [&scoped, &reader] {
        let (status, body) = post(&agent, &url, token, &json!({"name": "c"})).expect("post");
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }

    // The scoped token writes in a, and is refused in b.
    let memories = |ns: &str| server.url(&format!("/v1/namespaces/{ns}/memories"));
    let one = json!({"memories": [{"content": "alice likes green tea"}]});
    let (status, body) = post(&agent, &memories("a"), &scoped, &one).expect("post");
    assert_eq!(status, 201, "{body}");
    let id = body["ids"][0].as_u64().expect("an id");
    for (status, body) in [
        post(&agent, &memories("b"), &scoped, &one).expect("post"),
        get(&agent, &memories("b"), &scoped).expect("get"),
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }
    let (status, body) = get(&agent, &url, &scoped).expect("list namespaces");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["namespaces"], json!(["a"]), "only its own namespace");

    // The read token reads everywhere and writes nowhere.
    let (status, body) = post(&agent, &memories("a"), &reader, &one).expect("post");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let (status, body) = get(
        &agent,
        &server.url(&format!("/v1/namespaces/a/memories/{id}")),
        &reader,
    )
    .expect("get");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["memory"]["content"], "alice likes green tea");
    assert_eq!(total(&server, &reader, "a"), 1);
    assert_eq!(total(&server, &reader, "b"), 0);

    server.stop();
}

#[test]
fn readyz_is_ready_after_start_and_stops_with_sigterm() {
    let (_dir, data, config) = workspace();
    let token = create_token(&data, &config, "agent", "admin", &[]);
    let mut server = Served::start(&data, &config);
    let agent = agent();
    let readyz = server.url("/readyz");
    // Ready once the stored namespaces are open (503 "starting" before).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = answer(agent.get(&readyz).call().expect("readyz"));
        if status == 200 {
            assert_eq!(body, json!({"status": "ready"}));
            break;
        }
        assert_eq!((status, &body), (503, &json!({"status": "starting"})));
        assert!(Instant::now() < deadline, "never ready");
        thread::sleep(Duration::from_millis(10));
    }

    // A watch stream is open when the signal comes: it ends, and does not
    // hold the shutdown up.
    create_namespace(&server, &token, "w");
    let mut watch = std::net::TcpStream::connect(server.addr).expect("connect");
    watch.set_read_timeout(Some(PATIENCE)).expect("timeout");
    write!(
        watch,
        "GET /v1/namespaces/w/watch HTTP/1.1\r\nHost: mnemo.test\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: current") {
        let n = watch.read(&mut buf).expect("the watch stream answers");
        assert!(
            n > 0,
            "the watch stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));

    server.terminate();
    // The stream ends (end of file or a reset). The wait is shorter than
    // the server's 30 s drain limit, so a stream that held the shutdown
    // until the drain gave up fails here.
    watch
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    loop {
        match watch.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) => {
                assert!(
                    !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                    "the watch stream is still open after SIGTERM"
                );
                break;
            }
        }
    }
    // After SIGTERM it stops serving: at most "stopping" answers, then the
    // port refuses connections. Once it said "stopping" it never says
    // "ready" again.
    let mut stopping = false;
    let deadline = Instant::now() + PATIENCE;
    loop {
        match agent.get(&readyz).call().map(answer) {
            Err(_) => break,
            Ok((200, _)) => assert!(!stopping, "ready again after stopping"),
            Ok((status, body)) => {
                assert_eq!((status, &body), (503, &json!({"status": "stopping"})));
                stopping = true;
            }
        }
        assert!(Instant::now() < deadline, "still serving after SIGTERM");
        thread::sleep(Duration::from_millis(5));
    }
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", server.log());
}

#[test]
fn namespaces_built_with_another_embedder_open_with_their_own() {
    let (_dir, data, config) = workspace();
    // The CLI creates namespaces with the hash embedder.
    common::ok(
        &data,
        &[
            "--namespace",
            "old",
            "remember",
            "the ferry to Lisbon leaves at noon",
        ],
    );
    let admin = create_token(&data, &config, "root", "admin", &[]);
    // The server's default is the int8 model where its files are (as
    // scripts/test fetches them); without them `auto` is the hash
    // embedder too and there is nothing to tell apart.
    let model = common::mnemo(&data, &["embed", "--embedder", "minilm-q8", "x"]);
    if !model.status.success() {
        assert!(
            std::env::var("MNEMO_REQUIRE_MODEL").as_deref() != Ok("1"),
            "MNEMO_REQUIRE_MODEL=1 but minilm-q8 did not load: {}",
            common::stderr(&model)
        );
        eprintln!("note: no all-MiniLM-L6-v2 files; skipping (run scripts/fetch-model)");
        return;
    }
    let server = Served::start_with(&data, &config, "auto");
    let agent = agent();
    let stats = |ns: &str| {
        let (status, body) = get(
            &agent,
            &server.url(&format!("/v1/namespaces/{ns}/stats")),
            &admin,
        )
        .expect("stats");
        assert_eq!(status, 200, "{body}");
        body["embedder"].as_str().expect("embedder").to_owned()
    };
    assert_eq!(stats("old"), "hash-v1");
    let (status, body) = post(
        &agent,
        &server.url("/v1/namespaces/old/recall"),
        &admin,
        &json!({"query": "when does the ferry leave", "k": 1}),
    )
    .expect("recall");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["hits"][0]["memory"]["content"], "the ferry to Lisbon leaves at noon",
        "{body}"
    );
    create_namespace(&server, &admin, "fresh");
    assert_eq!(stats("fresh"), "minilm-l6-v2-q8");
}

#[test]
fn the_lifecycle_section_applies_to_served_namespaces() {
    let (_dir, data, config) = workspace();
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str("[lifecycle]\nduplicates = \"merge\"\nttl_seconds = 3600\n");
    std::fs::write(&config, text).expect("write config");
    let admin = create_token(&data, &config, "root", "admin", &[]);
    let server = Served::start(&data, &config);
    create_namespace(&server, &admin, "notes");
    let agent = agent();
    let remember = |content: &str, source: &str| {
        let (status, body) = post(
            &agent,
            &server.url("/v1/namespaces/notes/memories"),
            &admin,
            &json!({"memories": [{"content": content, "source": source}]}),
        )
        .expect("remember");
        assert_eq!(status, 201, "{body}");
        body["results"][0].clone()
    };
    let first = remember("The user prefers dark mode in the editor", "chat-1");
    assert_eq!(first["outcome"], "added", "{first}");
    let again = remember("the user prefers dark mode in the editor!", "chat-2");
    assert_eq!(again["outcome"], "merged", "{again}");
    assert_eq!(again["id"], first["id"], "{again}");
    let url = server.url(&format!("/v1/namespaces/notes/memories/{}", first["id"]));
    let (status, detail) = get(&agent, &url, &admin).expect("get");
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["merged"]["count"], 1, "{detail}");
    assert_eq!(
        detail["merged"]["recent"][0]["source"], "chat-2",
        "{detail}"
    );
    assert!(
        detail["expires_at"].is_string(),
        "the TTL applies: {detail}"
    );
    drop(server);

    // A bad value is refused when the config is read, naming its key.
    let bad = config.with_file_name("bad.toml");
    std::fs::write(&bad, "[lifecycle]\nduplicate_text_similarity = 2.0\n").expect("write");
    let out = common::mnemo(
        &data,
        &[
            "token",
            "list",
            "--config",
            bad.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("lifecycle.duplicate_text_similarity"),
        "{}",
        common::stderr(&out)
    );
}
