//! The encoded form of an index: versioned, checksummed, little-endian.
//!
//! # `Hnsw` (format version 1)
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `MNEMOHNS` |
//! | 2 | format version (1) |
//! | 1 | metric: 0 cosine, 1 dot, 2 l2 |
//! | 1 | quantization: 0 none, 1 SQ8, 2 SQ8-compact |
//! | 4 | dimension |
//! | 4 × 4 | m, m0, ef_construction, ef_search |
//! | 8 | seed |
//! | 8 | compact_threshold (f64) |
//! | 4 | build_threads |
//! | 4 | slots `n` |
//! | 4 | upper-level blocks `b` |
//! | 4 | entry slot (`u32::MAX`: empty graph) |
//! | 1 | entry level |
//! | 1 | SQ8 ranges present (0 or 1) |
//! | 2 | zero |
//! | 8n | external id per slot |
//! | n | level per slot |
//! | 8⌈n/64⌉ | tombstone bit set |
//! | 4n·dimension | vectors (f32; absent from an SQ8-compact index with SQ8 ranges) |
//! | 4n(m0+1) | level-0 blocks: count, then m0 slots |
//! | 4b(m+1) | upper blocks, each slot's levels 1..=L in slot order |
//! | SQ8 only | min and scale (4·dimension each), codes (n·dimension), norms (4n) |
//! | 8 | xxh3-64 of every byte before it |
//!
//! # `FlatIndex` (format version 1)
//!
//! Magic `MNEMOFLT`, version (2), metric (1), one zero byte, dimension (4),
//! count `n` (4), ids (8n), vectors (4n·dimension), xxh3-64 (8).
//!
//! Decoding checks the checksum, then every structural invariant (lengths,
//! ranges, neighbour slots and their levels, the entry point, distinct live
//! ids, finite numbers) before it builds anything, so arbitrary bytes give
//! an [`Error::Decode`], never a panic or an index that misbehaves later.

use std::collections::HashSet;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::flat::FlatIndex;
use crate::hnsw::{Hnsw, HnswParams, MAX_LEVEL, MAX_SLOTS, Quantization};
use crate::metric::Metric;
use crate::sq8::Sq8;

const HNSW_MAGIC: &[u8; 8] = b"MNEMOHNS";
const FLAT_MAGIC: &[u8; 8] = b"MNEMOFLT";
/// The current format version of both encodings.
pub const FORMAT_VERSION: u16 = 1;
const HNSW_HEADER: usize = 68;
const FLAT_HEADER: usize = 20;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32s(&mut self, v: &[f32]) {
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    fn finish(mut self) -> Vec<u8> {
        let sum = xxh3_64(&self.0);
        self.u64(sum);
        self.0
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(bad("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        Ok(self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn u64s(&mut self, n: usize) -> Result<Vec<u64>> {
        Ok(self
            .take(n * 8)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>> {
        let v: Vec<f32> = self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(bad(&format!("{what} value {i} is not finite"))),
            None => Ok(v),
        }
    }
}

fn bad(why: &str) -> Error {
    Error::Decode(why.to_owned())
}

/// Splits off and checks the trailing checksum and the magic and version.
fn open<'a>(bytes: &'a [u8], magic: &[u8; 8], header: usize) -> Result<Reader<'a>> {
    if bytes.len() < header + 8 {
        return Err(bad(&format!(
            "{} bytes is shorter than a header",
            bytes.len()
        )));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if &body[..8] != magic {
        return Err(bad("wrong magic (not an encoded index of this kind)"));
    }
    let mut sum_bytes = [0; 8];
    sum_bytes.copy_from_slice(sum);
    if xxh3_64(body) != u64::from_le_bytes(sum_bytes) {
        return Err(bad("checksum mismatch (the bytes are damaged)"));
    }
    let mut r = Reader(&body[8..]);
    let version = r.u16()?;
    if version != FORMAT_VERSION {
        return Err(bad(&format!(
            "format version {version} (this build reads version {FORMAT_VERSION})"
        )));
    }
    Ok(r)
}

/// `a · b · c` if it fits.
fn product(factors: &[usize]) -> Result<usize> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| bad("sizes overflow"))
}

impl Hnsw {
    /// The encoded index (format in the `codec` module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let n = self.slots();
        let p = &self.params;
        let blocks = self.upper.len() / (p.m + 1);
        let mut w = Writer(Vec::with_capacity(self.memory_bytes() + HNSW_HEADER + 8));
        w.0.extend_from_slice(HNSW_MAGIC);
        w.u16(FORMAT_VERSION);
        w.u8(self.metric.code());
        w.u8(match p.quantization {
            Quantization::None => 0,
            Quantization::Sq8 => 1,
            Quantization::Sq8Compact => 2,
        });
        w.u32(self.dimension as u32);
        for v in [p.m, p.m0, p.ef_construction, p.ef_search] {
            w.u32(v as u32);
        }
        w.u64(p.seed);
        w.u64(p.compact_threshold.to_bits());
        w.u32(p.build_threads.min(u32::MAX as usize) as u32);
        w.u32(n as u32);
        w.u32(blocks as u32);
        let (entry, level) = self.stored_entry().unwrap_or((u32::MAX, 0));
        w.u32(entry);
        w.u8(level);
        w.u8(u8::from(self.sq8.is_some()));
        w.u16(0);
        for &id in &self.ids {
            w.u64(id);
        }
        w.0.extend_from_slice(&self.levels);
        for &word in &self.deleted {
            w.u64(word);
        }
        w.f32s(&self.vectors);
        for word in self.links0.iter().chain(&self.upper) {
            w.u32(word.load(std::sync::atomic::Ordering::Relaxed));
        }
        if let Some(sq8) = &self.sq8 {
            w.f32s(&sq8.min);
            w.f32s(&sq8.scale);
            w.0.extend_from_slice(&sq8.codes);
            w.f32s(&sq8.norms);
        }
        w.finish()
    }

    /// Decodes an index written by [`Self::encode`], checking everything
    /// (see the `codec` module documentation).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, HNSW_MAGIC, HNSW_HEADER)?;
        let metric = Metric::from_code(r.u8()?).ok_or_else(|| bad("unknown metric"))?;
        let quantization = match r.u8()? {
            0 => Quantization::None,
            1 => Quantization::Sq8,
            2 => Quantization::Sq8Compact,
            q => return Err(bad(&format!("unknown quantization {q}"))),
        };
        let dimension = r.u32()? as usize;
        let m = r.u32()? as usize;
        let m0 = r.u32()? as usize;
        let ef_construction = r.u32()? as usize;
        let ef_search = r.u32()? as usize;
        let seed = r.u64()?;
        let compact_threshold = f64::from_bits(r.u64()?);
        let build_threads = r.u32()? as usize;
        let params = HnswParams {
            m,
            m0,
            ef_construction,
            ef_search,
            seed,
            build_threads,
            compact_threshold,
            quantization,
        };
        params
            .validate()
            .map_err(|e| bad(&format!("header: {e}")))?;
        if !(1..=crate::metric::MAX_DIMENSION).contains(&dimension) {
            return Err(bad(&format!("dimension {dimension}")));
        }
        let n = r.u32()? as usize;
        let blocks = r.u32()? as usize;
        let entry_slot = r.u32()?;
        let entry_level = r.u8()?;
        let has_sq8 = match r.u8()? {
            0 => false,
            1 if quantization != Quantization::None => true,
            _ => return Err(bad("SQ8 flag does not match the quantization")),
        };
        if r.u16()? != 0 {
            return Err(bad("reserved bytes are not zero"));
        }
        if n > MAX_SLOTS {
            return Err(bad(&format!("{n} slots")));
        }
        let words = n.div_ceil(64);
        // A compact SQ8 index drops its f32 rows once its ranges are fitted.
        let rows = if quantization == Quantization::Sq8Compact && has_sq8 {
            0
        } else {
            n
        };
        let mut expected = [
            product(&[n, 8])?,
            n,
            product(&[words, 8])?,
            product(&[rows, dimension, 4])?,
            product(&[n, m0 + 1, 4])?,
            product(&[blocks, m + 1, 4])?,
        ]
        .iter()
        .try_fold(0usize, |a, &b| a.checked_add(b))
        .ok_or_else(|| bad("sizes overflow"))?;
        if has_sq8 {
            expected = expected
                .checked_add(product(&[dimension, 8])?)
                .and_then(|e| e.checked_add(n.checked_mul(dimension)?))
                .and_then(|e| e.checked_add(n.checked_mul(4)?))
                .ok_or_else(|| bad("sizes overflow"))?;
        }
        if r.0.len() != expected {
            return Err(bad(&format!(
                "{} bytes of data where the header implies {expected}",
                r.0.len()
            )));
        }

        let ids = r.u64s(n)?;
        let levels = r.take(n)?.to_vec();
        if let Some(slot) = levels.iter().position(|&l| l > MAX_LEVEL) {
            return Err(bad(&format!("slot {slot} has level {}", levels[slot])));
        }
        if levels.iter().map(|&l| usize::from(l)).sum::<usize>() != blocks {
            return Err(bad("upper-level block count does not match the levels"));
        }
        let deleted = r.u64s(words)?;
        if !n.is_multiple_of(64) && deleted.last().is_some_and(|w| w >> (n % 64) != 0) {
            return Err(bad("tombstone bits past the last slot"));
        }
        let is_deleted = |s: usize| deleted[s / 64] & (1 << (s % 64)) != 0;
        let mut live = HashSet::with_capacity(n);
        for (slot, &id) in ids.iter().enumerate() {
            if !is_deleted(slot) && !live.insert(id) {
                return Err(bad(&format!("id {id} is live in two slots")));
            }
        }
        let vectors = r.f32s(rows * dimension, "vector")?;
        let links0 = r.u32s(n * (m0 + 1))?;
        let upper = r.u32s(blocks * (m + 1))?;
        for (slot, block) in links0.chunks_exact(m0 + 1).enumerate() {
            check_block(block, m0, 0, slot, n, &levels)?;
        }
        let mut starts = Vec::with_capacity(n);
        let mut next = 0usize;
        for &l in &levels {
            starts.push(next);
            next += usize::from(l);
        }
        check_upper(&upper, m, &levels, &starts)?;

        let entry = if n == 0 {
            if entry_slot != u32::MAX {
                return Err(bad("an empty graph with an entry point"));
            }
            None
        } else {
            let top = levels.iter().copied().max().unwrap_or(0);
            let slot = entry_slot as usize;
            if slot >= n || levels[slot] != entry_level || entry_level != top {
                return Err(bad("the entry point is not a node of the top level"));
            }
            Some((entry_slot, entry_level))
        };

        let sq8 = if has_sq8 {
            let min = r.f32s(dimension, "SQ8 minimum")?;
            let scale = r.f32s(dimension, "SQ8 scale")?;
            if scale.iter().any(|&s| s < 0.0) {
                return Err(bad("negative SQ8 scale"));
            }
            let codes = r.take(n * dimension)?.to_vec();
            let norms = r.f32s(n, "SQ8 norm")?;
            Some(Sq8 {
                min,
                scale,
                codes,
                norms,
            })
        } else {
            None
        };
        Hnsw::from_parts(
            dimension, metric, params, vectors, ids, levels, links0, upper, entry, deleted, sq8,
        )
        .map_err(|e| bad(&e.to_string()))
    }
}

/// Checks the upper-level blocks of every slot.
fn check_upper(upper: &[u32], m: usize, levels: &[u8], starts: &[usize]) -> Result<()> {
    let n = levels.len();
    for (slot, (&l, &start)) in levels.iter().zip(starts).enumerate() {
        for level in 1..=usize::from(l) {
            let at = (start + level - 1) * (m + 1);
            let block = upper
                .get(at..at + m + 1)
                .ok_or_else(|| bad("upper blocks too short"))?;
            check_block(block, m, level, slot, n, levels)?;
        }
    }
    Ok(())
}

fn check_block(
    block: &[u32],
    capacity: usize,
    level: usize,
    slot: usize,
    n: usize,
    levels: &[u8],
) -> Result<()> {
    let count = block[0] as usize;
    if count > capacity {
        return Err(bad(&format!(
            "slot {slot} has {count} neighbours on level {level} (at most {capacity})"
        )));
    }
    for &neighbour in &block[1..1 + count] {
        let nb = neighbour as usize;
        if nb >= n || nb == slot || usize::from(levels[nb]) < level {
            return Err(bad(&format!(
                "slot {slot} links to {neighbour} on level {level}, which is not a node there"
            )));
        }
    }
    Ok(())
}

impl FlatIndex {
    /// The encoded index (format in the `codec` module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(FLAT_HEADER + self.memory_bytes() + 8));
        w.0.extend_from_slice(FLAT_MAGIC);
        w.u16(FORMAT_VERSION);
        w.u8(self.metric().code());
        w.u8(0);
        w.u32(self.dimension() as u32);
        w.u32(self.len() as u32);
        for &id in self.ids() {
            w.u64(id);
        }
        for &id in self.ids() {
            if let Some(v) = self.get(id) {
                w.f32s(v);
            }
        }
        w.finish()
    }

    /// Decodes an index written by [`Self::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (metric, dimension, ids, mut r) = flat_head(bytes)?;
        let vectors = r.f32s(ids.len() * dimension, "vector")?;
        FlatIndex::from_parts(dimension, metric, ids, vectors).map_err(|e| bad(&e.to_string()))
    }

    /// [`Self::decode`] of the first `len` bytes of `words` (in memory
    /// order), keeping the rows in `words` (moved to its front) instead of
    /// copying them: a caller that decrypts or reads an encoding straight
    /// into such a buffer saves a second buffer the size of the vectors.
    /// Same checks and errors as [`Self::decode`].
    pub fn decode_words(mut words: Vec<f32>, len: usize) -> Result<Self> {
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        let Some(bytes) = bytes.get(..len) else {
            return Err(bad(&format!(
                "{len} bytes wanted of a {}-byte buffer",
                bytes.len()
            )));
        };
        if cfg!(target_endian = "big") {
            return Self::decode(bytes);
        }
        let (metric, dimension, ids, _) = flat_head(bytes)?;
        // The rows follow the header and the ids: a whole number of f32s
        // from the start (FLAT_HEADER and 8 bytes an id are multiples of 4).
        let start = (FLAT_HEADER + 8 * ids.len()) / 4;
        let count = ids.len() * dimension;
        words.drain(..start);
        words.truncate(count);
        if let Some(i) = words.iter().position(|x| !x.is_finite()) {
            return Err(bad(&format!("vector value {i} is not finite")));
        }
        FlatIndex::from_parts(dimension, metric, ids, words).map_err(|e| bad(&e.to_string()))
    }
}

/// A flat index's checked header and ids, and the reader at its rows.
fn flat_head(bytes: &[u8]) -> Result<(Metric, usize, Vec<u64>, Reader<'_>)> {
    let mut r = open(bytes, FLAT_MAGIC, FLAT_HEADER)?;
    let metric = Metric::from_code(r.u8()?).ok_or_else(|| bad("unknown metric"))?;
    if r.u8()? != 0 {
        return Err(bad("reserved byte is not zero"));
    }
    let dimension = r.u32()? as usize;
    let n = r.u32()? as usize;
    FlatIndex::new(dimension, metric).map_err(|e| bad(&e.to_string()))?;
    if n > MAX_SLOTS || r.0.len() != product(&[n, 8 + 4 * dimension])? {
        return Err(bad("the length does not match the header"));
    }
    let ids = r.u64s(n)?;
    Ok((metric, dimension, ids, r))
}
