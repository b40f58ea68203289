//! The `ingest` suite's rows that go through the engine: HTTP ingest over
//! keep-alive connections, and the promotion folder's lag under load.
//!
//! 6. **`http_ingest_binary`** (events/s acknowledged; target 1 M/s, the
//!    issue's "HTTP ingest over keep-alive with batches"): a real server
//!    (`mnemo_server::Server` on a loopback port, the default `[ingest]`:
//!    two shards, `block`, `SyncPolicy::Always`, on a temporary directory)
//!    and two client tasks, each on its own keep-alive HTTP/1.1 connection,
//!    POSTing batches of 10,000 64-byte events in the binary form
//!    (`application/vnd.mnemo.events`). Counted: events in requests that
//!    answered 200 (durable), over the time from the first request to the
//!    last answer. Peer: the same batches through `Namespace::ingest_batch`
//!    in process from two threads (the engine without HTTP).
//! 7. **`promotion_lag_p99`** (ms, no target): a namespace with one
//!    promotion rule; two producer threads ingest (durably, batches of
//!    1,000) at a paced 1 M events/s in total, one event in 100 a
//!    `tool_result` with an `error` the rule promotes, carrying the time it
//!    was sent. A watcher on the promoted tag takes each new memory and
//!    records now − sent. Value: p99 over the run; p50, the load reached
//!    and the memories seen are in the params. Peer: the same with only
//!    the promotable events (no load), so `ratio_vs_peer` is what the load
//!    costs the folder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail, ensure};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use mnemo::ingest::{IngestOptions, Predicate, PromotionRule, RawEvent};
use mnemo::{Mnemo, Options, Query, WatchEvent};
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::events_binary::{BinaryEvent, encode_into};
use mnemo_server::{Config, Phase, Server};
use tempfile::TempDir;

use crate::harness::{BenchResult, Better, Reps, median_duration, per_sec};

/// Events per HTTP request.
const HTTP_BATCH: usize = 10_000;
/// HTTP clients (one keep-alive connection each) and in-process threads.
const CLIENTS: usize = 2;
/// The issue's HTTP ingest target, events/s.
const HTTP_TARGET: f64 = 1e6;
/// The load of the promotion row, events/s.
const PROMOTION_LOAD: f64 = 1e6;
/// One event in this many is promoted.
const PROMOTE_EVERY: usize = 100;
/// Events per durable ingest of the promotion row's producers.
const PROMOTION_BATCH: usize = 1000;

fn engine(dir: &std::path::Path, ingest: IngestOptions) -> Result<Mnemo> {
    let options = Options::default()
        .embedder(Arc::new(mnemo_embed::HashEmbedder::new()))
        .ingest(ingest);
    Mnemo::open_with(dir, options).context("opening the engine")
}

/// One request body: `HTTP_BATCH` events of 64 bytes from `producer`.
fn binary_batch(producer: u64) -> Bytes {
    let payload = [0x5au8; 64];
    let mut body = Vec::with_capacity(HTTP_BATCH * 90);
    for _ in 0..HTTP_BATCH {
        encode_into(
            &BinaryEvent {
                kind: "tick",
                producer,
                at_nanos: 0,
                payload: &payload,
            },
            &mut body,
        );
    }
    Bytes::from(body)
}

/// The HTTP ingest row and its in-process peer.
pub fn http_ingest(
    reps: Reps,
    requests_per_client: usize,
    tmp: &std::path::Path,
) -> Result<Vec<BenchResult>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = median_duration(reps, || {
        runtime.block_on(http_run(requests_per_client, tmp))
    })?;
    let in_process = median_duration(reps, || in_process_run(requests_per_client, tmp))?;
    let events = (CLIENTS * requests_per_client * HTTP_BATCH) as u64;
    Ok(vec![
        BenchResult::new(
            "http_ingest_binary",
            "events/s",
            per_sec(http, events),
            Better::Higher,
        )
        .target(HTTP_TARGET)
        .peer(
            "the same batches through Namespace::ingest_batch in process (same run)",
            per_sec(in_process, events),
        )
        .param("events", events)
        .param("batch", HTTP_BATCH as u64)
        .param("connections", CLIENTS as u64)
        .param("payload_bytes", 64u64)
        .param(
            "form",
            "application/vnd.mnemo.events, HTTP/1.1 keep-alive, loopback",
        )
        .param("durability", "SyncPolicy::Always: each 200 means durable")
        .param(
            "target_source",
            "the bus issue: HTTP ingest >= 1 M events/s over keep-alive with batches",
        ),
    ])
}

async fn http_run(requests_per_client: usize, tmp: &std::path::Path) -> Result<Duration> {
    let dir = TempDir::new_in(tmp)?;
    let mnemo = engine(dir.path(), IngestOptions::default())?;
    mnemo.namespace("bench").context("namespace")?;
    let token = generate_token();
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    config.limits.body_bytes = 64 << 20;
    config.limits.requests_per_second = 1e6;
    config.limits.burst = 1e6;
    config.tokens.push(TokenEntry::new(
        "bench",
        &token,
        vec!["*".into()],
        vec![Right::Write],
    ));
    let server = Server::bind(config, mnemo).await?;
    let addr = server.local_addr();
    let state = server.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    while state.phase() != Phase::Ready {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let auth: Arc<str> = format!("Bearer {token}").into();
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let auth = auth.clone();
            let body = binary_batch(c as u64);
            tokio::spawn(async move { client(addr, auth, body, requests_per_client).await })
        })
        .collect();
    for c in clients {
        c.await??;
    }
    let took = started.elapsed();
    let _ = stop.send(());
    served.await??;
    Ok(took)
}

async fn client(addr: SocketAddr, auth: Arc<str>, body: Bytes, requests: usize) -> Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    for _ in 0..requests {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/namespaces/bench/events")
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/vnd.mnemo.events")
            .header(AUTHORIZATION, &*auth)
            .body(Full::new(body.clone()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "ingest answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(&answer)?;
        ensure!(
            answer["accepted"] == HTTP_BATCH,
            "not all accepted: {answer}"
        );
    }
    Ok(())
}

fn in_process_run(requests_per_client: usize, tmp: &std::path::Path) -> Result<Duration> {
    let dir = TempDir::new_in(tmp)?;
    let mnemo = engine(dir.path(), IngestOptions::default())?;
    let ns = mnemo.namespace("bench")?;
    let payload = [0x5au8; 64];
    let started = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..CLIENTS as u64)
            .map(|producer| {
                let ns = ns.clone();
                s.spawn(move || -> Result<()> {
                    let batch: Vec<RawEvent<'_>> = (0..HTTP_BATCH)
                        .map(|_| RawEvent {
                            kind: "tick",
                            producer,
                            at: None,
                            payload: &payload,
                        })
                        .collect();
                    for _ in 0..requests_per_client {
                        let done = ns.ingest_batch(&batch)?;
                        ensure!(done.accepted == HTTP_BATCH, "not all accepted");
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow!("producer panicked"))??;
        }
        Ok(())
    })?;
    let took = started.elapsed();
    ns.close()?;
    Ok(took)
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Lags (ns) of the promoted memories of one run, and the load reached.
fn promotion_run(seconds: f64, load: bool, tmp: &std::path::Path) -> Result<(Vec<u64>, f64)> {
    let dir = TempDir::new_in(tmp)?;
    let mut rule = PromotionRule::new("errors", &["tool_result"]);
    rule.when = Predicate::Exists("error".into());
    rule.content = "{tool} failed: {error}, sent {sent}".into();
    rule.tags = vec!["promoted".into()];
    let mut options = Options::default()
        .embedder(Arc::new(mnemo_embed::HashEmbedder::new()))
        .ingest(IngestOptions {
            rules: vec![rule],
            ..IngestOptions::default()
        });
    options.watch_buffer = 1 << 16;
    let mnemo = Mnemo::open_with(dir.path(), options)?;
    let ns = mnemo.namespace("bench")?;
    let mut watch = ns.watch(Query::new().tag("promoted"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let per_producer = PROMOTION_LOAD / CLIENTS as f64;
    let batch_every = Duration::from_secs_f64(PROMOTION_BATCH as f64 / per_producer);
    let started = Instant::now();
    let producers: Vec<_> = (0..CLIENTS as u64)
        .map(|producer| {
            let ns = ns.clone();
            let stop = stop.clone();
            std::thread::spawn(move || -> Result<u64> {
                let filler = [0x33u8; 64];
                let mut sent = 0u64;
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    // One promotable event in PROMOTE_EVERY, each with the
                    // time it is sent; under load the rest are fillers.
                    let promotable: Vec<String> = (0..PROMOTION_BATCH / PROMOTE_EVERY)
                        .map(|_| {
                            format!(
                                r#"{{"tool":"search","error":"timeout","sent":{}}}"#,
                                now_nanos()
                            )
                        })
                        .collect();
                    let mut batch: Vec<RawEvent<'_>> = Vec::with_capacity(PROMOTION_BATCH);
                    for text in &promotable {
                        batch.push(RawEvent {
                            kind: "tool_result",
                            producer,
                            at: None,
                            payload: text.as_bytes(),
                        });
                        if load {
                            for _ in 1..PROMOTE_EVERY {
                                batch.push(RawEvent {
                                    kind: "tick",
                                    producer,
                                    at: None,
                                    payload: &filler,
                                });
                            }
                        }
                    }
                    let done = ns.ingest_batch(&batch)?;
                    sent += done.accepted as u64;
                    next += batch_every;
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                Ok(sent)
            })
        })
        .collect();
    let mut lags = Vec::new();
    let deadline = started + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        match watch.recv_timeout(Duration::from_millis(50)) {
            Some(WatchEvent::Added(memory)) => {
                let sent = memory
                    .content
                    .rsplit_once("sent ")
                    .and_then(|(_, n)| n.parse::<u64>().ok());
                if let Some(sent) = sent {
                    lags.push(now_nanos().saturating_sub(sent));
                }
            }
            Some(WatchEvent::Lagged) => bail!("the watcher lagged: lags would be lost"),
            _ => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut events = 0u64;
    for p in producers {
        events += p.join().map_err(|_| anyhow!("producer panicked"))??;
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    ns.close()?;
    Ok((lags, rate))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64
}

/// The promotion lag row.
pub fn promotion_lag(seconds: f64, tmp: &std::path::Path) -> Result<Vec<BenchResult>> {
    let (mut loaded, rate) = promotion_run(seconds, true, tmp)?;
    let (mut idle, _) = promotion_run(seconds, false, tmp)?;
    ensure!(
        !loaded.is_empty() && !idle.is_empty(),
        "no promoted memory was seen"
    );
    loaded.sort_unstable();
    idle.sort_unstable();
    let ms = |ns: f64| ns / 1e6;
    Ok(vec![
        BenchResult::new(
            "promotion_lag_p99",
            "ms",
            ms(percentile(&loaded, 0.99)),
            Better::Lower,
        )
        .peer(
            "the same promotions without the other events (same run)",
            ms(percentile(&idle, 0.99)),
        )
        .param("p50_ms", ms(percentile(&loaded, 0.5)))
        .param("max_ms", ms(percentile(&loaded, 1.0)))
        .param("load_events_per_s", rate)
        .param("load_target_events_per_s", PROMOTION_LOAD)
        .param("promoted_seen", loaded.len() as u64)
        .param("promote_every", PROMOTE_EVERY as u64)
        .param("seconds", seconds)
        .param("durability", "SyncPolicy::Always for events and memories"),
    ])
}
