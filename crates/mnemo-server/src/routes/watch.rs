//! Watching a query: Server-Sent Events carrying the result, then every
//! change to it.
//!
//! Events: `current` `{"memories": [...], "total": n, "truncated": bool}`
//! first (and again after `lagged`), `added` and `changed`
//! `{"memory": {...}}`, `removed` `{"id": n}`, `lagged` `{}` when the
//! engine's bounded buffer overflowed (a fresh `current` follows).
//!
//! `current` holds at most `limit` memories (default
//! [`DEFAULT_WATCH_LIMIT`], at most [`MAX_WATCH_LIMIT`]) in id order;
//! `total` counts every match and `truncated` says the limit cut the list.
//! A client pages the rest with `GET .../memories` (the same filters,
//! the same id order, `offset` = the number received so far); changes
//! made meanwhile arrive as events. New memories take higher ids, so they
//! never shift a page; each memory among those already received that
//! stops matching (a `removed` event) shifts the later pages down by
//! one: lower the next offset by one for each.
//!
//! Each stream holds one of `limits.max_watchers` permits (503 when none
//! is left) and ends when the client goes away or the server stops. It
//! holds no thread while it waits: the engine's watcher wakes the stream's
//! task when a change arrives ([`mnemo::Watch::poll_recv`]). The initial
//! query and the fresh one after a lag run on the blocking pool, bounded
//! by the same permits.
//!
//! The events' names and data come from [`ops::watch_start`] and
//! [`ops::watch_event`], which in-process callers use too.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use mnemo::{Watch, WatchEvent};
use tokio::sync::OwnedSemaphorePermit;

use super::{ApiPath, ApiQuery, Caller};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::WatchParams;
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

#[cfg(doc)]
use crate::dto::{DEFAULT_WATCH_LIMIT, MAX_WATCH_LIMIT};

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::GET,
        "/v1/namespaces/{ns}/watch",
        get(watch),
        Doc::new(
            "watch",
            "memories",
            Some(Right::Read),
            "Server-Sent Events: the memories matching a filter (current: at most limit, in id \
             order, with their total and whether the limit truncated them; page the rest with \
             GET .../memories), then each change (added, changed, removed; lagged when the \
             client fell behind, followed by a fresh current).",
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
    // A bad filter is a 400 before the permits are looked at.
    params.to_query()?;
    let permit = state.watchers().clone().try_acquire_owned().map_err(|_| {
        ApiError::unavailable(format!(
            "too many open watch streams (limits.max_watchers = {})",
            state.config().limits.max_watchers
        ))
    })?;
    // The first result is a query of up to `limit` memories plus a count:
    // CPU work kept off the async workers.
    let (watch, current) = tokio::task::spawn_blocking(move || ops::watch_start(&ns, &params))
        .await
        .map_err(|e| ApiError::internal(format!("the watch task failed: {e}")))??;
    let feed = Feed {
        first: Some(sse("current", &current)),
        watch: Some(watch),
        state,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One stream's state: the engine's watcher and the permit it holds
/// (both released when the client goes away and the stream is dropped).
struct Feed {
    /// The first `current` event, until it is sent.
    first: Option<Event>,
    /// `None` only while a blocking thread re-runs the query.
    watch: Option<Watch>,
    state: AppState,
    _permit: OwnedSemaphorePermit,
}

impl Feed {
    /// The next event to send; `None` ends the stream (the server is
    /// stopping or the namespace closed).
    async fn next(&mut self) -> Option<Event> {
        let state = self.state.clone();
        tokio::select! {
            biased;
            () = state.stopping() => None,
            event = self.recv() => event,
        }
    }

    async fn recv(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let mut watch = self.watch.take()?;
        if watch.resyncing() {
            // After `lagged` the watcher re-runs its query on this call:
            // a blocking thread does it.
            let (watch, event) = tokio::task::spawn_blocking(move || {
                let event = watch.try_recv();
                (watch, event)
            })
            .await
            .ok()?;
            let sse = event.map(|e| to_sse(&e, &watch));
            self.watch = Some(watch);
            return sse;
        }
        let event = std::future::poll_fn(|cx| watch.poll_recv(cx)).await;
        let sse = event.map(|e| to_sse(&e, &watch));
        self.watch = Some(watch);
        sse
    }
}

fn to_sse(event: &WatchEvent, watch: &Watch) -> Event {
    let (name, data) = ops::watch_event(watch, event);
    sse(name, &data)
}

fn sse(name: &'static str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}
