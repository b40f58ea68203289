//! Lifecycle settings and their pure parts: hard expiry (a TTL per memory,
//! per tag and per namespace) and near-duplicate detection on write.
//!
//! ## Expiry
//!
//! A memory may carry a deadline. It comes from the write
//! ([`crate::NewMemory::expires`]) or, when the write names none, from the
//! namespace's [`Expiry`] settings: the shortest TTL among the memory's
//! tags in [`Expiry::tags`] and the namespace's [`Expiry::ttl`], counted
//! from when the memory is written. The deadline is logged with the memory
//! (an `expiry` event in the same append), so replay gives the same
//! deadlines whatever the settings are at the time. A memory past its
//! deadline leaves queries and recall at once; a sweep then writes an
//! `expire` event for it, which erases it as forgetting does.
//!
//! ## Near-duplicates
//!
//! With [`DuplicateMode::Flag`] or [`DuplicateMode::Merge`] a new memory
//! is compared with the live memories nearest to it by vector, and with
//! the new memories earlier in its batch. It is a near-duplicate of one
//! when the cosine of their vectors is at least
//! [`Duplicates::vector_similarity`] **and** the Jaccard similarity of
//! their word sets (the keyword tokenizer's, stop words dropped) is at
//! least [`Duplicates::text_similarity`]: vectors alone call "prefers dark
//! mode" and "prefers light mode" the same, words alone miss paraphrase.
//! Flag keeps the new memory and records which one it repeats; merge
//! writes no memory and records the write as a use of the existing one,
//! with its source and time. Either decision is an event, so the log says
//! why.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::base::IdMap;
use crate::model::{MemoryId, Timestamp};

/// What a near-duplicate write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateMode {
    /// No near-duplicate check (identical content is still stored once
    /// when [`crate::Options::dedup`] is on). The default: the check costs
    /// a vector search per write.
    #[default]
    Off,
    /// The new memory is kept and marked as a repeat of the one it is
    /// near.
    Flag,
    /// No new memory: the write reinforces the one it is near, which
    /// records the write's source and time.
    Merge,
}

impl DuplicateMode {
    /// Lower-case name (`off`, `flag`, `merge`).
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateMode::Off => "off",
            DuplicateMode::Flag => "flag",
            DuplicateMode::Merge => "merge",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Off, Self::Flag, Self::Merge]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

/// Near-duplicate detection on write (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicates {
    /// Off, flag or merge. Default off.
    pub mode: DuplicateMode,
    /// Least cosine of the two vectors, in `[0, 1]`. Default 0.9.
    pub vector_similarity: f32,
    /// Least Jaccard similarity of the two word sets, in `[0, 1]`. Default
    /// 0.8: one changed word in five is a change (a preference from "dark
    /// mode" to "light mode" is not a repeat), not a duplicate.
    pub text_similarity: f32,
}

impl Default for Duplicates {
    fn default() -> Self {
        Self {
            mode: DuplicateMode::Off,
            vector_similarity: 0.9,
            text_similarity: 0.8,
        }
    }
}

impl Duplicates {
    /// Checks the thresholds; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, x) in [
            ("duplicates.vector_similarity", self.vector_similarity),
            ("duplicates.text_similarity", self.text_similarity),
        ] {
            if !(0.0..=1.0).contains(&x) {
                return Err((field, format!("must be in [0, 1], got {x}")));
            }
        }
        Ok(())
    }

    /// Whether two memories with these similarities are near-duplicates.
    pub fn is_duplicate(&self, vector: f32, text: f32) -> bool {
        vector >= self.vector_similarity && text >= self.text_similarity
    }
}

/// Longest TTL accepted: about 10,000 years, so a deadline never
/// overflows.
pub const MAX_TTL: Duration = Duration::from_secs(10_000 * 366 * 86_400);

/// Default deadlines (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expiry {
    /// Every memory's TTL unless the write gives a deadline. Default none.
    pub ttl: Option<Duration>,
    /// TTLs by tag: a memory with the tag lives at most this long. Default
    /// none.
    pub tags: BTreeMap<String, Duration>,
}

impl Expiry {
    /// Checks the TTLs (positive, at most [`MAX_TTL`]); the error names
    /// the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let check = |field: &'static str, d: Duration| {
            if d.is_zero() || d > MAX_TTL {
                Err((
                    field,
                    format!("must be positive and at most {} s", MAX_TTL.as_secs()),
                ))
            } else {
                Ok(())
            }
        };
        if let Some(ttl) = self.ttl {
            check("expiry.ttl", ttl)?;
        }
        for ttl in self.tags.values() {
            check("expiry.tags", *ttl)?;
        }
        Ok(())
    }

    /// Whether any default TTL is set.
    pub fn is_set(&self) -> bool {
        self.ttl.is_some() || !self.tags.is_empty()
    }

    /// The default deadline of a memory with `tags` written at `now`: the
    /// shortest applicable TTL from `now`, or `None`.
    pub fn deadline(&self, now: Timestamp, tags: &[String]) -> Option<Timestamp> {
        let shortest = tags
            .iter()
            .filter_map(|t| self.tags.get(t))
            .chain(self.ttl.as_ref())
            .min()?;
        let nanos = i64::try_from(shortest.as_nanos()).unwrap_or(i64::MAX);
        Some(Timestamp(now.0.saturating_add(nanos)))
    }
}

/// Where a memory's vector lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Tier {
    /// Its f32 vector in the HNSW graph (or its exact buffer). The default.
    #[default]
    Hot,
    /// One byte per component, searched by an exact scan of the codes.
    Warm,
    /// No vector in memory (it stays in the log): found by keywords,
    /// filters, spreading, and by vector only when a recall asks to scan
    /// the cold tier.
    Cold,
}

impl Tier {
    /// Lower-case name (`hot`, `warm`, `cold`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Self> {
        [Tier::Hot, Tier::Warm, Tier::Cold]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }
}

/// Bytes a hot vector costs beyond its f32 components when the graph is
/// empty (its links, id and level; measured from the graph otherwise).
pub(crate) const HOT_OVERHEAD: usize = 200;

/// The smallest memory budget a namespace of `dimension` accepts
/// ([`crate::Options::max_resident_bytes`]): one hot vector.
pub fn min_budget(dimension: usize) -> u64 {
    (4 * dimension + HOT_OVERHEAD) as u64
}

/// Sources and times of merged writes a memory keeps (the most recent;
/// [`MergeRecord::count`] counts them all).
pub const MAX_MERGE_SOURCES: usize = 16;

/// The writes merged into one memory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeRecord {
    /// How many writes were merged into it.
    pub count: u64,
    /// The most recent merged writes' sources and times, oldest first (at
    /// most [`MAX_MERGE_SOURCES`]).
    pub recent: Vec<(Option<String>, Timestamp)>,
}

/// A memory flagged as a near-duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DuplicateOf {
    /// The memory it repeats.
    pub of: MemoryId,
    /// Cosine of their vectors.
    pub vector_similarity: f32,
    /// Jaccard similarity of their word sets.
    pub text_similarity: f32,
}

/// One memory's lifecycle as the namespace holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LifecycleInfo {
    /// When it expires, if it has a deadline.
    pub expires: Option<Timestamp>,
    /// The memory it was flagged as repeating.
    pub duplicate_of: Option<DuplicateOf>,
    /// The writes merged into it.
    pub merged: MergeRecord,
    /// Where its vector lives.
    pub tier: Tier,
}

/// The lifecycle side tables of the state: deadlines, flags and merges.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tables {
    pub(crate) deadlines: IdMap<Timestamp>,
    pub(crate) by_deadline: BTreeSet<(Timestamp, u64)>,
    pub(crate) flagged: IdMap<DuplicateOf>,
    pub(crate) merges: IdMap<MergeRecord>,
    /// Memories not hot (absent: hot).
    pub(crate) tiers: IdMap<Tier>,
    /// Memories whose vector came from a later event than the one that
    /// created them (a revision): that event's seq.
    pub(crate) vector_seq: IdMap<u64>,
}

/// The tables as snapshots store them (postcard, ids ascending).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StoredTables {
    deadlines: Vec<(u64, Timestamp)>,
    flagged: Vec<(u64, DuplicateOf)>,
    merges: Vec<(u64, MergeRecord)>,
    tiers: Vec<(u64, Tier)>,
    vector_seq: Vec<(u64, u64)>,
}

impl Tables {
    /// Sets (or clears) a memory's deadline.
    pub(crate) fn set_deadline(&mut self, id: u64, deadline: Option<Timestamp>) {
        if let Some(old) = self.deadlines.remove(&id) {
            self.by_deadline.remove(&(old, id));
        }
        if let Some(t) = deadline {
            self.deadlines.insert(id, t);
            self.by_deadline.insert((t, id));
        }
    }

    /// Records a write merged into `id`.
    pub(crate) fn merge(&mut self, id: u64, source: Option<String>, at: Timestamp) {
        let record = self.merges.entry(id).or_default();
        record.count += 1;
        if record.recent.len() == MAX_MERGE_SOURCES {
            record.recent.remove(0);
        }
        record.recent.push((source, at));
    }

    /// When the latest write merged into `id` happened (its event time).
    pub(crate) fn last_merged(&self, id: u64) -> Option<Timestamp> {
        self.merges
            .get(&id)
            .and_then(|m| m.recent.iter().map(|(_, at)| *at).max())
    }

    /// Drops everything about a memory that left the state.
    pub(crate) fn remove(&mut self, id: u64) {
        self.set_deadline(id, None);
        self.flagged.remove(&id);
        self.merges.remove(&id);
        self.tiers.remove(&id);
        self.vector_seq.remove(&id);
    }

    /// A memory's tier.
    pub(crate) fn tier(&self, id: u64) -> Tier {
        self.tiers.get(&id).copied().unwrap_or_default()
    }

    /// Sets a memory's tier.
    pub(crate) fn set_tier(&mut self, id: u64, tier: Tier) {
        if tier == Tier::Hot {
            self.tiers.remove(&id);
        } else {
            self.tiers.insert(id, tier);
        }
    }

    /// Whether memory `id` is past its deadline at `now`.
    pub(crate) fn is_overdue(&self, id: u64, now: Timestamp) -> bool {
        !self.deadlines.is_empty() && self.deadlines.get(&id).is_some_and(|t| *t <= now)
    }

    /// Whether any memory is past its deadline at `now`.
    pub(crate) fn any_overdue(&self, now: Timestamp) -> bool {
        self.by_deadline.first().is_some_and(|(t, _)| *t <= now)
    }

    /// The memories past their deadline at `now`, soonest first.
    pub(crate) fn overdue(&self, now: Timestamp) -> impl Iterator<Item = u64> + '_ {
        self.by_deadline
            .range(..=(now, u64::MAX))
            .map(|(_, id)| *id)
    }

    /// One memory's lifecycle.
    pub(crate) fn info(&self, id: u64) -> LifecycleInfo {
        LifecycleInfo {
            expires: self.deadlines.get(&id).copied(),
            duplicate_of: self.flagged.get(&id).copied(),
            merged: self.merges.get(&id).cloned().unwrap_or_default(),
            tier: self.tier(id),
        }
    }

    /// The tables for a snapshot.
    pub(crate) fn to_stored(&self) -> StoredTables {
        let mut stored = StoredTables {
            deadlines: self.deadlines.iter().map(|(id, t)| (*id, *t)).collect(),
            flagged: self.flagged.iter().map(|(id, d)| (*id, *d)).collect(),
            merges: self.merges.iter().map(|(id, m)| (*id, m.clone())).collect(),
            tiers: self.tiers.iter().map(|(id, t)| (*id, *t)).collect(),
            vector_seq: self.vector_seq.iter().map(|(id, s)| (*id, *s)).collect(),
        };
        stored.tiers.sort_unstable_by_key(|(id, _)| *id);
        stored.vector_seq.sort_unstable_by_key(|(id, _)| *id);
        stored.deadlines.sort_unstable_by_key(|(id, _)| *id);
        stored.flagged.sort_unstable_by_key(|(id, _)| *id);
        stored.merges.sort_unstable_by_key(|(id, _)| *id);
        stored
    }

    /// The tables of a snapshot; `live` says which ids are memories (an
    /// entry for another id is an error naming it).
    pub(crate) fn from_stored(
        stored: StoredTables,
        live: impl Fn(u64) -> bool,
    ) -> Result<Self, String> {
        let mut tables = Tables::default();
        let check = |what: &str, id: u64| {
            if live(id) {
                Ok(())
            } else {
                Err(format!("{what} of memory {id}, which is not there"))
            }
        };
        for (id, t) in stored.deadlines {
            check("the deadline", id)?;
            tables.set_deadline(id, Some(t));
        }
        for (id, d) in stored.flagged {
            check("the duplicate flag", id)?;
            tables.flagged.insert(id, d);
        }
        for (id, m) in stored.merges {
            check("the merges", id)?;
            if m.recent.len() > MAX_MERGE_SOURCES {
                return Err(format!(
                    "memory {id} keeps {} merged sources, more than {MAX_MERGE_SOURCES}",
                    m.recent.len()
                ));
            }
            tables.merges.insert(id, m);
        }
        for (id, t) in stored.tiers {
            check("the tier", id)?;
            tables.set_tier(id, t);
        }
        for (id, seq) in stored.vector_seq {
            check("the vector's seq", id)?;
            tables.vector_seq.insert(id, seq);
        }
        Ok(tables)
    }
}

/// The word set the text similarity compares (keyword tokens, stop words
/// dropped).
pub fn word_set(text: &str) -> HashSet<String> {
    let mut words = HashSet::new();
    crate::text::tokenize(text, |t| {
        words.insert(t.to_owned());
    });
    words
}

/// Jaccard similarity of two word sets; two empty sets are identical (1).
pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.iter().filter(|w| b.contains(*w)).count();
    let union = a.len() + b.len() - shared;
    shared as f32 / union as f32
}

/// Cosine of two vectors (0 when either is zero or not finite).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    let c = dot / (na.sqrt() * nb.sqrt());
    if c.is_finite() { c as f32 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_ttl_applies_from_the_write() {
        let expiry = Expiry {
            ttl: Some(Duration::from_secs(100)),
            tags: [
                ("session".to_owned(), Duration::from_secs(10)),
                ("long".to_owned(), Duration::from_secs(1000)),
            ]
            .into(),
        };
        let now = Timestamp::from_secs(1_000);
        assert_eq!(expiry.deadline(now, &[]), Some(Timestamp::from_secs(1_100)));
        assert_eq!(
            expiry.deadline(now, &["session".into(), "long".into()]),
            Some(Timestamp::from_secs(1_010))
        );
        // A tag's longer TTL does not outlive the namespace's.
        assert_eq!(
            expiry.deadline(now, &["long".into()]),
            Some(Timestamp::from_secs(1_100))
        );
        assert_eq!(Expiry::default().deadline(now, &["session".into()]), None);
        assert_eq!(
            Expiry {
                ttl: Some(MAX_TTL),
                ..Expiry::default()
            }
            .deadline(Timestamp::MAX, &[]),
            Some(Timestamp::MAX)
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        let zero = Expiry {
            ttl: Some(Duration::ZERO),
            ..Expiry::default()
        };
        assert_eq!(zero.validate().map_err(|e| e.0), Err("expiry.ttl"));
        let huge = Expiry {
            tags: [("t".to_owned(), MAX_TTL + Duration::from_secs(1))].into(),
            ..Expiry::default()
        };
        assert_eq!(huge.validate().map_err(|e| e.0), Err("expiry.tags"));
        for bad in [f32::NAN, -0.1, 1.5] {
            let d = Duplicates {
                vector_similarity: bad,
                ..Duplicates::default()
            };
            assert_eq!(
                d.validate().map_err(|e| e.0),
                Err("duplicates.vector_similarity")
            );
            let d = Duplicates {
                text_similarity: bad,
                ..Duplicates::default()
            };
            assert_eq!(
                d.validate().map_err(|e| e.0),
                Err("duplicates.text_similarity")
            );
        }
        assert!(Duplicates::default().validate().is_ok());
    }

    #[test]
    fn text_similarity_tells_a_changed_preference_from_a_repeat() {
        let a = word_set("The user prefers dark mode in the editor");
        let b = word_set("User prefers dark mode in the editor.");
        let c = word_set("The user prefers light mode in the editor");
        assert!((jaccard(&a, &b) - 1.0).abs() < 1e-6);
        assert!(jaccard(&a, &c) < Duplicates::default().text_similarity);
        assert_eq!(jaccard(&word_set(""), &word_set("the")), 1.0);
        assert_eq!(jaccard(&word_set("cat"), &word_set("")), 0.0);
    }

    #[test]
    fn cosine_is_zero_for_degenerate_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[f32::NAN, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(DuplicateMode::parse("MERGE"), Some(DuplicateMode::Merge));
        assert_eq!(DuplicateMode::parse("maybe"), None);
    }
}
