//! `mnemo mcp`: serves the data directory to an MCP client (Claude Desktop,
//! an agent framework, the MCP inspector) on standard input and output,
//! until the client closes them.
//!
//! The client launches `mnemo mcp --data DIR` as a child process. The
//! namespace `--namespace` names is the tools' default (created if new,
//! with the embedder chosen as for `remember`); a tool call may name any
//! other namespace of the directory. Standard output carries MCP messages
//! only: warnings, replay progress and errors go to standard error.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::open::{self, Access, Global};

/// Opens the engine as `remember` does and serves MCP on standard input
/// and output until the client closes them; then closes the engine
/// (snapshots written, logs synced).
pub fn run(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Create)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let namespace = opened.ns.name().to_owned();
    // The engine keeps the namespace open; the server reaches it by name.
    drop(opened.ns);
    let served = runtime.block_on(mnemo_server::mcp::serve_stdio(opened.mnemo, namespace));
    // The engine is closed by now; a read of a standard input that is not
    // a pipe may still be parked on the blocking pool: do not wait for it.
    runtime.shutdown_background();
    served?;
    Ok(ExitCode::SUCCESS)
}
