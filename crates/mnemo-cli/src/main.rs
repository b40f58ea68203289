//! `mnemo`: the mnemo command line.
//!
//! The engine commands (`remember`, `recall`, `query`, `get`, `forget`,
//! `link`, `import`, `export`, `stats`, `verify`, `prove`, `watch`, `demo`), the
//! fact commands (`fact ...`, `conflicts`, `resolve`) and the procedural
//! memory commands (`trajectory add`, `suggest`, `patterns ...`) work on
//! one namespace (`--namespace`, default `default`) of a data directory
//! (`--data`, default `./mnemo-data`); `mnemo eval locomo FILE` measures
//! recall on LoCoMo conversations (hit@k, recall@k, latency), one namespace
//! per conversation; `mnemo log ...` inspects raw event logs and
//! `mnemo embed ...` embeds text offline.
//!
//! Each command opens the namespace (restoring its newest snapshot and
//! replaying the rest of its log, with a progress bar when that takes a
//! while), does its work and closes it (writing a snapshot if events were
//! replayed or written). Output is an aligned table for people, or JSON
//! with `--json`. Errors are one plain sentence on standard error and exit
//! code 2; `verify` exits 1 when a check fails, `prove` when the proof or
//! its checkpoint does not hold, and `eval` when a result
//! falls below the floor it was given (`--min-hit5`).
//!
//! ## Modules
//!
//! - `open`: the shared options and opening a namespace; `embedder`:
//!   choosing the embedder (or reusing the namespace's own).
//! - one module per command (`memory_cmd` holds the one-memory commands,
//!   `eval_cmd` the benchmarks, `fact_cmd` and `conflict_cmd` the facts,
//!   `pattern_cmd` trajectories and patterns, `verify_server` the checks of
//!   `verify --server`), with `jsonl` (the JSON form of a memory),
//!   `locomo` (the LoCoMo format), `time` (RFC 3339) and `table` (aligned
//!   output) beside them.

mod conflict_cmd;
mod data_key_cmd;
mod demo;
mod embed_cmd;
mod embedder;
mod eval_cmd;
mod events_cmd;
mod export;
mod fact_cmd;
mod fetch_model;
mod import;
mod jsonl;
mod key_cmd;
mod lifecycle_cmd;
mod locomo;
mod log_cmd;
mod mcp_cmd;
mod memory_cmd;
mod open;
mod pattern_cmd;
mod prove_cmd;
mod query_cmd;
mod recall_cmd;
mod serve_cmd;
mod stats_cmd;
mod table;
mod time;
mod verify_cmd;
mod verify_server;
mod watch_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mnemo: a memory engine for AI agents.
#[derive(Debug, Parser)]
#[command(name = "mnemo", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: open::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the engine at work: import a conversation, recall, query,
    /// watch, stats, a Merkle proof, with timings.
    Demo(demo::DemoArgs),
    /// Remember a text; prints its id.
    Remember(memory_cmd::RememberArgs),
    /// Recall what is relevant to a text, with why each memory matched.
    Recall(recall_cmd::RecallArgs),
    /// List memories by tags, source, kind, text and time.
    Query(query_cmd::QueryArgs),
    /// Show one memory and its links.
    Get(memory_cmd::GetArgs),
    /// Record a use of memories now, which raises their strength.
    Touch(memory_cmd::TouchArgs),
    /// Expire every memory past its deadline now (erased as forget
    /// erases); prints their ids.
    Expire,
    /// Forget a memory.
    Forget(memory_cmd::ForgetArgs),
    /// Summarise groups of related episodic memories into semantic ones
    /// linked `derived_from` to their sources.
    Consolidate(lifecycle_cmd::ConsolidateArgs),
    /// Where the memories' vectors are (hot, warm, cold); with --budget,
    /// rebalance under that many bytes.
    Tiers(lifecycle_cmd::TiersArgs),
    /// Link two memories.
    Link(memory_cmd::LinkArgs),
    /// Import memories from JSONL or LoCoMo JSON (all or nothing).
    Import(import::ImportArgs),
    /// Export every memory as JSONL.
    Export(export::ExportArgs),
    /// Assert facts, list them, show a fact's history with proofs, and
    /// challenge, support, retract or quarantine one.
    #[command(subcommand)]
    Fact(fact_cmd::FactCommand),
    /// Contradictions between facts (open ones; all with --all).
    Conflicts(conflict_cmd::ConflictsArgs),
    /// Settle a conflict: the facts accepted and deprecated, and why.
    Resolve(conflict_cmd::ResolveArgs),
    /// Record how a task went (`mnemo trajectory add`).
    #[command(subcommand)]
    Trajectory(pattern_cmd::TrajectoryCommand),
    /// Recommend an executor for a task from the learned patterns.
    Suggest(pattern_cmd::SuggestArgs),
    /// List the learned patterns, or prune, consolidate or refine them.
    Patterns(pattern_cmd::PatternsArgs),
    /// Counts, sizes and the Merkle root.
    Stats,
    /// Check the log's checksums, the Merkle root and the snapshot; with
    /// --checkpoint and --key, also that the log only grew since a signed
    /// checkpoint; with --server too, that a server's log did instead.
    Verify(verify_cmd::VerifyArgs),
    /// Prove that a memory's event is in the log: a Merkle inclusion
    /// proof against the current root or, with --checkpoint and --key,
    /// against a signed checkpoint's root.
    Prove(prove_cmd::ProveArgs),
    /// Create checkpoint signing keys (Ed25519 + ML-DSA).
    #[command(subcommand)]
    Key(key_cmd::KeyCommand),
    /// Create a data key for encryption at rest, or rotate the data
    /// directory to another one.
    #[command(subcommand)]
    DataKey(data_key_cmd::DataKeyCommand),
    /// Forget and erase every memory with a tag, from a source, or all.
    Purge(memory_cmd::PurgeArgs),
    /// Print the namespace's log head (size and Merkle root) as a C2SP
    /// checkpoint signed with Ed25519 and ML-DSA.
    Checkpoint(key_cmd::CheckpointArgs),
    /// Print a query's result, then each change as it happens.
    Watch(watch_cmd::WatchArgs),
    /// Raw events: ingest JSON lines, tail the stream, its counters.
    #[command(subcommand)]
    Events(events_cmd::EventsCommand),
    /// Measure recall quality and latency on a benchmark
    /// (`mnemo eval locomo FILE`).
    #[command(subcommand)]
    Eval(eval_cmd::EvalCommand),
    /// Inspect, verify and demonstrate raw event logs.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// Embed texts (all-MiniLM-L6-v2 if present, else feature hashing) and
    /// print one JSON line per text.
    Embed(embed_cmd::EmbedArgs),
    /// Serve the data directory over HTTP: the API under /v1, MCP at /mcp,
    /// the explorer at /explorer/, metrics at /metrics.
    Serve(serve_cmd::ServeArgs),
    /// Create, list or revoke the server's bearer tokens.
    #[command(subcommand)]
    Token(serve_cmd::TokenCommand),
    /// Serve MCP (Model Context Protocol) on standard input and output,
    /// for an agent host that launches mnemo as a tool server.
    Mcp,
}

fn main() -> ExitCode {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal has no
    // preconditions. Rust ignores SIGPIPE, so printing into a closed pipe
    // (`mnemo query | head`) would panic; like other Unix tools, mnemo
    // should simply stop.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: nothing has started a thread yet (this is the first
        // statement), so no one reads the environment concurrently. candle
        // splits every matrix product across this many threads; MiniLm runs
        // its sub-batches on its own worker per core, which is faster (see
        // mnemo-embed's minilm module).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    let cli = Cli::parse();
    let g = &cli.global;
    let result = match cli.command {
        Command::Demo(args) => demo::run(g, args),
        Command::Remember(args) => memory_cmd::remember(g, args),
        Command::Recall(args) => recall_cmd::run(g, args),
        Command::Query(args) => query_cmd::run(g, args),
        Command::Get(args) => memory_cmd::get(g, args),
        Command::Forget(args) => memory_cmd::forget(g, args),
        Command::Link(args) => memory_cmd::link(g, args),
        Command::Import(args) => import::run(g, args),
        Command::Export(args) => export::run(g, args),
        Command::Fact(cmd) => fact_cmd::run(g, cmd),
        Command::Conflicts(args) => conflict_cmd::list(g, args),
        Command::Resolve(args) => conflict_cmd::resolve(g, args),
        Command::Trajectory(cmd) => pattern_cmd::trajectory(g, cmd),
        Command::Suggest(args) => pattern_cmd::suggest(g, args),
        Command::Patterns(args) => pattern_cmd::patterns(g, args),
        Command::Stats => stats_cmd::run(g),
        Command::Verify(args) => verify_cmd::run(g, args),
        Command::Prove(args) => prove_cmd::run(g, args),
        Command::Key(cmd) => key_cmd::key(cmd, g.json),
        Command::DataKey(cmd) => data_key_cmd::run(g, cmd),
        Command::Purge(args) => memory_cmd::purge(g, args),
        Command::Checkpoint(args) => key_cmd::checkpoint(g, args),
        Command::Watch(args) => watch_cmd::run(g, args),
        Command::Touch(args) => memory_cmd::touch(g, args),
        Command::Consolidate(args) => lifecycle_cmd::consolidate(g, args),
        Command::Tiers(args) => lifecycle_cmd::tiers(g, args),
        Command::Expire => memory_cmd::expire(g),
        Command::Events(cmd) => events_cmd::run(g, cmd),
        Command::Eval(cmd) => eval_cmd::run(g, cmd),
        Command::Log(cmd) => log_cmd::run(cmd, g.json),
        Command::Embed(args) => embed_cmd::run(args, g.embedder),
        Command::Serve(args) => serve_cmd::serve(g, args),
        Command::Token(cmd) => serve_cmd::token(cmd),
        Command::Mcp => mcp_cmd::run(g),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", plain(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, leaving out a cause whose words
/// its parent already says (the engine's errors quote their sources).
fn plain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
