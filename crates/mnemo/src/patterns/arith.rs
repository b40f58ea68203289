//! Deterministic vector arithmetic: the dot product, normalisation and the
//! validation of task vectors that every state-changing path uses.
//!
//! Fixed summation order, no fused multiply-add, no SIMD kernels whose lane
//! count depends on the CPU: the same bits on every platform (see the
//! module docs of [`crate::patterns`] on determinism).

/// `Σ a[i]·b[i]` over the shorter length, in a fixed order: eight
/// interleaved partial sums (lane `i mod 8`), combined as
/// `((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7))`, then the tail in order.
/// No fused multiply-add, no CPU-dependent lane count: the same bits on
/// every platform.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])))
        + tail
}

/// `v / |v|` into `out` (resized to `v.len()`); all zeros when `|v|` is 0
/// or not finite. Returns whether the norm was usable.
pub(super) fn normalize_into(v: &[f32], out: &mut Vec<f32>) -> bool {
    out.clear();
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        out.extend(v.iter().map(|x| x / norm));
        true
    } else {
        out.resize(v.len(), 0.0);
        false
    }
}

/// The normalised copy of a task vector of `dimension` components, or
/// `None` if it has another length, a non-finite component or no length.
pub(super) fn unit_vector(v: &[f32], dimension: usize) -> Option<Vec<f32>> {
    if v.len() != dimension || dimension == 0 || !v.iter().all(|x| x.is_finite()) {
        return None;
    }
    let mut out = Vec::with_capacity(dimension);
    normalize_into(v, &mut out).then_some(out)
}
