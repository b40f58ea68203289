//! `mnemo events`: the namespace's raw-event stream from the command line.
//!
//! - `mnemo events ingest [FILE]` reads JSON lines (the HTTP API's form:
//!   `{"type": ..., "producer": ..., "at": ..., "payload": {...}}` or
//!   `"data": "..."`), from FILE or standard input, and ingests them in
//!   batches; each batch is durable before the next is read. A bad line
//!   stops the command, naming it; the batches before it stay.
//! - `mnemo events tail` prints events as JSON lines: from the start of
//!   every shard, from `--from S0,S1,...`, or from where the consumer
//!   `--consumer NAME` left off (its cursor is committed after printing,
//!   so the next run goes on from there). `--follow` keeps waiting for
//!   more (events ingested by this process; a server's data directory is
//!   locked while the server runs).
//! - `mnemo events stats` prints the stream's counters per shard and the
//!   promotion folder's progress.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mnemo_server::events_json::{EventOut, ingest_lines, stats_of};

use crate::open::{self, Access, Global};
use crate::table::Table;

/// Events ingested per batch (one group commit each).
const INGEST_BATCH: usize = 10_000;

/// `mnemo events ...`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Ingest raw events from JSON lines (a file, or standard input).
    Ingest(IngestArgs),
    /// Print raw events as JSON lines.
    Tail(TailArgs),
    /// The stream's counters and the promotion folder's progress.
    Stats,
}

/// Arguments of `mnemo events ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// JSON lines of events [default: standard input].
    file: Option<PathBuf>,
}

/// Arguments of `mnemo events tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The next seq to read in each shard, comma-separated.
    #[arg(long, value_name = "S0,S1,...", conflicts_with = "consumer")]
    from: Option<String>,
    /// Read as this named consumer and commit its cursor after printing.
    #[arg(long, value_name = "NAME")]
    consumer: Option<String>,
    /// Print at most this many events.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// Keep waiting for new events until Ctrl-C.
    #[arg(long)]
    follow: bool,
}

/// Runs `mnemo events ...`.
pub fn run(global: &Global, command: EventsCommand) -> Result<ExitCode> {
    match command {
        EventsCommand::Ingest(args) => ingest(global, args),
        EventsCommand::Tail(args) => tail(global, args),
        EventsCommand::Stats => stats(global),
    }
}

fn ingest(global: &Global, args: IngestArgs) -> Result<ExitCode> {
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin())),
    };
    let opened = open::open(global, Access::Create)?;
    let mut accepted = 0usize;
    let mut dropped = 0usize;
    let mut batch = Vec::new();
    let mut first_line = 1usize;
    let mut line_no = 0usize;
    let mut flush = |batch: &mut Vec<u8>, first_line: usize| -> Result<()> {
        let done = ingest_lines(&opened.ns, batch, first_line, INGEST_BATCH)
            .map_err(|e| anyhow::anyhow!("{}", e.body().error.message))?;
        accepted += done.accepted;
        dropped += done.dropped;
        batch.clear();
        Ok(())
    };
    let mut lines_in_batch = 0;
    for line in input.split(b'\n') {
        let line = line.context("cannot read the input")?;
        line_no += 1;
        batch.extend_from_slice(&line);
        batch.push(b'\n');
        lines_in_batch += 1;
        if lines_in_batch == INGEST_BATCH {
            if let Err(e) = flush(&mut batch, first_line) {
                bail!("{e} ({accepted} events before it were ingested)");
            }
            first_line = line_no + 1;
            lines_in_batch = 0;
        }
    }
    if let Err(e) = flush(&mut batch, first_line) {
        bail!("{e} ({accepted} events before it were ingested)");
    }
    if global.json {
        println!(
            "{}",
            serde_json::json!({"accepted": accepted, "dropped": dropped})
        );
    } else {
        println!("ingested {accepted} events ({dropped} dropped by backpressure)");
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn tail(global: &Global, args: TailArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let stream = opened.ns.events().map_err(open::explain)?;
    let mut reader = match (&args.consumer, &args.from) {
        (Some(name), _) => stream.consumer(name)?,
        (None, Some(from)) => {
            let cursors: Vec<u64> = from
                .split(',')
                .map(|s| s.trim().parse::<u64>())
                .collect::<Result<_, _>>()
                .context("--from takes comma-separated seqs, one per shard")?;
            stream.reader(&cursors)?
        }
        (None, None) => stream.reader(&[])?,
    };
    let mut left = args.max.unwrap_or(usize::MAX);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut quiet_since = Instant::now();
    while left > 0 {
        let wait = if args.follow {
            Duration::from_millis(500)
        } else {
            Duration::ZERO
        };
        let poll = reader.poll(left.min(1024), wait)?;
        for missed in &poll.missed {
            eprintln!(
                "shard {}: {} events were removed by retention before they were read",
                missed.shard, missed.records
            );
        }
        if poll.events.is_empty() {
            if !args.follow {
                break;
            }
            if quiet_since.elapsed() > Duration::from_secs(1) {
                out.flush()?;
            }
            continue;
        }
        quiet_since = Instant::now();
        for event in &poll.events {
            serde_json::to_writer(&mut out, &EventOut::of(event))?;
            out.write_all(b"\n")?;
        }
        left = left.saturating_sub(poll.events.len());
        out.flush()?;
        if args.consumer.is_some() {
            reader.commit()?;
        }
    }
    drop(stream);
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn stats(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    // Opening the stream shows what is on disk even before any ingest.
    opened.ns.events().map_err(open::explain)?;
    let stats = stats_of(&opened.ns);
    if global.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        let mut t = Table::new(&[
            "shard",
            "log records",
            "queued",
            "capacity",
            "dropped",
            "blocked",
        ]);
        for s in &stats.shards {
            t.row(vec![
                s.shard.to_string(),
                s.log_records.to_string(),
                s.queued.to_string(),
                s.capacity.to_string(),
                (s.dropped_newest + s.dropped_oldest + s.sampled_out + s.rejected).to_string(),
                s.blocked.to_string(),
            ]);
        }
        t.print();
        println!(
            "backpressure {}; promoted {}, unmatched {}, rejected {}, promotion lag {}",
            stats.backpressure.as_deref().unwrap_or("-"),
            stats.promoted,
            stats.unmatched,
            stats.rejected,
            stats.promotion_lag
        );
        if let Some(error) = &stats.last_error {
            println!("last promotion error: {error}");
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
