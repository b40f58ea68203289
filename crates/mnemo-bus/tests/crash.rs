//! Crash test: a child process publishes under `block` with
//! `SyncPolicy::Always` from two producer threads and is killed with SIGKILL
//! at random moments; every event a wait acknowledged must be in the shard
//! logs after reopening, and each producer's events must form a gap-free
//! prefix in its order.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use mnemo_bus::{Event, Stream, StreamConfig, SyncPolicy};

const KILLS: u64 = 12;
const PRODUCERS: u64 = 2;

fn config() -> StreamConfig {
    StreamConfig::default()
        .shards(2)
        .ring_capacity(256)
        .sync(SyncPolicy::Always)
        .types(["tick"])
}

/// The child: producers `base..base + PRODUCERS` publish numbered events in
/// batches and print what each wait acknowledged.
fn child(dir: &str, base: u64) {
    let stream = Stream::open(dir, "crash", config()).expect("child open");
    let threads: Vec<_> = (base..base + PRODUCERS)
        .map(|producer| {
            let stream = stream.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                // Far more than a child lives to publish: it is killed first.
                while n < 100_000_000 {
                    let payloads: Vec<[u8; 16]> = (n..n + 50)
                        .map(|k| {
                            let mut p = [0u8; 16];
                            p[..8].copy_from_slice(&producer.to_le_bytes());
                            p[8..].copy_from_slice(&k.to_le_bytes());
                            p
                        })
                        .collect();
                    let events: Vec<Event<'_>> = payloads
                        .iter()
                        .map(|p| Event {
                            kind: 1,
                            producer,
                            time_nanos: 0,
                            payload: p,
                        })
                        .collect();
                    let receipt = stream.publish_batch(&events).expect("publish");
                    stream.wait_receipt(&receipt).expect("wait");
                    n += 50;
                    let stdout = std::io::stdout();
                    let mut out = stdout.lock();
                    writeln!(out, "acked {producer} {n}").expect("stdout");
                    out.flush().expect("flush");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer");
    }
}

#[test]
fn sigkill_under_block_never_loses_acknowledged_events() {
    if let Ok(spec) = std::env::var("MNEMO_BUS_CRASH_CHILD") {
        let (dir, base) = spec.rsplit_once(':').expect("dir:base");
        child(dir, base.parse().expect("base"));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = 0x5eed_u64;
    let mut acked_total = 0u64;
    for kill in 0..KILLS {
        let base = kill * PRODUCERS;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "sigkill_under_block_never_loses_acknowledged_events",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                "MNEMO_BUS_CRASH_CHILD",
                format!("{}:{base}", dir.path().display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(60 + (rng >> 33) % 140));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let mut acked: HashMap<u64, u64> = HashMap::new();
        for line in reader.join().expect("reader") {
            let Some(start) = line.find("acked ") else {
                continue;
            };
            let mut parts = line[start + 6..].split_whitespace();
            if let (Some(p), Some(n), None) = (parts.next(), parts.next(), parts.next())
                && let (Ok(p), Ok(n)) = (p.parse::<u64>(), n.parse::<u64>())
            {
                let best = acked.entry(p).or_default();
                *best = (*best).max(n);
            }
        }
        let stream = Stream::open(dir.path(), "crash", config()).expect("reopen after SIGKILL");
        let mut tail = stream.consumer("check").expect("consumer");
        let mut next: HashMap<u64, u64> = HashMap::new();
        loop {
            let poll = tail.poll_now(4096).expect("poll");
            if poll.events.is_empty() {
                break;
            }
            for e in poll.events {
                let p = u64::from_le_bytes(e.payload[..8].try_into().expect("test step"));
                let n = u64::from_le_bytes(e.payload[8..].try_into().expect("test step"));
                if p < base {
                    continue; // an earlier child's events, checked then
                }
                let expected = next.entry(p).or_default();
                assert_eq!(
                    n, *expected,
                    "kill {kill}: producer {p} has a gap or reordering"
                );
                *expected += 1;
            }
        }
        for (p, n) in &acked {
            let recovered = next.get(p).copied().unwrap_or(0);
            assert!(
                recovered >= *n,
                "kill {kill}: producer {p} had {n} events acknowledged but only {recovered} recovered"
            );
        }
        acked_total += acked.values().sum::<u64>();
        stream.close().expect("close");
    }
    assert!(
        acked_total > 0,
        "the children acknowledged nothing: the test proved nothing"
    );
}
