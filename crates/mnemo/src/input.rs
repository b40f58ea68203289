//! What callers write: [`NewMemory`] and [`Revision`].

use crate::model::{Kind, Metadata, Timestamp, Validity, Value};

/// A memory to remember (builder).
///
/// ```
/// use mnemo::{Kind, NewMemory};
///
/// let m = NewMemory::new("Alice moved to Lisbon")
///     .kind(Kind::Semantic)
///     .tag("alice")
///     .source("chat")
///     .importance(0.8);
/// assert_eq!(m.tags, vec!["alice".to_owned()]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    /// The text (1 byte to [`crate::Options::max_content_bytes`]).
    pub content: String,
    /// A client key: remembering the same key again updates that memory.
    pub key: Option<String>,
    /// Default [`Kind::Episodic`].
    pub kind: Kind,
    /// Tags (order and repeats do not matter).
    pub tags: Vec<String>,
    /// Source.
    pub source: Option<String>,
    /// Metadata.
    pub metadata: Metadata,
    /// Event time (default: when recorded).
    pub at: Option<Timestamp>,
    /// Validity window.
    pub valid: Option<Validity>,
    /// Default 0.5.
    pub importance: f32,
    /// Default 1.0.
    pub confidence: f32,
    /// The caller's own embedding (default: the namespace's embedder
    /// embeds the content).
    pub vector: Option<Vec<f32>>,
}

impl NewMemory {
    /// A memory with this content and default fields.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            key: None,
            kind: Kind::Episodic,
            tags: Vec::new(),
            source: None,
            metadata: Metadata::new(),
            at: None,
            valid: None,
            importance: 0.5,
            confidence: 1.0,
            vector: None,
        }
    }

    /// Sets the client key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets a metadata field.
    pub fn meta(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// Sets the event time.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }

    /// Sets the validity window.
    pub fn valid(mut self, valid: Validity) -> Self {
        self.valid = Some(valid);
        self
    }

    /// Sets the importance.
    pub fn importance(mut self, importance: f32) -> Self {
        self.importance = importance;
        self
    }

    /// Sets the confidence.
    pub fn confidence(mut self, confidence: f32) -> Self {
        self.confidence = confidence;
        self
    }

    /// Supplies the embedding instead of computing it.
    pub fn vector(mut self, vector: Vec<f32>) -> Self {
        self.vector = Some(vector);
        self
    }
}

/// A change to an existing memory: set fields change, the rest stay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Revision {
    /// New content (re-embedded unless `vector` is given).
    pub content: Option<String>,
    /// New embedding for the new content.
    pub vector: Option<Vec<f32>>,
    /// New kind.
    pub kind: Option<Kind>,
    /// New source (`Some(None)` clears it).
    pub source: Option<Option<String>>,
    /// New metadata (replaces the map).
    pub metadata: Option<Metadata>,
    /// New event time.
    pub at: Option<Timestamp>,
    /// New validity (`Some(None)` clears it).
    pub valid: Option<Option<Validity>>,
    /// New importance.
    pub importance: Option<f32>,
    /// New confidence.
    pub confidence: Option<f32>,
}

impl Revision {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets new content.
    pub fn content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// Sets the importance.
    pub fn importance(mut self, importance: f32) -> Self {
        self.importance = Some(importance);
        self
    }

    /// Sets the confidence.
    pub fn confidence(mut self, confidence: f32) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the event time.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }

    /// Sets (or with `None` clears) the source.
    pub fn source(mut self, source: Option<String>) -> Self {
        self.source = Some(source);
        self
    }
}
