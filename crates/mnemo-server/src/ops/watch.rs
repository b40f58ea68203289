//! Watching a query: the events the SSE route `GET .../watch` sends, for
//! any transport.
//!
//! Events: `current` `{"memories": [...], "total": n, "truncated": bool}`
//! first (and again after `lagged`), `added` and `changed`
//! `{"memory": {...}}`, `removed` `{"id": n}`, `lagged` `{}` when the
//! engine's bounded buffer overflowed. After `lagged` the watcher's next
//! receive re-runs the query and yields a fresh `current` (see
//! [`mnemo::Watch`]), so a caller that keeps receiving and converting
//! with [`watch_event`] sends exactly what the route sends.

use std::time::Duration;

use mnemo::{Namespace, Watch, WatchEvent};
use serde_json::{Value as Json, json};

use crate::dto::{MemoryOut, WatchParams};
use crate::error::ApiError;

/// Starts watching the memories `params` select in `ns` and takes the
/// first event: the watcher and the data of its `current` event (at most
/// `params.limit` memories in id order, their `total`, whether the limit
/// `truncated` them). Runs a query: a blocking call.
///
/// Should the engine's buffer overflow before the first event is taken,
/// the `lagged` it would report is absorbed here: the data is then the
/// fresh result taken after it.
pub fn watch_start(ns: &Namespace, params: &WatchParams) -> Result<(Watch, Json), ApiError> {
    let query = params.to_query()?;
    let mut watch = ns.watch(query)?;
    // The first result is queued when the watcher registers; only a lag
    // can come before it, and the receive after a lag is the fresh result.
    for _ in 0..2 {
        match watch.try_recv() {
            Some(event @ WatchEvent::Current(_)) => {
                let (_, data) = watch_event(&watch, &event);
                return Ok((watch, data));
            }
            Some(_) => continue,
            None => break,
        }
    }
    Err(ApiError::from(mnemo::Error::Closed(ns.name().to_owned())))
}

/// The SSE event name and JSON data of `event`, received from `watch`
/// (whose [`Watch::total`] a `current` event reports).
pub fn watch_event(watch: &Watch, event: &WatchEvent) -> (&'static str, Json) {
    match event {
        WatchEvent::Current(list) => {
            let total = watch.total();
            (
                "current",
                json!({
                    "memories": list.iter().map(|m| MemoryOut::from(&**m)).collect::<Vec<_>>(),
                    "total": total,
                    "truncated": total > list.len() as u64,
                }),
            )
        }
        WatchEvent::Added(m) => ("added", json!({"memory": MemoryOut::from(&**m)})),
        WatchEvent::Changed(m) => ("changed", json!({"memory": MemoryOut::from(&**m)})),
        WatchEvent::Removed(id) => ("removed", json!({"id": id.0})),
        WatchEvent::Lagged => ("lagged", json!({})),
    }
}

/// The next event of `watch` as [`watch_event`] converts it, waiting at
/// most `timeout` (forever when `None`; blocks the calling thread).
/// `None` on timeout or once the namespace closed.
pub fn watch_next(watch: &mut Watch, timeout: Option<Duration>) -> Option<(&'static str, Json)> {
    let event = match timeout {
        Some(t) => watch.recv_timeout(t)?,
        None => watch.recv()?,
    };
    Some(watch_event(watch, &event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(watch_buffer: usize) -> (mnemo::Mnemo, Namespace) {
        let options = mnemo::Options {
            watch_buffer,
            ..mnemo::Options::default()
        };
        let engine = mnemo::Mnemo::in_memory_with(options);
        let ns = engine.namespace("t").expect("a namespace in memory");
        (engine, ns)
    }

    fn tagged(text: &str) -> mnemo::NewMemory {
        let mut m = mnemo::NewMemory::new(text);
        m.tags = vec!["sky".into()];
        m
    }

    #[test]
    fn the_first_event_then_each_change() {
        let (_engine, ns) = engine(64);
        ns.remember(tagged("blue")).expect("remembered");
        ns.remember(mnemo::NewMemory::new("untagged"))
            .expect("remembered");
        let params = WatchParams {
            tag: Some("sky".into()),
            limit: Some(1),
            ..WatchParams::default()
        };
        let (mut watch, current) = watch_start(&ns, &params).expect("watching");
        assert_eq!(current["total"], 1);
        assert_eq!(current["truncated"], false);
        assert_eq!(current["memories"][0]["content"], "blue");

        let id = ns.remember(tagged("grey")).expect("remembered");
        let (name, data) = watch_next(&mut watch, Some(Duration::from_secs(5))).expect("added");
        assert_eq!(name, "added");
        assert_eq!(data["memory"]["content"], "grey");
        ns.forget(id).expect("forgotten");
        let (name, data) = watch_next(&mut watch, Some(Duration::from_secs(5))).expect("removed");
        assert_eq!((name, data), ("removed", json!({"id": id.0})));
        assert!(watch_next(&mut watch, Some(Duration::from_millis(10))).is_none());

        let too_many = WatchParams {
            limit: Some(crate::dto::MAX_WATCH_LIMIT + 1),
            ..WatchParams::default()
        };
        let e = watch_start(&ns, &too_many).expect_err("over the limit");
        assert!(e.message.starts_with("limit: "), "{e}");
    }

    #[test]
    fn a_lag_is_followed_by_a_fresh_current() {
        let (_engine, ns) = engine(2);
        let (mut watch, current) = watch_start(&ns, &WatchParams::default()).expect("watching");
        assert_eq!(current["total"], 0);
        for text in ["a", "b", "c", "d"] {
            ns.remember(mnemo::NewMemory::new(text))
                .expect("remembered");
        }
        let wait = Some(Duration::from_secs(5));
        let (name, data) = watch_next(&mut watch, wait).expect("lagged");
        assert_eq!((name, data), ("lagged", json!({})));
        let (name, data) = watch_next(&mut watch, wait).expect("current");
        assert_eq!(name, "current");
        assert_eq!(data["total"], 4);
        assert_eq!(data["memories"].as_array().map(Vec::len), Some(4));
    }
}
