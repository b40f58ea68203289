//! RFC 9162 (Certificate Transparency 2.0) Merkle tree over the log's records.
//!
//! Leaf `i` is record seq `i`: `leaf = SHA-256(0x00 ‖ frame)`, where `frame`
//! is the record's full encoded bytes (header and payload, exactly as stored);
//! interior nodes are `SHA-256(0x01 ‖ left ‖ right)`; the root of an empty
//! tree is `SHA-256("")`. Roots and proofs follow RFC 9162 §2.1 exactly, so
//! any implementation of the RFC can check them.
//!
//! ## What is stored
//!
//! The tree keeps the hashes of every complete, aligned subtree of
//! 2^[`STORED_HEIGHT`] = 16 leaves or more (about 4 bytes per record). Lower
//! nodes are recomputed from the records when a proof needs them (at most
//! 15 leaves per proof). Hashing is lazy: nothing is hashed on `append`; the
//! tree catches up, in whole 16-leaf blocks, when a root or proof is asked for
//! and before retention removes a segment. History is never rehashed, so the
//! cost is amortised O(1) hashes per record plus O(log n) per request.
//!
//! ## Retention
//!
//! When segments leave the head of the log, the tree first records the
//! *compact range* of the removed prefix `[0, f)`: the at most 64 roots of the
//! aligned subtrees that tile it. Every root of size ≥ `f` and every
//! inclusion proof of a retained record can still be computed from those and
//! the retained records, so retention never changes a root or invalidates a
//! proof. Requests that need individual removed records fail with
//! [`ProofError::Pruned`].

use std::collections::VecDeque;

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::xxh3_64;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Height of the lowest stored level: subtrees of 16 leaves.
pub const STORED_HEIGHT: u32 = 4;

/// The leaf hash of a record frame: `SHA-256(0x00 ‖ frame)`.
pub fn leaf_hash(frame: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(frame);
    h.finalize().into()
}

/// An interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a root or proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The requested tree is larger than the log.
    #[error("tree size {size} exceeds the {available} records in the log")]
    TreeTooLarge {
        /// Requested tree size.
        size: u64,
        /// Records in the log.
        available: u64,
    },
    /// The leaf is not inside the requested tree.
    #[error("seq {seq} is not in a tree of size {size}")]
    LeafOutOfRange {
        /// Requested leaf.
        seq: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof needs `0 < old_size <= new_size`.
    #[error("invalid consistency proof sizes: old {old}, new {new} (need 0 < old <= new)")]
    BadSizes {
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// The answer needs records that retention already removed.
    #[error("the proof needs record {0}, which retention removed")]
    Pruned(u64),
}

/// Why a proof failed to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Leaf index in the proof.
        index: u64,
        /// Tree size in the proof.
        size: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("proof has the wrong length for its tree sizes")]
    WrongLength,
    /// The sizes are not `0 < old <= new`.
    #[error("invalid sizes: old {old}, new {new}")]
    BadSizes {
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// The recomputed root differs from the expected root.
    #[error("root mismatch")]
    RootMismatch,
}

/// Proof that a record is leaf `leaf_index` of the tree of size `tree_size`
/// (RFC 9162 §2.1.3 audit path, deepest sibling first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index (the record's seq).
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

/// Proof that the tree of size `old_size` is a prefix of the tree of size
/// `new_size` (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Older tree size.
    pub old_size: u64,
    /// Newer tree size.
    pub new_size: u64,
    /// Proof hashes.
    pub path: Vec<Hash>,
}

/// Checks that `frame` (a record's encoded bytes) is leaf `proof.leaf_index`
/// of the tree with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    frame: &[u8],
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), VerifyError> {
    verify_inclusion_hash(&leaf_hash(frame), proof, root)
}

/// Like [`verify_inclusion`], given the leaf hash instead of the frame.
pub fn verify_inclusion_hash(
    leaf: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), VerifyError> {
    if proof.leaf_index >= proof.tree_size {
        return Err(VerifyError::IndexOutOfRange {
            index: proof.leaf_index,
            size: proof.tree_size,
        });
    }
    let mut fnode = proof.leaf_index;
    let mut snode = proof.tree_size - 1;
    let mut r = *leaf;
    for p in &proof.path {
        if snode == 0 {
            return Err(VerifyError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::WrongLength);
    }
    if &r != root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree with root `old_root` (size `proof.old_size`) is a
/// prefix of the tree with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    proof: &ConsistencyProof,
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    let (first, second) = (proof.old_size, proof.new_size);
    if first == 0 || first > second {
        return Err(VerifyError::BadSizes {
            old: first,
            new: second,
        });
    }
    if first == second {
        if !proof.path.is_empty() {
            return Err(VerifyError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    if proof.path.is_empty() {
        return Err(VerifyError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.path.len() + 1);
    if first.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(&proof.path);
    let mut fnode = first - 1;
    let mut snode = second - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(VerifyError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Supplies leaf hashes of retained records to the tree.
pub(crate) trait LeafSource {
    /// The leaf hash of record `index`, or `None` if it is not available.
    fn leaf(&self, index: u64) -> Option<Hash>;
}

/// The compact range of a removed prefix `[0, size)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrunedPrefix {
    /// Number of removed leaves.
    pub size: u64,
    /// One hash per set bit of `size`, highest subtree first.
    pub nodes: Vec<Hash>,
}

const PREFIX_MAGIC: [u8; 8] = *b"MNEMOMKP";
const PREFIX_VERSION: u16 = 1;

impl PrunedPrefix {
    fn lookup(&self, height: u32, index: u64) -> Option<Hash> {
        let mut start = 0u64;
        let mut slot = 0usize;
        for bit in (0..64u32).rev() {
            if self.size & (1u64 << bit) == 0 {
                continue;
            }
            if bit == height && start >> bit == index {
                return self.nodes.get(slot).copied();
            }
            start += 1u64 << bit;
            slot += 1;
        }
        None
    }

    /// Encodes the prefix for the `MERKLE-PREFIX` file.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.nodes.len() * 32);
        out.extend_from_slice(&PREFIX_MAGIC);
        out.extend_from_slice(&PREFIX_VERSION.to_le_bytes());
        out.extend_from_slice(&[0u8; 6]);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.nodes.len() as u32).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        for node in &self.nodes {
            out.extend_from_slice(node);
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Decodes a `MERKLE-PREFIX` file; `None` if it is damaged.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 40 || bytes[0..8] != PREFIX_MAGIC {
            return None;
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().ok()?);
        if xxh3_64(body) != stored {
            return None;
        }
        if u16::from_le_bytes([body[8], body[9]]) != PREFIX_VERSION {
            return None;
        }
        let size = u64::from_le_bytes(body[16..24].try_into().ok()?);
        let count = u32::from_le_bytes(body[24..28].try_into().ok()?) as usize;
        if count != size.count_ones() as usize || body.len() != 32 + count * 32 {
            return None;
        }
        let nodes = body[32..]
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Some(Self { size, nodes })
    }
}

/// The lazily maintained tree.
#[derive(Debug, Default)]
pub(crate) struct MerkleTree {
    /// Complete 16-leaf blocks incorporated into `levels` (global count).
    hashed_blocks: u64,
    /// `levels[j]` holds subtree roots of height `STORED_HEIGHT + j`.
    levels: Vec<VecDeque<Hash>>,
    /// Index of the first entry of each level.
    level_base: Vec<u64>,
    prefix: PrunedPrefix,
}

fn largest_pow2_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

impl MerkleTree {
    /// A tree whose leaves `[0, prefix.size)` were removed.
    pub(crate) fn with_prefix(prefix: PrunedPrefix) -> Self {
        Self {
            hashed_blocks: prefix.size >> STORED_HEIGHT,
            levels: Vec::new(),
            level_base: Vec::new(),
            prefix,
        }
    }

    /// Number of leaves covered by stored blocks.
    pub(crate) fn hashed_leaves(&self) -> u64 {
        self.hashed_blocks << STORED_HEIGHT
    }

    fn stored(&self, height: u32, index: u64) -> Option<Hash> {
        let j = height.checked_sub(STORED_HEIGHT)? as usize;
        let base = *self.level_base.get(j)?;
        let offset = usize::try_from(index.checked_sub(base)?).ok()?;
        self.levels.get(j)?.get(offset).copied()
    }

    /// Hash of the complete aligned subtree at `height`, `index`.
    fn node(&self, height: u32, index: u64, src: &dyn LeafSource) -> Result<Hash, ProofError> {
        let start = index << height;
        let end = start + (1u64 << height);
        if end <= self.prefix.size {
            return self
                .prefix
                .lookup(height, index)
                .ok_or(ProofError::Pruned(start));
        }
        if let Some(h) = self.stored(height, index) {
            return Ok(h);
        }
        if height == 0 {
            return src.leaf(index).ok_or(ProofError::Pruned(index));
        }
        let left = self.node(height - 1, index * 2, src)?;
        let right = self.node(height - 1, index * 2 + 1, src)?;
        Ok(node_hash(&left, &right))
    }

    fn push_stored(&mut self, j: usize, index: u64, hash: Hash) {
        while self.levels.len() <= j {
            let height = STORED_HEIGHT + self.levels.len() as u32;
            self.levels.push(VecDeque::new());
            self.level_base.push(self.prefix.size >> height);
        }
        debug_assert_eq!(self.level_base[j] + self.levels[j].len() as u64, index);
        self.levels[j].push_back(hash);
    }

    /// Incorporates every complete 16-leaf block below `size`.
    pub(crate) fn catch_up(&mut self, size: u64, src: &dyn LeafSource) -> Result<(), ProofError> {
        let target = size >> STORED_HEIGHT;
        while self.hashed_blocks < target {
            let block = self.hashed_blocks;
            let hash = self.node(STORED_HEIGHT, block, src)?;
            self.push_stored(0, block, hash);
            let mut index = block;
            let mut j = 0usize;
            let mut right = hash;
            while index & 1 == 1 {
                let height = STORED_HEIGHT + j as u32;
                let left = self.node(height, index - 1, src)?;
                right = node_hash(&left, &right);
                index >>= 1;
                j += 1;
                self.push_stored(j, index, right);
            }
            self.hashed_blocks += 1;
        }
        Ok(())
    }

    /// MTH of leaves `[start, start + len)`, `len >= 1`.
    fn subtree(&self, start: u64, len: u64, src: &dyn LeafSource) -> Result<Hash, ProofError> {
        if len.is_power_of_two() && start.is_multiple_of(len) {
            let height = len.trailing_zeros();
            return self.node(height, start >> height, src);
        }
        let k = largest_pow2_below(len);
        let left = self.subtree(start, k, src)?;
        let right = self.subtree(start + k, len - k, src)?;
        Ok(node_hash(&left, &right))
    }

    /// Root of the tree of the first `size` leaves.
    pub(crate) fn root(&self, size: u64, src: &dyn LeafSource) -> Result<Hash, ProofError> {
        if size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, size, src)
    }

    /// Audit path for leaf `index` in the tree of size `size`.
    pub(crate) fn inclusion_path(
        &self,
        index: u64,
        size: u64,
        src: &dyn LeafSource,
    ) -> Result<Vec<Hash>, ProofError> {
        if index >= size {
            return Err(ProofError::LeafOutOfRange { seq: index, size });
        }
        let mut out = Vec::with_capacity(64);
        self.path(index, 0, size, src, &mut out)?;
        Ok(out)
    }

    fn path(
        &self,
        m: u64,
        start: u64,
        n: u64,
        src: &dyn LeafSource,
        out: &mut Vec<Hash>,
    ) -> Result<(), ProofError> {
        if n == 1 {
            return Ok(());
        }
        let k = largest_pow2_below(n);
        if m < k {
            self.path(m, start, k, src, out)?;
            out.push(self.subtree(start + k, n - k, src)?);
        } else {
            self.path(m - k, start + k, n - k, src, out)?;
            out.push(self.subtree(start, k, src)?);
        }
        Ok(())
    }

    /// Consistency proof between sizes `old` and `new`.
    pub(crate) fn consistency_path(
        &self,
        old: u64,
        new: u64,
        src: &dyn LeafSource,
    ) -> Result<Vec<Hash>, ProofError> {
        if old == 0 || old > new {
            return Err(ProofError::BadSizes { old, new });
        }
        let mut out = Vec::with_capacity(64);
        self.subproof(old, 0, new, true, src, &mut out)?;
        Ok(out)
    }

    fn subproof(
        &self,
        m: u64,
        start: u64,
        n: u64,
        complete: bool,
        src: &dyn LeafSource,
        out: &mut Vec<Hash>,
    ) -> Result<(), ProofError> {
        if m == n {
            if !complete {
                out.push(self.subtree(start, m, src)?);
            }
            return Ok(());
        }
        let k = largest_pow2_below(n);
        if m <= k {
            self.subproof(m, start, k, complete, src, out)?;
            out.push(self.subtree(start + k, n - k, src)?);
        } else {
            self.subproof(m - k, start + k, n - k, false, src, out)?;
            out.push(self.subtree(start, k, src)?);
        }
        Ok(())
    }

    /// The compact range of `[0, size)` computed from this tree.
    pub(crate) fn compact_range(
        &self,
        size: u64,
        src: &dyn LeafSource,
    ) -> Result<PrunedPrefix, ProofError> {
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for bit in (0..64u32).rev() {
            if size & (1u64 << bit) == 0 {
                continue;
            }
            nodes.push(self.node(bit, start >> bit, src)?);
            start += 1u64 << bit;
        }
        Ok(PrunedPrefix { size, nodes })
    }

    /// Forgets leaves below `prefix.size`, keeping their compact range.
    pub(crate) fn prune(&mut self, prefix: PrunedPrefix) {
        let size = prefix.size;
        if size <= self.prefix.size {
            return;
        }
        self.prefix = prefix;
        self.hashed_blocks = self.hashed_blocks.max(size >> STORED_HEIGHT);
        for (j, level) in self.levels.iter_mut().enumerate() {
            let new_base = size >> (STORED_HEIGHT + j as u32);
            let base = &mut self.level_base[j];
            let drop = new_base.saturating_sub(*base);
            if drop >= level.len() as u64 {
                level.clear();
            } else {
                level.drain(..drop as usize);
            }
            *base = new_base;
        }
    }

    /// Bytes of hashes held in memory.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.len() * 32).sum::<usize>() + self.prefix.nodes.len() * 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Leaves(Vec<Vec<u8>>);
    impl LeafSource for Leaves {
        fn leaf(&self, index: u64) -> Option<Hash> {
            self.0.get(index as usize).map(|d| leaf_hash(d))
        }
    }

    /// Straight recursive MTH from the RFC, for cross-checking.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = largest_pow2_below(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Leaves {
        Leaves((0..n).map(|i| format!("leaf {i}").into_bytes()).collect())
    }

    #[test]
    fn roots_match_the_rfc_definition_for_every_size() {
        let src = leaves(300);
        let mut tree = MerkleTree::default();
        for n in 0..=300u64 {
            tree.catch_up(n, &src).expect("catch up");
            assert_eq!(
                tree.root(n, &src).expect("root"),
                mth(&src.0[..n as usize]),
                "size {n}"
            );
        }
    }

    #[test]
    fn proofs_verify_and_reject_tampering() {
        let src = leaves(100);
        let mut tree = MerkleTree::default();
        tree.catch_up(100, &src).expect("catch up");
        for size in 1..=100u64 {
            let root = tree.root(size, &src).expect("root");
            for index in 0..size {
                let path = tree.inclusion_path(index, size, &src).expect("path");
                let proof = InclusionProof {
                    leaf_index: index,
                    tree_size: size,
                    path,
                };
                verify_inclusion(&src.0[index as usize], &proof, &root).expect("verifies");
                assert!(verify_inclusion(b"other", &proof, &root).is_err());
            }
            for old in 1..=size {
                let path = tree.consistency_path(old, size, &src).expect("path");
                let proof = ConsistencyProof {
                    old_size: old,
                    new_size: size,
                    path,
                };
                let old_root = tree.root(old, &src).expect("root");
                verify_consistency(&proof, &old_root, &root).expect("consistent");
                if old < size {
                    let mut bad = proof.clone();
                    bad.path[0][0] ^= 1;
                    assert!(verify_consistency(&bad, &old_root, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn pruning_keeps_roots_and_proofs_of_retained_leaves() {
        let src = leaves(200);
        let mut full = MerkleTree::default();
        full.catch_up(200, &src).expect("catch up");
        for cut in [1u64, 15, 16, 17, 63, 100, 128, 199] {
            let mut tree = MerkleTree::default();
            tree.catch_up(cut, &src).expect("catch up");
            let prefix = tree.compact_range(cut, &src).expect("compact");
            tree.prune(prefix.clone());
            let decoded = PrunedPrefix::decode(&prefix.encode()).expect("decodes");
            assert_eq!(decoded, prefix);
            // Retained leaves only from now on.
            let retained = Leaves(
                src.0
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        if (i as u64) < cut {
                            Vec::new()
                        } else {
                            d.clone()
                        }
                    })
                    .collect(),
            );
            struct Only<'a>(&'a Leaves, u64);
            impl LeafSource for Only<'_> {
                fn leaf(&self, index: u64) -> Option<Hash> {
                    if index < self.1 {
                        None
                    } else {
                        self.0.leaf(index)
                    }
                }
            }
            let only = Only(&retained, cut);
            let mut reopened = MerkleTree::with_prefix(decoded);
            reopened.catch_up(200, &only).expect("catch up after prune");
            for size in cut.max(1)..=200 {
                assert_eq!(
                    reopened.root(size, &only).expect("root"),
                    full.root(size, &src).expect("root")
                );
            }
            for index in cut..200 {
                assert_eq!(
                    reopened.inclusion_path(index, 200, &only).expect("path"),
                    full.inclusion_path(index, 200, &src).expect("path")
                );
            }
        }
    }

    #[test]
    fn damaged_prefix_files_are_rejected() {
        let prefix = PrunedPrefix {
            size: 5,
            nodes: vec![[1u8; 32], [2u8; 32]],
        };
        let bytes = prefix.encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(PrunedPrefix::decode(&bad).is_none());
        }
        assert!(PrunedPrefix::decode(&bytes[..bytes.len() - 1]).is_none());
    }
}
