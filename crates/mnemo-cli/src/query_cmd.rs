//! `mnemo query`: memories by tags, source, kind, text and time, from the
//! namespace's indices. Its filters are shared with `watch`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use mnemo::{Memory, OrderBy, Query, Timestamp};
use serde_json::json;

use crate::jsonl;
use crate::open::{self, Access, Global};
use crate::table::{self, Table};
use crate::time;

/// What results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// The event time `at`.
    At,
    /// When the namespace recorded it.
    Recorded,
    /// Importance.
    Importance,
    /// The id (the order of writing).
    Id,
}

/// The filters of `query` and `watch` (every one given must hold).
#[derive(Debug, Clone, Args)]
pub struct Filters {
    /// Must have this tag (repeat: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Must have at least one of these tags (repeat).
    #[arg(long = "any-tag", value_name = "TAG")]
    pub any_tags: Vec<String>,
    /// Must not have this tag (repeat).
    #[arg(long = "without-tag", value_name = "TAG")]
    pub without_tags: Vec<String>,
    /// Must come from this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Must be of this kind (episodic, semantic, procedural).
    #[arg(long, value_parser = jsonl::parse_kind)]
    pub kind: Option<mnemo::Kind>,
    /// Content contains this text (ignoring case).
    #[arg(long, value_name = "TEXT")]
    pub contains: Option<String>,
    /// Happened at or after this time (RFC 3339 or Unix seconds).
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    pub since: Option<Timestamp>,
    /// Happened before this time (RFC 3339 or Unix seconds).
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    pub until: Option<Timestamp>,
    /// Metadata field equals a value, name=value (repeat).
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = jsonl::parse_meta_arg)]
    pub meta: Vec<(String, mnemo::Value)>,
}

impl Filters {
    /// The engine query these filters make.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        q.tags_all.clone_from(&self.tags);
        q.tags_any.clone_from(&self.any_tags);
        q.tags_none.clone_from(&self.without_tags);
        q.source.clone_from(&self.source);
        q.kind = self.kind;
        q.content_contains.clone_from(&self.contains);
        if self.since.is_some() || self.until.is_some() {
            q = q.at_between(self.since, self.until);
        }
        q.metadata.clone_from(&self.meta);
        q
    }
}

/// Arguments of `mnemo query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    filters: Filters,
    /// Order of the results.
    #[arg(long, value_enum, default_value = "id")]
    order: Order,
    /// Descending order.
    #[arg(long)]
    desc: bool,
    /// At most this many results.
    #[arg(long)]
    limit: Option<usize>,
    /// Skip this many results first.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print only how many memories match the filters.
    #[arg(long)]
    count: bool,
}

/// Runs `mnemo query`.
pub fn run(global: &Global, args: QueryArgs) -> Result<ExitCode> {
    if let (Some(since), Some(until)) = (args.filters.since, args.filters.until)
        && since >= until
    {
        bail!(
            "--since {} is not before --until {}",
            time::format(since),
            time::format(until)
        );
    }
    let opened = open::open(global, Access::Plain)?;
    let mut q = args.filters.to_query().order_by(match args.order {
        Order::At => OrderBy::At,
        Order::Recorded => OrderBy::Recorded,
        Order::Importance => OrderBy::Importance,
        Order::Id => OrderBy::Id,
    });
    if args.desc {
        q = q.descending();
    }
    q = q.offset(args.offset);
    if let Some(n) = args.limit {
        q = q.limit(n);
    }
    let started = Instant::now();
    if args.count {
        let n = opened.ns.count(&q);
        let took = started.elapsed();
        if global.json {
            println!(
                "{}",
                json!({"count": n, "took_us": took.as_secs_f64() * 1e6})
            );
        } else {
            println!("{n}");
        }
    } else {
        let found = opened.ns.query(&q);
        let took = started.elapsed();
        if global.json {
            let memories: Vec<_> = found.iter().map(|m| jsonl::memory_to_json(m)).collect();
            println!(
                "{}",
                json!({"count": found.len(), "took_us": took.as_secs_f64() * 1e6,
                       "memories": memories})
            );
        } else {
            print_memories(&found);
            println!(
                "{} {} in {}",
                found.len(),
                if found.len() == 1 {
                    "memory"
                } else {
                    "memories"
                },
                table::duration(took)
            );
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints memories as a table: id, time, kind, source, tags, content.
pub fn print_memories<M: AsRef<Memory>>(memories: &[M]) {
    memories_table(memories).print();
}

/// Memories as a table: id, time, kind, source, tags, content (empty when
/// there are none: no header either).
pub fn memories_table<M: AsRef<Memory>>(memories: &[M]) -> Table {
    let mut t = Table::new(&["id", "at", "kind", "source", "tags", "content"]).right(&["id"]);
    for m in memories {
        let m = m.as_ref();
        t.row(vec![
            m.id.to_string(),
            time::format_short(m.at),
            m.kind.to_string(),
            m.source.clone().unwrap_or_default(),
            table::truncate(&m.tags.join(","), 30),
            table::truncate(&m.content, 70),
        ]);
    }
    t
}
