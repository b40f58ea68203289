//! `mnemo recall`: vector kNN, BM25 keywords and spreading activation over
//! the association graph, fused by weighted, scaled scores, with why each
//! memory was recalled (each signal's rank and score; with `--explain`,
//! each signal's share of the score and the activation path).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use clap::Args;
use mnemo::recall::{Explanation, Recall, RecallOptions};
use mnemo::{MemoryId, RecallHit, SignalHit};
use serde_json::{Value as Json, json};

use crate::jsonl;
use crate::open::{self, Access, Global};
use crate::query_cmd::Filters;
use crate::table::{self, Table};
use crate::time;

/// Arguments of `mnemo recall`.
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// What to recall (a question, a topic, a few words).
    text: String,
    /// How many memories to return.
    #[arg(short = 'k', long = "top", default_value_t = 5)]
    k: usize,
    /// Show each signal's share of every hit's score and the activation
    /// path that reached it.
    #[arg(long)]
    explain: bool,
    /// Do not spread activation (plain fusion of vector and keywords).
    #[arg(long)]
    no_spread: bool,
    /// Time budget in milliseconds: recall returns the best found by then.
    #[arg(long, value_name = "MS")]
    budget_ms: Option<f64>,
    /// Let a consolidated memory stand for its sources when both rank.
    #[arg(long)]
    prefer_consolidated: bool,
    /// Also search the cold tier by vector (reads its vectors from the
    /// log).
    #[arg(long)]
    scan_cold: bool,
    /// Keep the fused order of versions of one statement (by default a
    /// preference restated with a new value comes newest first).
    #[arg(long)]
    no_newest_first: bool,
    #[command(flatten)]
    filters: Filters,
}

/// Runs `mnemo recall`.
pub fn run(global: &Global, args: RecallArgs) -> Result<ExitCode> {
    let mut options = RecallOptions::k(args.k);
    options.filter = args.filters.to_query();
    options.explain = args.explain;
    options.spreading = !args.no_spread;
    options.prefer_consolidated = args.prefer_consolidated;
    options.scan_cold = args.scan_cold;
    options.newest_first = !args.no_newest_first;
    if let Some(ms) = args.budget_ms {
        let budget = Duration::try_from_secs_f64(ms / 1e3)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| anyhow!("--budget-ms {ms} is not a positive number"))?;
        options.budget = Some(budget);
    }
    let opened = open::open(global, Access::Embed)?;
    let started = Instant::now();
    let recall = opened
        .ns
        .recall_with(&args.text, &options)
        .map_err(open::explain)?;
    let took = started.elapsed();
    let strength = |id| opened.ns.strength(id);
    if global.json {
        println!("{}", recall_json(&recall, took, strength));
    } else {
        print_hits(&recall.hits, 60, strength);
        if args.explain {
            print_explanations(&recall.hits);
        }
        let n = recall.hits.len();
        println!(
            "{n} {} recalled in {} (embedding the query {}, candidates {}, spreading {}, fusion {}){}",
            if n == 1 { "memory" } else { "memories" },
            table::duration(took),
            table::duration(recall.timings.embed),
            table::duration(recall.timings.candidates),
            table::duration(recall.timings.spread),
            table::duration(recall.timings.fuse),
            if recall.complete {
                ""
            } else {
                "; the time budget ran out, so these are the best found by then"
            }
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn signal(s: Option<&SignalHit>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| format!("#{} {:.3}", s.rank, s.score))
}

/// Prints hits as a table: rank, id, fused score, vector, keyword and
/// activation rank/score, strength from use, tier, matched terms, content
/// (cut to `width`).
pub fn print_hits(hits: &[RecallHit], width: usize, strength: impl Fn(MemoryId) -> Option<f64>) {
    let mut t = Table::new(&[
        "rank",
        "id",
        "score",
        "vector",
        "keyword",
        "activation",
        "strength",
        "tier",
        "terms",
        "content",
    ])
    .right(&["rank", "id", "score", "strength"]);
    for (i, h) in hits.iter().enumerate() {
        t.row(vec![
            (i + 1).to_string(),
            h.memory.id.to_string(),
            format!("{:.4}", h.score),
            signal(h.vector.as_ref()),
            signal(h.keyword.as_ref()),
            signal(h.activation.as_ref()),
            strength(h.memory.id).map_or_else(|| "-".to_owned(), |s| format!("{s:.3}")),
            h.tier.as_str().to_owned(),
            table::truncate(&h.matched_terms.join(","), 24),
            table::truncate(&h.memory.content, width),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
}

/// An activation path as `12 -temporal-> 13 -vector-> 40` (the seed
/// first).
pub fn path_text(e: &Explanation) -> String {
    let mut out = String::new();
    for step in &e.path {
        if let Some(via) = step.via {
            out.push_str(&format!(" -{}-> ", via.name()));
        } else if !out.is_empty() {
            out.push_str(" -> ");
        }
        out.push_str(&step.id.to_string());
    }
    out
}

/// A score's parts as `vector 0.0164 + keyword 0.0159`.
pub fn contributions_text(e: &Explanation) -> String {
    if e.contributions.is_empty() {
        return "nothing".to_owned();
    }
    e.contributions
        .iter()
        .map(|(name, v)| format!("{name} {v:.4}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Prints, per hit, its score's parts and the activation path.
fn print_explanations(hits: &[RecallHit]) {
    if hits.is_empty() {
        return;
    }
    println!("\nwhy:");
    for (i, h) in hits.iter().enumerate() {
        let Some(e) = &h.explanation else { continue };
        println!(
            "  {:>2}. memory {}: {:.4} = {}",
            i + 1,
            h.memory.id,
            h.score,
            contributions_text(e)
        );
        let path = match e.path.len() {
            0 => "not reached by activation".to_owned(),
            1 => format!("{} (a seed)", path_text(e)),
            _ => path_text(e),
        };
        println!("      path: {path}");
    }
    println!();
}

fn signal_json(s: Option<&SignalHit>) -> Json {
    s.map_or(Json::Null, |s| json!({"rank": s.rank, "score": s.score}))
}

fn explanation_json(e: &Explanation) -> Json {
    let contributions: serde_json::Map<String, Json> = e
        .contributions
        .iter()
        .map(|(name, v)| ((*name).to_owned(), json!(v)))
        .collect();
    let path: Vec<Json> = e
        .path
        .iter()
        .map(|s| json!({"id": s.id.0, "via": s.via.map(|v| v.name())}))
        .collect();
    json!({"contributions": contributions, "path": path})
}

/// A recall as one JSON object: `{"took_us", "complete", "seeds",
/// "spread": {visits, hops, budget_exhausted, timed_out}, "time_hint",
/// "timings_us", "hits": [{rank, id, score, vector, keyword, activation,
/// matched_terms, explanation, memory}]}`.
pub fn recall_json(
    recall: &Recall,
    took: Duration,
    strength: impl Fn(MemoryId) -> Option<f64>,
) -> Json {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let hits: Vec<Json> = recall
        .hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({
                "rank": i + 1,
                "id": h.memory.id.0,
                "score": h.score,
                "vector": signal_json(h.vector.as_ref()),
                "keyword": signal_json(h.keyword.as_ref()),
                "activation": signal_json(h.activation.as_ref()),
                "matched_terms": h.matched_terms,
                "strength": strength(h.memory.id),
                "tier": h.tier.as_str(),
                "explanation": h.explanation.as_ref().map_or(Json::Null, explanation_json),
                "memory": jsonl::memory_to_json(&h.memory),
            })
        })
        .collect();
    let s = &recall.spread;
    let t = &recall.timings;
    json!({
        "took_us": us(took),
        "complete": recall.complete,
        "seeds": recall.seeds,
        "spread": {
            "visits": s.visits,
            "hops": s.hops,
            "budget_exhausted": s.budget_exhausted,
            "timed_out": s.timed_out,
        },
        "time_hint": recall.time_hint.as_ref().map(|r| json!({
            "from": r.from.map(time::format),
            "until": r.until.map(time::format),
        })),
        "timings_us": {
            "embed": us(t.embed),
            "candidates": us(t.candidates),
            "spread": us(t.spread),
            "fuse": us(t.fuse),
        },
        "hits": hits,
    })
}
