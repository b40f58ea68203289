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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::fact::NewFact;
    use crate::facts::fixture::{Writer, window};

    /// Facts 1..=n of `keys` (context, subject, predicate), all believed.
    fn facts(keys: &[(&str, &str, &str)]) -> Vec<Fact> {
        let mut w = Writer::new();
        for (i, (c, s, p)) in keys.iter().enumerate() {
            // Windows of their own, so the writer records neither
            // supersession nor conflict between them.
            let from = i64::try_from(i).expect("few facts") * 10;
            w.assert(
                NewFact::new(*s, *p, format!("o{i}"))
                    .context(*c)
                    .valid_from(crate::model::Timestamp(from))
                    .valid_until(crate::model::Timestamp(from + 10)),
            );
        }
        w.store.all().to_vec()
    }

    fn ids<'a>(entries: impl Iterator<Item = &'a KeyEntry>) -> Vec<u64> {
        entries.map(|e| e.id.0).collect()
    }

    #[test]
    fn a_bucket_tells_keys_that_concatenate_alike_apart() {
        let b = KeyBucket::new("ab", "c", "p");
        assert!(b.holds("ab", "c", "p"));
        assert!(!b.holds("a", "bc", "p"));
        assert!(!b.holds("ab", "", "cp"));
        assert!(!b.holds("ab", "c", "pq"));
        assert!(!b.holds("ab", "c", ""));
    }

    #[test]
    fn entries_are_a_keys_believed_facts_in_id_order() {
        let f = facts(&[
            ("c", "s", "p"),
            ("c", "s", "q"),
            ("c", "s", "p"),
            ("d", "s", "p"),
        ]);
        let mut index = KeyIndex::default();
        for fact in &f {
            index.insert(fact);
        }
        assert_eq!(ids(index.entries("c", "s", "p")), [1, 3]);
        assert_eq!(ids(index.entries("c", "s", "q")), [2]);
        assert_eq!(ids(index.entries("d", "s", "p")), [4]);
        assert_eq!(ids(index.entries("c", "t", "p")), Vec::<u64>::new());
        assert_eq!(index.bucket_count(), 3);
        let e = index.entries("c", "s", "p").next().expect("fact 1");
        assert_eq!((e.valid, e.confidence), (window(Some(0), Some(10)), 1.0));
    }

    #[test]
    fn updates_move_windows_and_removals_drop_empty_buckets() {
        let f = facts(&[("c", "s", "p"), ("c", "s", "p")]);
        let mut index = KeyIndex::default();
        for fact in &f {
            index.insert(fact);
        }
        let hash = key_hash("c", "s", "p");
        index.update(hash, &f[0], Some(window(Some(0), Some(5))));
        let first = index.entries("c", "s", "p").next().expect("fact 1");
        assert_eq!(first.valid, window(Some(0), Some(5)));
        // A wrong hint (a log naming a fact of another key) is ignored.
        index.update(key_hash("x", "y", "z"), &f[0], None);
        assert_eq!(ids(index.entries("c", "s", "p")), [2]);
        index.update(hash, &f[1], None);
        assert_eq!(ids(index.entries("c", "s", "p")), Vec::<u64>::new());
        assert_eq!(index.bucket_count(), 0);
    }

    #[test]
    fn a_key_whose_hash_is_taken_goes_to_the_overflow() {
        let f = facts(&[("c", "s", "p"), ("c", "s", "p")]);
        let mut index = KeyIndex::default();
        // Forge a collision: another key already owns the bucket.
        index
            .buckets
            .insert(key_hash("c", "s", "p"), KeyBucket::new("x", "y", "z"));
        for fact in &f {
            index.insert(fact);
        }
        assert_eq!(ids(index.entries("c", "s", "p")), [1, 2]);
        assert_eq!(ids(index.entries("x", "y", "z")), Vec::<u64>::new());
        assert_eq!(index.overflow.len(), 1);
        index.update(key_hash("c", "s", "p"), &f[1], Some(window(None, None)));
        assert_eq!(
            index
                .entries("c", "s", "p")
                .map(|e| e.valid)
                .collect::<Vec<_>>(),
            [window(Some(0), Some(10)), window(None, None)]
        );
        index.update(key_hash("c", "s", "p"), &f[0], None);
        index.update(key_hash("c", "s", "p"), &f[1], None);
        assert!(index.overflow.is_empty());
        assert_eq!(index.bucket_count(), 1, "the other key's bucket stays");
    }

    #[test]
    fn hashes_depend_on_every_part() {
        let h = key_hash("c", "s", "p");
        assert_ne!(h, key_hash("s", "c", "p"));
        assert_ne!(h, key_hash("c", "s", "q"));
        assert_eq!(h, key_hash("c", "s", "p"));
        assert_ne!(subject_hash("alice"), subject_hash("bob"));
    }
}
