//! The index of believed facts by key `(context, subject, predicate)`,
//! which keeps the coherence check O(k) in the believed facts of one key,
//! and the hashes the store's indices are keyed by.
//!
//! A key's facts sit in a bucket under the key's hash, with the key itself
//! stored once so a lookup compares it once, not once per fact. Should two
//! keys' hashes collide, the first keeps the bucket and the other's facts
//! go to an overflow map keyed by the full key.

use std::collections::HashMap;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::fact::Fact;
use crate::base::{FactId, IdMap};
use crate::model::Validity;

/// The key hash of `(context, subject, predicate)`.
pub(super) fn key_hash(context: &str, subject: &str, predicate: &str) -> u64 {
    xxh3_64_with_seed(
        predicate.as_bytes(),
        xxh3_64_with_seed(subject.as_bytes(), xxh3_64(context.as_bytes())),
    )
}

/// The hash of a subject in the subject index.
pub(super) fn subject_hash(subject: &str) -> u64 {
    xxh3_64(subject.as_bytes())
}

/// A believed fact in the key index, with copies of what the check reads
/// first (so most facts are ruled out without touching them).
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyEntry {
    /// The fact.
    pub(super) id: FactId,
    /// Its current window.
    pub(super) valid: Validity,
    /// Its confidence.
    pub(super) confidence: f32,
}

/// The believed facts of one key, with the key itself (compared once per
/// check instead of once per fact).
#[derive(Debug, Clone)]
struct KeyBucket {
    /// `context`, `subject` and `predicate` one after the other.
    key: Box<str>,
    /// Where `subject` and `predicate` start in `key`.
    splits: (usize, usize),
    /// The key's believed facts, in id order.
    entries: Vec<KeyEntry>,
}

impl KeyBucket {
    fn new(context: &str, subject: &str, predicate: &str) -> Self {
        let key = [context, subject, predicate].concat().into_boxed_str();
        let a = context.len();
        KeyBucket {
            key,
            splits: (a, a + subject.len()),
            entries: Vec::new(),
        }
    }

    fn holds(&self, context: &str, subject: &str, predicate: &str) -> bool {
        let (a, b) = self.splits;
        self.key.len() == b + predicate.len()
            && self.key.get(..a) == Some(context)
            && self.key.get(a..b) == Some(subject)
            && self.key.get(b..) == Some(predicate)
    }
}

/// Believed facts by key (see the module docs).
#[derive(Debug, Clone, Default)]
pub(super) struct KeyIndex {
    /// Buckets by key hash; a bucket holds one key (its first fact's).
    buckets: IdMap<KeyBucket>,
    /// Believed facts of keys whose hash collided with another key's.
    overflow: HashMap<(String, String, String), Vec<KeyEntry>>,
}

impl KeyIndex {
    /// How many keys have a bucket.
    pub(super) fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Adds believed fact `f` after the facts of its key (callers add facts
    /// in id order, so each key's entries stay in id order).
    pub(super) fn insert(&mut self, f: &Fact) {
        let entry = KeyEntry {
            id: f.id,
            valid: f.valid,
            confidence: f.confidence,
        };
        let bucket = self
            .buckets
            .entry(key_hash(&f.context, &f.subject, &f.predicate))
            .or_insert_with(|| KeyBucket::new(&f.context, &f.subject, &f.predicate));
        if bucket.holds(&f.context, &f.subject, &f.predicate) {
            bucket.entries.push(entry);
        } else {
            self.overflow
                .entry((f.context.clone(), f.subject.clone(), f.predicate.clone()))
                .or_default()
                .push(entry);
        }
    }

    /// The believed facts of a key, in id order: the bucket of its hash
    /// when the bucket holds this key (its first fact says), and those of
    /// the collision overflow (empty unless two keys' hashes collided).
    pub(super) fn entries<'a>(
        &'a self,
        context: &str,
        subject: &str,
        predicate: &str,
    ) -> impl Iterator<Item = &'a KeyEntry> + 'a {
        let bucket = self
            .buckets
            .get(&key_hash(context, subject, predicate))
            .filter(|b| b.holds(context, subject, predicate))
            .map_or(&[][..], |b| b.entries.as_slice());
        let overflow = if self.overflow.is_empty() {
            &[][..]
        } else {
            self.overflow
                .get(&(context.to_owned(), subject.to_owned(), predicate.to_owned()))
                .map_or(&[][..], Vec::as_slice)
        };
        bucket.iter().chain(overflow)
    }

    /// Updates fact `f`'s entry: its new window, or (`None`) removes it
    /// because the fact is no longer believed. `hint` is the hash of the
    /// key the caller believes `f` has; a hint from a log naming facts of
    /// another key is ignored.
    pub(super) fn update(&mut self, hint: u64, f: &Fact, valid: Option<Validity>) {
        let holds_id = |index: &Self, hash: u64| {
            index
                .buckets
                .get(&hash)
                .is_some_and(|b| b.entries.iter().any(|e| e.id == f.id))
        };
        let hash = if holds_id(self, hint) {
            hint
        } else {
            key_hash(&f.context, &f.subject, &f.predicate)
        };
        if holds_id(self, hash) {
            if let Some(bucket) = self.buckets.get_mut(&hash)
                && set_entry(&mut bucket.entries, f.id, valid)
            {
                self.buckets.remove(&hash);
            }
        } else {
            let key = (f.context.clone(), f.subject.clone(), f.predicate.clone());
            if let Some(entries) = self.overflow.get_mut(&key)
                && set_entry(entries, f.id, valid)
            {
                self.overflow.remove(&key);
            }
        }
    }
}

/// Sets entry `id`'s window, or removes it (`None`); true when that left
/// `entries` empty.
fn set_entry(entries: &mut Vec<KeyEntry>, id: FactId, valid: Option<Validity>) -> bool {
    match valid {
        Some(valid) => {
            if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
                e.valid = valid;
            }
            false
        }
        None => {
            entries.retain(|e| e.id != id);
            entries.is_empty()
        }
    }
}
