//! Raw events: ingest (JSON, JSON lines or the binary batch form), a
//! streaming ingest for producers that keep a connection, tailing, and the
//! stream's counters. The namespace's `mnemo-bus` stream does the work
//! (see [`mnemo::ingest`]).
//!
//! - `POST /v1/namespaces/{ns}/events` takes `{"events": [...]}`
//!   (`application/json`), one event object per line
//!   (`application/x-ndjson`), or the binary form
//!   ([`crate::events_binary`], `application/vnd.mnemo.events`). The answer
//!   comes once every event is written and durable (group commit), so a 200
//!   acknowledges them all. A bad event refuses the whole batch (400,
//!   naming it) before anything is enqueued. Under the stream's `error`
//!   backpressure a full ring answers 429 with `Retry-After` (the events
//!   before it went in: the message says how many); a `block` that timed
//!   out answers 503.
//! - `POST /v1/namespaces/{ns}/events/stream` reads JSON lines as they
//!   arrive (chunked upload, no total size limit, no request timeout) and
//!   answers with a stream of JSON lines: `{"acked": N, "dropped": D}`
//!   after each batch is durable, then `{"done": true, ...}`. A line longer
//!   than the stream's `max_event_bytes` (plus room for JSON) or a bad line
//!   ends the exchange with `{"error": ...}` naming the line; what was
//!   acknowledged before stays. A producer that disconnects mid-line loses
//!   only that unfinished line.
//! - `GET /v1/namespaces/{ns}/events?from=S0,S1,...&max=N&wait_ms=W` reads
//!   events from the given positions (the next seq per shard, default 0),
//!   waiting up to `wait_ms` for the first; the answer's `next` continues.
//! - `GET /v1/namespaces/{ns}/events/stats`: per-shard counters, totals and
//!   the promotion folder's progress.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use futures_util::StreamExt;
use mnemo::Namespace;
use mnemo::ingest::{Delivered, Ingested, PromotionStats, RawEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::parse_time;
use crate::error::ApiError;
use crate::events_binary;
use crate::state::AppState;

const TAG: &str = "events";
/// Content type of the binary batch form.
pub const BINARY_CONTENT_TYPE: &str = "application/vnd.mnemo.events";
/// Events in one ingest request at most.
pub const MAX_BATCH_EVENTS: usize = 1_000_000;
/// Events one tail request returns at most.
pub const MAX_TAIL_EVENTS: usize = 10_000;
/// Longest wait of one tail request.
pub const MAX_TAIL_WAIT_MS: u64 = 30_000;
/// Lines the streaming ingest takes into one batch at most.
const STREAM_BATCH_LINES: usize = 8192;
/// Ack lines the streaming ingest queues for a slow reader at most (then
/// it stops reading the upload until the client reads).
const STREAM_ACK_QUEUE: usize = 64;

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/events",
        post(ingest),
        Doc::new(
            "ingestEvents",
            TAG,
            Some(Right::Write),
            "Ingests raw events (JSON, JSON lines, or the binary form application/vnd.mnemo.events); \
             answers once all are durable. Promotion rules turn selected events into memories.",
        )
        .body::<EventsIn>()
        .ok::<IngestOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/events/stream",
        post(ingest_stream),
        Doc::new(
            "ingestEventStream",
            TAG,
            Some(Right::Write),
            "Streams raw events as JSON lines over one request; answers a stream of JSON lines \
             acknowledging each durable batch.",
        )
        .ok_raw("application/x-ndjson"),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/events",
        get(tail),
        Doc::new(
            "tailEvents",
            TAG,
            Some(Right::Read),
            "Reads raw events from positions per shard, waiting up to wait_ms for the first.",
        )
        .query::<TailParams>()
        .ok::<TailOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/events/stats",
        get(stats),
        Doc::new(
            "eventStats",
            TAG,
            Some(Right::Read),
            "The raw-event stream's counters per shard and the promotion folder's progress.",
        )
        .ok::<EventStatsOut>(200),
    )
}

/// Who produced an event: a number, or a name (hashed to one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProducerIn {
    /// A producer id.
    Id(u64),
    /// A producer name (its XXH3-64 is the id).
    Name(String),
}

impl ProducerIn {
    fn id(&self) -> u64 {
        match self {
            ProducerIn::Id(id) => *id,
            ProducerIn::Name(name) => xxhash_rust::xxh3::xxh3_64(name.as_bytes()),
        }
    }
}

/// One raw event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Its type (1–64 ASCII letters, digits, `_`, `-`, `.`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Who produced it (default 0); one producer's events keep their order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<ProducerIn>,
    /// When it happened (RFC 3339); default: when it is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// A JSON payload (what promotion rules read). Give this or `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Json>,
    /// A text payload. Give this or `payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// A batch of raw events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsIn {
    /// The events, in order.
    pub events: Vec<EventIn>,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestOut {
    /// Events written and durable.
    pub accepted: usize,
    /// Events the stream's backpressure dropped (never under `block` or
    /// `error`).
    pub dropped: usize,
}

/// An event parsed from JSON, its bytes owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestEvent {
    /// Its type.
    pub kind: String,
    /// Its producer id.
    pub producer: u64,
    /// When it happened.
    pub at: Option<mnemo::Timestamp>,
    /// Its bytes (a JSON payload as JSON text).
    pub payload: Vec<u8>,
}

impl IngestEvent {
    /// Checks and converts one event (`index` names it in errors).
    pub fn from_in(event: EventIn, index: usize) -> Result<IngestEvent, ApiError> {
        let at = event
            .at
            .as_deref()
            .map(|t| parse_time(&format!("event {index}: at"), t))
            .transpose()?;
        let payload = match (event.payload, event.data) {
            (Some(json), None) => json.to_string().into_bytes(),
            (None, Some(text)) => text.into_bytes(),
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(format!(
                    "event {index}: give payload or data, not both"
                )));
            }
        };
        Ok(IngestEvent {
            kind: event.kind,
            producer: event.producer.as_ref().map_or(0, ProducerIn::id),
            at,
            payload,
        })
    }

    /// The event as the engine takes it.
    pub fn raw(&self) -> RawEvent<'_> {
        RawEvent {
            kind: &self.kind,
            producer: self.producer,
            at: self.at,
            payload: &self.payload,
        }
    }
}

/// Parses JSON lines of events (blank lines skipped); `first_line` numbers
/// the first line in errors.
pub fn parse_lines(text: &[u8], first_line: usize) -> Result<Vec<IngestEvent>, ApiError> {
    let mut events = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let n = first_line + i;
        let event: EventIn = serde_json::from_slice(line)
            .map_err(|e| ApiError::bad_request(format!("line {n}: {e}")))?;
        events.push(IngestEvent::from_in(event, n)?);
    }
    Ok(events)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map_or("", str::trim)
}

fn max_payload(ns: &Namespace) -> Result<usize, ApiError> {
    Ok(ns.events()?.config().max_event_bytes)
}

async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<ApiJson<IngestOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let limit = state.config().limits.body_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes (limits.body_bytes)"),
        )
    })?;
    let kind = content_type(&headers).to_ascii_lowercase();
    let done = blocking(move || match kind.as_str() {
        BINARY_CONTENT_TYPE => {
            let events = events_binary::decode(&body, MAX_BATCH_EVENTS, max_payload(&ns)?)
                .map_err(ApiError::bad_request)?;
            let raw: Vec<RawEvent<'_>> = events
                .iter()
                .map(|e| RawEvent {
                    kind: e.kind,
                    producer: e.producer,
                    at: (e.at_nanos != 0).then_some(mnemo::Timestamp(e.at_nanos)),
                    payload: e.payload,
                })
                .collect();
            Ok(ns.ingest_batch(&raw)?)
        }
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
            ingest_events(&ns, &parse_lines(&body, 1)?)
        }
        "application/json" => {
            let batch: EventsIn = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body does not fit: {e}")))?;
            let events = batch
                .events
                .into_iter()
                .enumerate()
                .map(|(i, e)| IngestEvent::from_in(e, i))
                .collect::<Result<Vec<_>, _>>()?;
            ingest_events(&ns, &events)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content-type {other:?}: send application/json, application/x-ndjson or {BINARY_CONTENT_TYPE}"
            ),
        )),
    })
    .await?;
    Ok(ApiJson(IngestOut {
        accepted: done.accepted,
        dropped: done.dropped,
    }))
}

/// Ingests JSON lines of events (see [`parse_lines`]; a bad line refuses
/// them all) in batches of at most `batch` events (and
/// [`MAX_BATCH_EVENTS`]); every batch is durable when this returns.
pub fn ingest_lines(
    ns: &Namespace,
    text: &[u8],
    first_line: usize,
    batch: usize,
) -> Result<Ingested, ApiError> {
    let events = parse_lines(text, first_line)?;
    let mut done = Ingested::default();
    for chunk in events.chunks(batch.clamp(1, MAX_BATCH_EVENTS)) {
        let batch = ingest_events(ns, chunk)?;
        done.accepted += batch.accepted;
        done.dropped += batch.dropped;
    }
    Ok(done)
}

fn ingest_events(ns: &Namespace, events: &[IngestEvent]) -> Result<Ingested, ApiError> {
    if events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::bad_request(format!(
            "more than {MAX_BATCH_EVENTS} events in one batch"
        )));
    }
    let raw: Vec<RawEvent<'_>> = events.iter().map(IngestEvent::raw).collect();
    Ok(ns.ingest_batch(&raw)?)
}

/// One line of the streaming ingest's answer.
#[derive(Debug, Serialize)]
struct StreamAck {
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<bool>,
    acked: usize,
    dropped: usize,
    lines: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn ingest_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    // Room for the payload escaped inside a JSON line, and the fields.
    let max_line = max_payload(&ns)?.saturating_mul(6) + 4096;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(STREAM_ACK_QUEUE);
    tokio::spawn(async move {
        let mut upload = body.into_data_stream();
        let mut pending: Vec<u8> = Vec::new();
        let mut ack = StreamAck {
            done: None,
            acked: 0,
            dropped: 0,
            lines: 0,
            error: None,
        };
        let mut ended = false;
        while !ended {
            match upload.next().await {
                Some(Ok(chunk)) => pending.extend_from_slice(&chunk),
                // The client went away: an unfinished line is dropped;
                // everything acknowledged stays.
                Some(Err(_)) => return,
                None => {
                    ended = true;
                    if !pending.is_empty() {
                        pending.push(b'\n');
                    }
                }
            }
            let complete = match pending.iter().rposition(|&b| b == b'\n') {
                Some(end) => end + 1,
                None if pending.len() > max_line => {
                    ack.error = Some(format!(
                        "line {} is longer than {max_line} bytes",
                        ack.lines + 1
                    ));
                    break;
                }
                None => continue,
            };
            let lines: Vec<u8> = pending.drain(..complete).collect();
            let first = ack.lines + 1;
            let line_count = lines.iter().filter(|&&b| b == b'\n').count();
            if lines.split(|&b| b == b'\n').any(|l| l.len() > max_line) {
                ack.error = Some(format!(
                    "a line from line {first} on is longer than {max_line} bytes"
                ));
                break;
            }
            let ns = ns.clone();
            let result =
                blocking(move || ingest_lines(&ns, &lines, first, STREAM_BATCH_LINES)).await;
            match result {
                Ok(done) => {
                    ack.acked += done.accepted;
                    ack.dropped += done.dropped;
                    ack.lines += line_count;
                    if tx.send(ack_line(&ack)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    ack.error = Some(e.body().error.message);
                    break;
                }
            }
        }
        ack.done = Some(true);
        let _ = tx.send(ack_line(&ack)).await;
    });
    let acks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, Infallible>(line), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(acks),
    )
        .into_response())
}

fn ack_line(ack: &StreamAck) -> Bytes {
    let mut line = serde_json::to_vec(ack).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Where and how much to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailParams {
    /// The next seq to read in each shard, comma-separated (default: all
    /// zero, the start of every shard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Events to return at most (default 100, at most 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
    /// Milliseconds to wait for a first event (default 0, at most 30,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
}

/// One raw event read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventOut {
    /// Its shard.
    pub shard: usize,
    /// Its seq in the shard's log.
    pub seq: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its producer id.
    pub producer: u64,
    /// When it happened (RFC 3339; when it was written, if not given).
    pub at: String,
    /// When it was written (RFC 3339).
    pub recorded_at: String,
    /// The payload, when it is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Json>,
    /// The payload, when it is text but not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The payload in base64, when it is neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

/// Events read, and where to go on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailOut {
    /// The events.
    pub events: Vec<EventOut>,
    /// `from` for the next request.
    pub next: String,
    /// Events removed by retention before they could be read, per shard.
    pub missed: Vec<u64>,
    /// Written events after `next`.
    pub lag: u64,
}

fn nanos_time(nanos: u64) -> String {
    mnemo::rfc3339::format(mnemo::Timestamp(i64::try_from(nanos).unwrap_or(i64::MAX)))
}

impl EventOut {
    /// The JSON form of a delivered event.
    pub fn of(e: &Delivered) -> EventOut {
        event_out(e)
    }
}

fn event_out(e: &Delivered) -> EventOut {
    let (payload, data, data_base64) = match serde_json::from_slice::<Json>(&e.payload) {
        Ok(json) if !e.payload.is_empty() => (Some(json), None, None),
        _ => match std::str::from_utf8(&e.payload) {
            Ok(text) => (None, Some(text.to_owned()), None),
            Err(_) => (
                None,
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(&e.payload)),
            ),
        },
    };
    EventOut {
        shard: e.shard,
        seq: e.seq,
        kind: e.type_name.to_string(),
        producer: e.producer,
        at: nanos_time(e.time_or_recorded()),
        recorded_at: nanos_time(e.recorded_nanos),
        payload,
        data,
        data_base64,
    }
}

async fn tail(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<TailParams>,
) -> Result<ApiJson<TailOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let max = params.max.unwrap_or(100);
    if !(1..=MAX_TAIL_EVENTS).contains(&max) {
        return Err(ApiError::bad_request(format!(
            "max must be 1 to {MAX_TAIL_EVENTS}"
        )));
    }
    let wait_ms = params.wait_ms.unwrap_or(0);
    if wait_ms > MAX_TAIL_WAIT_MS {
        return Err(ApiError::bad_request(format!(
            "wait_ms must be at most {MAX_TAIL_WAIT_MS}"
        )));
    }
    let from: Vec<u64> = match params.from.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|s| s.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::bad_request("from: comma-separated seqs, one per shard"))?,
    };
    // A waiting read holds a thread of the blocking pool: it takes a
    // watcher permit, so their number stays bounded (503 when none is left).
    let permit = if wait_ms > 0 {
        Some(state.watchers().clone().try_acquire_owned().map_err(|_| {
            ApiError::unavailable(
                "too many open watch streams and waiting reads (limits.max_watchers)",
            )
        })?)
    } else {
        None
    };
    let out = blocking(move || {
        let _permit = permit;
        let stream = ns.events()?;
        let mut reader = stream
            .reader(&from)
            .map_err(|e| ApiError::bad_request(format!("from: {e}")))?;
        let poll = reader
            .poll(max, Duration::from_millis(wait_ms))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut missed = vec![0u64; stream.shard_count()];
        for m in &poll.missed {
            missed[m.shard] += m.records;
        }
        Ok(TailOut {
            events: poll.events.iter().map(event_out).collect(),
            next: reader
                .cursors()
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            missed,
            lag: reader.lag(),
        })
    })
    .await?;
    Ok(ApiJson(out))
}

/// One shard's counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShardStatsOut {
    /// The shard.
    pub shard: usize,
    /// Events admitted to its ring since the server opened the stream.
    pub accepted: u64,
    /// Events in its ring now.
    pub queued: u64,
    /// Its ring's capacity.
    pub capacity: u64,
    /// Dropped: the ring was full (`drop_newest`, or a kept sample).
    pub dropped_newest: u64,
    /// Evicted for newer events (`drop_oldest`).
    pub dropped_oldest: u64,
    /// Left out by `sample(n)`.
    pub sampled_out: u64,
    /// Refused with 429 (`error`).
    pub rejected: u64,
    /// Publishes that waited for room (`block`).
    pub blocked: u64,
    /// Waits that timed out (`block`).
    pub timed_out: u64,
    /// Events written since the server opened the stream.
    pub written: u64,
    /// Records in the shard's log, all time.
    pub log_records: u64,
}

/// The stream's counters and the promotion folder's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventStatsOut {
    /// Whether the namespace has a stream open (false: nothing ingested).
    pub open: bool,
    /// Its backpressure mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backpressure: Option<String>,
    /// Per shard.
    pub shards: Vec<ShardStatsOut>,
    /// Events promoted to memories.
    pub promoted: u64,
    /// Events no rule matched.
    pub unmatched: u64,
    /// Matched events whose memory was invalid.
    pub rejected: u64,
    /// Written events the promotion folder has not handled yet.
    pub promotion_lag: u64,
    /// The folder's last rejection or error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<EventStatsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    Ok(ApiJson(stats_of(&ns)))
}

/// The counters of a namespace's stream and its promotion folder.
pub fn stats_of(ns: &Namespace) -> EventStatsOut {
    let Some((stream, promotion)) = ns.ingest_stats() else {
        return EventStatsOut {
            open: false,
            backpressure: None,
            shards: Vec::new(),
            promoted: 0,
            unmatched: 0,
            rejected: 0,
            promotion_lag: 0,
            last_error: None,
        };
    };
    let PromotionStats {
        promoted,
        unmatched,
        rejected,
        lag_events,
        last_error,
        ..
    } = promotion;
    EventStatsOut {
        open: true,
        backpressure: Some(stream.backpressure.to_string()),
        shards: stream
            .shards
            .iter()
            .map(|s| ShardStatsOut {
                shard: s.shard,
                accepted: s.accepted,
                queued: s.queued,
                capacity: s.capacity,
                dropped_newest: s.dropped_newest,
                dropped_oldest: s.dropped_oldest,
                sampled_out: s.sampled_out,
                rejected: s.rejected,
                blocked: s.blocked,
                timed_out: s.timed_out,
                written: s.written,
                log_records: s.log_records,
            })
            .collect(),
        promoted,
        unmatched,
        rejected,
        promotion_lag: lag_events,
        last_error,
    }
}
