//! `mnemo log ...`: verify, stats, dump and demo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use mnemo_log::{Config, Log, SyncPolicy, verify, verify_inclusion};

use crate::table::hex;

/// Subcommands of `mnemo log`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check every segment and record checksum without changing anything.
    /// Exits 0 if the log is intact, 1 if it has a torn tail that opening
    /// would cut, 2 if it is corrupt.
    Verify {
        /// Log directory.
        dir: PathBuf,
    },
    /// Show record counts, sizes, seq range and the Merkle root.
    Stats {
        /// Log directory.
        dir: PathBuf,
    },
    /// Print records, one per line: seq, timestamp, length and payload
    /// (as text when it is UTF-8, otherwise hex).
    Dump {
        /// Log directory.
        dir: PathBuf,
        /// First seq to print.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Maximum number of records to print.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Show the log at work: append events durably and in bulk, prove one,
    /// crash-recover the directory and report the speed.
    Demo {
        /// Directory to use (default: a fresh temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Number of events to append in bulk.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
}

/// Runs a `mnemo log` subcommand (`json`: the global `--json`, honoured by
/// `verify` and `stats`).
pub fn run(cmd: LogCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        LogCommand::Verify { dir } => verify_cmd(&dir, json),
        LogCommand::Stats { dir } => stats_cmd(&dir, json),
        LogCommand::Dump { dir, from, limit } => dump_cmd(&dir, from, limit),
        LogCommand::Demo { dir, events } => demo_cmd(dir, events),
    }
}

fn verify_cmd(dir: &PathBuf, json: bool) -> Result<ExitCode> {
    match verify(dir, &Config::default()) {
        Ok(report) => {
            if json {
                let value = serde_json::json!({
                    "ok": true,
                    "segments": report.segments,
                    "records": report.records,
                    "first_seq": report.first_seq,
                    "last_seq": report.last_seq,
                    "bytes": report.bytes,
                    "truncated_bytes": report.truncated_bytes,
                    "truncated_segment": report.truncated_segment,
                    "truncated_at": report.truncated_at,
                    "removed_files": report.removed_files,
                });
                println!("{value}");
            } else {
                println!(
                    "{}: {} records in {} segments ({} bytes), seq {}..{}",
                    dir.display(),
                    report.records,
                    report.segments,
                    report.bytes,
                    report.first_seq,
                    report.last_seq.map_or(report.first_seq, |s| s + 1),
                );
                if report.truncated_bytes > 0 {
                    println!(
                        "torn tail: {} bytes at offset {} of {} would be cut on open",
                        report.truncated_bytes,
                        report.truncated_at.unwrap_or(0),
                        report.truncated_segment.as_deref().unwrap_or("?"),
                    );
                }
                for name in &report.removed_files {
                    println!("would remove leftover file {name}");
                }
                if report.truncated_bytes == 0 && report.removed_files.is_empty() {
                    println!("ok: every record checksum verified");
                }
            }
            Ok(
                if report.truncated_bytes > 0 || !report.removed_files.is_empty() {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "error": e.to_string()})
                );
            } else {
                println!("CORRUPT: {e}");
            }
            Ok(ExitCode::from(2))
        }
    }
}

fn stats_cmd(dir: &PathBuf, json: bool) -> Result<ExitCode> {
    let log = Log::open_read_only(dir, Config::default())
        .with_context(|| format!("opening {}", dir.display()))?;
    let stats = log.stats();
    let (root, size) = log.root()?;
    if json {
        let value = serde_json::json!({
            "first_seq": stats.first_seq,
            "next_seq": stats.next_seq,
            "records": stats.records,
            "segments": stats.segments,
            "bytes": stats.bytes,
            "last_timestamp_nanos": stats.last_timestamp,
            "merkle_root": hex(&root),
            "tree_size": size,
        });
        println!("{value}");
    } else {
        println!("directory     {}", dir.display());
        println!(
            "records       {} (seq {}..{})",
            stats.records, stats.first_seq, stats.next_seq
        );
        println!("segments      {}", stats.segments);
        println!("bytes         {}", stats.bytes);
        println!("last append   {} ns since epoch", stats.last_timestamp);
        println!("merkle root   {} (tree size {size})", hex(&root));
    }
    Ok(ExitCode::SUCCESS)
}

fn dump_cmd(dir: &PathBuf, from: u64, limit: u64) -> Result<ExitCode> {
    let log = Log::open_read_only(dir, Config::default())
        .with_context(|| format!("opening {}", dir.display()))?;
    if from < log.first_seq() {
        eprintln!(
            "note: records before seq {} were removed by retention",
            log.first_seq()
        );
    }
    for record in log
        .iter_from(from)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let payload = match std::str::from_utf8(record.payload()) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("0x{}", hex(record.payload())),
        };
        println!(
            "{}\t{}\t{}\t{}",
            record.seq(),
            record.timestamp_nanos(),
            record.len(),
            payload
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn demo_cmd(dir: Option<PathBuf>, events: u64) -> Result<ExitCode> {
    let temp;
    let dir = match dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    println!("mnemo log demo in {}", dir.display());

    let durable = Log::open(&dir, Config::default().sync(SyncPolicy::Always))?;
    let started = Instant::now();
    let durable_count = 200u64;
    for i in 0..durable_count {
        durable.append(format!(r#"{{"kind":"remember","agent":"demo","n":{i}}}"#).as_bytes())?;
    }
    let elapsed = started.elapsed();
    println!(
        "{durable_count} durable appends (fdatasync before each returns): {:.1} µs each",
        elapsed.as_secs_f64() * 1e6 / durable_count as f64
    );
    durable.close()?;

    let log = Log::open(&dir, Config::default())?;
    let payload = [b'x'; 64];
    let started = Instant::now();
    let mut remaining = events;
    while remaining > 0 {
        let n = remaining.min(256);
        log.append_batch((0..n).map(|_| &payload[..]))?;
        remaining -= n;
    }
    log.sync()?;
    let elapsed = started.elapsed();
    println!(
        "{events} bulk appends of 64 B, then one sync: {:.1} ns each ({:.1} M records/s)",
        elapsed.as_secs_f64() * 1e9 / events.max(1) as f64,
        events as f64 / elapsed.as_secs_f64() / 1e6
    );

    let started = Instant::now();
    let (root, size) = log.root()?;
    println!(
        "merkle root over {size} records: {} ({:.2} s to hash)",
        hex(&root),
        started.elapsed().as_secs_f64()
    );
    let seq = 42.min(size.saturating_sub(1));
    let record = log.read(seq).context("record 42")?;
    let proof = log.inclusion_proof(seq, size)?;
    verify_inclusion(record.frame(), &proof, &root)?;
    println!(
        "record {seq} ({:?}) proven with {} hashes",
        String::from_utf8_lossy(record.payload()),
        proof.path.len()
    );
    drop(log);

    let started = Instant::now();
    let log = Log::open(&dir, Config::default())?;
    let report = log.recovery_report();
    println!(
        "reopened and verified {} records in {} segments in {:.1} ms",
        report.records,
        report.segments,
        started.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "inspect it with: mnemo log stats {0} / mnemo log dump {0}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
