//! Cross-checks roots and proofs against an independent Python
//! implementation of RFC 9162 (`tests/rfc9162_reference.py`).

use std::io::Write;
use std::process::{Command, Stdio};

use mnemo_log::{Config, Log, ManualClock};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn roots_and_proofs_match_an_independent_rfc9162_implementation() {
    let clock = std::sync::Arc::new(ManualClock::new(1_700_000_000_000_000_000));
    let log =
        Log::in_memory(Config::default().segment_bytes(300).clock(clock.clone())).expect("open");
    let count = 70u64;
    for i in 0..count {
        clock.advance(1_000);
        log.append(
            format!("event number {i}")
                .repeat(i as usize % 4)
                .as_bytes(),
        )
        .expect("append");
    }
    let frames: Vec<String> = (0..count)
        .map(|s| hex(log.read(s).expect("record").frame()))
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rfc9162_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to run the RFC 9162 reference");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(frames.join("\n").as_bytes())
        .expect("write leaves");
    let output = child.wait_with_output().expect("python output");
    assert!(output.status.success(), "reference implementation failed");
    let reference: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let entries = reference.as_array().expect("array");
    assert_eq!(entries.len() as u64, count + 1);
    for entry in entries {
        let size = entry["size"].as_u64().expect("size");
        let root = log.root_at(size).expect("root");
        assert_eq!(
            hex(&root),
            entry["root"].as_str().expect("root"),
            "root of size {size}"
        );
        for (m, expected) in entry["paths"].as_array().expect("paths").iter().enumerate() {
            let proof = log.inclusion_proof(m as u64, size).expect("proof");
            let ours: Vec<String> = proof.path.iter().map(|h| hex(h)).collect();
            let theirs: Vec<String> = expected
                .as_array()
                .expect("path")
                .iter()
                .map(|v| v.as_str().expect("hex").to_owned())
                .collect();
            assert_eq!(ours, theirs, "audit path of leaf {m} in tree {size}");
        }
        for (i, expected) in entry["consistency"]
            .as_array()
            .expect("consistency")
            .iter()
            .enumerate()
        {
            let old = i as u64 + 1;
            let proof = log.consistency_proof(old, size).expect("consistency");
            let ours: Vec<String> = proof.path.iter().map(|h| hex(h)).collect();
            let theirs: Vec<String> = expected
                .as_array()
                .expect("proof")
                .iter()
                .map(|v| v.as_str().expect("hex").to_owned())
                .collect();
            assert_eq!(ours, theirs, "consistency {old} -> {size}");
        }
    }
}
