//! The `mnemo log` commands against real log directories.

use std::path::Path;
use std::process::{Command, Output};

use mnemo_log::{Config, Log};

fn mnemo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .args(args)
        .output()
        .expect("run mnemo")
}

fn make_log(dir: &Path, records: u32) {
    let log = Log::open(dir, Config::default().segment_bytes(1024)).expect("open");
    for i in 0..records {
        log.append(format!("event {i}").as_bytes()).expect("append");
    }
    log.close().expect("close");
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn verify_stats_and_dump_read_a_healthy_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 100);
    let path = dir.path().to_str().expect("utf-8 path");

    let out = mnemo(&["log", "verify", path]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("100 records"));

    let out = mnemo(&["log", "verify", path, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["records"], 100);
    assert_eq!(report["ok"], true);

    let out = mnemo(&["log", "stats", path, "--json"]);
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(stats["next_seq"], 100);
    let log = Log::open(dir.path(), Config::default()).expect("open");
    let root: String = log
        .root()
        .expect("root")
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stats["merkle_root"], root.as_str());
    drop(log);

    let out = mnemo(&["log", "dump", path, "--from", "10", "--limit", "3"]);
    assert!(out.status.success());
    let lines: Vec<String> = text(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("10\t") && lines[0].ends_with("\"event 10\""),
        "{}",
        lines[0]
    );
    assert!(lines[2].starts_with("12\t"));
}

#[test]
fn verify_reports_a_torn_tail_and_corruption_without_changing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 100);
    let path = dir.path().to_str().expect("utf-8 path");
    let mut segments: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    let last = segments.last().expect("segments").clone();

    // A torn tail: garbage after the last record.
    let mut bytes = std::fs::read(&last).expect("read");
    bytes.extend_from_slice(&[0xAB; 13]);
    std::fs::write(&last, &bytes).expect("write");
    let out = mnemo(&["log", "verify", path]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("torn tail: 13 bytes"), "{}", text(&out));
    assert_eq!(
        std::fs::read(&last).expect("read"),
        bytes,
        "verify changed the file"
    );

    // Corruption before the tail: flip a payload byte in the first segment.
    let first = segments[0].clone();
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[70] ^= 0x01;
    std::fs::write(&first, &bytes).expect("write");
    let out = mnemo(&["log", "verify", path]);
    assert_eq!(out.status.code(), Some(2));
    let name = first.file_name().expect("name").to_str().expect("utf-8");
    assert!(
        text(&out).contains("CORRUPT") && text(&out).contains(name),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(&first).expect("read"),
        bytes,
        "verify changed the file"
    );
}

#[test]
fn missing_directories_are_clear_errors() {
    let out = mnemo(&["log", "stats", "/nonexistent/mnemo/log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/mnemo/log"));
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo");
    let out = mnemo(&[
        "log",
        "demo",
        "--events",
        "5000",
        "--dir",
        path.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = text(&out);
    assert!(stdout.contains("proven with"), "{stdout}");
    assert!(
        stdout.contains("reopened and verified 5200 records"),
        "{stdout}"
    );
}
