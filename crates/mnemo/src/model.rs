//! The data model: [`Memory`] and its parts, [`Link`], and the newtypes for
//! ids and times.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::base::MemoryId;

/// A point in time: nanoseconds since the Unix epoch (negative before it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The earliest representable time.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable time.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From whole seconds since the epoch (saturating).
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000))
    }

    /// From milliseconds since the epoch (saturating).
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis.saturating_mul(1_000_000))
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// The time now by the system clock (in the browser, `Date.now()`; the
    /// epoch on other targets without a clock).
    pub fn now() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            Timestamp(i64::try_from(now).unwrap_or(i64::MAX))
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            // Whole milliseconds since the epoch.
            let millis = js_sys::Date::now() as i64;
            Timestamp(millis.saturating_mul(1_000_000))
        }
        #[cfg(all(target_arch = "wasm32", not(target_os = "unknown")))]
        {
            Timestamp(0)
        }
    }
}

/// What kind of memory this is, in the usual cognitive split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// Something that happened (a conversation turn, an observation).
    Episodic,
    /// Something known (a fact, a preference, a definition).
    Semantic,
    /// How to do something (a strategy, a recipe).
    Procedural,
}

impl Kind {
    /// All kinds, in their index order.
    pub const ALL: [Kind; 3] = [Kind::Episodic, Kind::Semantic, Kind::Procedural];

    /// The kind's position in [`Kind::ALL`].
    pub fn index(self) -> usize {
        match self {
            Kind::Episodic => 0,
            Kind::Semantic => 1,
            Kind::Procedural => 2,
        }
    }

    /// Lower-case name (`episodic`, `semantic`, `procedural`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Episodic => "episodic",
            Kind::Semantic => "semantic",
            Kind::Procedural => "procedural",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metadata value: a small JSON-like scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number (never NaN: NaN is refused on write).
    Float(f64),
    /// A string.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

/// Metadata: a small map from names to scalar values, ordered by name.
pub type Metadata = BTreeMap<String, Value>;

/// When something was (or is) true: `[from, until)`, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Validity {
    /// First instant it holds (`None`: since always).
    pub from: Option<Timestamp>,
    /// First instant it no longer holds (`None`: still holds).
    pub until: Option<Timestamp>,
}

impl Validity {
    /// Whether the window contains `t`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t < u)
    }
}

/// One memory as the namespace holds it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Assigned by the namespace.
    pub id: MemoryId,
    /// The caller's key, if given: remembering the same key again updates
    /// this memory instead of adding one.
    pub key: Option<String>,
    /// The text.
    pub content: String,
    /// Episodic, semantic or procedural.
    pub kind: Kind,
    /// Tags, sorted and distinct.
    pub tags: Vec<String>,
    /// Where it came from (a speaker, a tool, a session), if given.
    pub source: Option<String>,
    /// Free-form scalar fields.
    pub metadata: Metadata,
    /// When it happened (given by the writer, or the time it was recorded).
    pub at: Timestamp,
    /// When the namespace recorded it (the log timestamp of the event that
    /// created it).
    pub recorded: Timestamp,
    /// When the content is true, if limited.
    pub valid: Option<Validity>,
    /// How much it matters, in `[0, 1]`.
    pub importance: f32,
    /// How sure the writer is, in `[0, 1]`.
    pub confidence: f32,
    /// Log seq of the event that created it.
    pub created_seq: u64,
    /// Log seq of the last event that changed it (its content, tags or
    /// fields); [`crate::Namespace::prove`] proves this event.
    pub updated_seq: u64,
}

/// A directed, typed, weighted association between two memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Where the link starts.
    pub from: MemoryId,
    /// Where it ends.
    pub to: MemoryId,
    /// What kind of association (`caused`, `refers_to`, ...).
    pub kind: String,
    /// Strength in `[0, 1]`.
    pub weight: f32,
}
