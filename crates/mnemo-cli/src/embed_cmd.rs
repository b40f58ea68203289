//! `mnemo embed`: embeds texts with the offline embedders and prints one JSON
//! line per text.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use mnemo_embed::{Embedder, Fallback, HashEmbedder, MiniLm, load_default};

/// Which embedder `mnemo embed` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// all-MiniLM-L6-v2 if its files are found, else the hash embedder.
    Auto,
    /// all-MiniLM-L6-v2, or an error that says where it was looked for.
    Minilm,
    /// The model-free hash embedder.
    Hash,
}

/// Arguments of `mnemo embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// The texts to embed.
    #[arg(required = true)]
    texts: Vec<String>,
    /// Which embedder to use.
    #[arg(long, value_enum, default_value = "auto")]
    embedder: Choice,
}

/// Runs `mnemo embed`.
pub fn run(args: EmbedArgs) -> Result<ExitCode> {
    let embedder: Box<dyn Embedder> = match args.embedder {
        Choice::Hash => Box::new(HashEmbedder::new()),
        Choice::Minilm => Box::new(MiniLm::load_default()?),
        Choice::Auto => {
            let e = load_default(Fallback::AllowHash)?;
            if e.info().id == HashEmbedder::new().info().id {
                eprintln!(
                    "note: all-MiniLM-L6-v2 not found (run scripts/fetch-model or set \
                     MNEMO_MODEL_DIR); using the hash embedder"
                );
            }
            e
        }
    };
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
