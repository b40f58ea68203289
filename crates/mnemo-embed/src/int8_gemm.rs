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
//!   On the benchmarks' 2-core EPYC (Zen 2) it runs at about 51 G
//!   multiply-adds per second and core, near the one `vpmaddwd` per cycle
//!   the core issues. `vpmaddubsw` (u8 × i8) issues no faster there and its
//!   pair sums need a `vpmaddwd` to widen to i32, so 8-bit activations would
//!   cost accuracy (above) without saving time.
//! - **Dequantisation** multiplies each sum by the row's and the channel's
//!   scales and adds the bias, in f32.
//!
//! - **AVX-512 VNNI**, where the CPU has it (Intel since Ice Lake, AMD
//!   since Zen 4): `vpdpwssd` multiplies 32 i16 pairs and adds them to
//!   sixteen i32 lanes in one instruction, where AVX2 needs a `vpmaddwd`
//!   and a `vpaddd` for half as many. Two channels' blocks share one
//!   register, and the weights are widened once for up to four rows.
//!
//! The kernel is chosen at run time ([`Kernel::detect`]): AVX-512 VNNI,
//! else AVX2, else scalar. The scalar kernel computes the same integers,
//! is always compiled, and the tests check that every kernel this CPU runs
//! agrees with it on every shape.

use std::ops::Range;

/// Output channels per packed panel (and per kernel call).
pub(crate) const NR: usize = 4;
/// Inputs per block: one AVX2 register of sixteen i16.
pub(crate) const KB: usize = 16;
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
    /// Only made by [`Kernel::detect`] after the CPU reported AVX-512 F,
    /// BW and VNNI (and so AVX2).
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub(crate) fn detect() -> Self {
        Self::available()[0]
    }

    /// Every kernel this CPU runs, fastest first (the scalar one last).
    pub(crate) fn available() -> Vec<Self> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") {
                if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") {
                    kernels.push(Kernel(Isa::Avx512Vnni));
                }
                kernels.push(Kernel(Isa::Avx2));
            }
        }
        kernels.push(Kernel(Isa::Scalar));
        kernels
    }

    /// The portable kernel.
    #[cfg(test)]
    pub(crate) fn scalar() -> Self {
        Kernel(Isa::Scalar)
    }

    /// Whether this kernel implies AVX2 (the AVX2 and AVX-512 kernels):
    /// only then may the caller run code compiled for AVX2.
    pub(crate) fn is_avx2(self) -> bool {
        self.0 != Isa::Scalar
    }

    /// `"avx512-vnni"`, `"avx2"` or `"scalar"`.
    pub(crate) fn name(self) -> &'static str {
        match self.0 {
            Isa::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => "avx512-vnni",
        }
    }

    /// The integer sums of every row of `a` (rows of `kp` values) with
    /// every channel of `panels` (whole panels of `NR × kp` bytes) into
    /// `out`, one row of `panels.len() / kp` sums per row of `a` (what `out`
    /// held is overwritten, not added to).
    fn sums(self, a: &[i16], kp: usize, panels: &[i8], out: &mut [i32]) {
        match self.0 {
            Isa::Scalar => scalar::sums(a, kp, panels, out),
            // SAFETY: `Isa::Avx2` is only made by `Kernel::detect` once the
            // CPU has reported AVX2.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::sums(a, kp, panels, out) },
            // SAFETY: `Isa::Avx512Vnni` is only made by `Kernel::detect`
            // once the CPU has reported AVX-512 F, BW and VNNI and AVX2.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => unsafe { avx512::sums(a, kp, panels, out) },
        }
    }
}

/// Buffers of [`Int8Linear::forward_then`], reused from one product to the next.
#[derive(Debug, Default)]
pub(crate) struct Sums {
    /// Integer sums of the first (or only) half of the channels.
    left: Vec<i32>,
    /// Integer sums of the second half, on the second thread.
    right: Vec<i32>,
    /// Outputs of the second half before they are interleaved.
    right_out: Vec<f32>,
}

/// Rows of activations quantised per row, ready for [`Int8Linear::forward_then`].
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
    /// non-finite value, becomes zeros with scale 0. Values are rounded to
    /// the nearest integer, ties to even.
    #[inline(always)]
    pub(crate) fn quantize(&mut self, x: &[f32], k: usize) {
        /// 1.5 · 2²³: adding it to a value of magnitude below 2²² rounds
        /// it to an integer held in the low bits of the sum.
        const SHIFTER: f32 = 12_582_912.0;
        const SHIFTER_BITS: i32 = 0x4B40_0000;
        let k = k.max(1);
        let kp = k.div_ceil(KB) * KB;
        let rows = x.len() / k;
        self.k = k;
        self.kp = kp;
        // Every value is written below, so the buffer is not zeroed first.
        self.data.resize(rows * kp, 0);
        self.scales.clear();
        for (row, q) in x.chunks_exact(k).zip(self.data.chunks_exact_mut(kp)) {
            // In eight lanes so the loop vectorises; `nan` stays 0 unless
            // the row holds a NaN or an infinity (∞ · 0 is NaN).
            let (mut lanes, mut nan) = ([0.0f32; 8], [0.0f32; 8]);
            let chunks = row.chunks_exact(8);
            let mut max = 0.0f32;
            let mut finite = true;
            for &v in chunks.remainder() {
                max = max.max(v.abs());
                finite &= v.is_finite();
            }
            for c in chunks {
                for l in 0..8 {
                    let a = c[l].abs();
                    lanes[l] = if a > lanes[l] { a } else { lanes[l] };
                    nan[l] += c[l] * 0.0;
                }
            }
            for l in 0..8 {
                max = max.max(lanes[l]);
                finite &= nan[l] == 0.0;
            }
            if !(max > 0.0 && max.is_finite() && finite) {
                q.fill(0);
                self.scales.push(0.0);
                continue;
            }
            let inv = ACT_MAX / max;
            // `q` holds kp ≥ k values.
            let (values, padding) = q.split_at_mut(k.min(q.len()));
            for (q, &v) in values.iter_mut().zip(row) {
                // |v · inv| ≤ ACT_MAX (plus a rounding), far below 2²².
                let bits = (v * inv + SHIFTER).to_bits() as i32;
                *q = bits.wrapping_sub(SHIFTER_BITS) as i16;
            }
            padding.fill(0);
            self.scales.push(max / ACT_MAX);
        }
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.scales.len()
    }

    #[cfg(test)]
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

    /// [`Self::forward_then`] with nothing after.
    #[cfg(test)]
    pub(crate) fn forward(
        &self,
        kernel: Kernel,
        x: &QuantRows,
        out: &mut Vec<f32>,
        split: bool,
        sums: &mut Sums,
    ) {
        self.forward_then(kernel, x, out, split, sums, &|_: &mut [f32]| {});
    }

    /// `out = x·Wᵀ + b`, `x.rows()` rows of `n` values, then `then` on the
    /// outputs, in pieces (each a run of consecutive channels of one row)
    /// on the thread that computed them: an activation function applied
    /// while the outputs are still in the cache, and in parallel when the
    /// product is split. With `split`, a large product runs its two halves
    /// of output channels on two threads of the current rayon pool.
    ///
    /// `x` must have been quantised with this layer's `k`; with another
    /// width `out` is all biases.
    pub(crate) fn forward_then<F: Fn(&mut [f32]) + Sync>(
        &self,
        kernel: Kernel,
        x: &QuantRows,
        out: &mut Vec<f32>,
        split: bool,
        sums: &mut Sums,
        then: &F,
    ) {
        let rows = x.rows();
        let n = self.n;
        // Every output is written below, so what the buffer held is left
        // in place rather than zeroed first.
        out.resize(rows * n, 0.0);
        if x.k != self.k || x.kp != self.kp {
            for o in out.chunks_exact_mut(n) {
                o.copy_from_slice(&self.bias);
                then(o);
            }
            return;
        }
        let panel_count = n.div_ceil(NR);
        if !split || panel_count < 2 || rows * n * self.k < SPLIT_MIN_MACS {
            self.run(kernel, x, 0..panel_count, &mut sums.left, out, n, then);
            return;
        }
        let mid = panel_count / 2;
        let right_width = n - mid * NR;
        let Sums {
            left,
            right,
            right_out,
        } = sums;
        right_out.resize(rows * right_width, 0.0);
        rayon::join(
            || self.run(kernel, x, 0..mid, left, out, n, then),
            || {
                let panels = mid..panel_count;
                self.run(kernel, x, panels, right, right_out, right_width, then);
            },
        );
        for (o, r) in out
            .chunks_exact_mut(n)
            .zip(right_out.chunks_exact(right_width))
        {
            o[mid * NR..].copy_from_slice(r);
        }
    }

    /// Computes the channels of `panels` for every row of `x` into `out`,
    /// whose rows are `ld` long and start at the first channel of
    /// `panels`, then `then` on each row's outputs; `sums` holds the integer
    /// sums on the way.
    #[allow(clippy::too_many_arguments)]
    fn run<F: Fn(&mut [f32])>(
        &self,
        kernel: Kernel,
        x: &QuantRows,
        panels: Range<usize>,
        sums: &mut Vec<i32>,
        out: &mut [f32],
        ld: usize,
        then: &F,
    ) {
        let cols = panels.len() * NR;
        // Every sum is written by the kernel, so the buffer only grows.
        let len = x.rows() * cols;
        if sums.len() < len {
            sums.resize(len, 0);
        }
        let sums = &mut sums[..len];
        let bytes = NR * self.kp;
        let packed = &self.panels[panels.start * bytes..panels.end * bytes];
        kernel.sums(&x.data, self.kp, packed, sums);
        let first = panels.start * NR;
        let width = (panels.end * NR).min(self.n) - first;
        let scales = &self.scales[first..first + width];
        let bias = &self.bias[first..first + width];
        let rows = out
            .chunks_exact_mut(ld)
            .zip(sums.chunks_exact(cols))
            .zip(&x.scales);
        for ((o, s), &x_scale) in rows {
            let o = &mut o[..width.min(ld)];
            let lanes = o.iter_mut().zip(s).zip(scales).zip(bias);
            for (((o, &s), &w), &b) in lanes {
                *o = s as f32 * (x_scale * w) + b;
            }
            then(o);
        }
    }
}

/// The portable kernel.
mod scalar {
    use super::{KB, NR};

    /// See `Kernel::sums`.
    pub(super) fn sums(a: &[i16], kp: usize, panels: &[i8], out: &mut [i32]) {
        if kp == 0 {
            return;
        }
        let cols = panels.len() / kp;
        for (row, o) in a.chunks_exact(kp).zip(out.chunks_exact_mut(cols)) {
            for (panel, o) in panels.chunks_exact(NR * kp).zip(o.chunks_exact_mut(NR)) {
                o.fill(0);
                for (block, x) in panel.chunks_exact(NR * KB).zip(row.chunks_exact(KB)) {
                    for (w, o) in block.chunks_exact(KB).zip(o.iter_mut()) {
                        *o += x
                            .iter()
                            .zip(w)
                            .map(|(&x, &w)| i32::from(x) * i32::from(w))
                            .sum::<i32>();
                    }
                }
            }
        }
    }
}

/// The rows and channels (`(rows, cols)`) a SIMD kernel computes for
/// `Kernel::sums`' arguments, checked so that its tiles read and write
/// inside the slices; `None` when there is nothing to compute.
///
/// # Panics
///
/// When `kp` is not a multiple of [`KB`] or the channels not of [`NR`]
/// (the packing makes both).
#[cfg(target_arch = "x86_64")]
fn shape(a: &[i16], kp: usize, panels: &[i8], out: &[i32]) -> Option<(usize, usize)> {
    if kp == 0 {
        return None;
    }
    let cols = panels.len() / kp;
    let rows = (a.len() / kp).min(out.len() / cols.max(1));
    assert!(kp.is_multiple_of(KB) && cols.is_multiple_of(NR) && rows * kp <= a.len());
    assert!(rows * cols <= out.len() && cols * kp <= panels.len());
    Some((rows, cols))
}

/// The AVX2 kernel.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{KB, NR, ROW_CHUNK};

    /// See `Kernel::sums`; computes exactly what `scalar::sums` computes.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sums(a: &[i16], kp: usize, panels: &[i8], out: &mut [i32]) {
        let Some((rows, cols)) = super::shape(a, kp, panels, out) else {
            return;
        };
        for chunk in (0..rows).step_by(ROW_CHUNK) {
            let end = (chunk + ROW_CHUNK).min(rows);
            for p in 0..cols / NR {
                // SAFETY (all three calls): panel p's NR * kp bytes start at
                // p * NR * kp < cols * kp; rows r (and r + 1) have kp values
                // from r * kp, and their NR sums from r * cols + p * NR, all
                // within the lengths asserted above.
                let w = unsafe { panels.as_ptr().add(p * NR * kp) };
                let mut r = chunk;
                while r + 2 <= end {
                    unsafe {
                        let o = out.as_mut_ptr().add(r * cols + p * NR);
                        tile::<2>(a.as_ptr().add(r * kp), kp, w, o, cols);
                    }
                    r += 2;
                }
                if r < end {
                    unsafe {
                        let o = out.as_mut_ptr().add(r * cols + p * NR);
                        tile::<1>(a.as_ptr().add(r * kp), kp, w, o, cols);
                    }
                }
            }
        }
    }

    /// Writes the sums of `R` rows of activations (`kp` values each, one
    /// after the other from `a`) with the `NR` channels of the panel at `w`
    /// to `R` rows of `NR` sums at `out`, rows `ld` apart.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2; `a` must be valid for `R × kp` reads,
    /// `w` for `NR × kp`, and `out` for `NR` writes at each of `R` rows `ld`
    /// apart; `kp` must be a multiple of `KB`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn tile<const R: usize>(
        a: *const i16,
        kp: usize,
        w: *const i8,
        out: *mut i32,
        ld: usize,
    ) {
        let mut acc = [[_mm256_setzero_si256(); NR]; R];
        let mut at = 0;
        while at < kp {
            let mut wv = [_mm256_setzero_si256(); NR];
            for (c, v) in wv.iter_mut().enumerate() {
                // SAFETY: at + KB <= kp, so this block lies in the panel.
                let bytes = unsafe { _mm_loadu_si128(w.add(at * NR + c * KB).cast()) };
                *v = _mm256_cvtepi8_epi16(bytes);
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: at + KB <= kp, inside row r.
                let x = unsafe { _mm256_loadu_si256(a.add(r * kp + at).cast()) };
                for (acc, &v) in acc.iter_mut().zip(&wv) {
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(x, v));
                }
            }
            at += KB;
        }
        for (r, acc) in acc.iter().enumerate() {
            // SAFETY: row r's NR sums are writable (the caller's promise).
            unsafe { _mm_storeu_si128(out.add(r * ld).cast(), sum_lanes(acc)) };
        }
    }

    /// The sums of the eight i32 lanes of each of four vectors.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn sum_lanes(v: &[__m256i; NR]) -> __m128i {
        // [a01 a23 b01 b23 | a45 a67 b45 b67], then [a b c d | a b c d] halves.
        let ab = _mm256_hadd_epi32(v[0], v[1]);
        let cd = _mm256_hadd_epi32(v[2], v[3]);
        let abcd = _mm256_hadd_epi32(ab, cd);
        _mm_add_epi32(
            _mm256_castsi256_si128(abcd),
            _mm256_extracti128_si256::<1>(abcd),
        )
    }
}

/// The AVX-512 VNNI kernel.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{KB, NR, ROW_CHUNK};

    /// Rows one tile computes against a panel: the panel's weights are
    /// widened to i16 once for all of them.
    const ROWS: usize = 4;

    /// See `Kernel::sums`; computes exactly what `scalar::sums` computes.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2 and AVX-512 F, BW and VNNI.
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn sums(a: &[i16], kp: usize, panels: &[i8], out: &mut [i32]) {
        let Some((rows, cols)) = super::shape(a, kp, panels, out) else {
            return;
        };
        for chunk in (0..rows).step_by(ROW_CHUNK) {
            let end = (chunk + ROW_CHUNK).min(rows);
            for p in 0..cols / NR {
                // SAFETY (every call): panel p's NR * kp bytes start at
                // p * NR * kp < cols * kp; rows r .. r + R have kp values
                // from r * kp, and their NR sums from r * cols + p * NR, all
                // within the lengths asserted above.
                let w = unsafe { panels.as_ptr().add(p * NR * kp) };
                let mut r = chunk;
                while r + ROWS <= end {
                    unsafe {
                        let o = out.as_mut_ptr().add(r * cols + p * NR);
                        tile::<ROWS>(a.as_ptr().add(r * kp), kp, w, o, cols);
                    }
                    r += ROWS;
                }
                if r < end {
                    unsafe {
                        let (x, o) = (
                            a.as_ptr().add(r * kp),
                            out.as_mut_ptr().add(r * cols + p * NR),
                        );
                        match end - r {
                            3 => tile::<3>(x, kp, w, o, cols),
                            2 => tile::<2>(x, kp, w, o, cols),
                            _ => tile::<1>(x, kp, w, o, cols),
                        }
                    }
                }
            }
        }
    }

    /// Writes the sums of `R` rows of activations (`kp` values each, one
    /// after the other from `a`) with the `NR` channels of the panel at `w`
    /// to `R` rows of `NR` sums at `out`, rows `ld` apart. Channels 0 and 1
    /// share one register (lanes 0–7 and 8–15), as do channels 2 and 3;
    /// each row's block of `KB` activations is broadcast to both halves.
    ///
    /// # Safety
    ///
    /// As `sums`; `a` must be valid for `R × kp` reads, `w` for `NR × kp`,
    /// and `out` for `NR` writes at each of `R` rows `ld` apart; `kp` must
    /// be a multiple of `KB`.
    #[inline]
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const R: usize>(
        a: *const i16,
        kp: usize,
        w: *const i8,
        out: *mut i32,
        ld: usize,
    ) {
        let mut acc = [[_mm512_setzero_si512(); 2]; R];
        let mut at = 0;
        while at < kp {
            // SAFETY: at + KB <= kp, so the block's NR × KB bytes lie in
            // the panel, and each row's KB values in that row.
            let (w01, w23) = unsafe {
                (
                    _mm512_cvtepi8_epi16(_mm256_loadu_si256(w.add(at * NR).cast())),
                    _mm512_cvtepi8_epi16(_mm256_loadu_si256(w.add(at * NR + 2 * KB).cast())),
                )
            };
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = unsafe { _mm256_loadu_si256(a.add(r * kp + at).cast()) };
                let x = _mm512_broadcast_i64x4(x);
                acc[0] = _mm512_dpwssd_epi32(acc[0], x, w01);
                acc[1] = _mm512_dpwssd_epi32(acc[1], x, w23);
            }
            at += KB;
        }
        for (r, acc) in acc.iter().enumerate() {
            let halves = [
                _mm512_castsi512_si256(acc[0]),
                _mm512_extracti64x4_epi64::<1>(acc[0]),
                _mm512_castsi512_si256(acc[1]),
                _mm512_extracti64x4_epi64::<1>(acc[1]),
            ];
            // SAFETY: row r's NR sums are writable (the caller's promise).
            unsafe { _mm_storeu_si128(out.add(r * ld).cast(), super::avx2::sum_lanes(&halves)) };
        }
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
            let mut slow = Vec::new();
            layer.forward(Kernel::scalar(), &q, &mut slow, false, &mut Sums::default());
            for kernel in Kernel::available() {
                let mut fast = Vec::new();
                layer.forward(kernel, &q, &mut fast, split, &mut Sums::default());
                prop_assert_eq!(&fast, &slow, "kernel {}", kernel.name());
            }
        }

        /// The quantised product is close to the exact one: each output is
        /// off by at most the rounding of both operands.
        #[test]
        fn products_are_close_to_the_exact_ones((n, k, x, w, b) in matrices()) {
            let layer = Int8Linear::new(&w, &b, n, k).expect("layer");
            let mut q = QuantRows::default();
            q.quantize(&x, k);
            let mut got = Vec::new();
            layer.forward(Kernel::detect(), &q, &mut got, false, &mut Sums::default());
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

    /// Buffers are reused without being zeroed, so a small product after a
    /// large one (and a quantisation with padding after one without) must
    /// give exactly what fresh buffers give.
    #[test]
    fn reused_buffers_give_what_fresh_ones_give() {
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 37 + seed) % 19) as f32 / 9.0 - 1.0)
                .collect()
        };
        let (big_n, big_k, small_n, small_k) = (40, 64, 12, 20);
        let big = Int8Linear::new(&values(big_n * big_k, 1), &values(big_n, 2), big_n, big_k)
            .expect("layer");
        let small = Int8Linear::new(
            &values(small_n * small_k, 3),
            &values(small_n, 4),
            small_n,
            small_k,
        )
        .expect("layer");
        let mut x_small = values(3 * small_k, 6);
        x_small[small_k..2 * small_k].fill(0.0);
        for kernel in Kernel::available() {
            let (mut q, mut out, mut sums) = (QuantRows::default(), Vec::new(), Sums::default());
            q.quantize(&values(5 * big_k, 5), big_k);
            big.forward(kernel, &q, &mut out, false, &mut sums);
            q.quantize(&x_small, small_k);
            small.forward(kernel, &q, &mut out, false, &mut sums);

            let mut fresh_q = QuantRows::default();
            fresh_q.quantize(&x_small, small_k);
            assert_eq!((&q.data, &q.scales), (&fresh_q.data, &fresh_q.scales));
            let mut fresh = Vec::new();
            small.forward(kernel, &fresh_q, &mut fresh, false, &mut Sums::default());
            assert_eq!(out, fresh);
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
        layer.forward(Kernel::detect(), &q, &mut out, true, &mut Sums::default());
        assert_eq!(out, vec![0.5; 4]);
    }
}
