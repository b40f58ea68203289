//! The pieces a BM25 query is scored with: the per-query length normalisation, one
//! term's contribution, a cursor over a term's posting list (with galloping skips for
//! MaxScore's probes), the allow-list filter of a walk, and reading hits out of the
//! bounded top-k selection (a [`TopK`] of [`Scored`]: higher score first, then smaller
//! id).
//!
//! The walk that puts them together ([`TextIndex::search`](super::TextIndex::search))
//! lives with the index.

use roaring::RoaringTreemap;

use super::bm25::{Posting, TextHit};
use crate::base::{Scored, TopK};

/// MaxScore's term bounds are raised by this factor, so f32 rounding of a real score
/// above its computed bound can never prune a document that belongs in the top k.
pub(super) const BOUND_SLACK: f32 = 1.0 + 1e-4;

/// BM25's length normalisation, `k1 · (1 − b + b · len / avglen)`, precomputed per query.
#[derive(Debug, Clone, Copy)]
pub(super) struct Norm {
    k1b1: f32,
    kb: f32,
}

impl Norm {
    /// The normalisation for parameters `k1` and `b` over documents of mean length
    /// `avg_len` (computed in f64, stored in f32 so every query rounds alike).
    pub(super) fn new(k1: f64, b: f64, avg_len: f64) -> Self {
        Self {
            k1b1: (k1 * (1.0 - b)) as f32,
            kb: (k1 * b / avg_len) as f32,
        }
    }

    /// The normalisation of a document of `len` tokens.
    pub(super) fn of(self, len: u32) -> f32 {
        self.k1b1 + self.kb * len as f32
    }
}

/// One term's share of a score; `weight` is `idf · (k1 + 1)`.
pub(super) fn contribution(weight: f32, tf: u32, norm: f32) -> f32 {
    let tf = tf as f32;
    weight * tf / (tf + norm)
}

/// A term's `idf · (k1 + 1)` (Lucene's idf, positive even for a term in every
/// document) among `n` documents of which `df` hold it.
pub(super) fn term_weight(n: f64, df: u32, k1: f64) -> f32 {
    let df = f64::from(df);
    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
    (idf * (k1 + 1.0)) as f32
}

/// Which documents a walk may return.
pub(super) enum Allow<'a> {
    /// Every document.
    All,
    /// A bit per slot.
    Slots(&'a [u64]),
    /// Documents whose id the set holds.
    Ids(&'a RoaringTreemap),
}

impl Allow<'_> {
    /// The cheap part of [`allows`](Self::allows): false only if `slot` is surely
    /// excluded.
    pub(super) fn allows_slot(&self, slot: u32) -> bool {
        match self {
            Allow::Slots(bits) => bit_is_set(bits, slot),
            Allow::All | Allow::Ids(_) => true,
        }
    }

    /// Whether the document in `slot`, with memory id `id`, may be returned.
    pub(super) fn allows(&self, slot: u32, id: u64) -> bool {
        match self {
            Allow::All => true,
            Allow::Slots(bits) => bit_is_set(bits, slot),
            Allow::Ids(ids) => ids.contains(id),
        }
    }
}

/// Sets `slot`'s bit in a bitmap of slots (one bit a slot, low bit first); a slot
/// beyond the bitmap is ignored.
pub(super) fn set_bit(bits: &mut [u64], slot: u32) {
    if let Some(word) = bits.get_mut(slot as usize / 64) {
        *word |= 1 << (slot % 64);
    }
}

/// Whether `slot`'s bit is set (false beyond the bitmap).
fn bit_is_set(bits: &[u64], slot: u32) -> bool {
    bits.get(slot as usize / 64)
        .is_some_and(|word| word & (1 << (slot % 64)) != 0)
}

/// A query term's walk over its posting list.
pub(super) struct Cursor<'a> {
    /// The term's postings, sorted by slot.
    pub(super) list: &'a [Posting],
    /// The next posting to look at.
    pub(super) pos: usize,
    /// The term's `idf · (k1 + 1)`.
    pub(super) weight: f32,
    /// The most this term can add to a score (with [`BOUND_SLACK`]).
    pub(super) bound: f32,
}

/// The first index at or after `from` whose slot is at least `slot`: exponential then
/// binary search, so skipping far costs O(log distance). `list` must be sorted by
/// slot.
pub(super) fn gallop(list: &[Posting], from: usize, slot: u32) -> usize {
    let mut lo = from;
    let mut hi = from;
    let mut step = 1;
    loop {
        match list.get(hi) {
            None => {
                hi = list.len();
                break;
            }
            Some(p) if p.slot >= slot => break,
            Some(_) => {
                lo = hi + 1;
                hi += step;
                step *= 2;
            }
        }
    }
    match list.get(lo..hi) {
        Some(window) => lo + window.partition_point(|p| p.slot < slot),
        None => hi,
    }
}

/// The score a hit must beat to enter `top`: the worst kept one's once `top` is full,
/// −∞ before.
pub(super) fn kth_score(top: &TopK<Scored>) -> f32 {
    top.threshold()
        .map_or(f32::NEG_INFINITY, |worst| worst.score)
}

/// The kept hits, best first.
pub(super) fn into_hits(top: TopK<Scored>) -> Vec<TextHit> {
    top.into_sorted_vec()
        .into_iter()
        .map(|r| TextHit {
            id: r.id,
            score: r.score,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn postings(slots: &[u32]) -> Vec<Posting> {
        slots.iter().map(|&slot| Posting { slot, tf: 1 }).collect()
    }

    #[test]
    fn better_hits_are_less_and_ties_go_to_the_smaller_id() {
        let hit = |score, id| Scored { score, id };
        assert!(hit(2.0, 9) < hit(1.0, 1));
        assert!(hit(1.0, 1) < hit(1.0, 2));
        assert_eq!(hit(1.0, 3), hit(1.0, 3));
        let mut top = TopK::new(3);
        assert_eq!(kth_score(&top), f32::NEG_INFINITY);
        for (score, id) in [(1.0, 5), (3.0, 7), (1.0, 2), (2.0, 9), (1.0, 1)] {
            top.push(hit(score, id));
        }
        assert_eq!(kth_score(&top), 1.0);
        assert!(top.admits(&hit(1.0, 0)) && !top.admits(&hit(1.0, 3)));
        let ids: Vec<u64> = into_hits(top).iter().map(|h| h.id).collect();
        assert_eq!(ids, [7, 9, 1]);
    }

    #[test]
    fn allow_filters_by_slot_or_id() {
        let mut bits = vec![0u64; 2];
        set_bit(&mut bits, 3);
        set_bit(&mut bits, 64);
        set_bit(&mut bits, 500); // beyond the bitmap: ignored
        let slots = Allow::Slots(&bits);
        assert!(slots.allows_slot(3) && slots.allows(64, 0));
        assert!(!slots.allows_slot(4) && !slots.allows(500, 0));
        let ids: RoaringTreemap = [10u64].into_iter().collect();
        let by_id = Allow::Ids(&ids);
        assert!(by_id.allows_slot(0), "an id filter cannot decide by slot");
        assert!(by_id.allows(0, 10) && !by_id.allows(0, 11));
        assert!(Allow::All.allows(7, 7));
    }

    #[test]
    fn norm_and_weight_follow_the_formula() {
        let norm = Norm::new(1.2, 0.75, 10.0);
        assert!((norm.of(10) - 1.2).abs() < 1e-6, "an average document: k1");
        assert!((norm.of(0) - 0.3).abs() < 1e-6, "an empty one: k1 (1 - b)");
        let weight = term_weight(100.0, 1, 1.2);
        let idf = (1.0f64 + 99.5 / 1.5).ln();
        assert!((f64::from(weight) - idf * 2.2).abs() < 1e-5);
        assert!(term_weight(100.0, 100, 1.2) > 0.0, "idf stays positive");
        assert!((contribution(weight, 1, 1.2) - weight / 2.2).abs() < 1e-5);
    }

    proptest! {
        /// Galloping finds what a linear scan finds.
        #[test]
        fn gallop_equals_linear_scan(
            mut slots in prop::collection::vec(0u32..1000, 0..200),
            from in 0usize..220,
            target in 0u32..1100,
        ) {
            slots.sort_unstable();
            slots.dedup();
            let list = postings(&slots);
            let from = from.min(list.len());
            let expected = from + list[from..].iter().take_while(|p| p.slot < target).count();
            prop_assert_eq!(gallop(&list, from, target), expected);
        }
    }
}
