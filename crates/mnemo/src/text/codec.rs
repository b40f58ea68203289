//! The text index's binary encoding, for the engine's snapshots: [`TextIndex::encode`]
//! writes the layout documented there (version 1, unsigned LEB128 varints) and
//! [`TextIndex::decode`] reads it back, refusing any bytes that break the layout with
//! a [`TextDecodeError`] rather than a panic, and bounding its allocations by the
//! input's length.

use thiserror::Error;

use super::bm25::{DEAD, MAX_DOC_LEN, MAX_K1, MAX_SLOTS, Posting, Term, TextIndex};
use super::tokenize::MAX_TOKEN_BYTES;

/// First bytes of an encoded index.
const MAGIC: [u8; 4] = *b"MNTX";
/// Version of the layout written by [`TextIndex::encode`].
const FORMAT_VERSION: u8 = 1;

/// Why [`TextIndex::decode`] refused its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextDecodeError {
    /// The bytes do not start with the text index's magic bytes.
    #[error("bad magic bytes: not an encoded text index")]
    BadMagic,
    /// A format version this build cannot read.
    #[error("format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// The version in the bytes.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The bytes end inside a field.
    #[error("truncated at byte {offset}, in the {field}")]
    Truncated {
        /// Byte offset where the field starts.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// A field holds a value that breaks the format's rules.
    #[error("invalid {field} at byte {offset}: {reason}")]
    Invalid {
        /// Byte offset of the field.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes follow the end of the index.
    #[error("{count} unexpected bytes after the end, at byte {offset}")]
    TrailingBytes {
        /// Where the index ended.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
}

impl TextIndex {
    /// Appends the index to `out` in the layout below (version 1). Removed documents
    /// and unused terms are left out, slots and terms renumbered densely in order;
    /// [`decode`](Self::decode) gives an index with identical search results.
    ///
    /// ```text
    /// "MNTX"                  4 bytes, magic
    /// version                 u8 = 1
    /// k1, b                   f32 little-endian each
    /// T                       varint: number of terms
    /// T × term length         u8 each, 1..=64
    /// term text               the T terms' UTF-8 bytes, concatenated
    /// D                       varint: number of documents
    /// P                       varint: number of (document, term) pairs, Σ n = Σ df
    /// D × document            in slot order:
    ///     id                  varint (u64), distinct
    ///     length              varint: tokens in the document (the sum of its tfs)
    ///     n                   varint: number of distinct terms
    ///     n × term            varint: the first term id absolute, then the gap (≥ 1)
    ///                         to the previous one; all < T
    /// T × posting list        in term order:
    ///     df                  varint: number of documents holding the term, ≥ 1
    ///     df × (slot, tf)     varints: the first slot absolute, then the gap (≥ 1);
    ///                         all < D; tf ≥ 1 (u32)
    /// ```
    ///
    /// varint is unsigned LEB128 (7 bits a byte, low first, no overlong forms).
    /// Documents without terms are allowed, terms that no document holds are not.
    ///
    /// The (term, document) pairs are written twice, once per document and once per
    /// term, because the index keeps both and rebuilding one from the other is a
    /// transposition: random writes over arrays of hundreds of megabytes, several
    /// times slower than reading the bytes. So both encoding and decoding stream.
    /// `decode` checks that the two views hold the same pairs (per-term counts and an
    /// order-independent 64-bit hash of the pairs) and that the lengths add up to the
    /// tfs in total; the engine's checksum around the bytes guards the rest.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.k1.to_le_bytes());
        out.extend_from_slice(&self.b.to_le_bytes());

        // New term ids: terms some live document holds, in old order (monotone, so
        // each document's term list stays sorted).
        let mut term_map = vec![DEAD; self.dict.len()];
        let mut live_terms = Vec::new();
        for (t, entry) in self.terms.iter().enumerate() {
            if entry.df > 0 {
                term_map[t] = live_terms.len() as u32;
                live_terms.push(t as u32);
            }
        }
        put_varint(out, live_terms.len() as u64);
        for &t in &live_terms {
            // Terms come from the tokenizer or a validated decode: 1..=64 bytes.
            out.push(self.dict.term(t).len().min(MAX_TOKEN_BYTES) as u8);
        }
        for &t in &live_terms {
            out.extend_from_slice(self.dict.term(t).as_bytes());
        }

        put_varint(out, self.slot_of.len() as u64);
        let pairs: u64 = live_terms
            .iter()
            .map(|&t| u64::from(self.terms[t as usize].df))
            .sum();
        put_varint(out, pairs);
        let mut slot_map = vec![DEAD; self.doc_len.len()];
        let mut next = 0u32;
        for (s, (&len, &id)) in self.doc_len.iter().zip(&self.doc_id).enumerate() {
            if len == DEAD {
                continue;
            }
            slot_map[s] = next;
            next += 1;
            put_varint(out, id);
            put_varint(out, u64::from(len));
            let (start, end) = self.terms_range(s);
            put_varint(out, (end - start) as u64);
            let mut prev: Option<u32> = None;
            for &t in &self.doc_terms[start..end] {
                let new = term_map[t as usize];
                put_varint(out, u64::from(prev.map_or(new, |prev| new - prev)));
                prev = Some(new);
            }
        }
        for &t in &live_terms {
            let entry = &self.terms[t as usize];
            put_varint(out, u64::from(entry.df));
            let mut prev: Option<u32> = None;
            for p in &entry.postings {
                let slot = slot_map[p.slot as usize];
                if slot == DEAD {
                    continue;
                }
                put_varint(out, u64::from(prev.map_or(slot, |prev| slot - prev)));
                put_varint(out, u64::from(p.tf));
                prev = Some(slot);
            }
        }
    }

    /// Reads an index written by [`encode`](Self::encode). Any bytes that break the
    /// layout give an error, never a panic; allocations are bounded by the input's
    /// length.
    pub fn decode(bytes: &[u8]) -> Result<TextIndex, TextDecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len(), "magic").ok() != Some(&MAGIC[..]) {
            return Err(TextDecodeError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(TextDecodeError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let k1 = r.f32("k1")?;
        if !(0.0..=MAX_K1).contains(&k1) {
            return Err(r.invalid(4, "k1", "must be within 0..=1000"));
        }
        let b = r.f32("b")?;
        if !(0.0..=1.0).contains(&b) {
            return Err(r.invalid(4, "b", "must be within 0..=1"));
        }
        let mut index = TextIndex::with_params(k1, b);

        // Every term takes a length byte, a text byte and a df byte.
        let term_count = r.count("term count", 3, u32::MAX as usize - 1)?;
        let lens_at = r.pos;
        let lens = r.take(term_count, "term lengths")?;
        let mut text_len = 0usize;
        for (i, &len) in lens.iter().enumerate() {
            if len == 0 || usize::from(len) > MAX_TOKEN_BYTES {
                return Err(TextDecodeError::Invalid {
                    offset: lens_at + i,
                    field: "term length",
                    reason: "must be within 1..=64",
                });
            }
            text_len += usize::from(len);
        }
        let text_at = r.pos;
        let text = r.take(text_len, "term text")?;
        let text =
            std::str::from_utf8(text).map_err(|_| r.invalid(text_len, "term text", "not UTF-8"))?;
        index.dict.reserve(term_count, text_len);
        let mut at = 0;
        for &len in lens {
            let end = at + usize::from(len);
            let term = text.get(at..end).ok_or(TextDecodeError::Invalid {
                offset: text_at + at,
                field: "term text",
                reason: "term boundary inside a character",
            })?;
            if let Err(existing) = index.dict.insert(term) {
                return Err(TextDecodeError::Invalid {
                    offset: text_at + at,
                    field: "term text",
                    reason: if existing.is_some() {
                        "duplicate term"
                    } else {
                        "too many terms"
                    },
                });
            }
            at = end;
        }

        // Documents: id, length, term list. Each takes at least three bytes.
        let doc_count = r.count("document count", 3, MAX_SLOTS)?;
        // Every pair takes a byte in its document and two in its posting list.
        let pair_count = r.count("pair count", 3, u32::MAX as usize)?;
        index.doc_terms.reserve_exact(pair_count);
        index.doc_id.reserve_exact(doc_count);
        index.doc_len.reserve_exact(doc_count);
        index.doc_terms_end.reserve_exact(doc_count);
        index.slot_of.reserve(doc_count);
        // By term: (documents listing it, shortest such document). Gathered here, in
        // document order, where each document's length is at hand; reading lengths by
        // slot from the posting lists instead would be a random read per posting.
        let mut df = vec![(0u32, MAX_DOC_LEN); term_count];
        let mut pairs_by_doc = 0u64;
        let mut saturated = false;
        for slot in 0..doc_count as u32 {
            let at = r.pos;
            let id = r.varint("document id")?;
            if index.slot_of.insert(id, slot).is_some() {
                return Err(TextDecodeError::Invalid {
                    offset: at,
                    field: "document id",
                    reason: "duplicate id",
                });
            }
            index.doc_id.push(id);
            let len = r.varint_u32("document length")?;
            if len > MAX_DOC_LEN {
                return Err(r.invalid(1, "document length", "too large"));
            }
            saturated |= len == MAX_DOC_LEN;
            index.doc_len.push(len);
            index.total_len += u64::from(len);
            let n = r.count("document term count", 1, term_count)?;
            let mut prev: Option<u32> = None;
            for _ in 0..n {
                let term = r.ascending("document term", prev, term_count)?;
                index.doc_terms.push(term);
                let (count, min_len) = &mut df[term as usize];
                *count += 1;
                *min_len = (*min_len).min(len);
                pairs_by_doc = pairs_by_doc.wrapping_add(pair_hash(term, slot));
                prev = Some(term);
            }
            if index.doc_terms.len() > pair_count {
                return Err(r.invalid(1, "document term count", "more pairs than announced"));
            }
            index.doc_terms_end.push(index.doc_terms.len() as u32);
        }

        if index.doc_terms.len() != pair_count {
            return Err(TextDecodeError::Invalid {
                offset: r.pos,
                field: "pair count",
                reason: "not the number of pairs in the documents",
            });
        }

        // Posting lists, each allocated at its final size and filled in slot order.
        index.terms.reserve_exact(term_count);
        let mut pairs_by_term = 0u64;
        let mut tf_total = 0u64;
        for (t, &(doc_df, min_len)) in df.iter().enumerate() {
            let at = r.pos;
            // Every posting takes at least two bytes.
            let list_len = r.count("document frequency", 2, doc_count)?;
            if list_len == 0 || list_len != doc_df as usize {
                return Err(TextDecodeError::Invalid {
                    offset: at,
                    field: "document frequency",
                    reason: "zero, or not the number of documents listing the term",
                });
            }
            let mut entry = Term {
                postings: Vec::with_capacity(list_len),
                df: doc_df,
                max_tf: 0,
                min_len,
            };
            let mut prev: Option<u32> = None;
            for _ in 0..list_len {
                let slot = r.ascending("posting slot", prev, doc_count)?;
                let tf = r.varint_u32("term frequency")?;
                if tf == 0 {
                    return Err(r.invalid(1, "term frequency", "must be at least 1"));
                }
                entry.postings.push(Posting { slot, tf });
                entry.max_tf = entry.max_tf.max(tf);
                pairs_by_term = pairs_by_term.wrapping_add(pair_hash(t as u32, slot));
                tf_total += u64::from(tf);
                prev = Some(slot);
            }
            index.terms.push(entry);
        }
        r.finish()?;
        if pairs_by_term != pairs_by_doc {
            return Err(TextDecodeError::Invalid {
                offset: lens_at,
                field: "posting lists",
                reason: "they disagree with the documents' term lists",
            });
        }
        if !saturated && tf_total != index.total_len {
            return Err(TextDecodeError::Invalid {
                offset: lens_at,
                field: "document length",
                reason: "the lengths do not add up to the term frequencies",
            });
        }
        Ok(index)
    }
}

/// A 64-bit mix of a (term, slot) pair; summed over all pairs it fingerprints the set
/// independently of order (SplitMix64's finaliser).
fn pair_hash(term: u32, slot: u32) -> u64 {
    let mut x = (u64::from(term) << 32) | u64::from(slot);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Appends `x` as unsigned LEB128.
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// A bounds-checked cursor over the encoded bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An `Invalid` error for the field that ended `back` bytes ago.
    fn invalid(&self, back: usize, field: &'static str, reason: &'static str) -> TextDecodeError {
        TextDecodeError::Invalid {
            offset: self.pos.saturating_sub(back),
            field,
            reason,
        }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TextDecodeError> {
        if n > self.remaining() {
            return Err(TextDecodeError::Truncated {
                offset: self.pos,
                field,
            });
        }
        let bytes = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TextDecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn f32(&mut self, field: &'static str) -> Result<f32, TextDecodeError> {
        let bytes = self.take(4, field)?;
        Ok(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn varint(&mut self, field: &'static str) -> Result<u64, TextDecodeError> {
        let start = self.pos;
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(TextDecodeError::Truncated {
                    offset: start,
                    field,
                });
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                return Err(TextDecodeError::Invalid {
                    offset: start,
                    field,
                    reason: "varint overflows u64",
                });
            }
            x |= bits << shift;
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    return Err(TextDecodeError::Invalid {
                        offset: start,
                        field,
                        reason: "overlong varint",
                    });
                }
                return Ok(x);
            }
        }
        Err(TextDecodeError::Invalid {
            offset: start,
            field,
            reason: "varint longer than 10 bytes",
        })
    }

    fn varint_u32(&mut self, field: &'static str) -> Result<u32, TextDecodeError> {
        let start = self.pos;
        let x = self.varint(field)?;
        u32::try_from(x).map_err(|_| TextDecodeError::Invalid {
            offset: start,
            field,
            reason: "exceeds u32",
        })
    }

    /// A count of items that each take at least `min_bytes` bytes later on, checked
    /// against the remaining bytes (so it can size an allocation) and against `max`.
    fn count(
        &mut self,
        field: &'static str,
        min_bytes: usize,
        max: usize,
    ) -> Result<usize, TextDecodeError> {
        let start = self.pos;
        let x = self.varint(field)?;
        match usize::try_from(x) {
            Ok(n) if n <= max && n.saturating_mul(min_bytes) <= self.remaining() => Ok(n),
            _ => Err(TextDecodeError::Invalid {
                offset: start,
                field,
                reason: "larger than the bytes that follow can hold",
            }),
        }
    }

    /// A strictly ascending sequence's next value, below `limit`: the first absolute
    /// (`prev` is `None`), then a gap of at least 1.
    fn ascending(
        &mut self,
        field: &'static str,
        prev: Option<u32>,
        limit: usize,
    ) -> Result<u32, TextDecodeError> {
        let at = self.pos;
        let step = self.varint_u32(field)?;
        let value = match prev {
            None => Some(step),
            Some(_) if step == 0 => None,
            Some(prev) => prev.checked_add(step),
        };
        match value {
            Some(value) if (value as usize) < limit => Ok(value),
            _ => Err(TextDecodeError::Invalid {
                offset: at,
                field,
                reason: "not ascending, or out of range",
            }),
        }
    }

    fn finish(&self) -> Result<(), TextDecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(TextDecodeError::TrailingBytes {
                offset: self.pos,
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::model::{allow, apply, ops, query};
    use crate::text::{DEFAULT_B, DEFAULT_K1};
    use proptest::prelude::*;

    fn round_trip(index: &TextIndex) -> TextIndex {
        let mut bytes = Vec::new();
        index.encode(&mut bytes);
        TextIndex::decode(&bytes).expect("decode")
    }

    #[test]
    fn encode_layout_is_stable() {
        let mut index = TextIndex::new();
        index.insert(5, "cat cat dog");
        index.insert(9, "dog");
        let mut bytes = Vec::new();
        index.encode(&mut bytes);
        let mut expected = b"MNTX\x01".to_vec();
        expected.extend_from_slice(&1.2f32.to_le_bytes());
        expected.extend_from_slice(&0.75f32.to_le_bytes());
        expected.extend_from_slice(&[2, 3, 3]); // two terms of 3 bytes
        expected.extend_from_slice(b"catdog");
        expected.extend_from_slice(&[2, 3]); // two documents, three pairs
        expected.extend_from_slice(&[5, 3, 2, 0, 1]); // id 5, length 3: cat, dog (gap 1)
        expected.extend_from_slice(&[9, 1, 1, 1]); // id 9, length 1: dog
        expected.extend_from_slice(&[1, 0, 2]); // cat: slot 0 tf 2
        expected.extend_from_slice(&[2, 0, 1, 1, 1]); // dog: slot 0 tf 1, slot 1 tf 1
        assert_eq!(bytes, expected);
        let decoded = TextIndex::decode(&bytes).expect("decode");
        assert_eq!(
            decoded.search("dog cat", 10, None),
            index.search("dog cat", 10, None)
        );
    }

    #[test]
    fn decode_rejects_bad_structure() {
        let mut index = TextIndex::new();
        index.insert(5, "cat cat dog");
        index.insert(9, "dog");
        let mut good = Vec::new();
        index.encode(&mut good);
        let patch = |at: usize, byte: u8| {
            let mut bytes = good.clone();
            bytes[at] = byte;
            TextIndex::decode(&bytes)
        };
        let invalid = |result: Result<TextIndex, TextDecodeError>| match result {
            Err(TextDecodeError::Invalid { field, reason, .. }) => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert!(matches!(
            TextIndex::decode(b"nope"),
            Err(TextDecodeError::BadMagic)
        ));
        assert!(matches!(
            patch(4, 2),
            Err(TextDecodeError::UnsupportedVersion { found: 2, .. })
        ));
        // Offsets: 13 term count, 14..16 lengths, 16..22 "catdog", 22 document count,
        // 23 pair count, 24..29 and 29..33 the documents (id, length, n, terms),
        // 33..36 cat's list (df, slot, tf), 36..41 dog's.
        let mut same_terms = good.clone();
        same_terms[19..22].copy_from_slice(b"cat");
        assert_eq!(
            invalid(TextIndex::decode(&same_terms)),
            ("term text", "duplicate term")
        );
        assert_eq!(invalid(patch(14, 0)).0, "term length");
        assert_eq!(invalid(patch(17, 0xFF)), ("term text", "not UTF-8"));
        assert_eq!(invalid(patch(12, 0x7F)).0, "b");
        assert_eq!(invalid(patch(29, 5)), ("document id", "duplicate id"));
        assert_eq!(invalid(patch(27, 2)).0, "document term");
        assert_eq!(invalid(patch(28, 0)).0, "document term");
        assert_eq!(invalid(patch(35, 0)).0, "term frequency");
        assert_eq!(invalid(patch(34, 2)).0, "posting slot");
        assert_eq!(invalid(patch(39, 0)).0, "posting slot");
        assert_eq!(invalid(patch(33, 2)).0, "document frequency");
        assert_eq!(invalid(patch(34, 1)).0, "posting lists");
        assert_eq!(invalid(patch(25, 4)).0, "document length");
        let mut unused = good[..22].to_vec();
        unused.extend_from_slice(&[1, 1, 5, 1, 1, 0, 1, 0, 1, 0]); // dog is in no document
        assert_eq!(invalid(patch(23, 2)).0, "document term count");
        assert_eq!(invalid(patch(23, 4)).0, "pair count");
        assert_eq!(invalid(TextIndex::decode(&unused)).0, "document frequency");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            TextIndex::decode(&trailing),
            Err(TextDecodeError::TrailingBytes { count: 1, .. })
        ));
        // A huge count must be refused before anything is allocated for it.
        let mut huge = good[..13].to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        assert_eq!(invalid(TextIndex::decode(&huge)).0, "term count");
        let mut overlong = good[..13].to_vec();
        overlong.extend_from_slice(&[0x82, 0x00]);
        assert_eq!(
            invalid(TextIndex::decode(&overlong)),
            ("term count", "overlong varint")
        );
        for cut in 0..good.len() {
            assert!(TextIndex::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn empty_index_round_trips() {
        let index = TextIndex::new();
        let decoded = round_trip(&index);
        assert!(decoded.is_empty());
        assert_eq!(decoded.search("x", 1, None), []);
    }

    #[test]
    fn varints_round_trip_and_refuse_bad_forms() {
        for x in [0, 1, 0x7F, 0x80, 300, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, x);
            let mut r = Reader {
                bytes: &bytes,
                pos: 0,
            };
            assert_eq!(r.varint("x"), Ok(x));
            assert_eq!(r.finish(), Ok(()));
        }
        let read = |bytes: &[u8]| {
            Reader { bytes, pos: 0 }.varint("x").map_err(|e| match e {
                TextDecodeError::Invalid { reason, .. } => reason,
                TextDecodeError::Truncated { .. } => "truncated",
                _ => "other",
            })
        };
        assert_eq!(read(&[0x80, 0x00]), Err("overlong varint"));
        assert_eq!(read(&[0x80]), Err("truncated"));
        let mut too_big = vec![0xFF; 9];
        too_big.push(0x02);
        assert_eq!(read(&too_big), Err("varint overflows u64"));
        assert_eq!(read(&[0x80; 11]), Err("varint longer than 10 bytes"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn round_trip_gives_identical_results(
            ops in ops(),
            queries in prop::collection::vec((query(), 1usize..8, allow()), 1..6),
        ) {
            let (index, _) = apply(&ops, (DEFAULT_K1, DEFAULT_B));
            let decoded = round_trip(&index);
            prop_assert_eq!(decoded.invariant_violation(), None);
            prop_assert_eq!(decoded.len(), index.len());
            for (query, k, allow) in &queries {
                prop_assert_eq!(
                    decoded.search(query, *k, allow.as_ref()),
                    index.search(query, *k, allow.as_ref())
                );
                for id in 0..24 {
                    prop_assert_eq!(
                        decoded.matched_terms(query, id),
                        index.matched_terms(query, id)
                    );
                }
            }
            // Encoding is canonical: the decoded index encodes to the same bytes.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            index.encode(&mut a);
            decoded.encode(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn decode_of_arbitrary_bytes_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let _ = TextIndex::decode(&bytes);
            let mut with_magic = b"MNTX\x01".to_vec();
            with_magic.extend_from_slice(&bytes);
            if let Ok(index) = TextIndex::decode(&with_magic) {
                let _ = index.search("memory agent", 5, None);
            }
        }

        #[test]
        fn damaged_encodings_never_panic(ops in ops()) {
            let (index, _) = apply(&ops, (DEFAULT_K1, DEFAULT_B));
            let mut good = Vec::new();
            index.encode(&mut good);
            for cut in 0..good.len() {
                prop_assert!(TextIndex::decode(&good[..cut]).is_err());
            }
            for at in 0..good.len() {
                for flip in [0x01u8, 0x80, 0xFF] {
                    let mut bad = good.clone();
                    bad[at] ^= flip;
                    if let Ok(decoded) = TextIndex::decode(&bad) {
                        // Structurally valid after all (e.g. another tf): it must work.
                        prop_assert_eq!(decoded.invariant_violation(), None);
                        let _ = decoded.search("memory rust 42", 5, None);
                        let _ = decoded.matched_terms("memory", 3);
                        let mut again = Vec::new();
                        decoded.encode(&mut again);
                        prop_assert!(TextIndex::decode(&again).is_ok());
                    }
                }
            }
        }
    }
}
