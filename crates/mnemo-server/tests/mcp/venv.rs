//! The official MCP Python SDK for the real-client tests: a virtual
//! environment under the target directory (`target/mcp-venv`) holding the
//! pinned `mcp` package, created by the first test that needs it and reused
//! after, and `client.py` run in it with a time limit.
//!
//! Shared by `mnemo-server/tests/mcp.rs` (HTTP) and `mnemo-cli/tests/mcp.rs`
//! (standard input and output, where the `mnemo` binary is built).

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The SDK release the tests pin.
pub const MCP_SDK: &str = "mcp==2.3.0";

/// The longest one run of `client.py` may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);

/// The target directory: the test binary is `target/<profile>/deps/<name>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("the test binary lies in target/<profile>/deps")
}

/// Whether `python` exists and has the pinned SDK.
fn has_sdk(python: &Path) -> bool {
    let version = MCP_SDK.trim_start_matches("mcp==");
    python.exists()
        && Command::new(python)
            .args([
                "-c",
                &format!(
                    "import sys, importlib.metadata as m, mcp; \
                     sys.exit(0 if m.version('mcp') == '{version}' else 1)"
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Runs a setup step, failing the test with `what` and the step's output.
fn step(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot {what}: {e} (is python3 installed?)"));
    assert!(
        out.status.success(),
        "cannot {what} ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Creates the environment in a staging directory and moves it into place,
/// so a concurrent test binary never sees half an install.
fn install(venv: &Path) {
    let started = Instant::now();
    let staging = venv.with_extension(format!("staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    step(
        Command::new("python3").args(["-m", "venv"]).arg(&staging),
        "create a Python virtual environment (python3 -m venv)",
    );
    step(
        Command::new(staging.join("bin").join("python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MCP_SDK,
        ]),
        &format!("pip install {MCP_SDK} (the MCP Python SDK from PyPI)"),
    );
    let python = venv.join("bin").join("python");
    if fs::rename(&staging, venv).is_err() {
        // Another test binary finished first, or a broken environment is
        // in the way.
        if has_sdk(&python) {
            let _ = fs::remove_dir_all(&staging);
        } else {
            let _ = fs::remove_dir_all(venv);
            fs::rename(&staging, venv).unwrap_or_else(|e| {
                panic!(
                    "cannot move {} to {}: {e}",
                    staging.display(),
                    venv.display()
                )
            });
        }
    }
    eprintln!(
        "installed {MCP_SDK} into {} in {:.1} s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
}

/// The Python of the environment, installing the SDK on first use.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = target_dir().join("mcp-venv");
            let python = venv.join("bin").join("python");
            if !has_sdk(&python) {
                install(&venv);
            }
            assert!(
                has_sdk(&python),
                "{} does not import {MCP_SDK} after installing it",
                python.display()
            );
            python
        })
        .clone()
}

/// Runs `client.py ARGS` with the SDK; fails the test with the client's
/// output unless it passes within the time limit.
pub fn run_client(args: &[&OsStr]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mnemo-server/tests/mcp/client.py");
    let mut child = Command::new(python())
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for client.py") {
            break Some(status);
        }
        if started.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    eprintln!("client.py {args:?}:\n{out}{err}");
    match status {
        Some(s) => assert!(s.success(), "client.py {args:?} failed ({s}):\n{out}{err}"),
        None => panic!("client.py {args:?} took longer than {CLIENT_TIMEOUT:?}:\n{out}{err}"),
    }
}
