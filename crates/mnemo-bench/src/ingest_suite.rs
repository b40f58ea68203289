//! The `ingest` suite: mnemo-bus's raw-event ingest, from one shard's ring
//! up to durable group commit on disk, each next to a peer measured in the
//! same run.
//!
//! Every figure counts only the work its loop did, and the peers do the
//! same work: events are counted when the consumer has taken them out of
//! the queue and encoded them (or when a stream's writer has appended them
//! to its log, or made them durable), never when they were merely offered.
//! Consumers check the bytes they encoded, so a queue that loses events
//! cannot pass.
//!
//! 1. **`ring_64b_1p1c`, `ring_32b_1p1c`** (events/s; target 30 M/s, the
//!    issue's "in-memory ingest per shard of 32–64 B events"): one
//!    producer thread pushes events one at a time into one
//!    [`Ring`] of 16,384 slots with `try_push` (spinning, then yielding,
//!    while it is full); one consumer thread drains batches of up to 4,096
//!    with `drain` and encodes each event with [`record::encode_into`] into
//!    one reused `Vec<u8>`: what a shard's writer does before its log
//!    append. Timed from the producer's first push to the consumer's last
//!    event. Peers, with the same producer loop and the same consumer
//!    work (batches of up to 4,096, each event encoded into a reused
//!    `Vec`): crossbeam-queue's `ArrayQueue` of the same capacity holding a
//!    fixed struct (header + payload array), popped one at a time; and
//!    the `disruptor` crate (LMAX-style ring, single producer, `BusySpin`
//!    consumer, its handler encoding each event and clearing the `Vec` at
//!    the end of each of its batches or every 4,096 events), in the
//!    `*_vs_disruptor` rows.
//! 2. **`ring_enqueue_p99`** (ns; target 1 µs, the issue's "p99 enqueue
//!    latency"): the same 1p1c run, with every 16th `try_push` timed by
//!    `Instant` around the call that succeeded (a call that found the ring
//!    full is not a sample: that wait belongs to the consumer's speed; the
//!    share of full attempts is in the params, and so is the cost of the
//!    clock read itself, which the samples include). Value = p99 of the
//!    run with the median p99; p50 and max in params. Peer: the same for
//!    `ArrayQueue::push`.
//! 3. **`stream_mem_64b`** (events/s, no target): the whole path of
//!    [`Stream::in_memory`] with one shard, `SyncPolicy::Never` and
//!    backpressure `block`: one thread `publish`es every event, then
//!    `flush` waits until the writer thread has appended them all to the
//!    shard's in-memory log. Peer: the writer's last step alone,
//!    `mnemo_log::Log::append_batch` of the same records (already encoded)
//!    in batches of 4,096 into an in-memory log, on one thread.
//! 4. **`scaling_2p2s_ring`, `scaling_2p2s_stream`** (events/s): two
//!    producer threads, each with its own shard: two rings with two
//!    draining consumers (four busy threads), and a two-shard in-memory
//!    stream with producer ids that hash to different shards (two
//!    producers, two writers). Peer: the 1p1c figure of the same run
//!    (`ring_64b_1p1c`, `stream_mem_64b`), so `ratio_vs_peer` is the
//!    scaling factor. On a 2-core machine four busy threads share two
//!    cores: this shows what sharding costs or gains there, not what it
//!    does with a core per thread.
//! 5. **`durable_64b_always`** (events/s durable; target 2 M/s, the issue's
//!    "durable ingest (group commit, Always) of 64 B on this disk"):
//!    [`Stream::open`] on a temporary directory (`--tmp-dir`, a real
//!    disk), one shard, `SyncPolicy::Always`; two producer threads on that
//!    shard each `publish_batch` 1,000 events and `wait_receipt` (returns
//!    when the batch is durable), so the writer's group commit has company.
//!    Counted: events whose wait returned, over the time until the last
//!    one did. Peer (the disk's physical limit for that batching): one
//!    thread writing the same 120-byte frames (32-byte log frame header,
//!    24-byte event header, 64 B payload) to a `std::fs::File`, 1,000 per
//!    `write_all` followed by `fdatasync` (`sync_data`). The params give the
//!    writer's mean group size, and the peer's figure at 2,000 frames per
//!    `fdatasync` (what two producers' batches in one group amount to).
//!
//! `--quick` runs 100,000 events per ring row and 20,000 durable events,
//! once each.

use std::cell::Cell;
use std::hint::{black_box, spin_loop};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use crossbeam_queue::ArrayQueue;
use disruptor::{BusySpin, Producer as _, Sequence};
use mnemo_bus::record::{RECORD_HEADER_BYTES, encode_into};
use mnemo_bus::ring::{Header, Ring};
use mnemo_bus::{Backpressure, Event, Stream, StreamConfig, SyncPolicy};
use mnemo_log::format::{RECORD_HEADER_LEN, write_frame};
use mnemo_log::{Config, Log};
use tempfile::TempDir;

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better, Reps, median_duration, per_sec};

/// Sizes of one run: full, or `--quick` for a smoke test.
struct Sizes {
    /// Repetitions of the in-memory measurements.
    reps: Reps,
    /// Repetitions of the measurements that sync to disk.
    disk_reps: Reps,
    /// Events per run of the ring rows (all producers together).
    ring_events: u64,
    /// Events per run of the latency rows.
    latency_events: u64,
    /// Events per run of the in-memory stream rows (all producers).
    stream_events: u64,
    /// Events per run of the durable rows (all producers).
    durable_events: u64,
    /// Requests of 10,000 events per HTTP client per run.
    http_requests: usize,
    /// Seconds of each promotion-lag run.
    promotion_seconds: f64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                reps: Reps { warmup: 0, runs: 1 },
                disk_reps: Reps { warmup: 0, runs: 1 },
                ring_events: 100_000,
                latency_events: 100_000,
                stream_events: 100_000,
                durable_events: 20_000,
                http_requests: 2,
                promotion_seconds: 0.5,
            }
        } else {
            Self {
                reps: Reps { warmup: 1, runs: 5 },
                disk_reps: Reps { warmup: 1, runs: 3 },
                ring_events: 20_000_000,
                latency_events: 4_000_000,
                stream_events: 5_000_000,
                durable_events: 2_000_000,
                http_requests: 100,
                promotion_seconds: 5.0,
            }
        }
    }
}

/// Slots of every ring and queue (the stream's default ring capacity).
const RING_CAPACITY: usize = 16_384;
/// Events a consumer takes at most per batch (the stream's default
/// `max_batch`).
const DRAIN_BATCH: usize = 4096;
/// One push in this many is timed in the latency rows.
const SAMPLE_EVERY: u64 = 16;
/// Events per `publish_batch` (and per peer `fdatasync`) in the durable row.
const DURABLE_BATCH: usize = 1000;
/// Producer threads of the durable row (all on the one shard).
const DURABLE_PRODUCERS: u64 = 2;
/// Byte the payloads are made of.
const PAYLOAD_BYTE: u8 = 0xa7;
/// The in-memory ingest target per shard, events/s.
const RING_TARGET: f64 = 30e6;
/// The p99 enqueue latency target, ns.
const ENQUEUE_P99_TARGET_NS: f64 = 1000.0;
/// The durable ingest target, events/s.
const DURABLE_TARGET: f64 = 2e6;
/// Where the in-memory ingest and latency targets come from.
const RING_TARGET_SOURCE: &str =
    "the bus issue: in-memory ingest per shard of 32–64 B events >= 30 M events/s";

/// One named measurement step of the suite.
type Step<'a> = (&'static str, &'a dyn Fn() -> Result<Vec<BenchResult>>);

/// Figures one step measures and a later one compares with (the scaling
/// rows' 1p1c peers); measured on demand when `--only` skipped their step.
#[derive(Default)]
struct Baselines {
    /// `ring_64b_1p1c`, events/s.
    ring_64b: Cell<Option<f64>>,
    /// `stream_mem_64b`, events/s.
    stream_64b: Cell<Option<f64>>,
}

/// The value of `cell`, measured by `measure` if it has none yet.
fn baseline(cell: &Cell<Option<f64>>, measure: impl FnOnce() -> Result<f64>) -> Result<f64> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = measure()?;
    cell.set(Some(v));
    Ok(v)
}

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let sizes = Sizes::new(opts.quick);
    let tmp = opts.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let base = Baselines::default();
    let started = Instant::now();
    let mut results = Vec::new();
    let steps: [Step<'_>; 8] = [
        ("ring 64b", &|| ring_rows::<64>(&sizes, &base)),
        ("ring 32b", &|| ring_rows::<32>(&sizes, &base)),
        ("enqueue latency", &|| enqueue_latency(&sizes)),
        ("stream mem", &|| stream_mem(&sizes, &base)),
        ("scaling", &|| scaling(&sizes, &base)),
        ("durable", &|| durable(&sizes, &tmp)),
        ("http", &|| {
            crate::ingest_http::http_ingest(sizes.disk_reps, sizes.http_requests, &tmp)
        }),
        ("promotion", &|| {
            crate::ingest_http::promotion_lag(sizes.promotion_seconds, &tmp)
        }),
    ];
    for (name, step) in steps {
        if opts
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            continue;
        }
        let t = Instant::now();
        results.extend(step().with_context(|| format!("ingest suite: {name}"))?);
        eprintln!("  {name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("ingest suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

/// Waiting for a queue: spins a little, then yields the core (on a 2-core
/// machine a spinning thread may be keeping the one it waits for off it).
struct Backoff(u32);

impl Backoff {
    /// Spins before the first yield.
    const SPINS: u32 = 64;

    fn new() -> Self {
        Self(0)
    }

    #[inline]
    fn snooze(&mut self) {
        if self.0 < Self::SPINS {
            self.0 += 1;
            spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    #[inline]
    fn reset(&mut self) {
        self.0 = 0;
    }
}

/// The peers' queue element: an event's header and its fixed-size payload.
#[derive(Clone, Copy)]
struct Item<const N: usize> {
    header: Header,
    payload: [u8; N],
}

impl<const N: usize> Item<N> {
    fn empty() -> Self {
        Self {
            header: Header {
                kind: 0,
                producer: 0,
                time_nanos: 0,
            },
            payload: [0; N],
        }
    }
}

/// A queue of events of `N` payload bytes, as the ring benchmarks use it.
trait BenchQueue<const N: usize>: Sync {
    /// Offers one event; false when the queue is full.
    fn offer(&self, header: &Header, payload: &[u8; N]) -> bool;
    /// Takes up to `max` events, encoding each into `out`; returns how many.
    fn take(&self, max: usize, out: &mut Vec<u8>) -> u64;
}

impl<const N: usize> BenchQueue<N> for Ring {
    #[inline]
    fn offer(&self, header: &Header, payload: &[u8; N]) -> bool {
        self.try_push(header, payload).is_some()
    }

    #[inline]
    fn take(&self, max: usize, out: &mut Vec<u8>) -> u64 {
        let range = self.drain(max, &mut |header, payload| {
            encode_into(header, payload, out);
        });
        range.end - range.start
    }
}

impl<const N: usize> BenchQueue<N> for ArrayQueue<Item<N>> {
    #[inline]
    fn offer(&self, header: &Header, payload: &[u8; N]) -> bool {
        self.push(Item {
            header: *header,
            payload: *payload,
        })
        .is_ok()
    }

    #[inline]
    fn take(&self, max: usize, out: &mut Vec<u8>) -> u64 {
        let mut taken = 0u64;
        while taken < max as u64 {
            match self.pop() {
                Some(item) => {
                    encode_into(&item.header, &item.payload, out);
                    taken += 1;
                }
                None => break,
            }
        }
        taken
    }
}

/// The header of a benchmark producer's `i`-th event.
#[inline]
fn header(producer: u64, i: u64) -> Header {
    Header {
        kind: 1,
        producer,
        time_nanos: i,
    }
}

/// Bytes a consumer encodes for `events` events of `n` payload bytes.
fn encoded_bytes(events: u64, n: usize) -> u64 {
    events * (RECORD_HEADER_BYTES + n) as u64
}

/// What a producer saw: when it started, its timed pushes (ns) and how
/// many of its attempts found the queue full.
struct Produced {
    start: Instant,
    samples: Vec<u32>,
    full: u64,
}

/// Pushes `n` events into `q`, timing every [`SAMPLE_EVERY`]-th successful
/// push when `sample` is set.
fn produce<const N: usize, Q: BenchQueue<N>>(
    q: &Q,
    producer: u64,
    n: u64,
    sample: bool,
) -> Produced {
    let payload = [PAYLOAD_BYTE; N];
    let mut samples = Vec::with_capacity(if sample {
        (n / SAMPLE_EVERY) as usize + 1
    } else {
        0
    });
    let mut full = 0u64;
    let mut backoff = Backoff::new();
    let start = Instant::now();
    for i in 0..n {
        let h = header(producer, i);
        if sample && i % SAMPLE_EVERY == 0 {
            loop {
                let t = Instant::now();
                let ok = q.offer(&h, &payload);
                let d = t.elapsed();
                if ok {
                    samples.push(u32::try_from(d.as_nanos()).unwrap_or(u32::MAX));
                    break;
                }
                full += 1;
                backoff.snooze();
            }
        } else {
            while !q.offer(&h, &payload) {
                full += 1;
                backoff.snooze();
            }
        }
        backoff.reset();
    }
    Produced {
        start,
        samples,
        full,
    }
}

/// Drains `q` until `n` events were taken; returns when the last one was
/// and the bytes encoded.
fn consume<const N: usize, Q: BenchQueue<N>>(q: &Q, n: u64) -> (Instant, u64) {
    let mut out = Vec::with_capacity(DRAIN_BATCH * (RECORD_HEADER_BYTES + N));
    let mut seen = 0u64;
    let mut bytes = 0u64;
    let mut backoff = Backoff::new();
    while seen < n {
        out.clear();
        let got = q.take(DRAIN_BATCH, &mut out);
        if got == 0 {
            backoff.snooze();
            continue;
        }
        backoff.reset();
        seen += got;
        bytes += out.len() as u64;
        black_box(out.as_ptr());
    }
    (Instant::now(), bytes)
}

/// One run over `queues.len()` producer/consumer pairs, one pair per
/// queue, `per_queue` events each: from the first producer's start to the
/// last consumer's end, and the producers' records.
fn pairs_run<const N: usize, Q: BenchQueue<N>>(
    queues: &[Q],
    per_queue: u64,
    sample: bool,
) -> Result<(Duration, Vec<Produced>)> {
    let barrier = Barrier::new(queues.len() * 2);
    std::thread::scope(|s| {
        let consumers: Vec<_> = queues
            .iter()
            .map(|q| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    consume::<N, Q>(q, per_queue)
                })
            })
            .collect();
        let producers: Vec<_> = queues
            .iter()
            .enumerate()
            .map(|(p, q)| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    produce::<N, Q>(q, p as u64 + 1, per_queue, sample)
                })
            })
            .collect();
        let mut produced = Vec::new();
        for h in producers {
            produced.push(h.join().map_err(|_| anyhow!("a producer panicked"))?);
        }
        let mut end: Option<Instant> = None;
        for h in consumers {
            let (at, bytes) = h.join().map_err(|_| anyhow!("a consumer panicked"))?;
            ensure!(
                bytes == encoded_bytes(per_queue, N),
                "a consumer encoded {bytes} bytes, expected {}",
                encoded_bytes(per_queue, N)
            );
            end = Some(end.map_or(at, |e| e.max(at)));
        }
        let start = produced
            .iter()
            .map(|p| p.start)
            .min()
            .context("no producer")?;
        let end = end.context("no consumer")?;
        Ok((end.saturating_duration_since(start), produced))
    })
}

/// Median duration of 1p1c (or `pairs` × 1p1c) runs over fresh queues
/// made by `make`.
fn pairs_median<const N: usize, Q: BenchQueue<N>>(
    s: &Sizes,
    pairs: usize,
    make: impl Fn() -> Q,
) -> Result<Duration> {
    let per_queue = s.ring_events / pairs as u64;
    median_duration(s.reps, || {
        let queues: Vec<Q> = (0..pairs).map(|_| make()).collect();
        Ok(pairs_run::<N, Q>(&queues, per_queue, false)?.0)
    })
}

/// One 1p1c run through the `disruptor` crate: a single producer
/// publishing one event at a time (the same backoff while full), a
/// `BusySpin` consumer encoding each event into a reused `Vec` that is
/// cleared at the end of each of the disruptor's batches or every
/// [`DRAIN_BATCH`] events.
fn disruptor_run<const N: usize>(n: u64) -> Result<Duration> {
    let bytes = Arc::new(AtomicU64::new(0));
    let done_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let handler = {
        let bytes = bytes.clone();
        let done_at = done_at.clone();
        let mut out: Vec<u8> = Vec::with_capacity(DRAIN_BATCH * (RECORD_HEADER_BYTES + N));
        let mut in_batch = 0usize;
        let mut seen = 0u64;
        let mut total = 0u64;
        move |e: &Item<N>, _seq: Sequence, end_of_batch: bool| {
            encode_into(&e.header, &e.payload, &mut out);
            in_batch += 1;
            seen += 1;
            if end_of_batch || in_batch == DRAIN_BATCH {
                total += out.len() as u64;
                black_box(out.as_ptr());
                out.clear();
                in_batch = 0;
            }
            if seen == n {
                bytes.store(total, Ordering::Release);
                if let Ok(mut at) = done_at.lock() {
                    *at = Some(Instant::now());
                }
            }
        }
    };
    let mut producer = disruptor::build_single_producer(RING_CAPACITY, Item::<N>::empty, BusySpin)
        .handle_events_with(handler)
        .build();
    let payload = [PAYLOAD_BYTE; N];
    let mut backoff = Backoff::new();
    let start = Instant::now();
    for i in 0..n {
        let h = header(1, i);
        while producer
            .try_publish(|e| {
                e.header = h;
                e.payload = payload;
            })
            .is_err()
        {
            backoff.snooze();
        }
        backoff.reset();
    }
    // Dropping the producer waits for the consumer to finish every event.
    drop(producer);
    let end = done_at
        .lock()
        .map_err(|_| anyhow!("disruptor handler panicked"))?
        .context("the disruptor consumer did not see every event")?;
    let got = bytes.load(Ordering::Acquire);
    ensure!(
        got == encoded_bytes(n, N),
        "disruptor consumer encoded {got} bytes, expected {}",
        encoded_bytes(n, N)
    );
    Ok(end.saturating_duration_since(start))
}

/// 1. The 1p1c ring rows for `N`-byte events: ours against `ArrayQueue`
///    and against the disruptor.
fn ring_rows<const N: usize>(s: &Sizes, base: &Baselines) -> Result<Vec<BenchResult>> {
    let n = s.ring_events;
    let ours = per_sec(
        pairs_median::<N, Ring>(s, 1, || Ring::new(RING_CAPACITY))?,
        n,
    );
    let crossbeam = per_sec(
        pairs_median::<N, ArrayQueue<Item<N>>>(s, 1, || ArrayQueue::new(RING_CAPACITY))?,
        n,
    );
    let disruptor = per_sec(median_duration(s.reps, || disruptor_run::<N>(n))?, n);
    if N == 64 {
        base.ring_64b.set(Some(ours));
    }
    let name = format!("ring_{N}b_1p1c");
    let row = |name: &str| {
        BenchResult::new(name, "events/s", ours, Better::Higher)
            .target(RING_TARGET)
            .param("events", n)
            .param("payload_bytes", N)
            .param("ring_capacity", RING_CAPACITY)
            .param("drain_batch", DRAIN_BATCH)
            .param(
                "work",
                "producer: try_push one event at a time (spin, then yield, while full); consumer: drain batches of up to 4096, record::encode_into each event into a reused Vec<u8>; timed from the first push to the last event encoded",
            )
            .param("target_source", RING_TARGET_SOURCE)
    };
    Ok(vec![
        row(&name).peer(
            "crossbeam-queue 0.3 ArrayQueue (same run): push of a {header, [u8; N]} struct, pop up to 4096 per batch, same encode",
            crossbeam,
        ),
        row(&format!("{name}_vs_disruptor")).peer(
            "disruptor 4 (same run): single producer, try_publish one event at a time, BusySpin consumer, same encode",
            disruptor,
        ),
    ])
}

/// Percentile `p` (0–100) of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)])
}

/// Latency figures of one run.
#[derive(Clone, Copy)]
struct Latency {
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    samples: usize,
    full_share: f64,
}

/// One 1p1c run of `n` events with every [`SAMPLE_EVERY`]-th push timed.
fn latency_run<const N: usize, Q: BenchQueue<N>>(n: u64, queue: Q) -> Result<Latency> {
    let q = [queue];
    let (_, mut produced) = pairs_run::<N, Q>(&q, n, true)?;
    let p = produced.pop().context("no producer")?;
    let mut samples = p.samples;
    samples.sort_unstable();
    Ok(Latency {
        p50: percentile(&samples, 50.0),
        p99: percentile(&samples, 99.0),
        p999: percentile(&samples, 99.9),
        max: samples.last().map_or(f64::NAN, |&m| f64::from(m)),
        samples: samples.len(),
        full_share: p.full as f64 / (n + p.full) as f64,
    })
}

/// The run with the median p99 among `runs`, and every run's p99 in the
/// order they ran.
fn median_p99(mut runs: Vec<Latency>) -> Result<(Latency, Vec<f64>)> {
    let p99s = runs.iter().map(|r| r.p99).collect();
    runs.sort_by(|a, b| a.p99.total_cmp(&b.p99));
    let median = *runs.get(runs.len() / 2).context("no latency run")?;
    Ok((median, p99s))
}

/// What one back-to-back pair of `Instant::now()` reads costs, ns (the
/// floor every latency sample includes).
fn clock_overhead_ns() -> f64 {
    let mut v: Vec<u32> = (0..10_000)
        .map(|_| {
            let t = Instant::now();
            let d = t.elapsed();
            u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
        })
        .collect();
    v.sort_unstable();
    percentile(&v, 50.0)
}

/// 2. p99 latency of one `try_push` while the consumer drains, against
///    `ArrayQueue::push`.
fn enqueue_latency(s: &Sizes) -> Result<Vec<BenchResult>> {
    let n = s.latency_events;
    let ring = || latency_run::<64, Ring>(n, Ring::new(RING_CAPACITY));
    let queue = || latency_run::<64, _>(n, ArrayQueue::<Item<64>>::new(RING_CAPACITY));
    // Ours and the peer's runs alternate, so both meet the same machine.
    for _ in 0..s.reps.warmup {
        ring()?;
        queue()?;
    }
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..s.reps.runs.max(1) {
        ours.push(ring()?);
        peer.push(queue()?);
    }
    let (ours, ours_p99s) = median_p99(ours)?;
    let (peer, peer_p99s) = median_p99(peer)?;
    let clock = clock_overhead_ns();
    Ok(vec![
        BenchResult::new("ring_enqueue_p99", "ns", ours.p99, Better::Lower)
            .target(ENQUEUE_P99_TARGET_NS)
            .peer(
                "crossbeam-queue 0.3 ArrayQueue::push p99 (same run, same producer loop and consumer)",
                peer.p99,
            )
            .param("p50_ns", ours.p50)
            .param("p99_ns_each_run", ours_p99s)
            .param("peer_p99_ns_each_run", peer_p99s)
            .param("p999_ns", ours.p999)
            .param("max_ns", ours.max)
            .param("samples", ours.samples)
            .param("full_attempt_share", ours.full_share)
            .param("peer_p50_ns", peer.p50)
            .param("peer_p999_ns", peer.p999)
            .param("peer_max_ns", peer.max)
            .param("peer_full_attempt_share", peer.full_share)
            .param("clock_overhead_ns", clock)
            .param("events", s.latency_events)
            .param("payload_bytes", 64)
            .param(
                "timed",
                "every 16th push: Instant::now() around the try_push call that succeeded; value = the run with the median p99, runs of ours and the peer alternating (includes one clock read pair, see clock_overhead_ns); attempts that found the ring full are not samples; the consumer drains and encodes as in ring_64b_1p1c",
            )
            .param(
                "target_source",
                "the bus issue: p99 enqueue latency < 1 µs",
            ),
    ])
}

/// The in-memory stream configuration of the stream rows.
fn mem_config(shards: usize) -> StreamConfig {
    StreamConfig::default()
        .shards(shards)
        .sync(SyncPolicy::Never)
        .backpressure(Backpressure::Block)
        .types(["ev"])
}

/// Producer ids that hash to `stream`'s shards 0, 1, ... in order.
fn producers_per_shard(stream: &Stream) -> Result<Vec<u64>> {
    let mut ids = Vec::with_capacity(stream.shard_count());
    for shard in 0..stream.shard_count() {
        let id = (1..100_000u64)
            .find(|&id| stream.shard_of(id) == shard)
            .with_context(|| format!("no producer id hashes to shard {shard}"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// One run of an in-memory stream of `shards` shards with one producer
/// thread per shard publishing `per_producer` events of 64 B each, then
/// `flush`: the time from the first publish to the end of the flush.
fn stream_mem_run(shards: usize, per_producer: u64) -> Result<Duration> {
    let stream = Stream::in_memory("bench", mem_config(shards))?;
    let kind = stream.type_id("ev")?;
    let ids = producers_per_shard(&stream)?;
    let barrier = Barrier::new(ids.len());
    let payload = [PAYLOAD_BYTE; 64];
    let d = std::thread::scope(|s| -> Result<Duration> {
        let handles: Vec<_> = ids
            .iter()
            .map(|&producer| {
                let (stream, barrier) = (&stream, &barrier);
                s.spawn(move || -> Result<(Instant, Instant)> {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..per_producer {
                        stream.publish(&Event {
                            kind,
                            producer,
                            time_nanos: i,
                            payload: &payload,
                        })?;
                    }
                    stream.flush()?;
                    Ok((start, Instant::now()))
                })
            })
            .collect();
        let mut span: Option<(Instant, Instant)> = None;
        for h in handles {
            let (a, b) = h.join().map_err(|_| anyhow!("a publisher panicked"))??;
            span = Some(span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        let (a, b) = span.context("no publisher")?;
        Ok(b.saturating_duration_since(a))
    })?;
    let total = stream.stats().total();
    let events = per_producer * ids.len() as u64;
    ensure!(
        total.written == events && total.dropped_newest == 0 && total.timed_out == 0,
        "the stream wrote {} of {events} events",
        total.written
    );
    stream.close()?;
    Ok(d)
}

/// 3. One producer publishing into a 1-shard in-memory stream, against the
///    writer's `append_batch` of the same records alone.
fn stream_mem(s: &Sizes, base: &Baselines) -> Result<Vec<BenchResult>> {
    let n = s.stream_events;
    let ours = per_sec(median_duration(s.reps, || stream_mem_run(1, n))?, n);
    base.stream_64b.set(Some(ours));
    // The writer's batch, encoded once: what append_batch is given.
    let mut buf = Vec::with_capacity(DRAIN_BATCH * (RECORD_HEADER_BYTES + 64));
    let payload = [PAYLOAD_BYTE; 64];
    for i in 0..DRAIN_BATCH as u64 {
        encode_into(&header(1, i), &payload, &mut buf);
    }
    let record_len = RECORD_HEADER_BYTES + 64;
    let peer = median_duration(s.reps, || {
        let log = Log::in_memory(Config::default().sync(SyncPolicy::Never))?;
        let start = Instant::now();
        let mut left = n;
        while left > 0 {
            let k = left.min(DRAIN_BATCH as u64) as usize;
            log.append_batch(buf[..k * record_len].chunks_exact(record_len))?;
            left -= k as u64;
        }
        let d = start.elapsed();
        ensure!(log.next_seq() == n, "the peer log holds the wrong count");
        Ok(d)
    })?;
    let mut row = BenchResult::new("stream_mem_64b", "events/s", ours, Better::Higher)
        .peer(
            "mnemo_log::Log::append_batch (same run) of the same 88 B records, pre-encoded, 4096 per batch, in memory, one thread",
            per_sec(peer, n),
        )
        .param("events", n)
        .param("payload_bytes", 64)
        .param("shards", 1)
        .param("sync", "never")
        .param("backpressure", "block")
        .param(
            "work",
            "one thread: Stream::publish of every event, then flush() until the writer thread has drained, encoded and appended every one to the shard's in-memory log",
        );
    if let Some(ring) = base.ring_64b.get() {
        row = row.param("ring_64b_1p1c_events_per_s", ring);
    }
    Ok(vec![row])
}

/// 4. Two producers on two shards: rings with their own consumers, and a
///    two-shard stream, against the 1p1c figures.
fn scaling(s: &Sizes, base: &Baselines) -> Result<Vec<BenchResult>> {
    let ring_1p1c = baseline(&base.ring_64b, || {
        Ok(per_sec(
            pairs_median::<64, Ring>(s, 1, || Ring::new(RING_CAPACITY))?,
            s.ring_events,
        ))
    })?;
    let stream_1p1s = baseline(&base.stream_64b, || {
        Ok(per_sec(
            median_duration(s.reps, || stream_mem_run(1, s.stream_events))?,
            s.stream_events,
        ))
    })?;
    let n = s.ring_events;
    let ring = per_sec(
        pairs_median::<64, Ring>(s, 2, || Ring::new(RING_CAPACITY))?,
        n,
    );
    let sn = s.stream_events;
    let stream = per_sec(median_duration(s.reps, || stream_mem_run(2, sn / 2))?, sn);
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    Ok(vec![
        BenchResult::new("scaling_2p2s_ring", "events/s", ring, Better::Higher)
            .peer(
                "1 producer × 1 ring (this run's ring_64b_1p1c); ratio = scaling factor",
                ring_1p1c,
            )
            .param("ratio_to_1p1c", ring / ring_1p1c)
            .param("events", n)
            .param("payload_bytes", 64)
            .param("busy_threads", 4)
            .param("cpus", cpus)
            .param(
                "work",
                "2 rings, each with its own producer (try_push) and consumer (drain 4096 + encode_into); events counted over both, from the first push to the last event encoded",
            ),
        BenchResult::new("scaling_2p2s_stream", "events/s", stream, Better::Higher)
            .peer(
                "1 producer × 1 shard (this run's stream_mem_64b); ratio = scaling factor",
                stream_1p1s,
            )
            .param("ratio_to_1p1s", stream / stream_1p1s)
            .param("events", sn)
            .param("payload_bytes", 64)
            .param("shards", 2)
            .param("busy_threads", 4)
            .param("cpus", cpus)
            .param(
                "work",
                "in-memory stream of 2 shards (sync never, block); 2 threads with producer ids hashing to different shards each publish half the events then flush; from the first publish to the last flush",
            ),
    ])
}

/// A fresh temporary directory under `base`, removed when dropped.
fn temp_dir(base: &Path) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("mnemo-bench-ingest-")
        .tempdir_in(base)
        .with_context(|| format!("creating a temporary directory in {}", base.display()))
}

/// What one durable run measured.
struct DurableRun {
    elapsed: Duration,
    /// Writer batches (one `fdatasync` each).
    batches: u64,
}

/// One run of the durable row: [`DURABLE_PRODUCERS`] threads each
/// publishing `per_producer` events in batches of [`DURABLE_BATCH`] and
/// waiting for each batch's receipt.
fn durable_run(tmp: &Path, per_producer: u64) -> Result<DurableRun> {
    let dir = temp_dir(tmp)?;
    let config = StreamConfig::default()
        .shards(1)
        .sync(SyncPolicy::Always)
        .backpressure(Backpressure::Block)
        .types(["ev"]);
    let stream = Stream::open(dir.path(), "bench", config)?;
    let kind = stream.type_id("ev")?;
    let payload = [PAYLOAD_BYTE; 64];
    let barrier = Barrier::new(DURABLE_PRODUCERS as usize);
    let elapsed = std::thread::scope(|s| -> Result<Duration> {
        let handles: Vec<_> = (0..DURABLE_PRODUCERS)
            .map(|p| {
                let (stream, barrier, payload) = (&stream, &barrier, &payload);
                s.spawn(move || -> Result<(Instant, Instant)> {
                    let producer = p + 1;
                    let mut batch: Vec<Event<'_>> = (0..DURABLE_BATCH as u64)
                        .map(|i| Event {
                            kind,
                            producer,
                            time_nanos: i,
                            payload,
                        })
                        .collect();
                    barrier.wait();
                    let start = Instant::now();
                    let mut left = per_producer;
                    while left > 0 {
                        let k = left.min(DURABLE_BATCH as u64) as usize;
                        let receipt = stream.publish_batch(&batch[..k])?;
                        ensure!(receipt.accepted == k, "events dropped under block");
                        stream.wait_receipt(&receipt)?;
                        left -= k as u64;
                        for e in &mut batch[..k] {
                            e.time_nanos += DURABLE_BATCH as u64;
                        }
                    }
                    Ok((start, Instant::now()))
                })
            })
            .collect();
        let mut span: Option<(Instant, Instant)> = None;
        for h in handles {
            let (a, b) = h.join().map_err(|_| anyhow!("a publisher panicked"))??;
            span = Some(span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        let (a, b) = span.context("no publisher")?;
        Ok(b.saturating_duration_since(a))
    })?;
    let total = stream.stats().total();
    let events = per_producer * DURABLE_PRODUCERS;
    ensure!(
        total.written == events && total.durable_records >= events,
        "the stream made {} of {events} events durable",
        total.durable_records
    );
    stream.close()?;
    Ok(DurableRun {
        elapsed,
        batches: total.batches,
    })
}

/// The durable peer: the same 120-byte frames written to one file,
/// `per_sync` frames per `write_all`, each followed by `fdatasync`.
fn file_peer_run(tmp: &Path, events: u64, per_sync: usize) -> Result<Duration> {
    let dir = temp_dir(tmp)?;
    let mut record = Vec::with_capacity(RECORD_HEADER_BYTES + 64);
    encode_into(&header(1, 0), &[PAYLOAD_BYTE; 64], &mut record);
    let frame_len = RECORD_HEADER_LEN + record.len();
    let mut chunk = vec![0u8; per_sync * frame_len];
    for (i, frame) in chunk.chunks_exact_mut(frame_len).enumerate() {
        write_frame(frame, i as u64, 0, &record);
    }
    let mut file = std::fs::File::create(dir.path().join("peer.seg"))?;
    let start = Instant::now();
    let mut left = events;
    while left > 0 {
        let k = left.min(per_sync as u64) as usize;
        file.write_all(&chunk[..k * frame_len])?;
        file.sync_data()?;
        left -= k as u64;
    }
    Ok(start.elapsed())
}

/// 5. Durable ingest under `SyncPolicy::Always` against `write` +
///    `fdatasync` of the same frames in the same batches.
fn durable(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let per_producer = s.durable_events / DURABLE_PRODUCERS;
    let events = per_producer * DURABLE_PRODUCERS;
    let mut batches = Vec::new();
    let mut each_run = Vec::new();
    let ours = median_duration(s.disk_reps, || {
        let run = durable_run(tmp, per_producer)?;
        batches.push(run.batches);
        each_run.push(per_sec(run.elapsed, events));
        Ok(run.elapsed)
    })?;
    // The warm-up runs are not figures.
    let skip = s.disk_reps.warmup.min(each_run.len());
    let each_run = each_run.split_off(skip);
    let mut batches = batches.split_off(skip);
    batches.sort_unstable();
    let median_batches = batches.get(batches.len() / 2).copied().unwrap_or(0);
    let peer = median_duration(s.disk_reps, || file_peer_run(tmp, events, DURABLE_BATCH))?;
    let peer_2000 = median_duration(s.disk_reps, || {
        file_peer_run(tmp, events, DURABLE_BATCH * DURABLE_PRODUCERS as usize)
    })?;
    let frame_len = RECORD_HEADER_LEN + RECORD_HEADER_BYTES + 64;
    Ok(vec![
        BenchResult::new(
            "durable_64b_always",
            "events/s",
            per_sec(ours, events),
            Better::Higher,
        )
        .target(DURABLE_TARGET)
        .peer(
            "physical limit: std::fs::File write_all of the same 120 B frames, 1000 per write, each followed by fdatasync (one thread)",
            per_sec(peer, events),
        )
        .param("events", events)
        .param("payload_bytes", 64)
        .param("frame_bytes", frame_len)
        .param("producers", DURABLE_PRODUCERS)
        .param("publish_batch", DURABLE_BATCH)
        .param("shards", 1)
        .param("sync", "always")
        .param("writer_batches", median_batches)
        .param("events_per_s_each_run", each_run)
        .param(
            "mean_events_per_sync",
            events as f64 / median_batches.max(1) as f64,
        )
        .param(
            "peer_2000_per_sync_events_per_s",
            per_sec(peer_2000, events),
        )
        .param(
            "timed",
            "from the first publish_batch to the last wait_receipt returning (every event durable); opening and closing the stream are not timed",
        )
        .param("dir", tmp.display().to_string())
        .param(
            "target_source",
            "the bus issue: durable ingest (group commit, Always) >= 2 M events/s of 64 B on this disk",
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_sorted_samples() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 51.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert!(percentile(&[], 99.0).is_nan());
    }

    #[test]
    fn every_queue_delivers_every_event_encoded() {
        let n = 10_000;
        let ring = [Ring::new(64)];
        let (_, produced) = pairs_run::<32, Ring>(&ring, n, true).expect("ring run");
        assert_eq!(produced[0].samples.len() as u64, n / SAMPLE_EVERY);
        let queue = [ArrayQueue::<Item<32>>::new(64)];
        pairs_run::<32, _>(&queue, n, false).expect("ArrayQueue run");
        disruptor_run::<32>(n).expect("disruptor run");
        let record = {
            let mut out = Vec::new();
            encode_into(&header(3, 9), &[1; 32], &mut out);
            out
        };
        let (h, p) = mnemo_bus::record::decode(&record).expect("decodes");
        assert_eq!((h.producer, h.time_nanos, p.len()), (3, 9, 32));
    }

    #[test]
    fn producers_land_on_distinct_shards() {
        let stream = Stream::in_memory("t", mem_config(2)).expect("stream");
        let ids = producers_per_shard(&stream).expect("ids");
        assert_eq!(stream.shard_of(ids[0]), 0);
        assert_eq!(stream.shard_of(ids[1]), 1);
        stream.close().expect("close");
    }
}
