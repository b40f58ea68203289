//! Nothing a client sends before auth grows the server without bound: a
//! flood of requests with invented methods and paths, with no token or
//! tokens the server does not know, leaves `/metrics` with the label sets
//! it had (methods outside the standard set count as `other`, unmatched
//! paths as route `other`) and the process's resident memory about where
//! it was.
//!
//! The server runs in this process on a real socket, so the requests go
//! through hyper's parser as a client's would; several client threads
//! speak HTTP/1.1 over plain TCP, since HTTP client libraries refuse
//! methods they do not know.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{Config, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Requests in the flood.
const FLOOD: usize = 10_000;
/// Client threads.
const CLIENTS: usize = 4;
/// Every random path segment carries this, so a label holding a raw path
/// is easy to spot.
const MARKER: &str = "zq";
/// The metrics text may grow by this much over the flood, once the
/// warm-up has made every label set the flood can reach: counts gaining
/// digits. Before labels were folded, 2,000 requests added 3.5 MB.
const MAX_METRICS_GROWTH: usize = 8 * 1024;
/// Series the metrics may have at all after the flood: the routes times
/// ten method labels times a few statuses, each a histogram of some
/// twenty lines, is far below this; one series per request is far above.
const MAX_SERIES: usize = 5_000;
/// Standard methods the flood sends beside invented ones (those whose
/// answers carry a body, so a keep-alive client can read them).
const SENT_STANDARD_METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
/// Paths the flood sends as they are.
const EXACT: [&str; 5] = [
    "/mcp",
    "/metrics",
    "/v1/namespaces",
    "/healthz",
    "/explorer",
];
/// Prefixes the flood puts random segments under: most match no route,
/// some reach route patterns or the explorer's wildcard.
const PREFIXES: [&str; 10] = [
    "/",
    "/v1/",
    "/v1/namespaces/",
    "/explorer/",
    "/mcp/",
    "/metrics/",
    "/healthz/",
    "/v1/namespaces/alice/",
    "/v1/namespaces/alice/memories/",
    "/v1/openapi.json/",
];
/// The resident memory may grow by this much over the flood: generous,
/// since allocators keep freed memory, but far below what per-request
/// state for 10,000 requests would take once it is kept.
const MAX_RSS_GROWTH_KIB: u64 = 64 * 1024;

const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// A keep-alive HTTP/1.1 connection that reconnects when the server
/// closes it.
struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// Sends a request without a body; the status and the body.
    fn send(&mut self, method: &str, target: &str, authorization: Option<&str>) -> (u16, Vec<u8>) {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n",
            self.addr
        );
        if let Some(value) = authorization {
            head.push_str(&format!("Authorization: {value}\r\n"));
        }
        head.push_str("\r\n");
        // A kept-alive connection the server has just closed fails on
        // first use: one retry on a fresh connection.
        for attempt in 0..2 {
            match self.exchange(&head) {
                Ok(answer) => return answer,
                Err(e) if attempt == 0 => {
                    self.conn = None;
                    eprintln!("reconnecting after: {e}");
                }
                Err(e) => panic!("{method} {target}: {e}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn exchange(&mut self, head: &str) -> std::io::Result<(u16, Vec<u8>)> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().expect("connected");
        conn.get_mut().write_all(head.as_bytes())?;
        let mut line = String::new();
        conn.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("closed in the head"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim().to_ascii_lowercase();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value.contains("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            conn.read_exact(&mut body)?;
        } else {
            conn.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            self.conn = None;
        }
        Ok((status, body))
    }
}

/// An invented method: an uppercase token that is none of the standard
/// ones.
fn invented_method(rng: &mut StdRng) -> String {
    loop {
        let len = rng.random_range(3..=12);
        let m: String = (0..len)
            .map(|_| char::from(rng.random_range(b'A'..=b'Z')))
            .collect();
        if !STANDARD_METHODS.contains(&m.as_str()) {
            return m;
        }
    }
}

/// A random path (and sometimes a query), mostly matching no route, some
/// under prefixes that routes or wildcards do match.
fn random_target(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._~";
    if rng.random_bool(0.1) {
        return EXACT[rng.random_range(0..EXACT.len())].to_owned();
    }
    let mut target = PREFIXES[rng.random_range(0..PREFIXES.len())].to_owned();
    for i in 0..rng.random_range(1..=4) {
        if i > 0 {
            target.push('/');
        }
        target.push_str(MARKER);
        for _ in 0..rng.random_range(1..=12) {
            target.push(char::from(CHARS[rng.random_range(0..CHARS.len())]));
        }
        if rng.random_bool(0.1) {
            target.push_str("%2F%E2%98%83");
        }
    }
    if rng.random_bool(0.3) {
        target.push_str(&format!(
            "?{MARKER}{}={}",
            rng.random::<u32>(),
            rng.random::<u32>()
        ));
    }
    target
}

/// No token, a well-formed token the server does not know, garbage, or
/// another scheme.
fn random_authorization(rng: &mut StdRng) -> Option<String> {
    match rng.random_range(0..4) {
        0 => None,
        1 => Some(format!("Bearer {}", generate_token())),
        2 => Some(format!("Bearer {MARKER}{}", rng.random::<u64>())),
        _ => Some(format!("Basic {MARKER}{}", rng.random::<u64>())),
    }
}

/// Sends `n` random requests from `CLIENTS` threads; the statuses seen.
fn flood(addr: SocketAddr, n: usize, seed: u64) -> BTreeSet<u16> {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed + i as u64);
                let mut client = Client::new(addr);
                let mut statuses = BTreeSet::new();
                for _ in 0..n.div_ceil(CLIENTS) {
                    let method = if rng.random_bool(0.8) {
                        invented_method(&mut rng)
                    } else {
                        SENT_STANDARD_METHODS[rng.random_range(0..SENT_STANDARD_METHODS.len())]
                            .to_owned()
                    };
                    let target = random_target(&mut rng);
                    let auth = random_authorization(&mut rng);
                    let (status, _) = client.send(&method, &target, auth.as_deref());
                    statuses.insert(status);
                }
                statuses
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect()
}

/// Sends one request of every shape the flood can send (each method
/// label, each exact path and prefix with one and two segments, with and
/// without a token), so every label set the flood can reach exists before
/// it starts.
fn warm_up(addr: SocketAddr) {
    let mut client = Client::new(addr);
    let invented = format!("{}INVENTED", MARKER.to_ascii_uppercase());
    let methods = SENT_STANDARD_METHODS
        .iter()
        .copied()
        .chain([invented.as_str()]);
    let mut targets: Vec<String> = EXACT.iter().map(|p| (*p).to_owned()).collect();
    for prefix in PREFIXES {
        targets.push(format!("{prefix}{MARKER}a"));
        targets.push(format!("{prefix}{MARKER}a/{MARKER}b"));
    }
    let unknown = format!("Bearer {}", generate_token());
    for method in methods {
        for target in &targets {
            for auth in [None, Some(unknown.as_str())] {
                client.send(method, target, auth);
            }
        }
    }
}

/// The series of a metrics text by name and labels, without values.
fn series_keys(metrics: &str) -> BTreeSet<&str> {
    series(metrics)
        .into_iter()
        .map(|l| l.rsplit_once(' ').map_or(l, |(key, _)| key))
        .collect()
}

/// The resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The series of a metrics text (its lines that are not comments).
fn series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The value of label `name` in a series line, if it has one.
fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

#[test]
fn a_flood_of_invented_requests_leaves_metrics_and_memory_bounded() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let admin = generate_token();
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.tokens.push(TokenEntry::new(
        "admin",
        &admin,
        vec!["*".into()],
        vec![Right::Admin],
    ));
    let engine = mnemo::Mnemo::in_memory_with(
        mnemo::Options::default().embedder(Arc::new(mnemo_embed::HashEmbedder::new())),
    );
    let server = runtime
        .block_on(Server::bind(config, engine))
        .expect("the server binds");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = runtime.spawn(server.run(async {
        let _ = stopped.await;
    }));

    let bearer = format!("Bearer {admin}");
    let mut client = Client::new(addr);
    let metrics = |client: &mut Client| {
        let (status, body) = client.send("GET", "/metrics", Some(&bearer));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        String::from_utf8(body).expect("metrics are text")
    };
    let fresh = metrics(&mut client);

    warm_up(addr);
    let before = metrics(&mut client);
    let rss_before = rss_kib();
    let statuses = flood(addr, FLOOD, 1);
    let after = metrics(&mut client);
    let rss_after = rss_kib();
    eprintln!(
        "metrics: {} bytes fresh, {} before the flood, {} after ({} → {} series); \
         RSS {rss_before} KiB → {rss_after} KiB; statuses {statuses:?}",
        fresh.len(),
        before.len(),
        after.len(),
        series(&before).len(),
        series(&after).len()
    );
    assert!(
        statuses.contains(&401) && statuses.contains(&404) && statuses.contains(&405),
        "the flood reached auth, the fallback and the method check: {statuses:?}"
    );

    // Every label of the request metrics comes from a closed set.
    let mut methods = BTreeSet::new();
    for line in series(&after)
        .into_iter()
        .filter(|l| l.starts_with("mnemo_http_"))
    {
        let method = label(line, "method").unwrap_or_else(|| panic!("no method: {line}"));
        let route = label(line, "route").unwrap_or_else(|| panic!("no route: {line}"));
        assert!(
            STANDARD_METHODS.contains(&method) || method == "other",
            "method label outside the standard set: {line}"
        );
        methods.insert(method.to_owned());
        assert!(
            route == "other" || (route.starts_with('/') && !route.contains(MARKER)),
            "route label that is not a route pattern: {line}"
        );
        if let Some(status) = label(line, "status") {
            assert!(
                status
                    .parse::<u16>()
                    .is_ok_and(|s| (100..=999).contains(&s)),
                "status label that is not a status: {line}"
            );
        }
    }
    assert!(
        methods.contains("other"),
        "the invented methods are counted, as other: {methods:?}"
    );
    assert!(
        after.contains("route=\"other\""),
        "unmatched paths are counted, as route other"
    );

    // The flood added no series to those the warm-up made, and the text
    // grew only by counts gaining digits.
    let (before_keys, after_keys) = (series_keys(&before), series_keys(&after));
    let new: Vec<_> = after_keys.difference(&before_keys).collect();
    assert!(new.is_empty(), "the flood added series: {new:#?}");
    assert!(
        after.len() <= before.len() + MAX_METRICS_GROWTH,
        "metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
    assert!(
        series(&after).len() <= MAX_SERIES,
        "{} series",
        series(&after).len()
    );
    assert!(
        rss_after <= rss_before + MAX_RSS_GROWTH_KIB,
        "resident memory grew from {rss_before} KiB to {rss_after} KiB"
    );

    let _ = stop.send(());
    runtime
        .block_on(running)
        .expect("server task")
        .expect("the server shuts down cleanly");
}
