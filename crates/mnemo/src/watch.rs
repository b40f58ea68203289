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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::contains::ContainsNeedle;
use crate::exec::Prepared;
use crate::model::{Memory, MemoryId};
use crate::query::Query;
use crate::state::{Change, IdMap};

/// What a watcher receives.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The query's full result: first, and again after [`Self::Lagged`].
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
        drop(queue);
        self.ready.notify_one();
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
            shared.queue.lock().closed = true;
            shared.ready.notify_all();
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
    /// The query's current result, or `None` when the namespace is gone.
    fn requery(&self, query: &Query) -> Option<Vec<Arc<Memory>>>;
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
    pub(crate) fn new(id: u64, shared: Arc<Shared>, owner: Weak<dyn Requery>) -> Self {
        Self {
            id,
            shared,
            owner,
            resync: false,
        }
    }

    /// The watched query.
    pub fn query(&self) -> &Query {
        &self.shared.query
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

    /// Events buffered now.
    pub fn pending(&self) -> usize {
        self.shared.queue.lock().events.len()
    }

    fn next(&mut self, timeout: Option<Duration>) -> Option<WatchEvent> {
        if self.resync {
            self.resync = false;
            let owner = self.owner.upgrade()?;
            return owner.requery(&self.shared.query).map(WatchEvent::Current);
        }
        let mut queue = self.shared.queue.lock();
        loop {
            if queue.lagged {
                queue.lagged = false;
                self.resync = true;
                return Some(WatchEvent::Lagged);
            }
            if let Some(event) = queue.events.pop_front() {
                return Some(event);
            }
            if queue.closed {
                return None;
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

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.unregister(self.id);
        }
    }
}
