//! `mnemo watch`: a query's current result, then each change to it as it
//! happens, until Ctrl-C or `--for SECONDS`.
//!
//! The namespace's log admits one process at a time, so only writes made
//! by this process could reach the watcher; on its own, `watch` shows the
//! current result and waits. It exists to show the watcher API at work
//! (see `mnemo demo` for writes that watchers see).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use mnemo::WatchEvent;
use serde_json::json;

use crate::jsonl;
use crate::open::{self, Access, Global};
use crate::query_cmd::{self, Filters};

/// Arguments of `mnemo watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    filters: Filters,
    /// Stop after this many seconds [default: run until Ctrl-C].
    #[arg(long = "for", value_name = "SECONDS")]
    seconds: Option<f64>,
}

/// Runs `mnemo watch`.
pub fn run(global: &Global, args: WatchArgs) -> Result<ExitCode> {
    let deadline = match args.seconds {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            anyhow::bail!("--for needs a number of seconds, not {s}")
        }
        Some(s) => Some(Instant::now() + Duration::from_secs_f64(s.min(1e9))),
        None => None,
    };
    let opened = open::open(global, Access::Plain)?;
    let mut watch = opened
        .ns
        .watch(args.filters.to_query())
        .map_err(open::explain)?;
    // The current result is queued when the watch starts: print it even
    // when the time is already up.
    if let Some(current) = watch.try_recv() {
        print_event(&current, global.json);
    }
    loop {
        let event = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                watch.recv_timeout(left)
            }
            None => watch.recv(),
        };
        match event {
            Some(e) => print_event(&e, global.json),
            // The time is up, or the namespace closed.
            None => break,
        }
    }
    drop(watch);
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints one watch event: a table or a line per change, or one JSON line.
pub fn print_event(event: &WatchEvent, json: bool) {
    if json {
        let line = match event {
            WatchEvent::Current(ms) => json!({
                "event": "current",
                "memories": ms.iter().map(|m| jsonl::memory_to_json(m)).collect::<Vec<_>>(),
            }),
            WatchEvent::Added(m) => json!({"event": "added", "memory": jsonl::memory_to_json(m)}),
            WatchEvent::Changed(m) => {
                json!({"event": "changed", "memory": jsonl::memory_to_json(m)})
            }
            WatchEvent::Removed(id) => json!({"event": "removed", "id": id.0}),
            WatchEvent::Lagged => json!({"event": "lagged"}),
        };
        println!("{line}");
        return;
    }
    match event {
        WatchEvent::Current(ms) => {
            println!("current result: {} memories", ms.len());
            query_cmd::print_memories(ms);
        }
        WatchEvent::Added(m) => println!("+ added   {}: {}", m.id, m.content),
        WatchEvent::Changed(m) => println!("~ changed {}: {}", m.id, m.content),
        WatchEvent::Removed(id) => println!("- removed {id}"),
        WatchEvent::Lagged => println!("! fell behind; the current result follows"),
    }
}
