//! The JSON shapes of the API: what clients send (`...In`, refusing
//! unknown fields) and what the server answers (`...Out`), each with a
//! JSON Schema for the OpenAPI document and the MCP tools.
//!
//! Times are RFC 3339 strings (`2024-05-01T13:00:00Z`; a bare date means
//! its midnight UTC); answers always use UTC with a `Z`.

use std::collections::BTreeMap;

use mnemo::{
    Fact, Kind, Link, Memory, MemoryId, Metadata, NewMemory, Query, Revision, Timestamp, Validity,
    Value,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A metadata value: a string, a number or a boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MetaValue {
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Text(String),
}

impl MetaValue {
    fn from_value(v: &Value) -> Option<Self> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(b) => MetaValue::Bool(*b),
            Value::Int(i) => MetaValue::Int(*i),
            Value::Float(x) => MetaValue::Float(*x),
            Value::Text(s) => MetaValue::Text(s.clone()),
        })
    }

    fn to_value(&self) -> Value {
        match self {
            MetaValue::Bool(b) => Value::Bool(*b),
            MetaValue::Int(i) => Value::Int(*i),
            MetaValue::Float(x) => Value::Float(*x),
            MetaValue::Text(s) => Value::Text(s.clone()),
        }
    }
}

/// When something is true: `[from, until)`, either end open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidityIo {
    /// First moment it holds (RFC 3339); open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// First moment it no longer holds (RFC 3339); open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl ValidityIo {
    /// The JSON form of a validity window.
    pub fn from_validity(v: &Validity) -> Self {
        Self {
            from: v.from.map(mnemo::rfc3339::format),
            until: v.until.map(mnemo::rfc3339::format),
        }
    }

    fn parse(&self, field: &str) -> Result<Validity, ApiError> {
        Ok(Validity {
            from: parse_opt_time(&format!("{field}.from"), self.from.as_deref())?,
            until: parse_opt_time(&format!("{field}.until"), self.until.as_deref())?,
        })
    }
}

/// Parses an RFC 3339 time, naming the field on error.
pub fn parse_time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    mnemo::rfc3339::parse(text).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))
}

fn parse_opt_time(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| parse_time(field, t)).transpose()
}

fn parse_kind(text: &str) -> Result<Kind, ApiError> {
    Kind::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown kind {text:?} (use episodic, semantic or procedural)"
        ))
    })
}

fn metadata(fields: &BTreeMap<String, MetaValue>) -> Metadata {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), v.to_value()))
        .collect()
}

/// A memory to remember.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemoryIn {
    /// The text (not empty).
    pub content: String,
    /// A key of the caller's: remembering the same key again updates that
    /// memory instead of adding one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `episodic` (default), `semantic` or `procedural`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tags (short labels: a person, a topic, a session).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Where it came from (a speaker, a tool, a session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form scalar fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, MetaValue>,
    /// When it happened (RFC 3339); default: when it is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// When the content is true, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<ValidityIo>,
    /// How much it matters, in [0, 1] (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<f32>,
    /// How sure the writer is, in [0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Its embedding, when the caller has one (must have the namespace's
    /// dimension); otherwise the server embeds the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
    /// When it expires (RFC 3339): from then on it leaves every read, and
    /// it is erased soon after. Default: the namespace's TTLs, if any. Not
    /// with `ttl_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Seconds it lives from now (positive): `expires_at` as a duration.
    /// Not with `expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub ttl_seconds: Option<u64>,
}

impl NewMemoryIn {
    /// The engine's form; errors name the field (the engine checks sizes
    /// and ranges).
    pub fn to_new_memory(&self) -> Result<NewMemory, ApiError> {
        let mut m = NewMemory::new(self.content.clone());
        m.key = self.key.clone();
        if let Some(k) = &self.kind {
            m.kind = parse_kind(k)?;
        }
        m.tags = self.tags.clone();
        m.source = self.source.clone();
        m.metadata = metadata(&self.metadata);
        m.at = parse_opt_time("at", self.at.as_deref())?;
        m.valid = self.valid.as_ref().map(|v| v.parse("valid")).transpose()?;
        if let Some(x) = self.importance {
            m.importance = x;
        }
        if let Some(x) = self.confidence {
            m.confidence = x;
        }
        m.vector = self.vector.clone();
        m.expires = self.deadline()?;
        Ok(m)
    }

    /// The deadline `expires_at` or `ttl_seconds` gives (at most one).
    fn deadline(&self) -> Result<Option<Timestamp>, ApiError> {
        match (&self.expires_at, self.ttl_seconds) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "ttl_seconds: give expires_at or ttl_seconds, not both",
            )),
            (Some(at), None) => parse_time("expires_at", at).map(Some),
            (None, Some(seconds)) => {
                // The engine's TTL rules and arithmetic, for one memory.
                let ttl = mnemo::lifecycle::Expiry {
                    ttl: Some(std::time::Duration::from_secs(seconds)),
                    ..mnemo::lifecycle::Expiry::default()
                };
                ttl.validate()
                    .map_err(|(_, why)| ApiError::bad_request(format!("ttl_seconds: {why}")))?;
                Ok(ttl.deadline(Timestamp::now(), &[]))
            }
            (None, None) => Ok(None),
        }
    }
}

/// A memory as the namespace holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryOut {
    /// Assigned by the namespace.
    pub id: u64,
    /// The caller's key, if given.
    pub key: Option<String>,
    /// The text.
    pub content: String,
    /// `episodic`, `semantic` or `procedural`.
    pub kind: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Where it came from.
    pub source: Option<String>,
    /// Free-form scalar fields.
    pub metadata: BTreeMap<String, MetaValue>,
    /// When it happened (RFC 3339, UTC).
    pub at: String,
    /// When the namespace recorded it.
    pub recorded: String,
    /// When the content is true, if limited.
    pub valid: Option<ValidityIo>,
    /// How much it matters, in [0, 1].
    pub importance: f32,
    /// How sure the writer was, in [0, 1].
    pub confidence: f32,
    /// Log seq of the event that created it.
    pub created_seq: u64,
    /// Log seq of the event that last changed it (what `proof` proves).
    pub updated_seq: u64,
}

impl From<&Memory> for MemoryOut {
    fn from(m: &Memory) -> Self {
        Self {
            id: m.id.0,
            key: m.key.clone(),
            content: m.content.clone(),
            kind: m.kind.as_str().to_owned(),
            tags: m.tags.clone(),
            source: m.source.clone(),
            metadata: m
                .metadata
                .iter()
                .filter_map(|(k, v)| MetaValue::from_value(v).map(|v| (k.clone(), v)))
                .collect(),
            at: mnemo::rfc3339::format(m.at),
            recorded: mnemo::rfc3339::format(m.recorded),
            valid: m.valid.as_ref().map(ValidityIo::from_validity),
            importance: m.importance,
            confidence: m.confidence,
            created_seq: m.created_seq,
            updated_seq: m.updated_seq,
        }
    }
}

/// A batch of memories to remember, written as one atomic log append.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RememberIn {
    /// The memories (1 to the server's `limits.batch`).
    pub memories: Vec<NewMemoryIn>,
}

/// The ids given to a batch, in its order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RememberOut {
    /// One id per memory sent (a keyed memory that already existed keeps
    /// its id).
    pub ids: Vec<u64>,
    /// Per memory sent, in order: what happened to it.
    pub results: Vec<RememberedOut>,
}

/// What remembering one memory did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RememberedOut {
    /// The memory it landed in.
    pub id: u64,
    /// `added` (a new memory), `updated` (its client key's memory
    /// changed), `unchanged` (the same content or fields were already
    /// there) or `merged` (a near-duplicate of memory `id`, which the
    /// write counted as a use of instead of storing it: `[lifecycle]
    /// duplicates = "merge"`).
    #[schemars(extend("enum" = ["added", "updated", "unchanged", "merged"]))]
    pub outcome: String,
    /// Log seq of the memory's current version.
    pub seq: u64,
}

/// Filters shared by listing, querying, recall and watch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterIn {
    /// Only these ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<u64>>,
    /// Has every one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Has at least one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_tags: Vec<String>,
    /// Has none of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without_tags: Vec<String>,
    /// Has this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Is of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Happened at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_from: Option<String>,
    /// Happened before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_until: Option<String>,
    /// Recorded at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_from: Option<String>,
    /// Recorded before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_until: Option<String>,
    /// Metadata fields equal to these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, MetaValue>,
    /// Content contains this text, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
}

impl FilterIn {
    /// The filter of the query-string forms (`GET .../memories`,
    /// `GET .../watch`): one tag, a source, a kind, a text.
    pub fn simple(
        tag: Option<&String>,
        source: Option<&String>,
        kind: Option<&String>,
        contains: Option<&String>,
    ) -> Self {
        FilterIn {
            tags: tag.into_iter().cloned().collect(),
            source: source.cloned(),
            kind: kind.cloned(),
            contains: contains.cloned(),
            ..FilterIn::default()
        }
    }

    /// The engine query with these filters (everything, by id).
    pub fn to_query(&self) -> Result<Query, ApiError> {
        let mut q = Query::new();
        if let Some(ids) = &self.ids {
            q = q.ids(ids.iter().map(|&i| MemoryId(i)));
        }
        q.tags_all = self.tags.clone();
        q.tags_any = self.any_tags.clone();
        q.tags_none = self.without_tags.clone();
        q.source = self.source.clone();
        q.kind = self.kind.as_deref().map(parse_kind).transpose()?;
        let at_from = parse_opt_time("at_from", self.at_from.as_deref())?;
        let at_until = parse_opt_time("at_until", self.at_until.as_deref())?;
        if at_from.is_some() || at_until.is_some() {
            q = q.at_between(at_from, at_until);
        }
        let rec_from = parse_opt_time("recorded_from", self.recorded_from.as_deref())?;
        let rec_until = parse_opt_time("recorded_until", self.recorded_until.as_deref())?;
        if rec_from.is_some() || rec_until.is_some() {
            q = q.recorded_between(rec_from, rec_until);
        }
        q.metadata = self
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect();
        q.content_contains = self.contains.clone();
        Ok(q)
    }
}

/// Most memories one listing returns.
pub const MAX_LIST: usize = 1000;

/// Orders a listing can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderIn {
    /// The order of writing (default).
    #[default]
    Id,
    /// When it happened.
    At,
    /// When it was recorded.
    Recorded,
    /// Importance.
    Importance,
}

impl OrderIn {
    fn to_engine(self) -> mnemo::OrderBy {
        match self {
            OrderIn::Id => mnemo::OrderBy::Id,
            OrderIn::At => mnemo::OrderBy::At,
            OrderIn::Recorded => mnemo::OrderBy::Recorded,
            OrderIn::Importance => mnemo::OrderBy::Importance,
        }
    }
}

/// A query: filters, an order and a page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryIn {
    /// Which memories.
    #[serde(default)]
    pub filter: FilterIn,
    /// Their order (default `id`).
    #[serde(default)]
    pub order_by: OrderIn,
    /// Largest first instead of smallest first.
    #[serde(default)]
    pub descending: bool,
    /// Memories skipped before the first returned.
    #[serde(default)]
    pub offset: usize,
    /// Most memories returned (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl QueryIn {
    /// The engine query, and the same without its page (for the total).
    pub fn to_query(&self) -> Result<(Query, Query), ApiError> {
        let limit = self.limit.unwrap_or(100);
        if limit > MAX_LIST {
            return Err(ApiError::bad_request(format!(
                "limit: at most {MAX_LIST} (page with offset)"
            )));
        }
        let mut all = self.filter.to_query()?.order_by(self.order_by.to_engine());
        if self.descending {
            all = all.descending();
        }
        let page = all.clone().offset(self.offset).limit(limit);
        Ok((page, all))
    }
}

/// The query string of `GET .../memories`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Has this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Has this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Is of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Content contains this text, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Order (default `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderIn>,
    /// Largest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descending: Option<bool>,
    /// Memories skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Most memories returned (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl ListParams {
    /// The same as a [`QueryIn`].
    pub fn to_query_in(&self) -> QueryIn {
        QueryIn {
            filter: FilterIn::simple(
                self.tag.as_ref(),
                self.source.as_ref(),
                self.kind.as_ref(),
                self.contains.as_ref(),
            ),
            order_by: self.order.unwrap_or_default(),
            descending: self.descending.unwrap_or(false),
            offset: self.offset.unwrap_or(0),
            limit: self.limit,
        }
    }
}

/// A page of memories.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListOut {
    /// The memories.
    pub memories: Vec<MemoryOut>,
    /// How many match in all (ignoring offset and limit).
    pub total: u64,
}

/// A link between two memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkOut {
    /// Where it starts.
    pub from: u64,
    /// Where it ends.
    pub to: u64,
    /// What kind of association.
    pub kind: String,
    /// Strength in [0, 1].
    pub weight: f32,
}

impl From<&Link> for LinkOut {
    fn from(l: &Link) -> Self {
        Self {
            from: l.from.0,
            to: l.to.0,
            kind: l.kind.clone(),
            weight: l.weight,
        }
    }
}

/// A link to add.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// Where it starts.
    pub from: u64,
    /// Where it ends.
    pub to: u64,
    /// What kind of association (`caused`, `refers_to`, ...).
    pub kind: String,
    /// Strength in [0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
}

/// The link to remove (query string of `DELETE .../links`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkParams {
    /// Where it starts.
    pub from: u64,
    /// Where it ends.
    pub to: u64,
    /// Its kind.
    pub kind: String,
}

/// A memory's links, both ways.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LinksOut {
    /// Links starting at it.
    pub outgoing: Vec<LinkOut>,
    /// Links ending at it.
    pub incoming: Vec<LinkOut>,
}

/// A fact: a subject-predicate-object statement with its standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FactOut {
    /// The fact's id.
    pub id: u64,
    /// What it is about.
    pub subject: String,
    /// The property.
    pub predicate: String,
    /// The value.
    pub object: String,
    /// The context it holds in (`default` unless the writer named one).
    pub context: String,
    /// How sure the writer was, in [0, 1].
    pub confidence: f32,
    /// When it holds (after supersession).
    pub valid: ValidityIo,
    /// `believed`, `deprecated` or `retracted`.
    pub status: String,
    /// `none`, `conservative`, `requires-witness` or `blocked`.
    pub quarantine: String,
    /// Memories supporting it.
    pub evidence: Vec<u64>,
    /// Those of `evidence` forgotten since: their content is erased, their
    /// ids stay in `evidence` and the history.
    pub erased_evidence: Vec<u64>,
    /// The fact that replaced it, if any.
    pub superseded_by: Option<u64>,
    /// Conflicts it takes part in.
    pub conflicts: Vec<u64>,
    /// Log seq of the event that asserted it.
    pub seq: u64,
    /// When it was recorded.
    pub recorded: String,
}

impl From<&Fact> for FactOut {
    fn from(f: &Fact) -> Self {
        Self {
            id: f.id.0,
            subject: f.subject.clone(),
            predicate: f.predicate.clone(),
            object: f.object.clone(),
            context: f.context.clone(),
            confidence: f.confidence,
            valid: ValidityIo::from_validity(&f.valid),
            status: f.status.as_str().to_owned(),
            quarantine: f.quarantine.as_str().to_owned(),
            evidence: f.evidence.iter().map(|m| m.0).collect(),
            erased_evidence: f.erased_evidence.iter().map(|m| m.0).collect(),
            superseded_by: f.superseded_by.map(|x| x.0),
            conflicts: f.conflicts.iter().map(|c| c.0).collect(),
            seq: f.seq,
            recorded: mnemo::rfc3339::format(f.recorded),
        }
    }
}

/// One memory with its links and the facts citing it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MemoryDetailOut {
    /// The memory.
    pub memory: MemoryOut,
    /// Its links.
    pub links: LinksOut,
    /// Facts citing it as evidence.
    pub facts: Vec<FactOut>,
    /// Its strength from use now: ACT-R base-level activation `ln Σ t^-d`
    /// over its write and its touches (seconds since each).
    pub strength: f64,
    /// Times it was touched (used) since it was written.
    pub touches: u64,
    /// Its deadline, duplicate flag and merged writes.
    #[serde(flatten)]
    pub lifecycle: LifecycleOut,
    /// Where its vector lives: `hot` (in the vector index), `warm` (kept
    /// as one byte per component) or `cold` (only in the log).
    #[schemars(extend("enum" = ["hot", "warm", "cold"]))]
    pub tier: String,
    /// The memories it was consolidated from (its provenance, ascending;
    /// empty unless a consolidation wrote it).
    pub derived_from: Vec<u64>,
    /// The consolidated memories written from it, ascending.
    pub consolidated_into: Vec<u64>,
}

/// A memory's lifecycle: its deadline, whether it repeats another, and
/// the writes merged into it (see `[lifecycle]` in the server's config).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LifecycleOut {
    /// When it expires (RFC 3339, UTC), or null if it has no deadline.
    pub expires_at: Option<String>,
    /// The memory it was flagged as a near-duplicate of when it was
    /// written (`duplicates = "flag"`), or null.
    pub duplicate_of: Option<DuplicateOfOut>,
    /// The near-duplicate writes merged into it (`duplicates = "merge"`).
    pub merged: MergedOut,
}

impl From<&mnemo::lifecycle::LifecycleInfo> for LifecycleOut {
    fn from(info: &mnemo::lifecycle::LifecycleInfo) -> Self {
        Self {
            expires_at: info.expires.map(mnemo::rfc3339::format),
            duplicate_of: info.duplicate_of.as_ref().map(DuplicateOfOut::from),
            merged: MergedOut::from(&info.merged),
        }
    }
}

/// The memory another one repeats, and how alike they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateOfOut {
    /// The memory it repeats.
    pub id: u64,
    /// Cosine of their vectors.
    pub vector_similarity: f32,
    /// Jaccard similarity of their word sets.
    pub text_similarity: f32,
}

impl From<&mnemo::lifecycle::DuplicateOf> for DuplicateOfOut {
    fn from(d: &mnemo::lifecycle::DuplicateOf) -> Self {
        Self {
            id: d.of.0,
            vector_similarity: d.vector_similarity,
            text_similarity: d.text_similarity,
        }
    }
}

/// The near-duplicate writes merged into a memory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct MergedOut {
    /// How many writes were merged into it.
    pub count: u64,
    /// The most recent ones (at most 16), oldest first.
    pub recent: Vec<MergedWriteOut>,
}

/// One write merged into a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedWriteOut {
    /// The write's source.
    pub source: Option<String>,
    /// When it was written (RFC 3339, UTC).
    pub at: String,
}

impl From<&mnemo::lifecycle::MergeRecord> for MergedOut {
    fn from(m: &mnemo::lifecycle::MergeRecord) -> Self {
        Self {
            count: m.count,
            recent: m
                .recent
                .iter()
                .map(|(source, at)| MergedWriteOut {
                    source: source.clone(),
                    at: mnemo::rfc3339::format(*at),
                })
                .collect(),
        }
    }
}

/// A memory's new deadline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiryIn {
    /// When it expires (RFC 3339; a time already past expires it at
    /// once), or null to clear its deadline. Required.
    #[serde(deserialize_with = "present")]
    #[schemars(with = "RequiredNullable")]
    pub expires_at: Option<String>,
}

/// A nullable field that must be present (`null` is a value, absence an
/// error): serde gives absent `Option`s `None` unless the field has its
/// own deserializer.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// The schema of [`present`]'s fields: a string or null, required (an
/// `Option`'s schema would be optional, and a required one loses its
/// null).
struct RequiredNullable;

impl JsonSchema for RequiredNullable {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RequiredNullable".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "null"]})
    }
}

/// A memory's deadline after a change.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExpiryOut {
    /// The memory.
    pub id: u64,
    /// Its deadline now (RFC 3339, UTC), or null.
    pub expires_at: Option<String>,
    /// Log seq of the `expiry` event.
    pub seq: u64,
}

/// What a sweep expired.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExpireOut {
    /// The memories past their deadline, now erased, ascending.
    pub expired: Vec<u64>,
}

/// Most memories one consolidation considers (`max_episodes`): sixteen of
/// the planner's chunks. A later run takes the memories this one did not
/// use.
pub const MAX_CONSOLIDATE_EPISODES: usize = 65_536;

/// Longest summary a consolidation may write (`max_summary_bytes`).
pub const MAX_SUMMARY_BYTES: usize = 65_536;

/// Most members a consolidated group may have (`max_group`).
pub const MAX_CONSOLIDATE_GROUP: usize = 4_096;

/// How to consolidate; every field is optional and absent ones keep the
/// engine's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateMemoriesIn {
    /// Which memories may be consolidated (default: every episodic one;
    /// without a `kind`, episodic ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterIn>,
    /// Memories considered at most: the most recent the filter admits that
    /// no consolidation used yet (default 4,096; 1 to 65,536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65_536))]
    pub max_episodes: Option<usize>,
    /// Cosine at or above which two memories are related, in [0, 1]
    /// (default 0.55; lower it with the hash embedder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub similarity: Option<f32>,
    /// Members a group needs at least, 2 or more and at most `max_group`
    /// (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub min_group: Option<usize>,
    /// Members a group has at most, at least `min_group` (default 64; at
    /// most 4,096).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 4_096))]
    pub max_group: Option<usize>,
    /// Sentences in a summary at most, 1 or more (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_sentences: Option<usize>,
    /// Bytes of a summary at most (default 2,048; 32 to 65,536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 32, max = 65_536))]
    pub max_summary_bytes: Option<usize>,
    /// Plan only: answer the groups, write nothing (default false).
    #[serde(default)]
    pub dry_run: bool,
}

impl ConsolidateMemoriesIn {
    /// The engine's options; a bad value is a 400 naming its field.
    pub fn to_options(&self) -> Result<mnemo::ConsolidateOptions, ApiError> {
        let mut options = mnemo::ConsolidateOptions {
            dry_run: self.dry_run,
            ..mnemo::ConsolidateOptions::default()
        };
        if let Some(filter) = &self.filter {
            options.filter = filter.to_query()?;
        }
        if let Some(n) = self.max_episodes {
            if n == 0 || n > MAX_CONSOLIDATE_EPISODES {
                return Err(ApiError::bad_request(format!(
                    "max_episodes: {n} is not between 1 and {MAX_CONSOLIDATE_EPISODES} \
                     (a later run takes the memories this one did not use)"
                )));
            }
            options.max_episodes = n;
        }
        let p = &mut options.params;
        if let Some(v) = self.similarity {
            p.similarity = v;
        }
        for (value, slot) in [
            (self.min_group, &mut p.min_group),
            (self.max_group, &mut p.max_group),
            (self.max_sentences, &mut p.max_sentences),
            (self.max_summary_bytes, &mut p.max_summary_bytes),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if p.max_group > MAX_CONSOLIDATE_GROUP {
            return Err(ApiError::bad_request(format!(
                "max_group: {} is above {MAX_CONSOLIDATE_GROUP}",
                p.max_group
            )));
        }
        if p.max_summary_bytes > MAX_SUMMARY_BYTES {
            return Err(ApiError::bad_request(format!(
                "max_summary_bytes: {} is above {MAX_SUMMARY_BYTES}",
                p.max_summary_bytes
            )));
        }
        // The engine's own checks; each message starts with the field.
        p.validate().map_err(ApiError::bad_request)?;
        Ok(options)
    }
}

/// One group a consolidation planned, and the memory written for it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidatedGroupOut {
    /// The consolidated memory written for it (null for a dry run, or a
    /// group left for a later run).
    pub id: Option<u64>,
    /// The memories it summarises (linked `derived_from`), ascending.
    pub sources: Vec<u64>,
    /// The extractive summary: the group's most central sentences, then
    /// its shared entities and dates.
    pub content: String,
    /// Entities two or more sources name.
    pub entities: Vec<String>,
    /// Dates the sources name, then the first and last day they span.
    pub dates: Vec<String>,
    /// Mean cosine of the sources' vectors to their mean, in [-1, 1]: how
    /// tight the group is.
    pub cohesion: f32,
}

/// What a consolidation did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidatedOut {
    /// Memories considered (after the filter and `max_episodes`).
    pub considered: usize,
    /// Groups planned (written, or left for a later run).
    pub planned: usize,
    /// The consolidated memories written, ascending (empty for a dry run
    /// and when nothing was groupable).
    pub created: Vec<u64>,
    /// Groups left for a later run: one event could not hold them all.
    pub deferred: usize,
    /// Every group written (or, for a dry run, planned), with its
    /// sources.
    pub groups: Vec<ConsolidatedGroupOut>,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// Log seq of the `derive` event, or null when nothing was written.
    pub seq: Option<u64>,
    /// Milliseconds it took.
    pub took_ms: f64,
}

impl ConsolidatedOut {
    /// The answer for the engine's report.
    pub fn new(done: &mnemo::Consolidated, dry_run: bool) -> Self {
        Self {
            considered: done.considered,
            planned: done.planned.len() + done.deferred,
            created: done.created.iter().map(|id| id.0).collect(),
            deferred: done.deferred,
            groups: done
                .planned
                .iter()
                .enumerate()
                .map(|(i, p)| ConsolidatedGroupOut {
                    id: done.created.get(i).map(|id| id.0),
                    sources: p.sources.iter().map(|id| id.0).collect(),
                    content: p.content.clone(),
                    entities: p.entities.clone(),
                    dates: p.dates.clone(),
                    cohesion: p.cohesion,
                })
                .collect(),
            dry_run,
            seq: done.seq,
            took_ms: done.took.as_secs_f64() * 1e3,
        }
    }
}

/// Where a namespace's memories are: how many vectors each tier holds,
/// the bytes kept in memory, the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TiersOut {
    /// Memories whose vector is in the vector index (f32).
    pub hot: usize,
    /// Memories whose vector is kept as one byte per component.
    pub warm: usize,
    /// Memories whose vector is only in the log.
    pub cold: usize,
    /// Memories this call moved between tiers (0 for `getTiers`).
    pub moved: usize,
    /// Bytes of vectors kept in memory (the index and the warm codes).
    pub resident_bytes: u64,
    /// The budget for them (`[lifecycle] max_resident_bytes`), or null:
    /// without one every vector stays hot.
    pub budget: Option<u64>,
}

impl From<mnemo::TierReport> for TiersOut {
    fn from(r: mnemo::TierReport) -> Self {
        Self {
            hot: r.hot,
            warm: r.warm,
            cold: r.cold,
            moved: r.moved,
            resident_bytes: r.resident_bytes,
            budget: r.budget,
        }
    }
}

/// Memories used now.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchIn {
    /// Their ids (repeats count once; every one must be a live memory).
    pub ids: Vec<u64>,
}

/// What a touch did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TouchOut {
    /// Memories touched.
    pub touched: usize,
}

/// Changes to a memory; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionIn {
    /// New text (re-embedded and re-indexed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// New importance in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<f32>,
    /// New confidence in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// New metadata (replaces the old fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, MetaValue>>,
    /// New event time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// New source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl RevisionIn {
    /// The engine's form.
    pub fn to_revision(&self) -> Result<Revision, ApiError> {
        let mut r = Revision::new();
        r.content = self.content.clone();
        r.kind = self.kind.as_deref().map(parse_kind).transpose()?;
        r.importance = self.importance;
        r.confidence = self.confidence;
        r.metadata = self.metadata.as_ref().map(metadata);
        r.at = parse_opt_time("at", self.at.as_deref())?;
        r.source = self.source.clone().map(Some);
        Ok(r)
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.content.is_none()
            && self.kind.is_none()
            && self.importance.is_none()
            && self.confidence.is_none()
            && self.metadata.is_none()
            && self.at.is_none()
            && self.source.is_none()
    }
}

/// Tags to add and remove.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetagIn {
    /// Tags to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Which memories `purgeMemories` forgets: exactly one of the three.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeIn {
    /// Every memory with this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Every memory from this source.
    #[serde(default)]
    pub source: Option<String>,
    /// Every memory of the namespace.
    #[serde(default)]
    pub all: bool,
}

/// What `purgeMemories` forgot and erased.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PurgeOut {
    /// The ids, ascending.
    pub purged: Vec<u64>,
    /// How many.
    pub count: usize,
}

/// A forgotten memory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ForgetOut {
    /// Its id.
    pub id: u64,
    /// Always true.
    pub forgotten: bool,
}

/// Weights of recall's signals; absent ones keep their defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightsIn {
    /// Vector similarity (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<f32>,
    /// BM25 keywords (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<f32>,
    /// Spreading activation (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<f32>,
    /// Recency (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recency: Option<f32>,
    /// Importance (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<f32>,
    /// A date named in the query covering the memory (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f32>,
    /// The query naming one of the memory's tags (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<f32>,
    /// The query asking for a place, time or quantity (`where`, `when`,
    /// `how many`) that the memory names (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_type: Option<f32>,
    /// The memory's strength from use (its write and touches, ACT-R
    /// activation) relative to the strongest candidate's (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<f32>,
}

/// A recall request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallIn {
    /// What to recall, in words (at most `limits.max_query_bytes`, by
    /// default 4096 bytes; 413 above).
    pub query: String,
    /// Hits wanted (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// Only memories these filters admit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterIn>,
    /// Signal weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsIn>,
    /// Whether activation spreads over the association graph (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreading: Option<bool>,
    /// Whether hits carry each signal's share and their activation path.
    #[serde(default)]
    pub explain: bool,
    /// Whether the answer carries the activation graph (implies explain).
    #[serde(default)]
    pub graph: bool,
    /// Time budget in milliseconds: the best answer found by then is
    /// returned (`complete` false). The time left before the request's
    /// deadline (`limits.request_timeout_ms`) caps it, given or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_ms: Option<u64>,
    /// Candidates each signal (vector, keyword) ranks before they are
    /// fused: default `max(4k, 50)`, never below `k`, at most 10,000.
    /// Fewer is faster when one signal decides the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<usize>,
    /// How many candidates the vector search keeps while it walks the HNSW
    /// graph (its `ef`): wider finds more of the true nearest neighbours
    /// and costs more. Default the index's own (64); never below
    /// `candidates`; at most 10,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_width: Option<usize>,
    /// The query's embedding, when the caller has it: used instead of
    /// embedding `query` (which still feeds the keyword signal). It must
    /// have the namespace's dimension (400 naming `vector` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
    /// Whether each hit carries its memory (default true). False answers
    /// each hit's `id`, score and signals only: a smaller answer, faster
    /// to encode and to parse, for a caller that keeps the texts itself or
    /// fetches the few it shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_memory: Option<bool>,
    /// Whether a consolidated memory stands for its sources: when both are
    /// among the hits, the sources leave and the consolidated memory takes
    /// the place of the first of them (default false).
    #[serde(default)]
    pub prefer_consolidated: bool,
    /// Whether vector search also scans the cold tier (memories whose
    /// vectors are only in the log; each costs a read): without it cold
    /// memories are found by keywords, filters and spreading only
    /// (default false).
    #[serde(default)]
    pub scan_cold: bool,
    /// Whether versions of one statement come newest first: semantic
    /// memories holding the same words of the query and alike in their own
    /// words (a preference restated with a new value) fill the places they
    /// ranked at newest first (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_first: Option<bool>,
}

impl RecallIn {
    /// Whether the hits carry their memories: `include_memory`, true when
    /// absent.
    pub fn wants_memory(&self) -> bool {
        self.include_memory.unwrap_or(true)
    }
}

/// One signal's view of a hit.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SignalOut {
    /// Rank in that signal's list, from 1.
    pub rank: usize,
    /// The signal's own score.
    pub score: f32,
    /// The score scaled to [0, 1] over the signal's list.
    pub normalized: f32,
}

/// Where each signal ranked a hit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct SignalsOut {
    /// Vector search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<SignalOut>,
    /// Keyword search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<SignalOut>,
    /// Spreading activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<SignalOut>,
}

/// One step of an activation path.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PathStepOut {
    /// The memory.
    pub id: u64,
    /// The edge it was reached over (`link`, `temporal`, `vector`,
    /// `keyword`); absent for the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExplanationOut {
    /// Each signal's share of the score.
    pub contributions: BTreeMap<String, f32>,
    /// The strongest activation path from a seed to the hit.
    pub path: Vec<PathStepOut>,
}

/// A recalled memory and why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HitOut {
    /// The memory's id.
    pub id: u64,
    /// The memory (absent when the request's `include_memory` was false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryOut>,
    /// Fused score (higher is better).
    pub score: f32,
    /// Where each signal ranked it.
    pub signals: SignalsOut,
    /// Query words found in it (stemmed).
    pub matched_terms: Vec<String>,
    /// Where its vector lives: `hot`, `warm` or `cold` (see `getTiers`).
    #[schemars(extend("enum" = ["hot", "warm", "cold"]))]
    pub tier: String,
    /// Its strength from use now (ACT-R base-level activation over its
    /// write and touches, as in its detail); null only if it was forgotten
    /// while the answer was made.
    pub strength: Option<f64>,
    /// With `explain`: the score's parts and the activation path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<ExplanationOut>,
}

/// Microseconds per recall stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct TimingsOut {
    /// Embedding the query.
    pub embed: u64,
    /// Vector and keyword candidates.
    pub candidates: u64,
    /// Spreading activation.
    pub spread: u64,
    /// Fusion and ranking.
    pub fuse: u64,
}

/// A memory in the activation graph.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GraphNode {
    /// The memory.
    pub id: u64,
    /// Its text (first 200 characters).
    pub content: String,
    /// Whether it is one of the hits.
    pub hit: bool,
    /// Its rank among the hits, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Its fused score, for hits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Whether activation started here.
    pub seed: bool,
}

/// An edge activation crossed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GraphEdge {
    /// From this memory.
    pub from: u64,
    /// To this one.
    pub to: u64,
    /// Over what (`link`, `temporal`, `vector`, `keyword`).
    pub via: String,
}

/// The part of the association graph a recall's activation used: the
/// hits and the strongest path that reached each.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct GraphOut {
    /// Memories.
    pub nodes: Vec<GraphNode>,
    /// Edges crossed.
    pub edges: Vec<GraphEdge>,
}

/// What recall found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecallOut {
    /// Hits, best first.
    pub hits: Vec<HitOut>,
    /// False when the time budget ran out.
    pub complete: bool,
    /// Seeds activation started from.
    pub seeds: usize,
    /// Time per stage.
    pub timings_us: TimingsOut,
    /// The period a date in the query named, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_hint: Option<ValidityIo>,
    /// With `graph`: the activation graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphOut>,
}

/// Memories the first `current` event of a watch carries when the query
/// string does not say.
pub const DEFAULT_WATCH_LIMIT: usize = 100;
/// Most memories one `current` event carries (the rest are paged with
/// `GET .../memories`).
pub const MAX_WATCH_LIMIT: usize = MAX_LIST;

/// The query string of `GET .../watch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchParams {
    /// Has this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Has this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Is of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Content contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Most memories the `current` event carries, in id order (default
    /// 100, at most 1000). When more match, it says `"truncated": true`
    /// and their `total`; page the rest with `GET .../memories`, the same
    /// filters and `offset` = the number received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl WatchParams {
    /// The engine query: the filters, by id, limited (400 naming `limit`
    /// above [`MAX_WATCH_LIMIT`]).
    pub fn to_query(&self) -> Result<Query, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_WATCH_LIMIT);
        if limit > MAX_WATCH_LIMIT {
            return Err(ApiError::bad_request(format!(
                "limit: at most {MAX_WATCH_LIMIT} (page the rest with GET .../memories and an \
                 offset)"
            )));
        }
        let filter = FilterIn::simple(
            self.tag.as_ref(),
            self.source.as_ref(),
            self.kind.as_ref(),
            self.contains.as_ref(),
        );
        Ok(filter.to_query()?.limit(limit))
    }
}

/// The log's Merkle root.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RootOut {
    /// The root hash (hex).
    pub root: String,
    /// Events it covers.
    pub length: u64,
}

/// The query string of `GET .../consistency`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older size: the event count of a root or checkpoint the caller
    /// already trusts.
    pub from: u64,
    /// The newer size (default: every event the namespace holds now).
    #[serde(default)]
    pub to: Option<u64>,
}

/// A Merkle consistency proof (RFC 9162 §2.1.4): the log's first `from`
/// events are a prefix of its first `to`, so a history a client saw
/// earlier was only appended to since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConsistencyOut {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The root of the first `from` events (hex): compare it with the root
    /// you trust.
    pub from_root: String,
    /// The root of the first `to` events (hex).
    pub to_root: String,
    /// The proof's hashes (hex), empty when `from` is 0 or equals `to`.
    pub path: Vec<String>,
    /// Whether the server checked the proof against both roots.
    pub verified: bool,
}

/// Query parameters of `checkpoint`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointParams {
    /// The tree size of a kept checkpoint to answer (one of `checkpoints`'
    /// sizes) instead of the head signed now.
    #[serde(default)]
    pub size: Option<u64>,
}

/// The most kept sizes one `checkpoints` answer lists.
pub const MAX_CHECKPOINTS_LIMIT: usize = 1000;
/// The kept sizes a `checkpoints` answer lists when not told.
pub const DEFAULT_CHECKPOINTS_LIMIT: usize = 100;

/// Query parameters of `checkpoints`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsParams {
    /// List only sizes larger than this one (the previous page's `next`).
    #[serde(default)]
    pub after: Option<u64>,
    /// At most this many sizes, 1 to 1000 (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The tree sizes of a namespace's kept signed checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointsOut {
    /// Kept sizes, oldest (smallest) first, newest last: each is
    /// `GET .../checkpoint?size=N`.
    pub sizes: Vec<u64>,
    /// How many checkpoints are kept in all.
    pub count: usize,
    /// The newest kept size, if any.
    pub latest: Option<u64>,
    /// When more sizes follow: pass it as `after` for the next page.
    pub next: Option<u64>,
}

/// Query parameters of `proof`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofParams {
    /// The tree size to prove against: the size of a signed checkpoint (or
    /// root) the caller holds, so the proof leads to that checkpoint's root.
    /// At most the events the namespace holds, and more than the seq of the
    /// memory's event. Default: every event the namespace holds now.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A Merkle inclusion proof of the event that last wrote a memory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProofOut {
    /// The memory.
    pub id: u64,
    /// Seq of the event (its leaf index).
    pub seq: u64,
    /// The event's log record frame (hex).
    pub frame: String,
    /// The audit path: sibling hashes from the leaf up (hex).
    pub path: Vec<String>,
    /// Leaves under the root.
    pub length: u64,
    /// The root the proof leads to (hex).
    pub root: String,
    /// Whether the server checked the proof against the root.
    pub verified: bool,
}

/// Counts and sizes of a namespace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StatsOut {
    /// The namespace.
    pub namespace: String,
    /// Live memories.
    pub memories: usize,
    /// Links.
    pub links: usize,
    /// Facts (any status).
    pub facts: usize,
    /// Conflicts not yet resolved.
    pub open_conflicts: usize,
    /// Learned patterns.
    pub patterns: usize,
    /// Trajectories in the patterns.
    pub trajectories: usize,
    /// Distinct tags.
    pub tags: usize,
    /// Distinct sources.
    pub sources: usize,
    /// Vectors indexed.
    pub vectors: usize,
    /// Events in the log.
    pub events: u64,
    /// Bytes of log segments.
    pub log_bytes: u64,
    /// Open watchers.
    pub watchers: usize,
    /// The embedder's id.
    pub embedder: String,
    /// Its dimension.
    pub dimension: usize,
    /// Seq of the newest snapshot, if any.
    pub snapshot_seq: Option<u64>,
}

impl From<&mnemo::Stats> for StatsOut {
    fn from(s: &mnemo::Stats) -> Self {
        Self {
            namespace: s.namespace.clone(),
            memories: s.memories,
            links: s.links,
            facts: s.facts,
            open_conflicts: s.open_conflicts,
            patterns: s.patterns,
            trajectories: s.trajectories,
            tags: s.tags,
            sources: s.sources,
            vectors: s.vectors,
            events: s.events,
            log_bytes: s.log_bytes,
            watchers: s.watchers,
            embedder: s.embedder.id.clone(),
            dimension: s.embedder.dimension,
            snapshot_seq: s.snapshot_seq,
        }
    }
}

/// Namespace names.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NamespacesOut {
    /// The namespaces the token may see.
    pub namespaces: Vec<String>,
}

/// A namespace to create.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceIn {
    /// 1 to 64 characters from a-z, A-Z, 0-9, '-', '_' and '.', not
    /// starting with '.'.
    pub name: String,
}

/// A created namespace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NamespaceOut {
    /// Its name.
    pub name: String,
    /// False when it already existed.
    pub created: bool,
}

/// A liveness or readiness answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StatusOut {
    /// `ok`, `ready`, `starting` or `stopping`.
    pub status: String,
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
