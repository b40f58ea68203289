//! Model-based property test: random sequences of appends, batch appends,
//! oversized records, syncs, retention and reopens run against the log (on
//! a simulated disk, with tiny segments so rolls happen all the time) and
//! against a plain `Vec` of payloads; after every step every read path of
//! the log must agree with the model.

use std::sync::Arc;

use mnemo_log::sim::SimDisk;
use mnemo_log::{Config, Error, Log, Retention, SyncPolicy, verify_inclusion};
use proptest::prelude::*;

/// Largest payload the logs under test accept.
const MAX_RECORD: usize = 200;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Batch(Vec<Vec<u8>>),
    /// A batch with one record over the size limit: must change nothing.
    OversizedBatch(usize),
    Sync,
    Retain(u64),
    Reopen,
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..MAX_RECORD)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => payload().prop_map(Op::Append),
        3 => proptest::collection::vec(payload(), 0..20).prop_map(Op::Batch),
        1 => (0usize..5).prop_map(Op::OversizedBatch),
        1 => Just(Op::Sync),
        1 => (1u64..60).prop_map(Op::Retain),
        1 => Just(Op::Reopen),
    ]
}

/// The model: the payloads still retained, and the seq of the first.
struct Model {
    first: u64,
    payloads: Vec<Vec<u8>>,
}

impl Model {
    fn next_seq(&self) -> u64 {
        self.first + self.payloads.len() as u64
    }
}

fn config(segment_bytes: u64, retain: Option<u64>) -> Config {
    Config::default()
        .segment_bytes(segment_bytes)
        .max_record_bytes(MAX_RECORD)
        .sync(SyncPolicy::Never)
        .retention(Retention {
            max_records: retain,
            ..Retention::default()
        })
}

/// Retention (applied on open and after every segment roll) may drop whole
/// head segments: the model drops the same records, after checking that the
/// log kept at least `retain` of them and dropped nothing without a limit.
fn follow_retention(log: &Log, model: &mut Model, retain: Option<u64>) {
    let first = log.first_seq();
    assert!(first >= model.first, "the head moved backwards");
    match retain {
        None => assert_eq!(first, model.first, "records dropped without a limit"),
        Some(max) => {
            let kept = model.next_seq() - first;
            let had = model.next_seq() - model.first;
            assert!(
                kept >= max.min(had),
                "kept {kept} of {had} records, limit {max}"
            );
        }
    }
    model.payloads.drain(..(first - model.first) as usize);
    model.first = first;
}

/// Every way of reading the log agrees with the model.
fn check(log: &Log, model: &Model) {
    assert_eq!(log.first_seq(), model.first, "first_seq");
    assert_eq!(log.next_seq(), model.next_seq(), "next_seq");
    let end = model.next_seq();
    for (i, expected) in model.payloads.iter().enumerate() {
        let seq = model.first + i as u64;
        let record = log.read(seq).expect("retained record is readable");
        assert_eq!(record.seq(), seq);
        assert_eq!(record.payload(), &expected[..], "read({seq})");
        assert_eq!(record.len(), expected.len());
    }
    assert!(log.read(end).is_none(), "read past the end");
    if model.first > 0 {
        assert!(log.read(model.first - 1).is_none(), "read before the head");
    }
    let reader = log.reader();
    let borrowed: Vec<&[u8]> = reader.iter(0..u64::MAX).map(|r| r.payload()).collect();
    let expected: Vec<&[u8]> = model.payloads.iter().map(Vec::as_slice).collect();
    assert_eq!(borrowed, expected, "reader().iter");
    for (i, expected) in model.payloads.iter().enumerate() {
        let seq = model.first + i as u64;
        let record = reader.get(seq).expect("reader.get");
        assert_eq!(record.payload(), &expected[..], "reader.get({seq})");
        assert_eq!(
            record.timestamp_nanos(),
            log.read(seq).expect("read").timestamp_nanos()
        );
    }
    drop(reader);
    let iterated: Vec<Vec<u8>> = log.iter_from(0).map(|r| r.payload().to_vec()).collect();
    // Iterating from a seq retention removed yields nothing; from the head, all.
    if model.first == 0 {
        assert_eq!(iterated, model.payloads, "iter_from(0)");
    } else {
        assert!(iterated.is_empty(), "iter_from(0) behind the head");
    }
    let from_head: Vec<Vec<u8>> = log
        .iter_from(model.first)
        .map(|r| r.payload().to_vec())
        .collect();
    assert_eq!(from_head, model.payloads, "iter_from(first)");
    if let Some(last) = end.checked_sub(1).filter(|&s| s >= model.first) {
        let (root, size) = log.root().expect("root");
        let proof = log.inclusion_proof(last, size).expect("proof");
        let record = log.read(last).expect("last record");
        verify_inclusion(record.frame(), &proof, &root).expect("proof of the last record");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_log_behaves_like_a_vec(
        segment_bytes in 64u64..2_000,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let disk = SimDisk::new();
        let mut retain = None;
        let mut log = Log::open_on(Arc::new(disk.clone()), config(segment_bytes, retain))
            .expect("open");
        let mut model = Model { first: 0, payloads: Vec::new() };
        for op in ops {
            match op {
                Op::Append(p) => {
                    let seq = log.append(&p).expect("append");
                    prop_assert_eq!(seq, model.next_seq());
                    model.payloads.push(p);
                }
                Op::Batch(batch) => {
                    let range = log.append_batch(&batch).expect("batch").seqs;
                    prop_assert_eq!(range.start, model.next_seq());
                    prop_assert_eq!(range.end - range.start, batch.len() as u64);
                    model.payloads.extend(batch);
                }
                Op::OversizedBatch(at) => {
                    let mut batch = vec![vec![1u8; 3]; 4];
                    batch.insert(at.min(batch.len()), vec![2u8; MAX_RECORD + 1]);
                    let result = log.append_batch(&batch);
                    prop_assert!(
                        matches!(result, Err(Error::RecordTooLarge { .. })),
                        "oversized batch was not refused"
                    );
                }
                Op::Sync => log.sync().expect("sync"),
                Op::Retain(max) => {
                    // Takes effect on reopen; then whole head segments go
                    // while at least `max` records stay.
                    retain = Some(max);
                    log.close().expect("close");
                    log = Log::open_on(Arc::new(disk.clone()), config(segment_bytes, retain))
                        .expect("reopen with retention");
                }
                Op::Reopen => {
                    log.close().expect("close");
                    log = Log::open_on(Arc::new(disk.clone()), config(segment_bytes, retain))
                        .expect("reopen");
                    prop_assert_eq!(log.recovery_report().truncated_bytes, 0);
                }
            }
            follow_retention(&log, &mut model, retain);
            check(&log, &model);
        }
    }
}
