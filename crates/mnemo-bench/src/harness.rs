//! What every suite shares: timing (warm-up, then the median of several
//! repetitions), the result records and JSON report of
//! `bench-results/SUITE.json`, machine and git information, and the table
//! printed to stdout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// Which direction of a figure is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (times, latencies).
    Lower,
    /// Larger is better (throughputs).
    Higher,
}

/// One line of a suite's results, in the format of `bench-results/SUITE.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Stable name of the measurement, e.g. `append_32b_mem`.
    pub name: String,
    /// Unit of `value`, `target` and `peer_value`.
    pub unit: String,
    /// Our figure (median of the repetitions).
    pub value: f64,
    /// Which direction is better.
    pub better: Better,
    /// The figure we aim for, in `unit`, if there is one.
    pub target: Option<f64>,
    /// What the peer figure is (another system or a physical limit).
    pub peer: Option<String>,
    /// The peer's figure, measured in the same run, in `unit`.
    pub peer_value: Option<f64>,
    /// `value / peer_value`.
    pub ratio_vs_peer: Option<f64>,
    /// Sizes and settings of the measurement.
    pub params: Map<String, Value>,
}

impl BenchResult {
    /// A result without target or peer.
    pub fn new(name: &str, unit: &str, value: f64, better: Better) -> Self {
        Self {
            name: name.to_owned(),
            unit: unit.to_owned(),
            value,
            better,
            target: None,
            peer: None,
            peer_value: None,
            ratio_vs_peer: None,
            params: Map::new(),
        }
    }

    /// Sets the target.
    pub fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the peer, its figure and the ratio `value / peer_value`.
    pub fn peer(mut self, label: &str, peer_value: f64) -> Self {
        self.peer = Some(label.to_owned());
        self.peer_value = Some(peer_value);
        self.ratio_vs_peer = (peer_value != 0.0).then(|| self.value / peer_value);
        self
    }

    /// Adds one parameter.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// Whether the value meets the target (`None` without a target).
    pub fn meets_target(&self) -> Option<bool> {
        self.target.map(|t| match self.better {
            Better::Lower => self.value <= t,
            Better::Higher => self.value >= t,
        })
    }
}

/// The machine a suite ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// CPU model name from `/proc/cpuinfo` (`unknown` where absent).
    pub model: String,
}

impl Machine {
    /// Detects the current machine.
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Self { cpus, model }
    }
}

/// A whole suite's report: the content of `bench-results/SUITE.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Suite name (`log`, ...).
    pub suite: String,
    /// Short commit hash, with `-dirty` if the work tree had changes.
    pub git: String,
    /// Where it ran.
    pub machine: Machine,
    /// The measurements.
    pub results: Vec<BenchResult>,
}

impl Report {
    /// Writes the report as JSON to `path`, creating its directory.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
    }

    /// Prints the results as a table.
    pub fn print_table(&self) {
        println!(
            "suite {} at {} on {} × {}",
            self.suite, self.git, self.machine.cpus, self.machine.model
        );
        println!(
            "{:<28} {:>14} {:<10} {:>12} {:>7} {:>14} {:>9}  peer",
            "name", "value", "unit", "target", "status", "peer value", "ratio"
        );
        for r in &self.results {
            let status = match r.meets_target() {
                Some(true) => "ok",
                Some(false) => "MISS",
                None => "-",
            };
            println!(
                "{:<28} {:>14} {:<10} {:>12} {:>7} {:>14} {:>9}  {}",
                r.name,
                fmt_num(r.value),
                r.unit,
                r.target.map_or_else(|| "-".to_owned(), fmt_num),
                status,
                r.peer_value.map_or_else(|| "-".to_owned(), fmt_num),
                r.ratio_vs_peer
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.3}")),
                r.peer.as_deref().unwrap_or("-"),
            );
        }
    }
}

/// Formats a figure with 4 significant digits, in scientific notation when
/// very large or small.
fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(0.01..1e7).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// `git rev-parse --short HEAD` of the workspace, with `-dirty` appended if
/// `git status --porcelain` lists changes; `unknown` if git fails.
pub fn git_description(root: &Path) -> String {
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(rev) = run(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_owned();
    };
    match run(&["status", "--porcelain"]) {
        Some(status) if !status.is_empty() => format!("{rev}-dirty"),
        _ => rev,
    }
}

/// How many times to run a measurement.
#[derive(Debug, Clone, Copy)]
pub struct Reps {
    /// Untimed runs first (caches, allocator, page cache, CPU frequency).
    pub warmup: usize,
    /// Timed runs; the median is reported.
    pub runs: usize,
}

/// Runs `f` `reps.warmup` times, discarding the result, then `reps.runs`
/// times, and returns the median of the durations it reported.
///
/// `f` does its own setup and returns only the duration of the measured
/// part (use [`timed`]), so fresh logs and temporary directories stay out of
/// the figure.
pub fn median_duration(reps: Reps, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    for _ in 0..reps.warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(reps.runs);
    for _ in 0..reps.runs.max(1) {
        samples.push(f()?);
    }
    samples.sort_unstable();
    Ok(samples[samples.len() / 2])
}

/// Runs `f` once and returns its result and how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = std::hint::black_box(f());
    (out, start.elapsed())
}

/// Nanoseconds per item.
pub fn ns_per(d: Duration, items: u64) -> f64 {
    d.as_secs_f64() * 1e9 / items as f64
}

/// Items per second.
pub fn per_sec(d: Duration, items: u64) -> f64 {
    items as f64 / d.as_secs_f64()
}
