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

    /// The `NAME_ratio` row of a target the issue set relative to this
    /// row's peer ("at least 0.8 × `BufWriter`", "as fast as hnswlib"): its
    /// value is this row's `ratio_vs_peer` (both figures measured in this
    /// run), unit `ratio`, the same direction of improvement, and its
    /// target the fixed ratio `target` from the issue, named by `source`.
    /// A target is never computed from a figure of the run; this row is how
    /// a relative target is checked. `None` without a peer figure.
    pub fn ratio_row(&self, target: f64, source: &str) -> Option<BenchResult> {
        let ratio = self.ratio_vs_peer?;
        let peer = self.peer.as_deref()?;
        let peer_value = self.peer_value?;
        Some(
            BenchResult::new(&format!("{}_ratio", self.name), "ratio", ratio, self.better)
                .target(target)
                .param(
                    "numerator",
                    format!("{}: {} {}", self.name, self.value, self.unit),
                )
                .param(
                    "denominator",
                    format!("{peer}: {peer_value} {}", self.unit),
                )
                .param(
                    "definition",
                    "value = numerator / denominator, both measured in this run; the target is a fixed ratio",
                )
                .param("target_source", source),
        )
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
///
/// Besides the design document's fields it says where the figures come
/// from: `dirty` and `dirty_changes` (see [`Tree`]) and `quick`. Recorded
/// reports (full runs into `bench-results/`) are written only from a clean
/// tree unless `--allow-dirty` was given, so a recorded report with
/// `"dirty": false` was measured at commit `git`, nothing else.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Suite name (`log`, ...).
    pub suite: String,
    /// Short commit hash, with `-dirty` unless git confirmed the work tree
    /// clean (outside `bench-results/`) both before the suite ran and
    /// before the report was written; `unknown` if git failed.
    pub git: String,
    /// `false` only when git confirmed the tree clean at both checks and
    /// `HEAD` did not move in between; `true` for a dirty or unknown tree
    /// (recorded only with `--allow-dirty`).
    pub dirty: bool,
    /// What made the tree dirty: `git status --porcelain` lines of paths
    /// outside `bench-results/`, `HEAD moved ...`, or why its state is
    /// unknown. Absent when the tree was clean.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dirty_changes: Vec<String>,
    /// A `--quick` smoke run: small sizes, figures not comparable with a
    /// full run's.
    pub quick: bool,
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

/// The directory of the recorded results, relative to the workspace root.
/// Changes under it do not make the tree dirty: they are the harness's
/// own output (a run of several suites writes one file after another), not
/// an input of any measurement.
pub const RESULTS_DIR: &str = "bench-results";

/// What git says about the workspace: which commit, and whether the work
/// tree holds changes that commit does not (outside [`RESULTS_DIR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// `git status --porcelain` lists nothing outside [`RESULTS_DIR`].
    Clean {
        /// Short commit hash of `HEAD`.
        rev: String,
    },
    /// Changes outside [`RESULTS_DIR`] (modified, staged, deleted or
    /// untracked paths), or `HEAD` moved during the run.
    Dirty {
        /// Short commit hash of `HEAD` (at the start of the run).
        rev: String,
        /// What is dirty: paths as `git status` names them, and
        /// `HEAD moved ...` when the commit changed during the run.
        changes: Vec<String>,
    },
    /// git could not tell (not a checkout, git missing, ...).
    Unknown {
        /// Why.
        why: String,
    },
}

impl Tree {
    /// Asks git about the work tree at `root`.
    pub fn read(root: &Path) -> Self {
        let run = |args: &[&str]| -> Result<Vec<u8>, String> {
            let out = Command::new("git")
                .args(args)
                .current_dir(root)
                // A caller's GIT_DIR (a hook, a script) would point git at
                // another repository than the workspace.
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .env_remove("GIT_INDEX_FILE")
                .output()
                .map_err(|e| format!("running git {}: {e}", args.join(" ")))?;
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(format!(
                    "git {} failed ({}): {}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        let rev = match run(&["rev-parse", "--short", "HEAD"]) {
            Ok(rev) => String::from_utf8_lossy(&rev).trim().to_owned(),
            Err(why) => return Tree::Unknown { why },
        };
        match run(&["status", "--porcelain", "-z"]) {
            Ok(status) => Tree::from_status(rev, &status),
            Err(why) => Tree::Unknown { why },
        }
    }

    /// The tree described by `git status --porcelain -z` output, ignoring
    /// paths under [`RESULTS_DIR`].
    pub fn from_status(rev: String, porcelain_z: &[u8]) -> Self {
        let mut changes = Vec::new();
        let mut entries = porcelain_z
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .map(|e| String::from_utf8_lossy(e).into_owned());
        while let Some(entry) = entries.next() {
            // "XY path"; a rename or copy is followed by its source path
            // as an entry of its own.
            let (code, path) = entry.split_at(entry.len().min(3));
            let mut paths = vec![path.to_owned()];
            if code.starts_with(['R', 'C']) || code.get(1..2).is_some_and(|y| y == "R" || y == "C")
            {
                paths.extend(entries.next());
            }
            if paths.iter().any(|p| !in_results_dir(p)) {
                changes.push(entry.trim_end().to_owned());
            }
        }
        if changes.is_empty() {
            Tree::Clean { rev }
        } else {
            Tree::Dirty { rev, changes }
        }
    }

    /// The tree over a whole run, from its state before and after: dirty
    /// if either was, or if `HEAD` moved in between (the figures would
    /// then belong to neither commit for sure).
    pub fn over_run(before: &Tree, after: &Tree) -> Tree {
        match (before, after) {
            (Tree::Unknown { why }, _) | (_, Tree::Unknown { why }) => {
                Tree::Unknown { why: why.clone() }
            }
            (Tree::Clean { rev: a }, Tree::Clean { rev: b }) if a == b => before.clone(),
            _ => {
                let (rev, mut changes) = before.parts();
                let (rev_after, changes_after) = after.parts();
                if rev != rev_after {
                    changes.push(format!(
                        "HEAD moved from {rev} to {rev_after} during the run"
                    ));
                }
                for c in changes_after {
                    if !changes.contains(&c) {
                        changes.push(c);
                    }
                }
                Tree::Dirty { rev, changes }
            }
        }
    }

    /// The commit and the changes of a known tree.
    fn parts(&self) -> (String, Vec<String>) {
        match self {
            Tree::Clean { rev } => (rev.clone(), Vec::new()),
            Tree::Dirty { rev, changes } => (rev.clone(), changes.clone()),
            Tree::Unknown { .. } => ("unknown".to_owned(), Vec::new()),
        }
    }

    /// Whether git confirmed the tree clean.
    pub fn is_clean(&self) -> bool {
        matches!(self, Tree::Clean { .. })
    }

    /// The report's `git` field: the short hash, with `-dirty` when the
    /// tree was not confirmed clean; `unknown` when git failed.
    pub fn describe(&self) -> String {
        match self {
            Tree::Clean { rev } => rev.clone(),
            Tree::Dirty { rev, .. } => format!("{rev}-dirty"),
            Tree::Unknown { .. } => "unknown".to_owned(),
        }
    }

    /// The report's `dirty_changes` field: what made the tree dirty, or
    /// why its state is unknown.
    pub fn changes(&self) -> Vec<String> {
        match self {
            Tree::Clean { .. } => Vec::new(),
            Tree::Dirty { changes, .. } => changes.clone(),
            Tree::Unknown { why } => vec![format!("state unknown: {why}")],
        }
    }
}

/// Whether `path` (relative to the workspace root, as git prints it) is
/// under [`RESULTS_DIR`].
fn in_results_dir(path: &str) -> bool {
    Path::new(path).starts_with(RESULTS_DIR)
}

/// Whether a run writing to `out` records results: a full run (not
/// `--quick`) writing into the workspace's [`RESULTS_DIR`]. Smoke runs and
/// reports written elsewhere (`--out`) are not recorded.
pub fn is_recorded(out: &Path, root: &Path, quick: bool) -> bool {
    if quick {
        return false;
    }
    let dir = out.parent().unwrap_or(Path::new(""));
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| dir.to_path_buf(), |cwd| cwd.join(dir))
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let results = root.join(RESULTS_DIR);
    let results = std::fs::canonicalize(&results).unwrap_or(results);
    dir == results
}

/// Why a run may not record its results in `out`, or `None` when it may:
/// recorded results come only from a clean tree (a commit anyone can check
/// out and measure again), unless `allow_dirty` says otherwise.
pub fn refusal(tree: &Tree, recorded: bool, allow_dirty: bool, out: &Path) -> Option<String> {
    if !recorded || allow_dirty || tree.is_clean() {
        return None;
    }
    let state = match tree {
        Tree::Unknown { why } => format!("git cannot tell whether the work tree is clean ({why})"),
        _ => {
            let changes = tree.changes();
            const SHOWN: usize = 10;
            let mut listed = changes
                .iter()
                .take(SHOWN)
                .map(|c| format!("\n    {c}"))
                .collect::<String>();
            if changes.len() > SHOWN {
                listed.push_str(&format!("\n    ... and {} more", changes.len() - SHOWN));
            }
            format!(
                "the work tree has changes outside {RESULTS_DIR}/ (git status --porcelain):{listed}"
            )
        }
    };
    Some(format!(
        "refusing to record {}: {state}\n\
         Recorded figures must belong to a commit that can be checked out and measured again. \
         Commit the changes (or move them aside) and run again, or pass --allow-dirty to record \
         anyway (the report then says \"dirty\": true and lists the changes), or write the report \
         elsewhere with --out, or make a smoke run with --quick.",
        out.display()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Tree {
        Tree::Clean {
            rev: "abc1234".to_owned(),
        }
    }

    fn dirty() -> Tree {
        Tree::Dirty {
            rev: "abc1234".to_owned(),
            changes: vec![" M README.md".to_owned()],
        }
    }

    #[test]
    fn status_outside_the_results_is_dirty() {
        let rev = || "abc1234".to_owned();
        assert_eq!(Tree::from_status(rev(), b""), clean());
        assert_eq!(
            Tree::from_status(
                rev(),
                b" M bench-results/log.json\0?? bench-results/x.png\0"
            ),
            clean()
        );
        assert_eq!(Tree::from_status(rev(), b" M README.md\0"), dirty());
        let t = Tree::from_status(rev(), b"?? notes.txt\0 M bench-results/log.json\0");
        assert_eq!(t.changes(), ["?? notes.txt"]);
        // A path that only starts like the results directory is outside it.
        assert!(!Tree::from_status(rev(), b"?? bench-results-old/a\0").is_clean());
        // A rename names its source as an entry of its own: moving a file
        // into the results directory changes the tree.
        let t = Tree::from_status(rev(), b"R  bench-results/a.json\0src/a.rs\0");
        assert_eq!(t.changes(), ["R  bench-results/a.json"]);
        let t = Tree::from_status(rev(), b"R  bench-results/b.json\0bench-results/a.json\0");
        assert!(t.is_clean());
    }

    #[test]
    fn a_run_is_clean_only_when_both_checks_are() {
        let other = Tree::Clean {
            rev: "def5678".to_owned(),
        };
        assert_eq!(Tree::over_run(&clean(), &clean()), clean());
        assert!(!Tree::over_run(&clean(), &dirty()).is_clean());
        assert!(!Tree::over_run(&dirty(), &clean()).is_clean());
        let moved = Tree::over_run(&clean(), &other);
        assert_eq!(moved.describe(), "abc1234-dirty");
        assert_eq!(
            moved.changes(),
            ["HEAD moved from abc1234 to def5678 during the run"]
        );
        let unknown = Tree::Unknown {
            why: "no git".to_owned(),
        };
        assert_eq!(Tree::over_run(&clean(), &unknown).describe(), "unknown");
        assert!(!Tree::over_run(&unknown, &clean()).is_clean());
    }

    #[test]
    fn only_recorded_runs_from_unclean_trees_are_refused() {
        let out = Path::new("bench-results/log.json");
        let unknown = Tree::Unknown {
            why: "not a git checkout".to_owned(),
        };
        for (tree, recorded, allow, refused) in [
            (clean(), true, false, false),
            (dirty(), true, false, true),
            (unknown.clone(), true, false, true),
            (dirty(), true, true, false),
            (unknown, true, true, false),
            (dirty(), false, false, false),
        ] {
            let why = refusal(&tree, recorded, allow, out);
            assert_eq!(why.is_some(), refused, "{tree:?} {recorded} {allow}");
            if let Some(why) = why {
                assert!(why.contains("--allow-dirty"), "{why}");
                assert!(why.contains("bench-results/log.json"), "{why}");
            }
        }
        let why = refusal(&dirty(), true, false, out).unwrap_or_default();
        assert!(why.contains("README.md"), "{why}");
    }

    #[test]
    fn recorded_means_a_full_run_into_the_results_directory() {
        let root = tempfile::tempdir().expect("temp dir");
        let results = root.path().join(RESULTS_DIR);
        std::fs::create_dir(&results).expect("results dir");
        let file = results.join("log.json");
        assert!(is_recorded(&file, root.path(), false));
        assert!(!is_recorded(&file, root.path(), true));
        assert!(is_recorded(
            &root.path().join("bench-results/../bench-results/log.json"),
            root.path(),
            false
        ));
        assert!(!is_recorded(
            &root.path().join("elsewhere.json"),
            root.path(),
            false
        ));
    }

    /// Runs git in `dir` without the user's or the system's configuration.
    fn git(dir: &Path, args: &[&str]) -> bool {
        Command::new("git")
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[test]
    fn a_real_repository_is_read_clean_or_dirty() {
        let repo = tempfile::tempdir().expect("temp dir");
        let dir = repo.path();
        if !git(dir, &["init", "-q"]) {
            eprintln!("skipped: git is not available");
            return;
        }
        std::fs::create_dir(dir.join(RESULTS_DIR)).expect("results dir");
        std::fs::write(dir.join("lib.rs"), "fn main() {}\n").expect("write");
        std::fs::write(dir.join("bench-results/log.json"), "{}\n").expect("write");
        assert!(git(dir, &["add", "."]));
        assert!(git(dir, &["commit", "-q", "-m", "first"]));
        let tree = Tree::read(dir);
        assert!(tree.is_clean(), "{tree:?}");
        assert!(!tree.describe().ends_with("-dirty"));

        // New results do not dirty the tree.
        std::fs::write(dir.join("bench-results/log.json"), "{\"x\": 1}\n").expect("write");
        std::fs::write(dir.join("bench-results/new.json"), "{}\n").expect("write");
        assert!(Tree::read(dir).is_clean());

        // An untracked file, an edit, a staged edit: dirty.
        std::fs::write(dir.join("notes.txt"), "x\n").expect("write");
        let tree = Tree::read(dir);
        assert_eq!(tree.changes(), ["?? notes.txt"]);
        assert!(tree.describe().ends_with("-dirty"));
        std::fs::remove_file(dir.join("notes.txt")).expect("remove");
        std::fs::write(dir.join("lib.rs"), "fn main() { }\n").expect("write");
        assert_eq!(Tree::read(dir).changes(), [" M lib.rs"]);
        assert!(git(dir, &["add", "lib.rs"]));
        assert_eq!(Tree::read(dir).changes(), ["M  lib.rs"]);

        // Committed: clean again, at another commit.
        let first = tree.describe().trim_end_matches("-dirty").to_owned();
        assert!(git(dir, &["commit", "-q", "-m", "second"]));
        let second = Tree::read(dir);
        assert!(second.is_clean());
        assert_ne!(second.describe(), first);
        let over = Tree::over_run(&Tree::Clean { rev: first.clone() }, &second);
        assert!(!over.is_clean());

        // Not a repository at all: unknown, refused when recording.
        let plain = tempfile::tempdir().expect("temp dir");
        let tree = Tree::read(plain.path());
        assert!(matches!(tree, Tree::Unknown { .. }), "{tree:?}");
        assert!(refusal(&tree, true, false, Path::new("bench-results/x.json")).is_some());
    }
}
