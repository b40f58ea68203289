//! Durable streams: what a wait acknowledged is in the shard logs after a
//! reopen, the logs prove it, consumers resume from committed cursors, and
//! a consumer that retention overtook is told what it missed.

use mnemo_bus::{Error, Event, Retention, Stream, StreamConfig, SyncPolicy};

fn config() -> StreamConfig {
    StreamConfig::default()
        .shards(3)
        .sync(SyncPolicy::Always)
        .types(["tool_result", "observation"])
}

#[test]
fn acknowledged_events_survive_a_reopen_and_are_proven() {
    let dir = tempfile::tempdir().expect("test step");
    let payloads: Vec<Vec<u8>> = (0..500u32)
        .map(|i| format!("event {i} {}", "x".repeat((i % 200) as usize)).into_bytes())
        .collect();
    {
        let stream = Stream::open(dir.path(), "agent", config()).expect("test step");
        let events: Vec<Event<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| Event {
                kind: 1 + (i % 2) as u16,
                producer: (i % 5) as u64,
                time_nanos: 1_000 + i as u64,
                payload: p,
            })
            .collect();
        let receipt = stream.publish_batch(&events).expect("test step");
        assert_eq!(receipt.accepted, 500);
        stream.wait_receipt(&receipt).expect("test step");
        let total = stream.stats().total();
        assert_eq!(total.written, 500);
        assert!(
            total.durable_records >= 500,
            "Always syncs before the wait returns"
        );
        // Dropped without close (the crash test kills a process instead).
        drop(stream);
    }
    let stream = Stream::open(dir.path(), "agent-reopened", config()).expect("test step");
    assert_eq!(stream.types().len(), 2);
    let mut tail = stream.consumer("audit").expect("test step");
    let mut seen = Vec::new();
    loop {
        let poll = tail.poll_now(128).expect("test step");
        if poll.events.is_empty() {
            break;
        }
        for e in poll.events {
            let i = (e.time_nanos - 1_000) as usize;
            assert_eq!(&e.payload[..], &payloads[i][..]);
            assert_eq!(e.producer, (i % 5) as u64);
            assert_eq!(&*e.type_name, ["tool_result", "observation"][i % 2]);
            let log = stream.shard_log(e.shard).expect("test step");
            let (root, size) = log.root().expect("test step");
            let proof = log.inclusion_proof(e.seq, size).expect("test step");
            let record = log.read(e.seq).expect("test step");
            mnemo_log::verify_inclusion(record.frame(), &proof, &root).expect("test step");
            seen.push(i);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..500).collect::<Vec<_>>());
    stream.close().expect("test step");
}

#[test]
fn consumer_cursors_survive_restart() {
    let dir = tempfile::tempdir().expect("test step");
    let publish = |stream: &Stream, range: std::ops::Range<u64>| {
        for n in range {
            let payload = n.to_le_bytes();
            let event = Event {
                kind: 1,
                producer: n,
                time_nanos: 0,
                payload: &payload,
            };
            stream.publish(&event).expect("test step");
        }
        stream.flush().expect("test step");
    };
    let read_all = |tail: &mut mnemo_bus::Consumer| {
        let mut out = Vec::new();
        loop {
            let poll = tail.poll_now(7).expect("test step");
            if poll.events.is_empty() {
                break out;
            }
            out.extend(
                poll.events
                    .iter()
                    .map(|e| u64::from_le_bytes(e.payload[..].try_into().expect("test step"))),
            );
        }
    };
    {
        let stream = Stream::open(dir.path(), "s", config()).expect("test step");
        publish(&stream, 0..40);
        let mut tail = stream.consumer("folder").expect("test step");
        let mut first = read_all(&mut tail);
        first.sort_unstable();
        assert_eq!(first, (0..40).collect::<Vec<_>>());
        tail.commit().expect("test step");
        publish(&stream, 40..50);
        // Read but not committed: delivered again after the restart.
        assert_eq!(read_all(&mut tail).len(), 10);
        assert_eq!(tail.lag(), 0);
        stream.close().expect("test step");
    }
    let stream = Stream::open(dir.path(), "s", config()).expect("test step");
    let mut tail = stream.consumer("folder").expect("test step");
    assert_eq!(tail.lag(), 10);
    let mut again = read_all(&mut tail);
    again.sort_unstable();
    assert_eq!(again, (40..50).collect::<Vec<_>>());
    // Another consumer starts from the beginning.
    assert_eq!(stream.consumer("fresh").expect("test step").lag(), 50);
    assert!(matches!(
        stream.consumer("../escape"),
        Err(Error::InvalidName { .. })
    ));
    // A damaged cursor file is refused, not silently reset.
    tail.commit().expect("test step");
    let path = dir.path().join("consumers").join("folder");
    let mut bytes = std::fs::read(&path).expect("test step");
    bytes[0] ^= 0x20;
    std::fs::write(&path, bytes).expect("test step");
    assert!(matches!(
        stream.consumer("folder"),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn a_consumer_overtaken_by_retention_is_told_what_it_missed() {
    let dir = tempfile::tempdir().expect("test step");
    let mut config = StreamConfig::default()
        .shards(1)
        .sync(SyncPolicy::Never)
        .types(["tick"]);
    config.segment_bytes = 4096;
    config.retention = Retention {
        max_records: Some(100),
        ..Retention::default()
    };
    let stream = Stream::open(dir.path(), "short", config).expect("test step");
    let mut slow = stream.consumer("slow").expect("test step");
    let payload = [0u8; 100];
    for _ in 0..2000 {
        stream
            .publish(&Event {
                kind: 1,
                producer: 0,
                time_nanos: 0,
                payload: &payload,
            })
            .expect("test step");
    }
    stream.flush().expect("test step");
    let first = stream.shard_log(0).expect("test step").first_seq();
    assert!(first > 0, "retention removed the oldest segments");
    let poll = slow.poll_now(10).expect("test step");
    assert_eq!(
        poll.missed,
        vec![mnemo_bus::Missed {
            shard: 0,
            records: first
        }]
    );
    assert_eq!(poll.events.first().map(|e| e.seq), Some(first));
    assert_eq!(slow.lag(), 2000 - first - poll.events.len() as u64);
}

#[test]
fn a_stream_keeps_its_shard_count_and_refuses_a_damaged_manifest() {
    let dir = tempfile::tempdir().expect("test step");
    Stream::open(dir.path(), "s", config())
        .expect("test step")
        .close()
        .expect("test step");
    match Stream::open(dir.path(), "s", config().shards(4)) {
        Err(Error::Config(msg)) => assert!(msg.contains("has 3 shards"), "{msg}"),
        other => panic!("expected a shard-count error, got {other:?}"),
    }
    // Declaring a new type adds it after the old ones; ids never move.
    let stream = Stream::open(dir.path(), "s", config().types(["metric", "tool_result"]))
        .expect("test step");
    assert_eq!(stream.type_id("tool_result").expect("test step"), 1);
    assert_eq!(stream.type_id("observation").expect("test step"), 2);
    assert_eq!(stream.type_id("metric").expect("test step"), 3);
    stream.close().expect("test step");
    let manifest = dir.path().join("STREAM");
    let text = std::fs::read_to_string(&manifest)
        .expect("test step")
        .replace("shards 3", "shards 5");
    std::fs::write(&manifest, text).expect("test step");
    assert!(matches!(
        Stream::open(dir.path(), "s", config()),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn one_busy_shard_fills_a_whole_poll_and_late_types_are_named() {
    let config = StreamConfig::default()
        .shards(4)
        .sync(SyncPolicy::Never)
        .open_types(true);
    let stream = Stream::in_memory("busy", config).expect("open");
    let mut tail = stream.consumer("reader").expect("consumer");
    let early = stream.type_id("early").expect("register");
    for n in 0..100u64 {
        let payload = n.to_le_bytes();
        stream
            .publish(&Event {
                kind: early,
                producer: 9,
                time_nanos: 0,
                payload: &payload,
            })
            .expect("publish");
    }
    stream.flush().expect("flush");
    assert_eq!(tail.poll_now(100).expect("poll").events.len(), 100);
    // A type registered after the reader was made is named on delivery.
    let late = stream.type_id("late").expect("register");
    stream
        .publish(&Event {
            kind: late,
            producer: 9,
            time_nanos: 0,
            payload: b"x",
        })
        .expect("publish");
    stream.flush().expect("flush");
    let poll = tail.poll_now(10).expect("poll");
    assert_eq!(&*poll.events[0].type_name, "late");
}
