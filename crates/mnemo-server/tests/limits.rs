//! Bounds that keep the server answering under load: watch streams with a
//! limited first result and no thread each (`limit`, `truncated`,
//! `total`, `limits.max_watchers`), and recall on a bounded pool off the
//! async workers (`/healthz` keeps answering while recalls saturate it,
//! queries over `limits.max_query_bytes` are refused, and the request
//! deadline reaches recall as its budget).
//!
//! Each test serves a real socket (`Server::bind` and `run`, as
//! `mnemo serve` does) over an in-memory engine with the hash embedder and
//! exact vector search (no index-building thread competing for the
//! cores), and talks to it with a blocking HTTP client on threads of its
//! own, so no client ever borrows the server's async workers. The tests
//! take a lock so they run one at a time: the `/healthz` measurement wants
//! the machine's cores to itself.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mnemo::{Mnemo, NewMemory, Options};
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::dto::{DEFAULT_WATCH_LIMIT, MAX_WATCH_LIMIT};
use mnemo_server::{AppState, Config, Phase, Server, ServerError};
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Words the memories are made of: common enough that a recall for a few
/// of them finds thousands of candidates.
const WORDS: [&str; 16] = [
    "river", "harbour", "lantern", "orchard", "meeting", "ledger", "garden", "signal", "bridge",
    "market", "winter", "letter", "island", "engine", "library", "station",
];

/// A recall that ranks a thousand hits out of a large candidate set.
const HEAVY_QUERY: &str = "the river meeting near the harbour bridge in winter";

/// An engine in memory: the hash embedder, exact vector search, and
/// `watch_buffer` events per watcher.
fn engine(watch_buffer: usize) -> Mnemo {
    let mut options = Options::default().embedder(Arc::new(mnemo_embed::HashEmbedder::new()));
    options.watch_buffer = watch_buffer;
    // Every vector stays in the exact buffer: each recall scans them all
    // (heavy, as the saturation test wants) and no thread builds a graph
    // in the background.
    options.vectors.flat_threshold = usize::MAX;
    Mnemo::in_memory_with(options)
}

/// The text of memory number `i`.
fn text(i: usize) -> String {
    let w = |k: usize| WORDS[(i / k) % WORDS.len()];
    format!(
        "note {i}: the {} by the {} saw a {} and a {}",
        w(1),
        w(3),
        w(7),
        w(11)
    )
}

/// Writes `n` memories into namespace `name`, in batches of 1,000, through
/// the engine (before the server opens it: much faster than JSON); every
/// thousandth one is also tagged `rare`.
fn fill(mnemo: &Mnemo, name: &str, n: usize) {
    let ns = mnemo.namespace(name).expect("namespace");
    for start in (0..n).step_by(1000) {
        let batch = (start..(start + 1000).min(n))
            .map(|i| {
                let m = NewMemory::new(text(i)).tag("note");
                if i % 1000 == 0 { m.tag("rare") } else { m }
            })
            .collect();
        ns.remember_batch(batch).expect("write");
    }
}

/// A server on a free loopback port, with an admin token.
struct Running {
    addr: SocketAddr,
    token: String,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Running {
    async fn start(mut config: Config, mnemo: Mnemo) -> Self {
        let token = generate_token();
        config.tokens.push(TokenEntry::new(
            "admin",
            &token,
            vec!["*".into()],
            vec![Right::Admin],
        ));
        config.listen = "127.0.0.1:0".parse().expect("address");
        let server = Server::bind(config, mnemo).await.expect("bind");
        let addr = server.local_addr();
        let state = server.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let began = Instant::now();
        while state.phase() != Phase::Ready {
            assert!(began.elapsed() < Duration::from_secs(60), "never ready");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            addr,
            token,
            state,
            stop: Some(stop),
            served,
        }
    }

    /// Stops the server; it must finish within `within`.
    async fn stop(mut self, within: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(within, &mut self.served)
            .await
            .expect("the server stops in time")
            .expect("the server task");
        served.expect("a clean stop");
    }
}

/// Runs blocking client code on a thread of the test's blocking pool.
async fn off<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client thread")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A request with the token and, when given, a JSON body: the status and
/// the JSON answer.
fn call(
    agent: &ureq::Agent,
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Json>,
) -> (u16, Json) {
    let url = format!("http://{addr}{path}");
    let auth = format!("Bearer {token}");
    let response = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("POST", Some(b)) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18")
            .send_json(b),
        other => panic!("unsupported request {other:?}"),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
    (status, json)
}

/// An open watch stream.
struct Events {
    reader: BufReader<ureq::BodyReader<'static>>,
}

impl Events {
    /// The next event's name and data; `None` once the stream ended.
    fn next(&mut self) -> Option<(String, Json)> {
        let mut name = String::new();
        let mut data = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() {
                    return Some((name, serde_json::from_str(&data).expect("JSON data")));
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("event:") {
                v.trim().clone_into(&mut name);
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
            // Anything else is a keep-alive comment.
        }
    }

    /// The next event, which must be `current`: its memories' ids, and
    /// the whole data.
    fn current(&mut self) -> (Vec<u64>, Json) {
        let (name, data) = self.next().expect("an event");
        assert_eq!(name, "current", "{data}");
        (ids(&data["memories"]), data)
    }
}

/// The ids of a list of memories.
fn ids(list: &Json) -> Vec<u64> {
    list.as_array()
        .expect("a list of memories")
        .iter()
        .map(|m| m["id"].as_u64().expect("id"))
        .collect()
}

/// Opens `GET .../{ns}/watch?{query}`: the stream, or the refusal.
fn watch(
    agent: &ureq::Agent,
    addr: SocketAddr,
    token: &str,
    ns: &str,
    query: &str,
) -> Result<Events, (u16, Json)> {
    let response = agent
        .get(format!("http://{addr}/v1/namespaces/{ns}/watch?{query}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("watch request");
    let status = response.status().as_u16();
    if status != 200 {
        let text = response.into_body().read_to_string().expect("error body");
        return Err((status, serde_json::from_str(&text).expect("error JSON")));
    }
    Ok(Events {
        reader: BufReader::new(response.into_body().into_reader()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sends_a_bounded_first_result_then_the_changes() {
    let _serial = SERIAL.lock().await;
    let mnemo = engine(1024);
    fill(&mnemo, "big", 100_000);
    let server = Running::start(Config::default(), mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    off(move || {
        let agent = agent();

        // The default limit: the first 100 by id, cut, with the total.
        let mut events = watch(&agent, addr, &token, "big", "").expect("watch");
        let (first, data) = events.current();
        assert_eq!(first.len(), DEFAULT_WATCH_LIMIT);
        assert_eq!(data["truncated"], json!(true), "{data}");
        assert_eq!(data["total"], json!(100_000));
        // The same memories, in the same order, as the list endpoint's
        // first page: the rest is paged there.
        let (status, page) = call(
            &agent,
            addr,
            &token,
            "GET",
            "/v1/namespaces/big/memories?limit=100",
            None,
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page["memories"]), first);
        drop(events);

        // A limit of its own.
        let mut events = watch(&agent, addr, &token, "big", "limit=5").expect("watch");
        let (five, data) = events.current();
        assert_eq!(five, first[..5]);
        assert_eq!(data["truncated"], json!(true));
        assert_eq!(data["total"], json!(100_000));
        // Paging on from the number received continues the list.
        let (status, next) = call(
            &agent,
            addr,
            &token,
            "GET",
            "/v1/namespaces/big/memories?offset=5&limit=5",
            None,
        );
        assert_eq!(status, 200, "{next}");
        assert_eq!(ids(&next["memories"]), first[5..10]);

        // Changes still arrive after the initial result.
        let (status, written) = call(
            &agent,
            addr,
            &token,
            "POST",
            "/v1/namespaces/big/memories",
            Some(&json!({"memories": [{"content": "a brand new note"}]})),
        );
        assert_eq!(status, 201, "{written}");
        let (name, data) = events.next().expect("an event");
        assert_eq!(name, "added", "{data}");
        assert_eq!(data["memory"]["id"], written["ids"][0]);
        assert_eq!(data["memory"]["content"], json!("a brand new note"));

        // A filter with fewer matches than the limit: not cut.
        let mut rare = watch(&agent, addr, &token, "big", "tag=rare").expect("watch");
        let (list, data) = rare.current();
        assert_eq!(list.len(), 100);
        assert_eq!(data["truncated"], json!(false), "{data}");
        assert_eq!(data["total"], json!(100));

        // The maximum is allowed, one over it is refused by name.
        let mut most = watch(
            &agent,
            addr,
            &token,
            "big",
            &format!("limit={MAX_WATCH_LIMIT}"),
        )
        .expect("watch");
        assert_eq!(most.current().0.len(), MAX_WATCH_LIMIT);
        let over = MAX_WATCH_LIMIT + 1;
        let Err((status, body)) = watch(&agent, addr, &token, "big", &format!("limit={over}"))
        else {
            panic!("a limit over the maximum was accepted");
        };
        assert_eq!(status, 400, "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("limit:"), "{message}");
        assert!(message.contains(&MAX_WATCH_LIMIT.to_string()), "{message}");
    })
    .await;
    server.stop(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fresh_result_after_a_lag_is_bounded_too() {
    let _serial = SERIAL.lock().await;
    // Four events per watcher: a batch of 100 overflows it at once (the
    // engine queues a batch's events in one go, under its write lock).
    let mnemo = engine(4);
    fill(&mnemo, "lag", 1000);
    let server = Running::start(Config::default(), mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    off(move || {
        let agent = agent();
        let mut events = watch(&agent, addr, &token, "lag", "limit=5").expect("watch");
        let (first, data) = events.current();
        assert_eq!(first.len(), 5);
        assert_eq!(data["total"], json!(1000));
        let memories: Vec<Json> = (0..100)
            .map(|i| json!({"content": format!("burst {i}")}))
            .collect();
        let (status, body) = call(
            &agent,
            addr,
            &token,
            "POST",
            "/v1/namespaces/lag/memories",
            Some(&json!({ "memories": memories })),
        );
        assert_eq!(status, 201, "{body}");
        // Whatever was sent before the overflow, then `lagged` and a
        // fresh result as bounded as the first.
        loop {
            let (name, data) = events.next().expect("an event");
            match name.as_str() {
                "added" => continue,
                "lagged" => break,
                other => panic!("unexpected {other}: {data}"),
            }
        }
        let (fresh, data) = events.current();
        assert_eq!(fresh, first, "the same first five by id");
        assert_eq!(data["truncated"], json!(true));
        // The fold takes the write lock per memory, so the fresh query may
        // run while the batch is still being folded: its total counts what
        // was folded by then (the rest arrives as `added`).
        let total = data["total"].as_u64().expect("total");
        assert!((1001..=1100).contains(&total), "total {total}: {data}");
    })
    .await;
    server.stop(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_are_bounded_and_end_when_the_server_stops() {
    let _serial = SERIAL.lock().await;
    let mnemo = engine(1024);
    fill(&mnemo, "w", 10);
    let mut config = Config::default();
    config.limits.max_watchers = 3;
    let server = Running::start(config, mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    let streams = off(move || {
        let agent = agent();
        let mut open: Vec<Events> = (0..3)
            .map(|_| {
                let mut events = watch(&agent, addr, &token, "w", "").expect("watch");
                assert_eq!(events.current().0.len(), 10);
                events
            })
            .collect();
        let Err((status, body)) = watch(&agent, addr, &token, "w", "") else {
            panic!("a fourth stream was accepted over limits.max_watchers = 3");
        };
        assert_eq!(status, 503, "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains("limits.max_watchers = 3"), "{message}");

        // A client that leaves gives its slot back.
        drop(open.pop());
        let began = Instant::now();
        let again = loop {
            match watch(&agent, addr, &token, "w", "") {
                Ok(events) => break events,
                Err((503, _)) if began.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(refused) => panic!("the slot never came back: {refused:?}"),
            }
        };
        open.push(again);
        open
    })
    .await;

    // Stopping ends the open streams (they hold no thread to wake), so
    // the drain does not wait for them.
    let ended = off(move || {
        streams
            .into_iter()
            .map(|mut events| {
                let mut rest = Vec::new();
                while let Some((name, _)) = events.next() {
                    rest.push(name);
                }
                rest
            })
            .collect::<Vec<_>>()
    });
    server.stop(Duration::from_secs(10)).await;
    for rest in ended.await {
        assert!(
            rest.iter().all(|name| name == "current"),
            "only the unread first result may remain: {rest:?}"
        );
    }
}

/// `/healthz` while recalls saturate the pool.
///
/// This is behaviour, not a benchmark: `/healthz` takes microseconds of
/// CPU, and with recall on the bounded pool the async workers only parse
/// and route, so its latency under load is a scheduling delay of about a
/// millisecond. Were recall back on the async workers, four concurrent
/// heavy recalls per worker (each a scan of 100,000 vectors and a
/// thousand ranked hits, tens of milliseconds) would keep both workers
/// busy back to back and `/healthz` would wait for one of them, for
/// hundreds of milliseconds. The 100 ms bound sits two orders of
/// magnitude above the first case and below the second; many probes make
/// the maximum meaningful, and the test checks the pool really was full
/// while it probed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_recalls_saturate_the_pool() {
    let _serial = SERIAL.lock().await;
    const POOL: usize = 2;
    const CLIENTS: usize = 4 * POOL;
    const PROBES: usize = 150;
    let mnemo = engine(1024);
    fill(&mnemo, "big", 100_000);
    let mut config = Config::default();
    config.limits.max_concurrent_recalls = Some(POOL);
    let server = Running::start(config, mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    let state = server.state.clone();
    assert_eq!(state.recall_pool().size(), POOL);

    let recall = json!({"query": HEAVY_QUERY, "k": 1000, "explain": true});
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, token, recall) = (Arc::clone(&stop), token.clone(), recall.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut recalls = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = call(
                        &agent,
                        addr,
                        &token,
                        "POST",
                        "/v1/namespaces/big/recall",
                        Some(&recall),
                    );
                    assert_eq!(status, 200, "{body}");
                    assert_eq!(body["hits"].as_array().map(Vec::len), Some(1000));
                    recalls += 1;
                }
                recalls
            })
        })
        .collect();

    let probe_state = state.clone();
    let (latencies, saturated) = off(move || {
        // Until the recalls have filled the pool.
        let began = Instant::now();
        while probe_state.recall_pool().available() > 0 {
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "the pool never filled"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let agent = agent();
        let mut latencies = Vec::with_capacity(PROBES);
        let mut saturated = 0;
        for _ in 0..PROBES {
            if probe_state.recall_pool().available() == 0 {
                saturated += 1;
            }
            let sent = Instant::now();
            let response = agent
                .get(format!("http://{addr}/healthz"))
                .call()
                .expect("healthz");
            latencies.push(sent.elapsed());
            assert_eq!(response.status().as_u16(), 200);
            std::thread::sleep(Duration::from_millis(20));
        }
        (latencies, saturated)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut recalls = 0;
    for client in clients {
        recalls += client.join().expect("client");
    }
    server.stop(Duration::from_secs(60)).await;

    let max = latencies.iter().max().copied().unwrap_or_default();
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    eprintln!(
        "/healthz over {PROBES} probes during {recalls} recalls: median {median:?}, max {max:?}; \
         pool full at {saturated} probes"
    );
    assert!(recalls >= CLIENTS, "the recalls ran ({recalls})");
    assert!(
        saturated * 2 >= PROBES,
        "the pool was full for only {saturated} of {PROBES} probes"
    );
    assert!(
        max < Duration::from_millis(100),
        "/healthz took {max:?} at worst while recalls saturated the pool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_limit_is_refused_and_changes_nothing() {
    let _serial = SERIAL.lock().await;
    let mnemo = engine(1024);
    fill(&mnemo, "q", 1000);
    let server = Running::start(Config::default(), mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    let state = server.state.clone();
    let limit = Config::default().limits.max_query_bytes;
    assert_eq!(limit, 4096, "the documented default");
    off(move || {
        let agent = agent();
        let stats = |agent: &ureq::Agent| {
            let (status, stats) = call(agent, addr, &token, "GET", "/v1/namespaces/q/stats", None);
            assert_eq!(status, 200, "{stats}");
            (stats["memories"].clone(), stats["events"].clone())
        };
        let before = stats(&agent);
        let recall = |query: &str| {
            call(
                &agent,
                addr,
                &token,
                "POST",
                "/v1/namespaces/q/recall",
                Some(&json!({ "query": query })),
            )
        };

        let (status, body) = recall(&"river ".repeat(limit / 6 + 1));
        assert_eq!(status, 413, "{body}");
        assert_eq!(body["error"]["code"], json!("payload_too_large"));
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("query:"), "{message}");
        assert!(message.contains("4096"), "{message}");
        assert!(message.contains("limits.max_query_bytes"), "{message}");

        // Exactly at the limit is fine.
        let at_limit = "r".repeat(limit);
        let (status, body) = recall(&at_limit);
        assert_eq!(status, 200, "{body}");
        let (status, body) = recall("river harbour");
        assert_eq!(status, 200, "{body}");
        assert!(!body["hits"].as_array().expect("hits").is_empty());

        // Suggest embeds its task the same way: the same limit.
        let (status, body) = call(
            &agent,
            addr,
            &token,
            "POST",
            "/v1/namespaces/q/suggest",
            Some(&json!({ "task": "t".repeat(limit + 1) })),
        );
        assert_eq!(status, 413, "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("task:"), "{message}");

        // The MCP tool takes the same path.
        let mcp = |query: String| {
            let (status, body) = call(
                &agent,
                addr,
                &token,
                "POST",
                "/mcp",
                Some(&json!({
                    "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "recall", "arguments": {"query": query, "namespace": "q"}},
                })),
            );
            assert_eq!(status, 200, "{body}");
            let result = &body["result"];
            let text = result["content"][0]["text"].as_str().expect("text");
            (text.to_owned(), result["isError"] == json!(true))
        };
        let (text, failed) = mcp("x".repeat(limit + 1));
        assert!(failed, "{text}");
        assert!(
            text.starts_with("query:") && text.contains("limits.max_query_bytes"),
            "{text}"
        );
        let (text, failed) = mcp("river harbour".into());
        assert!(!failed, "{text}");
        let answer: Json = serde_json::from_str(&text).expect("JSON");
        assert_eq!(answer["hits"].as_array().map(Vec::len), Some(5));

        // Nothing was written, and every pool slot is free again.
        assert_eq!(stats(&agent), before);
        assert_eq!(state.recall_pool().available(), state.recall_pool().size());
    })
    .await;
    server.stop(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_deadline_bounds_recall() {
    let _serial = SERIAL.lock().await;
    let mnemo = engine(1024);
    fill(&mnemo, "big", 100_000);
    let recall = json!({"query": HEAVY_QUERY, "k": 1000, "explain": true});

    // A deadline of a millisecond: a timeout, a refusal, or whatever the
    // budget allowed; never a hang, and the slot comes back.
    let mut config = Config::default();
    config.limits.request_timeout_ms = 1;
    let server = Running::start(config, mnemo).await;
    let (addr, token, state) = (server.addr, server.token.clone(), server.state.clone());
    let body = recall.clone();
    off(move || {
        let agent = agent();
        for _ in 0..5 {
            let sent = Instant::now();
            let (status, answer) = call(
                &agent,
                addr,
                &token,
                "POST",
                "/v1/namespaces/big/recall",
                Some(&body),
            );
            assert!(
                sent.elapsed() < Duration::from_secs(5),
                "{:?}",
                sent.elapsed()
            );
            match status {
                408 | 503 => {}
                200 => assert_eq!(answer["complete"], json!(false), "{answer}"),
                other => panic!("{other}: {answer}"),
            }
        }
        let began = Instant::now();
        while state.recall_pool().available() < state.recall_pool().size() {
            assert!(
                began.elapsed() < Duration::from_secs(5),
                "a slot stayed taken"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await;
    server.stop(Duration::from_secs(30)).await;

    // One slot, a 100 ms deadline and 32 heavy recalls at once: the pool
    // runs them one by one, each within what is left of its deadline, and
    // those that find no free slot in time are refused with 503 instead
    // of waiting on (or occupying an async worker).
    let mnemo = engine(1024);
    fill(&mnemo, "big", 100_000);
    let mut config = Config::default();
    config.limits.request_timeout_ms = 100;
    config.limits.max_concurrent_recalls = Some(1);
    let server = Running::start(config, mnemo).await;
    let (addr, token) = (server.addr, server.token.clone());
    let answers: Vec<(u16, Json, Duration)> = (0..32)
        .map(|_| {
            let (token, body) = (token.clone(), recall.clone());
            std::thread::spawn(move || {
                let sent = Instant::now();
                let (status, answer) = call(
                    &agent(),
                    addr,
                    &token,
                    "POST",
                    "/v1/namespaces/big/recall",
                    Some(&body),
                );
                (status, answer, sent.elapsed())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("client"))
        .collect();
    server.stop(Duration::from_secs(30)).await;
    let mut refused = 0;
    for (status, answer, took) in &answers {
        // The deadline plus generous room for the client's own scheduling.
        assert!(*took < Duration::from_secs(3), "{took:?}");
        match status {
            200 => {}
            503 => {
                let message = answer["error"]["message"].as_str().expect("message");
                assert!(
                    message.contains("could not start before the request's deadline")
                        && message.contains("limits.max_concurrent_recalls"),
                    "{message}"
                );
                refused += 1;
            }
            408 => {}
            other => panic!("{other}: {answer}"),
        }
    }
    assert!(refused > 0, "no recall was refused: {answers:?}");
}
