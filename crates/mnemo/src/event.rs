//! The write events and their encoding.
//!
//! Every change to a namespace is one event, stored as one record of the
//! namespace's log. The state is a pure function of the events in order, so
//! replaying the log rebuilds it.
//!
//! ## Encoding (format version 1)
//!
//! A record payload is:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 1 | format version, `1` |
//! | 1 | 1 | event kind (table below) |
//! | 2 | rest | the event's body, [postcard](https://postcard.jamesmunns.com/wire-format) |
//!
//! | kind | event | body |
//! |-----:|-------|------|
//! | 0 | [`Event::Init`] | [`Init`] |
//! | 1 | [`Event::Remember`] | `Vec<`[`Remember`]`>` (one or more memories, written atomically) |
//! | 2 | [`Event::Revise`] | [`Revise`] |
//! | 3 | [`Event::Retag`] | [`Retag`] |
//! | 4 | [`Event::Link`] | [`crate::Link`] |
//! | 5 | [`Event::Unlink`] | [`Unlink`] |
//! | 6 | [`Event::Forget`] | [`MemoryId`] |
//! | 7 | [`Event::Declare`] | [`Declare`] |
//! | 8 | [`Event::Assert`] | [`AssertFact`] |
//! | 9 | [`Event::Challenge`] | [`FactNote`] |
//! | 10 | [`Event::Support`] | [`Support`] |
//! | 11 | [`Event::Resolve`] | [`Resolve`] |
//! | 12 | [`Event::Quarantine`] | [`SetQuarantine`] |
//! | 13 | [`Event::Retract`] | [`FactNote`] |
//! | 14 | [`Event::Trajectory`] | [`RecordTrajectory`] |
//! | 15 | [`Event::Refine`] | [`Refine`] |
//! | 16 | [`Event::Prune`] | `Vec<`[`PatternId`]`>` |
//! | 17 | [`Event::Consolidate`] | `Vec<(`[`PatternId`]`, `[`PatternId`]`)>` (kept, absorbed) |
//! | 18 | [`Event::Touch`] | [`Touch`] |
//! | 19 | [`Event::Expiry`] | `Vec<(`[`MemoryId`]`, Option<`[`Timestamp`]`>)>` (deadlines set or cleared) |
//! | 20 | [`Event::Expire`] | [`Expire`] |
//! | 21 | [`Event::Flag`] | `Vec<`[`Flagged`]`>` |
//! | 22 | [`Event::Merge`] | `Vec<`[`Merged`]`>` |
//! | 23 | [`Event::Derive`] | `Vec<`[`Derived`]`>` (consolidated memories with their sources, written atomically) |
//! | 24 | [`Event::Tier`] | `Vec<`[`TierMove`]`>` |
//!
//! ## Version 2: sealed events
//!
//! This build writes version 2, which is version 1 with the bodies sealed
//! (see [`crate::crypt`] for keys and the sealed blob format). Version 1
//! records are still read.
//!
//! | kind | body |
//! |-----:|------|
//! | 0 `init`, 6 `forget`, 20 `expire` | as in version 1, in the clear (the embedder is checked before any key is opened; a forget or an expiry names only ids and a time) |
//! | 1 `remember` | postcard `Vec<(u64, bytes)>`: for each memory its id and a blob sealed with **that memory's key** holding the version 1 postcard of its [`Remember`] |
//! | 23 `derive` | the same layout, each blob holding the version 1 postcard of a [`Derived`] (the memory and its sources) |
//! | 2 `revise`, 3 `retag` | postcard `(u64, bytes)`: the memory's id and the version 1 body sealed with that memory's key |
//! | every other kind | a blob sealed with the namespace key holding the version 1 body |
//!
//! The associated data of a blob is the version and kind bytes, followed
//! for a memory's blob by its id (u64 little-endian), so a blob moved to
//! another kind or memory does not open. A memory whose key was destroyed
//! (forgotten) decodes as an erased [`Remember`] (only its id) or as a
//! revise or retag that changes nothing.
//!
//! Postcard writes integers as LEB128 varints (signed ones zig-zagged), `f32`
//! as 4 little-endian bytes, strings and sequences as a varint length then
//! the items, `Option` as a 0/1 byte then the value, enums as a varint
//! variant index then the fields, and struct fields in declaration order.
//! New fields are only ever added in a new format version; an unknown
//! version or kind is an error naming the seq.

use serde::{Deserialize, Serialize};

use crate::crypt::{self, Keyring};
use crate::error::{Error, Result};
use crate::facts::{Cardinality, ConflictId, FactId, Quarantine};
use crate::model::{Kind, Link, MemoryId, Metadata, Timestamp, Validity};
use crate::patterns::{PatternId, TrajectoryId};

// The assert payload is what the fact store folds, so it lives with the
// store (facts never import events); its encoding is unchanged.
pub use crate::facts::{AssertFact, OpenConflict};

/// The format version written by this build.
pub const FORMAT_VERSION: u8 = 2;
/// The first version, unencrypted; still read.
pub const FORMAT_VERSION_PLAIN: u8 = 1;

/// The first event of every namespace: which embedder its vectors come
/// from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Init {
    /// The embedder's stable id.
    pub embedder: String,
    /// The vectors' dimension.
    pub dimension: u32,
}

/// One new memory (the namespace assigned its id before writing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remember {
    /// Assigned id.
    pub id: MemoryId,
    /// Client key.
    pub key: Option<String>,
    /// Text.
    pub content: String,
    /// Kind.
    pub kind: Kind,
    /// Tags (sorted, distinct).
    pub tags: Vec<String>,
    /// Source.
    pub source: Option<String>,
    /// Metadata.
    pub metadata: Metadata,
    /// Event time; `None` means the log timestamp.
    pub at: Option<Timestamp>,
    /// Validity window.
    pub valid: Option<Validity>,
    /// Importance in `[0, 1]`.
    pub importance: f32,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// The content's embedding, kept in the log so replay needs no embedder
    /// and gives the same vectors.
    pub vector: Vec<f32>,
    /// Set by decoding when the memory's key was destroyed (it was
    /// forgotten): every field but `id` is then empty. Never encoded.
    #[serde(skip)]
    pub erased: bool,
}

impl Remember {
    /// What decoding gives for memory `id` once its key is destroyed.
    pub fn erased(id: MemoryId) -> Remember {
        Remember {
            id,
            key: None,
            content: String::new(),
            kind: Kind::Episodic,
            tags: Vec::new(),
            source: None,
            metadata: Metadata::new(),
            at: None,
            valid: None,
            importance: 0.0,
            confidence: 0.0,
            vector: Vec::new(),
            erased: true,
        }
    }
}

/// A change to an existing memory; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Revise {
    /// Which memory.
    pub id: MemoryId,
    /// New text (with its new embedding in `vector`).
    pub content: Option<String>,
    /// New embedding (present exactly when `content` is).
    pub vector: Option<Vec<f32>>,
    /// New kind.
    pub kind: Option<Kind>,
    /// New source (`Some(None)` clears it).
    pub source: Option<Option<String>>,
    /// New metadata (replaces the whole map).
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

/// Tags added to and removed from a memory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Retag {
    /// Which memory.
    pub id: MemoryId,
    /// Tags to add.
    pub add: Vec<String>,
    /// Tags to remove (applied after `add`).
    pub remove: Vec<String>,
}

/// A link removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unlink {
    /// Where the link starts.
    pub from: MemoryId,
    /// Where it ends.
    pub to: MemoryId,
    /// Its kind.
    pub kind: String,
}

/// Memories used (recalled, read, or touched explicitly) at one time: each
/// gains an access, which raises its strength.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    /// The memories (ids no longer live are skipped when folded).
    pub ids: Vec<MemoryId>,
    /// When they were used.
    pub at: Timestamp,
}

/// Memories whose deadline passed, expired (and erased, as forgetting
/// erases) by a sweep at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expire {
    /// The memories (ids no longer live are skipped when folded).
    pub ids: Vec<MemoryId>,
    /// When the sweep ran.
    pub at: Timestamp,
}

/// A new memory kept but marked as a near-duplicate of a live one (see
/// [`crate::lifecycle`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flagged {
    /// The new memory.
    pub id: MemoryId,
    /// The memory it repeats.
    pub of: MemoryId,
    /// Cosine of their vectors.
    pub vector_similarity: f32,
    /// Jaccard similarity of their word sets.
    pub text_similarity: f32,
}

/// A write merged into a live memory it nearly duplicates: no memory is
/// added; the write counts as a use of `into`, with its source and time
/// recorded (see [`crate::lifecycle`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// The memory the write was merged into.
    pub into: MemoryId,
    /// The write's source.
    pub source: Option<String>,
    /// The write's event time (its `at`, or when it was written).
    pub at: Timestamp,
    /// Cosine of their vectors.
    pub vector_similarity: f32,
    /// Jaccard similarity of their word sets.
    pub text_similarity: f32,
}

/// A memory consolidated from others (see [`crate::consolidation`]): it is
/// added, and linked `derived_from` to each source, in one event, so a
/// crash leaves all of a consolidation or none of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    /// The new memory.
    pub memory: Remember,
    /// The memories it summarises (ids no longer live are skipped when
    /// folded).
    pub sources: Vec<MemoryId>,
}

/// A memory moved to another tier (see [`crate::lifecycle::Tier`]). A move
/// to a warmer tier carries the memory's exact vector (read from the log),
/// so replay needs nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierMove {
    /// The memory.
    pub id: MemoryId,
    /// Where it goes.
    pub tier: crate::lifecycle::Tier,
    /// Its vector, for a move to a warmer tier.
    pub vector: Option<Vec<f32>>,
}

/// The link kind from a consolidated memory to each of its sources.
pub const DERIVED_FROM: &str = "derived_from";

/// A predicate's declared cardinality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declare {
    /// The predicate.
    pub predicate: String,
    /// Single- or multi-valued.
    pub cardinality: Cardinality,
}

/// A fact and a reason (a challenge or a retraction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactNote {
    /// The fact.
    pub fact: FactId,
    /// Why.
    pub reason: String,
}

/// Evidence added to a fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// The fact.
    pub fact: FactId,
    /// The memories that support it.
    pub evidence: Vec<MemoryId>,
    /// A note.
    pub note: Option<String>,
}

/// A conflict resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolve {
    /// The conflict.
    pub conflict: ConflictId,
    /// Facts kept.
    pub accepted: Vec<FactId>,
    /// Facts deprecated.
    pub deprecated: Vec<FactId>,
    /// Why.
    pub rationale: String,
}

/// A fact's quarantine level set explicitly (`None`: back to the derived
/// level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetQuarantine {
    /// The fact.
    pub fact: FactId,
    /// The level.
    pub level: Option<Quarantine>,
    /// Why.
    pub reason: String,
}

/// A task trajectory recorded, with the pattern the writer assigned it to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordTrajectory {
    /// Assigned id.
    pub id: TrajectoryId,
    /// The task's text, if given.
    pub task: Option<String>,
    /// The task's embedding.
    pub vector: Vec<f32>,
    /// Whether it succeeded.
    pub success: bool,
    /// Its score in `[0, 1]`.
    pub score: f32,
    /// How long it took, in milliseconds.
    pub latency_ms: f32,
    /// What it cost.
    pub cost: f32,
    /// Who or what carried it out.
    pub executor: String,
    /// Tags.
    pub tags: Vec<String>,
    /// When it happened (`None`: the log timestamp).
    pub at: Option<Timestamp>,
    /// The pattern it joins (an existing one, or the next id: a new one).
    pub pattern: PatternId,
}

/// A k-means++ refinement of the patterns; its parameters are logged so
/// a replay refines exactly the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refine {
    /// The seeding's random seed.
    pub seed: u64,
    /// Lloyd iterations at most.
    pub iterations: u32,
    /// Trajectories the centres are fitted on at most.
    pub max_trajectories: u32,
}

/// One write event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The namespace's first event.
    Init(Init),
    /// New memories, written atomically.
    Remember(Vec<Remember>),
    /// A memory changed.
    Revise(Revise),
    /// A memory's tags changed.
    Retag(Retag),
    /// A link added (or its weight replaced).
    Link(Link),
    /// A link removed.
    Unlink(Unlink),
    /// A memory forgotten.
    Forget(MemoryId),
    /// A predicate's cardinality declared.
    Declare(Declare),
    /// A fact asserted.
    Assert(AssertFact),
    /// A fact challenged.
    Challenge(FactNote),
    /// A fact supported with evidence.
    Support(Support),
    /// A conflict resolved.
    Resolve(Resolve),
    /// A fact's quarantine level set.
    Quarantine(SetQuarantine),
    /// A fact retracted.
    Retract(FactNote),
    /// A trajectory recorded.
    Trajectory(RecordTrajectory),
    /// Patterns refined by k-means++.
    Refine(Refine),
    /// Patterns pruned.
    Prune(Vec<PatternId>),
    /// Patterns merged: (kept, absorbed).
    Consolidate(Vec<(PatternId, PatternId)>),
    /// Memories used: an access each.
    Touch(Touch),
    /// Memories' deadlines set (`Some`) or cleared (`None`).
    Expiry(Vec<(MemoryId, Option<Timestamp>)>),
    /// Memories past their deadline expired and erased.
    Expire(Expire),
    /// New memories flagged as near-duplicates.
    Flag(Vec<Flagged>),
    /// Writes merged into the memories they nearly duplicate.
    Merge(Vec<Merged>),
    /// Memories consolidated from others, with their sources.
    Derive(Vec<Derived>),
    /// Memories moved between tiers.
    Tier(Vec<TierMove>),
}

/// The event names by kind byte.
const NAMES: [&str; 25] = [
    "init",
    "remember",
    "revise",
    "retag",
    "link",
    "unlink",
    "forget",
    "declare",
    "assert",
    "challenge",
    "support",
    "resolve",
    "quarantine",
    "retract",
    "trajectory",
    "refine",
    "prune",
    "consolidate",
    "touch",
    "expiry",
    "expire",
    "flag",
    "merge",
    "derive",
    "tier",
];

impl Event {
    /// The kind byte.
    pub fn kind_byte(&self) -> u8 {
        match self {
            Event::Init(_) => 0,
            Event::Remember(_) => 1,
            Event::Revise(_) => 2,
            Event::Retag(_) => 3,
            Event::Link(_) => 4,
            Event::Unlink(_) => 5,
            Event::Forget(_) => 6,
            Event::Declare(_) => 7,
            Event::Assert(_) => 8,
            Event::Challenge(_) => 9,
            Event::Support(_) => 10,
            Event::Resolve(_) => 11,
            Event::Quarantine(_) => 12,
            Event::Retract(_) => 13,
            Event::Trajectory(_) => 14,
            Event::Refine(_) => 15,
            Event::Prune(_) => 16,
            Event::Consolidate(_) => 17,
            Event::Touch(_) => 18,
            Event::Expiry(_) => 19,
            Event::Expire(_) => 20,
            Event::Flag(_) => 21,
            Event::Merge(_) => 22,
            Event::Derive(_) => 23,
            Event::Tier(_) => 24,
        }
    }

    /// A short name of the event kind.
    pub fn name(&self) -> &'static str {
        NAMES[usize::from(self.kind_byte())]
    }

    /// Appends the version 1 encoding (version, kind, postcard body, all
    /// in the clear) to `out`: what [`Event::encode_sealed`] seals, and
    /// what older namespaces hold.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        out.push(FORMAT_VERSION_PLAIN);
        out.push(self.kind_byte());
        self.body_into(out)
    }

    /// Appends the version 1 postcard body to `out`.
    fn body_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let body = match self {
            Event::Init(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Remember(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Revise(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Retag(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Link(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Unlink(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Forget(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Declare(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Assert(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Challenge(e) | Event::Retract(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Support(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Resolve(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Quarantine(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Trajectory(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Refine(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Prune(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Consolidate(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Touch(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Expiry(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Expire(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Flag(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Merge(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Derive(e) => postcard::to_extend(e, std::mem::take(out)),
            Event::Tier(e) => postcard::to_extend(e, std::mem::take(out)),
        };
        *out = body.map_err(|e| Error::Encode(e.to_string()))?;
        Ok(())
    }

    /// The version 1 encoding, unencrypted (see [`Event::encode_into`]).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.encoded_size_hint());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// The version 2 encoding: memories sealed with their own keys, the
    /// rest with the namespace key (see the module docs). Fails when a
    /// memory has no key in `keys`.
    pub(crate) fn encode_sealed(&self, keys: &dyn Keyring) -> Result<Vec<u8>> {
        let kind = self.kind_byte();
        let mut out = Vec::with_capacity(self.encoded_size_hint() + 64);
        out.push(FORMAT_VERSION);
        out.push(kind);
        let memory_key = |id: MemoryId| {
            keys.memory(id.0)
                .ok_or_else(|| Error::Encode(format!("memory {id} has no key (was it forgotten?)")))
        };
        let mut plain = Vec::new();
        match self {
            Event::Init(_) | Event::Forget(_) | Event::Expire(_) => self.body_into(&mut out)?,
            // Postcard's own layout of `Vec<(u64, bytes)>` and `(u64,
            // bytes)`, written by hand so each blob is sealed straight into
            // `out` (serde would pass a byte vector byte by byte).
            Event::Remember(items) => {
                put_varint(&mut out, items.len() as u64);
                for item in items {
                    plain.clear();
                    plain = postcard::to_extend(item, plain)
                        .map_err(|e| Error::Encode(e.to_string()))?;
                    put_varint(&mut out, item.id.0);
                    put_varint(&mut out, (plain.len() + crypt::SEALED_OVERHEAD) as u64);
                    crypt::seal(
                        &memory_key(item.id)?,
                        &memory_aad(kind, item.id),
                        &plain,
                        &mut out,
                    )?;
                }
            }
            Event::Derive(items) => {
                put_varint(&mut out, items.len() as u64);
                for item in items {
                    let id = item.memory.id;
                    plain.clear();
                    plain = postcard::to_extend(item, plain)
                        .map_err(|e| Error::Encode(e.to_string()))?;
                    put_varint(&mut out, id.0);
                    put_varint(&mut out, (plain.len() + crypt::SEALED_OVERHEAD) as u64);
                    crypt::seal(&memory_key(id)?, &memory_aad(kind, id), &plain, &mut out)?;
                }
            }
            Event::Revise(Revise { id, .. }) | Event::Retag(Retag { id, .. }) => {
                self.body_into(&mut plain)?;
                put_varint(&mut out, id.0);
                put_varint(&mut out, (plain.len() + crypt::SEALED_OVERHEAD) as u64);
                crypt::seal(&memory_key(*id)?, &memory_aad(kind, *id), &plain, &mut out)?;
            }
            _ => {
                self.body_into(&mut plain)?;
                crypt::seal(keys.namespace(), &[FORMAT_VERSION, kind], &plain, &mut out)?;
            }
        }
        Ok(out)
    }

    fn encoded_size_hint(&self) -> usize {
        const FIELDS_BYTES: usize = 64;
        match self {
            Event::Remember(items) => items
                .iter()
                .map(|r| {
                    FIELDS_BYTES
                        + r.content.len()
                        + 4 * r.vector.len()
                        + r.tags.iter().map(|t| t.len() + 1).sum::<usize>()
                })
                .sum(),
            Event::Derive(items) => items
                .iter()
                .map(|d| {
                    FIELDS_BYTES
                        + d.memory.content.len()
                        + 4 * d.memory.vector.len()
                        + 10 * d.sources.len()
                })
                .sum(),
            _ => FIELDS_BYTES,
        }
    }

    /// Whether a record payload is sealed (version 2, a kind that is not
    /// kept in the clear).
    pub(crate) fn is_sealed(payload: &[u8]) -> bool {
        matches!(payload, [FORMAT_VERSION, kind, ..] if !is_clear_kind(*kind))
    }

    /// Decodes a record payload without keys: version 1, and the kinds
    /// version 2 keeps in the clear (`init`, `forget`); a sealed record is
    /// an error saying it needs the namespace's keys.
    pub fn decode(seq: u64, bytes: &[u8]) -> Result<Event> {
        Self::decode_with(seq, bytes, None)
    }

    /// The vector memory `id` was written with by the record `bytes`
    /// (its `remember` or `derive` item, or a revision of it with new
    /// content); `None` when the record does not set it or the memory was
    /// erased. A sealed `remember` or `derive` record opens only that
    /// memory's body, not the whole batch (cold memories' vectors are read
    /// this way, a few per recall).
    pub(crate) fn memory_vector(
        seq: u64,
        bytes: &[u8],
        keys: &dyn Keyring,
        id: u64,
    ) -> Result<Option<Vec<f32>>> {
        let bad = |reason: String| Error::BadEvent { seq, reason };
        if let [FORMAT_VERSION, kind @ (1 | 23), body @ ..] = bytes {
            let sealed: Vec<(u64, &[u8])> =
                body_of(body).map_err(|reason| bad(format!("malformed event: {reason}")))?;
            let Some((_, blob)) = sealed.into_iter().find(|(i, _)| *i == id) else {
                return Ok(None);
            };
            let Some(cipher) = keys.memory(id) else {
                return Ok(None);
            };
            let plain = crypt::open(&cipher, &memory_aad(*kind, MemoryId(id)), blob)
                .ok_or_else(|| bad(format!("memory {id} does not authenticate with its key")))?;
            let item: Remember = if *kind == 1 {
                body_of(&plain)
            } else {
                body_of::<Derived>(&plain).map(|d| d.memory)
            }
            .map_err(|reason| bad(format!("malformed event: {reason}")))?;
            return Ok((item.id.0 == id && !item.erased).then_some(item.vector));
        }
        Ok(Self::decode_with(seq, bytes, Some(keys))?.into_vector_of(id))
    }

    /// The vector this event sets for memory `id`, if any.
    fn into_vector_of(self, id: u64) -> Option<Vec<f32>> {
        match self {
            Event::Remember(items) => items
                .into_iter()
                .find(|r| r.id.0 == id && !r.erased)
                .map(|r| r.vector),
            Event::Derive(items) => items
                .into_iter()
                .find(|d| d.memory.id.0 == id && !d.memory.erased)
                .map(|d| d.memory.vector),
            Event::Revise(r) if r.id.0 == id => r.vector,
            _ => None,
        }
    }

    /// Decodes a record payload, opening sealed bodies with `keys`.
    pub(crate) fn decode_with(seq: u64, bytes: &[u8], keys: Option<&dyn Keyring>) -> Result<Event> {
        let bad = |reason: String| Error::BadEvent { seq, reason };
        let (&version, rest) = bytes
            .split_first()
            .ok_or_else(|| bad("empty record".to_owned()))?;
        if version != FORMAT_VERSION && version != FORMAT_VERSION_PLAIN {
            return Err(bad(format!(
                "unknown event format version {version} (this build reads versions {FORMAT_VERSION_PLAIN} and {FORMAT_VERSION})"
            )));
        }
        let (&kind, body) = rest
            .split_first()
            .ok_or_else(|| bad("record ends before the event kind".to_owned()))?;
        let Some(&name) = NAMES.get(usize::from(kind)) else {
            return Err(bad(format!("unknown event kind {kind}")));
        };
        if version == FORMAT_VERSION_PLAIN || is_clear_kind(kind) {
            return Self::decode_body(kind, body)
                .map_err(|reason| bad(format!("malformed {name} event: {reason}")));
        }
        let Some(keys) = keys else {
            return Err(bad(format!(
                "the {name} event is encrypted: reading it needs the namespace's keys"
            )));
        };
        let malformed = |reason: String| bad(format!("malformed {name} event: {reason}"));
        let open_memory = |id: u64, blob: &[u8]| -> Result<Option<Vec<u8>>> {
            let Some(cipher) = keys.memory(id) else {
                return Ok(None);
            };
            crypt::open(&cipher, &memory_aad(kind, MemoryId(id)), blob)
                .map(Some)
                .ok_or_else(|| {
                    bad(format!(
                        "the {name} event of memory {id} does not authenticate with its key"
                    ))
                })
        };
        match kind {
            1 => {
                // Blobs are borrowed: postcard writes a byte vector exactly as
                // it writes bytes.
                let sealed: Vec<(u64, &[u8])> = body_of(body).map_err(malformed)?;
                let mut items = Vec::with_capacity(sealed.len());
                for (id, blob) in sealed {
                    let item = match open_memory(id, blob)? {
                        None => Remember::erased(MemoryId(id)),
                        Some(plain) => {
                            let item: Remember = body_of(&plain).map_err(malformed)?;
                            if item.id.0 != id {
                                return Err(malformed(format!(
                                    "memory {id}'s sealed body names memory {}",
                                    item.id
                                )));
                            }
                            item
                        }
                    };
                    items.push(item);
                }
                Ok(Event::Remember(items))
            }
            23 => {
                let sealed: Vec<(u64, &[u8])> = body_of(body).map_err(malformed)?;
                let mut items = Vec::with_capacity(sealed.len());
                for (id, blob) in sealed {
                    let item = match open_memory(id, blob)? {
                        None => Derived {
                            memory: Remember::erased(MemoryId(id)),
                            sources: Vec::new(),
                        },
                        Some(plain) => {
                            let item: Derived = body_of(&plain).map_err(malformed)?;
                            if item.memory.id.0 != id {
                                return Err(malformed(format!(
                                    "memory {id}'s sealed body names memory {}",
                                    item.memory.id
                                )));
                            }
                            item
                        }
                    };
                    items.push(item);
                }
                Ok(Event::Derive(items))
            }
            2 | 3 => {
                let (id, blob): (u64, &[u8]) = body_of(body).map_err(malformed)?;
                let Some(plain) = open_memory(id, blob)? else {
                    // Erased: a change to a memory that is not there.
                    return Ok(if kind == 2 {
                        Event::Revise(Revise {
                            id: MemoryId(id),
                            ..Revise::default()
                        })
                    } else {
                        Event::Retag(Retag {
                            id: MemoryId(id),
                            ..Retag::default()
                        })
                    });
                };
                let event = Self::decode_body(kind, &plain).map_err(malformed)?;
                let named = match &event {
                    Event::Revise(r) => r.id.0,
                    Event::Retag(r) => r.id.0,
                    _ => id,
                };
                if named != id {
                    return Err(malformed(format!(
                        "memory {id}'s sealed body names memory {named}"
                    )));
                }
                Ok(event)
            }
            _ => {
                let plain = crypt::open(keys.namespace(), &[FORMAT_VERSION, kind], body)
                    .ok_or_else(|| {
                        bad(format!(
                            "the {name} event does not authenticate with the namespace key"
                        ))
                    })?;
                Self::decode_body(kind, &plain).map_err(malformed)
            }
        }
    }

    /// Decodes a version 1 body of `kind` (a known kind).
    fn decode_body(kind: u8, body: &[u8]) -> std::result::Result<Event, String> {
        match kind {
            0 => body_of(body).map(Event::Init),
            1 => body_of(body).map(Event::Remember),
            2 => body_of(body).map(Event::Revise),
            3 => body_of(body).map(Event::Retag),
            4 => body_of(body).map(Event::Link),
            5 => body_of(body).map(Event::Unlink),
            6 => body_of(body).map(Event::Forget),
            7 => body_of(body).map(Event::Declare),
            8 => body_of(body).map(Event::Assert),
            9 => body_of(body).map(Event::Challenge),
            10 => body_of(body).map(Event::Support),
            11 => body_of(body).map(Event::Resolve),
            12 => body_of(body).map(Event::Quarantine),
            13 => body_of(body).map(Event::Retract),
            14 => body_of(body).map(Event::Trajectory),
            15 => body_of(body).map(Event::Refine),
            16 => body_of(body).map(Event::Prune),
            17 => body_of(body).map(Event::Consolidate),
            18 => body_of(body).map(Event::Touch),
            19 => body_of(body).map(Event::Expiry),
            20 => body_of(body).map(Event::Expire),
            21 => body_of(body).map(Event::Flag),
            22 => body_of(body).map(Event::Merge),
            23 => body_of(body).map(Event::Derive),
            24 => body_of(body).map(Event::Tier),
            other => Err(format!("unknown event kind {other}")),
        }
    }
}

/// Whether version 2 keeps events of `kind` in the clear (`init`,
/// `forget`, `expire`).
fn is_clear_kind(kind: u8) -> bool {
    matches!(kind, 0 | 6 | 20)
}

/// Appends `x` as postcard writes an unsigned integer (LEB128).
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Associated data of a memory's sealed blob.
fn memory_aad(kind: u8, id: MemoryId) -> [u8; 10] {
    let mut aad = [0u8; 10];
    aad[0] = FORMAT_VERSION;
    aad[1] = kind;
    aad[2..].copy_from_slice(&id.0.to_le_bytes());
    aad
}

/// Decodes a whole postcard value with nothing after it.
fn body_of<'a, T: Deserialize<'a>>(body: &'a [u8]) -> std::result::Result<T, String> {
    let (value, rest) = postcard::take_from_bytes::<T>(body).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes after the event body", rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<Event> {
        vec![
            Event::Init(Init {
                embedder: "hash-v1".into(),
                dimension: 256,
            }),
            Event::Remember(vec![Remember {
                id: MemoryId(1),
                key: Some("k".into()),
                content: "the cat sat".into(),
                kind: Kind::Episodic,
                tags: vec!["a".into(), "b".into()],
                source: Some("alice".into()),
                metadata: [("n".to_owned(), crate::Value::Int(3))].into(),
                at: Some(Timestamp(5)),
                valid: None,
                importance: 0.5,
                confidence: 1.0,
                vector: vec![0.25, -1.0],
                erased: false,
            }]),
            Event::Revise(Revise {
                id: MemoryId(1),
                content: Some("x".into()),
                vector: Some(vec![1.0, 0.0]),
                source: Some(None),
                ..Revise::default()
            }),
            Event::Retag(Retag {
                id: MemoryId(1),
                add: vec!["c".into()],
                remove: vec!["a".into()],
            }),
            Event::Link(Link {
                from: MemoryId(1),
                to: MemoryId(2),
                kind: "caused".into(),
                weight: 0.5,
            }),
            Event::Unlink(Unlink {
                from: MemoryId(1),
                to: MemoryId(2),
                kind: "caused".into(),
            }),
            Event::Forget(MemoryId(1)),
            Event::Declare(Declare {
                predicate: "likes".into(),
                cardinality: Cardinality::Multi,
            }),
            Event::Assert(AssertFact {
                id: FactId(2),
                subject: "alice".into(),
                predicate: "lives_in".into(),
                object: "Paris".into(),
                context: "default".into(),
                confidence: 0.9,
                valid: Validity {
                    from: Some(Timestamp(10)),
                    until: None,
                },
                evidence: vec![MemoryId(1)],
                supersedes: vec![FactId(1)],
                conflicts: vec![OpenConflict {
                    id: ConflictId(1),
                    with: FactId(1),
                    reason: "differs".into(),
                }],
            }),
            Event::Challenge(FactNote {
                fact: FactId(2),
                reason: "doubt".into(),
            }),
            Event::Support(Support {
                fact: FactId(2),
                evidence: vec![MemoryId(3)],
                note: Some("seen".into()),
            }),
            Event::Resolve(Resolve {
                conflict: ConflictId(1),
                accepted: vec![FactId(2)],
                deprecated: vec![FactId(1)],
                rationale: "newer source".into(),
            }),
            Event::Quarantine(SetQuarantine {
                fact: FactId(2),
                level: Some(Quarantine::Blocked),
                reason: "spam".into(),
            }),
            Event::Retract(FactNote {
                fact: FactId(2),
                reason: "typo".into(),
            }),
            Event::Trajectory(RecordTrajectory {
                id: TrajectoryId(1),
                task: Some("sort a list".into()),
                vector: vec![0.5, 0.5],
                success: true,
                score: 0.75,
                latency_ms: 12.5,
                cost: 0.01,
                executor: "gpt".into(),
                tags: vec!["code".into()],
                at: None,
                pattern: PatternId(1),
            }),
            Event::Refine(Refine {
                seed: 42,
                iterations: 8,
                max_trajectories: 1000,
            }),
            Event::Prune(vec![PatternId(3)]),
            Event::Consolidate(vec![(PatternId(1), PatternId(2))]),
            Event::Touch(Touch {
                ids: vec![MemoryId(1), MemoryId(9)],
                at: Timestamp(1_700_000_000_000_000_000),
            }),
            Event::Expiry(vec![
                (MemoryId(1), Some(Timestamp(1_800_000_000_000_000_000))),
                (MemoryId(2), None),
            ]),
            Event::Expire(Expire {
                ids: vec![MemoryId(1)],
                at: Timestamp(1_800_000_000_000_000_001),
            }),
            Event::Flag(vec![Flagged {
                id: MemoryId(4),
                of: MemoryId(1),
                vector_similarity: 0.97,
                text_similarity: 0.9,
            }]),
            Event::Merge(vec![Merged {
                into: MemoryId(1),
                source: Some("chat".into()),
                at: Timestamp(7),
                vector_similarity: 0.99,
                text_similarity: 1.0,
            }]),
            Event::Derive(vec![Derived {
                memory: Remember {
                    id: MemoryId(1),
                    key: None,
                    content: "the cat sat, often".into(),
                    kind: Kind::Semantic,
                    tags: vec!["consolidated".into()],
                    source: Some("alice".into()),
                    metadata: Metadata::new(),
                    at: Some(Timestamp(9)),
                    valid: None,
                    importance: 0.5,
                    confidence: 1.0,
                    vector: vec![0.5, 0.5],
                    erased: false,
                },
                sources: vec![MemoryId(2), MemoryId(3)],
            }]),
            Event::Tier(vec![
                TierMove {
                    id: MemoryId(1),
                    tier: crate::lifecycle::Tier::Cold,
                    vector: None,
                },
                TierMove {
                    id: MemoryId(2),
                    tier: crate::lifecycle::Tier::Hot,
                    vector: Some(vec![0.5, -0.5]),
                },
            ]),
        ]
    }

    #[test]
    fn every_event_round_trips() {
        for e in sample() {
            let bytes = e.encode().expect("encode");
            assert_eq!(bytes[0], FORMAT_VERSION_PLAIN);
            assert_eq!(bytes[1], e.kind_byte());
            assert_eq!(Event::decode(7, &bytes).expect("decode"), e);
        }
    }

    fn keys() -> crate::crypt::KeyStore {
        let keys = crate::crypt::KeyStore::open(
            "t",
            None,
            &crate::crypt::DataKeySource::Generated,
            false,
            crate::crypt::AeadAlgorithm::PREFERRED,
        )
        .expect("keys");
        keys.create_memory_keys(&[1], None)
            .expect("key of memory 1");
        keys
    }

    #[test]
    fn every_event_round_trips_sealed_and_holds_no_plaintext() {
        let keys = keys();
        for e in sample() {
            let bytes = e.encode_sealed(&keys).expect("encode");
            assert_eq!(bytes[..2], [FORMAT_VERSION, e.kind_byte()]);
            assert_eq!(
                Event::decode_with(7, &bytes, Some(&keys)).expect("decode"),
                e
            );
            for secret in [&b"the cat sat"[..], b"alice", b"caused", b"likes"] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "{} holds {:?}",
                    e.name(),
                    String::from_utf8_lossy(secret)
                );
            }
            let clear = matches!(e, Event::Init(_) | Event::Forget(_) | Event::Expire(_));
            assert_eq!(Event::decode(7, &bytes).is_ok(), clear, "{}", e.name());
        }
    }

    #[test]
    fn a_memorys_vector_reads_as_the_whole_record_decodes() {
        let keys = keys();
        for e in sample() {
            for bytes in [
                e.encode().expect("plain"),
                e.encode_sealed(&keys).expect("sealed"),
            ] {
                for id in [1, 2] {
                    let want = Event::decode_with(7, &bytes, Some(&keys))
                        .expect("decode")
                        .into_vector_of(id);
                    let got = Event::memory_vector(7, &bytes, &keys, id).expect("vector");
                    assert_eq!(got, want, "{} memory {id}", e.name());
                }
            }
        }
        // A damaged blob is an error, not a vector.
        let remember = sample()[1].encode_sealed(&keys).expect("sealed");
        let mut damaged = remember.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(Event::memory_vector(7, &damaged, &keys, 1).is_err());
        assert!(Event::memory_vector(7, &remember[..5], &keys, 1).is_err());
    }

    #[test]
    fn a_destroyed_key_erases_and_a_moved_blob_does_not_open() {
        let keys = keys();
        keys.create_memory_keys(&[2], None)
            .expect("key of memory 2");
        let events = sample();
        let remember = events[1].encode_sealed(&keys).expect("encode");
        let revise = events[2].encode_sealed(&keys).expect("encode");
        // Memory 1's blob relabelled as memory 2's: 2's key does not open it.
        let mut moved = remember.clone();
        // Version, kind, one item, then its id.
        assert_eq!(moved[..4], [FORMAT_VERSION, 1, 1, 1]);
        moved[3] = 2;
        let err = Event::decode_with(3, &moved, Some(&keys)).expect_err("refused");
        assert!(err.to_string().contains("does not authenticate"), "{err}");
        // A remember's blob read as a revise does not open either.
        let mut rekinded = revise.clone();
        rekinded[1] = 3;
        assert!(Event::decode_with(3, &rekinded, Some(&keys)).is_err());
        keys.destroy_memory_keys(&[1]).expect("destroy");
        assert_eq!(
            Event::decode_with(3, &remember, Some(&keys)).expect("decodes"),
            Event::Remember(vec![Remember::erased(MemoryId(1))])
        );
        assert_eq!(
            Event::decode_with(4, &revise, Some(&keys)).expect("decodes"),
            Event::Revise(Revise {
                id: MemoryId(1),
                ..Revise::default()
            })
        );
    }

    #[test]
    fn unknown_version_names_the_seq() {
        let mut bytes = Event::Forget(MemoryId(3)).encode().expect("encode");
        bytes[0] = 9;
        let err = Event::decode(42, &bytes).expect_err("refused").to_string();
        assert!(err.contains("seq 42") && err.contains("version 9"), "{err}");
        bytes[0] = FORMAT_VERSION;
        bytes[1] = 77;
        let err = Event::decode(43, &bytes).expect_err("refused").to_string();
        assert!(err.contains("seq 43") && err.contains("kind 77"), "{err}");
        let err = Event::decode(44, &[]).expect_err("refused").to_string();
        assert!(err.contains("seq 44"), "{err}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = Event::Forget(MemoryId(3)).encode().expect("encode");
        bytes.push(0);
        assert!(Event::decode(1, &bytes).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Event::decode(0, &bytes);
        }

        #[test]
        fn damaged_encodings_never_panic(index in 0usize..64, value in any::<u8>(), cut in 0usize..64) {
            for e in sample() {
                let mut bytes = e.encode().expect("encode");
                let i = index % bytes.len();
                bytes[i] = value;
                let _ = Event::decode(0, &bytes);
                bytes.truncate(cut % (bytes.len() + 1));
                let _ = Event::decode(0, &bytes);
            }
        }
    }
}
