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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_sums_in_the_documented_order() {
        // 19 components: two blocks of eight lanes, then a tail of three.
        let a: Vec<f32> = (0..19).map(|i| 0.1 + i as f32 * 0.37).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.3 - i as f32 * 0.11).collect();
        let mut lanes = [0.0f32; 8];
        for block in 0..2 {
            for (l, lane) in lanes.iter_mut().enumerate() {
                *lane += a[block * 8 + l] * b[block * 8 + l];
            }
        }
        let tail = (16..19).fold(0.0f32, |t, i| t + a[i] * b[i]);
        let expected = (((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])))
            + tail;
        assert_eq!(dot(&a, &b).to_bits(), expected.to_bits());
        // Over the shorter length.
        assert_eq!(dot(&a[..3], &b), dot(&a[..3], &b[..3]));
        assert_eq!(dot(&[], &b), 0.0);
    }

    #[test]
    fn normalize_into_gives_unit_length_or_zeros() {
        let mut out = Vec::new();
        assert!(normalize_into(&[3.0, 4.0], &mut out));
        assert_eq!(out, [0.6, 0.8]);
        assert!(!normalize_into(&[0.0, 0.0, 0.0], &mut out));
        assert_eq!(out, [0.0; 3]);
        assert!(!normalize_into(&[f32::MAX, f32::MAX], &mut out));
        assert_eq!(out, [0.0; 2], "an overflowing norm is unusable");
    }

    #[test]
    fn unit_vector_refuses_what_the_store_cannot_use() {
        let unit = unit_vector(&[2.0, 0.0], 2).expect("valid");
        assert_eq!(unit, [1.0, 0.0]);
        assert_eq!(unit_vector(&[1.0, 0.0], 3), None, "wrong length");
        assert_eq!(unit_vector(&[f32::NAN, 1.0], 2), None, "not finite");
        assert_eq!(unit_vector(&[f32::INFINITY, 1.0], 2), None, "not finite");
        assert_eq!(unit_vector(&[0.0, 0.0], 2), None, "no length");
        assert_eq!(unit_vector(&[], 0), None, "no dimension");
    }
}
