//! Procedural memory on the command line: `mnemo trajectory add` records
//! how a task went, `mnemo suggest` recommends an executor for a new task
//! from the patterns learned so far, and `mnemo patterns ...` lists and
//! maintains those patterns (prune, consolidate, refine).
//!
//! A task is given as text (embedded with the namespace's embedder) or as
//! its vector (`--vector "0.1,0.2,..."`, of the namespace's dimension).

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use mnemo::patterns::{Pattern, PatternId, PrunePolicy, Suggest};
use mnemo::{NewTrajectory, Timestamp};
use serde_json::{Value as Json, json};

use crate::fact_cmd::{self, check_unit};
use crate::open::{self, Access, Global};
use crate::table::{self, Table};
use crate::time;

/// The `mnemo trajectory` commands.
#[derive(Debug, Subcommand)]
pub enum TrajectoryCommand {
    /// Record how a task went; prints the trajectory's id and the pattern
    /// it joined or started.
    Add(TrajectoryArgs),
}

/// A task's embedding given on the command line.
#[derive(Debug, Clone)]
pub struct TaskVector(Vec<f32>);

/// Parses `0.1,0.2,...` (spaces allowed) into a vector of finite numbers.
fn parse_vector(s: &str) -> Result<TaskVector, String> {
    let mut out = Vec::new();
    for (i, part) in s.split(',').enumerate() {
        let part = part.trim();
        let x: f32 = part
            .parse()
            .map_err(|_| format!("component {} ({part:?}) is not a number", i + 1))?;
        if !x.is_finite() {
            return Err(format!("component {} ({part}) is not finite", i + 1));
        }
        out.push(x);
    }
    Ok(TaskVector(out))
}

/// Arguments of `mnemo trajectory add`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["task", "vector"])))]
#[command(group(ArgGroup::new("outcome").required(true).args(["success", "failure"])))]
pub struct TrajectoryArgs {
    /// Who or what carried the task out (a model, a tool, a strategy).
    #[arg(long)]
    executor: String,
    /// The task's text (embedded with the namespace's embedder).
    #[arg(long, value_name = "TEXT")]
    task: Option<String>,
    /// The task's embedding: comma-separated numbers, as many as the
    /// namespace's dimension.
    #[arg(long, value_parser = parse_vector, value_name = "X,Y,...", allow_hyphen_values = true)]
    vector: Option<TaskVector>,
    /// It succeeded.
    #[arg(long)]
    success: bool,
    /// It failed.
    #[arg(long)]
    failure: bool,
    /// Graded outcome in [0, 1] [default: 1 on success, 0 on failure].
    #[arg(long)]
    score: Option<f32>,
    /// How long it took, in milliseconds.
    #[arg(long, default_value_t = 0.0, value_name = "MS")]
    latency_ms: f32,
    /// What it cost (in any unit, the same every time).
    #[arg(long, default_value_t = 0.0)]
    cost: f32,
    /// A tag (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// When it happened (RFC 3339 or Unix seconds) [default: now].
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    at: Option<Timestamp>,
}

/// Arguments of `mnemo suggest`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["task", "vector"])))]
pub struct SuggestArgs {
    /// The task to find an executor for.
    task: Option<String>,
    /// The task as its embedding instead of text (comma-separated).
    #[arg(long, value_parser = parse_vector, value_name = "X,Y,...", allow_hyphen_values = true)]
    vector: Option<TaskVector>,
    /// How many patterns to rank.
    #[arg(short = 'k', long = "top", default_value_t = 5)]
    k: usize,
}

/// Arguments of `mnemo patterns`.
#[derive(Debug, Args)]
pub struct PatternsArgs {
    #[command(subcommand)]
    command: Option<PatternsCommand>,
}

/// The `mnemo patterns` commands (`list` when none is given).
#[derive(Debug, Subcommand)]
pub enum PatternsCommand {
    /// Every pattern with its statistics.
    List,
    /// Remove the patterns (and their trajectories) that any given
    /// condition names.
    Prune(PruneArgs),
    /// Merge patterns whose centroids have become near-duplicates.
    Consolidate(ConsolidateArgs),
    /// Re-cluster all trajectories now (deterministic k-means++).
    Refine,
}

/// Arguments of `mnemo patterns prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Prune patterns whose quality is below this, in [0, 1].
    #[arg(long)]
    min_quality: Option<f32>,
    /// Prune patterns with fewer trajectories than this.
    #[arg(long)]
    min_count: Option<u64>,
    /// Prune patterns not used since this time (RFC 3339 or Unix seconds).
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    unused_since: Option<Timestamp>,
}

/// Arguments of `mnemo patterns consolidate`.
#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// Centroid cosine at or above which two patterns merge, in [-1, 1]
    /// [default: the namespace's, 0.95].
    #[arg(long, allow_hyphen_values = true)]
    threshold: Option<f32>,
}

/// Runs `mnemo trajectory add`.
pub fn trajectory(global: &Global, cmd: TrajectoryCommand) -> Result<ExitCode> {
    let TrajectoryCommand::Add(args) = cmd;
    if let Some(score) = args.score {
        check_unit("--score", score)?;
    }
    for (flag, x) in [("--latency-ms", args.latency_ms), ("--cost", args.cost)] {
        if !x.is_finite() || x < 0.0 {
            bail!("{flag} {x} is not a number >= 0");
        }
    }
    // Text is embedded: load the namespace's embedder (creating the
    // namespace if needed). A vector needs no model.
    let opened = if args.task.is_some() {
        open::open(global, Access::Create)?
    } else {
        fact_cmd::open_for_write(global)?
    };
    let mut t = match (args.task, args.vector) {
        (Some(task), _) => NewTrajectory::new(task, &args.executor, args.success),
        (None, Some(TaskVector(v))) => NewTrajectory::from_vector(v, &args.executor, args.success),
        (None, None) => bail!("give the task as --task TEXT or --vector X,Y,..."),
    };
    t = t.latency_cost(args.latency_ms, args.cost).tags(args.tags);
    t.score = args.score;
    t.at = args.at;
    let recorded = opened.ns.record_trajectory(t).map_err(open::explain)?;
    if global.json {
        println!(
            "{}",
            json!({"trajectory": recorded.trajectory.0, "pattern": recorded.pattern.0,
                   "new_pattern": recorded.new_pattern, "refined": recorded.refined,
                   "seq": recorded.seq})
        );
    } else {
        println!(
            "trajectory {} {} pattern {} (log seq {})",
            recorded.trajectory,
            if recorded.new_pattern {
                "started"
            } else {
                "joined"
            },
            recorded.pattern,
            recorded.seq
        );
        if recorded.refined {
            println!(
                "  the patterns were refined ({} now)",
                opened.ns.patterns().len()
            );
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `mnemo suggest`.
pub fn suggest(global: &Global, args: SuggestArgs) -> Result<ExitCode> {
    let opened = match &args.task {
        Some(_) => open::open(global, Access::Embed)?,
        None => open::open(global, Access::Plain)?,
    };
    let found = match (&args.task, &args.vector) {
        (Some(task), _) => opened.ns.suggest(task, args.k),
        (None, Some(TaskVector(v))) => opened.ns.suggest_vector(v, args.k),
        (None, None) => bail!("give the task as text or --vector X,Y,..."),
    }
    .map_err(open::explain)?;
    if global.json {
        println!("{}", suggest_json(args.task.as_deref(), &found));
    } else {
        print_suggest(&found);
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn ids<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn suggest_json(task: Option<&str>, s: &Suggest) -> Json {
    let suggestions: Vec<Json> = s
        .suggestions
        .iter()
        .map(|x| {
            json!({
                "pattern": x.pattern.0,
                "similarity": x.similarity,
                "quality": x.quality,
                "score": x.score,
                "count": x.count,
                "executor": x.executor,
                "executor_success_rate": x.executor_success_rate,
                "evidence": x.evidence.iter().map(|t| t.0).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "task": task,
        "executor": s.executor,
        "confidence": s.confidence,
        "suggestions": suggestions,
    })
}

fn print_suggest(s: &Suggest) {
    let mut t = Table::new(&[
        "pattern",
        "similarity",
        "quality",
        "score",
        "count",
        "executor",
        "success",
        "evidence",
    ])
    .right(&[
        "pattern",
        "similarity",
        "quality",
        "score",
        "count",
        "success",
    ]);
    for x in &s.suggestions {
        t.row(vec![
            x.pattern.to_string(),
            format!("{:.3}", x.similarity),
            format!("{:.3}", x.quality),
            format!("{:.3}", x.score),
            x.count.to_string(),
            x.executor.clone().unwrap_or_default(),
            format!("{:.2}", x.executor_success_rate),
            format!("trajectories {}", ids(&x.evidence)),
        ]);
    }
    t.print();
    match &s.executor {
        Some(e) => println!("recommended executor: {e} (confidence {:.2})", s.confidence),
        None => println!(
            "no recommendation: no pattern has evidence for this task yet \
             (`mnemo trajectory add` records some)"
        ),
    }
}

/// Runs a `mnemo patterns` command (`list` when none is given).
pub fn patterns(global: &Global, args: PatternsArgs) -> Result<ExitCode> {
    match args.command.unwrap_or(PatternsCommand::List) {
        PatternsCommand::List => list(global),
        PatternsCommand::Prune(args) => prune(global, args),
        PatternsCommand::Consolidate(args) => consolidate(global, args),
        PatternsCommand::Refine => refine(global),
    }
}

/// The JSON form of a pattern (without its centroid, which only the
/// engine reads).
fn pattern_json(p: &Pattern) -> Json {
    let executors: Vec<Json> = p
        .executors
        .iter()
        .map(|e| {
            json!({
                "executor": e.executor,
                "count": e.count,
                "successes": e.successes,
                "smoothed_success": e.smoothed_success(),
                "mean_score": e.mean_score,
                "mean_latency_ms": e.mean_latency_ms,
                "mean_cost": e.mean_cost,
            })
        })
        .collect();
    json!({
        "id": p.id.0,
        "count": p.count,
        "success_rate": p.success_rate,
        "mean_score": p.mean_score,
        "mean_latency_ms": p.mean_latency_ms,
        "mean_cost": p.mean_cost,
        "quality": p.quality,
        "best_executor": p.best_executor,
        "executors": executors,
        "last_used": time::format(p.last_used),
        "created_seq": p.created_seq,
        "dimension": p.centroid.len(),
    })
}

fn list(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let patterns = opened.ns.patterns();
    if global.json {
        let all: Vec<Json> = patterns.iter().map(pattern_json).collect();
        println!("{}", json!({"count": patterns.len(), "patterns": all}));
    } else {
        let mut t = Table::new(&[
            "id",
            "count",
            "success",
            "quality",
            "best executor",
            "executors (successes/count)",
            "latency ms",
            "cost",
            "last used",
        ])
        .right(&["id", "count", "success", "quality", "latency ms", "cost"]);
        for p in &patterns {
            let executors: Vec<String> = p
                .executors
                .iter()
                .map(|e| format!("{} {}/{}", e.executor, e.successes, e.count))
                .collect();
            t.row(vec![
                p.id.to_string(),
                p.count.to_string(),
                format!("{:.2}", p.success_rate),
                format!("{:.3}", p.quality),
                p.best_executor.clone().unwrap_or_default(),
                table::truncate(&executors.join(", "), 50),
                format!("{:.1}", p.mean_latency_ms),
                format!("{:.3}", p.mean_cost),
                time::format_short(p.last_used),
            ]);
        }
        t.print();
        let trajectories: u64 = patterns.iter().map(|p| p.count).sum();
        println!(
            "{} {} over {trajectories} {}",
            patterns.len(),
            if patterns.len() == 1 {
                "pattern"
            } else {
                "patterns"
            },
            if trajectories == 1 {
                "trajectory"
            } else {
                "trajectories"
            }
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn prune(global: &Global, args: PruneArgs) -> Result<ExitCode> {
    if args.min_quality.is_none() && args.min_count.is_none() && args.unused_since.is_none() {
        bail!(
            "name what to prune: --min-quality X, --min-count N or --unused-since TIME \
             (a pattern is pruned when any of them holds)"
        );
    }
    if let Some(q) = args.min_quality {
        check_unit("--min-quality", q)?;
    }
    let opened = open::open(global, Access::Plain)?;
    let policy = PrunePolicy {
        min_quality: args.min_quality,
        min_count: args.min_count,
        unused_since: args.unused_since,
    };
    let pruned = opened.ns.prune_patterns(&policy).map_err(open::explain)?;
    let left = opened.ns.patterns().len();
    if global.json {
        println!(
            "{}",
            json!({"pruned": pruned.iter().map(|p| p.0).collect::<Vec<_>>(), "patterns": left})
        );
    } else if pruned.is_empty() {
        println!("no pattern matched; {left} patterns kept");
    } else {
        println!(
            "pruned {} {} ({}); {left} left",
            pruned.len(),
            if pruned.len() == 1 {
                "pattern"
            } else {
                "patterns"
            },
            ids(&pruned)
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn consolidate(global: &Global, args: ConsolidateArgs) -> Result<ExitCode> {
    if let Some(x) = args.threshold
        && !(-1.0..=1.0).contains(&x)
    {
        bail!("--threshold {x} is not a cosine in [-1, 1]");
    }
    let opened = open::open(global, Access::Plain)?;
    let merges: Vec<(PatternId, PatternId)> = opened
        .ns
        .consolidate_patterns(args.threshold)
        .map_err(open::explain)?;
    let left = opened.ns.patterns().len();
    if global.json {
        let merges: Vec<Json> = merges
            .iter()
            .map(|(kept, absorbed)| json!({"kept": kept.0, "absorbed": absorbed.0}))
            .collect();
        println!("{}", json!({"merges": merges, "patterns": left}));
    } else if merges.is_empty() {
        println!("no patterns close enough to merge; {left} patterns");
    } else {
        for (kept, absorbed) in &merges {
            println!("pattern {absorbed} merged into pattern {kept}");
        }
        println!("{left} patterns left");
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn refine(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let before = opened.ns.patterns().len();
    let seq = opened.ns.refine_patterns().map_err(open::explain)?;
    let after = opened.ns.patterns().len();
    if global.json {
        println!(
            "{}",
            json!({"seq": seq, "patterns_before": before, "patterns_after": after})
        );
    } else {
        println!("refined the patterns (log seq {seq}): {before} before, {after} after");
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
