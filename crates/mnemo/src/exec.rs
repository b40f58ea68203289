//! Query execution over a [`State`]'s indices.
//!
//! 1. **Candidates**: the indexable filters (ids, tags all / any / none,
//!    source, kind) become one roaring bitmap by intersection, union and
//!    difference of the index bitmaps; no filter means every live id.
//! 2. **Residual checks**: time ranges, metadata equality and
//!    `content_contains` are checked per memory, only on candidates.
//! 3. **Order**: two plans, chosen by estimated work.
//!    - *Walk*: go through the order's index (the time or importance
//!      B-tree, or the candidate bitmap itself for id order) in the wanted
//!      direction, keep what passes, stop after `offset + limit`. Expected
//!      steps: `(offset + limit) · live / candidates`. A time range on the
//!      ordering clock narrows the walk to that range of the B-tree.
//!    - *Select*: visit only the candidates and keep the best
//!      `offset + limit` in a bounded heap (never sort-then-truncate);
//!      cost: one visit per candidate.
//!
//!    A selective filter (few candidates) selects; a broad one walks.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Bound;
use std::sync::Arc;

use roaring::RoaringTreemap;

use crate::contains::ContainsNeedle;
use crate::model::{Memory, Timestamp};
use crate::query::{OrderBy, Query, TimeRange};
use crate::state::{State, importance_key};

/// A query's substring matcher, built for one run or kept by a watcher.
enum Needle<'q> {
    Owned(ContainsNeedle),
    Borrowed(&'q ContainsNeedle),
}

/// A query with its matcher prepared once.
pub(crate) struct Prepared<'q> {
    pub(crate) query: &'q Query,
    needle: Option<Needle<'q>>,
}

impl<'q> Prepared<'q> {
    pub(crate) fn new(query: &'q Query) -> Self {
        Self {
            query,
            needle: query
                .content_contains
                .as_deref()
                .map(|n| Needle::Owned(ContainsNeedle::new(n))),
        }
    }

    /// With a matcher built earlier for this query (no allocation).
    pub(crate) fn with_needle(query: &'q Query, needle: Option<&'q ContainsNeedle>) -> Self {
        Self {
            query,
            needle: needle.map(Needle::Borrowed),
        }
    }

    fn needle(&self) -> Option<&ContainsNeedle> {
        match self.needle.as_ref()? {
            Needle::Owned(n) => Some(n),
            Needle::Borrowed(n) => Some(n),
        }
    }

    /// Whether `m` passes every filter of the query (the definition the
    /// indexed plans must agree with).
    pub(crate) fn matches(&self, m: &Memory) -> bool {
        let q = self.query;
        if let Some(ids) = &q.ids
            && !ids.contains(&m.id)
        {
            return false;
        }
        let has = |t: &String| m.tags.binary_search(t).is_ok();
        if !q.tags_all.iter().all(has) {
            return false;
        }
        if !q.tags_any.is_empty() && !q.tags_any.iter().any(has) {
            return false;
        }
        if q.tags_none.iter().any(has) {
            return false;
        }
        if q.source.is_some() && m.source != q.source {
            return false;
        }
        if q.kind.is_some_and(|k| k != m.kind) {
            return false;
        }
        self.residual(m)
    }

    /// The checks no bitmap answers.
    fn residual(&self, m: &Memory) -> bool {
        let q = self.query;
        if q.at.is_some_and(|r| !r.contains(m.at)) {
            return false;
        }
        if q.recorded.is_some_and(|r| !r.contains(m.recorded)) {
            return false;
        }
        if !q
            .metadata
            .iter()
            .all(|(name, value)| m.metadata.get(name) == Some(value))
        {
            return false;
        }
        self.needle().is_none_or(|n| n.matches(&m.content))
    }

    fn has_residual(&self) -> bool {
        let q = self.query;
        q.at.is_some() || q.recorded.is_some() || !q.metadata.is_empty() || self.needle.is_some()
    }
}

/// The candidate set of the indexable filters; `None` means every live
/// memory.
pub(crate) fn candidates(state: &State, q: &Query) -> Option<RoaringTreemap> {
    let mut set: Option<RoaringTreemap> = None;
    let mut narrow = |bitmap: RoaringTreemap| {
        set = Some(match set.take() {
            None => bitmap,
            Some(s) => s & bitmap,
        });
    };
    if let Some(ids) = &q.ids {
        let mut bitmap: RoaringTreemap = ids.iter().map(|id| id.0).collect();
        bitmap &= &state.live;
        narrow(bitmap);
    }
    // Smallest tag bitmap first keeps the intersections cheap.
    let mut all: Vec<&RoaringTreemap> = Vec::with_capacity(q.tags_all.len());
    for tag in &q.tags_all {
        match state.tags.get(tag) {
            Some(b) => all.push(b),
            None => return Some(RoaringTreemap::new()),
        }
    }
    all.sort_unstable_by_key(|b| b.len());
    if let Some((first, rest)) = all.split_first() {
        let mut bitmap = (*first).clone();
        for b in rest {
            bitmap &= *b;
        }
        narrow(bitmap);
    }
    if !q.tags_any.is_empty() {
        let mut bitmap = RoaringTreemap::new();
        for tag in &q.tags_any {
            if let Some(b) = state.tags.get(tag) {
                bitmap |= b;
            }
        }
        narrow(bitmap);
    }
    if let Some(source) = &q.source {
        narrow(state.sources.get(source).cloned().unwrap_or_default());
    }
    if let Some(kind) = q.kind {
        narrow(state.kind_bitmap(kind).clone());
    }
    if !q.tags_none.is_empty() {
        let mut bitmap = set.take().unwrap_or_else(|| state.live.clone());
        for tag in &q.tags_none {
            if let Some(b) = state.tags.get(tag) {
                bitmap -= b;
            }
        }
        set = Some(bitmap);
    }
    // Memories past their deadline are gone before their expiry is written.
    if let Some(overdue) = state.overdue_now() {
        let mut bitmap = set.take().unwrap_or_else(|| state.live.clone());
        bitmap -= overdue;
        set = Some(bitmap);
    }
    set
}

/// An order key: `(primary, id)`, compared as unsigned integers.
type Key = (u64, u64);

fn time_key(t: Timestamp) -> u64 {
    (t.0 as u64) ^ (1 << 63)
}

fn key_of(order: OrderBy, m: &Memory) -> Key {
    let primary = match order {
        OrderBy::At => time_key(m.at),
        OrderBy::Recorded => time_key(m.recorded),
        OrderBy::Importance => u64::from(importance_key(m.importance)),
        OrderBy::Id => 0,
    };
    (primary, m.id.0)
}

/// Runs `q`: the matching memories in order, after `offset`, at most
/// `limit`.
pub(crate) fn run(state: &State, q: &Query) -> Vec<Arc<Memory>> {
    let prepared = Prepared::new(q);
    let wanted = q.limit.map(|l| l.saturating_add(q.offset));
    if wanted == Some(0) || has_empty_range(q) {
        return Vec::new();
    }
    let set = candidates(state, q);
    let live = state.live.len().max(1);
    let card = set.as_ref().map_or(live, RoaringTreemap::len);
    if card == 0 {
        return Vec::new();
    }
    // Ordered by event time with a required tag, the walk goes through
    // that tag's own time index: only its memories are stepped over.
    let walk_space = match tag_tree(state, q) {
        Some(tree) => tree.len() as u64,
        None => live,
    };
    let use_walk = match wanted {
        None => set.is_none() || q.order == OrderBy::Id,
        Some(w) => {
            let walk = (w as u64).saturating_mul(walk_space) / card;
            q.order == OrderBy::Id || walk < card
        }
    };
    let mut out = Vec::new();
    let take = wanted.unwrap_or(usize::MAX);
    if use_walk {
        walk(state, &prepared, set.as_ref(), &mut |m| {
            out.push(Arc::clone(m));
            out.len() < take
        });
    } else {
        out = select(state, &prepared, set.as_ref(), wanted);
    }
    out.drain(..q.offset.min(out.len()));
    out
}

/// Counts the matches of `q` (ignoring order, offset and limit).
pub(crate) fn count(state: &State, q: &Query, stop_at: u64) -> u64 {
    if has_empty_range(q) {
        return 0;
    }
    let prepared = Prepared::new(q);
    let set = candidates(state, q);
    if !prepared.has_residual() {
        return set
            .as_ref()
            .map_or(state.live.len(), RoaringTreemap::len)
            .min(stop_at);
    }
    let mut n = 0;
    let mut visit = |id: u64| {
        if let Some(m) = state.memories.get(&id)
            && prepared.residual(m)
        {
            n += 1;
        }
        n < stop_at
    };
    match &set {
        Some(s) => {
            for id in s {
                if !visit(id) {
                    break;
                }
            }
        }
        None => {
            // A time range on its own walks only that part of its B-tree.
            if let Some(r) = q.at {
                for &(_, id) in state.by_at.range(time_bounds(r)) {
                    if !visit(id) {
                        break;
                    }
                }
            } else if let Some(r) = q.recorded {
                for &(_, id) in state.by_recorded.range(time_bounds(r)) {
                    if !visit(id) {
                        break;
                    }
                }
            } else {
                for id in &state.live {
                    if !visit(id) {
                        break;
                    }
                }
            }
        }
    }
    n
}

/// Whether a time range of `q` holds nothing (`from >= until`): the query
/// matches nothing, and a B-tree range with `from > until` would panic.
fn has_empty_range(q: &Query) -> bool {
    q.at.is_some_and(|r| r.is_empty()) || q.recorded.is_some_and(|r| r.is_empty())
}

/// B-tree bounds over `(time, id)` keys.
type TimeBounds = (Bound<(Timestamp, u64)>, Bound<(Timestamp, u64)>);

fn time_bounds(r: TimeRange) -> TimeBounds {
    let lo = r.from.map_or(Bound::Unbounded, |f| Bound::Included((f, 0)));
    let hi = r
        .until
        .map_or(Bound::Unbounded, |u| Bound::Excluded((u, 0)));
    (lo, hi)
}

/// The time index of the query's rarest required tag, when it orders by
/// event time.
fn tag_tree<'s>(
    state: &'s State,
    q: &Query,
) -> Option<&'s std::collections::BTreeSet<(Timestamp, u64)>> {
    if q.order != OrderBy::At {
        return None;
    }
    q.tags_all
        .iter()
        .filter_map(|t| state.tag_at.get(t.as_str()))
        .min_by_key(|tree| tree.len())
}

/// Visits matches in order; `emit` returns false to stop.
fn walk(
    state: &State,
    prepared: &Prepared<'_>,
    set: Option<&RoaringTreemap>,
    emit: &mut dyn FnMut(&Arc<Memory>) -> bool,
) {
    let q = prepared.query;
    let residual = prepared.has_residual();
    let mut visit = |id: u64| -> bool {
        if set.is_some_and(|s| !s.contains(id)) {
            return true;
        }
        let Some(m) = state.memories.get(&id) else {
            return true;
        };
        if residual && !prepared.residual(m) {
            return true;
        }
        emit(m)
    };
    macro_rules! go {
        ($iter:expr) => {
            if q.descending {
                for id in $iter.rev() {
                    if !visit(id) {
                        break;
                    }
                }
            } else {
                for id in $iter {
                    if !visit(id) {
                        break;
                    }
                }
            }
        };
    }
    match q.order {
        OrderBy::Id => {
            let bitmap = set.unwrap_or(&state.live);
            // `visit` re-checks membership; cheap next to the lookup.
            go!(bitmap.iter());
        }
        OrderBy::At => {
            let range =
                q.at.map_or((Bound::Unbounded, Bound::Unbounded), time_bounds);
            let tree = tag_tree(state, q).unwrap_or(&state.by_at);
            go!(tree.range(range).map(|&(_, id)| id));
        }
        OrderBy::Recorded => {
            let range = q
                .recorded
                .map_or((Bound::Unbounded, Bound::Unbounded), time_bounds);
            go!(state.by_recorded.range(range).map(|&(_, id)| id));
        }
        OrderBy::Importance => {
            go!(state.by_importance.iter().map(|&(_, id)| id));
        }
    }
}

/// Visits every candidate and keeps the best `wanted` (all when `None`) in
/// a bounded heap; returns them in order.
fn select(
    state: &State,
    prepared: &Prepared<'_>,
    set: Option<&RoaringTreemap>,
    wanted: Option<usize>,
) -> Vec<Arc<Memory>> {
    let q = prepared.query;
    let desc = q.descending;
    // The heap's top is the worst kept entry, so it is the one replaced.
    #[derive(PartialEq, Eq)]
    struct Entry(Key, bool);
    impl Ord for Entry {
        fn cmp(&self, other: &Self) -> Ordering {
            let ord = self.0.cmp(&other.0);
            if self.1 { ord.reverse() } else { ord }
        }
    }
    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    let bound = wanted.unwrap_or(usize::MAX);
    let mut heap: BinaryHeap<Entry> = BinaryHeap::with_capacity(bound.min(4096));
    let mut consider = |m: &Memory| {
        if !prepared.residual(m) {
            return;
        }
        let entry = Entry(key_of(q.order, m), desc);
        if heap.len() < bound {
            heap.push(entry);
        } else if heap.peek().is_some_and(|worst| entry < *worst) {
            heap.pop();
            heap.push(entry);
        }
    };
    match set {
        Some(s) => {
            for id in s {
                if let Some(m) = state.memories.get(&id) {
                    consider(m);
                }
            }
        }
        None => {
            for m in state.memories.values() {
                consider(m);
            }
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .filter_map(|Entry((_, id), _)| state.memories.get(&id).cloned())
        .collect()
}

/// Whether any memory matches (ids only; used by `exists`).
pub(crate) fn exists(state: &State, q: &Query) -> bool {
    count(state, q, 1) > 0
}

/// The ids a query's filters admit, as a bitmap (for recall's filters).
pub(crate) fn filter_bitmap(state: &State, q: &Query) -> RoaringTreemap {
    let prepared = Prepared::new(q);
    let set = candidates(state, q).unwrap_or_else(|| state.live.clone());
    if !prepared.has_residual() {
        return set;
    }
    set.iter()
        .filter(|id| state.memories.get(id).is_some_and(|m| prepared.residual(m)))
        .collect()
}
