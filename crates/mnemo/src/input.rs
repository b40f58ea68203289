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
    /// When the memory expires (a hard deadline: it leaves recall then and
    /// is erased). Default: the namespace's TTLs decide (see the
    /// `lifecycle` module). A deadline already past expires the memory
    /// at once.
    pub expires: Option<Timestamp>,
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
            expires: None,
        }
    }

    /// Sets the deadline (see [`Self::expires`]).
    pub fn expires(mut self, at: Timestamp) -> Self {
        self.expires = Some(at);
        self
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

/// Longest tag, source, key or metadata name, in bytes.
pub const MAX_LABEL_BYTES: usize = 1024;

/// What a namespace accepts: the limits every write is checked against.
/// [`crate::Namespace::limits`] gives a namespace's own; the CLI, the
/// server and the bindings check input with [`NewMemory::validate`] and
/// [`Revision::validate`] against them, so the engine is the one place
/// that decides what is refused and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest content (and metadata text value) in bytes.
    pub max_content_bytes: usize,
    /// The namespace's vector dimension, when known (a caller's vector must
    /// have it).
    pub dimension: Option<usize>,
}

impl Limits {
    /// The limits of the default options, with no dimension known.
    pub fn new(max_content_bytes: usize) -> Self {
        Self {
            max_content_bytes,
            dimension: None,
        }
    }
}

/// Why an input is refused: the field and a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field (`content`, `tag`, `metadata`, `vector`, ...).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for Invalid {}

impl Invalid {
    /// `field` refused for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid::new(field, reason))
}

/// Free text other than content (a fact's object, a task): at most
/// `limits.max_content_bytes`.
pub fn validate_text(field: &'static str, text: &str, limits: &Limits) -> Result<(), Invalid> {
    let max = limits.max_content_bytes;
    if text.len() > max {
        return refuse(
            field,
            format!("{} bytes exceeds the limit of {max} bytes", text.len()),
        );
    }
    Ok(())
}

/// Content: not blank, at most `limits.max_content_bytes`.
pub fn validate_content(content: &str, limits: &Limits) -> Result<(), Invalid> {
    if content.trim().is_empty() {
        return refuse("content", "it is empty");
    }
    validate_text("content", content, limits)
}

/// A label (tag, source, key, link kind, metadata name): 1 to
/// [`MAX_LABEL_BYTES`] bytes.
pub fn validate_label(field: &'static str, label: &str) -> Result<(), Invalid> {
    if label.is_empty() {
        return refuse(field, "it is empty");
    }
    if label.len() > MAX_LABEL_BYTES {
        return refuse(
            field,
            format!(
                "{} bytes exceeds the limit of {MAX_LABEL_BYTES}",
                label.len()
            ),
        );
    }
    Ok(())
}

/// A number in `[0, 1]` (importance, confidence, weights).
pub fn validate_unit(field: &'static str, x: f32) -> Result<(), Invalid> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        refuse(field, format!("{x} is not in [0, 1]"))
    }
}

/// Metadata: names are labels, numbers finite, text within the content
/// limit.
pub fn validate_metadata(metadata: &Metadata, limits: &Limits) -> Result<(), Invalid> {
    for (name, value) in metadata {
        validate_label("metadata name", name)?;
        match value {
            Value::Float(x) if !x.is_finite() => {
                return refuse("metadata", format!("{name} is {x}"));
            }
            Value::Text(s) if s.len() > limits.max_content_bytes => {
                return refuse("metadata", format!("{name} is too long"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A vector: the namespace's dimension (when known), finite, not all zeros.
pub fn validate_vector(v: &[f32], limits: &Limits) -> Result<(), Invalid> {
    if let Some(dim) = limits.dimension
        && v.len() != dim
    {
        return refuse(
            "vector",
            format!("{} components given, the namespace uses {dim}", v.len()),
        );
    }
    if v.iter().any(|x| !x.is_finite()) || v.iter().all(|x| *x == 0.0) {
        return refuse("vector", "it has a non-finite component or is all zeros");
    }
    Ok(())
}

impl NewMemory {
    /// Checks every field against `limits`, naming the first bad one:
    /// what the namespace will refuse, checked before anything is sent.
    pub fn validate(&self, limits: &Limits) -> Result<(), Invalid> {
        validate_content(&self.content, limits)?;
        if let Some(k) = &self.key {
            validate_label("key", k)?;
        }
        for t in &self.tags {
            validate_label("tag", t)?;
        }
        if let Some(s) = &self.source {
            validate_label("source", s)?;
        }
        validate_metadata(&self.metadata, limits)?;
        validate_unit("importance", self.importance)?;
        validate_unit("confidence", self.confidence)?;
        if let Some(v) = &self.vector {
            validate_vector(v, limits)?;
        }
        Ok(())
    }
}

impl Revision {
    /// Checks every field given against `limits`, naming the first bad
    /// one (a new vector needs new content).
    pub fn validate(&self, limits: &Limits) -> Result<(), Invalid> {
        if let Some(c) = &self.content {
            validate_content(c, limits)?;
        }
        if let Some(Some(s)) = &self.source {
            validate_label("source", s)?;
        }
        if let Some(m) = &self.metadata {
            validate_metadata(m, limits)?;
        }
        if let Some(x) = self.importance {
            validate_unit("importance", x)?;
        }
        if let Some(x) = self.confidence {
            validate_unit("confidence", x)?;
        }
        if let Some(v) = &self.vector {
            if self.content.is_none() {
                return refuse("vector", "a new vector needs new content");
            }
            validate_vector(v, limits)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_content_bytes: 16,
            dimension: Some(2),
        }
    }

    #[test]
    fn a_valid_memory_passes() {
        let m = NewMemory::new("hello")
            .tag("t")
            .source("s")
            .key("k")
            .meta("n", 1)
            .vector(vec![1.0, 0.0]);
        assert_eq!(m.validate(&limits()), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |m: NewMemory| m.validate(&limits()).expect_err("refused").field;
        assert_eq!(field(NewMemory::new("  ")), "content");
        assert_eq!(field(NewMemory::new("x".repeat(17))), "content");
        assert_eq!(field(NewMemory::new("a").tag("")), "tag");
        assert_eq!(field(NewMemory::new("a").key("k".repeat(1025))), "key");
        assert_eq!(field(NewMemory::new("a").source("")), "source");
        assert_eq!(field(NewMemory::new("a").meta("", 1)), "metadata name");
        assert_eq!(field(NewMemory::new("a").meta("x", f64::NAN)), "metadata");
        assert_eq!(
            field(NewMemory::new("a").meta("x", "y".repeat(17))),
            "metadata"
        );
        assert_eq!(field(NewMemory::new("a").importance(1.5)), "importance");
        assert_eq!(
            field(NewMemory::new("a").confidence(f32::NAN)),
            "confidence"
        );
        assert_eq!(field(NewMemory::new("a").vector(vec![1.0])), "vector");
        assert_eq!(field(NewMemory::new("a").vector(vec![0.0, 0.0])), "vector");
        assert_eq!(
            field(NewMemory::new("a").vector(vec![f32::INFINITY, 1.0])),
            "vector"
        );
    }

    #[test]
    fn without_a_known_dimension_any_length_passes() {
        let open = Limits::new(16);
        assert_eq!(
            NewMemory::new("a").vector(vec![1.0; 5]).validate(&open),
            Ok(())
        );
    }

    #[test]
    fn revisions_are_checked_field_by_field() {
        assert_eq!(Revision::new().validate(&limits()), Ok(()));
        let e = Revision {
            vector: Some(vec![1.0, 0.0]),
            ..Revision::new()
        }
        .validate(&limits())
        .expect_err("refused");
        assert_eq!(e.field, "vector");
        assert_eq!(e.to_string(), "vector: a new vector needs new content");
        assert_eq!(
            Revision::new()
                .content("")
                .validate(&limits())
                .expect_err("refused")
                .field,
            "content"
        );
        assert_eq!(
            Revision::new()
                .source(Some(String::new()))
                .validate(&limits())
                .expect_err("refused")
                .field,
            "source"
        );
    }
}
