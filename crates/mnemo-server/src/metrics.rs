//! Prometheus metrics: request counts and latency histograms per route,
//! recall stage timings, and gauges read from the namespaces at scrape
//! time (namespaces, memories, log bytes, events, open conflicts).
//!
//! Counters are atomics behind a read-mostly map. Every label takes its
//! value from a closed set, because the requests are counted before auth
//! and anyone who can reach the port chooses their method and path:
//!
//! - `method`: one of the nine standard methods (`GET`, `HEAD`, `POST`,
//!   `PUT`, `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`); any other
//!   is counted as `other`;
//! - `route`: the route *pattern* the request matched
//!   (`/v1/namespaces/{ns}/recall`), never the raw path; a path no route
//!   matches is counted as `other`;
//! - `status`: the status code, which HTTP bounds to 100–999.
//!
//! So the number of series is bounded by the routes, whatever clients
//! send.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::RwLock;

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{}le=\"{bound}\"}} {cumulative}",
                sep(labels)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{}le=\"+Inf\"}} {count}",
            sep(labels)
        );
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

fn sep(labels: &str) -> &'static str {
    if labels.is_empty() { "" } else { "," }
}

#[derive(Debug, Default)]
struct RouteStats {
    /// Requests by status code.
    by_status: RwLock<BTreeMap<u16, Arc<AtomicU64>>>,
    latency: Histogram,
}

/// Everything the server counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By (method label, route label): both from closed sets (see the
    /// module docs).
    routes: RwLock<BTreeMap<(&'static str, String), Arc<RouteStats>>>,
    recall_stages: [Histogram; 4],
    started: std::sync::OnceLock<Instant>,
}

/// A per-namespace gauge: its name, its help text and how to read it.
type Gauge = (&'static str, &'static str, fn(&mnemo::Stats) -> f64);

/// Names of the recall stages, in [`Metrics::observe_recall`]'s order.
const STAGES: [&str; 4] = ["embed", "candidates", "spread", "fuse"];

/// The `route` label of requests no route matched.
pub const OTHER_ROUTE: &str = "other";

/// The `method` label of methods outside the standard set.
pub const OTHER_METHOD: &str = "other";

/// The `method` label of `method`: its name for the nine standard
/// methods, [`OTHER_METHOD`] for any other (an extension method is any
/// token a client cares to send, so it must not become a label).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|m| *m == method)
        .map_or(OTHER_METHOD, Method::as_str)
}

impl Metrics {
    /// Records a finished request: `method` and `route` (the pattern it
    /// matched, `None` when none did) are folded into their closed label
    /// sets here, so no caller can add a series per distinct request.
    pub fn observe_request(
        &self,
        method: &Method,
        route: Option<&MatchedPath>,
        status: StatusCode,
        took: Duration,
    ) {
        let route = route.map_or(OTHER_ROUTE, MatchedPath::as_str);
        self.record(method_label(method), route, status.as_u16(), took);
    }

    /// Counts one request under labels already folded.
    fn record(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let key = (method, route.to_owned());
        // Each read guard is dropped before the write lock is taken.
        let found = self.routes.read().get(&key).map(Arc::clone);
        let stats =
            found.unwrap_or_else(|| Arc::clone(self.routes.write().entry(key).or_default()));
        stats.latency.observe(took);
        let found = stats.by_status.read().get(&status).map(Arc::clone);
        let counter =
            found.unwrap_or_else(|| Arc::clone(stats.by_status.write().entry(status).or_default()));
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one recall's stage timings.
    pub fn observe_recall(&self, t: &mnemo::recall::RecallTimings) {
        for (h, d) in self
            .recall_stages
            .iter()
            .zip([t.embed, t.candidates, t.spread, t.fuse])
        {
            h.observe(d);
        }
    }

    /// Marks the server's start (for the uptime gauge).
    pub fn mark_start(&self) {
        let _ = self.started.set(Instant::now());
    }

    /// The Prometheus text exposition of everything, with the namespace
    /// gauges read from `state` now.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("# HELP mnemo_http_requests_total HTTP requests answered, by route pattern and status.\n");
        out.push_str("# TYPE mnemo_http_requests_total counter\n");
        let routes: Vec<_> = self
            .routes
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        for ((method, route), stats) in &routes {
            for (status, count) in stats.by_status.read().iter() {
                let _ = writeln!(
                    out,
                    "mnemo_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                    escape(route),
                    count.load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP mnemo_http_request_duration_seconds Time to answer a request, by route pattern.\n");
        out.push_str("# TYPE mnemo_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in &routes {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            stats
                .latency
                .render(&mut out, "mnemo_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP mnemo_recall_stage_seconds Time per recall stage.\n");
        out.push_str("# TYPE mnemo_recall_stage_seconds histogram\n");
        for (stage, h) in STAGES.iter().zip(&self.recall_stages) {
            h.render(
                &mut out,
                "mnemo_recall_stage_seconds",
                &format!("stage=\"{stage}\""),
            );
        }
        let names = state.namespace_names();
        out.push_str("# HELP mnemo_namespaces Namespaces stored.\n# TYPE mnemo_namespaces gauge\n");
        let _ = writeln!(out, "mnemo_namespaces {}", names.len());
        let open = state.open_namespaces();
        let gauges: [Gauge; 6] = [
            ("mnemo_memories", "Live memories per namespace.", |s| {
                s.memories as f64
            }),
            ("mnemo_links", "Links per namespace.", |s| s.links as f64),
            ("mnemo_facts", "Facts per namespace.", |s| s.facts as f64),
            (
                "mnemo_open_conflicts",
                "Unresolved fact conflicts per namespace.",
                |s| s.open_conflicts as f64,
            ),
            ("mnemo_log_events", "Events in each namespace's log.", |s| {
                s.events as f64
            }),
            (
                "mnemo_log_bytes",
                "Bytes of each namespace's log segments.",
                |s| s.log_bytes as f64,
            ),
        ];
        let stats: Vec<mnemo::Stats> = open.iter().map(|ns| ns.stats()).collect();
        for (name, help, get) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for s in &stats {
                let _ = writeln!(
                    out,
                    "{name}{{namespace=\"{}\"}} {}",
                    escape(&s.namespace),
                    get(s)
                );
            }
        }
        render_events(&mut out, &open);
        if let Some(start) = self.started.get() {
            out.push_str("# HELP mnemo_uptime_seconds Seconds since the server started.\n# TYPE mnemo_uptime_seconds gauge\n");
            let _ = writeln!(
                out,
                "mnemo_uptime_seconds {}",
                start.elapsed().as_secs_f64()
            );
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
/// The raw-event streams' counters, for namespaces with a stream open.
fn render_events(out: &mut String, open: &[mnemo::Namespace]) {
    let streams: Vec<_> = open
        .iter()
        .filter_map(|ns| {
            ns.ingest_stats()
                .map(|(s, p)| (ns.name().to_owned(), s.total(), p))
        })
        .collect();
    if streams.is_empty() {
        return;
    }
    type Counter = fn(&mnemo::ingest::bus::ShardStats, &mnemo::ingest::PromotionStats) -> u64;
    let series: [(&str, &str, &str, Counter); 6] = [
        (
            "mnemo_events_accepted_total",
            "counter",
            "Raw events admitted to a stream's rings.",
            |s, _| s.accepted,
        ),
        (
            "mnemo_events_written_total",
            "counter",
            "Raw events written to a stream's shard logs.",
            |s, _| s.written,
        ),
        (
            "mnemo_events_queued",
            "gauge",
            "Raw events waiting in a stream's rings.",
            |s, _| s.queued,
        ),
        (
            "mnemo_events_blocked_total",
            "counter",
            "Publishes that waited for room (backpressure block).",
            |s, _| s.blocked,
        ),
        (
            "mnemo_events_promoted_total",
            "counter",
            "Raw events promoted to memories.",
            |_, p| p.promoted,
        ),
        (
            "mnemo_events_promotion_lag",
            "gauge",
            "Written raw events the promotion folder has not handled.",
            |_, p| p.lag_events,
        ),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (ns, total, promotion) in &streams {
            let _ = writeln!(
                out,
                "{name}{{namespace=\"{}\"}} {}",
                escape(ns),
                get(total, promotion)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP mnemo_events_dropped_total Raw events the backpressure dropped or refused, by reason.\n# TYPE mnemo_events_dropped_total counter"
    );
    for (ns, t, _) in &streams {
        for (reason, n) in [
            ("drop_newest", t.dropped_newest),
            ("drop_oldest", t.dropped_oldest),
            ("sampled_out", t.sampled_out),
            ("rejected", t.rejected),
            ("timed_out", t.timed_out),
        ] {
            let _ = writeln!(
                out,
                "mnemo_events_dropped_total{{namespace=\"{}\",reason=\"{reason}\"}} {n}",
                escape(ns)
            );
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: times every request and counts it under its method label
/// and route pattern (see the module docs: other methods count as
/// `other`, unmatched paths as route `other`).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let took = start.elapsed();
    let status = response.status();
    state
        .metrics()
        .observe_request(&method, route.as_ref(), status, took);
    tracing::debug!(
        method = method_label(&method),
        route = route.as_ref().map_or(OTHER_ROUTE, MatchedPath::as_str),
        status = status.as_u16(),
        micros = took.as_micros() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_micros(700));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.00005\"} 1"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 2"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 2"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3"), "{out}");
    }

    #[test]
    fn methods_fold_into_a_closed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for invented in ["FOO", "get", "PROPFIND", "X-Y_Z"] {
            let m = Method::from_bytes(invented.as_bytes()).expect("a valid token");
            assert_eq!(method_label(&m), OTHER_METHOD, "{invented}");
        }
    }

    #[test]
    fn invented_methods_and_paths_add_no_series() {
        let metrics = Metrics::default();
        for i in 0..500 {
            let m = Method::from_bytes(format!("M{i}").as_bytes()).expect("a valid token");
            metrics.observe_request(&m, None, StatusCode::NOT_FOUND, Duration::ZERO);
            metrics.observe_request(&Method::GET, None, StatusCode::NOT_FOUND, Duration::ZERO);
        }
        let keys: Vec<_> = metrics.routes.read().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                ("GET", OTHER_ROUTE.to_owned()),
                (OTHER_METHOD, OTHER_ROUTE.to_owned())
            ]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
