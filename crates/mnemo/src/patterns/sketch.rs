//! Sign sketches of unit vectors and the one-pass Hamming scans that pick
//! candidates for exact comparison.
//!
//! A sketch holds one bit per dimension (set when the component is
//! positive), in `u64` words; the Hamming distance `h` of two sketches
//! estimates their angle (`θ ≈ π·h/d`). [`scan_top`] keeps the best rows of
//! a flat array of sketches in one pass.

use std::cell::RefCell;

/// Below this dimension sign sketches are too coarse to pick candidates
/// (and exact comparisons are cheap): every search is exact.
pub const SKETCH_MIN_DIMENSION: usize = 64;

/// A quality in fixed point for the sketch scan.
pub(super) fn quality8(q: f32) -> u8 {
    (q.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// `u64` words of a sketch of `dimension` bits.
pub(super) fn sketch_words(dimension: usize) -> usize {
    dimension.div_ceil(64)
}

/// Writes the sign sketch of `v` (bit `i` set when `v[i] > 0`) into `out`.
pub(super) fn sketch_into(v: &[f32], out: &mut [u64]) {
    debug_assert_eq!(
        out.len(),
        sketch_words(v.len()),
        "sketch words match the dimension"
    );
    out.fill(0);
    for (word, chunk) in out.iter_mut().zip(v.chunks(64)) {
        *word = chunk
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, &x)| w | (u64::from(x > 0.0) << i));
    }
}

/// Hamming distance of two sketches.
#[inline(always)]
fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// How a sketch scan ranks rows: a key from the Hamming distance to the
/// query and the row index (higher is better).
#[derive(Clone, Copy)]
pub(super) enum ScanKey<'a> {
    /// `bits − h`: the nearest by angle.
    Closeness { bits: u32 },
    /// The estimated score `cos(π·h/d) · quality` in fixed point,
    /// `(cos8[h] · quality8[i] + 255) >> 8`.
    Score { quality8: &'a [u8], cos8: &'a [u16] },
}

impl ScanKey<'_> {
    #[inline(always)]
    fn key(&self, h: u32, i: usize) -> u32 {
        match *self {
            ScanKey::Closeness { bits } => bits.saturating_sub(h),
            ScanKey::Score { quality8, cos8 } => {
                let c = u32::from(cos8.get(h as usize).copied().unwrap_or(0));
                let q = u32::from(quality8.get(i).copied().unwrap_or(0));
                (c * q + 255) >> 8
            }
        }
    }
}

/// Keeps the `c` best of `buf` (key descending, ties: lower index) and
/// returns the key a later row needs to enter: one above the worst kept,
/// since a later row with the same key has a higher index and loses.
///
/// Not [`crate::base::TopK`] on purpose: the scan admits rows into a flat
/// buffer of up to `4c` and selects in batches (`select_nth`, amortised
/// `O(1)` per admitted row), which keeps the hot loop a push and a
/// predictable branch; a heap would pay `O(log c)` and a data-dependent
/// sift on every admission.
fn shrink(buf: &mut Vec<(u32, u32)>, c: usize) -> u32 {
    if buf.len() > c {
        buf.select_nth_unstable_by(c - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        buf.truncate(c);
    }
    buf.iter().map(|x| x.0).min().unwrap_or(0) + 1
}

/// The body of [`scan_top`] for `W`-word sketches (`W = 0`: any width):
/// one pass with a rising admission threshold, so most rows cost a few
/// instructions and a well-predicted branch, and no row is visited twice.
#[inline(always)]
fn scan_top_body<const W: usize>(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    let mut floor = 0u32;
    let admit = |k: u32, i: usize, floor: &mut u32, buf: &mut Vec<(u32, u32)>| {
        if k >= *floor {
            buf.push((k, i as u32));
            if buf.len() >= 4 * c {
                *floor = shrink(buf, c);
            }
        }
    };
    if W == 0 {
        let w = query.len().max(1);
        for (i, row) in rows.chunks_exact(w).enumerate() {
            admit(key.key(hamming(query, row), i), i, &mut floor, buf);
        }
    } else {
        let mut q = [0u64; W];
        for (q, &x) in q.iter_mut().zip(query) {
            *q = x;
        }
        for (i, row) in rows.chunks_exact(W).enumerate() {
            let mut h = 0u32;
            for j in 0..W {
                h += (q[j] ^ row[j]).count_ones();
            }
            admit(key.key(h, i), i, &mut floor, buf);
        }
    }
}

/// [`scan_top_body`] for the common widths (compile-time loop bounds).
#[inline(always)]
fn scan_top_any(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    match query.len() {
        1 => scan_top_body::<1>(query, rows, key, c, buf),
        2 => scan_top_body::<2>(query, rows, key, c, buf),
        4 => scan_top_body::<4>(query, rows, key, c, buf),
        6 => scan_top_body::<6>(query, rows, key, c, buf),
        8 => scan_top_body::<8>(query, rows, key, c, buf),
        12 => scan_top_body::<12>(query, rows, key, c, buf),
        24 => scan_top_body::<24>(query, rows, key, c, buf),
        _ => scan_top_body::<0>(query, rows, key, c, buf),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_top_popcnt(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
) {
    scan_top_any(query, rows, key, c, buf);
}

/// The indices of the `c` rows of `rows` (sketches of `query.len()` words)
/// with the highest `key` (ties: lower index), ascending, into `out`; with
/// the hardware popcount where the CPU has it. `O(rows)`, plus
/// `O(c log(rows/c))` expected for the kept candidates.
pub(super) fn scan_top(
    query: &[u64],
    rows: &[u64],
    key: ScanKey<'_>,
    c: usize,
    buf: &mut Vec<(u32, u32)>,
    out: &mut Vec<u32>,
) {
    buf.clear();
    out.clear();
    if c == 0 {
        return;
    }
    debug_assert!(
        query.is_empty() || rows.len().is_multiple_of(query.len()),
        "rows are whole sketches"
    );
    debug_assert!(
        rows.len() / query.len().max(1) <= u32::MAX as usize,
        "row indices fit the buffer's u32"
    );
    if let ScanKey::Score { quality8, cos8 } = key {
        debug_assert_eq!(
            quality8.len() * query.len(),
            rows.len(),
            "a quality per row"
        );
        debug_assert_eq!(cos8.len(), query.len() * 64 + 1, "a cosine per distance");
    }
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports `popcnt`, checked just above.
        unsafe { scan_top_popcnt(query, rows, key, c, buf) };
        true
    } else {
        false
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        scan_top_any(query, rows, key, c, buf);
    }
    shrink(buf, c);
    out.extend(buf.iter().map(|x| x.1));
    out.sort_unstable();
}

/// Scratch buffers of the candidate scans, one set per thread.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) buf: Vec<(u32, u32)>,
    pub(super) picked: Vec<u32>,
    pub(super) sketch: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (fresh ones if they are
/// already in use further up the stack).
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What [`scan_top`] must answer, by sorting every row.
    fn brute_force(query: &[u64], rows: &[u64], key: ScanKey<'_>, c: usize) -> Vec<u32> {
        let w = query.len();
        let mut all: Vec<(u32, u32)> = rows
            .chunks_exact(w)
            .enumerate()
            .map(|(i, row)| (key.key(hamming(query, row), i), i as u32))
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut picked: Vec<u32> = all.into_iter().take(c).map(|x| x.1).collect();
        picked.sort_unstable();
        picked
    }

    #[test]
    fn sketches_hold_the_signs() {
        let mut v = vec![0.0f32; 70];
        v[0] = 1.0;
        v[1] = -1.0;
        v[3] = 0.5;
        v[69] = 2.0;
        let mut out = vec![u64::MAX; sketch_words(v.len())];
        sketch_into(&v, &mut out);
        assert_eq!(
            out,
            [0b1001, 1 << 5],
            "zero and negative components are clear"
        );
        assert_eq!(hamming(&out, &[0, 0]), 3);
        assert_eq!(sketch_words(0), 0);
        assert_eq!(sketch_words(64), 1);
        assert_eq!(sketch_words(65), 2);
    }

    #[test]
    fn quality8_is_fixed_point_and_clamped() {
        assert_eq!(quality8(0.0), 0);
        assert_eq!(quality8(1.0), 255);
        assert_eq!(quality8(0.5), 128);
        assert_eq!(quality8(-3.0), 0);
        assert_eq!(quality8(7.0), 255);
    }

    proptest! {
        /// The one-pass scan keeps exactly the `c` best rows of a full
        /// sort, for both keys, any width and any `c`.
        #[test]
        fn scan_top_equals_a_full_sort(
            w in prop::sample::select(vec![1usize, 2, 3, 4, 6]),
            seeds in prop::collection::vec(any::<u64>(), 0..400),
            c in 0usize..40,
            by_score in any::<bool>(),
        ) {
            let query: Vec<u64> =
                (0..w as u64).map(|j| j.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
            // Few distinct bits per word, so that keys tie often.
            let rows: Vec<u64> = seeds
                .iter()
                .flat_map(|&s| (0..w as u64).map(move |j| (s >> (j * 8)) & 0x0f0f))
                .collect();
            let n = seeds.len();
            let quality8: Vec<u8> = seeds.iter().map(|s| (s >> 56) as u8 & 0xf0).collect();
            let cos8: Vec<u16> =
                (0..=w * 64).map(|h| (255 - (h * 255 / (w * 64))) as u16).collect();
            let key = if by_score {
                ScanKey::Score { quality8: &quality8, cos8: &cos8 }
            } else {
                ScanKey::Closeness { bits: (w * 64) as u32 }
            };
            let mut buf = Vec::new();
            let mut out = Vec::new();
            scan_top(&query, &rows, key, c, &mut buf, &mut out);
            prop_assert_eq!(out.len(), c.min(n));
            prop_assert_eq!(out, brute_force(&query, &rows, key, c));
        }
    }
}
