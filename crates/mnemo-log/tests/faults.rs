//! Fault injection: damaged segment files and simulated power failures.
//!
//! Every case is driven by a seed and prints it on failure, so any failure
//! can be replayed with `MNEMO_SEED=<seed> cargo test -p mnemo-log --test faults`.

use std::sync::Arc;

use mnemo_log::format::{parse_segment_file_name, segment_file_name};
use mnemo_log::sim::{SimDisk, SplitMix64};
use mnemo_log::{Config, Error, Log, Retention, SyncPolicy, verify_on};

fn payload(seq: u64, rng_len: usize) -> Vec<u8> {
    (0..rng_len)
        .map(|i| (seq as u8) ^ (i as u8).wrapping_mul(31))
        .collect()
}

/// Seeds to run: all of `0..count`, or only `MNEMO_SEED` when set.
fn seeds(count: u64) -> Vec<u64> {
    match std::env::var("MNEMO_SEED") {
        Ok(s) => vec![s.parse().expect("MNEMO_SEED must be a number")],
        Err(_) => (0..count).collect(),
    }
}

/// Builds a log on a simulated disk and returns the payloads written.
fn build(rng: &mut SplitMix64, disk: &SimDisk, config: &Config) -> Vec<Vec<u8>> {
    let log = Log::open_on(Arc::new(disk.clone()), config.clone()).expect("open");
    let count = 1 + rng.below(120);
    let mut written = Vec::new();
    while (written.len() as u64) < count {
        let seq = written.len() as u64;
        if rng.below(4) == 0 {
            let n = 1 + rng.below(5);
            let batch: Vec<Vec<u8>> = (0..n)
                .map(|i| payload(seq + i, rng.below(200) as usize))
                .collect();
            log.append_batch(&batch).expect("batch");
            written.extend(batch);
        } else {
            let p = payload(seq, rng.below(200) as usize);
            log.append(&p).expect("append");
            written.push(p);
        }
    }
    log.close().expect("close");
    written
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Truncate,
    BitFlip,
    ZeroFill,
    AppendGarbage,
}

/// Damages one segment file; returns the file name and the offset from
/// which its bytes can no longer be trusted.
fn damage(rng: &mut SplitMix64, disk: &SimDisk) -> (String, usize, Damage) {
    let segments: Vec<String> = disk
        .file_names()
        .into_iter()
        .filter(|n| parse_segment_file_name(n).is_some())
        .collect();
    let name = segments[rng.below(segments.len() as u64) as usize].clone();
    let mut data = disk.file(&name).expect("segment");
    let kind = match rng.below(4) {
        0 => Damage::Truncate,
        1 => Damage::BitFlip,
        2 => Damage::ZeroFill,
        _ => Damage::AppendGarbage,
    };
    let at = rng.below(data.len() as u64) as usize;
    match kind {
        Damage::Truncate => data.truncate(at),
        Damage::BitFlip => data[at] ^= 1 << rng.below(8),
        Damage::ZeroFill => {
            let end = (at + 1 + rng.below(64) as usize).min(data.len());
            if data[at..end].iter().all(|&b| b == 0) {
                data[at] = 0xff; // make sure something changes
            } else {
                data[at..end].fill(0);
            }
        }
        Damage::AppendGarbage => {
            let n = 1 + rng.below(100) as usize;
            data.extend((0..n).map(|_| rng.next_u64() as u8));
        }
    }
    let from = match kind {
        Damage::AppendGarbage => usize::MAX,
        _ => at,
    };
    disk.set_file(&name, data);
    (name, from, kind)
}

#[test]
fn damaged_segments_recover_an_exact_prefix_or_fail_clearly() {
    let mut outcomes = [0u32; 2];
    for seed in seeds(1500) {
        let mut rng = SplitMix64::new(seed);
        let disk = SimDisk::new();
        let config = Config::default().segment_bytes(512 + rng.below(2048));
        let written = build(&mut rng, &disk, &config);
        // Global byte position of every record: (segment base, end offset).
        let before: Vec<(String, Vec<u8>)> = disk
            .file_names()
            .into_iter()
            .map(|n| {
                let d = disk.file(&n).expect("file");
                (n, d)
            })
            .collect();
        let (name, from, kind) = damage(&mut rng, &disk);
        let base = parse_segment_file_name(&name).expect("segment name");
        let last_segment = before
            .iter()
            .filter_map(|(n, _)| parse_segment_file_name(n))
            .max()
            .expect("a segment");
        // Records that end before the damage point must survive.
        let original = &before.iter().find(|(n, _)| *n == name).expect("present").1;
        let mut must_keep = base;
        let mut off = 32usize;
        while off < original.len() {
            let len =
                u32::from_le_bytes(original[off + 8..off + 12].try_into().expect("4")) as usize;
            let end = off + 32 + len;
            if end > from {
                break;
            }
            must_keep += 1;
            off = end;
        }
        let verdict = verify_on(&disk, &config);
        let snapshot: Vec<Option<Vec<u8>>> = before.iter().map(|(n, _)| disk.file(n)).collect();
        match Log::open_on(Arc::new(disk.clone()), config.clone()) {
            Ok(log) => {
                outcomes[0] += 1;
                let report = verdict.unwrap_or_else(|e| {
                    panic!("seed {seed}: verify failed ({e}) but open succeeded")
                });
                let n = log.next_seq();
                assert_eq!(
                    report.records,
                    n - log.first_seq(),
                    "seed {seed}: verify and open disagree"
                );
                assert!(n <= written.len() as u64, "seed {seed}");
                assert!(
                    n >= must_keep,
                    "seed {seed} ({kind:?} in {name} at {from}): lost records before the damage ({n} < {must_keep})"
                );
                if base != last_segment {
                    assert_eq!(
                        n as usize,
                        written.len(),
                        "seed {seed}: damage in a sealed segment must not lose records silently"
                    );
                }
                for (seq, expected) in written.iter().enumerate().take(n as usize) {
                    let record = log
                        .read(seq as u64)
                        .unwrap_or_else(|| panic!("seed {seed}: seq {seq} missing"));
                    assert_eq!(
                        record.payload(),
                        &expected[..],
                        "seed {seed}: seq {seq} differs"
                    );
                }
                if let Damage::AppendGarbage = kind {
                    assert_eq!(
                        n as usize,
                        written.len(),
                        "seed {seed}: garbage after the end loses nothing"
                    );
                }
                // The log stays writable after recovery.
                assert_eq!(log.append(b"after recovery").expect("append"), n);
            }
            Err(e) => {
                outcomes[1] += 1;
                assert!(
                    verdict.is_err(),
                    "seed {seed}: open failed ({e}) but verify passed"
                );
                let message = e.to_string();
                let next_segment = segment_file_name(
                    before
                        .iter()
                        .filter_map(|(n, _)| parse_segment_file_name(n))
                        .filter(|b| *b > base)
                        .min()
                        .unwrap_or(u64::MAX),
                );
                assert!(
                    message.contains(&name) || message.contains(&next_segment),
                    "seed {seed}: error does not name the damaged segment {name}: {message}"
                );
                assert!(
                    matches!(e, Error::Corrupt { .. } | Error::BadSegmentHeader { .. }),
                    "seed {seed}: {e:?}"
                );
                // A refused open changes nothing.
                let after: Vec<Option<Vec<u8>>> =
                    before.iter().map(|(n, _)| disk.file(n)).collect();
                assert_eq!(after, snapshot, "seed {seed}: a failed open modified files");
            }
        }
    }
    assert!(
        outcomes[0] > 100 && outcomes[1] > 100,
        "both outcomes exercised: {outcomes:?}"
    );
}

/// Appends under a power cut that strikes after a random number of storage
/// operations, then restores the disk as a random power failure would leave
/// it. Every acknowledged record must survive, unacknowledged ones may
/// survive only whole and in order, and nothing else may appear.
#[test]
fn power_failures_never_lose_acknowledged_records() {
    let (mut cut_mid_write, mut torn_tails, mut acked_total) = (0u32, 0u32, 0usize);
    let all = seeds(10_000);
    for &seed in &all {
        let mut rng = SplitMix64::new(seed ^ 0xA5A5_5A5A);
        let disk = SimDisk::new();
        let policy = match rng.below(4) {
            0 => SyncPolicy::EveryN(1 + rng.below(5)),
            1 => SyncPolicy::Never,
            _ => SyncPolicy::Always,
        };
        let mut config = Config::default()
            .segment_bytes(256 + rng.below(1024))
            .sync(policy);
        config.write_buffer_bytes = rng.below(512) as usize;
        if rng.below(4) == 0 {
            config.retention = Retention {
                max_records: Some(5 + rng.below(20)),
                ..Retention::default()
            };
        }
        let log = Log::open_on(Arc::new(disk.clone()), config.clone()).expect("open");
        disk.cut_power_after(rng.below(60));
        let mut attempted: Vec<Vec<u8>> = Vec::new();
        let mut acked = 0usize;
        for _ in 0..rng.below(40) {
            let seq = attempted.len() as u64;
            let size = if rng.below(3) == 0 {
                1 + rng.below(4)
            } else {
                0
            };
            let batch: Vec<Vec<u8>> = (0..size.max(1))
                .map(|i| payload(seq + i, rng.below(100) as usize))
                .collect();
            let result = if size == 0 {
                log.append(&batch[0]).map(|s| s..s + 1)
            } else {
                log.append_batch(&batch).map(|a| a.seqs)
            };
            attempted.extend(batch);
            match result {
                Ok(_) if policy == SyncPolicy::Always => acked = attempted.len(),
                Ok(_) => {}
                Err(_) => {
                    cut_mid_write += 1;
                    break;
                }
            }
        }
        let durable = log.durable_seq() as usize;
        acked = acked.max(durable);
        std::mem::forget(log); // the machine is gone: no orderly shutdown
        let after = disk.power_fail(seed);
        let log = match Log::open_on(Arc::new(after), config.clone()) {
            Ok(log) => log,
            Err(e) => panic!("seed {seed} ({policy:?}): recovery failed: {e}"),
        };
        if log.recovery_report().truncated_bytes > 0 {
            torn_tails += 1;
        }
        acked_total += acked;
        let next = log.next_seq() as usize;
        assert!(
            next >= acked,
            "seed {seed} ({policy:?}): {acked} acknowledged, {next} recovered"
        );
        assert!(
            next <= attempted.len(),
            "seed {seed}: more records than were written"
        );
        for seq in log.first_seq()..log.next_seq() {
            let record = log
                .read(seq)
                .unwrap_or_else(|| panic!("seed {seed}: seq {seq} missing"));
            assert_eq!(
                record.payload(),
                &attempted[seq as usize][..],
                "seed {seed}: seq {seq} differs"
            );
        }
        let (root, size) = log.root().expect("root");
        if size > 0 && log.first_seq() < size {
            let proof = log.inclusion_proof(size - 1, size).expect("proof");
            let record = log.read(size - 1).expect("last");
            mnemo_log::verify_inclusion(record.frame(), &proof, &root).expect("verifies");
        }
    }
    if all.len() > 1 {
        // Guard against the simulation silently testing nothing.
        assert!(
            cut_mid_write > 1000,
            "power cuts interrupted {cut_mid_write} appends"
        );
        assert!(
            torn_tails > 500,
            "only {torn_tails} torn tails were recovered"
        );
        assert!(
            acked_total > 20_000,
            "only {acked_total} acknowledged records were checked"
        );
    }
    eprintln!(
        "power failures: {cut_mid_write} interrupted appends, {torn_tails} torn tails, {acked_total} acknowledged records checked"
    );
}
