//! `consolidate` and `tiers`: the lifecycle jobs of a namespace.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mnemo::consolidation::ConsolidationParams;
use mnemo::{ConsolidateOptions, Query};
use serde_json::json;

use crate::open::{self, Access, Global};

/// Arguments of `mnemo consolidate`.
#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// Plan only: print the groups, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only memories with this tag (repeat: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Least cosine similarity to join a group, in [0, 1].
    #[arg(long)]
    similarity: Option<f32>,
    /// Fewest memories a group needs (at least 2).
    #[arg(long)]
    min_group: Option<usize>,
    /// Most recent memories considered.
    #[arg(long)]
    max_episodes: Option<usize>,
}

/// Runs `mnemo consolidate`: groups related episodic memories and writes a
/// semantic summary of each, linked `derived_from` to its sources.
pub fn consolidate(global: &Global, args: ConsolidateArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Embed)?;
    let mut options = ConsolidateOptions {
        dry_run: args.dry_run,
        filter: args
            .tags
            .iter()
            .fold(Query::new(), |q, t| q.tag(t.as_str())),
        ..ConsolidateOptions::default()
    };
    let defaults = ConsolidationParams::default();
    options.params = ConsolidationParams {
        similarity: args.similarity.unwrap_or(defaults.similarity),
        min_group: args.min_group.unwrap_or(defaults.min_group),
        ..defaults
    };
    if let Some(n) = args.max_episodes {
        options.max_episodes = n;
    }
    let done = opened.ns.consolidate(&options).map_err(open::explain)?;
    if global.json {
        let groups: Vec<_> = done
            .planned
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "id": done.created.get(i).map(|id| id.0),
                    "content": p.content,
                    "sources": p.sources.iter().map(|s| s.0).collect::<Vec<_>>(),
                    "entities": p.entities,
                    "dates": p.dates,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "considered": done.considered,
                "groups": groups,
                "created": done.created.iter().map(|id| id.0).collect::<Vec<_>>(),
                "deferred": done.deferred,
                "seq": done.seq,
                "dry_run": args.dry_run,
                "took_ms": done.took.as_secs_f64() * 1e3,
            })
        );
    } else {
        for (i, p) in done.planned.iter().enumerate() {
            let sources: Vec<String> = p.sources.iter().map(ToString::to_string).collect();
            match done.created.get(i) {
                Some(id) => println!("{id} <- {}", sources.join(", ")),
                None => println!("(dry run) <- {}", sources.join(", ")),
            }
            for line in p.content.lines() {
                println!("    {line}");
            }
        }
        eprintln!(
            "{} memories considered, {} groups, {} consolidated memories written{} in {:.1} ms",
            done.considered,
            done.planned.len(),
            done.created.len(),
            if done.deferred > 0 {
                format!(" ({} groups left for the next run)", done.deferred)
            } else {
                String::new()
            },
            done.took.as_secs_f64() * 1e3
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mnemo tiers`.
#[derive(Debug, Args)]
pub struct TiersArgs {
    /// Rebalance under this budget for the vectors kept in memory, in
    /// bytes (without it: show where the memories are).
    #[arg(long, value_name = "BYTES")]
    budget: Option<u64>,
}

/// Runs `mnemo tiers`: how many memories are hot, warm and cold, the
/// bytes their vectors take, and with `--budget` a rebalance under it.
pub fn tiers(global: &Global, args: TiersArgs) -> Result<ExitCode> {
    let opened = open::open_tuned(global, Access::Plain, |mut o| {
        o.max_resident_bytes = args.budget;
        o
    })?;
    let report = if args.budget.is_some() {
        opened.ns.rebalance_tiers().map_err(open::explain)?
    } else {
        opened.ns.tiers()
    };
    if global.json {
        println!(
            "{}",
            json!({
                "hot": report.hot,
                "warm": report.warm,
                "cold": report.cold,
                "moved": report.moved,
                "resident_bytes": report.resident_bytes,
                "budget": report.budget,
            })
        );
    } else {
        println!(
            "hot {}  warm {}  cold {}  resident {} bytes{}",
            report.hot,
            report.warm,
            report.cold,
            report.resident_bytes,
            match report.budget {
                Some(b) => format!(" (budget {b}, {} moved)", report.moved),
                None => String::new(),
            }
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
