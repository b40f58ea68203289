//! One shard: a ring, the log it is drained into, and the writer thread
//! that moves events from one to the other.
//!
//! The writer claims every published event from the ring in one batch (at
//! most `max_batch`), encodes them into one reused buffer and appends them
//! to the shard's log with one `append_batch`, which under
//! [`SyncPolicy::Always`](mnemo_log::SyncPolicy::Always) returns after one
//! `fdatasync`: group commit, with the batch as the group. It then moves
//! the shard's `done` position past the batch and wakes whoever waits for
//! it. Producers never touch the log, and the writer never waits for a
//! producer: an event a producer has claimed but not finished writing ends
//! the batch, and the next batch picks it up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use mnemo_log::Log;
use parking_lot::{Condvar, Mutex};

use crate::record::encode_into;
use crate::ring::Ring;

/// How long an idle writer sleeps before it looks at its ring again on its
/// own (producers wake it earlier; this bounds the delay of a wake-up lost
/// in the race between a producer and a writer going to sleep).
const IDLE_PARK: Duration = Duration::from_millis(1);
/// Empty drains an idle writer makes (yielding between them) before it parks.
const IDLE_SPINS: u32 = 32;

/// Counters of one shard, updated off the producers' fast path (admitted
/// events are counted by the ring's tail position, not by a counter).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dropped_newest: AtomicU64,
    pub dropped_oldest: AtomicU64,
    pub sampled_out: AtomicU64,
    pub rejected: AtomicU64,
    pub timed_out: AtomicU64,
    pub blocked: AtomicU64,
    pub written: AtomicU64,
    pub batches: AtomicU64,
    /// Offers seen while sampling (the sample keeps every n-th).
    pub sample_tick: AtomicU64,
}

/// A shard's state shared by its producers, its writer and its waiters.
pub(crate) struct Shard {
    pub index: usize,
    pub ring: Ring,
    pub log: Log,
    pub max_batch: usize,
    /// Every ring position below this was written (and synced, as the
    /// policy says) or evicted.
    pub done: AtomicU64,
    /// Every log seq below this is acknowledged: written by a finished
    /// `append_batch` (so synced under `Always`), or recovered at open.
    pub acked_seq: AtomicU64,
    pub counters: Counters,
    pub failure: Mutex<Option<String>>,
    pub failed: AtomicBool,
    /// Set when the stream closes: producers are refused, and the writer
    /// drains what is left and stops.
    pub closing: AtomicBool,
    pub stopped: AtomicBool,
    /// While set (and the stream is not closing), the writer drains nothing.
    pub paused: AtomicBool,
    writer_sleeping: AtomicBool,
    writer: Mutex<Option<Thread>>,
    waiters: AtomicU32,
    space_waiters: AtomicU32,
    lock: Mutex<()>,
    written_cv: Condvar,
    space_cv: Condvar,
    /// Notified after every batch when consumers wait for new events.
    pub activity: Arc<Activity>,
}

/// Wakes consumers waiting for new events in any shard of a stream.
#[derive(Default)]
pub(crate) struct Activity {
    pub waiting: AtomicU32,
    pub generation: Mutex<u64>,
    pub cv: Condvar,
}

impl Activity {
    pub fn notify(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            *self.generation.lock() += 1;
            self.cv.notify_all();
        }
    }
}

impl Shard {
    pub fn new(
        index: usize,
        ring_capacity: usize,
        log: Log,
        max_batch: usize,
        activity: Arc<Activity>,
    ) -> Self {
        Self {
            index,
            ring: Ring::new(ring_capacity),
            max_batch,
            done: AtomicU64::new(0),
            acked_seq: AtomicU64::new(log.next_seq()),
            counters: Counters::default(),
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            writer_sleeping: AtomicBool::new(false),
            writer: Mutex::new(None),
            waiters: AtomicU32::new(0),
            space_waiters: AtomicU32::new(0),
            lock: Mutex::new(()),
            written_cv: Condvar::new(),
            space_cv: Condvar::new(),
            activity,
            log,
        }
    }

    /// Wakes the writer if it sleeps. Called after every publish: one
    /// relaxed load when the writer is awake.
    #[inline]
    pub fn wake_writer(&self) {
        if self.writer_sleeping.load(Ordering::Relaxed) {
            self.unpark_writer();
        }
    }

    #[cold]
    fn unpark_writer(&self) {
        self.writer_sleeping.store(false, Ordering::Relaxed);
        if let Some(thread) = self.writer.lock().as_ref() {
            thread.unpark();
        }
    }

    /// Waits until the writer has moved past `pos`, the shard failed, or it
    /// stopped without reaching `pos`.
    pub fn wait_done(&self, pos: u64) -> Result<(), WaitEnd> {
        loop {
            if self.done.load(Ordering::Acquire) > pos {
                return Ok(());
            }
            if self.failed.load(Ordering::Acquire) {
                return Err(WaitEnd::Failed);
            }
            if self.stopped.load(Ordering::Acquire) {
                return Err(WaitEnd::Stopped);
            }
            self.wake_writer();
            self.waiters.fetch_add(1, Ordering::SeqCst);
            {
                let mut guard = self.lock.lock();
                if self.done.load(Ordering::SeqCst) <= pos
                    && !self.failed.load(Ordering::SeqCst)
                    && !self.stopped.load(Ordering::SeqCst)
                {
                    self.written_cv
                        .wait_for(&mut guard, Duration::from_millis(10));
                }
            }
            self.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Waits, at most until `deadline`, for the writer to free slots.
    /// Returns false when the deadline passed.
    pub fn wait_space(&self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        self.unpark_writer();
        self.space_waiters.fetch_add(1, Ordering::SeqCst);
        {
            let mut guard = self.lock.lock();
            if self.ring.len() >= self.ring.capacity() && !self.closing.load(Ordering::SeqCst) {
                let wait = (deadline - now).min(Duration::from_millis(5));
                self.space_cv.wait_for(&mut guard, wait);
            }
        }
        self.space_waiters.fetch_sub(1, Ordering::SeqCst);
        true
    }

    fn notify_done(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.written_cv.notify_all();
        }
    }

    fn notify_space(&self) {
        if self.space_waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.space_cv.notify_all();
        }
    }

    fn fail(&self, reason: String) {
        *self.failure.lock() = Some(reason);
        self.failed.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.written_cv.notify_all();
        self.space_cv.notify_all();
    }

    /// The writer thread's loop; returns when the stream closes (after
    /// draining every published event) or the log fails.
    pub fn run_writer(&self) {
        *self.writer.lock() = Some(std::thread::current());
        let mut buf: Vec<u8> = Vec::with_capacity(self.max_batch * 128);
        let mut ends: Vec<usize> = Vec::with_capacity(self.max_batch);
        let mut idle = 0u32;
        loop {
            buf.clear();
            ends.clear();
            let paused =
                self.paused.load(Ordering::Acquire) && !self.closing.load(Ordering::Acquire);
            let range = if paused {
                0..0
            } else {
                self.ring.drain(self.max_batch, &mut |header, payload| {
                    encode_into(header, payload, &mut buf);
                    ends.push(buf.len());
                })
            };
            if range.is_empty() {
                if self.closing.load(Ordering::SeqCst) {
                    // A producer that claimed a slot before the close
                    // publishes it soon; stop once nothing is claimed.
                    if self.ring.is_empty() {
                        break;
                    }
                    std::thread::yield_now();
                    continue;
                }
                idle += 1;
                if idle < IDLE_SPINS {
                    std::thread::yield_now();
                } else {
                    self.writer_sleeping.store(true, Ordering::SeqCst);
                    if self.ring.is_empty() && !self.closing.load(Ordering::SeqCst) {
                        std::thread::park_timeout(IDLE_PARK);
                    }
                    self.writer_sleeping.store(false, Ordering::Relaxed);
                    idle = 0;
                }
                continue;
            }
            idle = 0;
            self.notify_space();
            let mut start = 0;
            let records = ends.iter().map(|&end| {
                let record = &buf[start..end];
                start = end;
                record
            });
            match self.log.append_batch(records) {
                Ok(appended) => {
                    self.acked_seq.store(appended.seqs.end, Ordering::SeqCst);
                    self.counters
                        .written
                        .fetch_add(range.end - range.start, Ordering::Relaxed);
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    self.done.store(range.end, Ordering::SeqCst);
                    self.notify_done();
                    self.activity.notify();
                }
                Err(e) => {
                    self.fail(e.to_string());
                    return;
                }
            }
        }
        if let Err(e) = self.log.sync() {
            self.fail(e.to_string());
            return;
        }
        self.stopped.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.written_cv.notify_all();
        self.space_cv.notify_all();
    }
}

/// Why a wait ended without its event being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    Failed,
    Stopped,
}
