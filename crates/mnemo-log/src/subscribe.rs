//! Tail subscriptions: the backlog from a chosen seq, then live batches.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::log::Inner;
use crate::record::{Record, Seq};

/// Records read per backlog batch at most.
const BACKLOG_BATCH_RECORDS: u64 = 1024;

/// Why a subscription did not deliver a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The subscriber fell behind: either its queue overflowed, or records it
    /// had not read were removed by retention. Delivery continues from
    /// `resume_at` on the next call (reading the log directly), so nothing
    /// still in the log is skipped.
    #[error("subscriber lagged; delivery resumes at seq {resume_at}")]
    Lagged {
        /// The next seq this subscription will deliver.
        resume_at: Seq,
    },
    /// The log was closed and every record has been delivered.
    #[error("log closed")]
    Closed,
    /// No batch arrived in time (from `try_recv` / `recv_timeout`).
    #[error("no batch available")]
    Empty,
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    batches: VecDeque<Range<Seq>>,
    /// Set when the queue overflowed: `(resume_at, gap_end)`; the subscriber
    /// reads `resume_at..gap_end` from the log instead.
    lagged: Option<(Seq, Seq)>,
    waiting: bool,
    closed: bool,
}

/// The part of a subscription the writer sees.
#[derive(Debug, Default)]
pub(crate) struct SubShared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl SubShared {
    /// Queues one appended batch (called by the writer, once per batch).
    /// Never blocks and never grows past `capacity` batches.
    pub(crate) fn push(&self, range: Range<Seq>, capacity: usize) {
        let mut q = self.queue.lock();
        if let Some((_, gap_end)) = &mut q.lagged {
            *gap_end = range.end;
        } else if q.batches.len() >= capacity {
            let resume_at = q.batches.front().map_or(range.start, |r| r.start);
            q.batches.clear();
            q.batches.shrink_to(capacity);
            q.lagged = Some((resume_at, range.end));
        } else {
            q.batches.push_back(range);
        }
        if q.waiting {
            self.ready.notify_one();
        }
    }

    /// Wakes the subscriber for good.
    pub(crate) fn close(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        self.ready.notify_all();
    }
}

/// A stream of the log's records from a starting seq: first the backlog, then
/// one batch per `append`/`append_batch` call. Obtained from
/// [`Log::subscribe`](crate::Log::subscribe).
///
/// Memory is bounded by [`Config::subscriber_queue_batches`](crate::Config)
/// ranges per subscriber (records are not copied: batches are read from the
/// log when received). Dropping the subscription unregisters it.
pub struct Subscription {
    log: Arc<Inner>,
    shared: Arc<SubShared>,
    /// Next seq to deliver.
    cursor: Seq,
    /// Records below this are read from the log directly (backlog).
    backlog_end: Seq,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("cursor", &self.cursor)
            .field("backlog_end", &self.backlog_end)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    pub(crate) fn new(log: Arc<Inner>, shared: Arc<SubShared>, from: Seq, live_from: Seq) -> Self {
        Self {
            log,
            shared,
            cursor: from,
            backlog_end: live_from.max(from),
        }
    }

    /// The next seq this subscription will deliver.
    pub fn position(&self) -> Seq {
        self.cursor
    }

    /// Waits for the next batch.
    pub fn recv(&mut self) -> Result<Vec<Record>, SubscriptionError> {
        self.next_batch(None, true)
    }

    /// Waits at most `timeout` for the next batch.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Vec<Record>, SubscriptionError> {
        self.next_batch(Some(Instant::now() + timeout), true)
    }

    /// Returns the next batch if one is ready.
    pub fn try_recv(&mut self) -> Result<Vec<Record>, SubscriptionError> {
        self.next_batch(None, false)
    }

    fn read_range(&mut self, end: Seq) -> Result<Vec<Record>, SubscriptionError> {
        let (records, first) = self.log.read_span(self.cursor, end);
        if first > self.cursor {
            self.cursor = first;
            return Err(SubscriptionError::Lagged { resume_at: first });
        }
        self.cursor += records.len() as u64;
        Ok(records)
    }

    fn next_batch(
        &mut self,
        deadline: Option<Instant>,
        block: bool,
    ) -> Result<Vec<Record>, SubscriptionError> {
        loop {
            if self.cursor < self.backlog_end {
                let end = self.backlog_end.min(self.cursor + BACKLOG_BATCH_RECORDS);
                let records = self.read_range(end)?;
                if !records.is_empty() {
                    return Ok(records);
                }
                // Not appended yet (a lag gap ends beyond what is visible).
                self.backlog_end = self.cursor;
                continue;
            }
            let mut q = self.shared.queue.lock();
            if let Some((resume_at, gap_end)) = q.lagged.take() {
                drop(q);
                let resume_at = resume_at.max(self.cursor);
                self.cursor = resume_at;
                self.backlog_end = gap_end.max(resume_at);
                return Err(SubscriptionError::Lagged { resume_at });
            }
            if let Some(range) = q.batches.pop_front() {
                drop(q);
                if range.end <= self.cursor {
                    continue;
                }
                self.cursor = self.cursor.max(range.start);
                let records = self.read_range(range.end)?;
                if records.is_empty() {
                    continue;
                }
                return Ok(records);
            }
            if q.closed {
                return Err(SubscriptionError::Closed);
            }
            if !block {
                return Err(SubscriptionError::Empty);
            }
            q.waiting = true;
            match deadline {
                Some(deadline) => {
                    let timed_out = self.shared.ready.wait_until(&mut q, deadline).timed_out();
                    q.waiting = false;
                    if timed_out && q.batches.is_empty() && q.lagged.is_none() && !q.closed {
                        return Err(SubscriptionError::Empty);
                    }
                }
                None => {
                    self.shared.ready.wait(&mut q);
                    q.waiting = false;
                }
            }
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<Vec<Record>, SubscriptionError>;

    /// Blocks for the next batch; ends when the log is closed.
    fn next(&mut self) -> Option<Self::Item> {
        match self.recv() {
            Err(SubscriptionError::Closed) => None,
            other => Some(other),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.log.unsubscribe(&self.shared);
    }
}
