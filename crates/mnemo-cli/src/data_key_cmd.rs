//! `mnemo data-key new`: a data key file for encryption at rest;
//! `mnemo data-key rotate`: re-wrap every namespace's keys under another
//! data key (the logs are not rewritten). How the key is given to the
//! other commands is in [`crate::open::Global::data_key`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use mnemo::{DataKey, Mnemo, Options};
use serde_json::json;

use crate::open::{self, Global};

/// `mnemo data-key ...`.
#[derive(Debug, Subcommand)]
pub enum DataKeyCommand {
    /// Write a new random data key to --out (mode 0600, never
    /// overwritten). Give it to mnemo with --key-file or
    /// MNEMO_DATA_KEY_FILE; without it the namespaces it encrypts are
    /// unreadable.
    New(NewArgs),
    /// Re-wrap the keys of every namespace in the data directory under
    /// the data key in --to, opening them with the current one (--key-file,
    /// MNEMO_DATA_KEY(_FILE), or each namespace's generated key). The logs
    /// are not rewritten; afterwards only the new key opens them.
    Rotate(RotateArgs),
}

/// `mnemo data-key new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to write the key.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `mnemo data-key rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The new data key's file (from `mnemo data-key new`).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

/// Runs `mnemo data-key ...`.
pub fn run(global: &Global, cmd: DataKeyCommand) -> Result<ExitCode> {
    match cmd {
        DataKeyCommand::New(args) => {
            if args.out.exists() {
                bail!(
                    "{} exists: mnemo never overwrites a key; choose another --out",
                    args.out.display()
                );
            }
            let key = DataKey::generate().map_err(open::explain)?;
            key.save_new(&args.out).map_err(|e| anyhow!(e))?;
            if global.json {
                println!(
                    "{}",
                    json!({"key_file": args.out.display().to_string(), "key_id": key.id().to_string()})
                );
            } else {
                println!(
                    "wrote data key {} to {} (keep it safe: without it the data it encrypts is unreadable)",
                    key.id(),
                    args.out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DataKeyCommand::Rotate(args) => {
            let new = DataKey::load(&args.to).map_err(|e| anyhow!(e))?;
            let data = global.data_dir();
            if !data.is_dir() {
                bail!("no data directory {}", data.display());
            }
            let mut options = Options::default();
            if let Some(key) = global.data_key()? {
                options.data_key = mnemo::DataKeySource::Given(key);
            }
            let mut mnemo = Mnemo::open_with(&data, options).map_err(open::explain)?;
            let rotated = mnemo
                .rotate_data_key(new.clone())
                .map_err(open::explain)
                .context("rotating the data key")?;
            mnemo.close().map_err(open::explain)?;
            if global.json {
                println!(
                    "{}",
                    json!({"rotated": rotated, "key_id": new.id().to_string()})
                );
            } else {
                println!(
                    "{} namespace(s) now under data key {}: {}",
                    rotated.len(),
                    new.id(),
                    rotated.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
