//! Crash test: a child process appends under `SyncPolicy::Always` and is
//! killed with SIGKILL at random moments; every record it reported as
//! acknowledged must be present after reopening, in order, with the Merkle
//! root it reported for that prefix.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mnemo_log::sim::SplitMix64;
use mnemo_log::{Config, Log, SyncPolicy};

const KILLS: u64 = 50;

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq.wrapping_mul(2_654_435_761) % 300) as usize;
    (0..len)
        .map(|i| (seq as u8).wrapping_add(i as u8))
        .collect()
}

fn child(dir: &str) {
    let config = Config::default()
        .sync(SyncPolicy::Always)
        .segment_bytes(16 * 1024);
    let log = Log::open(dir, config).expect("child open");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut seq = log.next_seq();
    loop {
        if seq.is_multiple_of(3) {
            let range = log
                .append_batch([payload(seq), payload(seq + 1)])
                .expect("append batch")
                .seqs;
            assert_eq!(range, seq..seq + 2);
            seq += 2;
        } else {
            assert_eq!(log.append(&payload(seq)).expect("append"), seq);
            seq += 1;
        }
        writeln!(out, "acked {seq}").expect("stdout");
        if seq.is_multiple_of(16) {
            let root = log.root_at(seq).expect("root");
            writeln!(out, "root {seq} {}", hex(&root)).expect("stdout");
        }
        out.flush().expect("flush");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sigkill_never_loses_acknowledged_records() {
    if let Ok(dir) = std::env::var("MNEMO_CRASH_CHILD_DIR") {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = SplitMix64::new(0x5eed);
    let mut acked = 0u64;
    let mut roots: BTreeMap<u64, String> = BTreeMap::new();
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "sigkill_never_loses_acknowledged_records",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MNEMO_CRASH_CHILD_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let lifetime = Duration::from_millis(20 + rng.below(120));
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        let started = Instant::now();
        while started.elapsed() < lifetime {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        for line in reader.join().expect("reader") {
            // The harness may print its own text before ours on the same line.
            let start = ["acked ", "root "]
                .iter()
                .filter_map(|k| line.find(k))
                .min();
            let Some(start) = start else { continue };
            let mut parts = line[start..].split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("acked"), Some(n), None) => acked = acked.max(n.parse().expect("number")),
                (Some("root"), Some(n), Some(root)) => {
                    roots.insert(n.parse().expect("number"), root.to_owned());
                }
                _ => {} // the test harness's own output, or a line cut by the kill
            }
        }
        let log = Log::open(dir.path(), Config::default()).expect("reopen after SIGKILL");
        let next = log.next_seq();
        assert!(
            next >= acked,
            "kill {kill}: {acked} acknowledged but only {next} recovered"
        );
        for seq in 0..next {
            let record = log
                .read(seq)
                .unwrap_or_else(|| panic!("kill {kill}: seq {seq} missing"));
            assert_eq!(
                record.payload(),
                &payload(seq)[..],
                "kill {kill}: seq {seq} differs"
            );
        }
        for (size, root) in roots.range(..=next) {
            assert_eq!(
                &hex(&log.root_at(*size).expect("root")),
                root,
                "kill {kill}: root of {size} changed"
            );
        }
        // Later children continue from whatever survived, including records
        // that were written but never acknowledged.
        acked = next;
        drop(log);
    }
    assert!(
        acked > KILLS,
        "the children made progress ({acked} records)"
    );
}
