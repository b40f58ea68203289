//! `mnemo stats`: counts, sizes and the Merkle root of a namespace.

use std::process::ExitCode;

use anyhow::Result;
use mnemo::Namespace;
use serde_json::{Value as Json, json};

use crate::open::{self, Access, Global};
use crate::table::{self, Table};

/// Runs `mnemo stats`.
pub fn run(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    if global.json {
        println!("{}", stats_json(&opened.ns)?);
    } else {
        stats_table(&opened.ns)?.print();
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// The namespace's stats and Merkle root as one JSON object.
pub fn stats_json(ns: &Namespace) -> Result<Json> {
    let s = ns.stats();
    let (root, size) = ns.root().map_err(open::explain)?;
    Ok(json!({
        "namespace": s.namespace,
        "memories": s.memories,
        "links": s.links,
        "facts": s.facts,
        "open_conflicts": s.open_conflicts,
        "patterns": s.patterns,
        "trajectories": s.trajectories,
        "tags": s.tags,
        "sources": s.sources,
        "vectors": s.vectors,
        "vectors_pending": s.vectors_pending,
        "events": s.events,
        "log_bytes": s.log_bytes,
        "vector_index_bytes": s.vector_index_bytes,
        "text_index_bytes": s.text_index_bytes,
        "snapshot_seq": s.snapshot_seq,
        "embedder": s.embedder.id,
        "dimension": s.embedder.dimension,
        "merkle_root": table::hex(&root),
        "merkle_tree_size": size,
    }))
}

/// The namespace's stats and Merkle root as a table.
pub fn stats_table(ns: &Namespace) -> Result<Table> {
    let s = ns.stats();
    let (root, size) = ns.root().map_err(open::explain)?;
    let mut t = Table::new(&["namespace", &s.namespace]);
    let mut put = |k: &str, v: String| t.row(vec![k.to_owned(), v]);
    put("memories", s.memories.to_string());
    put("links", s.links.to_string());
    put(
        "facts",
        format!("{} ({} open conflicts)", s.facts, s.open_conflicts),
    );
    put(
        "patterns",
        format!("{} ({} trajectories)", s.patterns, s.trajectories),
    );
    put("tags", s.tags.to_string());
    put("sources", s.sources.to_string());
    put(
        "vectors",
        format!(
            "{} ({} pending for the graph)",
            s.vectors, s.vectors_pending
        ),
    );
    put("events", s.events.to_string());
    put("log", table::bytes(s.log_bytes));
    put(
        "indices",
        format!(
            "{} vector, {} text",
            table::bytes(s.vector_index_bytes as u64),
            table::bytes(s.text_index_bytes as u64)
        ),
    );
    put(
        "snapshot",
        s.snapshot_seq
            .map_or_else(|| "none".to_owned(), |seq| format!("at seq {seq}")),
    );
    put(
        "embedder",
        format!("{} (dimension {})", s.embedder.id, s.embedder.dimension),
    );
    put(
        "merkle root",
        format!("{} ({size} events)", table::hex(&root)),
    );
    Ok(t)
}
