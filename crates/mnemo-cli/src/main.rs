//! `mnemo`: the mnemo command line.
//!
//! For now it inspects and demonstrates the event log (`mnemo log ...`) and
//! embeds text offline (`mnemo embed ...`).

mod embed_cmd;
mod log_cmd;

use clap::{Parser, Subcommand};

/// mnemo: a memory engine for AI agents.
#[derive(Debug, Parser)]
#[command(name = "mnemo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, verify and demonstrate event logs.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// Embed texts (all-MiniLM-L6-v2 if present, else feature hashing) and
    /// print one JSON line per text.
    Embed(embed_cmd::EmbedArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Log(cmd) => log_cmd::run(cmd),
        Command::Embed(args) => embed_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
