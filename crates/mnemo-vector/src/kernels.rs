//! Distance kernels: dot product, squared Euclidean distance and the
//! asymmetric SQ8 dot product (f32 query against u8 codes, or, where a set
//! has the integer kernel — AVX2's `vpmaddwd`, AVX-512 machines using it too,
//! and simd128's `i32x4.dot_i16x8_s` — an i16-quantised query against them).
//!
//! Every kernel has a scalar reference ([`scalar`]) and, where the machine
//! has them, SIMD versions: AVX-512F and AVX2+FMA on x86-64 (chosen at run
//! time), NEON on AArch64, and simd128 on WebAssembly builds compiled with
//! `-C target-feature=+simd128`. [`kernels`] returns the fastest set this
//! machine supports, detected once; [`available`] lists every set that can run
//! here, which the property tests compare against the scalar reference.
//!
//! Kernels never read past the shorter of their two inputs: callers pass
//! equal lengths, and a mismatch cannot cause an out-of-bounds read.

use std::sync::OnceLock;

/// A set of distance kernels for one instruction set.
#[derive(Clone, Copy)]
pub struct Kernels {
    /// The instruction set, e.g. `"avx2+fma"`.
    pub name: &'static str,
    /// `Σ a[i]·b[i]`.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// `Σ (a[i] − b[i])²`.
    pub l2_squared: fn(&[f32], &[f32]) -> f32,
    /// `Σ a[i]·(codes[i] as f32)`: the SQ8 kernel.
    pub dot_u8: fn(&[f32], &[u8]) -> f32,
    /// [`Self::dot`] of one vector with four others of the same length at
    /// once (one pass over the first, one reduction for all four; with rows
    /// of unequal length the SIMD versions stop at the shortest).
    pub dot4: fn(&[f32], [&[f32]; 4]) -> [f32; 4],
    /// [`Self::l2_squared`] of one vector with four others at once.
    pub l2_squared4: fn(&[f32], [&[f32]; 4]) -> [f32; 4],
    /// [`Self::dot_u8`] of one vector with four code rows at once.
    pub dot_u8_4: fn(&[f32], [&[u8]; 4]) -> [f32; 4],
    /// `Σ q[i]·codes[i]` in exact integer arithmetic, for sets where it
    /// beats [`Self::dot_u8`] (an integer multiply-add the f32 path lacks);
    /// `None` elsewhere. Callers keep `|q[i]| ≤ Q16_LIMIT / len` (see
    /// [`q16_limit`]) so no sum overflows.
    pub dot_q16: Option<DotQ16>,
    /// [`Self::dot_q16`] of one query with four code rows at once.
    pub dot_q16_4: Option<DotQ16x4>,
}

/// An integer SQ8 kernel: an i16 query against one row of u8 codes.
pub type DotQ16 = fn(&[i16], &[u8]) -> i32;

/// An integer SQ8 kernel against four rows of codes at once.
pub type DotQ16x4 = fn(&[i16], [&[u8]; 4]) -> [i32; 4];

/// Largest `|q[i]|` an i16-quantised SQ8 query of `len` components may hold
/// so that `Σ |q[i]|·255` stays within `i32` (in any summation order): at
/// most 16,383, less past about 500 dimensions.
pub fn q16_limit(len: usize) -> i16 {
    let bound = i32::MAX as usize / (255 * len.max(1));
    bound.min(16_383) as i16
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").field("name", &self.name).finish()
    }
}

/// The fastest kernels this machine runs (detected on first use).
pub fn kernels() -> &'static Kernels {
    static BEST: OnceLock<Kernels> = OnceLock::new();
    BEST.get_or_init(|| available().into_iter().next().unwrap_or(SCALAR))
}

/// Every kernel set this machine can run, fastest first; the last is always
/// the scalar reference.
// Which pushes happen depends on the target (on wasm32 without simd128
// only the scalar one does).
#[allow(clippy::vec_init_then_push)]
pub fn available() -> Vec<Kernels> {
    let mut sets = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            sets.push(x86::AVX512);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            sets.push(x86::AVX2);
        }
    }
    #[cfg(target_arch = "aarch64")]
    sets.push(neon::NEON);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    sets.push(wasm::SIMD128);
    sets.push(SCALAR);
    sets
}

/// The scalar reference kernels.
pub const SCALAR: Kernels = Kernels {
    name: "scalar",
    dot: scalar::dot,
    l2_squared: scalar::l2_squared,
    dot_u8: scalar::dot_u8,
    dot4: scalar::dot4,
    l2_squared4: scalar::l2_squared4,
    dot_u8_4: scalar::dot_u8_4,
    dot_q16: None,
    dot_q16_4: None,
};

/// Plain Rust reference implementations (the compiler may still vectorise
/// them; their result is the reference the SIMD kernels are tested against).
pub mod scalar {
    /// `Σ a[i]·b[i]`.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// `Σ (a[i] − b[i])²`.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                let d = x - y;
                d * d
            })
            .sum()
    }

    /// `Σ a[i]·codes[i]`.
    pub fn dot_u8(a: &[f32], codes: &[u8]) -> f32 {
        a.iter().zip(codes).map(|(x, &c)| x * f32::from(c)).sum()
    }

    /// [`dot`] with four vectors.
    pub fn dot4(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        rows.map(|r| dot(a, r))
    }

    /// [`l2_squared`] with four vectors.
    pub fn l2_squared4(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        rows.map(|r| l2_squared(a, r))
    }

    /// [`dot_u8`] with four code rows.
    pub fn dot_u8_4(a: &[f32], rows: [&[u8]; 4]) -> [f32; 4] {
        rows.map(|r| dot_u8(a, r))
    }

    /// `Σ q[i]·codes[i]` (wrapping: callers bound `q` by
    /// [`super::q16_limit`], so it never wraps).
    pub fn dot_q16(q: &[i16], codes: &[u8]) -> i32 {
        q.iter().zip(codes).fold(0i32, |s, (&x, &c)| {
            s.wrapping_add(i32::from(x) * i32::from(c))
        })
    }

    /// [`dot_q16`] with four code rows.
    pub fn dot_q16_4(q: &[i16], rows: [&[u8]; 4]) -> [i32; 4] {
        rows.map(|r| dot_q16(q, r))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Kernels;

    /// AVX2 + FMA: four 8-lane accumulators.
    pub const AVX2: Kernels = Kernels {
        name: "avx2+fma",
        dot: dot_avx2,
        l2_squared: l2_avx2,
        dot_u8: dot_u8_avx2,
        dot4: dot4_avx2,
        l2_squared4: l2_4_avx2,
        dot_u8_4: dot_u8_4_avx2,
        dot_q16: Some(dot_q16_avx2),
        dot_q16_4: Some(dot_q16_4_avx2),
    };

    /// AVX-512F: two 16-lane accumulators.
    pub const AVX512: Kernels = Kernels {
        name: "avx512f",
        dot: dot_avx512,
        l2_squared: l2_avx512,
        dot_u8: dot_u8_avx512,
        dot4: dot4_avx512,
        l2_squared4: l2_4_avx512,
        dot_u8_4: dot_u8_4_avx512,
        // AVX-512F machines have AVX2: its integer kernel serves them too.
        dot_q16: Some(dot_q16_avx2),
        dot_q16_4: Some(dot_q16_4_avx2),
    };

    // The safe wrappers below are only reachable through `AVX2` / `AVX512`,
    // which `available` hands out only after detecting the features.

    fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: AVX2 and FMA were detected before this set was chosen.
        unsafe { dot_avx2_impl(a, b) }
    }

    fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { l2_avx2_impl(a, b) }
    }

    fn dot_u8_avx2(a: &[f32], codes: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_u8_avx2_impl(a, codes) }
    }

    fn dot4_avx2(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        // SAFETY: AVX2 and FMA were detected before this set was chosen.
        unsafe { four_avx2::<false>(a, rows) }
    }

    fn l2_4_avx2(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        // SAFETY: as above.
        unsafe { four_avx2::<true>(a, rows) }
    }

    fn dot_u8_4_avx2(a: &[f32], rows: [&[u8]; 4]) -> [f32; 4] {
        // SAFETY: as above.
        unsafe { dot_u8_4_avx2_impl(a, rows) }
    }

    fn dot_q16_avx2(q: &[i16], codes: &[u8]) -> i32 {
        // SAFETY: as above.
        unsafe { dot_q16_4_avx2_impl::<1>(q, [codes; 4])[0] }
    }

    fn dot_q16_4_avx2(q: &[i16], rows: [&[u8]; 4]) -> [i32; 4] {
        // SAFETY: as above.
        unsafe { dot_q16_4_avx2_impl::<4>(q, rows) }
    }

    fn dot4_avx512(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        // SAFETY: AVX-512F was detected before this set was chosen.
        unsafe { four_avx512::<false>(a, rows) }
    }

    fn l2_4_avx512(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        // SAFETY: as above.
        unsafe { four_avx512::<true>(a, rows) }
    }

    fn dot_u8_4_avx512(a: &[f32], rows: [&[u8]; 4]) -> [f32; 4] {
        // SAFETY: as above.
        unsafe { dot_u8_4_avx512_impl(a, rows) }
    }

    fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: AVX-512F was detected before this set was chosen.
        unsafe { dot_avx512_impl(a, b) }
    }

    fn l2_avx512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { l2_avx512_impl(a, b) }
    }

    fn dot_u8_avx512(a: &[f32], codes: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_u8_avx512_impl(a, codes) }
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum256(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`.
        unsafe {
            while i + 32 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                    let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                    *slot = _mm256_fmadd_ps(x, y, *slot);
                }
                i += 32;
            }
            while i + 8 <= n {
                let x = _mm256_loadu_ps(pa.add(i));
                let y = _mm256_loadu_ps(pb.add(i));
                acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
                i += 8;
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum256(sum);
        for k in i..n {
            total += a[k] * b[k];
        }
        total
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2_avx2_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`.
        unsafe {
            while i + 32 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let d = _mm256_sub_ps(
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                    );
                    *slot = _mm256_fmadd_ps(d, d, *slot);
                }
                i += 32;
            }
            while i + 8 <= n {
                let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
                i += 8;
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum256(sum);
        for k in i..n {
            let d = a[k] - b[k];
            total += d * d;
        }
        total
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u8_avx2_impl(a: &[f32], codes: &[u8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; the 8-byte
        // code loads read exactly 8 bytes.
        unsafe {
            while i + 32 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let bytes = _mm_loadl_epi64(pc.add(i + 8 * j).cast());
                    let c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                    *slot = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8 * j)), c, *slot);
                }
                i += 32;
            }
            while i + 8 <= n {
                let bytes = _mm_loadl_epi64(pc.add(i).cast());
                let c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), c, acc[0]);
                i += 8;
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum256(sum);
        for k in i..n {
            total += a[k] * f32::from(codes[k]);
        }
        total
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; the masked
        // tail load reads only the lanes below `n`.
        unsafe {
            while i + 32 <= n {
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
                s1 = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 16)),
                    _mm512_loadu_ps(pb.add(i + 16)),
                    s1,
                );
                i += 32;
            }
            while i < n {
                let mask = tail_mask(n - i);
                let x = _mm512_maskz_loadu_ps(mask, pa.add(i));
                let y = _mm512_maskz_loadu_ps(mask, pb.add(i));
                s0 = _mm512_fmadd_ps(x, y, s0);
                i += 16;
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn l2_avx512_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY (all loads): as in `dot_avx512_impl`.
        unsafe {
            while i + 32 <= n {
                let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
                let d1 = _mm512_sub_ps(
                    _mm512_loadu_ps(pa.add(i + 16)),
                    _mm512_loadu_ps(pb.add(i + 16)),
                );
                s0 = _mm512_fmadd_ps(d0, d0, s0);
                s1 = _mm512_fmadd_ps(d1, d1, s1);
                i += 32;
            }
            while i < n {
                let mask = tail_mask(n - i);
                let d = _mm512_sub_ps(
                    _mm512_maskz_loadu_ps(mask, pa.add(i)),
                    _mm512_maskz_loadu_ps(mask, pb.add(i)),
                );
                s0 = _mm512_fmadd_ps(d, d, s0);
                i += 16;
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn dot_u8_avx512_impl(a: &[f32], codes: &[u8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; each code load
        // reads exactly 16 bytes.
        unsafe {
            while i + 32 <= n {
                let c0 =
                    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i).cast())));
                let c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                    pc.add(i + 16).cast(),
                )));
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), c0, s0);
                s1 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i + 16)), c1, s1);
                i += 32;
            }
            while i + 16 <= n {
                let c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i).cast())));
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), c, s0);
                i += 16;
            }
        }
        let mut total = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        for k in i..n {
            total += a[k] * f32::from(codes[k]);
        }
        total
    }

    /// The four horizontal sums of four 8-lane vectors, as one 4-lane
    /// vector.
    #[target_feature(enable = "avx2,fma")]
    fn hsum4x256(v: [__m256; 4]) -> [f32; 4] {
        let h01 = _mm256_hadd_ps(v[0], v[1]);
        let h23 = _mm256_hadd_ps(v[2], v[3]);
        let h = _mm256_hadd_ps(h01, h23);
        let sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let mut out = [0.0f32; 4];
        // SAFETY: `out` holds exactly four f32.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), sum) };
        out
    }

    /// The low and high 256-bit halves of a 512-bit vector, added.
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn fold512(v: __m512) -> __m256 {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    }

    /// One vector against four: dot products, or squared distances when
    /// `L2`. Reads only below the shortest length.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn four_avx2<const L2: bool>(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        let n = rows.iter().fold(a.len(), |n, r| n.min(r.len()));
        let pa = a.as_ptr();
        let pr = rows.map(<[f32]>::as_ptr);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`.
        unsafe {
            while i + 8 <= n {
                let x = _mm256_loadu_ps(pa.add(i));
                for (slot, p) in acc.iter_mut().zip(pr) {
                    let y = _mm256_loadu_ps(p.add(i));
                    *slot = if L2 {
                        let d = _mm256_sub_ps(x, y);
                        _mm256_fmadd_ps(d, d, *slot)
                    } else {
                        _mm256_fmadd_ps(x, y, *slot)
                    };
                }
                i += 8;
            }
        }
        let mut out = hsum4x256(acc);
        for k in i..n {
            for (o, r) in out.iter_mut().zip(rows) {
                *o += if L2 {
                    (a[k] - r[k]) * (a[k] - r[k])
                } else {
                    a[k] * r[k]
                };
            }
        }
        out
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_u8_4_avx2_impl(a: &[f32], rows: [&[u8]; 4]) -> [f32; 4] {
        let n = rows.iter().fold(a.len(), |n, r| n.min(r.len()));
        let pa = a.as_ptr();
        let pr = rows.map(<[u8]>::as_ptr);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; each code load
        // reads exactly 8 bytes.
        unsafe {
            while i + 8 <= n {
                let x = _mm256_loadu_ps(pa.add(i));
                for (slot, p) in acc.iter_mut().zip(pr) {
                    let c =
                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p.add(i).cast())));
                    *slot = _mm256_fmadd_ps(x, c, *slot);
                }
                i += 8;
            }
        }
        let mut out = hsum4x256(acc);
        for k in i..n {
            for (o, r) in out.iter_mut().zip(rows) {
                *o += a[k] * f32::from(r[k]);
            }
        }
        out
    }

    /// The integer SQ8 kernel against the first `ROWS` (1 or 4) of `rows`:
    /// 16 codes at a time are widened to i16 and multiplied with the query
    /// by `vpmaddwd` (16 multiplies, 8 exact i32 pair sums per
    /// instruction). Reads only below the shortest length of the rows used.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_q16_4_avx2_impl<const ROWS: usize>(q: &[i16], rows: [&[u8]; 4]) -> [i32; 4] {
        let n = rows[..ROWS].iter().fold(q.len(), |n, r| n.min(r.len()));
        let pq = q.as_ptr();
        let pr = rows.map(<[u8]>::as_ptr);
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`: 16 i16 of the
        // query and 16 code bytes per row per step.
        unsafe {
            while i + 16 <= n {
                let x = _mm256_loadu_si256(pq.add(i).cast());
                for (slot, p) in acc.iter_mut().zip(pr).take(ROWS) {
                    let c = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.add(i).cast()));
                    *slot = _mm256_add_epi32(*slot, _mm256_madd_epi16(x, c));
                }
                i += 16;
            }
        }
        let mut out = [0i32; 4];
        for r in 0..ROWS {
            let v = acc[r];
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            let mut total = _mm_cvtsi128_si32(s);
            for k in i..n {
                total = total.wrapping_add(i32::from(q[k]) * i32::from(rows[r][k]));
            }
            out[r] = total;
        }
        out
    }

    /// One vector against four with 16-lane registers (see `four_avx2`).
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn four_avx512<const L2: bool>(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        let n = rows.iter().fold(a.len(), |n, r| n.min(r.len()));
        let pa = a.as_ptr();
        let pr = rows.map(<[f32]>::as_ptr);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; masked loads
        // read only lanes below `n`.
        unsafe {
            while i < n {
                let mask = tail_mask(n - i);
                let x = _mm512_maskz_loadu_ps(mask, pa.add(i));
                for (slot, p) in acc.iter_mut().zip(pr) {
                    let y = _mm512_maskz_loadu_ps(mask, p.add(i));
                    *slot = if L2 {
                        let d = _mm512_sub_ps(x, y);
                        _mm512_fmadd_ps(d, d, *slot)
                    } else {
                        _mm512_fmadd_ps(x, y, *slot)
                    };
                }
                i += 16;
            }
        }
        hsum4x256([
            fold512(acc[0]),
            fold512(acc[1]),
            fold512(acc[2]),
            fold512(acc[3]),
        ])
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn dot_u8_4_avx512_impl(a: &[f32], rows: [&[u8]; 4]) -> [f32; 4] {
        let n = rows.iter().fold(a.len(), |n, r| n.min(r.len()));
        let pa = a.as_ptr();
        let pr = rows.map(<[u8]>::as_ptr);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`; each code load
        // reads exactly 16 bytes.
        unsafe {
            while i + 16 <= n {
                let x = _mm512_loadu_ps(pa.add(i));
                for (slot, p) in acc.iter_mut().zip(pr) {
                    let c =
                        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(i).cast())));
                    *slot = _mm512_fmadd_ps(x, c, *slot);
                }
                i += 16;
            }
        }
        let mut out = hsum4x256([
            fold512(acc[0]),
            fold512(acc[1]),
            fold512(acc[2]),
            fold512(acc[3]),
        ]);
        for k in i..n {
            for (o, r) in out.iter_mut().zip(rows) {
                *o += a[k] * f32::from(r[k]);
            }
        }
        out
    }

    /// A mask of the lowest `min(left, 16)` lanes.
    #[inline]
    fn tail_mask(left: usize) -> __mmask16 {
        if left >= 16 {
            0xffff
        } else {
            ((1u32 << left) - 1) as __mmask16
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    use super::Kernels;

    /// NEON: four 4-lane accumulators (NEON is part of every AArch64 CPU).
    pub const NEON: Kernels = Kernels {
        name: "neon",
        dot,
        l2_squared,
        dot_u8,
        dot4: |a, rows| rows.map(|r| dot(a, r)),
        l2_squared4: |a, rows| rows.map(|r| l2_squared(a, r)),
        dot_u8_4: |a, rows| rows.map(|r| dot_u8(a, r)),
        dot_q16: None,
        dot_q16_4: None,
    };

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY: NEON is always present on AArch64; every offset read is
        // below `n`.
        let mut total = unsafe {
            let mut acc = [vdupq_n_f32(0.0); 4];
            while i + 16 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    *slot = vfmaq_f32(
                        *slot,
                        vld1q_f32(pa.add(i + 4 * j)),
                        vld1q_f32(pb.add(i + 4 * j)),
                    );
                }
                i += 16;
            }
            while i + 4 <= n {
                acc[0] = vfmaq_f32(acc[0], vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
                i += 4;
            }
            vaddvq_f32(vaddq_f32(
                vaddq_f32(acc[0], acc[1]),
                vaddq_f32(acc[2], acc[3]),
            ))
        };
        for k in i..n {
            total += a[k] * b[k];
        }
        total
    }

    fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY: as in `dot`.
        let mut total = unsafe {
            let mut acc = [vdupq_n_f32(0.0); 4];
            while i + 16 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let d = vsubq_f32(vld1q_f32(pa.add(i + 4 * j)), vld1q_f32(pb.add(i + 4 * j)));
                    *slot = vfmaq_f32(*slot, d, d);
                }
                i += 16;
            }
            while i + 4 <= n {
                let d = vsubq_f32(vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
                acc[0] = vfmaq_f32(acc[0], d, d);
                i += 4;
            }
            vaddvq_f32(vaddq_f32(
                vaddq_f32(acc[0], acc[1]),
                vaddq_f32(acc[2], acc[3]),
            ))
        };
        for k in i..n {
            let d = a[k] - b[k];
            total += d * d;
        }
        total
    }

    fn dot_u8(a: &[f32], codes: &[u8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let mut i = 0;
        // SAFETY: as in `dot`; each code load reads exactly 8 bytes.
        let mut total = unsafe {
            let (mut s0, mut s1) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
            while i + 8 <= n {
                let wide = vmovl_u8(vld1_u8(pc.add(i)));
                let lo = vcvtq_f32_u32(vmovl_u16(vget_low_u16(wide)));
                let hi = vcvtq_f32_u32(vmovl_u16(vget_high_u16(wide)));
                s0 = vfmaq_f32(s0, vld1q_f32(pa.add(i)), lo);
                s1 = vfmaq_f32(s1, vld1q_f32(pa.add(i + 4)), hi);
                i += 8;
            }
            vaddvq_f32(vaddq_f32(s0, s1))
        };
        for k in i..n {
            total += a[k] * f32::from(codes[k]);
        }
        total
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use std::arch::wasm32::*;

    use super::Kernels;

    /// WebAssembly simd128 (multiply then add: simd128 has no fused
    /// multiply-add). Single rows run four 4-lane accumulators over 16
    /// values a step; the four-row kernels load each query block once for
    /// the four rows (5 loads per 4 blocks instead of 8): about 30% less
    /// time per row than four single-row calls in V8.
    pub const SIMD128: Kernels = Kernels {
        name: "simd128",
        dot,
        l2_squared,
        dot_u8,
        dot4,
        l2_squared4,
        dot_u8_4: |a, rows| rows.map(|r| dot_u8(a, r)),
        dot_q16: Some(dot_q16),
        dot_q16_4: Some(dot_q16_4),
    };

    #[inline(always)]
    fn sum4(v: v128) -> f32 {
        f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v)
    }

    /// The four-lane block at `p + i`.
    ///
    /// # Safety
    /// `p + i .. p + i + 4` must be in bounds.
    #[inline(always)]
    unsafe fn at(p: *const f32, i: usize) -> v128 {
        // SAFETY: the caller keeps the block in bounds; v128_load takes
        // unaligned addresses.
        unsafe { v128_load(p.add(i).cast()) }
    }

    /// `f(a[i..i+4], b[i..i+4])` summed over the blocks, then `tail` over
    /// the last `n % 4` values.
    #[inline(always)]
    fn reduce(
        a: &[f32],
        b: &[f32],
        step: impl Fn(v128, v128) -> v128,
        tail: impl Fn(f32, f32) -> f32,
    ) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [f32x4_splat(0.0); 4];
        let mut i = 0;
        // SAFETY: simd128 is enabled at compile time; every block read ends
        // at or below `n`.
        unsafe {
            while i + 16 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    *slot = f32x4_add(*slot, step(at(pa, i + 4 * j), at(pb, i + 4 * j)));
                }
                i += 16;
            }
            while i + 4 <= n {
                acc[0] = f32x4_add(acc[0], step(at(pa, i), at(pb, i)));
                i += 4;
            }
        }
        let mut total = sum4(f32x4_add(
            f32x4_add(acc[0], acc[1]),
            f32x4_add(acc[2], acc[3]),
        ));
        for k in i..n {
            total += tail(a[k], b[k]);
        }
        total
    }

    /// [`reduce`] of one query against four rows: each query block is
    /// loaded once, and the five pointers step together (the shape V8
    /// compiles tightest, measured against wider unrolls).
    #[inline(always)]
    fn reduce4(
        a: &[f32],
        rows: [&[f32]; 4],
        step: impl Fn(v128, v128) -> v128,
        tail: impl Fn(f32, f32) -> f32,
    ) -> [f32; 4] {
        let n = rows.iter().fold(a.len(), |n, r| n.min(r.len()));
        let blocks = n / 4;
        let mut acc = [f32x4_splat(0.0); 4];
        let mut pa = a.as_ptr();
        let mut pr = rows.map(<[f32]>::as_ptr);
        // SAFETY: as in `reduce`, with `n` the shortest of the five slices:
        // every pointer advances by `blocks` blocks of 4, ending at or
        // below its slice's end.
        unsafe {
            for _ in 0..blocks {
                let q = at(pa, 0);
                for r in 0..4 {
                    acc[r] = f32x4_add(acc[r], step(q, at(pr[r], 0)));
                    pr[r] = pr[r].add(4);
                }
                pa = pa.add(4);
            }
        }
        let done = blocks * 4;
        let mut out = acc.map(sum4);
        for (r, total) in out.iter_mut().enumerate() {
            for k in done..n {
                *total += tail(a[k], rows[r][k]);
            }
        }
        out
    }

    #[inline(always)]
    fn mul(a: v128, b: v128) -> v128 {
        f32x4_mul(a, b)
    }

    #[inline(always)]
    fn sq_diff(a: v128, b: v128) -> v128 {
        let d = f32x4_sub(a, b);
        f32x4_mul(d, d)
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        reduce(a, b, mul, |x, y| x * y)
    }

    fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        reduce(a, b, sq_diff, |x, y| (x - y) * (x - y))
    }

    fn dot4(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        reduce4(a, rows, mul, |x, y| x * y)
    }

    fn l2_squared4(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        reduce4(a, rows, sq_diff, |x, y| (x - y) * (x - y))
    }

    /// Eight codes (widened to i16 lanes as they load) against eight
    /// query values: `i32x4.dot_i16x8_s`, eight multiply-adds in one
    /// instruction.
    ///
    /// # Safety
    /// `codes .. codes + 8` must be in bounds.
    #[inline(always)]
    unsafe fn q16_step(acc: v128, q: v128, codes: *const u8) -> v128 {
        // SAFETY: the caller keeps the 8 bytes in bounds.
        i32x4_add(
            acc,
            i32x4_dot_i16x8(unsafe { u16x8_load_extend_u8x8(codes) }, q),
        )
    }

    #[inline(always)]
    fn sum_i32x4(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v)
            .wrapping_add(i32x4_extract_lane::<1>(v))
            .wrapping_add(i32x4_extract_lane::<2>(v))
            .wrapping_add(i32x4_extract_lane::<3>(v))
    }

    fn dot_q16(q: &[i16], codes: &[u8]) -> i32 {
        let n = q.len().min(codes.len());
        let blocks = n / 16;
        let (mut lo, mut hi) = (i32x4_splat(0), i32x4_splat(0));
        let (mut pq, mut pc) = (q.as_ptr(), codes.as_ptr());
        // SAFETY: as in `dot_q16_4`, for one row.
        unsafe {
            for _ in 0..blocks {
                lo = q16_step(lo, v128_load(pq.cast()), pc);
                hi = q16_step(hi, v128_load(pq.add(8).cast()), pc.add(8));
                pq = pq.add(16);
                pc = pc.add(16);
            }
        }
        let mut total = sum_i32x4(i32x4_add(lo, hi));
        for k in blocks * 16..n {
            total = total.wrapping_add(i32::from(q[k]) * i32::from(codes[k]));
        }
        total
    }

    /// Each 16-value query block is loaded once for the four rows; two
    /// accumulators per row.
    fn dot_q16_4(q: &[i16], rows: [&[u8]; 4]) -> [i32; 4] {
        let n = rows.iter().fold(q.len(), |n, r| n.min(r.len()));
        let blocks = n / 16;
        let mut lo = [i32x4_splat(0); 4];
        let mut hi = [i32x4_splat(0); 4];
        let mut pq = q.as_ptr();
        let mut pr = rows.map(<[u8]>::as_ptr);
        // SAFETY: simd128 is enabled at compile time; every pointer advances
        // by `blocks` blocks of 16 values (32 query bytes, 16 code bytes),
        // ending at or below the end of the shortest slice; v128_load takes
        // unaligned addresses.
        unsafe {
            for _ in 0..blocks {
                let q0 = v128_load(pq.cast());
                let q1 = v128_load(pq.add(8).cast());
                for r in 0..4 {
                    lo[r] = q16_step(lo[r], q0, pr[r]);
                    hi[r] = q16_step(hi[r], q1, pr[r].add(8));
                    pr[r] = pr[r].add(16);
                }
                pq = pq.add(16);
            }
        }
        let done = blocks * 16;
        let mut out = [0i32; 4];
        for (r, total) in out.iter_mut().enumerate() {
            *total = sum_i32x4(i32x4_add(lo[r], hi[r]));
            for k in done..n {
                *total = total.wrapping_add(i32::from(q[k]) * i32::from(rows[r][k]));
            }
        }
        out
    }

    fn dot_u8(a: &[f32], codes: &[u8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let mut i = 0;
        // SAFETY: as in `reduce`; each code load reads exactly 8 bytes.
        unsafe {
            while i + 8 <= n {
                let wide = u16x8_load_extend_u8x8(pc.add(i));
                let lo = f32x4_convert_u32x4(u32x4_extend_low_u16x8(wide));
                let hi = f32x4_convert_u32x4(u32x4_extend_high_u16x8(wide));
                s0 = f32x4_add(s0, f32x4_mul(at(pa, i), lo));
                s1 = f32x4_add(s1, f32x4_mul(at(pa, i + 4), hi));
                i += 8;
            }
        }
        let mut total = sum4(f32x4_add(s0, s1));
        for k in i..n {
            total += a[k] * f32::from(codes[k]);
        }
        total
    }
}

/// Hints the CPU to start loading the cache line holding `ptr` (a no-op
/// where the architecture has no stable prefetch instruction).
#[inline(always)]
pub(crate) fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never faults, whatever the address; SSE is part of
    // the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_set_is_listed_first_and_scalar_last() {
        let sets = available();
        assert_eq!(sets[0].name, kernels().name);
        assert_eq!(sets.last().map(|k| k.name), Some("scalar"));
    }

    #[test]
    fn kernels_handle_every_tail_length() {
        for set in available() {
            for n in 0..70 {
                let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
                let b: Vec<f32> = (0..n).map(|i| 2.0 - i as f32 * 0.25).collect();
                let c: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
                let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * (1.0 + y.abs());
                assert!(
                    close((set.dot)(&a, &b), scalar::dot(&a, &b)),
                    "{} dot {n}",
                    set.name
                );
                assert!(
                    close((set.l2_squared)(&a, &b), scalar::l2_squared(&a, &b)),
                    "{} l2 {n}",
                    set.name
                );
                assert!(
                    close((set.dot_u8)(&a, &c), scalar::dot_u8(&a, &c)),
                    "{} dot_u8 {n}",
                    set.name
                );
                let rev: Vec<f32> = b.iter().rev().copied().collect();
                let rows: [&[f32]; 4] = [&b, &a, &rev, &a];
                let codes: [&[u8]; 4] = [&c, &c, &c, &c];
                let checks = [
                    ("dot4", (set.dot4)(&a, rows), scalar::dot4(&a, rows)),
                    (
                        "l2_4",
                        (set.l2_squared4)(&a, rows),
                        scalar::l2_squared4(&a, rows),
                    ),
                    (
                        "dot_u8_4",
                        (set.dot_u8_4)(&a, codes),
                        scalar::dot_u8_4(&a, codes),
                    ),
                ];
                for (what, got, want) in checks {
                    for j in 0..4 {
                        assert!(close(got[j], want[j]), "{} {what} {n}", set.name);
                    }
                }
                if let (Some(one), Some(four)) = (set.dot_q16, set.dot_q16_4) {
                    let limit = q16_limit(n);
                    let q: Vec<i16> = (0..n)
                        .map(|i| (i as i16 * 97 % (2 * limit + 1)) - limit)
                        .collect();
                    let c2: Vec<u8> = c.iter().rev().copied().collect();
                    assert_eq!(
                        one(&q, &c),
                        scalar::dot_q16(&q, &c),
                        "{} dot_q16 {n}",
                        set.name
                    );
                    assert_eq!(
                        four(&q, [&c, &c2, &c, &c2]),
                        scalar::dot_q16_4(&q, [&c, &c2, &c, &c2]),
                        "{} dot_q16_4 {n}",
                        set.name
                    );
                    let _ = four(&q, [&c[..n / 3], &c, &c, &c]);
                }
                // Rows of other lengths are read only up to the shortest.
                let _ = (set.dot4)(&a, [&b[..n / 2], &a, &b, &[]]);
                let _ = (set.dot_u8_4)(&a, [&c[..n / 3], &c, &c, &c]);
            }
        }
    }

    #[test]
    fn the_q16_bound_keeps_every_sum_within_i32() {
        for len in [1usize, 16, 384, 500, 1536, 4096, 65_536] {
            let limit = i64::from(q16_limit(len));
            assert!((1..=16_383).contains(&limit));
            assert!(limit * 255 * len as i64 <= i64::from(i32::MAX), "{len}");
            let worst = vec![q16_limit(len); len];
            assert_eq!(
                i64::from(scalar::dot_q16(&worst, &vec![255u8; len])),
                limit * 255 * len as i64
            );
        }
    }

    #[test]
    fn mismatched_lengths_use_the_shorter() {
        for set in available() {
            assert_eq!((set.dot)(&[1.0, 2.0, 3.0], &[1.0]), 1.0);
            assert_eq!((set.l2_squared)(&[1.0], &[3.0, 9.0]), 4.0);
            assert_eq!((set.dot_u8)(&[2.0; 40], &[1; 3]), 6.0);
        }
    }
}
