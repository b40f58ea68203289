//! Watching a query: Server-Sent Events carrying the result, then every
//! change to it.
//!
//! Events: `current` `{"memories": [...]}` first (and again after
//! `lagged`), `added` and `changed` `{"memory": {...}}`, `removed`
//! `{"id": n}`, `lagged` `{}` when the engine's bounded buffer overflowed
//! (a fresh `current` follows). Each stream holds one of
//! `limits.max_watchers` permits (503 when none is left) and ends when the
//! client goes away or the server stops.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use mnemo::WatchEvent;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiPath, ApiQuery, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{FilterIn, MemoryOut, WatchParams};
use crate::error::ApiError;
use crate::state::{AppState, Phase};

/// Events buffered per stream between the engine and the socket; a slow
/// client that lets it fill makes the engine's watcher lag (it then gets
/// `lagged` and a fresh `current`), never the writers wait.
const STREAM_BUFFER: usize = 256;

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::GET,
        "/v1/namespaces/{ns}/watch",
        get(watch),
        Doc::new(
            "watch",
            "memories",
            Some(Right::Read),
            "Server-Sent Events: the memories matching a filter (current), then each change \
             (added, changed, removed; lagged when the client fell behind).",
        )
        .query::<WatchParams>()
        .ok_raw("text/event-stream"),
    )
}

async fn watch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<WatchParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let filter = FilterIn::simple(
        params.tag.as_ref(),
        params.source.as_ref(),
        params.kind.as_ref(),
        params.contains.as_ref(),
    );
    let query = filter.to_query()?;
    let permit = state.watchers().clone().try_acquire_owned().map_err(|_| {
        ApiError::unavailable(format!(
            "too many open watch streams (limits.max_watchers = {})",
            state.config().limits.max_watchers
        ))
    })?;
    let mut watcher = ns.watch(query)?;
    let (tx, rx) = mpsc::channel::<Event>(STREAM_BUFFER);
    let st = state.clone();
    // The engine's watcher blocks; a blocking-pool thread moves its events
    // to the stream until the client leaves or the server stops.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        loop {
            if tx.is_closed() || st.phase() == Phase::Stopping {
                return;
            }
            let Some(event) = watcher.recv_timeout(Duration::from_millis(250)) else {
                continue;
            };
            if tx.blocking_send(to_sse(&event)).is_err() {
                return;
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn to_sse(event: &WatchEvent) -> Event {
    let (name, data) = match event {
        WatchEvent::Current(list) => (
            "current",
            json!({"memories": list.iter().map(|m| MemoryOut::from(&**m)).collect::<Vec<_>>()}),
        ),
        WatchEvent::Added(m) => ("added", json!({"memory": MemoryOut::from(&**m)})),
        WatchEvent::Changed(m) => ("changed", json!({"memory": MemoryOut::from(&**m)})),
        WatchEvent::Removed(id) => ("removed", json!({"id": id.0})),
        WatchEvent::Lagged => ("lagged", json!({})),
    };
    Event::default().event(name).data(data.to_string())
}
