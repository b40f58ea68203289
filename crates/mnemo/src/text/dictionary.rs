//! The term dictionary: every distinct term once, under a dense `u32` id.
//!
//! Term text lives in one string arena (a term id gives its text back, for
//! explanations and encoding) and an open-addressing table maps text to id. The table
//! is probed linearly from an xxh3 hash of the term; each 24-byte slot also holds the
//! term's length and first 16 bytes, so for nearly all terms (at most 16 bytes) one
//! slot settles a lookup — one cache line, no visit to the arena. There is no
//! allocation per term. The table is a power of two in size and at most half full.
//!
//! The hash is unseeded xxh3: crafted colliding terms can slow the dictionary down,
//! not corrupt it.

use xxhash_rust::xxh3::xxh3_64;

use super::tokenize::MAX_TOKEN_BYTES;

/// The term dictionary: term text in one arena, dense ids, an open-addressing table.
#[derive(Debug, Clone, Default)]
pub(super) struct TermDict {
    /// All terms' text, concatenated.
    text: String,
    /// By term id: end offset in `text`.
    ends: Vec<u32>,
    /// Linear probing; length 0 or a power of two, at most half full.
    table: Vec<DictSlot>,
}

/// One slot of the dictionary's table. Nearly all terms are at most 16 bytes, and for
/// them the slot alone settles a lookup — one cache line, no visit to the text arena.
#[derive(Debug, Clone, Copy, Default)]
struct DictSlot {
    /// Low hash bits above 7, and the term's length (1..=64) in the low 7 bits.
    tag: u32,
    /// Term id + 1; 0 marks an empty slot.
    entry: u32,
    /// The term's first 16 bytes, zero padded.
    head: [u64; 2],
}

/// Terms up to this many bytes are compared through [`DictSlot::head`] alone.
const HEAD_BYTES: usize = 16;

/// A term's hash (probe start) and its [`DictSlot`] tag and head.
#[derive(Debug, Clone, Copy)]
struct TermKey {
    hash: u64,
    tag: u32,
    head: [u64; 2],
}

impl TermKey {
    /// Hashes `term` and packs its length and first bytes.
    fn of(term: &str) -> Self {
        let bytes = term.as_bytes();
        let hash = xxh3_64(bytes);
        let mut head = [0u64; 2];
        for (i, &b) in bytes.iter().take(HEAD_BYTES).enumerate() {
            head[i / 8] |= u64::from(b) << (8 * (i % 8));
        }
        // Terms hold at most 64 bytes (MAX_TOKEN_BYTES), so the length fits 7 bits.
        let tag = (hash as u32 & !0x7F) | (bytes.len() as u32 & 0x7F);
        Self { hash, tag, head }
    }
}

impl TermDict {
    /// Number of terms; ids are `0..len()`.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of term `id` (empty for an id not in the dictionary).
    pub(super) fn term(&self, id: u32) -> &str {
        let i = id as usize;
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0) as usize,
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or("")
    }

    /// The id of `term`, or the empty table position where it would go. The table
    /// must not be empty.
    fn find(&self, term: &str, key: TermKey) -> Result<u32, usize> {
        let mask = self.table.len() - 1;
        let mut i = (key.hash >> 32) as usize & mask;
        loop {
            let slot = self.table[i];
            if slot.entry == 0 {
                return Err(i);
            }
            if slot.tag == key.tag
                && slot.head == key.head
                && (term.len() <= HEAD_BYTES || self.term(slot.entry - 1) == term)
            {
                return Ok(slot.entry - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `term`, if it is in the dictionary.
    pub(super) fn get(&self, term: &str) -> Option<u32> {
        if self.table.is_empty() || term.len() > MAX_TOKEN_BYTES {
            return None;
        }
        self.find(term, TermKey::of(term)).ok()
    }

    /// The id of `term`, added if new; `None` when the dictionary is full.
    pub(super) fn get_or_insert(&mut self, term: &str) -> Option<u32> {
        match self.insert(term) {
            Ok(id) | Err(Some(id)) => Some(id),
            Err(None) => None,
        }
    }

    /// Adds `term` (1..=64 bytes): `Ok(new id)`, `Err(Some(existing id))`, or
    /// `Err(None)` when full or the term is too long or empty.
    pub(super) fn insert(&mut self, term: &str) -> Result<u32, Option<u32>> {
        if term.is_empty() || term.len() > MAX_TOKEN_BYTES {
            return Err(None);
        }
        if (self.len() + 1) * 2 > self.table.len() {
            self.grow();
        }
        let key = TermKey::of(term);
        let at = match self.find(term, key) {
            Ok(id) => return Err(Some(id)),
            Err(at) => at,
        };
        let id = self.len();
        let end = self.text.len() + term.len();
        if id >= u32::MAX as usize - 1 || end > u32::MAX as usize {
            return Err(None);
        }
        self.text.push_str(term);
        self.ends.push(end as u32);
        self.table[at] = DictSlot {
            tag: key.tag,
            entry: id as u32 + 1,
            head: key.head,
        };
        debug_assert!(
            self.table_invariant_holds(),
            "dictionary table over half full"
        );
        Ok(id as u32)
    }

    /// Makes room for `terms` terms of `text_bytes` bytes in all, so that inserting
    /// them (a decode) neither reallocates the arena nor rehashes the table.
    pub(super) fn reserve(&mut self, terms: usize, text_bytes: usize) {
        self.text.reserve_exact(text_bytes);
        self.ends.reserve_exact(terms);
        if (terms + 1) * 2 > self.table.len() {
            self.grow_to((terms + 1) * 2);
        }
    }

    /// Doubles the table.
    fn grow(&mut self) {
        self.grow_to(self.table.len() * 2);
    }

    /// Rebuilds the table with at least `min_slots` slots, re-hashing the terms in id
    /// order (a sequential walk of the text arena).
    fn grow_to(&mut self, min_slots: usize) {
        let size = min_slots.max(64).next_power_of_two();
        let mut table = vec![DictSlot::default(); size];
        let mask = size - 1;
        for id in 0..self.len() as u32 {
            let key = TermKey::of(self.term(id));
            let mut i = (key.hash >> 32) as usize & mask;
            while table[i].entry != 0 {
                i = (i + 1) & mask;
            }
            table[i] = DictSlot {
                tag: key.tag,
                entry: id + 1,
                head: key.head,
            };
        }
        self.table = table;
        debug_assert!(
            self.table_invariant_holds(),
            "dictionary table over half full"
        );
    }

    /// What the probing relies on: a power-of-two table (so `& mask` wraps) at most
    /// half full (so a probe meets an empty slot soon, and always meets one).
    fn table_invariant_holds(&self) -> bool {
        self.table.len().is_power_of_two() && 2 * self.len() <= self.table.len()
    }

    /// Heap bytes held (capacities).
    pub(super) fn memory_bytes(&self) -> usize {
        self.text.capacity()
            + 4 * self.ends.capacity()
            + std::mem::size_of::<DictSlot>() * self.table.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_give_text_back() {
        let mut dict = TermDict::default();
        assert_eq!(dict.get("x"), None, "an empty dictionary finds nothing");
        let words: Vec<String> = (0..1000).map(|i| format!("term{i}")).collect();
        for (i, word) in words.iter().enumerate() {
            assert_eq!(dict.insert(word), Ok(i as u32));
        }
        assert_eq!(dict.len(), 1000);
        for (i, word) in words.iter().enumerate() {
            assert_eq!(dict.get(word), Some(i as u32));
            assert_eq!(dict.term(i as u32), word);
            assert_eq!(dict.insert(word), Err(Some(i as u32)));
            assert_eq!(dict.get_or_insert(word), Some(i as u32));
        }
        assert_eq!(dict.term(1000), "", "an unknown id has no text");
        assert!(dict.table_invariant_holds());
    }

    #[test]
    fn long_terms_sharing_a_head_stay_apart() {
        let mut dict = TermDict::default();
        let a = "internationalizationa";
        let b = "internationalizationb";
        assert_eq!(&a[..HEAD_BYTES], &b[..HEAD_BYTES]);
        assert_eq!(dict.insert(a), Ok(0));
        assert_eq!(dict.insert(b), Ok(1));
        assert_eq!(dict.get(a), Some(0));
        assert_eq!(dict.get(b), Some(1));
        assert_eq!(dict.get("internationalizationc"), None);
    }

    #[test]
    fn refuses_empty_and_overlong_terms() {
        let mut dict = TermDict::default();
        let longest = "x".repeat(MAX_TOKEN_BYTES);
        assert_eq!(dict.insert(""), Err(None));
        assert_eq!(dict.insert(&"x".repeat(MAX_TOKEN_BYTES + 1)), Err(None));
        assert_eq!(dict.get_or_insert(&longest), Some(0));
        assert_eq!(dict.get(&"x".repeat(MAX_TOKEN_BYTES + 1)), None);
        assert_eq!(dict.len(), 1);
    }

    #[test]
    fn reserve_sizes_the_table_up_front() {
        let mut dict = TermDict::default();
        dict.reserve(500, 4000);
        let slots = dict.table.len();
        assert!(dict.table_invariant_holds() && slots >= 1002);
        for i in 0..500 {
            assert_eq!(dict.insert(&format!("w{i}")), Ok(i));
        }
        assert_eq!(
            dict.table.len(),
            slots,
            "no rehash while filling the reservation"
        );
        assert!(dict.memory_bytes() >= slots * std::mem::size_of::<DictSlot>());
    }
}
