//! Bounded selection of the `k` best items of a stream.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// An id with a score, ordered best first: higher score (IEEE total
/// order), then lower id. [`TopK`] of `Scored` keeps the `k` best and
/// lists them best first, ties broken the same way every time.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    /// Higher is better.
    pub score: f32,
    /// What is scored (a memory id, a slot).
    pub id: u64,
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scored {}

/// The `k` least items (by [`Ord`]) of a stream, kept in a bounded
/// max-heap: `O(n log k)` time and `O(k)` memory instead of sorting the
/// whole stream. Callers order their items so that *better* is *less*
/// (e.g. higher score first, then lower id).
#[derive(Debug, Clone)]
pub struct TopK<T: Ord> {
    k: usize,
    heap: BinaryHeap<T>,
}

impl<T: Ord> TopK<T> {
    /// An empty selection of at most `k` items.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096)),
        }
    }

    /// The most items kept.
    pub fn k(&self) -> usize {
        self.k
    }

    /// How many items are kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// True once `k` items are kept (new items must beat the worst).
    pub fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst kept item, once the selection is full (`None` before:
    /// anything is admitted).
    pub fn threshold(&self) -> Option<&T> {
        if self.is_full() {
            self.heap.peek()
        } else {
            None
        }
    }

    /// Whether `item` would be kept if pushed now.
    pub fn admits(&self, item: &T) -> bool {
        self.k > 0 && (!self.is_full() || self.heap.peek().is_some_and(|worst| item < worst))
    }

    /// Offers one item: kept when fewer than `k` are kept or it beats the
    /// worst kept one (which it then replaces).
    pub fn push(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(item);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && item < *worst
        {
            *worst = item;
        }
        debug_assert!(self.heap.len() <= self.k, "top-k holds more than k items");
    }

    /// The kept items, best (least) first.
    pub fn into_sorted_vec(self) -> Vec<T> {
        self.heap.into_sorted_vec()
    }
}

impl<T: Ord> Extend<T> for TopK<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Selection equals sort-then-truncate on any input.
        #[test]
        fn equals_sort_then_truncate(items in proptest::collection::vec(any::<i32>(), 0..200), k in 0usize..50) {
            let mut top = TopK::new(k);
            top.extend(items.iter().copied());
            let mut sorted = items.clone();
            sorted.sort_unstable();
            sorted.truncate(k);
            prop_assert_eq!(top.into_sorted_vec(), sorted);
        }
    }

    #[test]
    fn scored_orders_best_first_then_by_id() {
        let mut v = [
            Scored { score: 0.5, id: 3 },
            Scored { score: 0.9, id: 7 },
            Scored { score: 0.5, id: 1 },
        ];
        v.sort();
        let ids: Vec<u64> = v.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![7, 1, 3]);
    }

    #[test]
    fn admits_matches_push() {
        let mut top = TopK::new(2);
        assert!(top.admits(&5));
        top.push(5);
        top.push(3);
        assert_eq!(top.threshold(), Some(&5));
        assert!(!top.admits(&7));
        assert!(top.admits(&4));
        assert!(!TopK::<i32>::new(0).admits(&1));
    }
}
