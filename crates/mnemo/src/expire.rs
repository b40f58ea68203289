//! Expiry and the lifecycle of memories: [`Namespace::expire_due`] (the
//! sweep that writes `expire` events and erases), [`Namespace::set_expiry`],
//! [`Namespace::lifecycle`], and the namespace's maintenance thread, which
//! sweeps and writes queued recall touches about once a second (native).
//! See [`crate::lifecycle`] for the rules.

use std::sync::Arc;

use crate::error::Result;
use crate::event::{Event, Expire};
use crate::lifecycle::LifecycleInfo;
use crate::model::{MemoryId, Timestamp};
use crate::namespace::{Inner, Namespace};
use crate::state::Delta;

/// How often the maintenance thread sweeps and writes queued touches.
#[cfg(not(target_arch = "wasm32"))]
const MAINTAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the maintenance thread rebalances tiers even within budget.
#[cfg(not(target_arch = "wasm32"))]
const REBALANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Memories one `expire` event names at most (a sweep of more writes
/// several).
const EXPIRE_CHUNK: usize = 4096;

impl Namespace {
    /// Expires every memory past its deadline now: one `expire` event per
    /// up to 4,096 memories, then their keys are destroyed, so they are
    /// erased as [`Namespace::forget`] erases. Returns the ids expired,
    /// ascending. Reads leave such memories out from their deadline on;
    /// this writes it down (the maintenance thread calls it about once a
    /// second natively, and every write calls it when something is due).
    pub fn expire_due(&self) -> Result<Vec<MemoryId>> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        self.sweep_locked(Timestamp::now())
    }

    /// [`Self::expire_due`] at `now`, with the writer lock held.
    pub(crate) fn sweep_locked(&self, now: Timestamp) -> Result<Vec<MemoryId>> {
        let mut ids: Vec<MemoryId> = {
            let state = self.inner.state.read();
            state
                .lifecycle
                .overdue(now)
                .filter(|id| state.memories.contains_key(id))
                .map(MemoryId)
                .collect()
        };
        if ids.is_empty() {
            return Ok(ids);
        }
        ids.sort_unstable();
        for chunk in ids.chunks(EXPIRE_CHUNK) {
            self.commit(vec![Event::Expire(Expire {
                ids: chunk.to_vec(),
                at: now,
            })])?;
        }
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        self.erase(&raw)?;
        Ok(ids)
    }

    /// Sets memory `id`'s deadline (`None` clears it), as an `expiry`
    /// event. A deadline already past expires it at the next sweep (and
    /// reads leave it out at once). An id that is not a live memory is
    /// [`crate::Error::UnknownId`].
    pub fn set_expiry(&self, id: MemoryId, deadline: Option<Timestamp>) -> Result<Delta> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        self.live(id)?;
        let delta = self
            .commit(vec![Event::Expiry(vec![(id, deadline)])])?
            .pop()
            .unwrap_or_default();
        if deadline.is_some() {
            self.inner.start_maintainer();
        }
        Ok(delta)
    }

    /// A live memory's deadline, duplicate flag and merged writes; `None`
    /// for an id that is not a live memory.
    pub fn lifecycle(&self, id: MemoryId) -> Option<LifecycleInfo> {
        let state = self.inner.state.read();
        state.get(id)?;
        Some(state.lifecycle.info(id.0))
    }
}

impl Namespace {
    /// Runs a consolidation with the default settings when
    /// `consolidate_every` has passed since the last one (the first runs
    /// one period after opening).
    #[cfg(not(target_arch = "wasm32"))]
    fn consolidate_if_due(&self) {
        let Some(every) = self.inner.options.consolidate_every else {
            return;
        };
        let now = std::time::Instant::now();
        {
            let mut last = self.inner.consolidated_at.lock();
            match *last {
                None => {
                    *last = Some(now);
                    return;
                }
                Some(t) if now.duration_since(t) < every => return,
                Some(_) => *last = Some(now),
            }
        }
        // A failed run is retried a period later.
        let _ = self.consolidate(&crate::consolidate::ConsolidateOptions::default());
    }
}

impl Namespace {
    /// Rebalances the tiers when the resident estimate passes the budget,
    /// or a minute after the last rebalance (promotions of memories used
    /// since).
    #[cfg(not(target_arch = "wasm32"))]
    fn rebalance_if_due(&self) {
        if self.inner.options.max_resident_bytes.is_none() {
            return;
        }
        let now = std::time::Instant::now();
        let periodic = {
            let mut last = self.inner.rebalanced_at.lock();
            let due = last.is_none_or(|t| now.duration_since(t) >= REBALANCE_EVERY);
            if due {
                *last = Some(now);
            }
            due
        };
        if periodic || self.over_budget() {
            // A failed run is retried at the next round.
            let _ = self.rebalance_tiers();
        }
    }
}

impl Inner {
    /// Whether this namespace needs its maintenance thread: recall touches
    /// to write, deadlines to sweep, periodic consolidation, or a budget.
    #[cfg(not(target_arch = "wasm32"))]
    fn needs_maintainer(&self) -> bool {
        self.options.reinforce_on_recall
            || self.options.expiry.is_set()
            || self.options.consolidate_every.is_some()
            || self.options.max_resident_bytes.is_some()
            || !self.state.read().lifecycle.deadlines.is_empty()
    }

    /// Starts the maintenance thread if this namespace needs one and it is
    /// not running (native; in the browser writes sweep, and touches are
    /// written by [`Namespace::flush_touches`] and on close).
    pub(crate) fn start_maintainer(self: &Arc<Self>) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut slot = self.maintainer.lock();
            if slot.is_some()
                || !self.needs_maintainer()
                || self
                    .maintainer_stop
                    .load(std::sync::atomic::Ordering::Acquire)
            {
                return;
            }
            let weak: std::sync::Weak<Inner> = Arc::downgrade(self);
            let handle = std::thread::Builder::new()
                .name(format!("mnemo-maintain-{}", self.name))
                .spawn(move || {
                    loop {
                        std::thread::park_timeout(MAINTAIN_EVERY);
                        let Some(inner) = weak.upgrade() else { return };
                        if inner.is_closed()
                            || inner
                                .maintainer_stop
                                .load(std::sync::atomic::Ordering::Acquire)
                        {
                            return;
                        }
                        let ns = Namespace { inner };
                        // A failed write is retried at the next round; the
                        // touch ids it took are lost, as a full queue's are.
                        let _ = ns.flush_touches();
                        let due = ns
                            .inner
                            .state
                            .read()
                            .lifecycle
                            .any_overdue(Timestamp::now());
                        if due {
                            let _ = ns.expire_due();
                        }
                        ns.consolidate_if_due();
                        ns.rebalance_if_due();
                    }
                });
            if let Ok(h) = handle {
                *slot = Some(h);
            }
        }
    }

    /// Writes the queued touches and stops the thread (at close).
    pub(crate) fn stop_maintainer(self: &Arc<Self>) -> Result<()> {
        self.maintainer_stop
            .store(true, std::sync::atomic::Ordering::Release);
        let flushed = Namespace {
            inner: Arc::clone(self),
        }
        .flush_touches();
        if let Some(h) = self.maintainer.lock().take() {
            h.thread().unpark();
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        flushed.map(|_| ())
    }
}
