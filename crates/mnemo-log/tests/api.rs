//! Behaviour of the public API on memory, a simulated disk and real files.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mnemo_log::sim::SimDisk;
use mnemo_log::{
    Config, Error, Log, ManualClock, Retention, SubscriptionError, SyncPolicy, verify,
    verify_consistency, verify_inclusion,
};

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 7 % 97) as usize;
    (0..len)
        .map(|i| (seq as u8).wrapping_add(i as u8))
        .collect()
}

fn fill(log: &Log, n: u64) {
    for seq in 0..n {
        assert_eq!(log.append(&payload(seq)).expect("append"), seq);
    }
}

fn check_contents(log: &Log, from: u64, to: u64) {
    for seq in from..to {
        let record = log.read(seq).unwrap_or_else(|| panic!("seq {seq} missing"));
        assert_eq!(record.seq(), seq);
        assert_eq!(record.payload(), &payload(seq)[..], "seq {seq}");
    }
    assert!(log.read(to).is_none());
}

#[test]
fn in_memory_append_read_range_and_budget() {
    let log = Log::in_memory(Config::default().segment_bytes(1024)).expect("open");
    assert_eq!((log.first_seq(), log.next_seq()), (0, 0));
    assert!(log.read(0).is_none());
    fill(&log, 500);
    check_contents(&log, 0, 500);
    assert!(log.stats().segments > 10, "small segments roll");
    let seqs: Vec<u64> = log.range(10..20).map(|r| r.seq()).collect();
    assert_eq!(seqs, (10..20).collect::<Vec<_>>());
    assert_eq!(log.iter_from(0).count(), 500);
    assert_eq!(log.range(490..1000).count(), 10);
    // The byte budget stops before the record that would exceed it, but
    // always yields at least one record.
    let mut iter = log.iter_from(1).byte_budget(21);
    let taken: Vec<_> = iter.by_ref().collect();
    let total: usize = taken.iter().map(|r| r.len()).sum();
    assert_eq!(
        taken.len(),
        2,
        "payloads of 7 and 14 bytes fit in 21, the next (21 more) does not"
    );
    assert_eq!(total, 21);
    assert_eq!(iter.position(), 3);
    assert_eq!(iter.next(), None, "a spent budget stays spent");
    assert_eq!(log.iter_from(0).byte_budget(0).count(), 1);
    let timestamps: Vec<u64> = log.iter_from(0).map(|r| r.timestamp_nanos()).collect();
    assert!(timestamps.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn payloads_are_shared_not_copied() {
    let log = Log::in_memory(Config::default()).expect("open");
    log.append(b"zero copy").expect("append");
    let a = log.read(0).expect("record").into_payload();
    let b = log.read(0).expect("record").into_payload();
    assert_eq!(
        a.as_ptr(),
        b.as_ptr(),
        "both reads point into the same buffer"
    );
    // Many more appends force the buffer to grow; earlier handles stay valid.
    for i in 0..10_000u32 {
        log.append(&i.to_le_bytes()).expect("append");
    }
    assert_eq!(&a[..], b"zero copy");
}

#[test]
fn oversized_records_and_bad_config_are_refused_without_changes() {
    let log = Log::in_memory(Config::default().max_record_bytes(8)).expect("open");
    log.append(b"12345678").expect("fits");
    assert!(matches!(
        log.append(b"123456789"),
        Err(Error::RecordTooLarge { len: 9, max: 8 })
    ));
    let batch = [
        Bytes::from_static(b"ok"),
        Bytes::from_static(b"much too long"),
    ];
    assert!(matches!(
        log.append_batch(batch),
        Err(Error::RecordTooLarge { .. })
    ));
    assert_eq!(log.next_seq(), 1, "a refused batch appends nothing");
    assert_eq!(
        log.append_batch(Vec::<Bytes>::new()).expect("empty").seqs,
        1..1
    );
    assert!(matches!(
        Log::in_memory(Config::default().segment_bytes(10)),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        Log::in_memory(Config::default().sync(SyncPolicy::EveryN(0))),
        Err(Error::Config(_))
    ));
}

#[test]
fn file_log_survives_reopen_with_identical_contents_and_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::default().segment_bytes(4096);
    let root = {
        let log = Log::open(dir.path(), config.clone()).expect("open");
        fill(&log, 300);
        log.append_batch((300..400).map(payload)).expect("batch");
        let root = log.root().expect("root");
        log.close().expect("close");
        root
    };
    let log = Log::open(dir.path(), config.clone()).expect("reopen");
    assert_eq!(log.recovery_report().truncated_bytes, 0);
    assert_eq!(log.recovery_report().last_seq, Some(399));
    check_contents(&log, 0, 400);
    assert_eq!(log.root().expect("root"), root);
    // Appending after reopen continues the sequence in the active segment.
    assert_eq!(log.append(&payload(400)).expect("append"), 400);
    drop(log);
    let report = verify(dir.path(), &config).expect("verify");
    assert_eq!(report.records, 401);
    let log = Log::open(dir.path(), config).expect("reopen");
    check_contents(&log, 0, 401);
}

#[test]
fn a_second_open_of_the_same_directory_fails_until_the_first_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Log::open(dir.path(), Config::default()).expect("open");
    match Log::open(dir.path(), Config::default()) {
        Err(Error::Locked { lock_file, .. }) => assert!(lock_file.ends_with("LOCK")),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Read-only inspection is still possible.
    let reader = Log::open_read_only(dir.path(), Config::default()).expect("read only");
    assert!(matches!(reader.append(b"x"), Err(Error::Config(_))));
    first.close().expect("close");
    Log::open(dir.path(), Config::default()).expect("open after close");
}

#[test]
fn lock_holds_across_processes() {
    if let Ok(dir) = std::env::var("MNEMO_LOCK_CHILD_DIR") {
        // Child: hold the lock until stdin closes.
        let _log = Log::open(&dir, Config::default()).expect("child open");
        println!("locked");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "lock_holds_across_processes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MNEMO_LOCK_CHILD_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("child output").expect("line");
        if line.trim().ends_with("locked") {
            break;
        }
    }
    assert!(matches!(
        Log::open(dir.path(), Config::default()),
        Err(Error::Locked { .. })
    ));
    drop(child.stdin.take());
    assert!(child.wait().expect("wait").success());
    Log::open(dir.path(), Config::default()).expect("open after child exit");
}

#[test]
fn always_policy_syncs_before_returning_and_groups_concurrent_appenders() {
    let disk = SimDisk::new();
    let log = Arc::new(
        Log::open_on(
            Arc::new(disk.clone()),
            Config::default().sync(SyncPolicy::Always),
        )
        .expect("open"),
    );
    log.append(b"one").expect("append");
    assert_eq!(log.durable_seq(), 1);
    let before = disk.sync_count();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    let seq = log.append(&[t as u8; 16]).expect("append");
                    assert!(
                        log.durable_seq() > seq,
                        "record {i} acknowledged before durable"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(log.next_seq(), 801);
    let syncs = disk.sync_count() - before;
    assert!(syncs <= 800, "at most one sync per append ({syncs})");
    // Every acknowledged record survives any power failure.
    for seed in 0..50 {
        let after =
            Log::open_on(Arc::new(disk.power_fail(seed)), Config::default()).expect("reopen");
        assert_eq!(after.next_seq(), 801, "seed {seed}");
    }
}

#[test]
fn every_n_and_interval_policies_make_records_durable() {
    let disk = SimDisk::new();
    let log = Log::open_on(
        Arc::new(disk.clone()),
        Config::default().sync(SyncPolicy::EveryN(10)),
    )
    .expect("open");
    for i in 0..9u8 {
        log.append(&[i]).expect("append");
    }
    assert_eq!(log.durable_seq(), 0);
    log.append(b"tenth").expect("append");
    assert_eq!(log.durable_seq(), 10);
    drop(log);

    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(
        dir.path(),
        Config::default().sync(SyncPolicy::Interval(Duration::from_millis(5))),
    )
    .expect("open");
    log.append(b"later").expect("append");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.durable_seq() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "interval sync never happened"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn retention_drops_whole_head_segments_and_keeps_roots_and_proofs() {
    let disk = SimDisk::new();
    let retention = Retention {
        max_records: Some(100),
        ..Retention::default()
    };
    let config = Config::default().segment_bytes(1024).retention(retention);
    let reference =
        Log::in_memory(Config::default().clock(Arc::new(ManualClock::new(5)))).expect("reference");
    let log = Log::open_on(
        Arc::new(disk.clone()),
        config.clone().clock(Arc::new(ManualClock::new(5))),
    )
    .expect("open");
    let mut roots = Vec::new();
    for seq in 0..1000 {
        log.append(&payload(seq)).expect("append");
        reference.append(&payload(seq)).expect("append");
        if seq % 97 == 0 {
            roots.push((seq + 1, log.root_at(seq + 1).expect("root")));
        }
    }
    // Retention runs whenever a segment is sealed; apply it once more so the
    // active segment's growth since the last roll is accounted for.
    log.apply_retention().expect("retention");
    let stats = log.stats();
    assert!(stats.first_seq > 0, "head segments were removed");
    assert!(stats.records >= 100, "at least max_records kept");
    assert!(
        stats.records < 100 + 40,
        "at most one extra segment kept: {stats:?}"
    );
    assert!(disk.file_names().len() <= stats.segments + 1);
    assert!(log.read(stats.first_seq - 1).is_none());
    let (root, size) = log.root().expect("root");
    assert_eq!(
        root,
        reference.root().expect("root").0,
        "retention does not change the root"
    );
    for seq in stats.first_seq..size {
        let proof = log.inclusion_proof(seq, size).expect("proof");
        let record = log.read(seq).expect("record");
        verify_inclusion(record.frame(), &proof, &root).expect("verifies");
    }
    // Old roots stay provable against the current root where the old size is retained.
    for (old_size, old_root) in roots.iter().filter(|(s, _)| *s >= stats.first_seq) {
        let proof = log.consistency_proof(*old_size, size).expect("consistency");
        verify_consistency(&proof, old_root, &root).expect("consistent");
    }
    assert!(matches!(log.inclusion_proof(0, size), Err(Error::Proof(_))));
    drop(log);
    let reopened = Log::open_on(Arc::new(disk), config).expect("reopen");
    assert_eq!(reopened.first_seq(), stats.first_seq);
    assert_eq!(reopened.root().expect("root"), (root, size));
}

#[test]
fn retention_by_bytes_and_age() {
    let clock = Arc::new(ManualClock::new(1_000));
    let config = Config::default()
        .segment_bytes(512)
        .clock(clock.clone())
        .retention(Retention {
            max_bytes: Some(2048),
            max_age: Some(Duration::from_secs(60)),
            ..Retention::default()
        });
    let log = Log::in_memory(config).expect("open");
    for i in 0..200u32 {
        log.append(&[i as u8; 40]).expect("append");
    }
    let stats = log.stats();
    assert!(stats.bytes >= 2048 && stats.bytes < 2048 + 512, "{stats:?}");
    clock.advance(61_000_000_000);
    log.apply_retention().expect("retention");
    assert_eq!(log.stats().segments, 1, "only the active segment is left");
}

#[test]
fn subscriptions_deliver_backlog_then_live_batches() {
    let log = Arc::new(Log::in_memory(Config::default()).expect("open"));
    log.append_batch((0..5).map(payload)).expect("batch");
    let mut sub = log.subscribe(2);
    let backlog = sub.recv().expect("backlog");
    assert_eq!(
        backlog.iter().map(|r| r.seq()).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(sub.try_recv(), Err(SubscriptionError::Empty));
    log.append_batch((5..8).map(payload)).expect("batch");
    log.append(&payload(8)).expect("append");
    assert_eq!(
        sub.recv().expect("batch").len(),
        3,
        "one delivery per appended batch"
    );
    assert_eq!(sub.recv().expect("single")[0].payload(), &payload(8)[..]);
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            log.append(b"wake up").expect("append");
        })
    };
    assert_eq!(
        sub.recv_timeout(Duration::from_secs(10)).expect("live")[0].payload(),
        b"wake up"
    );
    writer.join().expect("writer");
    assert_eq!(log.stats().subscribers, 1);
    drop(sub);
    assert_eq!(
        log.stats().subscribers,
        0,
        "a dropped subscriber is unregistered"
    );
}

#[test]
fn a_slow_subscriber_is_told_it_lagged_and_then_catches_up() {
    let log = Log::in_memory(Config::default().subscriber_queue_batches(4)).expect("open");
    let mut sub = log.subscribe(0);
    for seq in 0..10 {
        log.append(&payload(seq)).expect("append");
    }
    assert_eq!(sub.recv(), Err(SubscriptionError::Lagged { resume_at: 0 }));
    let mut seen = Vec::new();
    while let Ok(batch) = sub.try_recv() {
        seen.extend(batch.iter().map(|r| r.seq()));
    }
    assert_eq!(
        seen,
        (0..10).collect::<Vec<_>>(),
        "nothing still in the log is skipped"
    );
    log.append(b"live again").expect("append");
    assert_eq!(sub.try_recv().expect("live")[0].seq(), 10);
    log.close().expect("close");
    assert_eq!(sub.recv(), Err(SubscriptionError::Closed));
}

#[test]
fn subscribers_behind_retention_are_told_where_to_resume() {
    let config = Config::default().segment_bytes(256).retention(Retention {
        max_records: Some(10),
        ..Retention::default()
    });
    let log = Log::in_memory(config).expect("open");
    let mut sub = log.subscribe(0);
    for seq in 0..100 {
        log.append(&payload(seq % 5)).expect("append");
    }
    let first = log.first_seq();
    assert!(first > 0);
    match sub.recv() {
        Err(SubscriptionError::Lagged { resume_at }) => assert_eq!(resume_at, first),
        other => panic!("expected Lagged, got {other:?}"),
    }
}

/// `close` takes the log by value, so no handle can write after it (the
/// compiler is the check); what a close can still be seen by is a live
/// subscription, in memory and on files: it gets every record appended
/// before the close, then `Closed`.
#[test]
fn closing_ends_subscriptions_after_their_backlog() {
    let log = Log::in_memory(Config::default()).expect("open");
    let mut sub = log.subscribe(0);
    fill(&log, 3);
    log.close().expect("close");
    let mut seen = Vec::new();
    loop {
        match sub.recv_timeout(Duration::from_secs(5)) {
            Ok(records) => seen.extend(records.iter().map(|r| r.seq())),
            Err(SubscriptionError::Closed) => break,
            Err(other) => panic!("expected the backlog then Closed, got {other:?}"),
        }
    }
    assert_eq!(seen, [0, 1, 2]);
    assert!(sub.next().is_none(), "the iterator ends once closed");

    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), Config::default()).expect("open");
    fill(&log, 2);
    let mut late = log.subscribe(0);
    drop(log);
    let records = late.recv_timeout(Duration::from_secs(5)).expect("backlog");
    assert_eq!(records.len(), 2);
    assert!(matches!(
        late.recv_timeout(Duration::from_secs(5)),
        Err(SubscriptionError::Closed)
    ));
}

#[test]
fn reader_gives_borrowed_views_of_the_same_records() {
    let log = Log::in_memory(Config::default().segment_bytes(512)).expect("open");
    fill(&log, 200);
    let reader = log.reader();
    assert_eq!((reader.first_seq(), reader.next_seq()), (0, 200));
    for seq in 0..200 {
        let borrowed = reader.get(seq).expect("present");
        let owned = reader.record(seq).expect("present");
        assert_eq!(borrowed.payload(), owned.payload());
        assert_eq!(borrowed.frame(), &owned.frame()[..]);
        assert_eq!(borrowed.timestamp_nanos(), owned.timestamp_nanos());
    }
    assert!(reader.get(200).is_none());
    let seqs: Vec<u64> = reader.iter(190..500).map(|r| r.seq()).collect();
    assert_eq!(seqs, (190..200).collect::<Vec<_>>());
}

/// XXH3-128 of the stored checksums of records `0..seq`, read record by
/// record: what `Log::records_digest` must answer from memory.
fn digest_by_reading(log: &Log, seq: u64) -> u128 {
    let reader = log.reader();
    let mut bytes = Vec::new();
    for record in reader.iter(0..seq) {
        bytes.extend_from_slice(&record.checksum().to_le_bytes());
    }
    assert_eq!(bytes.len() as u64, seq * 8);
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

#[test]
fn records_digest_is_kept_in_memory_across_appends_reopens_and_retention() {
    let disk = SimDisk::new();
    let config = Config::default().segment_bytes(1024);
    let open = || Log::open_on(Arc::new(disk.clone()), config.clone()).expect("open");
    let log = open();
    assert_eq!(
        log.records_digest(0),
        Some(xxhash_rust::xxh3::xxh3_128(&[]))
    );
    fill(&log, 300);
    let before: Vec<u128> = [0, 1, 150, 299, 300]
        .iter()
        .map(|&seq| {
            let digest = log.records_digest(seq).expect("digest");
            assert_eq!(digest, digest_by_reading(&log, seq), "seq {seq}");
            digest
        })
        .collect();
    assert!(log.records_digest(301).is_none(), "past the end");
    log.append_batch(&[b"one".as_slice(), b"two".as_slice()])
        .expect("batch");
    assert_eq!(log.records_digest(302), Some(digest_by_reading(&log, 302)));
    log.close().expect("close");
    // Reopened, the checksums come from recovery: the same digests.
    let log = open();
    for (seq, digest) in [0, 1, 150, 299, 300].into_iter().zip(before) {
        assert_eq!(
            log.records_digest(seq),
            Some(digest),
            "seq {seq} after reopen"
        );
    }
    assert_eq!(log.records_digest(302), Some(digest_by_reading(&log, 302)));
    // Another log of the same length differs.
    let other = Log::in_memory(Config::default()).expect("other");
    for seq in 0..300 {
        other.append(&payload(seq + 1)).expect("append");
    }
    assert_ne!(other.records_digest(300), log.records_digest(300));
    log.close().expect("close");

    // Without record 0 there is no digest.
    let retention = Retention {
        max_records: Some(100),
        ..Retention::default()
    };
    let kept =
        Log::in_memory(Config::default().segment_bytes(1024).retention(retention)).expect("open");
    fill(&kept, 1000);
    kept.apply_retention().expect("retention");
    assert!(kept.first_seq() > 0);
    assert!(kept.records_digest(kept.next_seq()).is_none());
}
