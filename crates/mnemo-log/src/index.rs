//! The dense offset index: one 8-byte location per retained record, so a
//! read is one array lookup.
//!
//! Locations are kept in one flat `Vec<u64>` with a moving head instead of a
//! ring buffer: a lookup is `entries[head + i]` with no wrap-around branch,
//! which matters for random reads, where a branch that depends on a cache
//! miss stalls the next lookups behind it. Retention advances the head; the
//! evicted prefix is physically dropped once it is at least half the vector,
//! so eviction is amortised O(1) per record and memory stays within twice
//! the retained entries.

/// Bits of a location that hold the byte offset inside a segment.
pub(crate) const OFFSET_BITS: u32 = 40;
/// Mask of the offset bits of a location.
pub(crate) const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
/// Segment ordinals are kept modulo 2^24 in a location.
pub(crate) const ORDINAL_MASK: u32 = (1 << 24) - 1;

/// Packs a segment ordinal and a byte offset into one location.
#[inline]
pub(crate) fn location(ordinal: u32, offset: usize) -> u64 {
    (u64::from(ordinal & ORDINAL_MASK) << OFFSET_BITS) | offset as u64
}

/// The segment ordinal (mod 2^24) of a location.
#[inline]
pub(crate) fn ordinal_of(loc: u64) -> u32 {
    (loc >> OFFSET_BITS) as u32
}

/// The byte offset inside its segment of a location.
#[inline]
pub(crate) fn offset_of(loc: u64) -> usize {
    (loc & OFFSET_MASK) as usize
}

/// Locations of the retained records, oldest first.
#[derive(Debug, Default)]
pub(crate) struct OffsetIndex {
    entries: Vec<u64>,
    /// Entries before this position belong to evicted records.
    head: usize,
}

/// Below this many evicted entries the prefix is never compacted (not worth
/// a move).
const COMPACT_MIN: usize = 4096;

impl OffsetIndex {
    /// An empty index with room for `capacity` entries.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            head: 0,
        }
    }

    /// The location of the `i`-th retained record.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<u64> {
        self.entries.get(self.head.checked_add(i)?).copied()
    }

    /// Appends a location.
    #[inline]
    pub(crate) fn push(&mut self, loc: u64) {
        self.entries.push(loc);
    }

    /// The retained entries `from..to` (positions relative to the head).
    #[inline]
    pub(crate) fn retained(&self, from: usize, to: usize) -> Option<&[u64]> {
        let start = self.head.checked_add(from)?;
        let end = self.head.checked_add(to)?;
        self.entries.get(start..end)
    }

    /// Makes room for `additional` more entries.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Evicts the oldest `count` entries.
    pub(crate) fn evict_front(&mut self, count: usize) {
        self.head = (self.head + count).min(self.entries.len());
        if self.head >= COMPACT_MIN && self.head * 2 >= self.entries.len() {
            self.entries.drain(..self.head);
            self.head = 0;
        }
    }

    /// Bytes of memory held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_keeps_positions_relative_to_the_head() {
        let mut index = OffsetIndex::with_capacity(4);
        for loc in 0..10_000u64 {
            index.push(loc);
        }
        index.evict_front(3);
        assert_eq!(index.get(0), Some(3));
        assert_eq!(index.get(9_996), Some(9_999));
        assert_eq!(index.get(9_997), None);
        index.evict_front(6_000);
        assert_eq!(index.get(0), Some(6_003));
        assert_eq!(index.get(3_996), Some(9_999));
        assert_eq!(index.get(3_997), None);
        index.push(10_000);
        assert_eq!(index.get(3_997), Some(10_000));
        index.evict_front(5_000);
        assert_eq!(index.get(0), None);
        assert!(index.memory_bytes() >= 8);
    }

    #[test]
    fn locations_round_trip() {
        let loc = location(0x00ab_cdef, 0x12_3456_789a);
        assert_eq!(ordinal_of(loc), 0x00ab_cdef);
        assert_eq!(offset_of(loc), 0x12_3456_789a);
    }
}
