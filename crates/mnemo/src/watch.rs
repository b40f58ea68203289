//! Watchers: a query's current result, then only the changes that touch it.
//!
//! Each watcher is filed under one *anchor* drawn from its query: an id
//! (when the query lists ids), a tag (its first required tag, or each of
//! its any-of tags), its source, its kind, or, for queries with none of
//! these, the general list. A change to a memory looks up only the anchors
//! that memory has (before and after the change: its id, tags, source,
//! kind) plus the general list, so a change outside a watcher's filter
//! never reaches that watcher: it costs it nothing.
//!
//! Deltas describe the *filter*: after the initial result (ordered and
//! limited as the query says), a watcher receives `Added` when a memory
//! starts matching the filter, `Changed` when a matching memory changes and
//! still matches, and `Removed` when it stops matching or is forgotten.
//! Order, offset and limit apply to the initial result only.
//!
//! ## Bounds
//!
//! Each watcher buffers at most [`crate::Options::watch_buffer`] events.
//! When the buffer is full the writer does not wait: it drops the buffer
//! and marks the watcher lagged; the watcher's next `recv` returns
//! [`WatchEvent::Lagged`] and the one after it a fresh
//! [`WatchEvent::Current`] result, so nothing is silently lost.
//!
//! The initial result and the fresh one after a lag are as limited as the
//! query's [`Query::limit`] says; [`Watch::total`] tells how many memories
//! matched the filter when that result was taken, so a caller can see
//! that it was cut and page the rest with the same query and an offset.
//!
//! ## Blocking or async
//!
//! [`Watch::recv`] and [`Watch::recv_timeout`] block the calling thread;
//! [`Watch::poll_recv`] is the same for async code: it registers the
//! task's waker and returns `Pending`, and the writer that queues the next
//! event (or the namespace closing) wakes it, so an async server holds no
//! thread per watcher.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::base::IdMap;
use crate::contains::ContainsNeedle;
use crate::exec::Prepared;
use crate::model::{Memory, MemoryId};
use crate::query::Query;
use crate::state::{Change, State};

/// What a watcher receives.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The query's result (ordered, offset and limited as the query
    /// says): first, and again after [`Self::Lagged`]. [`Watch::total`]
    /// tells how many matched in all.
    Current(Vec<Arc<Memory>>),
    /// A memory started matching.
    Added(Arc<Memory>),
    /// A matching memory changed and still matches.
    Changed(Arc<Memory>),
    /// A memory stopped matching or was forgotten.
    Removed(MemoryId),
    /// The buffer overflowed and events were dropped; a fresh
    /// [`Self::Current`] follows.
    Lagged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Anchor {
    Id(u64),
    Tag(String),
    Source(String),
    Kind(usize),
    General,
}

fn anchors_of(q: &Query) -> Vec<Anchor> {
    if let Some(ids) = &q.ids {
        return ids.iter().map(|id| Anchor::Id(id.0)).collect();
    }
    if let Some(tag) = q.tags_all.first() {
        return vec![Anchor::Tag(tag.clone())];
    }
    if !q.tags_any.is_empty() {
        return q.tags_any.iter().map(|t| Anchor::Tag(t.clone())).collect();
    }
    if let Some(source) = &q.source {
        return vec![Anchor::Source(source.clone())];
    }
    if let Some(kind) = q.kind {
        return vec![Anchor::Kind(kind.index())];
    }
    vec![Anchor::General]
}

struct Queue {
    events: VecDeque<WatchEvent>,
    lagged: bool,
    closed: bool,
    /// The task [`Watch::poll_recv`] left waiting, woken by the next push
    /// or the close.
    waker: Option<Waker>,
}

/// The part of a watcher the writer and the receiver share.
pub(crate) struct Shared {
    query: Query,
    needle: Option<ContainsNeedle>,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn push(&self, event: WatchEvent) {
        let mut queue = self.queue.lock();
        if queue.lagged || queue.closed {
            return;
        }
        if queue.events.len() >= self.capacity {
            queue.events.clear();
            queue.lagged = true;
        } else {
            queue.events.push_back(event);
        }
        let waker = queue.waker.take();
        drop(queue);
        self.ready.notify_one();
        // Woken outside the lock: a waker may run code of its own.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Marks the watcher closed and wakes whoever waits on it.
    fn close(&self) {
        let mut queue = self.queue.lock();
        queue.closed = true;
        let waker = queue.waker.take();
        drop(queue);
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// How many memories match `query`'s filter (ignoring offset and limit),
/// given that running it returned `returned` memories: counted only when
/// the limit may have cut the result (or the offset skipped all of it).
pub(crate) fn matched(state: &State, query: &Query, returned: usize) -> u64 {
    let cut = query.limit.is_some_and(|l| returned >= l);
    let skipped_all = returned == 0 && query.offset > 0;
    if cut || skipped_all {
        crate::exec::count(state, query, u64::MAX)
    } else {
        query.offset.saturating_add(returned) as u64
    }
}

/// The registry of a namespace's watchers.
#[derive(Default)]
pub(crate) struct Watchers {
    next: u64,
    all: IdMap<(Arc<Shared>, Vec<Anchor>)>,
    by_id: IdMap<Vec<u64>>,
    by_tag: HashMap<String, Vec<u64>>,
    by_source: HashMap<String, Vec<u64>>,
    by_kind: [Vec<u64>; 3],
    general: Vec<u64>,
}

impl Watchers {
    /// Number of registered watchers.
    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    /// Registers a watcher for `query` whose first event is `current`.
    pub(crate) fn register(
        &mut self,
        query: Query,
        current: Vec<Arc<Memory>>,
        capacity: usize,
    ) -> (u64, Arc<Shared>) {
        let id = self.next;
        self.next += 1;
        let anchors = anchors_of(&query);
        let mut events = VecDeque::with_capacity(capacity.min(64));
        events.push_back(WatchEvent::Current(current));
        let shared = Arc::new(Shared {
            needle: query.content_contains.as_deref().map(ContainsNeedle::new),
            query,
            capacity: capacity.max(1),
            queue: Mutex::new(Queue {
                events,
                lagged: false,
                closed: false,
                waker: None,
            }),
            ready: Condvar::new(),
        });
        for anchor in &anchors {
            match anchor {
                Anchor::Id(i) => self.by_id.entry(*i).or_default().push(id),
                Anchor::Tag(t) => self.by_tag.entry(t.clone()).or_default().push(id),
                Anchor::Source(s) => self.by_source.entry(s.clone()).or_default().push(id),
                Anchor::Kind(k) => self.by_kind[*k].push(id),
                Anchor::General => self.general.push(id),
            }
        }
        self.all.insert(id, (Arc::clone(&shared), anchors));
        (id, shared)
    }

    /// Removes a watcher.
    pub(crate) fn unregister(&mut self, id: u64) {
        if let Some((shared, anchors)) = self.all.remove(&id) {
            shared.close();
            for anchor in anchors {
                match anchor {
                    Anchor::Id(i) => drop_from(&mut self.by_id, &i, id),
                    Anchor::Tag(t) => drop_from(&mut self.by_tag, &t, id),
                    Anchor::Source(s) => drop_from(&mut self.by_source, &s, id),
                    Anchor::Kind(k) => self.by_kind[k].retain(|&w| w != id),
                    Anchor::General => self.general.retain(|&w| w != id),
                }
            }
        }
    }

    /// Closes every watcher (the namespace is closing).
    pub(crate) fn close_all(&mut self) {
        let ids: Vec<u64> = self.all.keys().copied().collect();
        for id in ids {
            self.unregister(id);
        }
    }

    /// Sends the events `change` causes to the watchers it can touch.
    pub(crate) fn dispatch(&self, change: &Change, scratch: &mut Vec<u64>) {
        if self.all.is_empty() {
            return;
        }
        scratch.clear();
        scratch.extend_from_slice(&self.general);
        if let Some(list) = self.by_id.get(&change.id.0) {
            scratch.extend_from_slice(list);
        }
        for m in [&change.old, &change.new].into_iter().flatten() {
            if !self.by_tag.is_empty() {
                for tag in &m.tags {
                    if let Some(list) = self.by_tag.get(tag.as_str()) {
                        scratch.extend_from_slice(list);
                    }
                }
            }
            if let Some(list) = m.source.as_deref().and_then(|s| self.by_source.get(s)) {
                scratch.extend_from_slice(list);
            }
            scratch.extend_from_slice(&self.by_kind[m.kind.index()]);
        }
        if scratch.is_empty() {
            return;
        }
        scratch.sort_unstable();
        scratch.dedup();
        for w in scratch.iter() {
            let Some((shared, _)) = self.all.get(w) else {
                continue;
            };
            let prepared = Prepared::with_needle(&shared.query, shared.needle.as_ref());
            let was = change.old.as_ref().is_some_and(|m| prepared.matches(m));
            let now = change.new.as_ref().filter(|m| prepared.matches(m));
            match (was, now) {
                (false, Some(m)) => shared.push(WatchEvent::Added(Arc::clone(m))),
                (true, Some(m)) => shared.push(WatchEvent::Changed(Arc::clone(m))),
                (true, None) => shared.push(WatchEvent::Removed(change.id)),
                (false, None) => {}
            }
        }
    }
}

fn drop_from<K, Q, S>(map: &mut HashMap<K, Vec<u64>, S>, key: &Q, id: u64)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
    S: std::hash::BuildHasher,
{
    if let Some(list) = map.get_mut(key) {
        list.retain(|&w| w != id);
        if list.is_empty() {
            map.remove(key);
        }
    }
}

/// Re-runs a watcher's query after it lagged.
pub(crate) trait Requery: Send + Sync {
    /// The query's current result and how many matched in all (see
    /// [`matched`]), or `None` when the namespace is gone.
    fn requery(&self, query: &Query) -> Option<(Vec<Arc<Memory>>, u64)>;
    /// Removes watcher `id` from the registry.
    fn unregister(&self, id: u64);
}

/// A live watch on a query (see the module docs). Dropping it unregisters
/// it.
pub struct Watch {
    id: u64,
    shared: Arc<Shared>,
    owner: Weak<dyn Requery>,
    resync: bool,
    total: u64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("id", &self.id)
            .field("query", &self.shared.query)
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// A watch whose first result (already queued) had `total` matches.
    pub(crate) fn new(id: u64, shared: Arc<Shared>, owner: Weak<dyn Requery>, total: u64) -> Self {
        Self {
            id,
            shared,
            owner,
            resync: false,
            total,
        }
    }

    /// The watched query.
    pub fn query(&self) -> &Query {
        &self.shared.query
    }

    /// How many memories matched the query's filter, ignoring its offset
    /// and limit, when the latest [`WatchEvent::Current`] was taken (the
    /// first one, or the fresh one after a lag). More than the query's
    /// offset plus that result's length means the limit cut it.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The next event without waiting, if one is ready.
    pub fn try_recv(&mut self) -> Option<WatchEvent> {
        self.next(Some(Duration::ZERO))
    }

    /// The next event, waiting at most `timeout`; `None` on timeout or
    /// when the namespace closed.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<WatchEvent> {
        self.next(Some(timeout))
    }

    /// The next event, waiting for it; `None` once the namespace closed.
    /// (Blocking is unavailable in the browser: use [`Self::try_recv`].)
    pub fn recv(&mut self) -> Option<WatchEvent> {
        self.next(None)
    }

    /// The next event for async code: `Ready(Some(event))` when one is
    /// buffered, `Ready(None)` once the namespace closed, else `Pending`
    /// with the task's waker kept: the next event or the close wakes it.
    /// After [`WatchEvent::Lagged`] the next call re-runs the query (CPU
    /// work bounded by the query's limit; an async caller may prefer to
    /// make that call with [`Self::try_recv`] on a blocking thread).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        if self.resync {
            return Poll::Ready(self.resync());
        }
        let mut queue = self.shared.queue.lock();
        if let Some(ready) = take(&mut queue, &mut self.resync) {
            return Poll::Ready(ready);
        }
        match &queue.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => queue.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether the next event is the fresh [`WatchEvent::Current`] that
    /// follows a [`WatchEvent::Lagged`] (receiving it re-runs the query).
    pub fn resyncing(&self) -> bool {
        self.resync
    }

    /// Events buffered now.
    pub fn pending(&self) -> usize {
        self.shared.queue.lock().events.len()
    }

    /// Whether [`Self::try_recv`] has something to give now: an event, a
    /// lag, the fresh result after one, or the end (the namespace closed).
    pub fn is_ready(&self) -> bool {
        if self.resync {
            return true;
        }
        let queue = self.shared.queue.lock();
        queue.lagged || !queue.events.is_empty() || queue.closed
    }

    /// Whether the namespace closed: once the buffered events are taken,
    /// none will follow.
    pub fn is_closed(&self) -> bool {
        self.shared.queue.lock().closed
    }

    /// The fresh result after a lag.
    fn resync(&mut self) -> Option<WatchEvent> {
        self.resync = false;
        let owner = self.owner.upgrade()?;
        let (current, total) = owner.requery(&self.shared.query)?;
        self.total = total;
        Some(WatchEvent::Current(current))
    }

    fn next(&mut self, timeout: Option<Duration>) -> Option<WatchEvent> {
        if self.resync {
            return self.resync();
        }
        let mut queue = self.shared.queue.lock();
        loop {
            if let Some(ready) = take(&mut queue, &mut self.resync) {
                return ready;
            }
            match timeout {
                Some(t) if t.is_zero() => return None,
                Some(t) => {
                    if self.shared.ready.wait_for(&mut queue, t).timed_out()
                        && queue.events.is_empty()
                        && !queue.lagged
                    {
                        return None;
                    }
                }
                None => self.shared.ready.wait(&mut queue),
            }
        }
    }
}

/// What the queue holds for the receiver: `Some(Some(event))`,
/// `Some(None)` once closed, `None` when it must wait. A lag sets
/// `resync`: the receiver's next call re-runs the query.
fn take(queue: &mut Queue, resync: &mut bool) -> Option<Option<WatchEvent>> {
    if queue.lagged {
        queue.lagged = false;
        *resync = true;
        return Some(Some(WatchEvent::Lagged));
    }
    if let Some(event) = queue.events.pop_front() {
        return Some(Some(event));
    }
    queue.closed.then_some(None)
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.unregister(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;
    use crate::{Mnemo, NewMemory, Options};

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn current(event: Option<WatchEvent>) -> Vec<u64> {
        match event {
            Some(WatchEvent::Current(list)) => list.iter().map(|m| m.id.0).collect(),
            other => panic!("expected a current result, got {other:?}"),
        }
    }

    #[test]
    fn the_first_result_is_limited_and_counts_every_match() {
        let m = Mnemo::in_memory_with(Options {
            watch_buffer: 4,
            ..Options::default()
        });
        let ns = m.namespace("t").expect("ns");
        let batch = (0..50)
            .map(|i| NewMemory::new(format!("memory {i}")).tag("w"))
            .collect();
        let ids = ns.remember_batch(batch).expect("write");
        ns.remember(NewMemory::new("elsewhere").tag("other"))
            .expect("write");

        let mut w = ns.watch(Query::new().tag("w").limit(10)).expect("watch");
        let first = current(w.try_recv());
        assert_eq!(first, ids[..10].iter().map(|r| r.id.0).collect::<Vec<_>>());
        assert_eq!(w.total(), 50, "the limit cut the result");

        // A limit above the matches: everything, and the total says so.
        let mut all = ns.watch(Query::new().tag("w").limit(100)).expect("watch");
        assert_eq!(current(all.try_recv()).len(), 50);
        assert_eq!(all.total(), 50);
        // An offset past the end: nothing, but the total still counts.
        let mut past = ns
            .watch(Query::new().tag("w").offset(60).limit(5))
            .expect("watch");
        assert!(current(past.try_recv()).is_empty());
        assert_eq!(past.total(), 50);

        // After a lag the fresh result is limited the same way and the
        // total follows the namespace.
        for i in 0..10 {
            ns.remember(NewMemory::new(format!("more {i}")).tag("w"))
                .expect("write");
        }
        assert_eq!(w.try_recv(), Some(WatchEvent::Lagged));
        assert!(w.resyncing());
        assert_eq!(current(w.try_recv()).len(), 10);
        assert!(!w.resyncing());
        assert_eq!(w.total(), 60);
    }

    #[test]
    fn poll_recv_wakes_the_task_on_each_event_and_on_close() {
        let m = Mnemo::in_memory();
        let ns = m.namespace("t").expect("ns");
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut w = ns.watch(Query::new().tag("w")).expect("watch");

        assert!(matches!(
            w.poll_recv(&mut cx),
            Poll::Ready(Some(WatchEvent::Current(list))) if list.is_empty()
        ));
        assert!(w.poll_recv(&mut cx).is_pending());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);

        // A change outside the filter does not wake it; one inside does.
        ns.remember(NewMemory::new("elsewhere").tag("other"))
            .expect("write");
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        let id = ns.remember(NewMemory::new("here").tag("w")).expect("write");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            w.poll_recv(&mut cx),
            Poll::Ready(Some(WatchEvent::Added(mem))) if mem.id == id
        ));

        // Waiting again: closing the namespace ends the watch.
        assert!(w.poll_recv(&mut cx).is_pending());
        ns.close().expect("close");
        assert_eq!(counter.0.load(Ordering::SeqCst), 2, "closing wakes it");
        assert!(matches!(w.poll_recv(&mut cx), Poll::Ready(None)));
    }
}
