//! The `server` suite: mnemo's HTTP API (`mnemo-server`) under load from a
//! second process, over keep-alive HTTP/1.1 connections on loopback.
//!
//! This process is the load generator: tokio and hyper's HTTP/1.1 client,
//! one connection per concurrent client, each client sending its next
//! request as soon as the previous response has been read in full; the
//! latency of every request (request written to response body read) is
//! recorded. The server runs in a child process: this binary re-executed
//! with the hidden `server-child` command, which starts either
//!
//! - **mnemo**: [`mnemo_server::Server`] over an on-disk engine in a
//!   temporary directory, `Options::default()` with [`HashEmbedder`](mnemo_embed::HashEmbedder) and
//!   the scenario's [`SyncPolicy`](mnemo::SyncPolicy), one bearer token with every right; or
//! - **the ceiling**: a minimal axum handler that reads the request body
//!   and answers a constant (`{"ok":true}`): what the HTTP stack costs on
//!   its own. Every scenario runs the same load (same client, same
//!   connections, same concurrency, same request bodies) against both, and
//!   the peer column is this ceiling, so `ratio_vs_peer` is mnemo/ceiling.
//!
//! The child prints its address on stdout, answers a few control commands
//! on stdin (`flush NS` waits for the namespace's HNSW indexer, `stats NS`
//! reports its counts: set-up and checks, never timed) and shuts down
//! gracefully when its stdin closes. Each mnemo scenario gets a fresh child
//! and data directory, so one scenario's background indexing cannot slow
//! the next.
//!
//! Scenarios (memory contents are real English sentences: the
//! `rustdocs-minilm` base set, see [`crate::rustdocs`]; queries its
//! held-out query sentences):
//!
//! 1. **Batch remember**: 100,000 memories sent once, 100 per
//!    `POST /v1/namespaces/{ns}/memories`, by 4 concurrent clients, into a
//!    fresh namespace; memories per second end to end (first request
//!    written to last response read). Once with `SyncPolicy::Always` (the
//!    engine's durable default: the target row) and once with `Never`.
//! 2. **Single remember**: one client, one memory per request,
//!    `SyncPolicy::Never`; latency percentiles over timed windows.
//! 3. **Recall at 100,000 memories**: the base set loaded through the same
//!    batch API, the HNSW graph built (`flush`), then 64 concurrent clients
//!    send `POST /v1/namespaces/{ns}/recall {"query", "k": 10}` for timed
//!    windows; throughput and latency percentiles. Zep's and mem0's
//!    published latencies are recorded in the params as reported figures,
//!    not measurements.
//! 4. **Recall with the default embedder at 100,000 memories**: a child
//!    whose engine embeds with `mnemo_embed::load_default` (the model the
//!    server uses by default, no hash fallback), the base set loaded with its
//!    precomputed MiniLM vectors (generated sentences, embedded by the
//!    server, in a `--quick` run without the rustdocs cache), then one client
//!    sends `POST .../recall {"query", "k": 10}` with the query's text only:
//!    latency percentiles of a single user's recall, embedding included.
//!
//! Timed scenarios run a warm-up, then several windows; each figure is the
//! median over the windows (batch remember: over the repetitions). The
//! CPU time of both processes over each window (from `/proc`) is recorded
//! in the params, per request, to show where the time goes; on a machine
//! with few cores the load generator and the server share them.
//!
//! `--quick` runs 2,000 memories, 200 queries and windows of about a second
//! (generated sentences if the rustdocs set is not cached).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};

use crate::SuiteOptions;
use crate::engine_suite::{row_rng, sentences};
use crate::harness::{BenchResult, Better};
use crate::rustdocs;

/// Memories per batch request.
const BATCH: usize = 100;
/// Concurrent clients of the batch-remember scenario.
const BATCH_CLIENTS: usize = 4;
/// Concurrent clients of the recall scenario.
const RECALL_CLIENTS: usize = 64;
/// Hits asked of each recall.
const RECALL_K: usize = 10;
/// Consecutive sentences that share a `source` (as in the recall suite).
const DOC_SENTENCES: usize = 20;
/// Every how many responses a client keeps one body for the checks.
const SAMPLE_EVERY: usize = 16;
/// Bodies a client keeps at most for the checks.
const SAMPLES_MAX: usize = 64;
/// Longest a request may take before the run fails (a hung server must
/// not hang the harness).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The ceiling's constant answer.
const CONSTANT_BODY: &str = r#"{"ok":true}"#;
/// Environment variable that hands the bearer token to the child (not its
/// command line, which other users can read).
const TOKEN_ENV: &str = "MNEMO_BENCH_SERVER_TOKEN";
/// Prefix of the child's protocol lines on stdout (anything else there,
/// such as logs, is skipped).
const MARKER: &str = "mnemo-bench-child:";
/// `USER_HZ`: the unit of `/proc/PID/stat` CPU times (100 on every Linux
/// architecture's ABI).
const USER_HZ: u64 = 100;
/// Label of the peer column.
const CEILING: &str = "axum constant handler, same client and load (HTTP ceiling, same run)";
/// Published figures of other memory systems, as quoted in issue 8.
const REPORTED_PEERS: [(&str, &str); 2] = [
    (
        "zep",
        "p95 162 ms (reported by its authors; not measured here)",
    ),
    (
        "mem0",
        "about 1 s (reported by its authors; not measured here)",
    ),
];

// ----- the child process -----

/// Which server the child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerKind {
    /// `mnemo_server::Server` over an on-disk engine.
    Mnemo,
    /// A minimal axum handler that answers a constant.
    Constant,
}

/// The durability policy of the child's engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMode {
    /// `SyncPolicy::Never`.
    Never,
    /// `SyncPolicy::Always` (fsync before each write is acknowledged).
    Always,
}

impl SyncMode {
    fn name(self) -> &'static str {
        match self {
            SyncMode::Never => "Never",
            SyncMode::Always => "Always",
        }
    }
}

/// The embedder of the child's engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChildEmbedder {
    /// [`mnemo_embed::HashEmbedder`].
    Hash,
    /// `mnemo_embed::load_default` without the hash fallback: the model a
    /// server embeds with by default.
    Default,
}

/// Options of the hidden `server-child` command (started by this suite,
/// not by people).
#[derive(Debug, Clone, Args)]
pub struct ChildOptions {
    /// Which server to run.
    #[arg(long, value_enum)]
    pub kind: ServerKind,
    /// The engine's sync policy (mnemo only).
    #[arg(long, value_enum, default_value = "never")]
    pub sync: SyncMode,
    /// The engine's embedder (mnemo only).
    #[arg(long, value_enum, default_value = "hash")]
    pub embedder: ChildEmbedder,
    /// The engine's data directory (mnemo only).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Namespaces to open before serving (they then exist for the API and
    /// the control commands can reach them).
    #[arg(long = "namespace")]
    pub namespaces: Vec<String>,
}

/// Writes one protocol line to stdout.
fn reply(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARKER} {line}")?;
    out.flush()?;
    Ok(())
}

/// The `server-child` command: serves until stdin closes.
pub fn child_main(opts: &ChildOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server's tokio runtime")?;
    match opts.kind {
        ServerKind::Constant => runtime.block_on(serve_constant()),
        ServerKind::Mnemo => serve_mnemo(&runtime, opts),
    }
}

/// Reads control commands from stdin on a thread of its own, answering
/// them with `control`; resolves when stdin closes.
fn control_loop(
    mut control: impl FnMut(&str, &str) -> Result<String> + Send + 'static,
) -> tokio::sync::oneshot::Receiver<()> {
    let (closed, on_close) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let (command, arg) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            let answer = control(command, arg).unwrap_or_else(|e| format!("error {e:#}"));
            if reply(&answer).is_err() {
                break;
            }
        }
        let _ = closed.send(());
    });
    on_close
}

/// The ceiling: axum, one handler that reads the body and answers a
/// constant, TCP_NODELAY on every connection.
async fn serve_constant() -> Result<()> {
    use axum::serve::ListenerExt;

    async fn constant(
        body: Bytes,
    ) -> ([(hyper::header::HeaderName, &'static str); 1], &'static str) {
        std::hint::black_box(body);
        ([(CONTENT_TYPE, "application/json")], CONSTANT_BODY)
    }
    let router = axum::Router::new()
        .route(
            "/v1/namespaces/{ns}/memories",
            axum::routing::post(constant),
        )
        .route("/v1/namespaces/{ns}/recall", axum::routing::post(constant));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let closed = control_loop(|command, _| Ok(format!("error {command}: not supported")));
    reply(&format!("listening {addr}"))?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = closed.await;
        })
        .await?;
    Ok(())
}

/// mnemo: `mnemo_server::Server` over an on-disk engine.
fn serve_mnemo(runtime: &tokio::runtime::Runtime, opts: &ChildOptions) -> Result<()> {
    use mnemo::{Mnemo, Options, SyncPolicy};
    use mnemo_embed::HashEmbedder;
    use mnemo_server::auth::Right;
    use mnemo_server::config::TokenEntry;
    use mnemo_server::{Config, Server};

    let dir = opts.dir.as_deref().context("--dir is required for mnemo")?;
    let token = std::env::var(TOKEN_ENV).with_context(|| format!("{TOKEN_ENV} is not set"))?;
    let sync = match opts.sync {
        SyncMode::Never => SyncPolicy::Never,
        SyncMode::Always => SyncPolicy::Always,
    };
    let embedder: Arc<dyn mnemo_embed::Embedder> = match opts.embedder {
        ChildEmbedder::Hash => Arc::new(HashEmbedder::new()),
        ChildEmbedder::Default => Arc::from(
            mnemo_embed::load_default(mnemo_embed::Fallback::Deny)
                .context("loading the default embedder")?,
        ),
    };
    let options = Options::default().embedder(embedder).sync(sync);
    let mnemo = Mnemo::open_with(dir, options)?;
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        tokens: vec![TokenEntry::new(
            "bench",
            &token,
            vec!["*".to_owned()],
            vec![Right::Admin],
        )],
        ..Config::default()
    };
    bench_limits(&mut config.limits);
    runtime.block_on(async move {
        let server = Server::bind(config, mnemo).await?;
        let state = server.state().clone();
        for name in &opts.namespaces {
            state
                .namespace_or_create(name)
                .map_err(|e| anyhow!("creating namespace {name}: {}", e.message))?;
        }
        let closed = control_loop(move |command, arg| {
            let ns = state
                .namespace(arg)
                .map_err(|e| anyhow!("namespace {arg:?}: {}", e.message))?;
            match command {
                "flush" => {
                    ns.flush_index();
                    Ok("ok".to_owned())
                }
                "stats" => {
                    let s = ns.stats();
                    Ok(format!(
                        "memories {} vectors {} pending {} events {} embedder {}",
                        s.memories, s.vectors, s.vectors_pending, s.events, s.embedder.id
                    ))
                }
                other => bail!("unknown command {other:?}"),
            }
        });
        reply(&format!("listening {}", server.local_addr()))?;
        server
            .run(async move {
                let _ = closed.await;
            })
            .await?;
        Ok(())
    })
}

/// Raises the server's limits so that they never refuse the benchmark's
/// load (the rate limiter still runs; only its thresholds change).
fn bench_limits(limits: &mut mnemo_server::config::Limits) {
    limits.max_connections = limits.max_connections.max(4 * RECALL_CLIENTS);
    limits.batch = limits.batch.max(BATCH);
    limits.requests_per_second = 1e9;
    limits.burst = 1e9;
}

/// A server child process, shut down (stdin closed, then waited for) when
/// dropped.
struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
    token: Option<String>,
    /// The data directory; removed after the child has exited.
    data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts a child serving `kind`; mnemo's namespaces `namespaces` are
    /// opened before it serves.
    fn spawn(
        kind: ServerKind,
        sync: SyncMode,
        namespaces: &[&str],
        tmp: Option<&Path>,
    ) -> Result<Self> {
        Self::spawn_with(kind, sync, ChildEmbedder::Hash, namespaces, tmp)
    }

    /// [`Self::spawn`] with the engine's embedder.
    fn spawn_with(
        kind: ServerKind,
        sync: SyncMode,
        embedder: ChildEmbedder,
        namespaces: &[&str],
        tmp: Option<&Path>,
    ) -> Result<Self> {
        let exe = std::env::current_exe().context("finding the bench binary")?;
        let mut command = Command::new(exe);
        command
            .arg("server-child")
            .arg("--kind")
            .arg(match kind {
                ServerKind::Mnemo => "mnemo",
                ServerKind::Constant => "constant",
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // The server uses rayon's default thread count, as `mnemo serve`
            // does (main() sets 1 for the embedder benchmarks).
            .env_remove("RAYON_NUM_THREADS");
        let (data, token) = match kind {
            ServerKind::Constant => (None, None),
            ServerKind::Mnemo => {
                let data = match tmp {
                    Some(dir) => tempfile::Builder::new()
                        .prefix("mnemo-bench-server")
                        .tempdir_in(dir)?,
                    None => tempfile::Builder::new()
                        .prefix("mnemo-bench-server")
                        .tempdir()?,
                };
                let token = mnemo_server::auth::generate_token();
                command
                    .arg("--sync")
                    .arg(match sync {
                        SyncMode::Never => "never",
                        SyncMode::Always => "always",
                    })
                    .arg("--dir")
                    .arg(data.path())
                    .arg("--embedder")
                    .arg(match embedder {
                        ChildEmbedder::Hash => "hash",
                        ChildEmbedder::Default => "default",
                    })
                    .env(TOKEN_ENV, &token);
                for ns in namespaces {
                    command.arg("--namespace").arg(ns);
                }
                (Some(data), Some(token))
            }
        };
        let mut child = command.spawn().context("starting the server child")?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .map(BufReader::new)
            .context("no stdout pipe to the server child")?;
        let mut process = ServerProcess {
            child,
            stdin,
            stdout,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token,
            data,
        };
        let line = process.read_reply()?;
        process.addr = line
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("the server child said {line:?}, not its address"))?;
        Ok(process)
    }

    /// The next protocol line of the child.
    fn read_reply(&mut self) -> Result<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                let status = self.child.try_wait()?;
                bail!("the server child closed its stdout (exit status {status:?})");
            }
            if let Some(rest) = line.trim_end().strip_prefix(MARKER) {
                return Ok(rest.trim().to_owned());
            }
        }
    }

    /// Sends a control command and returns the answer.
    fn command(&mut self, command: &str) -> Result<String> {
        let stdin = self
            .stdin
            .as_mut()
            .context("the server child is stopping")?;
        writeln!(stdin, "{command}")?;
        stdin.flush()?;
        let answer = self.read_reply()?;
        if let Some(e) = answer.strip_prefix("error ") {
            bail!("server child: {command}: {e}");
        }
        Ok(answer)
    }

    /// A number from the answer to `stats NS` (`memories`, `pending`, ...).
    fn stat(&mut self, ns: &str, field: &str) -> Result<u64> {
        let answer = self.stat_text(ns, field)?;
        answer
            .parse()
            .with_context(|| format!("bad {field} {answer:?} in the stats answer"))
    }

    /// The word after `field` in the child's `stats` answer for `ns`.
    fn stat_text(&mut self, ns: &str, field: &str) -> Result<String> {
        let answer = self.command(&format!("stats {ns}"))?;
        let mut words = answer.split_whitespace();
        while let Some(word) = words.next() {
            if word == field {
                return words
                    .next()
                    .map(str::to_owned)
                    .with_context(|| format!("bad stats answer {answer:?}"));
            }
        }
        bail!("no {field} in the stats answer {answer:?}")
    }

    /// The child's process id.
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin (the child shuts down gracefully, closing the engine)
    /// and waits for it, killing it after a minute.
    fn stop(&mut self) -> Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.data.take();
                ensure!(status.success(), "the server child exited with {status}");
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.child.kill()?;
                self.child.wait()?;
                self.data.take();
                bail!("the server child did not stop within 60 s of its stdin closing");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.stdin.is_some() || self.child.try_wait().ok().flatten().is_none() {
            let _ = self.stop();
        }
    }
}

// ----- the load generator -----

/// How a load run ends.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Every body is sent exactly once; the window runs from the first
    /// request to the last response.
    Once,
    /// Requests are sent for `warmup`, unrecorded, then for `measure`;
    /// bodies are used in turn, cycling through them if `cycle`, else the
    /// run stops early when they run out (writes: so that no content is
    /// sent twice).
    Timed {
        warmup: Duration,
        measure: Duration,
        cycle: bool,
    },
}

/// One load run's description.
#[derive(Clone)]
struct Load {
    /// Request path, e.g. `/v1/namespaces/a/recall`.
    path: String,
    /// Request bodies (JSON).
    bodies: Arc<[Bytes]>,
    /// Items (memories, recalls) per request.
    items_per_request: usize,
    /// Concurrent clients (one connection each).
    clients: usize,
    /// How the run ends.
    mode: Mode,
}

/// What one client did.
#[derive(Default)]
struct ClientTally {
    latencies_ns: Vec<u64>,
    requests: usize,
    first_start: Option<Instant>,
    last_end: Option<Instant>,
    response_bytes: u64,
    samples: Vec<Bytes>,
}

/// What a load run measured.
struct Outcome {
    /// Recorded requests.
    requests: usize,
    /// Their items.
    items: usize,
    /// The measured window.
    window: Duration,
    /// Sorted latencies of the recorded requests, ns.
    latencies_ns: Vec<u64>,
    /// Mean response body size, bytes.
    mean_response_bytes: f64,
    /// Some response bodies, for checks.
    samples: Vec<Bytes>,
    /// CPU time of the load generator over the window.
    client_cpu: Option<Duration>,
    /// CPU time of the server over the window.
    server_cpu: Option<Duration>,
}

impl Outcome {
    /// Items per second.
    fn items_per_s(&self) -> f64 {
        self.items as f64 / self.window.as_secs_f64()
    }

    /// The `q` quantile of the latencies (nearest rank), µs.
    fn quantile_us(&self, q: f64) -> f64 {
        quantile_ns(&self.latencies_ns, q) / 1e3
    }

    /// CPU µs per request of a process over the window.
    fn cpu_us_per_request(&self, cpu: Option<Duration>) -> Option<f64> {
        cpu.map(|c| c.as_secs_f64() * 1e6 / self.requests.max(1) as f64)
    }
}

/// The `q` quantile (nearest rank) of sorted values; 0 when empty.
fn quantile_ns(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// CPU time (user + system, all threads) of a process, from
/// `/proc/PID/stat`; `None` where there is no such file.
fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at
    // field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// An HTTP/1.1 keep-alive connection to the server.
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens one connection (TCP_NODELAY) and spawns its driver task.
async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole response; an error unless 2xx.
async fn send(
    sender: &mut Sender,
    path: &str,
    authorization: Option<&str>,
    body: Bytes,
) -> Result<Bytes> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(HOST, "127.0.0.1")
        .header(CONTENT_TYPE, "application/json");
    if let Some(auth) = authorization {
        request = request.header(AUTHORIZATION, auth);
    }
    let request = request.body(Full::new(body))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!(
            "POST {path}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
    }
    Ok(body)
}

/// One client's loop.
async fn client(
    mut sender: Sender,
    load: Load,
    authorization: Option<Arc<str>>,
    next: Arc<AtomicUsize>,
    record_from: Instant,
    end: Option<Instant>,
) -> Result<ClientTally> {
    let mut tally = ClientTally::default();
    let n = load.bodies.len();
    let cycle = matches!(load.mode, Mode::Timed { cycle: true, .. });
    loop {
        if end.is_some_and(|end| Instant::now() >= end) {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n && !cycle {
            break;
        }
        let body = load.bodies[i % n].clone();
        let start = Instant::now();
        let response = tokio::time::timeout(
            REQUEST_TIMEOUT,
            send(&mut sender, &load.path, authorization.as_deref(), body),
        )
        .await
        .map_err(|_| anyhow!("POST {}: no answer within {REQUEST_TIMEOUT:?}", load.path))??;
        let done = Instant::now();
        if start >= record_from {
            tally.latencies_ns.push((done - start).as_nanos() as u64);
            tally.requests += 1;
            tally.first_start = Some(tally.first_start.map_or(start, |s| s.min(start)));
            tally.last_end = Some(done);
            tally.response_bytes += response.len() as u64;
            if tally.requests % SAMPLE_EVERY == 1 && tally.samples.len() < SAMPLES_MAX {
                tally.samples.push(response);
            }
        }
    }
    Ok(tally)
}

/// Runs `load` against `server` and measures it; `next` is the index of
/// the next body to send (shared by the clients, and by successive runs
/// that must not send a body twice).
async fn run_load(server: &ServerProcess, load: &Load, next: &Arc<AtomicUsize>) -> Result<Outcome> {
    ensure!(!load.bodies.is_empty(), "no request bodies");
    let mut senders = Vec::with_capacity(load.clients);
    for _ in 0..load.clients {
        senders.push(connect(server.addr).await?);
    }
    let authorization: Option<Arc<str>> = server
        .token
        .as_ref()
        .map(|t| Arc::from(format!("Bearer {t}")));
    let start = Instant::now();
    let (record_from, end) = match load.mode {
        Mode::Once => (start, None),
        Mode::Timed {
            warmup, measure, ..
        } => (start + warmup, Some(start + warmup + measure)),
    };
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            tokio::spawn(client(
                sender,
                load.clone(),
                authorization.clone(),
                next.clone(),
                record_from,
                end,
            ))
        })
        .collect();
    tokio::time::sleep_until(record_from.into()).await;
    let cpu_before = (cpu_time(None), cpu_time(Some(server.pid())));
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(task.await.context("a client task panicked")??);
    }
    let cpu_after = (cpu_time(None), cpu_time(Some(server.pid())));
    let first = tallies.iter().filter_map(|t| t.first_start).min();
    let last = tallies.iter().filter_map(|t| t.last_end).max();
    let (Some(first), Some(last)) = (first, last) else {
        bail!(
            "no request completed in the measured window ({} bodies, all sent during the warm-up?)",
            load.bodies.len()
        );
    };
    let window = last
        - if matches!(load.mode, Mode::Once) {
            first
        } else {
            record_from
        };
    let requests: usize = tallies.iter().map(|t| t.requests).sum();
    let bytes: u64 = tallies.iter().map(|t| t.response_bytes).sum();
    let mut latencies_ns = Vec::with_capacity(requests);
    let mut samples = Vec::new();
    for t in tallies {
        latencies_ns.extend(t.latencies_ns);
        samples.extend(t.samples);
    }
    latencies_ns.sort_unstable();
    // `/proc` counts CPU time in ticks of 10 ms: too coarse for short
    // windows.
    let long = window >= Duration::from_secs(1);
    let delta = |a: Option<Duration>, b: Option<Duration>| {
        long.then(|| Some(b?.saturating_sub(a?))).flatten()
    };
    Ok(Outcome {
        requests,
        items: requests * load.items_per_request,
        window,
        latencies_ns,
        mean_response_bytes: bytes as f64 / requests.max(1) as f64,
        samples,
        client_cpu: delta(cpu_before.0, cpu_after.0),
        server_cpu: delta(cpu_before.1, cpu_after.1),
    })
}

// ----- data -----

/// Memory texts and query texts.
struct Corpus {
    /// Where they come from, for the params.
    name: String,
    texts: Vec<String>,
    queries: Vec<String>,
    /// The texts' MiniLM vectors, when they come from the rustdocs set.
    vectors: Option<crate::vecfile::Vectors>,
}

impl Corpus {
    /// The rustdocs set's sentences (built if missing in a full run; with
    /// `--quick`, generated sentences when it is not cached).
    fn load(s: &Sizes, quick: bool) -> Result<Self> {
        let dir = rustdocs::default_dir()?;
        let data = if quick {
            match rustdocs::load(&dir) {
                Ok(data) => data,
                Err(e) => {
                    eprintln!(
                        "    rustdocs set not cached in {} ({e:#}); generating {} sentences",
                        dir.display(),
                        s.memories
                    );
                    return Ok(Self::generated(s));
                }
            }
        } else {
            rustdocs::ensure(&dir, false).context("loading the rustdocs-minilm dataset")?
        };
        ensure!(
            data.base_text.len() >= s.memories && data.query_text.len() >= s.queries,
            "the rustdocs set has {} sentences and {} queries, {} and {} wanted",
            data.base_text.len(),
            data.query_text.len(),
            s.memories,
            s.queries
        );
        let mut texts = data.base_text;
        texts.truncate(s.memories);
        let mut queries = data.query_text;
        queries.truncate(s.queries);
        let mut vectors = data.base;
        vectors.data.truncate(s.memories * vectors.dimension);
        Ok(Self {
            name: data.manifest.name,
            texts,
            queries,
            vectors: Some(vectors),
        })
    }

    /// Generated sentences (the engine suite's word list).
    fn generated(s: &Sizes) -> Self {
        let text = |stream: u64, i: usize| {
            let mut out = String::new();
            sentences(&mut row_rng(stream, i as u64), 90, &mut out);
            out
        };
        Self {
            name: "generated sentences (rustdocs cache absent)".to_owned(),
            texts: (0..s.memories).map(|i| text(0x5e7e_0001, i)).collect(),
            queries: (0..s.queries).map(|i| text(0x5e7e_0002, i)).collect(),
            vectors: None,
        }
    }

    /// One memory's JSON.
    fn memory(&self, i: usize) -> Value {
        json!({
            "content": self.texts[i],
            "source": format!("doc-{:05}", i / DOC_SENTENCES),
        })
    }

    /// Bodies of `POST .../memories`, `per` memories each, over every text.
    fn remember_bodies(&self, per: usize) -> Result<Arc<[Bytes]>> {
        (0..self.texts.len())
            .step_by(per)
            .map(|first| {
                let last = (first + per).min(self.texts.len());
                let memories: Vec<Value> = (first..last).map(|i| self.memory(i)).collect();
                Ok(Bytes::from(serde_json::to_vec(
                    &json!({ "memories": memories }),
                )?))
            })
            .collect()
    }

    /// [`Self::remember_bodies`] with each memory's precomputed vector when
    /// the corpus has them (the server then embeds nothing).
    fn remember_bodies_with_vectors(&self, per: usize) -> Result<Arc<[Bytes]>> {
        let Some(vectors) = &self.vectors else {
            return self.remember_bodies(per);
        };
        (0..self.texts.len())
            .step_by(per)
            .map(|first| {
                let last = (first + per).min(self.texts.len());
                let memories: Vec<Value> = (first..last)
                    .map(|i| {
                        let mut m = self.memory(i);
                        m["vector"] = json!(vectors.row(i));
                        m
                    })
                    .collect();
                Ok(Bytes::from(serde_json::to_vec(
                    &json!({ "memories": memories }),
                )?))
            })
            .collect()
    }

    /// `count` bodies of `POST .../memories` with one memory each, every
    /// content distinct: the texts in turn, then (past the last) each
    /// text followed by another one, so that no write is a duplicate that
    /// deduplication would turn into a no-op.
    fn single_bodies(&self, count: usize) -> Result<Arc<[Bytes]>> {
        let n = self.texts.len();
        (0..count)
            .map(|i| {
                let (pass, row) = (i / n, i % n);
                let mut memory = self.memory(row);
                if pass > 0 {
                    let other = &self.texts[(row + pass * 7_919) % n];
                    memory["content"] = json!(format!("{} {other}", self.texts[row]));
                }
                Ok(Bytes::from(serde_json::to_vec(
                    &json!({ "memories": [memory] }),
                )?))
            })
            .collect()
    }

    /// Bodies of `POST .../recall`, one per query.
    fn recall_bodies(&self) -> Result<Arc<[Bytes]>> {
        self.queries
            .iter()
            .map(|q| {
                Ok(Bytes::from(serde_json::to_vec(
                    &json!({ "query": q, "k": RECALL_K }),
                )?))
            })
            .collect()
    }

    /// Mean bytes of a memory's content.
    fn mean_text_bytes(&self) -> f64 {
        self.texts.iter().map(String::len).sum::<usize>() as f64 / self.texts.len().max(1) as f64
    }
}

// ----- the suite -----

/// Sizes of one run.
struct Sizes {
    /// Memories of the batch scenario and of the recall scenario's
    /// namespace (and single-remember contents available).
    memories: usize,
    /// Distinct recall queries.
    queries: usize,
    /// Repetitions of the batch scenario; timed windows of the others.
    runs: usize,
    /// Warm-up before the first timed window.
    warmup: Duration,
    /// One timed window of the single-remember scenario.
    single_window: Duration,
    /// Distinct single-memory bodies available to that scenario (enough
    /// for the ceiling's rate over the warm-up and every window).
    single_bodies: usize,
    /// One timed window of the recall scenario.
    recall_window: Duration,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                memories: 2_000,
                queries: 200,
                runs: 1,
                warmup: Duration::from_millis(200),
                single_window: Duration::from_secs(1),
                single_bodies: 50_000,
                recall_window: Duration::from_secs(1),
            }
        } else {
            Self {
                memories: 100_000,
                queries: 1_000,
                runs: 3,
                warmup: Duration::from_secs(1),
                single_window: Duration::from_secs(2),
                single_bodies: 300_000,
                recall_window: Duration::from_secs(5),
            }
        }
    }
}

/// Everything a scenario needs.
struct Ctx<'a> {
    sizes: &'a Sizes,
    corpus: &'a Corpus,
    tmp: Option<&'a Path>,
    runtime: &'a tokio::runtime::Runtime,
}

/// One scenario: its results.
type Step = fn(&Ctx<'_>) -> Result<Vec<BenchResult>>;

/// Runs the suite (see the module docs).
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let started = Instant::now();
    let sizes = Sizes::new(opts.quick);
    let skip = |name: &str| opts.only.as_deref().is_some_and(|o| !name.contains(o));
    let corpus = Corpus::load(&sizes, opts.quick)?;
    eprintln!(
        "    data: {} memories, {} queries from {}",
        corpus.texts.len(),
        corpus.queries.len(),
        corpus.name
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;
    let ctx = Ctx {
        sizes: &sizes,
        corpus: &corpus,
        tmp: opts.tmp_dir.as_deref(),
        runtime: &runtime,
    };
    let mut results = Vec::new();
    let steps: [(&str, Step); 4] = [
        ("batch remember", batch_remember),
        ("single remember", single_remember),
        ("recall", recall),
        ("embedded recall", embedded_recall),
    ];
    for (name, step) in steps {
        if skip(name) {
            continue;
        }
        let t = Instant::now();
        results.extend(step(&ctx).with_context(|| format!("server suite: {name}"))?);
        eprintln!("  {name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("server suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

/// A body index starting at 0.
fn fresh() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Runs `load` (timed) for `sizes.runs` windows in a row on one server:
/// the warm-up before the first only, and the bodies continuing from one
/// window to the next.
fn timed_windows(
    runtime: &tokio::runtime::Runtime,
    server: &ServerProcess,
    load: &Load,
    sizes: &Sizes,
) -> Result<Vec<Outcome>> {
    let next = fresh();
    let mut load = load.clone();
    let mut out = Vec::with_capacity(sizes.runs);
    for _ in 0..sizes.runs {
        out.push(runtime.block_on(run_load(server, &load, &next))?);
        if let Mode::Timed { warmup, .. } = &mut load.mode {
            *warmup = Duration::ZERO;
        }
    }
    Ok(out)
}

/// The median of `xs` (0 when empty).
fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_unstable_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The median of a statistic over outcomes.
fn median_of(outcomes: &[Outcome], f: impl Fn(&Outcome) -> f64) -> f64 {
    median(outcomes.iter().map(f).collect())
}

/// The median of an optional statistic over outcomes (`None` if any is).
fn median_opt(outcomes: &[Outcome], f: impl Fn(&Outcome) -> Option<f64>) -> Option<f64> {
    outcomes
        .iter()
        .map(f)
        .collect::<Option<Vec<f64>>>()
        .map(median)
}

/// Params every row of a scenario shares: sizes, percentiles, CPU.
fn common_params(prefix: &str, outcomes: &[Outcome]) -> Map<String, Value> {
    let mut p = Map::new();
    let mut put = |k: &str, v: Value| {
        p.insert(format!("{prefix}{k}"), v);
    };
    put(
        "requests_per_s",
        json!(median_of(outcomes, |o| o.requests as f64 / o.window.as_secs_f64())),
    );
    put(
        "p50_us",
        json!(median_of(outcomes, |o| o.quantile_us(0.50))),
    );
    put(
        "p95_us",
        json!(median_of(outcomes, |o| o.quantile_us(0.95))),
    );
    put(
        "p99_us",
        json!(median_of(outcomes, |o| o.quantile_us(0.99))),
    );
    put("max_us", json!(median_of(outcomes, |o| o.quantile_us(1.0))));
    put(
        "requests_timed",
        json!(outcomes.iter().map(|o| o.requests).sum::<usize>()),
    );
    put(
        "mean_response_bytes",
        json!(median_of(outcomes, |o| o.mean_response_bytes)),
    );
    if let Some(c) = median_opt(outcomes, |o| o.cpu_us_per_request(o.server_cpu)) {
        put("server_cpu_us_per_request", json!(c));
    }
    if let Some(c) = median_opt(outcomes, |o| o.cpu_us_per_request(o.client_cpu)) {
        put("client_cpu_us_per_request", json!(c));
    }
    p
}

/// Params describing the machine's sharing and the data.
fn setup_params(ctx: &Ctx<'_>, clients: usize) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("clients".into(), json!(clients));
    p.insert(
        "transport".into(),
        json!(
            "HTTP/1.1 keep-alive over loopback TCP (TCP_NODELAY), one connection per client, \
            hyper 1 client in a second process"
        ),
    );
    p.insert("data".into(), json!(ctx.corpus.name));
    p.insert(
        "mean_content_bytes".into(),
        json!(ctx.corpus.mean_text_bytes()),
    );
    p.insert(
        "cpu_note".into(),
        json!(
            "*cpu_us_per_request: CPU time (user + system, every thread: HTTP, engine, background \
            HNSW indexer) of the server or load-generator process over the window, from /proc in \
            10 ms ticks, divided by the requests; omitted for windows under 1 s"
        ),
    );
    p.insert(
        "cpus_shared".into(),
        json!("the load generator and the server run on the same machine and share its cores"),
    );
    p
}

/// Adds `extra` to a result's params.
fn with_params(mut r: BenchResult, extra: &Map<String, Value>) -> BenchResult {
    for (k, v) in extra {
        r.params.insert(k.clone(), v.clone());
    }
    r
}

/// Checks sampled `{"ids": [...]}` answers: each holds `per` ids (the last
/// batch may hold fewer).
fn check_ids(outcome: &Outcome, per: usize) -> Result<()> {
    for body in &outcome.samples {
        let v: Value = serde_json::from_slice(body).context("a remember answer is not JSON")?;
        let ids = v
            .get("ids")
            .and_then(Value::as_array)
            .with_context(|| format!("no ids in the remember answer {v}"))?;
        ensure!(
            !ids.is_empty() && ids.len() <= per,
            "{} ids in a remember answer for {per} memories",
            ids.len()
        );
    }
    Ok(())
}

// ----- 1. batch remember -----

fn batch_remember(ctx: &Ctx<'_>) -> Result<Vec<BenchResult>> {
    let s = ctx.sizes;
    let ns = "batch";
    let load = Load {
        path: format!("/v1/namespaces/{ns}/memories"),
        bodies: ctx.corpus.remember_bodies(BATCH)?,
        items_per_request: BATCH,
        clients: BATCH_CLIENTS,
        mode: Mode::Once,
    };
    let mut ours: [Vec<Outcome>; 2] = [Vec::new(), Vec::new()];
    let mut ceiling = Vec::new();
    let constant = ServerProcess::spawn(ServerKind::Constant, SyncMode::Never, &[], None)?;
    for run in 0..s.runs {
        for (slot, sync) in [SyncMode::Always, SyncMode::Never].into_iter().enumerate() {
            let mut server = ServerProcess::spawn(ServerKind::Mnemo, sync, &[ns], ctx.tmp)?;
            let outcome = ctx.runtime.block_on(run_load(&server, &load, &fresh()))?;
            let stored = server.stat(ns, "memories")?;
            ensure!(
                stored == ctx.corpus.texts.len() as u64,
                "{stored} memories stored, {} sent",
                ctx.corpus.texts.len()
            );
            check_ids(&outcome, BATCH)?;
            let pending = server.stat(ns, "pending")?;
            server.stop()?;
            eprintln!(
                "    run {run}: mnemo {:>6}: {:.0} memories/s (p50 {:.0} µs, p99 {:.0} µs \
                    per request; {pending} vectors not yet in the HNSW graph)",
                sync.name(),
                outcome.items_per_s(),
                outcome.quantile_us(0.5),
                outcome.quantile_us(0.99)
            );
            ours[slot].push(outcome);
        }
        let outcome = ctx.runtime.block_on(run_load(&constant, &load, &fresh()))?;
        eprintln!(
            "    run {run}: ceiling: {:.0} memories/s (p50 {:.0} µs per request)",
            outcome.items_per_s(),
            outcome.quantile_us(0.5)
        );
        ceiling.push(outcome);
    }
    drop(constant);
    let ceiling_value = median_of(&ceiling, Outcome::items_per_s);
    let ceiling_params = common_params("ceiling_", &ceiling);
    let mut setup = setup_params(ctx, BATCH_CLIENTS);
    setup.insert("memories".into(), json!(ctx.corpus.texts.len()));
    setup.insert("batch".into(), json!(BATCH));
    setup.insert("runs".into(), json!(s.runs));
    setup.insert(
        "engine".into(),
        json!(
            "on disk (temporary directory), Options::default() with HashEmbedder (384-d): dedup \
            on, background HNSW indexer on; a fresh server process and namespace per run"
        ),
    );
    setup.insert(
        "timed".into(),
        json!("first request written to last response read; every memory sent once"),
    );
    let [always, never] = ours;
    let row = |name: &str, outcomes: &[Outcome], sync: SyncMode| {
        let r = BenchResult::new(
            name,
            "memories/s",
            median_of(outcomes, Outcome::items_per_s),
            Better::Higher,
        )
        .peer(CEILING, ceiling_value)
        .param("sync", sync.name());
        let r = with_params(r, &setup);
        let r = with_params(r, &common_params("", outcomes));
        with_params(r, &ceiling_params)
    };
    Ok(vec![
        row("server_batch_remember_always", &always, SyncMode::Always).target(100_000.0),
        row("server_batch_remember_never", &never, SyncMode::Never).param(
            "target_note",
            "the 100,000 memories/s target applies to the durable default \
                (server_batch_remember_always)",
        ),
    ])
}

// ----- 2. single remember -----

fn single_remember(ctx: &Ctx<'_>) -> Result<Vec<BenchResult>> {
    let s = ctx.sizes;
    let ns = "single";
    let load = Load {
        path: format!("/v1/namespaces/{ns}/memories"),
        bodies: ctx.corpus.single_bodies(s.single_bodies)?,
        items_per_request: 1,
        clients: 1,
        mode: Mode::Timed {
            warmup: s.warmup,
            measure: s.single_window,
            cycle: false,
        },
    };
    // One client: a current-thread runtime drives its connection and its
    // requests on one thread, as a synchronous client would (no wake-ups
    // across threads in the measured latency). Both servers get the same.
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut server = ServerProcess::spawn(ServerKind::Mnemo, SyncMode::Never, &[ns], ctx.tmp)?;
    let ours = timed_windows(&client_runtime, &server, &load, s)?;
    for o in &ours {
        check_ids(o, 1)?;
    }
    let stored = server.stat(ns, "memories")?;
    server.stop()?;
    let constant = ServerProcess::spawn(ServerKind::Constant, SyncMode::Never, &[], None)?;
    let ceiling = timed_windows(&client_runtime, &constant, &load, s)?;
    drop(constant);
    for (who, o) in [("mnemo", &ours), ("ceiling", &ceiling)] {
        eprintln!(
            "    {who}: p50 {:.1} µs, p99 {:.1} µs, {:.0} requests/s",
            median_of(o, |o| o.quantile_us(0.5)),
            median_of(o, |o| o.quantile_us(0.99)),
            median_of(o, Outcome::items_per_s)
        );
    }
    let mut setup = setup_params(ctx, 1);
    setup.insert("sync".into(), json!("Never"));
    setup.insert("windows".into(), json!(s.runs));
    setup.insert("window_s".into(), json!(s.single_window.as_secs_f64()));
    setup.insert("memories_stored".into(), json!(stored));
    setup.insert(
        "request".into(),
        json!(
            "POST /v1/namespaces/{ns}/memories with one memory (content + source), each content \
            sent once; latency = request written to response read"
        ),
    );
    setup.insert(
        "engine".into(),
        json!(
            "on disk (temporary directory), Options::default() with HashEmbedder (384-d) and \
            SyncPolicy::Never"
        ),
    );
    let row = |name: &str, q: f64| {
        let r = BenchResult::new(
            name,
            "µs",
            median_of(&ours, |o| o.quantile_us(q)),
            Better::Lower,
        )
        .peer(CEILING, median_of(&ceiling, |o| o.quantile_us(q)));
        let r = with_params(r, &setup);
        let r = with_params(r, &common_params("", &ours));
        with_params(r, &common_params("ceiling_", &ceiling))
    };
    Ok(vec![
        row("server_remember_single_p50", 0.5).target(200.0),
        row("server_remember_single_p99", 0.99),
    ])
}

// ----- 3. recall at 100,000 memories -----

/// Mean engine-side figures of sampled recall answers.
struct RecallCheck {
    answers: usize,
    mean_hits: f64,
    complete_share: f64,
    /// Mean of each `timings_us` field over the answers that have it.
    timings_us: Map<String, Value>,
}

/// Parses sampled recall answers: every one must have hits.
fn check_recall(outcomes: &[Outcome]) -> Result<RecallCheck> {
    let mut answers = 0;
    let mut hits = 0;
    let mut complete = 0;
    let mut sums: Vec<(String, f64, usize)> = Vec::new();
    for body in outcomes.iter().flat_map(|o| &o.samples) {
        let v: Value = serde_json::from_slice(body).context("a recall answer is not JSON")?;
        let n = v
            .get("hits")
            .and_then(Value::as_array)
            .with_context(|| format!("no hits in the recall answer {v}"))?
            .len();
        ensure!(n > 0, "a recall found nothing: {v}");
        answers += 1;
        hits += n;
        complete += usize::from(v.get("complete").and_then(Value::as_bool) == Some(true));
        if let Some(timings) = v.get("timings_us").and_then(Value::as_object) {
            for (k, t) in timings {
                let Some(t) = t.as_f64() else { continue };
                match sums.iter_mut().find(|(name, _, _)| name == k) {
                    Some((_, sum, count)) => {
                        *sum += t;
                        *count += 1;
                    }
                    None => sums.push((k.clone(), t, 1)),
                }
            }
        }
    }
    ensure!(answers > 0, "no recall answer was sampled");
    Ok(RecallCheck {
        answers,
        mean_hits: hits as f64 / answers as f64,
        complete_share: complete as f64 / answers as f64,
        timings_us: sums
            .into_iter()
            .map(|(k, sum, count)| (k, json!(sum / count as f64)))
            .collect(),
    })
}

fn recall(ctx: &Ctx<'_>) -> Result<Vec<BenchResult>> {
    let ns = "recall";
    let (load, preload) =
        recall_loads(ctx, ns, RECALL_CLIENTS, ctx.corpus.remember_bodies(BATCH)?)?;
    let mut server = ServerProcess::spawn(ServerKind::Mnemo, SyncMode::Never, &[ns], ctx.tmp)?;
    let loaded = ctx
        .runtime
        .block_on(run_load(&server, &preload, &fresh()))?;
    let t = Instant::now();
    server.command(&format!("flush {ns}"))?;
    let index_s = t.elapsed().as_secs_f64();
    let stored = server.stat(ns, "memories")?;
    ensure!(
        stored == ctx.corpus.texts.len() as u64,
        "{stored} memories stored, {} sent",
        ctx.corpus.texts.len()
    );
    eprintln!(
        "    loaded {stored} memories through the API at {:.0}/s, HNSW graph built \
            {index_s:.1} s later",
        loaded.items_per_s()
    );
    let (ours, check, ceiling) = recall_windows(ctx, server, &load)?;
    for (who, o) in [("mnemo", &ours), ("ceiling", &ceiling)] {
        eprintln!(
            "    {who}: {:.0} recalls/s, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            median_of(o, Outcome::items_per_s),
            median_of(o, |o| o.quantile_us(0.5)) / 1e3,
            median_of(o, |o| o.quantile_us(0.95)) / 1e3,
            median_of(o, |o| o.quantile_us(0.99)) / 1e3,
        );
    }
    let mut setup = recall_setup(ctx, RECALL_CLIENTS, stored, &check);
    setup.insert(
        "request".into(),
        json!(
            "POST /v1/namespaces/{ns}/recall {\"query\": <held-out sentence>, \"k\": 10}: \
            default recall (query embedded by the server's HashEmbedder, hybrid vector + BM25 + \
            spreading)"
        ),
    );
    setup.insert(
        "engine".into(),
        json!(
            "on disk (temporary directory), Options::default() with HashEmbedder (384-d) and \
            SyncPolicy::Never; memories loaded through the batch API (100 per request), HNSW graph \
            built before timing"
        ),
    );
    setup.insert("preload_memories_per_s".into(), json!(loaded.items_per_s()));
    setup.insert("preload_index_wait_s".into(), json!(index_s));
    setup.insert("complete_share".into(), json!(check.complete_share));
    let reported: Map<String, Value> = REPORTED_PEERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let with_all = |r: BenchResult| {
        let r = with_params(r, &setup);
        let r = with_params(r, &common_params("", &ours));
        with_params(r, &common_params("ceiling_", &ceiling))
    };
    let latency = |name: &str, q: f64| {
        with_all(
            BenchResult::new(
                name,
                "ms",
                median_of(&ours, |o| o.quantile_us(q)) / 1e3,
                Better::Lower,
            )
            .peer(CEILING, median_of(&ceiling, |o| o.quantile_us(q)) / 1e3),
        )
        .param("reported_peers", Value::Object(reported.clone()))
        .param(
            "reported_peers_note",
            "published figures as quoted in issue 8, measured by their authors on other hardware \
                and workloads; not comparable measurements",
        )
    };
    Ok(vec![
        with_all(
            BenchResult::new(
                "server_recall_100k_c64",
                "recalls/s",
                median_of(&ours, Outcome::items_per_s),
                Better::Higher,
            )
            .target(10_000.0)
            .peer(CEILING, median_of(&ceiling, Outcome::items_per_s)),
        ),
        latency("server_recall_100k_c64_p50", 0.5),
        latency("server_recall_100k_c64_p95", 0.95),
        latency("server_recall_100k_c64_p99", 0.99).target(20.0),
    ])
}

/// A recall scenario's loads: `clients` sending recalls for timed windows,
/// and the preload of `bodies` through the batch API.
fn recall_loads(
    ctx: &Ctx<'_>,
    ns: &str,
    clients: usize,
    bodies: Arc<[Bytes]>,
) -> Result<(Load, Load)> {
    let s = ctx.sizes;
    let load = Load {
        path: format!("/v1/namespaces/{ns}/recall"),
        bodies: ctx.corpus.recall_bodies()?,
        items_per_request: 1,
        clients,
        mode: Mode::Timed {
            warmup: s.warmup,
            measure: s.recall_window,
            cycle: true,
        },
    };
    let preload = Load {
        path: format!("/v1/namespaces/{ns}/memories"),
        bodies,
        items_per_request: BATCH,
        clients: BATCH_CLIENTS,
        mode: Mode::Once,
    };
    Ok((load, preload))
}

/// Times `load` on `server` (then stopped), checks sampled answers, and
/// times the same load against the constant handler.
fn recall_windows(
    ctx: &Ctx<'_>,
    mut server: ServerProcess,
    load: &Load,
) -> Result<(Vec<Outcome>, RecallCheck, Vec<Outcome>)> {
    let ours = timed_windows(ctx.runtime, &server, load, ctx.sizes)?;
    server.stop()?;
    let check = check_recall(&ours)?;
    let constant = ServerProcess::spawn(ServerKind::Constant, SyncMode::Never, &[], None)?;
    let ceiling = timed_windows(ctx.runtime, &constant, load, ctx.sizes)?;
    Ok((ours, check, ceiling))
}

/// The params both recall scenarios record: the set-up, the data, the timed
/// windows and what the sampled answers held.
fn recall_setup(
    ctx: &Ctx<'_>,
    clients: usize,
    stored: u64,
    check: &RecallCheck,
) -> Map<String, Value> {
    let s = ctx.sizes;
    let mut setup = setup_params(ctx, clients);
    setup.insert("memories".into(), json!(stored));
    setup.insert("queries".into(), json!(ctx.corpus.queries.len()));
    setup.insert("k".into(), json!(RECALL_K));
    setup.insert("windows".into(), json!(s.runs));
    setup.insert("window_s".into(), json!(s.recall_window.as_secs_f64()));
    setup.insert("sampled_answers".into(), json!(check.answers));
    setup.insert("mean_hits".into(), json!(check.mean_hits));
    setup.insert(
        "engine_timings_us_mean".into(),
        Value::Object(check.timings_us.clone()),
    );
    setup
}

/// Target of the issue: one recall over HTTP with the default embedder,
/// query embedding included, p95 at 100,000 memories, ms.
const EMBEDDED_RECALL_P95_TARGET_MS: f64 = 4.0;

/// Scenario 4: one client's recall with the default embedder (see the module
/// docs).
fn embedded_recall(ctx: &Ctx<'_>) -> Result<Vec<BenchResult>> {
    let ns = "embedded";
    let (load, preload) =
        recall_loads(ctx, ns, 1, ctx.corpus.remember_bodies_with_vectors(BATCH)?)?;
    let mut server = ServerProcess::spawn_with(
        ServerKind::Mnemo,
        SyncMode::Never,
        ChildEmbedder::Default,
        &[ns],
        ctx.tmp,
    )?;
    let loaded = ctx
        .runtime
        .block_on(run_load(&server, &preload, &fresh()))?;
    server.command(&format!("flush {ns}"))?;
    let stored = server.stat(ns, "memories")?;
    ensure!(
        stored == ctx.corpus.texts.len() as u64,
        "{stored} memories stored, {} sent",
        ctx.corpus.texts.len()
    );
    let embedder = server.stat_text(ns, "embedder")?;
    let (ours, check, ceiling) = recall_windows(ctx, server, &load)?;
    eprintln!(
        "    one client, default embedder: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms \
         (ceiling p50 {:.3} ms)",
        median_of(&ours, |o| o.quantile_us(0.5)) / 1e3,
        median_of(&ours, |o| o.quantile_us(0.95)) / 1e3,
        median_of(&ours, |o| o.quantile_us(0.99)) / 1e3,
        median_of(&ceiling, |o| o.quantile_us(0.5)) / 1e3,
    );
    let mut setup = recall_setup(ctx, 1, stored, &check);
    setup.insert(
        "request".into(),
        json!(
            "POST /v1/namespaces/{ns}/recall {\"query\": <held-out sentence>, \"k\": 10}: \
            default recall, the query embedded by the server's default embedder"
        ),
    );
    setup.insert(
        "engine".into(),
        json!(format!(
            "on disk (temporary directory), Options::default() with \
            mnemo_embed::load_default (no hash fallback) and SyncPolicy::Never; memories \
            loaded through the batch API (100 per request) {}, HNSW graph built before timing",
            if ctx.corpus.vectors.is_some() {
                "with their precomputed all-MiniLM-L6-v2 vectors"
            } else {
                "and embedded by the server"
            }
        )),
    );
    setup.insert("preload_memories_per_s".into(), json!(loaded.items_per_s()));
    setup.insert("embedder".into(), json!(embedder));
    let latency = |name: &str, q: f64| {
        let r = BenchResult::new(
            name,
            "ms",
            median_of(&ours, |o| o.quantile_us(q)) / 1e3,
            Better::Lower,
        )
        .peer(CEILING, median_of(&ceiling, |o| o.quantile_us(q)) / 1e3);
        let r = with_params(r, &setup);
        let r = with_params(r, &common_params("", &ours));
        with_params(r, &common_params("ceiling_", &ceiling))
    };
    Ok(vec![
        latency("server_recall_embedded_100k_c1_p50", 0.5),
        latency("server_recall_embedded_100k_c1_p95", 0.95).target(EMBEDDED_RECALL_P95_TARGET_MS),
    ])
}
