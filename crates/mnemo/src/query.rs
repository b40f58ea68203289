//! [`Query`]: which memories, in what order, how many.
//!
//! A query is a conjunction of filters plus an order, an offset and a
//! limit. The engine answers it from its indices (see `exec.rs`): tag,
//! source and kind bitmaps, time and importance B-trees, and a
//! case-insensitive substring matcher for `content_contains`.
//!
//! ```
//! use mnemo::{Query, OrderBy};
//!
//! let q = Query::new()
//!     .tag("project-x")
//!     .without_tag("archived")
//!     .order_by(OrderBy::At)
//!     .descending()
//!     .limit(10);
//! assert_eq!(q.limit, Some(10));
//! ```

use crate::model::{Kind, MemoryId, Timestamp, Value};

/// A half-open time range `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// Earliest time included.
    pub from: Option<Timestamp>,
    /// First time excluded.
    pub until: Option<Timestamp>,
}

impl TimeRange {
    /// `[from, until)`.
    pub fn new(from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        Self { from, until }
    }

    /// Whether `t` is in the range.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t < u)
    }

    /// Whether the range holds nothing.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.until), (Some(f), Some(u)) if f >= u)
    }
}

/// What a query orders by.
///
/// Every order is by the pair `(key, id)`: memories with equal keys come in
/// id order, ascending. [`Query::descending`] reverses the whole order
/// exactly, so there ties come by id descending; paging through a result
/// with `offset` and `limit` in one direction meets the same memories as
/// in the other, in reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// The event time `at` (ties by id).
    At,
    /// The time recorded (ties by id).
    Recorded,
    /// Importance (ties by id).
    Importance,
    /// The id, i.e. the order of writing.
    #[default]
    Id,
}

/// A query over one namespace's memories. Every filter set must hold
/// (an empty query matches every memory).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Only these ids.
    pub ids: Option<Vec<MemoryId>>,
    /// Has every one of these tags.
    pub tags_all: Vec<String>,
    /// Has at least one of these tags (ignored when empty).
    pub tags_any: Vec<String>,
    /// Has none of these tags.
    pub tags_none: Vec<String>,
    /// Has this source.
    pub source: Option<String>,
    /// Is of this kind.
    pub kind: Option<Kind>,
    /// Event time `at` within this range.
    pub at: Option<TimeRange>,
    /// Time recorded within this range.
    pub recorded: Option<TimeRange>,
    /// Metadata fields equal to these values.
    pub metadata: Vec<(String, Value)>,
    /// Content contains this text, ignoring case.
    pub content_contains: Option<String>,
    /// Order of the results.
    pub order: OrderBy,
    /// Descending instead of ascending.
    pub descending: bool,
    /// Results skipped before the first returned.
    pub offset: usize,
    /// Most results returned (`None`: all).
    pub limit: Option<usize>,
}

impl Query {
    /// Matches everything, ordered by id, ascending, no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these ids.
    pub fn ids(mut self, ids: impl IntoIterator<Item = MemoryId>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }

    /// Must have `tag` (repeat for several: all must be present).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags_all.push(tag.into());
        self
    }

    /// Must have at least one of `tags`.
    pub fn any_tag(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags_any.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Must not have `tag`.
    pub fn without_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags_none.push(tag.into());
        self
    }

    /// Must come from `source`.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Must be of `kind`.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Event time within `[from, until)`.
    pub fn at_between(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.at = Some(TimeRange::new(from, until));
        self
    }

    /// Recorded within `[from, until)`.
    pub fn recorded_between(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.recorded = Some(TimeRange::new(from, until));
        self
    }

    /// Metadata field `name` equals `value`.
    pub fn meta(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.push((name.into(), value.into()));
        self
    }

    /// Content contains `text`, ignoring case.
    pub fn contains(mut self, text: impl Into<String>) -> Self {
        self.content_contains = Some(text.into());
        self
    }

    /// Order by `order` (ascending unless [`Self::descending`]).
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.order = order;
        self
    }

    /// Descending order.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Skip the first `offset` results.
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Return at most `limit` results.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether the query has any filter (and so may exclude memories).
    pub fn has_filter(&self) -> bool {
        self.ids.is_some()
            || !self.tags_all.is_empty()
            || !self.tags_any.is_empty()
            || !self.tags_none.is_empty()
            || self.source.is_some()
            || self.kind.is_some()
            || self.at.is_some()
            || self.recorded.is_some()
            || !self.metadata.is_empty()
            || self.content_contains.is_some()
    }
}
