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
