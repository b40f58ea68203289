//! Each backpressure mode does exactly what it says under overload. The
//! writers are paused so the rings fill deterministically.

use std::time::{Duration, Instant};

use mnemo_bus::{Backpressure, Dropped, Error, Event, Published, Stream, StreamConfig, SyncPolicy};

fn stream(mode: Backpressure, capacity: usize) -> (Stream, u16) {
    let config = StreamConfig::default()
        .shards(1)
        .ring_capacity(capacity)
        .backpressure(mode)
        .sync(SyncPolicy::Never)
        .types(["tick"]);
    let stream = Stream::in_memory("overload", config).expect("open");
    let kind = stream.type_id("tick").expect("declared");
    (stream, kind)
}

fn event(kind: u16, n: u64, payload: &mut [u8; 8]) -> Event<'_> {
    *payload = n.to_le_bytes();
    Event {
        kind,
        producer: 1,
        time_nanos: 0,
        payload: &payload[..],
    }
}

fn publish(stream: &Stream, kind: u16, n: u64) -> Result<Published, Error> {
    let mut buf = [0u8; 8];
    stream.publish(&event(kind, n, &mut buf))
}

/// Every event the stream wrote, as the numbers the tests put in them.
fn written(stream: &Stream) -> Vec<u64> {
    stream.flush().expect("flush");
    let mut tail = stream.consumer("check").expect("consumer");
    let mut out = Vec::new();
    loop {
        let poll = tail.poll_now(1000).expect("poll");
        if poll.events.is_empty() {
            return out;
        }
        out.extend(
            poll.events
                .iter()
                .map(|e| u64::from_le_bytes(e.payload[..8].try_into().expect("8 bytes"))),
        );
    }
}

#[test]
fn drop_newest_keeps_the_first_events_and_counts_the_rest() {
    let (stream, kind) = stream(Backpressure::DropNewest, 8);
    stream.pause();
    let outcomes: Vec<_> = (0..12)
        .map(|n| publish(&stream, kind, n).expect("publish"))
        .collect();
    assert!(
        outcomes[..8]
            .iter()
            .all(|o| matches!(o, Published::Accepted(_)))
    );
    assert!(
        outcomes[8..]
            .iter()
            .all(|o| *o == Published::Dropped(Dropped::Newest))
    );
    let stats = stream.stats().total();
    assert_eq!(
        (stats.accepted, stats.dropped_newest, stats.queued),
        (8, 4, 8)
    );
    stream.resume();
    assert_eq!(written(&stream), (0..8).collect::<Vec<_>>());
    assert_eq!(stream.stats().total().written, 8);
}

#[test]
fn drop_oldest_keeps_the_newest_events() {
    let (stream, kind) = stream(Backpressure::DropOldest, 8);
    stream.pause();
    for n in 0..12 {
        assert!(matches!(
            publish(&stream, kind, n).expect("publish"),
            Published::Accepted(_)
        ));
    }
    let stats = stream.stats().total();
    assert_eq!(
        (stats.accepted, stats.dropped_oldest, stats.queued),
        (12, 4, 8)
    );
    stream.resume();
    assert_eq!(written(&stream), (4..12).collect::<Vec<_>>());
}

#[test]
fn sample_keeps_one_in_n_once_half_full_and_drops_when_full() {
    let (stream, kind) = stream(Backpressure::Sample(4), 16);
    stream.pause();
    let mut kept = Vec::new();
    for n in 0..8 {
        // Below half full: everything is kept.
        assert!(matches!(
            publish(&stream, kind, n).expect("test step"),
            Published::Accepted(_)
        ));
        kept.push(n);
    }
    for n in 8..40 {
        match publish(&stream, kind, n).expect("test step") {
            Published::Accepted(_) => kept.push(n),
            Published::Dropped(why) => assert_eq!(why, Dropped::SampledOut, "event {n}"),
        }
    }
    // Every 4th offer from the 9th on is kept: 8, 12, ..., 36.
    assert_eq!(kept[8..], (8..40).step_by(4).collect::<Vec<_>>()[..]);
    // The ring is now full: the next kept sample finds no room.
    assert_eq!(
        publish(&stream, kind, 40).expect("test step"),
        Published::Dropped(Dropped::Newest)
    );
    for n in 41..44 {
        assert_eq!(
            publish(&stream, kind, n).expect("test step"),
            Published::Dropped(Dropped::SampledOut)
        );
    }
    let stats = stream.stats().total();
    assert_eq!(stats.accepted, 16);
    assert_eq!(stats.sampled_out, 24 + 3);
    assert_eq!(stats.dropped_newest, 1);
    stream.resume();
    assert_eq!(written(&stream), kept);
}

#[test]
fn error_refuses_at_once_and_changes_nothing() {
    let (stream, kind) = stream(Backpressure::Error, 8);
    stream.pause();
    for n in 0..8 {
        publish(&stream, kind, n).expect("room");
    }
    let started = Instant::now();
    match publish(&stream, kind, 8) {
        Err(Error::Full {
            shard: 0,
            capacity: 8,
            ..
        }) => {}
        other => panic!("expected Full, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    let stats = stream.stats().total();
    assert_eq!((stats.accepted, stats.rejected), (8, 1));
    stream.resume();
    stream.flush().expect("flush");
    publish(&stream, kind, 8).expect("room again");
    assert_eq!(written(&stream), (0..9).collect::<Vec<_>>());
}

#[test]
fn block_waits_for_room_and_loses_nothing() {
    let (stream, kind) = stream(Backpressure::Block, 8);
    stream.pause();
    for n in 0..8 {
        publish(&stream, kind, n).expect("room");
    }
    let blocked = {
        let stream = stream.clone();
        std::thread::spawn(move || {
            let mut accepted = 0;
            for n in 8..20 {
                if let Published::Accepted(_) = publish(&stream, kind, n).expect("blocked publish")
                {
                    accepted += 1;
                }
            }
            accepted
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!blocked.is_finished(), "the producer should be waiting");
    assert_eq!(stream.stats().total().blocked, 1);
    stream.resume();
    assert_eq!(blocked.join().expect("producer"), 12);
    assert_eq!(written(&stream), (0..20).collect::<Vec<_>>());
    let stats = stream.stats().total();
    assert_eq!(
        stats.dropped_newest + stats.dropped_oldest + stats.sampled_out,
        0
    );
}

#[test]
fn block_gives_up_after_its_timeout_without_enqueueing() {
    let config = StreamConfig::default()
        .shards(1)
        .ring_capacity(4)
        .block_timeout(Duration::from_millis(50))
        .sync(SyncPolicy::Never)
        .types(["tick"]);
    let stream = Stream::in_memory("slow", config).expect("test step");
    stream.pause();
    for n in 0..4 {
        publish(&stream, 1, n).expect("test step");
    }
    let started = Instant::now();
    match publish(&stream, 1, 4) {
        Err(Error::Timeout { waited, .. }) => assert!(waited >= Duration::from_millis(50)),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(50));
    let stats = stream.stats().total();
    assert_eq!((stats.accepted, stats.timed_out), (4, 1));
    stream.resume();
    assert_eq!(written(&stream), vec![0, 1, 2, 3]);
}

#[test]
fn bad_events_are_refused_before_anything_is_enqueued() {
    let config = StreamConfig::default()
        .shards(2)
        .sync(SyncPolicy::Never)
        .types(["tick"]);
    let stream = Stream::in_memory("strict", config).expect("test step");
    let big = vec![0u8; 64 * 1024 + 1];
    let ok = Event {
        kind: 1,
        producer: 3,
        time_nanos: 0,
        payload: b"ok",
    };
    let too_large = Event {
        payload: &big,
        ..ok
    };
    let unknown = Event { kind: 2, ..ok };
    let zero = Event { kind: 0, ..ok };
    assert!(matches!(
        stream.publish(&too_large),
        Err(Error::TooLarge {
            len: 65537,
            max: 65536
        })
    ));
    assert!(matches!(
        stream.publish(&unknown),
        Err(Error::UnknownTypeId { id: 2, .. })
    ));
    assert!(matches!(
        stream.publish(&zero),
        Err(Error::UnknownTypeId { id: 0, .. })
    ));
    let err = stream
        .publish_batch(&[ok, ok, unknown, ok])
        .expect_err("an unknown type refuses the batch");
    assert_eq!(err.stopped_at, 2);
    assert_eq!(err.receipt.accepted, 0);
    assert_eq!(
        stream.stats().total().accepted,
        0,
        "a refused batch enqueues nothing"
    );
    match stream.type_id("deploy") {
        Err(Error::UnknownType { name, declared, .. }) => {
            assert_eq!(name, "deploy");
            assert_eq!(declared, "tick");
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
    assert!(matches!(
        stream.type_id("no spaces"),
        Err(Error::UnknownType { .. })
    ));
    let receipt = stream.publish_batch(&[ok, ok, ok]).expect("test step");
    assert_eq!(receipt.accepted, 3);
    stream.wait_receipt(&receipt).expect("test step");
    stream.close().expect("test step");
    assert!(matches!(stream.publish(&ok), Err(Error::Closed(_))));
}

#[test]
fn open_types_register_on_first_use() {
    let config = StreamConfig::default()
        .open_types(true)
        .sync(SyncPolicy::Never);
    let stream = Stream::in_memory("open", config).expect("test step");
    assert_eq!(stream.type_id("a").expect("test step"), 1);
    assert_eq!(stream.type_id("b").expect("test step"), 2);
    assert_eq!(stream.type_id("a").expect("test step"), 1);
    assert!(matches!(
        stream.type_id("not valid"),
        Err(Error::InvalidName { .. })
    ));
    assert_eq!(stream.type_name(2).as_deref(), Some("b"));
    assert_eq!(stream.type_name(3), None);
}

#[test]
fn concurrent_producers_lose_nothing_and_keep_their_order() {
    const PRODUCERS: u64 = 4;
    const EVENTS: u64 = 20_000;
    let config = StreamConfig::default()
        .shards(2)
        .ring_capacity(64)
        .sync(SyncPolicy::Never)
        .types(["tick"]);
    let stream = Stream::in_memory("busy", config).expect("test step");
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let stream = stream.clone();
            std::thread::spawn(move || {
                let mut events: Vec<[u8; 16]> = Vec::new();
                let flush = |events: &mut Vec<[u8; 16]>| {
                    let batch: Vec<Event<'_>> = events
                        .iter()
                        .map(|b| Event {
                            kind: 1,
                            producer: p,
                            time_nanos: 0,
                            payload: b,
                        })
                        .collect();
                    stream.publish_batch(&batch).expect("test step");
                    events.clear();
                };
                for n in 0..EVENTS {
                    let mut payload = [0u8; 16];
                    payload[..8].copy_from_slice(&p.to_le_bytes());
                    payload[8..].copy_from_slice(&n.to_le_bytes());
                    if n % 3 == 0 {
                        // Singles and batches interleave in publish order.
                        flush(&mut events);
                        let ev = Event {
                            kind: 1,
                            producer: p,
                            time_nanos: n,
                            payload: &payload,
                        };
                        stream.publish(&ev).expect("test step");
                    } else {
                        events.push(payload);
                        if events.len() == 7 {
                            flush(&mut events);
                        }
                    }
                }
                flush(&mut events);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("test step");
    }
    stream.flush().expect("test step");
    let mut tail = stream.consumer("all").expect("test step");
    let mut seen = vec![Vec::new(); PRODUCERS as usize];
    loop {
        let poll = tail.poll_now(4096).expect("test step");
        if poll.events.is_empty() {
            break;
        }
        for e in poll.events {
            let p = u64::from_le_bytes(e.payload[..8].try_into().expect("test step"));
            assert_eq!(p, e.producer);
            assert_eq!(e.shard, stream.shard_of(p));
            seen[p as usize].push(u64::from_le_bytes(
                e.payload[8..16].try_into().expect("test step"),
            ));
        }
    }
    for (p, numbers) in seen.iter().enumerate() {
        assert_eq!(numbers.len() as u64, EVENTS, "producer {p}");
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "producer {p} out of order"
        );
    }
}
