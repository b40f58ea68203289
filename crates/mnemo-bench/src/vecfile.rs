//! The vector file format of the benchmark datasets (`*.vec`).
//!
//! All integers and floats are little-endian:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 8 | magic `MNEMOVEC` |
//! | 8 | 4 | format version, `1` (u32) |
//! | 12 | 4 | dimension `d` (u32) |
//! | 16 | 8 | row count `n` (u64) |
//! | 24 | 4·d·n | the rows, `n` × `d` f32, row-major |
//!
//! The file is exactly `24 + 4·d·n` bytes; anything else is corrupt. Row `i`
//! belongs to line `i` of the text file beside it.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

/// The first eight bytes of every vector file.
pub const MAGIC: &[u8; 8] = b"MNEMOVEC";
/// The format version written.
pub const VERSION: u32 = 1;
/// Bytes before the first row.
pub const HEADER_LEN: usize = 24;

/// Vectors read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    /// Values per row.
    pub dimension: usize,
    /// The rows, one after another.
    pub data: Vec<f32>,
}

impl Vectors {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dimension).unwrap_or(0)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dimension..(i + 1) * self.dimension]
    }
}

/// Writes `rows` (each of `dimension` values) to `path` (through a temporary
/// file renamed into place, so a reader never sees half a file).
pub fn write(path: &Path, dimension: usize, rows: &[Vec<f32>]) -> Result<()> {
    ensure!(
        rows.iter().all(|r| r.len() == dimension),
        "every row must have {dimension} values"
    );
    write_rows(path, dimension, rows.len(), rows.iter().map(Vec::as_slice))
}

/// Writes `vectors` (rows one after another) to `path`, like [`write()`].
pub fn write_flat(path: &Path, vectors: &Vectors) -> Result<()> {
    ensure!(
        vectors.dimension > 0 || vectors.data.is_empty(),
        "dimension 0 with {} values",
        vectors.data.len()
    );
    ensure!(
        vectors.dimension == 0 || vectors.data.len().is_multiple_of(vectors.dimension),
        "{} values do not make rows of {}",
        vectors.data.len(),
        vectors.dimension
    );
    let rows = vectors.data.chunks_exact(vectors.dimension.max(1));
    write_rows(path, vectors.dimension, vectors.len(), rows)
}

/// Writes the header and `count` rows through a temporary file.
fn write_rows<'a>(
    path: &Path,
    dimension: usize,
    count: usize,
    rows: impl Iterator<Item = &'a [f32]>,
) -> Result<()> {
    let tmp = path.with_extension("vec.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    out.write_all(&u32::try_from(dimension)?.to_le_bytes())?;
    out.write_all(&(count as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(4 * dimension);
    for row in rows {
        buf.clear();
        buf.extend(row.iter().flat_map(|x| x.to_le_bytes()));
        out.write_all(&buf)?;
    }
    out.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// A 64-bit fingerprint (XXH3) of the dimension and every value's bits:
/// equal vectors give equal fingerprints, so a file derived from a dataset
/// (its ground truth) can record which data it was computed from.
pub fn fingerprint(vectors: &Vectors) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&(vectors.dimension as u64).to_le_bytes());
    let mut buf = Vec::with_capacity(16 * 1024);
    for chunk in vectors.data.chunks(4 * 1024) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
        hasher.update(&buf);
    }
    hasher.digest()
}

/// Reads a vector file, checking its header and size.
pub fn read(path: &Path) -> Result<Vectors> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode(&bytes).with_context(|| format!("{} is not a valid vector file", path.display()))
}

/// Decodes the bytes of a vector file.
pub fn decode(bytes: &[u8]) -> Result<Vectors> {
    ensure!(bytes.len() >= HEADER_LEN, "shorter than the header");
    ensure!(&bytes[..8] == MAGIC, "wrong magic");
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = u32_at(8);
    ensure!(version == VERSION, "unknown version {version}");
    let dimension = u32_at(12) as usize;
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[16..24]);
    let count = u64::from_le_bytes(count);
    let expected = (dimension as u64)
        .checked_mul(count)
        .and_then(|v| v.checked_mul(4))
        .and_then(|v| v.checked_add(HEADER_LEN as u64));
    if expected != Some(bytes.len() as u64) {
        bail!(
            "header says {count} rows of {dimension} values, but the file has {} bytes",
            bytes.len()
        );
    }
    ensure!(dimension > 0 || count == 0, "dimension 0");
    let data = bytes[HEADER_LEN..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Vectors { dimension, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.vec");
        let rows = vec![vec![1.0, -2.5, 3.0], vec![0.0, 0.5, f32::MIN_POSITIVE]];
        write(&path, 3, &rows).expect("write");
        let v = read(&path).expect("read");
        assert_eq!((v.dimension, v.len()), (3, 2));
        assert_eq!(v.row(1), rows[1].as_slice());

        let mut bytes = std::fs::read(&path).expect("bytes");
        assert!(decode(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        bytes[0] = b'X';
        assert!(decode(&bytes).is_err(), "magic");
        assert!(decode(&[]).is_err());
        assert!(write(&path, 2, &rows).is_err(), "wrong row length");
    }

    #[test]
    fn flat_writes_fingerprints_and_damaged_headers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("flat.vec");
        let v = Vectors {
            dimension: 3,
            data: (0..12).map(|i| i as f32 * 0.5 - 1.0).collect(),
        };
        write_flat(&path, &v).expect("write");
        let bytes = std::fs::read(&path).expect("bytes");
        assert_eq!(bytes.len(), HEADER_LEN + 4 * 12);
        assert_eq!(decode(&bytes).expect("decode"), v);
        // The same rows through `write` give the same file.
        let rows: Vec<Vec<f32>> = v.data.chunks(3).map(<[f32]>::to_vec).collect();
        let path2 = dir.path().join("rows.vec");
        write(&path2, 3, &rows).expect("write rows");
        assert_eq!(std::fs::read(&path2).expect("bytes"), bytes);
        assert!(
            write_flat(
                &path,
                &Vectors {
                    dimension: 5,
                    data: vec![0.0; 7]
                }
            )
            .is_err()
        );

        // Fingerprints follow the values and the shape.
        let mut other = v.clone();
        assert_eq!(fingerprint(&other), fingerprint(&v));
        other.data[11] = 4.0;
        assert_ne!(fingerprint(&other), fingerprint(&v));
        let reshaped = Vectors {
            dimension: 4,
            data: v.data.clone(),
        };
        assert_ne!(fingerprint(&reshaped), fingerprint(&v));

        // Every truncation is an error, never a panic.
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "length {len}");
        }
        // Headers whose sizes lie or overflow.
        for (at, value) in [(16, u64::MAX), (16, 5), (16, 3)] {
            let mut bad = bytes.clone();
            bad[at..at + 8].copy_from_slice(&value.to_le_bytes());
            assert!(decode(&bad).is_err(), "count {value}");
        }
        let mut bad = bytes.clone();
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bad).is_err(), "dimension");
        let mut bad = bytes.clone();
        bad[8] = 2;
        assert!(decode(&bad).is_err(), "version");
        // A missing file is an error naming it.
        let err = read(&dir.path().join("missing.vec")).expect_err("missing");
        assert!(format!("{err:#}").contains("missing.vec"), "{err:#}");
    }
}
