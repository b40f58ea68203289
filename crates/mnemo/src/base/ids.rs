//! Ids assigned by a namespace, the log's sequence number, and hash maps
//! keyed by them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

/// Declares an id newtype over `u64` with `Display` as the bare number.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
        )]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// The id of a memory, assigned by its namespace (from 1, increasing,
    /// never reused).
    MemoryId
);
id_type!(
    /// The id of a fact, assigned by its namespace (from 1, never reused).
    FactId
);
id_type!(
    /// The id of a conflict, assigned by its namespace (from 1, never reused).
    ConflictId
);
id_type!(
    /// The id of a recorded trajectory (assigned by the writer, from 1 up).
    TrajectoryId
);
id_type!(
    /// The id of a pattern (assigned from 1 up, never reused).
    PatternId
);
id_type!(
    /// A position in a namespace's event log: the seq of the event that
    /// made a change (from 1; `Seq(0)` is "before the first event").
    Seq
);

impl From<Seq> for u64 {
    fn from(seq: Seq) -> u64 {
        seq.0
    }
}

/// A hasher for integer keys: one multiply, no SipHash rounds (keys are
/// ids and content hashes chosen by us, not by an attacker).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

/// A hash map keyed by integers (ids, slots, content hashes).
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A hash set of integers.
pub type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_as_numbers() {
        assert_eq!(MemoryId(7).to_string(), "7");
        assert_eq!(Seq(12).to_string(), "12");
        assert_eq!(u64::from(Seq(3)), 3);
    }

    #[test]
    fn id_map_spreads_sequential_keys() {
        let mut map = IdMap::default();
        for k in 0..10_000u64 {
            map.insert(k, k * 2);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&4_321), Some(&8_642));
    }
}
