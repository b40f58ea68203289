//! Bad input against a real server on a loopback socket (in-process, small
//! limits): malformed, mistyped and oversized bodies, missing content
//! types, namespace names that try to leave the data directory, slow
//! clients, floods, bad ids, unknown routes and methods. Every refusal is
//! the structured error `{"error": {"code", "message"}}` and none writes
//! anything. A last test walks `/v1/openapi.json` and checks that every
//! documented operation is routed.
//!
//! Requests are written by hand on a `TcpStream`, so the tests control
//! every byte (no client normalizes `..` or fixes a header).

use std::collections::BTreeSet;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mnemo::Mnemo;
use mnemo_server::Server;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::{Config, Limits, TokenEntry};
use serde_json::{Value, json};

/// The namespace every server starts with (one memory in it).
const NS: &str = "bad";
/// `limits.body_bytes`.
const BODY_LIMIT: usize = 64 * 1024;
/// `limits.header_timeout_ms`.
const HEADER_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest wait for anything that must happen (a hang guard, never a speed
/// requirement).
const PATIENCE: Duration = Duration::from_secs(30);

// ---- the server --------------------------------------------------------------

/// A server on its own runtime and thread, over a fresh data directory.
struct Running {
    addr: SocketAddr,
    /// Admin on every namespace.
    token: String,
    /// Read on every namespace, for the flood.
    flood: String,
    /// The seed memory's id.
    seed: u64,
    /// Holds `data/` (the engine's directory) and nothing else.
    root: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<Result<(), String>>>,
}

impl Running {
    fn start() -> Running {
        let root = tempfile::tempdir().expect("temporary directory");
        let mnemo = Mnemo::open(root.path().join("data")).expect("open the engine");
        let token = generate_token();
        let flood = generate_token();
        let limits = Limits {
            body_bytes: BODY_LIMIT,
            requests_per_second: 50.0,
            burst: 20.0,
            header_timeout_ms: HEADER_TIMEOUT.as_millis() as u64,
            request_timeout_ms: 2000,
            ..Limits::default()
        };
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits,
            ..Config::default()
        };
        config.tokens.push(TokenEntry::new(
            "admin",
            &token,
            vec!["*".into()],
            vec![Right::Admin],
        ));
        config.tokens.push(TokenEntry::new(
            "flood",
            &flood,
            vec!["*".into()],
            vec![Right::Read],
        ));
        let (bound, addr) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let server = Server::bind(config, mnemo)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = bound.send(server.local_addr());
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        let addr = addr.recv_timeout(PATIENCE).expect("the server binds");
        let mut running = Running {
            addr,
            token,
            flood,
            seed: 0,
            root,
            stop: Some(stop),
            thread: Some(thread),
        };
        let deadline = Instant::now() + PATIENCE;
        while running.get("/readyz").status != 200 {
            assert!(Instant::now() < deadline, "never ready");
            thread::sleep(Duration::from_millis(5));
        }
        let created = running.json("POST", "/v1/namespaces", &json!({"name": NS}));
        assert_eq!(created.status, 201, "{created}");
        let remembered = running.json(
            "POST",
            &format!("/v1/namespaces/{NS}/memories"),
            &json!({"memories": [{"content": "the seed memory"}]}),
        );
        assert_eq!(remembered.status, 201, "{remembered}");
        running.seed = remembered.json()["ids"][0].as_u64().expect("an id");
        running
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A request with the admin token; waits out 429s (the limits are
    /// small and only the flood test is about them).
    fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("Authorization", auth.as_str())];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let request = request_bytes(method, path, &headers, body);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reply = exchange(self.addr, &request);
            if reply.status != 429 {
                return reply;
            }
            assert!(Instant::now() < deadline, "rate limited for {PATIENCE:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        self.send(
            method,
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, b"")
    }

    /// How many memories the namespace holds.
    fn count(&self) -> u64 {
        let reply = self.get(&format!("/v1/namespaces/{NS}/memories?limit=1"));
        assert_eq!(reply.status, 200, "{reply}");
        reply.json()["total"].as_u64().expect("total")
    }

    /// Stops the server; it must shut down cleanly.
    fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let result = thread.join().expect("the server thread does not panic");
            assert_eq!(result, Ok(()), "the server stops cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---- HTTP by hand --------------------------------------------------------------

/// An answer: status, headers (names lowercase) and body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }

    /// Checks the error shape — `{"error": {"code", "message"}}` and
    /// nothing else — and the status and code; returns the message.
    fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{self}");
        assert!(
            self.header("content-type")
                .is_some_and(|ct| ct.starts_with("application/json")),
            "an error is JSON: {self}"
        );
        let body = self.json();
        let top = body.as_object().expect("an object");
        assert_eq!(top.len(), 1, "only \"error\": {body}");
        let error = body["error"].as_object().expect("an error object");
        assert_eq!(error.len(), 2, "only code and message: {body}");
        assert_eq!(error["code"], code, "{body}");
        let message = error["message"].as_str().expect("a message").to_owned();
        assert!(!message.is_empty(), "{body}");
        message
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.status,
            String::from_utf8_lossy(&self.body[..self.body.len().min(2000)])
        )
    }
}

/// A request head with `Connection: close` and `headers`.
fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: mnemo.test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A whole request: the head with, for a body (or a method that takes
/// one), its `Content-Length`, then the body.
fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut headers = headers.to_vec();
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        headers.push(("Content-Length", &length));
    }
    let mut bytes = head(method, path, &headers);
    bytes.extend_from_slice(body);
    bytes
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    stream
}

/// Sends `request` on a new connection and reads the answer.
fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = connect(addr);
    // The server may answer (and close) before reading everything.
    let _ = stream.write_all(request);
    read_reply(&mut stream).expect("an answer")
}

/// Sends `head` then `parts` from another thread, as a client streaming a
/// body would, while this one reads the answer.
fn exchange_streaming(addr: SocketAddr, head: Vec<u8>, parts: Vec<Vec<u8>>) -> Reply {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().expect("clone the stream");
    let sender = thread::spawn(move || {
        for part in std::iter::once(head).chain(parts) {
            if writer.write_all(&part).is_err() {
                return;
            }
        }
    });
    let reply = read_reply(&mut stream).expect("an answer");
    // Unblocks the sender if the server stopped reading.
    let _ = stream.shutdown(Shutdown::Both);
    sender.join().expect("sender thread");
    reply
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes; false at the end of the stream (or an error, such as
/// a reset after the server answered and closed).
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Reads one answer: the head, then the body by its length, chunks or the
/// end of the stream. An event stream's body is not read (it never ends).
fn read_reply(stream: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if !read_more(stream, &mut buf) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: buf[head_end..].to_vec(),
    };
    let chunked = reply
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"));
    let length = reply
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    if reply
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/event-stream"))
    {
        return Some(reply);
    }
    if chunked {
        loop {
            if let Some(body) = decode_chunked(&reply.body) {
                reply.body = body;
                break;
            }
            if !read_more(stream, &mut reply.body) {
                break;
            }
        }
    } else if let Some(n) = length {
        while reply.body.len() < n && read_more(stream, &mut reply.body) {}
        reply.body.truncate(n);
    } else {
        while read_more(stream, &mut reply.body) {}
    }
    Some(reply)
}

/// A complete chunked body, decoded; `None` while incomplete.
fn decode_chunked(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let line = find(rest, b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line + 2..];
        if size == 0 {
            return Some(out);
        }
        if rest.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Every path under `root`, relative to it.
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut all = BTreeSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            all.insert(path.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
    all
}

fn memories_path() -> String {
    format!("/v1/namespaces/{NS}/memories")
}

// ---- the tests -------------------------------------------------------------------

#[test]
fn malformed_json_is_invalid_json_and_writes_nothing() {
    let server = Running::start();
    let before = server.count();
    for body in [
        &b"{\"memories\": ["[..],
        b"not json at all",
        b"",
        b"{\"memories\": [{\"content\": \"x\"}]}}",
        b"{\"memories\": [{\"content\": \"x\",}]}",
        b"{\"memories\": [{\"content\": \"\xff\xfe\"}]}",
    ] {
        let reply = server.send("POST", &memories_path(), Some("application/json"), body);
        let message = reply.error(400, "invalid_json");
        assert!(message.contains("JSON"), "{message}");
    }
    assert_eq!(server.count(), before);
    server.finish();
}

#[test]
fn wrong_types_are_refused_naming_the_field() {
    let server = Running::start();
    let before = server.count();
    let memory = format!("/v1/namespaces/{NS}/memories/{}", server.seed);
    let cases = [
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": 5}]}),
            "content",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": {"content": "x"}}),
            "memories",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": "x", "importance": "high"}]}),
            "importance",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": "x", "tags": "a"}]}),
            "tags",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": "x", "kind": "dream"}]}),
            "kind",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": "x", "at": "yesterday"}]}),
            "at",
        ),
        (
            "POST",
            memories_path(),
            json!({"memories": [{"content": "x", "metadata": {"k": [1]}}]}),
            "metadata",
        ),
        (
            "POST",
            format!("/v1/namespaces/{NS}/recall"),
            json!({"query": 5}),
            "query",
        ),
        (
            "POST",
            format!("/v1/namespaces/{NS}/links"),
            json!({"from": "a", "to": 1, "kind": "x"}),
            "from",
        ),
        (
            "PATCH",
            memory.clone(),
            json!({"importance": "very"}),
            "importance",
        ),
        ("POST", format!("{memory}/tags"), json!({"add": "x"}), "add"),
        (
            "POST",
            "/v1/namespaces".to_owned(),
            json!({"name": 7}),
            "name",
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = server.json(method, &path, &body);
        let message = reply.error(400, "invalid_request");
        assert!(
            message.contains(field),
            "{method} {path} {body}: the message should name {field}: {message}"
        );
    }
    let reply = server.get(&format!("{}?limit=many", memories_path()));
    let message = reply.error(400, "invalid_request");
    assert!(message.contains("limit"), "{message}");
    assert_eq!(server.count(), before);
    server.finish();
}

#[test]
fn unknown_fields_are_refused_naming_the_field() {
    let server = Running::start();
    let before = server.count();
    let cases = [
        (
            memories_path(),
            json!({"memories": [{"content": "x"}], "extra": 1}),
            "extra",
        ),
        (
            memories_path(),
            json!({"memories": [{"content": "x", "colour": "red"}]}),
            "colour",
        ),
        (
            "/v1/namespaces".to_owned(),
            json!({"name": "fresh", "owner": "me"}),
            "owner",
        ),
        (
            format!("/v1/namespaces/{NS}/recall"),
            json!({"query": "x", "top": 3}),
            "top",
        ),
        (
            format!("/v1/namespaces/{NS}/memories/query"),
            json!({"filter": {"colour": "red"}}),
            "colour",
        ),
    ];
    for (path, body, field) in cases {
        let reply = server.json("POST", &path, &body);
        let message = reply.error(400, "invalid_request");
        assert!(
            message.contains(field),
            "POST {path} {body}: the message should name {field}: {message}"
        );
    }
    let reply = server.get(&format!("{}?colour=red", memories_path()));
    let message = reply.error(400, "invalid_request");
    assert!(message.contains("colour"), "{message}");
    assert_eq!(server.count(), before);
    let listed = server.get("/v1/namespaces").json();
    assert_eq!(
        listed["namespaces"],
        json!([NS]),
        "no namespace was created"
    );
    server.finish();
}

#[test]
fn bodies_over_the_limit_are_413_and_write_nothing() {
    let server = Running::start();
    let before = server.count();
    let auth = format!("Bearer {}", server.token);
    let memory = |bytes: usize| {
        json!({"memories": [{"content": "a".repeat(bytes)}]})
            .to_string()
            .into_bytes()
    };

    // Under the limit: accepted (so the limit is what refuses the others).
    let reply = server.send(
        "POST",
        &memories_path(),
        Some("application/json"),
        &memory(BODY_LIMIT - 1024),
    );
    assert_eq!(reply.status, 201, "{reply}");
    let before = before + 1;
    assert_eq!(server.count(), before);

    // Over the limit with a Content-Length: refused at once.
    let big = memory(BODY_LIMIT + 32 * 1024);
    let length = big.len().to_string();
    let request = head(
        "POST",
        &memories_path(),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Content-Length", &length),
        ],
    );
    let reply = exchange_streaming(server.addr, request, vec![big.clone()]);
    reply.error(413, "payload_too_large");

    // Over the limit in chunks (no length known up front): refused while
    // reading.
    let request = head(
        "POST",
        &memories_path(),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
    );
    let mut parts: Vec<Vec<u8>> = big
        .chunks(8 * 1024)
        .map(|c| {
            let mut part = format!("{:x}\r\n", c.len()).into_bytes();
            part.extend_from_slice(c);
            part.extend_from_slice(b"\r\n");
            part
        })
        .collect();
    parts.push(b"0\r\n\r\n".to_vec());
    let reply = exchange_streaming(server.addr, request, parts);
    reply.error(413, "payload_too_large");

    assert_eq!(server.count(), before, "nothing written");
    server.finish();
}

#[test]
fn a_body_without_a_json_content_type_is_415() {
    let server = Running::start();
    let before = server.count();
    let body = json!({"memories": [{"content": "typed wrong"}]}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let reply = server.send("POST", &memories_path(), content_type, body.as_bytes());
        reply.error(415, "unsupported_media_type");
    }
    assert_eq!(server.count(), before);
    server.finish();
}

#[test]
fn namespace_names_cannot_leave_the_data_directory() {
    let server = Running::start();
    let before = tree(server.root.path());
    let long = "n".repeat(65);
    let in_path = [
        "..",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        ".hidden",
        "a%2fb",
        "..%2f..%2foutside",
        "%2e%2e%2f%2e%2e%2foutside",
        "a%5cb",
        "%00",
        "a%20b",
        long.as_str(),
    ];
    let body = json!({"memories": [{"content": "escaped"}]});
    for name in in_path {
        for (method, path) in [
            ("GET", format!("/v1/namespaces/{name}/memories")),
            ("POST", format!("/v1/namespaces/{name}/memories")),
            ("GET", format!("/v1/namespaces/{name}/stats")),
        ] {
            let reply = server.json(method, &path, &body);
            assert!(
                matches!(reply.status, 400 | 404),
                "{method} {path}: {reply}"
            );
            reply.error(
                reply.status,
                if reply.status == 400 {
                    "invalid_request"
                } else {
                    "not_found"
                },
            );
        }
    }
    // Unencoded slashes and dots are segments of their own: no route.
    for path in [
        "/v1/namespaces/a/b/memories",
        "/v1/namespaces/../../outside/memories",
        "/v1/namespaces/./memories",
    ] {
        let reply = server.json("POST", path, &body);
        assert!(matches!(reply.status, 400 | 404), "{path}: {reply}");
        reply.error(
            reply.status,
            if reply.status == 400 {
                "invalid_request"
            } else {
                "not_found"
            },
        );
    }
    // Creating one by name: refused.
    for name in [
        "..",
        ".",
        "",
        ".hidden",
        "a/b",
        "../outside",
        "../../outside",
        "a\\b",
        "a\u{0}b",
        "é",
        long.as_str(),
    ] {
        let reply = server.json("POST", "/v1/namespaces", &json!({"name": name}));
        reply.error(400, "invalid_request");
    }
    assert_eq!(
        tree(server.root.path()),
        before,
        "no file was created or removed"
    );
    let top: Vec<PathBuf> = before
        .iter()
        .filter(|p| p.components().count() == 1)
        .cloned()
        .collect();
    assert_eq!(
        top,
        vec![PathBuf::from("data")],
        "only the data directory at the top"
    );
    assert!(server.data().join(NS).is_dir());
    let listed = server.get("/v1/namespaces").json();
    assert_eq!(listed["namespaces"], json!([NS]));
    server.finish();
}

/// Reads until the server closes the connection; `Err` when it is still
/// open after [`PATIENCE`].
fn wait_closed(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("still open after {PATIENCE:?}"));
            }
            // A reset is a close too.
            Err(_) => return Ok(got),
        }
    }
}

#[test]
fn a_stalled_request_head_is_cut_off_while_others_are_served() {
    let server = Running::start();
    let started = Instant::now();
    // Partial heads that never complete, and a connection that sends nothing.
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|i| {
            let mut s = connect(server.addr);
            if i > 0 {
                let partial = format!("GET /healthz HTTP/1.1\r\nHost: mnemo.test\r\nX-Slow-{i}: ");
                s.write_all(partial.as_bytes())
                    .expect("send a partial head");
            }
            s
        })
        .collect();
    // A client dripping one byte of its head every 50 ms.
    let mut drip = connect(server.addr);
    let mut dripper = drip.try_clone().expect("clone");
    let drip_thread = thread::spawn(move || {
        let head = b"GET /healthz HTTP/1.1\r\nHost: mnemo.test\r\nX-Padding: "
            .iter()
            .chain([b'x'; 1000].iter());
        for byte in head {
            if dripper.write_all(&[*byte]).is_err() {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    });

    // Meanwhile the others are served.
    for _ in 0..5 {
        let reply = exchange(server.addr, &request_bytes("GET", "/healthz", &[], b""));
        assert_eq!(reply.status, 200, "{reply}");
        assert_eq!(reply.json(), json!({"status": "ok"}));
        let reply = server.get(&memories_path());
        assert_eq!(reply.status, 200, "{reply}");
    }

    for (i, stream) in slow.iter_mut().enumerate() {
        let got = wait_closed(stream).unwrap_or_else(|e| panic!("slow client {i}: {e}"));
        // hyper may say 408 before closing; it must not serve the request.
        let text = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || text.starts_with("HTTP/1.1 408"),
            "slow client {i} got {text}"
        );
    }
    let closed_after = started.elapsed();
    let got = wait_closed(&mut drip).unwrap_or_else(|e| panic!("dripping client: {e}"));
    let text = String::from_utf8_lossy(&got);
    assert!(
        got.is_empty() || text.starts_with("HTTP/1.1 408"),
        "dripping client got {text}"
    );
    let _ = drip.shutdown(Shutdown::Both);
    drip_thread.join().expect("dripper");
    // The timeout is what closed them, not an error at once.
    assert!(
        closed_after >= HEADER_TIMEOUT / 2,
        "closed after {closed_after:?}"
    );
    eprintln!(
        "stalled connections closed after {closed_after:?} (header timeout {HEADER_TIMEOUT:?})"
    );

    let reply = exchange(server.addr, &request_bytes("GET", "/healthz", &[], b""));
    assert_eq!(reply.status, 200, "{reply}");
    server.finish();
}

#[test]
fn a_stalled_body_gets_408_and_writes_nothing() {
    let server = Running::start();
    let before = server.count();
    let auth = format!("Bearer {}", server.token);
    let mut stream = connect(server.addr);
    let mut request = head(
        "POST",
        &memories_path(),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Content-Length", "100"),
        ],
    );
    // The head is complete; the body stops after a few bytes.
    request.extend_from_slice(b"{\"memories\": [");
    stream.write_all(&request).expect("send");
    let reply = read_reply(&mut stream).expect("an answer before the client gives up");
    let message = reply.error(408, "timeout");
    assert!(message.contains("request_timeout_ms"), "{message}");
    assert_eq!(server.count(), before);
    server.finish();
}

#[test]
fn a_flood_gets_429_with_retry_after_and_health_still_answers() {
    let server = Running::start();
    let auth = format!("Bearer {}", server.flood);
    let request = request_bytes("GET", "/v1/namespaces", &[("Authorization", &auth)], b"");
    // Four clients at once until one is refused (burst 20, 50 per second).
    let limited = thread::scope(|s| {
        let clients: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..2000 {
                        let reply = exchange(server.addr, &request);
                        match reply.status {
                            200 => continue,
                            _ => return Some(reply),
                        }
                    }
                    None
                })
            })
            .collect();
        clients
            .into_iter()
            .filter_map(|c| c.join().expect("client"))
            .collect::<Vec<_>>()
    });
    assert!(!limited.is_empty(), "no request was refused");
    for reply in &limited {
        let message = reply.error(429, "rate_limited");
        assert!(message.contains("flood"), "{message}");
        let retry: u64 = reply
            .header("retry-after")
            .unwrap_or_else(|| panic!("no Retry-After: {reply}"))
            .parse()
            .expect("Retry-After in seconds");
        assert!(retry >= 1, "{retry}");
    }
    // The public routes and other tokens are not limited by it.
    let reply = exchange(server.addr, &request_bytes("GET", "/healthz", &[], b""));
    assert_eq!(reply.status, 200, "{reply}");
    let admin = format!("Bearer {}", server.token);
    let reply = exchange(
        server.addr,
        &request_bytes("GET", "/v1/namespaces", &[("Authorization", &admin)], b""),
    );
    assert_eq!(
        reply.status, 200,
        "another token has its own bucket: {reply}"
    );
    server.finish();
}

#[test]
fn ids_must_be_numbers() {
    let server = Running::start();
    let before = server.count();
    for id in [
        "abc",
        "-1",
        "1.5",
        "18446744073709551616",
        "0x10",
        "%20",
        "1e3",
    ] {
        let path = format!("/v1/namespaces/{NS}/memories/{id}");
        for (method, body) in [
            ("GET", None),
            ("DELETE", None),
            ("PATCH", Some(json!({"content": "changed"}))),
        ] {
            let reply = match body {
                Some(b) => server.json(method, &path, &b),
                None => server.send(method, &path, None, b""),
            };
            reply.error(400, "invalid_request");
        }
        let reply = server.json("POST", &format!("{path}/tags"), &json!({"add": ["t"]}));
        reply.error(400, "invalid_request");
    }
    // A well-formed id that does not exist is a 404.
    let reply = server.get(&format!(
        "/v1/namespaces/{NS}/memories/{}",
        server.seed + 1000
    ));
    reply.error(404, "not_found");
    let reply = server.get(&format!("/v1/namespaces/{NS}/memories/{}", server.seed));
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.json()["memory"]["content"], "the seed memory");
    assert_eq!(server.count(), before);
    server.finish();
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let server = Running::start();
    for path in [
        "/nope",
        "/v1",
        "/v1/nope",
        "/v1/namespaces/bad/nothing",
        "/v1/namespaces/bad/memories/1/nothing",
        "/healthz/extra",
    ] {
        let message = server.get(path).error(404, "not_found");
        assert!(message.contains(path), "{message}");
    }
    for (method, path) in [
        ("DELETE", "/v1/namespaces".to_owned()),
        ("PUT", "/healthz".to_owned()),
        ("POST", "/readyz".to_owned()),
        ("PUT", memories_path()),
        ("POST", format!("{}/{}", memories_path(), server.seed)),
        ("GET", format!("/v1/namespaces/{NS}/recall")),
    ] {
        let message = server
            .send(method, &path, Some("application/json"), b"{}")
            .error(405, "method_not_allowed");
        assert!(message.contains(method), "{message}");
    }
    server.finish();
}

#[test]
fn every_documented_operation_is_routed() {
    let server = Running::start();
    let reply = exchange(
        server.addr,
        &request_bytes("GET", "/v1/openapi.json", &[], b""),
    );
    assert_eq!(reply.status, 200, "public: {reply}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{:?}",
        reply.headers
    );
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operation_ids = BTreeSet::new();
    let mut walked = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            // Placeholders: the namespace, the seed memory, "x" for others.
            let mut concrete = path.clone();
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] != "path" {
                    continue;
                }
                let name = param["name"].as_str().expect("a name");
                let value = match (name, param["schema"]["type"].as_str()) {
                    ("ns", _) => NS.to_owned(),
                    (_, Some("integer")) => server.seed.to_string(),
                    _ => "x".to_owned(),
                };
                concrete = concrete.replace(&format!("{{{name}}}"), &value);
            }
            assert!(
                !concrete.contains('{'),
                "{path}: undocumented path parameter"
            );
            let body: &[u8] = if op.get("requestBody").is_some() {
                b"{}"
            } else {
                b""
            };
            let method = method.to_ascii_uppercase();
            let reply = server.send(&method, &concrete, Some("application/json"), body);
            let routed = match reply.status {
                404 => !reply.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no route")),
                405 => false,
                _ => true,
            };
            assert!(
                routed,
                "{method} {concrete} ({id}) is documented but not routed: {reply}"
            );
            assert!(reply.status < 500, "{method} {concrete}: {reply}");
            walked.push(format!("{method} {concrete} -> {}", reply.status));
        }
    }
    for expected in [
        "remember",
        "getMemory",
        "recall",
        "createNamespace",
        "healthz",
        "openapi",
    ] {
        assert!(
            operation_ids.contains(expected),
            "{expected} is not documented"
        );
    }
    eprintln!("{} operations routed:\n{}", walked.len(), walked.join("\n"));
    server.finish();
}
