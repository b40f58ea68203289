//! `mnemo mcp` driven by the official MCP Python SDK (`mcp` 2.3.0, installed
//! once into `target/mcp-venv`) over standard input and output, as an agent
//! host launches it: the tools are listed and described, remembered texts
//! are recalled first, and the memories are in the data directory after the
//! client leaves (the engine closed cleanly).

mod common;

#[path = "../../mnemo-server/tests/mcp/venv.rs"]
mod venv;

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn python_sdk_over_stdio() {
    let data = tempfile::tempdir().expect("temp dir");
    venv::run_client(&[
        OsStr::new("stdio"),
        OsStr::new(env!("CARGO_BIN_EXE_mnemo")),
        data.path().as_os_str(),
    ]);
    let stats = common::json(data.path(), &["stats"]);
    assert_eq!(
        stats["memories"], 4,
        "two memories per connection mode: {stats}"
    );
}

#[test]
fn a_client_that_leaves_at_once_ends_the_server_cleanly() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data.path())
        .args(["--embedder", "hash", "mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mnemo mcp");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait for mnemo mcp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "stdout carries MCP messages only");
}

#[test]
fn standard_output_carries_only_mcp_messages() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data.path())
        .args(["--embedder", "hash", "--namespace", "notes", "mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mnemo mcp");
    let requests = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"remember","arguments":{"content":"the spare key is under the blue pot"}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"forget","arguments":{"id":99}}}"#,
    ];
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for line in requests {
            writeln!(stdin, "{line}").expect("write a request");
        }
    }
    let out = child.wait_with_output().expect("wait for mnemo mcp");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON-RPC: {e}: {l}")))
        .collect();
    assert_eq!(answers.len(), 3, "{stdout}");
    // Requests are answered concurrently: find each answer by its id.
    let answer = |id: u64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer to request {id}: {stdout}"))
    };
    assert_eq!(answer(1)["result"]["serverInfo"]["name"], "mnemo");
    let remembered = answer(2)["result"]["content"][0]["text"]
        .as_str()
        .expect("text");
    assert!(
        remembered.contains("\"namespace\":\"notes\""),
        "{remembered}"
    );
    assert_eq!(answer(3)["result"]["isError"], true);
    let stats = common::json(data.path(), &["--namespace", "notes", "stats"]);
    assert_eq!(stats["memories"], 1, "{stats}");
}
