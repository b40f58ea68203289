//! `mnemo import`: memories from a JSONL file or LoCoMo JSON, all or
//! nothing.
//!
//! The whole file is read and every record validated (JSON, fields, the
//! engine's limits) before anything is written. If any line is bad, every
//! bad line is reported with its line number and nothing is imported, so
//! running the command again after fixing the file cannot duplicate
//! anything. Valid files are written in batches (one log record each) with
//! a progress bar.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use mnemo::{Namespace, NewMemory};
use serde_json::json;

use crate::jsonl::{self, Limits};
use crate::locomo;
use crate::open::{self, Access, Global};
use crate::table;

/// Bad lines listed before the rest are only counted.
const MAX_REPORTED: usize = 20;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line (see `mnemo import --help`).
    Jsonl,
    /// LoCoMo conversations (a JSON array of objects with `conversation`).
    Locomo,
}

/// Arguments of `mnemo import`.
#[derive(Debug, Args)]
#[command(after_long_help = IMPORT_HELP)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    /// Its format [default: detected: a JSON array of objects with
    /// `conversation` is LoCoMo, anything else JSONL].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// LoCoMo: import only the first N conversations.
    #[arg(long, value_name = "N")]
    limit_conversations: Option<usize>,
    /// Memories written per batch (one log record each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
}

const IMPORT_HELP: &str = "\
JSONL: one object per line; blank lines are skipped.
  {\"content\": \"Alice moved to Lisbon\", \"tags\": [\"alice\"], \"source\": \"chat\",
   \"kind\": \"semantic\", \"key\": \"alice-home\", \"at\": \"2024-05-01T13:00:00Z\",
   \"importance\": 0.8, \"confidence\": 1.0, \"metadata\": {\"turn\": 3}}
Only \"content\" is required; \"at\" is RFC 3339 or Unix seconds; metadata values are
scalars; \"id\" (as written by export) is ignored: the namespace assigns ids. Any other
field is an error.

Bad input: the whole file is validated before anything is written. If any line is
bad (invalid UTF-8, invalid JSON, a missing or wrong field, a value out of range),
every bad line is reported with its line number and NOTHING is imported, so a re-run
after fixing the file cannot duplicate memories. Identical content already in the
namespace is not stored twice, and a record whose key exists updates that memory.

LoCoMo: each turn becomes a memory \"{speaker}: {text}\" with source = sample_id (so
a conversation's turns are temporal neighbours in recall), tags = [sample_id, session_N,
speaker], metadata dia_id, at = the session's date and time (UTC) and key
\"{sample_id}:{dia_id}\".";

/// What an import did.
#[derive(Debug, Clone, Copy)]
pub struct Imported {
    /// Records written.
    pub records: usize,
    /// Memories that are new.
    pub new: usize,
    /// How long writing took.
    pub took: Duration,
}

/// Runs `mnemo import`.
pub fn run(global: &Global, args: ImportArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let format = match args.format {
        Some(f) => f,
        None => detect(&bytes),
    };
    mnemo::validate_namespace(&global.namespace).map_err(open::explain)?;
    let limits = Limits::new(mnemo::Options::default().max_content_bytes);
    let (records, what) = match format {
        Format::Jsonl => {
            let records = read_jsonl(&args.file, &bytes, limits)?;
            let n = records.len();
            (records, format!("{n} JSONL records"))
        }
        Format::Locomo => {
            let (records, convs) = read_locomo(&args.file, &bytes, args.limit_conversations)?;
            let n = records.len();
            (
                records,
                format!("{n} turns of {convs} LoCoMo conversations"),
            )
        }
    };
    let opened = open::open(global, Access::Create)?;
    let batch = usize::try_from(args.batch).unwrap_or(1000);
    let done = write(&opened.ns, records, batch, "importing")?;
    if global.json {
        println!(
            "{}",
            json!({
                "file": args.file.display().to_string(),
                "format": match format { Format::Jsonl => "jsonl", Format::Locomo => "locomo" },
                "records": done.records,
                "new": done.new,
                "existing": done.records - done.new,
                "seconds": done.took.as_secs_f64(),
            })
        );
    } else {
        println!(
            "imported {what} from {} into namespace {}: {} new, {} already there, in {} ({:.0} records/s)",
            args.file.display(),
            opened.ns.name(),
            done.new,
            done.records - done.new,
            table::duration(done.took),
            done.records as f64 / done.took.as_secs_f64().max(1e-9),
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// JSON files whose first non-blank byte is `[` and that parse as LoCoMo
/// are LoCoMo; everything else is read as JSONL.
fn detect(bytes: &[u8]) -> Format {
    let first = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[')
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes)
        && locomo::looks_like(&json)
    {
        return Format::Locomo;
    }
    Format::Jsonl
}

/// Validates every line; returns the memories, or an error listing every
/// bad line.
pub fn read_jsonl(path: &Path, bytes: &[u8], limits: Limits) -> Result<Vec<NewMemory>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut records = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    let mut bad_count = 0usize;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let result = match std::str::from_utf8(raw) {
            Err(e) => Err(format!(
                "not valid UTF-8 (at byte {} of the line)",
                e.valid_up_to() + 1
            )),
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => jsonl::parse_line(line, limits),
        };
        match result {
            Ok(m) => records.push(m),
            Err(why) => {
                bad_count += 1;
                if bad.len() < MAX_REPORTED {
                    bad.push(format!("  line {line_no}: {why}"));
                }
            }
        }
    }
    if bad_count > 0 {
        let more = if bad_count > bad.len() {
            format!("\n  ... and {} more bad lines", bad_count - bad.len())
        } else {
            String::new()
        };
        bail!(
            "{} has {bad_count} bad {}; nothing was imported:\n{}{more}",
            path.display(),
            if bad_count == 1 { "line" } else { "lines" },
            bad.join("\n")
        );
    }
    if records.is_empty() {
        bail!("{} holds no records; nothing was imported", path.display());
    }
    Ok(records)
}

/// Reads LoCoMo conversations (the first `limit` of them); returns the
/// memories and the number of conversations.
fn read_locomo(path: &Path, bytes: &[u8], limit: Option<usize>) -> Result<(Vec<NewMemory>, usize)> {
    let mut convs = locomo::from_bytes(path, bytes)
        .map_err(|e| anyhow::anyhow!("{e:#}; nothing was imported"))?;
    if let Some(n) = limit {
        convs.truncate(n);
    }
    let records: Vec<NewMemory> = convs.iter().flat_map(locomo::memories).collect();
    Ok((records, convs.len()))
}

/// Writes `records` in batches of `batch` with a progress bar labelled
/// `label`.
pub fn write(
    ns: &Namespace,
    records: Vec<NewMemory>,
    batch: usize,
    label: &str,
) -> Result<Imported> {
    let total = records.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(open::style(label));
    let before = ns.stats().memories;
    let started = Instant::now();
    let mut written = 0usize;
    let mut records = records.into_iter();
    loop {
        let chunk: Vec<NewMemory> = records.by_ref().take(batch).collect();
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        if let Err(e) = ns.remember_batch(chunk) {
            bar.abandon();
            return Err(open::explain(e).context(format!(
                "the import stopped at record {} of {total}: the {written} records before it \
                 were imported (a re-run stores identical content and keys only once)",
                written + 1
            )));
        }
        written += n;
        bar.set_position(written as u64);
    }
    bar.finish_and_clear();
    let took = started.elapsed();
    let after = ns.stats().memories;
    Ok(Imported {
        records: total,
        new: after.saturating_sub(before),
        took,
    })
}
