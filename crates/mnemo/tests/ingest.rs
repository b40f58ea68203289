//! Raw events beside memories: ingest acknowledges durably, promotion
//! rules turn selected events into memories in the background, promotion
//! resumes after a restart without duplicating, and bad input is refused
//! before anything is enqueued.

use std::time::Duration;

use mnemo::ingest::{IngestOptions, Predicate, PromotionRule, RawEvent};
use mnemo::{Error, Mnemo, Options, Query, Value};

fn tool_errors() -> PromotionRule {
    let mut rule = PromotionRule::new("tool-errors", &["tool_result"]);
    rule.when = Predicate::Exists("error".into());
    rule.content = "{tool} failed: {error}".into();
    rule.tags = vec!["tool-error".into()];
    rule.tag_fields = vec!["tool".into()];
    rule
}

fn options(rules: Vec<PromotionRule>) -> Options {
    Options {
        ingest: IngestOptions {
            rules,
            ..IngestOptions::default()
        },
        ..Options::default()
    }
}

fn tool_result(i: usize) -> String {
    if i % 10 == 3 {
        format!(r#"{{"tool":"search","error":"timeout number {i}","ms":30000}}"#)
    } else {
        format!(r#"{{"tool":"calc","result":{i}}}"#)
    }
}

fn ingest_results(ns: &mnemo::Namespace, range: std::ops::Range<usize>) {
    let payloads: Vec<String> = range.map(tool_result).collect();
    let events: Vec<RawEvent<'_>> = payloads
        .iter()
        .map(|p| RawEvent {
            kind: "tool_result",
            producer: 7,
            at: None,
            payload: p.as_bytes(),
        })
        .collect();
    let done = ns.ingest_batch(&events).expect("ingest");
    assert_eq!((done.accepted, done.dropped), (events.len(), 0));
}

#[test]
fn tool_errors_become_memories_tagged_with_the_tool() {
    let mnemo = Mnemo::in_memory_with(options(vec![tool_errors()]));
    let ns = mnemo.namespace("agent").expect("namespace");
    ingest_results(&ns, 0..100);
    assert!(
        ns.ingest(&RawEvent {
            kind: "observation",
            producer: 1,
            at: Some(mnemo::Timestamp::from_secs(1_700_000_000)),
            payload: b"the sky is clear",
        })
        .expect("ingest one")
    );
    assert!(
        ns.wait_for_promotion(Duration::from_secs(10))
            .expect("wait")
    );
    let promoted = ns.query(&Query::new().tag("tool-error"));
    assert_eq!(promoted.len(), 10);
    for memory in &promoted {
        assert!(
            memory.tags.iter().any(|t| t == "search"),
            "tagged with the tool"
        );
        assert!(memory.content.starts_with("search failed: timeout number "));
        assert_eq!(
            memory.metadata.get("promoted_by"),
            Some(&Value::Text("tool-errors".into()))
        );
        assert_eq!(
            memory.metadata.get("event_type"),
            Some(&Value::Text("tool_result".into()))
        );
    }
    let (stream, promotion) = ns.ingest_stats().expect("a stream is open");
    assert_eq!(stream.total().written, 101);
    assert_eq!(promotion.promoted, 10);
    assert_eq!(promotion.unmatched, 91);
    assert_eq!(promotion.lag_events, 0);
    let hits = ns
        .recall("which tool failed with a timeout", 3, &Query::new())
        .expect("recall");
    assert!(hits[0].memory.content.contains("search failed"));
    // The raw events stay readable by any consumer.
    let mut tail = ns
        .events()
        .expect("stream")
        .consumer("audit")
        .expect("consumer");
    let poll = tail.poll_now(1000).expect("poll");
    assert_eq!(poll.events.len(), 101);
    ns.close().expect("close");
    assert!(matches!(
        ns.ingest(&RawEvent {
            kind: "x",
            producer: 0,
            at: None,
            payload: b""
        }),
        Err(Error::Closed(_))
    ));
}

#[test]
fn promotion_resumes_after_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // No rules yet: events are only kept.
        let mnemo = Mnemo::open_with(dir.path(), options(Vec::new())).expect("open");
        let ns = mnemo.namespace("agent").expect("namespace");
        ingest_results(&ns, 0..50);
        assert_eq!(ns.query(&Query::new().tag("tool-error")).len(), 0);
        ns.close().expect("close");
        mnemo.close().expect("close engine");
    }
    for round in 0..2 {
        let mnemo = Mnemo::open_with(dir.path(), options(vec![tool_errors()])).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        if round == 1 {
            ingest_results(&ns, 50..100);
        }
        assert!(
            ns.wait_for_promotion(Duration::from_secs(10))
                .expect("wait")
        );
        let expected = if round == 0 { 5 } else { 10 };
        assert_eq!(
            ns.query(&Query::new().tag("tool-error")).len(),
            expected,
            "round {round}"
        );
        ns.close().expect("close");
        mnemo.close().expect("close engine");
    }
}

#[test]
fn bad_events_and_bad_rules_are_refused_with_their_reason() {
    let mnemo = Mnemo::in_memory_with(options(vec![tool_errors()]));
    let ns = mnemo.namespace("agent").expect("namespace");
    let ok = RawEvent {
        kind: "note",
        producer: 1,
        at: None,
        payload: b"fine",
    };
    let bad_type = RawEvent {
        kind: "no spaces allowed",
        ..ok
    };
    let bad_time = RawEvent {
        at: Some(mnemo::Timestamp(-5)),
        ..ok
    };
    let big = vec![b'x'; 64 * 1024 + 1];
    let too_big = RawEvent {
        payload: &big,
        ..ok
    };
    let message = |e: Error| e.to_string();
    let e = ns.ingest_batch(&[ok, bad_type]).expect_err("bad type");
    assert!(message(e).contains("no spaces allowed"));
    let e = ns.ingest_batch(&[ok, ok, bad_time]).expect_err("bad time");
    assert!(message(e).contains("event 2 of the batch"));
    let e = ns.ingest(&too_big).expect_err("too big");
    assert!(message(e).contains("exceeds the stream's max_event_bytes"));
    let (stream, _) = ns.ingest_stats().expect("a stream is open");
    // `note` was registered by the first batch's check, but nothing was
    // enqueued by any of the refused calls.
    assert_eq!(stream.total().accepted, 0);

    let mut bad_rule = tool_errors();
    bad_rule.importance = 2.0;
    let mnemo = Mnemo::in_memory_with(options(vec![bad_rule]));
    let ns = mnemo.namespace("agent").expect("namespace");
    let e = ns.ingest(&ok).expect_err("a bad rule");
    assert!(message(e).contains("importance must be in [0, 1]"));
}

#[test]
fn a_rule_whose_memory_is_invalid_is_counted_not_fatal() {
    let mut empty = PromotionRule::new("empty", &["note"]);
    empty.content = "{missing}".into();
    let mnemo = Mnemo::in_memory_with(options(vec![empty, tool_errors()]));
    let ns = mnemo.namespace("agent").expect("namespace");
    ns.ingest(&RawEvent {
        kind: "note",
        producer: 1,
        at: None,
        payload: b"{}",
    })
    .expect("ingest");
    ingest_results(&ns, 0..10);
    assert!(
        ns.wait_for_promotion(Duration::from_secs(10))
            .expect("wait")
    );
    let (_, promotion) = ns.ingest_stats().expect("a stream is open");
    assert_eq!(promotion.rejected, 1);
    assert_eq!(promotion.promoted, 1);
    assert!(
        promotion
            .last_error
            .expect("a reason")
            .contains("rule empty")
    );
}
