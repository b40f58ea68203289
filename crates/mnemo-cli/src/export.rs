//! `mnemo export`: every memory as JSONL (the fields `import` reads, plus
//! `id`), in id order. Links are not exported.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use mnemo::Query;
use serde_json::json;

use crate::jsonl;
use crate::open::{self, Access, Global};

/// Arguments of `mnemo export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of standard output (written to a
    /// temporary file first and renamed, so a failed export leaves no
    /// partial file).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `mnemo export`.
pub fn run(global: &Global, args: ExportArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let memories = opened.ns.query(&Query::new());
    let write_all = |out: &mut dyn Write| -> std::io::Result<()> {
        for m in &memories {
            serde_json::to_writer(&mut *out, &jsonl::memory_to_json(m))?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    match &args.out {
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            write_all(&mut out).context("writing to standard output")?;
        }
        Some(path) => {
            let tmp = path.with_extension("jsonl.tmp");
            let written = (|| -> std::io::Result<()> {
                let file = std::fs::File::create(&tmp)?;
                let mut out = BufWriter::new(file);
                write_all(&mut out)?;
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, path)
            })();
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("writing {}", path.display()));
            }
            if global.json {
                println!(
                    "{}",
                    json!({"file": path.display().to_string(), "memories": memories.len()})
                );
            } else {
                println!(
                    "exported {} memories of namespace {} to {}",
                    memories.len(),
                    opened.ns.name(),
                    path.display()
                );
            }
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
