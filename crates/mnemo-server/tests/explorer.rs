//! The memory explorer, end to end: a real server on a free port, a seeded
//! namespace, and headless Chromium driven by Playwright
//! (`tests/browser/explorer.mjs`) that connects, recalls, opens a memory,
//! follows a link, checks a consolidated memory's strength, tier, deadline,
//! merged writes, provenance and duplicate flag, and takes a screenshot. Plus the static routes over real
//! HTTP (content types, CSP, 404 JSON).
//!
//! Needs `node` (>= 20) and Debian's Chromium at `/usr/bin/chromium`
//! (`apt-get install chromium`); the test installs the one npm dependency
//! (`playwright-core`, pinned in `tests/browser/package-lock.json`) with
//! `npm ci` the first time. The screenshot is kept in the target directory
//! (`CARGO_TARGET_TMPDIR/explorer/explorer.png`) for a human to look at.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mnemo::lifecycle::{DuplicateMode, Duplicates};
use mnemo::{Kind, Mnemo, NewFact, NewMemory, Options, Timestamp};
use mnemo_embed::HashEmbedder;
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{Config, Server};
use tokio::sync::oneshot;

const CHROMIUM: &str = "/usr/bin/chromium";
const NAMESPACE: &str = "ada";
const QUERY: &str = "trip";
/// The browser script gives up after 150 s itself; this is the backstop.
const BROWSER_DEADLINE: Duration = Duration::from_secs(180);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Installs `playwright-core` with `npm ci` unless it is there already.
fn ensure_node_modules() {
    let dir = browser_dir();
    if dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return;
    }
    let started = Instant::now();
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `npm ci` in {}: {e}; the explorer test needs node >= 20 and npm",
                dir.display()
            )
        });
    assert!(
        output.status.success(),
        "`npm ci` in {} failed ({}):\n{}\n{}",
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    eprintln!("npm ci took {:.1} s", started.elapsed().as_secs_f64());
}

fn ensure_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "the explorer test drives Debian's Chromium at {CHROMIUM}, which is missing: \
         install it with `apt-get install chromium` (CI does)"
    );
}

/// What Ada's assistant remembers about a trip (and a few other things).
const MEMORIES: &[(&str, &str, &[&str])] = &[
    (
        "Ada is planning a trip to Kyoto in April to see the cherry blossoms",
        "chat",
        &["travel", "japan"],
    ),
    (
        "Ada booked a ryokan near Gion for the Kyoto trip, three nights",
        "email",
        &["travel", "booking"],
    ),
    (
        "The trip budget is 2400 euros including flights and the ryokan",
        "chat",
        &["travel", "money"],
    ),
    (
        "Ada prefers window seats on long flights",
        "chat",
        &["preferences"],
    ),
    (
        "Flight to Osaka Kansai leaves Frankfurt on April 3rd at 13:40",
        "email",
        &["travel", "booking"],
    ),
    (
        "Ada wants to visit Fushimi Inari early in the morning to avoid the crowds",
        "chat",
        &["travel", "japan"],
    ),
    (
        "Ada is allergic to peanuts; tell the restaurants in Japan",
        "chat",
        &["health"],
    ),
    (
        "Ada drinks her coffee black, no sugar",
        "chat",
        &["preferences"],
    ),
    (
        "Ada likes matcha desserts, especially the ones in Uji",
        "chat",
        &["preferences", "japan"],
    ),
    (
        "A day trip from Kyoto to Nara to feed the deer in the park",
        "chat",
        &["travel", "japan"],
    ),
    (
        "The JR pass is not worth it for this itinerary; buy single tickets",
        "notes",
        &["travel"],
    ),
    (
        "Ada asked for a reminder to renew her passport before the trip",
        "chat",
        &["todo"],
    ),
    (
        "Passport renewal appointment at the town hall on February 12th",
        "email",
        &["todo"],
    ),
    (
        "Ada meets her friend Kenji in Osaka on April 8th for dinner",
        "chat",
        &["travel", "people"],
    ),
    (
        "Kenji recommended an okonomiyaki place in Dotonbori",
        "chat",
        &["food", "people"],
    ),
    (
        "Ada is learning basic Japanese phrases with a language app",
        "chat",
        &["japan"],
    ),
    (
        "Weather in Kyoto in early April: 8 to 18 degrees with occasional rain",
        "notes",
        &["travel"],
    ),
    (
        "Pack a light rain jacket and comfortable walking shoes for the trip",
        "notes",
        &["travel", "todo"],
    ),
    (
        "Ada wants to try a traditional tea ceremony while in Kyoto",
        "chat",
        &["travel", "japan"],
    ),
    (
        "Tea ceremony booked at Camellia for April 5th at 10:00",
        "email",
        &["booking"],
    ),
    (
        "Travel insurance bought for the whole trip; the policy is on the shared drive",
        "email",
        &["travel", "money"],
    ),
    (
        "Ada prefers trains over buses when travelling",
        "chat",
        &["preferences"],
    ),
    (
        "The Shinkansen from Kyoto to Tokyo takes about two hours and fifteen minutes",
        "notes",
        &["travel"],
    ),
    (
        "Ada will spend the last two days of the trip in Tokyo",
        "chat",
        &["travel"],
    ),
    (
        "Hotel in Tokyo: Shinjuku, five minutes from the station",
        "email",
        &["booking"],
    ),
    (
        "Ada wants to buy ceramics from Kiyomizu as souvenirs",
        "chat",
        &["shopping"],
    ),
    (
        "Return flight from Haneda on April 12th in the evening",
        "email",
        &["travel", "booking"],
    ),
    (
        "Ada eats vegetarian food on most days",
        "chat",
        &["preferences", "food"],
    ),
    (
        "Ada will write a travel journal <b>every evening</b> & \"share\" it with her sister",
        "chat",
        &["travel"],
    ),
    (
        "The cherry blossom forecast for Kyoto peaks around April 4th",
        "notes",
        &["travel", "japan"],
    ),
    (
        "Ada's sister Grace looks after the cat while Ada is away",
        "chat",
        &["people", "home"],
    ),
];

/// Links (by index into [`MEMORIES`]): every memory that mentions the trip
/// links somewhere, so the first hit of [`QUERY`] always lists links.
const LINKS: &[(usize, usize, &str, f32)] = &[
    (0, 1, "refers_to", 0.9),
    (0, 2, "refers_to", 0.8),
    (0, 29, "because_of", 0.7),
    (1, 19, "same_city", 0.6),
    (2, 20, "includes", 0.7),
    (2, 4, "includes", 0.6),
    (9, 16, "depends_on", 0.5),
    (11, 12, "led_to", 1.0),
    (13, 14, "refers_to", 0.8),
    (17, 16, "because_of", 0.9),
    (18, 19, "led_to", 1.0),
    (20, 2, "part_of", 0.5),
    (23, 24, "refers_to", 0.7),
    (23, 22, "depends_on", 0.6),
    (28, 30, "refers_to", 0.4),
];

/// A consolidated memory of the trip (no "trip" in it: the first hit of
/// [`QUERY`] stays a memory with links), found by [`LIFECYCLE_QUERY`].
const SUMMARY: &str =
    "Consolidated: Ada's Kyoto plans are a ryokan near Gion for three nights and 2400 euros";
/// Finds the summary and its flagged repeat.
const LIFECYCLE_QUERY: &str = "consolidated";
/// The summary's deadline.
const SUMMARY_EXPIRES: &str = "2200-01-01T00:00:00Z";

/// The engine's options with near-duplicate writes handled by `mode`.
fn options(mode: DuplicateMode) -> Options {
    Options::default()
        .embedder(Arc::new(HashEmbedder::new()))
        .duplicates(Duplicates {
            mode,
            ..Duplicates::default()
        })
}

/// Opens an engine in `dir`, seeds [`NAMESPACE`] and returns it, with what
/// the browser checks of a summary's lifecycle (the script's LIFECYCLE
/// argument): the summary (a deadline, a merged repeat, `derived_from`
/// links to the first three memories) and a flagged repeat of it.
fn seeded_engine(dir: &Path) -> (Mnemo, serde_json::Value) {
    let mnemo = Mnemo::open_with(dir, options(DuplicateMode::Merge)).expect("engine opens");
    let ns = mnemo.namespace(NAMESPACE).expect("namespace opens");
    // 2025-01-06T09:00:00Z, one memory every 20 minutes
    let start = 1_736_154_000;
    let batch = MEMORIES
        .iter()
        .enumerate()
        .map(|(i, (content, source, tags))| {
            let at = start + 1_200 * i64::try_from(i).expect("small index");
            let mut m = NewMemory::new(*content)
                .source(*source)
                .tags(tags.iter().copied())
                .at(Timestamp::from_secs(at))
                .importance(if i % 4 == 0 { 0.8 } else { 0.5 });
            if tags.contains(&"preferences") {
                m = m.kind(Kind::Semantic);
            }
            if i == 1 {
                m = m
                    .key("ryokan-booking")
                    .meta("nights", 3)
                    .meta("area", "Gion");
            }
            m
        })
        .collect();
    let ids: Vec<mnemo::MemoryId> = ns
        .remember_batch(batch)
        .expect("memories are stored")
        .into_iter()
        .map(|r| r.id)
        .collect();
    for &(from, to, kind, weight) in LINKS {
        ns.link(ids[from], ids[to], kind, weight)
            .expect("link is stored");
    }
    ns.assert_fact(
        NewFact::new("Ada", "travels_to", "Kyoto")
            .confidence(0.9)
            .evidence([ids[0], ids[1]]),
    )
    .expect("fact is stored");
    ns.assert_fact(NewFact::new("Kyoto trip", "budget", "2400 EUR").evidence([ids[2]]))
        .expect("fact is stored");

    let expires = mnemo::rfc3339::parse(SUMMARY_EXPIRES).expect("a time");
    let summary = ns
        .remember(
            NewMemory::new(SUMMARY)
                .kind(Kind::Semantic)
                .source("consolidation")
                .expires(expires),
        )
        .expect("summary is stored");
    for source in &ids[..3] {
        ns.link(summary, *source, "derived_from", 1.0)
            .expect("provenance is stored");
    }
    let repeat = ns
        .remember_batch(vec![NewMemory::new(format!("{SUMMARY}!")).source("chat")])
        .expect("repeat is merged");
    assert_eq!(repeat[0].outcome, mnemo::Outcome::Merged);
    // Reopened to flag a repeat: the log's lock goes with the last handle.
    drop(ns);
    mnemo.close().expect("engine closes");

    let mnemo = Mnemo::open_with(dir, options(DuplicateMode::Flag)).expect("engine reopens");
    let ns = mnemo.namespace(NAMESPACE).expect("namespace opens");
    let flagged = ns
        .remember(NewMemory::new(SUMMARY.to_lowercase()).source("chat"))
        .expect("repeat is flagged");
    assert_eq!(
        ns.lifecycle(flagged)
            .and_then(|l| l.duplicate_of)
            .map(|d| d.of),
        Some(summary)
    );
    ns.flush_index();
    let tier = ns
        .lifecycle(summary)
        .map(|info| info.tier.as_str())
        .expect("the summary is live");
    let lifecycle = serde_json::json!({
        "query": LIFECYCLE_QUERY,
        "summary": summary.0,
        "flagged": flagged.0,
        "sources": ids[..3].iter().map(|id| id.0).collect::<Vec<_>>(),
        "expires_at": mnemo::rfc3339::format(expires),
        "merged": 1,
        "tier": tier,
    });
    (mnemo, lifecycle)
}

/// A server on a free local port; stops when the sender is dropped or sent.
struct Running {
    addr: SocketAddr,
    token: String,
    /// What the browser checks of a summary's lifecycle (JSON).
    lifecycle: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Running {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (mnemo, lifecycle) = seeded_engine(dir.path());
        let token = generate_token();
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // The explorer only reads: a read-only token for the one namespace.
            tokens: vec![TokenEntry::new(
                "explorer",
                &token,
                vec![NAMESPACE.to_owned()],
                vec![Right::Read],
            )],
            ..Config::default()
        };
        let server = Server::bind(config, mnemo).await.expect("server binds");
        let addr = server.local_addr();
        eprintln!("explorer test server on http://{addr}");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs and shuts down cleanly");
        });
        Running {
            addr,
            token,
            lifecycle: lifecycle.to_string(),
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("server shuts down within 20 s")
            .expect("server task does not panic");
    }
}

/// Runs `node explorer.mjs` and returns its exit status and output; kills it
/// after [`BROWSER_DEADLINE`].
fn run_browser(url: &str, token: &str, out: &Path, lifecycle: &str) -> (bool, String) {
    let mut child = Command::new("node")
        .arg("explorer.mjs")
        .args([url, token, NAMESPACE])
        .arg(out)
        .args([QUERY, lifecycle])
        .current_dir(browser_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (the explorer test needs node >= 20): {e}"));
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for node") {
            Some(_) => break,
            None if started.elapsed() > BROWSER_DEADLINE => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("collect node's output");
                panic!(
                    "the browser test did not finish within {} s:\n{}\n{}",
                    BROWSER_DEADLINE.as_secs(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let output = child.wait_with_output().expect("collect node's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_works_in_a_real_browser() {
    ensure_chromium();
    ensure_node_modules();
    let server = Running::start().await;

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    std::fs::create_dir_all(&out_dir).expect("screenshot directory");
    let out = out_dir.join("explorer.png");
    let _ = std::fs::remove_file(&out);

    let url = server.url("/explorer/");
    let token = server.token.clone();
    let shot = out.clone();
    let lifecycle = server.lifecycle.clone();
    let started = Instant::now();
    let (ok, output) =
        tokio::task::spawn_blocking(move || run_browser(&url, &token, &shot, &lifecycle))
            .await
            .expect("browser runner does not panic");
    eprintln!(
        "browser test took {:.1} s:\n{output}",
        started.elapsed().as_secs_f64()
    );
    server.shutdown().await;

    assert!(ok, "the browser test failed:\n{output}");
    let size = std::fs::metadata(&out)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", out.display()))
        .len();
    assert!(
        size > 10 * 1024,
        "the screenshot {} is only {size} bytes",
        out.display()
    );
    eprintln!("screenshot: {} ({size} bytes)", out.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_static_routes_over_http() {
    let server = Running::start().await;
    let base = server.url("");
    let checks = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        for (path, content_type) in [
            ("/explorer/", "text/html; charset=utf-8"),
            ("/explorer/explorer.js", "text/javascript; charset=utf-8"),
            ("/explorer/viz.js", "text/javascript; charset=utf-8"),
            ("/explorer/viz.css", "text/css; charset=utf-8"),
            ("/explorer/explorer.css", "text/css; charset=utf-8"),
            ("/explorer/favicon.svg", "image/svg+xml"),
        ] {
            let mut response = agent.get(format!("{base}{path}")).call().expect("request");
            assert_eq!(response.status(), 200, "{path}");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_eq!(header("content-type"), content_type, "{path}");
            assert_eq!(header("cache-control"), "no-cache", "{path}");
            let csp = header("content-security-policy");
            assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
            assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            let body = response.body_mut().read_to_string().expect("body");
            assert!(!body.is_empty(), "{path}");
        }

        // the bare path redirects
        let response = agent
            .get(format!("{base}/explorer"))
            .call()
            .expect("request");
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(
            response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok()),
            Some("/explorer/")
        );

        // unknown files are JSON 404s, not the page
        for path in ["/explorer/missing.js", "/explorer/deep/er/file.html"] {
            let mut response = agent.get(format!("{base}{path}")).call().expect("request");
            assert_eq!(response.status(), 404, "{path}");
            let json: serde_json::Value = response.body_mut().read_json().expect("json body");
            assert_eq!(json["error"]["code"], "not_found", "{path}: {json}");
            assert!(json["error"]["message"].is_string(), "{path}: {json}");
        }
    })
    .await;
    server.shutdown().await;
    checks.expect("static route checks pass");
}
