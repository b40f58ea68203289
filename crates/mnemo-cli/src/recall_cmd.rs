//! `mnemo recall`: hybrid recall (vector kNN and BM25 keywords fused by
//! reciprocal rank), with why each memory was recalled.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use mnemo::{Query, RecallHit, SignalHit};
use serde_json::{Value as Json, json};

use crate::jsonl;
use crate::open::{self, Access, Global};
use crate::query_cmd::Filters;
use crate::table::{self, Table};

/// Arguments of `mnemo recall`.
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// What to recall (a question, a topic, a few words).
    text: String,
    /// How many memories to return.
    #[arg(short = 'k', long = "top", default_value_t = 5)]
    k: usize,
    #[command(flatten)]
    filters: Filters,
}

/// Runs `mnemo recall`.
pub fn run(global: &Global, args: RecallArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Embed)?;
    let query: Query = args.filters.to_query();
    let started = Instant::now();
    let hits = opened
        .ns
        .recall(&args.text, args.k, &query)
        .map_err(open::explain)?;
    let took = started.elapsed();
    if global.json {
        println!("{}", hits_json(&hits, took));
    } else {
        print_hits(&hits, 60);
        println!(
            "{} {} recalled in {} (embedding the query included)",
            hits.len(),
            if hits.len() == 1 {
                "memory"
            } else {
                "memories"
            },
            table::duration(took)
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn signal(s: Option<&SignalHit>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| format!("#{} {:.3}", s.rank, s.score))
}

/// Prints hits as a table: rank, id, fused score, vector rank/score,
/// keyword rank/score, matched terms, content (cut to `width`).
pub fn print_hits(hits: &[RecallHit], width: usize) {
    let mut t = Table::new(&[
        "rank", "id", "score", "vector", "keyword", "terms", "content",
    ])
    .right(&["rank", "id", "score"]);
    for (i, h) in hits.iter().enumerate() {
        t.row(vec![
            (i + 1).to_string(),
            h.memory.id.to_string(),
            format!("{:.4}", h.score),
            signal(h.vector.as_ref()),
            signal(h.keyword.as_ref()),
            table::truncate(&h.matched_terms.join(","), 24),
            table::truncate(&h.memory.content, width),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
}

fn signal_json(s: Option<&SignalHit>) -> Json {
    s.map_or(Json::Null, |s| json!({"rank": s.rank, "score": s.score}))
}

/// Hits as one JSON object: `{"took_us": .., "hits": [{rank, score,
/// vector, keyword, matched_terms, memory}]}`.
pub fn hits_json(hits: &[RecallHit], took: Duration) -> Json {
    let hits: Vec<Json> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({
                "rank": i + 1,
                "id": h.memory.id.0,
                "score": h.score,
                "vector": signal_json(h.vector.as_ref()),
                "keyword": signal_json(h.keyword.as_ref()),
                "matched_terms": h.matched_terms,
                "memory": jsonl::memory_to_json(&h.memory),
            })
        })
        .collect();
    json!({"took_us": took.as_secs_f64() * 1e6, "hits": hits})
}
