//! `mnemo events`: ingest JSON lines, tail them back (from the start, from
//! positions, or as a named consumer that resumes), the counters, and a bad
//! line refused with its number.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

fn mnemo(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("MNEMO_NO_FETCH", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mnemo");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    child.wait_with_output().expect("mnemo output")
}

fn lines(out: &Output) -> Vec<Json> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn ingest_tail_resume_and_stats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let input: String = (0..25)
        .map(|i| {
            format!(
                "{{\"type\":\"tick\",\"producer\":{},\"payload\":{{\"i\":{i}}}}}\n",
                i % 3
            )
        })
        .collect();
    let out = mnemo(data, &["--json", "events", "ingest"], Some(&input));
    let done = lines(&out);
    assert_eq!(done[0]["accepted"], 25);

    let all = lines(&mnemo(data, &["events", "tail"], None));
    assert_eq!(all.len(), 25);
    let mut seen: Vec<u64> = all
        .iter()
        .map(|e| e["payload"]["i"].as_u64().expect("i"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..25).collect::<Vec<_>>());

    let first = lines(&mnemo(
        data,
        &["events", "tail", "--consumer", "audit", "--max", "10"],
        None,
    ));
    let rest = lines(&mnemo(
        data,
        &["events", "tail", "--consumer", "audit"],
        None,
    ));
    assert_eq!(
        (first.len(), rest.len()),
        (10, 15),
        "the consumer resumes where it stopped"
    );

    let shards = all
        .iter()
        .map(|e| e["shard"].as_u64().expect("shard"))
        .max()
        .expect("some")
        + 1;
    let from = vec!["1"; shards as usize].join(",");
    let later = lines(&mnemo(data, &["events", "tail", "--from", &from], None));
    assert_eq!(later.len(), 25 - shards as usize);

    let stats = lines(&mnemo(data, &["--json", "events", "stats"], None));
    let records: u64 = stats[0]["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["log_records"].as_u64().expect("records"))
        .sum();
    assert_eq!(records, 25);

    let bad = mnemo(
        data,
        &["events", "ingest"],
        Some("{\"type\":\"tick\"}\n{not json\n"),
    );
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(message.contains("line 2"), "{message}");
    let after = lines(&mnemo(data, &["events", "tail"], None));
    assert_eq!(after.len(), 25, "a batch with a bad line is refused whole");
}
