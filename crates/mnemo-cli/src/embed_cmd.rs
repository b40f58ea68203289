//! `mnemo embed`: embeds texts with the offline embedders and prints one JSON
//! line per text.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::embedder::{self, Choice};

/// Arguments of `mnemo embed` (the embedder is the global `--embedder`,
/// default `auto`).
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// The texts to embed.
    #[arg(required = true)]
    texts: Vec<String>,
}

/// Runs `mnemo embed` with the embedder `choice`.
pub fn run(args: EmbedArgs, choice: Option<Choice>) -> Result<ExitCode> {
    let embedder = embedder::load(choice.unwrap_or(Choice::Auto), false)?;
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_batch(&texts)?;
    let info = embedder.info();
    for (text, vector) in texts.iter().zip(vectors) {
        let line = serde_json::json!({
            "embedder": info.id,
            "dimension": info.dimension,
            "text": text,
            "vector": vector,
        });
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
