//! Int8 linear layers: `y = x·Wᵀ + b` with int8 weights and integer sums.
//!
//! The quantised MiniLM spends nearly all its time here, so the layout and
//! the kernels are chosen for this machine's caches:
//!
//! - **Weights** (`n` outputs × `k` inputs) are quantised once, when the
//!   model loads: symmetric, one scale per output channel (`max |w| / 127`),
//!   values in −127..=127. They are packed in panels of [`NR`] output
//!   channels; inside a panel, for each block of [`KB`] inputs, the `NR`
//!   channels' [`KB`] bytes sit side by side, so a kernel reads a panel
//!   front to back. Inputs are padded with zeros to a multiple of [`KB`] and
//!   channels to a multiple of [`NR`]. All six layers of MiniLM take
//!   10.6 MB this way, which stays in a 16 MiB L3 cache, where the f32
//!   weights (42 MB) stream from memory on every query.
//! - **Activations** are quantised per row (one token) each time they are
//!   used (dynamic quantisation): symmetric, scale `max |x| / ACT_MAX`,
//!   stored as i16 so the kernel needs no conversion. `ACT_MAX` is 2047
//!   (12 bits), which costs nothing in this kernel: with 8-bit activations
//!   (127) the lowest cosine to the f32 model's vectors on the reference
//!   sentences falls from 0.996 to 0.986 (the shortest sentences suffer
//!   most: BERT's hidden states have a few very large channels, which leave
//!   few levels for the others).
//! - **Products** are summed exactly in i32. The AVX2 kernel sign-extends
//!   the weights to i16 and uses `_mm256_madd_epi16`, whose pair sums cannot
//!   saturate (`_mm256_maddubs_epi16` would). No sum can overflow:
//!   `|sum| ≤ k · 127 · ACT_MAX < 2³¹` for every `k ≤ MAX_K`.
//! - **Dequantisation** multiplies each sum by the row's and the channel's
//!   scales and adds the bias, in f32.
//!
//! The AVX2 kernel is chosen at run time ([`Kernel::detect`]); the scalar
//! kernel computes the same integers, is always compiled, and the tests
//! check that the two agree on every shape.

use std::ops::Range;

/// Output channels per packed panel (and per kernel call).
pub(crate) const NR: usize = 4;
/// Inputs per block: one AVX2 register of sixteen i16.
pub(crate) const KB: usize = 16;
/// Rows (tokens) per kernel call.
const MR: usize = 2;
/// Largest quantised activation magnitude.
pub(crate) const ACT_MAX: f32 = 2047.0;
/// Largest input width; keeps every i32 sum exact (see the module docs):
/// 8192 · 127 · 2047 < 2³¹.
pub(crate) const MAX_K: usize = 8192;
/// Rows computed against each panel before moving on: their quantised
/// activations (at most 32 × 1536 × 2 bytes) stay in the L2 cache while
/// the panels stream by.
const ROW_CHUNK: usize = 32;
/// Multiply-adds below which a product is not split across two threads (the
/// hand-over costs more than it saves).
const SPLIT_MIN_MACS: usize = 1 << 20;

/// Which kernel computes the integer sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kernel(Isa);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    Scalar,
    /// Only made by [`Kernel::detect`] after the CPU reported AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel(Isa::Avx2);
        }
        Kernel(Isa::Scalar)
    }

    /// The portable kernel.
    #[cfg(test)]
    pub(crate) fn scalar() -> Self {
        Kernel(Isa::Scalar)
    }

    /// `"avx2"` or `"scalar"`.
    pub(crate) fn name(self) -> &'static str {
        match self.0 {
            Isa::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
        }
    }

    /// The sums of one tile: `rows` (1 to [`MR`] of them) against the
    /// [`NR`] channels of `panel`. Entries past `rows.len()` are zero.
    fn tile(self, rows: &[&[i16]], panel: &[i8]) -> [[i32; NR]; MR] {
        let mut out = [[0; NR]; MR];
        match *rows {
            [a, b] => out = self.tile_of([a, b], panel),
            [a] => out[..1].copy_from_slice(&self.tile_of([a], panel)),
            _ => {}
        }
        out
    }

    fn tile_of<const R: usize>(self, rows: [&[i16]; R], panel: &[i8]) -> [[i32; NR]; R] {
        match self.0 {
            Isa::Scalar => scalar::tile(rows, panel),
            // SAFETY: `Isa::Avx2` is only made by `Kernel::detect` once the
            // CPU has reported AVX2.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::tile(rows, panel) },
        }
    }
}

/// Rows of activations quantised per row, ready for [`Int8Linear::forward`].
/// Reused between products so its buffers are allocated once per pass.
#[derive(Debug, Default)]
pub(crate) struct QuantRows {
    /// Values per row before padding.
    k: usize,
    /// Values per row after padding to a multiple of [`KB`].
    kp: usize,
    /// `rows × kp` integers in −ACT_MAX..=ACT_MAX.
    data: Vec<i16>,
    /// One scale per row: value = integer × scale.
    scales: Vec<f32>,
}

impl QuantRows {
    /// Quantises `x`, rows of `k` values (a trailing partial row is
    /// ignored), replacing what was here. A row of zeros, or one holding a
    /// non-finite value, becomes zeros with scale 0.
    pub(crate) fn quantize(&mut self, x: &[f32], k: usize) {
        let k = k.max(1);
        let kp = k.div_ceil(KB) * KB;
        let rows = x.len() / k;
        self.k = k;
        self.kp = kp;
        self.data.clear();
        self.data.resize(rows * kp, 0);
        self.scales.clear();
        for (row, q) in x.chunks_exact(k).zip(self.data.chunks_exact_mut(kp)) {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if !(max > 0.0 && row.iter().all(|v| v.is_finite())) {
                self.scales.push(0.0);
                continue;
            }
            let inv = ACT_MAX / max;
            for (q, &v) in q.iter_mut().zip(row) {
                let s = v * inv;
                // Rounds half away from zero; `as` saturates, and |s| ≤ ACT_MAX.
                *q = (s + 0.5f32.copysign(s)) as i16;
            }
            self.scales.push(max / ACT_MAX);
        }
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.scales.len()
    }

    fn row(&self, r: usize) -> &[i16] {
        &self.data[r * self.kp..(r + 1) * self.kp]
    }
}

/// A linear layer with int8 weights packed for the kernels (see the module
/// documentation).
#[derive(Debug)]
pub(crate) struct Int8Linear {
    /// Output channels.
    n: usize,
    /// Inputs.
    k: usize,
    /// Inputs padded to a multiple of [`KB`].
    kp: usize,
    /// `ceil(n / NR)` panels of `NR × kp` bytes.
    panels: Vec<i8>,
    /// One scale per output channel.
    scales: Vec<f32>,
    /// One bias per output channel.
    bias: Vec<f32>,
}

impl Int8Linear {
    /// Quantises `weight` (`n` rows of `k` values, row-major, as PyTorch
    /// stores a linear layer) and packs it; `bias` has `n` values.
    pub(crate) fn new(weight: &[f32], bias: &[f32], n: usize, k: usize) -> Result<Self, String> {
        if n == 0 || k == 0 || k > MAX_K {
            return Err(format!("a {n} × {k} linear layer is not supported"));
        }
        if weight.len() != n * k || bias.len() != n {
            return Err(format!(
                "a {n} × {k} linear layer needs {} weights and {n} biases, found {} and {}",
                n * k,
                weight.len(),
                bias.len()
            ));
        }
        let kp = k.div_ceil(KB) * KB;
        let panel_count = n.div_ceil(NR);
        let mut panels = vec![0i8; panel_count * NR * kp];
        let mut scales = Vec::with_capacity(n);
        for (j, row) in weight.chunks_exact(k).enumerate() {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if !row.iter().all(|v| v.is_finite()) {
                return Err(format!("output channel {j} has a non-finite weight"));
            }
            let inv = if max > 0.0 { 127.0 / max } else { 0.0 };
            scales.push(max / 127.0);
            let (p, c) = (j / NR, j % NR);
            for (i, &v) in row.iter().enumerate() {
                let s = v * inv;
                let at = p * NR * kp + (i / KB) * NR * KB + c * KB + i % KB;
                panels[at] = (s + 0.5f32.copysign(s)) as i8;
            }
        }
        Ok(Self {
            n,
            k,
            kp,
            panels,
            scales,
            bias: bias.to_vec(),
        })
    }

    /// Bytes of packed weights.
    #[cfg(test)]
    pub(crate) fn packed_bytes(&self) -> usize {
        self.panels.len()
    }

    /// `out = x·Wᵀ + b`, `x.rows()` rows of [`Self::outputs`] values. With
    /// `split`, a large product runs its two halves of output channels on
    /// two threads of the current rayon pool.
    ///
    /// `x` must have been quantised with `k` = [`Self::inputs`]; with
    /// another width `out` is all biases.
    pub(crate) fn forward(&self, kernel: Kernel, x: &QuantRows, out: &mut Vec<f32>, split: bool) {
        let rows = x.rows();
        let n = self.n;
        out.clear();
        out.resize(rows * n, 0.0);
        if x.k != self.k || x.kp != self.kp {
            out.chunks_exact_mut(n)
                .for_each(|o| o.copy_from_slice(&self.bias));
            return;
        }
        let panel_count = n.div_ceil(NR);
        if !split || panel_count < 2 || rows * n * self.k < SPLIT_MIN_MACS {
            self.run(kernel, x, 0..panel_count, out, n);
            return;
        }
        let mid = panel_count / 2;
        let right_width = n - mid * NR;
        let mut right = vec![0.0f32; rows * right_width];
        rayon::join(
            || self.run(kernel, x, 0..mid, out, n),
            || self.run(kernel, x, mid..panel_count, &mut right, right_width),
        );
        for (o, r) in out.chunks_exact_mut(n).zip(right.chunks_exact(right_width)) {
            o[mid * NR..].copy_from_slice(r);
        }
    }

    /// Computes the channels of `panels` for every row of `x` into `out`,
    /// whose rows are `ld` long and start at the first channel of
    /// `panels`.
    fn run(&self, kernel: Kernel, x: &QuantRows, panels: Range<usize>, out: &mut [f32], ld: usize) {
        let rows = x.rows();
        let first = panels.start * NR;
        let panel_bytes = NR * self.kp;
        for chunk in (0..rows).step_by(ROW_CHUNK) {
            let chunk_end = (chunk + ROW_CHUNK).min(rows);
            for p in panels.clone() {
                let panel = &self.panels[p * panel_bytes..(p + 1) * panel_bytes];
                let channels = (p * NR..(p * NR + NR).min(self.n)).enumerate();
                let mut r = chunk;
                while r < chunk_end {
                    let m = MR.min(chunk_end - r);
                    let mut tile_rows: [&[i16]; MR] = [&[]; MR];
                    for (i, slot) in tile_rows[..m].iter_mut().enumerate() {
                        *slot = x.row(r + i);
                    }
                    let sums = kernel.tile(&tile_rows[..m], panel);
                    for (i, row_sums) in sums[..m].iter().enumerate() {
                        let x_scale = x.scales[r + i];
                        let o = &mut out[(r + i) * ld..(r + i + 1) * ld];
                        if let (Some(o), Some(w), Some(b)) = (
                            o.get_mut(p * NR - first..p * NR - first + NR),
                            self.scales.get(p * NR..p * NR + NR),
                            self.bias.get(p * NR..p * NR + NR),
                        ) {
                            // A whole panel: four lanes the compiler vectorises.
                            for c in 0..NR {
                                o[c] = row_sums[c] as f32 * (x_scale * w[c]) + b[c];
                            }
                        } else {
                            for (c, j) in channels.clone() {
                                o[j - first] =
                                    row_sums[c] as f32 * (x_scale * self.scales[j]) + self.bias[j];
                            }
                        }
                    }
                    r += m;
                }
            }
        }
    }
}

/// The portable kernel.
mod scalar {
    use super::{KB, NR};

    /// Sums of the products of `R` rows with the `NR` channels of `panel`.
    pub(super) fn tile<const R: usize>(rows: [&[i16]; R], panel: &[i8]) -> [[i32; NR]; R] {
        let mut out = [[0i32; NR]; R];
        for (step, block) in panel.chunks_exact(NR * KB).enumerate() {
            for (r, row) in rows.iter().enumerate() {
                let Some(a) = row.get(step * KB..(step + 1) * KB) else {
                    continue;
                };
                for (c, w) in block.chunks_exact(KB).enumerate() {
                    let dot: i32 = a
                        .iter()
                        .zip(w)
                        .map(|(&x, &y)| i32::from(x) * i32::from(y))
                        .sum();
                    out[r][c] += dot;
                }
            }
        }
        out
    }
}

/// The AVX2 kernel.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{KB, NR};

    /// Sums of the products of `R` rows with the `NR` channels of `panel`,
    /// exactly as [`super::scalar::tile`] computes them.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn tile<const R: usize>(rows: [&[i16]; R], panel: &[i8]) -> [[i32; NR]; R] {
        let kp = panel.len() / NR / KB * KB;
        // The loads below read `kp` values of every row and `NR * kp` bytes
        // of the panel; this check makes them in bounds.
        assert!(rows.iter().all(|row| row.len() >= kp) && panel.len() >= NR * kp);
        let mut acc = [[_mm256_setzero_si256(); NR]; R];
        let mut ptrs = [std::ptr::null::<i16>(); R];
        for (p, row) in ptrs.iter_mut().zip(&rows) {
            *p = row.as_ptr();
        }
        let w = panel.as_ptr();
        let mut at = 0;
        while at < kp {
            let mut wv = [_mm256_setzero_si256(); NR];
            for (c, v) in wv.iter_mut().enumerate() {
                // SAFETY: at + KB <= kp, so bytes at * NR + c * KB .. + KB
                // lie inside the panel's NR * kp bytes (asserted above).
                let bytes = unsafe { _mm_loadu_si128(w.add(at * NR + c * KB).cast()) };
                *v = _mm256_cvtepi8_epi16(bytes);
            }
            for (r, p) in ptrs.iter().enumerate() {
                // SAFETY: at + KB <= kp <= the row's length (asserted above).
                let a = unsafe { _mm256_loadu_si256(p.add(at).cast()) };
                for c in 0..NR {
                    acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(a, wv[c]));
                }
            }
            at += KB;
        }
        let mut out = [[0i32; NR]; R];
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = sum_lanes(a);
        }
        out
    }

    /// The sums of the eight i32 lanes of each of four vectors.
    #[target_feature(enable = "avx2")]
    fn sum_lanes(v: &[__m256i; NR]) -> [i32; NR] {
        // [a01 a23 b01 b23 | a45 a67 b45 b67], then [a b c d | a b c d] halves.
        let ab = _mm256_hadd_epi32(v[0], v[1]);
        let cd = _mm256_hadd_epi32(v[2], v[3]);
        let abcd = _mm256_hadd_epi32(ab, cd);
        let sum = _mm_add_epi32(
            _mm256_castsi256_si128(abcd),
            _mm256_extracti128_si256::<1>(abcd),
        );
        let mut out = [0i32; NR];
        // SAFETY: `out` holds exactly 16 bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), sum) };
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `x·Wᵀ + b` in f64 with no quantisation.
    fn exact(x: &[f32], w: &[f32], b: &[f32], n: usize, k: usize) -> Vec<f32> {
        x.chunks_exact(k)
            .flat_map(|row| {
                w.chunks_exact(k).zip(b).map(move |(wr, &bias)| {
                    let dot: f64 = row
                        .iter()
                        .zip(wr)
                        .map(|(&a, &c)| f64::from(a) * f64::from(c))
                        .sum();
                    (dot + f64::from(bias)) as f32
                })
            })
            .collect::<Vec<_>>()
            .chunks_exact(n)
            .flatten()
            .copied()
            .collect()
    }

    fn matrices() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>)> {
        (1usize..12, 1usize..40, 1usize..80).prop_flat_map(|(rows, n, k)| {
            (
                Just(n),
                Just(k),
                prop::collection::vec(-4.0f32..4.0, rows * k),
                prop::collection::vec(-1.0f32..1.0, n * k),
                prop::collection::vec(-1.0f32..1.0, n),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The detected kernel (AVX2 here) gives exactly the scalar
        /// kernel's outputs, split across threads or not, on odd sizes.
        #[test]
        fn kernels_agree_with_the_scalar_kernel((n, k, x, w, b) in matrices(), split in any::<bool>()) {
            let layer = Int8Linear::new(&w, &b, n, k).expect("layer");
            let mut q = QuantRows::default();
            q.quantize(&x, k);
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            layer.forward(Kernel::detect(), &q, &mut fast, split);
            layer.forward(Kernel::scalar(), &q, &mut slow, false);
            prop_assert_eq!(fast, slow);
        }

        /// The quantised product is close to the exact one: each output is
        /// off by at most the rounding of both operands.
        #[test]
        fn products_are_close_to_the_exact_ones((n, k, x, w, b) in matrices()) {
            let layer = Int8Linear::new(&w, &b, n, k).expect("layer");
            let mut q = QuantRows::default();
            q.quantize(&x, k);
            let mut got = Vec::new();
            layer.forward(Kernel::detect(), &q, &mut got, false);
            let want = exact(&x, &w, &b, n, k);
            prop_assert_eq!(got.len(), want.len());
            for (r, row) in x.chunks_exact(k).enumerate() {
                let x_max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for j in 0..n {
                    let w_max = w[j * k..(j + 1) * k].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    // Each product is off by at most half a step of either
                    // operand times the other's largest value.
                    let bound = k as f32 * (x_max * w_max) * (0.5 / 127.0 + 0.5 / ACT_MAX) * 1.01 + 1e-5;
                    let err = (got[r * n + j] - want[r * n + j]).abs();
                    prop_assert!(err <= bound, "row {r} channel {j}: error {err} > {bound}");
                }
            }
        }
    }

    #[test]
    fn zero_and_non_finite_rows_quantise_to_zero() {
        let mut q = QuantRows::default();
        q.quantize(&[0.0, 0.0, f32::NAN, 1.0, -2.0, 4.0], 2);
        assert_eq!(q.rows(), 3);
        assert_eq!(q.scales[..2], [0.0, 0.0]);
        let half = (ACT_MAX / 2.0).round() as i16;
        assert_eq!(q.row(2)[..2], [-half, ACT_MAX as i16]);
        assert_eq!(q.row(0).len(), KB);
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(Int8Linear::new(&[1.0; 6], &[0.0; 2], 2, 3).is_ok());
        assert!(Int8Linear::new(&[1.0; 5], &[0.0; 2], 2, 3).is_err());
        assert!(Int8Linear::new(&[1.0; 6], &[0.0; 3], 2, 3).is_err());
        assert!(Int8Linear::new(&[], &[], 0, 3).is_err());
        assert!(Int8Linear::new(&[f32::INFINITY; 6], &[0.0; 2], 2, 3).is_err());
        let layer = Int8Linear::new(&[1.0; 6], &[0.5; 2], 2, 3).expect("layer");
        assert_eq!(layer.packed_bytes(), NR * KB);
        // Activations of another width give the biases, not a panic.
        let mut q = QuantRows::default();
        q.quantize(&[1.0; 40], 20);
        let mut out = Vec::new();
        layer.forward(Kernel::detect(), &q, &mut out, true);
        assert_eq!(out, vec![0.5; 4]);
    }
}
