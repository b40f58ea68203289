//! `mnemo serve`: the HTTP API, `/mcp` and the explorer over a data
//! directory; `mnemo token create|list|revoke`: the bearer tokens of its
//! config file.
//!
//! The server listens on 127.0.0.1:7373 unless the config file says
//! otherwise (`listen`) or `--listen` does. Logs go to standard error
//! (`MNEMO_LOG=debug` for more, `--log-json` for JSON lines). SIGTERM or
//! Ctrl-C shuts it down gracefully: requests in flight finish, every log
//! is synced and snapshots are written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use mnemo::{Mnemo, Options, SyncPolicy};
use mnemo_server::auth::{Right, generate_token};
use mnemo_server::config::TokenEntry;
use mnemo_server::{Config, Server};

use crate::embedder::{self, Choice};
use crate::open::Global;

/// The config file used when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "./mnemo.toml";

/// When a write is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sync {
    /// Every acknowledged write is on disk (fdatasync, shared by
    /// concurrent writers).
    Always,
    /// Writes reach the disk within 100 ms; a power loss may lose the
    /// last ones (a crash of the process loses none).
    Interval,
    /// The operating system decides; closing syncs.
    Never,
}

/// `mnemo serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config file (TOML: listen, tls, limits, checkpoints, ingest,
    /// lifecycle, tokens) [default:
    /// ./mnemo.toml; a missing file means defaults and no tokens].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen here instead of the config's `listen`.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// When writes are durable.
    #[arg(long, value_enum, default_value = "always")]
    pub sync: Sync,
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

/// `mnemo token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token, add its hash to the config file and print it (once:
    /// only the hash is kept).
    Create(CreateArgs),
    /// List the tokens of the config file (names, namespaces, rights).
    List(ConfigArg),
    /// Remove a token from the config file (restart the server to apply).
    Revoke(RevokeArgs),
}

/// The config file argument.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file [default: ./mnemo.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `mnemo token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A name for the token (shown in logs and metrics; not secret).
    #[arg(long)]
    pub name: String,
    /// A namespace it may use; repeat for more; `*` for all.
    #[arg(long = "scope", value_name = "NAMESPACE", default_value = "*")]
    pub scopes: Vec<String>,
    /// What it may do: read, write (includes read) or admin (includes
    /// write).
    #[arg(long, value_enum, default_value = "write")]
    pub right: RightArg,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `mnemo token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's name.
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// A right, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RightArg {
    /// Get, list, query, recall, watch, stats, proofs, suggestions.
    Read,
    /// Everything read can, plus remember, revise, retag, forget, link,
    /// facts and trajectories.
    Write,
    /// Everything write can, plus creating namespaces and maintaining
    /// patterns.
    Admin,
}

impl RightArg {
    fn right(self) -> Right {
        match self {
            RightArg::Read => Right::Read,
            RightArg::Write => Right::Write,
            RightArg::Admin => Right::Admin,
        }
    }
}

fn config_path(arg: &Option<PathBuf>) -> PathBuf {
    arg.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

fn load(path: &Path) -> Result<Config> {
    Config::load(path).map_err(|e| anyhow!(e))
}

/// Runs `mnemo serve` until SIGTERM or Ctrl-C.
pub fn serve(global: &Global, args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_json);
    let path = config_path(&args.config);
    let mut config = load(&path)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if config.tokens.is_empty() {
        tracing::warn!(
            config = %path.display(),
            "no tokens: every API request will get 401; run `mnemo token create --name NAME --config {}`",
            path.display()
        );
    }
    let embedder = embedder::load(global.embedder.unwrap_or(Choice::Auto), false)?;
    let sync = match args.sync {
        Sync::Always => SyncPolicy::Always,
        Sync::Interval => SyncPolicy::Interval(std::time::Duration::from_millis(100)),
        Sync::Never => SyncPolicy::Never,
    };
    let data = global.data_dir();
    let options = Options::default()
        .embedder(Arc::clone(&embedder))
        .recorded_embedders(embedder::recorded_loader(Arc::clone(&embedder)))
        .sync(sync)
        .ingest(config.ingest.options(sync).map_err(anyhow::Error::msg)?);
    let options = config
        .lifecycle
        .apply(options)
        .map_err(anyhow::Error::msg)?;
    let mnemo =
        Mnemo::open_with(&data, global.with_data_key(options)?).map_err(crate::open::explain)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = Server::bind(config, mnemo).await?;
        let scheme = if server.is_tls() { "https" } else { "http" };
        let addr = server.local_addr();
        tracing::info!(
            data = %data.display(),
            embedder = %embedder.info().id,
            "mnemo serving {scheme}://{addr}/v1 (explorer: {scheme}://{addr}/explorer/, MCP: {scheme}://{addr}/mcp)"
        );
        server.run(mnemo_server::shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Logs to standard error; `MNEMO_LOG` sets the filter (default `info`).
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MNEMO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs `mnemo token ...`.
pub fn token(cmd: TokenCommand) -> Result<ExitCode> {
    match cmd {
        TokenCommand::Create(args) => {
            let path = config_path(&args.config.config);
            let mut config = load(&path)?;
            if config.tokens.iter().any(|t| t.name == args.name) {
                bail!(
                    "a token named {:?} is already in {} (revoke it first, or pick another name)",
                    args.name,
                    path.display()
                );
            }
            let token = generate_token();
            config.tokens.push(TokenEntry::new(
                args.name.clone(),
                &token,
                args.scopes.clone(),
                vec![args.right.right()],
            ));
            config.check().map_err(|e| anyhow!(e))?;
            config.save(&path).map_err(|e| anyhow!(e))?;
            println!("{token}");
            eprintln!(
                "token {:?} ({} on {}) added to {}; it is shown only now, keep it safe",
                args.name,
                args.right.right().as_str(),
                args.scopes.join(", "),
                path.display()
            );
        }
        TokenCommand::List(arg) => {
            let path = config_path(&arg.config);
            let config = load(&path)?;
            if config.tokens.is_empty() {
                eprintln!("no tokens in {}", path.display());
            }
            for t in &config.tokens {
                let rights: Vec<&str> = t.rights.iter().map(|r| r.as_str()).collect();
                println!(
                    "{}\t{}\t{}",
                    t.name,
                    rights.join(","),
                    t.namespaces.join(",")
                );
            }
        }
        TokenCommand::Revoke(args) => {
            let path = config_path(&args.config.config);
            let mut config = load(&path)?;
            let before = config.tokens.len();
            config.tokens.retain(|t| t.name != args.name);
            if config.tokens.len() == before {
                bail!("no token named {:?} in {}", args.name, path.display());
            }
            config.save(&path).map_err(|e| anyhow!(e))?;
            eprintln!(
                "token {:?} removed from {}; restart the server to apply",
                args.name,
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
