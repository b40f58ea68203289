//! Spherical k-means on flat arrays of unit vectors: the [`Centres`] with
//! their sketches, Lloyd iterations ([`lloyd`]), k-means++ seeding
//! ([`kmeanspp`]) and the [`SplitMix64`] stream that seeds it.
//!
//! Nothing here knows the store: [`PatternStore::refine`] feeds it points
//! and applies the centres it returns.
//!
//! [`PatternStore::refine`]: super::PatternStore::refine

use super::arith::{dot, normalize_into};
use super::sketch::{SKETCH_MIN_DIMENSION, ScanKey, Scratch, scan_top, sketch_into, sketch_words};

/// Largest `k` for which refinement also tries a k-means++ seeding and
/// assigns points by exact comparison with every centre.
pub const KMEANSPP_MAX_K: usize = 64;
/// Centres verified exactly per point when `k >` [`KMEANSPP_MAX_K`].
pub const REFINE_CANDIDATES: usize = 16;

/// A SplitMix64 stream (Steele, Lea & Flood): tiny, fast, and the same
/// sequence everywhere, so refinement needs no `rand` dependency.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `[0, 1)` with 53 random bits.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The centres of a k-means run, with their sketches.
pub(super) struct Centres {
    dimension: usize,
    words: usize,
    rows: Vec<f32>,
    sketches: Vec<u64>,
}

impl Centres {
    pub(super) fn new(dimension: usize, rows: Vec<f32>) -> Self {
        debug_assert!(
            rows.len().is_multiple_of(dimension.max(1)),
            "centres are whole rows of the dimension"
        );
        let mut centres = Self {
            dimension,
            words: sketch_words(dimension),
            rows,
            sketches: Vec::new(),
        };
        centres.resketch();
        centres
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len() / self.dimension.max(1)
    }

    fn row(&self, c: usize) -> &[f32] {
        self.rows
            .get(c * self.dimension..(c + 1) * self.dimension)
            .unwrap_or(&[])
    }

    fn resketch(&mut self) {
        let k = self.len();
        self.sketches.clear();
        self.sketches.resize(k * self.words, 0);
        if self.words == 0 {
            return;
        }
        for (row, sketch) in self
            .rows
            .chunks_exact(self.dimension)
            .zip(self.sketches.chunks_exact_mut(self.words))
        {
            sketch_into(row, sketch);
        }
    }

    /// The nearest centre to the unit vector `p` and its cosine (ties: lower
    /// index): exact over every centre up to [`KMEANSPP_MAX_K`] centres,
    /// else exact over the [`REFINE_CANDIDATES`] sketch-nearest.
    pub(super) fn nearest(&self, p: &[f32], scratch: &mut Scratch) -> (usize, f32) {
        let k = self.len();
        let mut best = (0usize, f32::NEG_INFINITY);
        let mut consider = |c: usize| {
            let cos = dot(p, self.row(c));
            if cos > best.1 {
                best = (c, cos);
            }
        };
        if k <= KMEANSPP_MAX_K || self.dimension < SKETCH_MIN_DIMENSION {
            (0..k).for_each(&mut consider);
        } else {
            scratch.sketch.clear();
            scratch.sketch.resize(self.words, 0);
            sketch_into(p, &mut scratch.sketch);
            let key = ScanKey::Closeness {
                bits: self.dimension as u32,
            };
            scan_top(
                &scratch.sketch,
                &self.sketches,
                key,
                REFINE_CANDIDATES,
                &mut scratch.buf,
                &mut scratch.picked,
            );
            scratch.picked.iter().for_each(|&c| consider(c as usize));
        }
        if best.1 == f32::NEG_INFINITY {
            best.1 = 0.0;
        }
        best
    }
}

/// One assignment pass: every point to its nearest centre. Returns whether
/// any assignment changed and the inertia `Σ (1 − cos)`.
fn assign_pass(
    centres: &Centres,
    points: &[f32],
    assignment: &mut [usize],
    scratch: &mut Scratch,
) -> (bool, f64) {
    let d = centres.dimension.max(1);
    let mut changed = false;
    let mut inertia = 0.0f64;
    for (p, a) in points.chunks_exact(d).zip(assignment.iter_mut()) {
        let (c, cos) = centres.nearest(p, scratch);
        if *a != c {
            *a = c;
            changed = true;
        }
        inertia += f64::from(1.0 - cos).max(0.0);
    }
    (changed, inertia)
}

/// Spherical Lloyd iterations (at most `iterations`, fewer once no
/// assignment changes); a centre that loses every point keeps its place.
/// Returns the final inertia.
pub(super) fn lloyd(centres: &mut Centres, points: &[f32], iterations: usize) -> f64 {
    let d = centres.dimension.max(1);
    debug_assert!(points.len().is_multiple_of(d), "points are whole rows");
    let n = points.len() / d;
    let k = centres.len();
    let mut assignment = vec![usize::MAX; n];
    let mut scratch = Scratch::default();
    let mut unit = Vec::with_capacity(d);
    for _ in 0..iterations {
        let (changed, inertia) = assign_pass(centres, points, &mut assignment, &mut scratch);
        if !changed {
            return inertia;
        }
        let mut sums = vec![0.0f32; k * d];
        let mut counts = vec![0usize; k];
        for (p, &c) in points.chunks_exact(d).zip(&assignment) {
            if let Some(sum) = sums.get_mut(c * d..(c + 1) * d) {
                for (s, &x) in sum.iter_mut().zip(p) {
                    *s += x;
                }
                counts[c] += 1;
            }
        }
        for (c, sum) in sums.chunks_exact(d).enumerate() {
            if counts[c] > 0 && normalize_into(sum, &mut unit) {
                centres.rows[c * d..(c + 1) * d].copy_from_slice(&unit);
            }
        }
        centres.resketch();
    }
    assign_pass(centres, points, &mut assignment, &mut scratch).1
}

/// k-means++ seeding (Arthur & Vassilvitskii) in its spherical form: the
/// first centre uniform, each next one drawn with probability proportional
/// to `1 − cos` to its nearest chosen centre (`= |a − b|²/2` for unit
/// vectors). `points` holds at least `k ≥ 1` rows.
pub(super) fn kmeanspp(
    points: &[f32],
    dimension: usize,
    k: usize,
    rng: &mut SplitMix64,
) -> Centres {
    let d = dimension.max(1);
    let n = points.len() / d;
    // The caller (refinement) seeds only when it has at least k points.
    debug_assert!(k >= 1 && n >= k, "k-means++ needs k ≥ 1 and k points");
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let mut rows = Vec::with_capacity(k * d);
    let first = rng.below(n);
    rows.extend_from_slice(row(first));
    let mut dist: Vec<f64> = (0..n)
        .map(|i| f64::from(1.0 - dot(row(i), row(first))).max(0.0))
        .collect();
    for _ in 1..k {
        let total: f64 = dist.iter().sum();
        let pick = if total > 0.0 {
            let r = rng.unit() * total;
            let mut acc = 0.0f64;
            let mut pick = None;
            let mut last_positive = 0;
            for (i, &x) in dist.iter().enumerate() {
                if x > 0.0 {
                    last_positive = i;
                }
                acc += x;
                if acc > r {
                    pick = Some(i);
                    break;
                }
            }
            pick.unwrap_or(last_positive)
        } else {
            rng.below(n)
        };
        let chosen = row(pick);
        rows.extend_from_slice(chosen);
        for (i, x) in dist.iter_mut().enumerate() {
            *x = x.min(f64::from(1.0 - dot(row(i), chosen)).max(0.0));
        }
    }
    Centres::new(dimension, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::arith::unit_vector;

    /// `n` unit points near each of the axes `axes` of `dimension`.
    fn planted(dimension: usize, axes: &[usize], n: usize, rng: &mut SplitMix64) -> Vec<f32> {
        let mut points = Vec::new();
        for i in 0..n {
            let axis = axes[i % axes.len()];
            let v: Vec<f32> = (0..dimension)
                .map(|j| f32::from(u8::from(j == axis)) + 0.2 * (rng.unit() as f32 - 0.5))
                .collect();
            points.extend(unit_vector(&v, dimension).expect("valid"));
        }
        points
    }

    #[test]
    fn splitmix64_is_the_reference_stream() {
        // The published SplitMix64 outputs for seed 0: snapshots and
        // suggestions depend on this exact stream.
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
        let mut rng = SplitMix64(42);
        for n in [1usize, 2, 3, 1000] {
            assert!(rng.below(n) < n);
        }
        assert!(
            (0..1000)
                .map(|_| rng.unit())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }

    #[test]
    fn lloyd_recovers_planted_clusters_from_a_poor_start() {
        let dim = 8;
        let mut rng = SplitMix64(9);
        let points = planted(dim, &[0, 3, 6], 300, &mut rng);
        // Each centre starts between its cluster and the next one.
        let axes = [0, 3, 6];
        let start: Vec<f32> = (0..3)
            .flat_map(|c| {
                let mut v = vec![0.0f32; dim];
                v[axes[c]] = 1.0;
                v[axes[(c + 1) % 3]] = 0.7;
                unit_vector(&v, dim).expect("valid")
            })
            .collect();
        let mut centres = Centres::new(dim, start);
        let poor = lloyd(&mut Centres::new(dim, centres.rows.clone()), &points, 0);
        let inertia = lloyd(&mut centres, &points, 20);
        assert!(inertia < poor, "{inertia} < {poor}");
        let mut scratch = Scratch::default();
        for (c, &axis) in axes.iter().enumerate() {
            let mut e = vec![0.0; dim];
            e[axis] = 1.0;
            let (nearest, cos) = centres.nearest(&e, &mut scratch);
            assert_eq!(nearest, c, "centre {c} moved onto its cluster");
            assert!(cos > 0.99, "{cos}");
        }
    }

    #[test]
    fn kmeanspp_seeds_distinct_points_deterministically() {
        let dim = 8;
        let mut rng = SplitMix64(1);
        let points = planted(dim, &[1, 4, 7], 90, &mut rng);
        let a = kmeanspp(&points, dim, 3, &mut SplitMix64(5));
        let b = kmeanspp(&points, dim, 3, &mut SplitMix64(5));
        assert_eq!(a.rows, b.rows, "same seed, same centres");
        assert_eq!(a.len(), 3);
        for c in 0..3 {
            assert!(
                points.chunks_exact(dim).any(|p| p == a.row(c)),
                "a centre is a point"
            );
        }
        // D² sampling spreads the seeds: three tight clusters get one
        // centre each for almost every seed (uniform picks would for 2/9).
        let spread = (0..50u64)
            .filter(|&seed| {
                let centres = kmeanspp(&points, dim, 3, &mut SplitMix64(seed));
                let mut axes: Vec<usize> = (0..3)
                    .map(|c| {
                        let row = centres.row(c);
                        (0..dim)
                            .max_by(|&i, &j| row[i].total_cmp(&row[j]))
                            .unwrap_or(0)
                    })
                    .collect();
                axes.sort_unstable();
                axes == [1, 4, 7]
            })
            .count();
        assert!(spread >= 45, "{spread}/50 seedings hit every cluster");
    }

    #[test]
    fn sketch_nearest_agrees_with_exact_on_separated_centres() {
        let dim = 128;
        let k = KMEANSPP_MAX_K + 36;
        let mut rows = Vec::new();
        for c in 0..k {
            let mut v = vec![0.0f32; dim];
            v[c] = 1.0;
            v[(c + 17) % dim] = 0.5;
            rows.extend(unit_vector(&v, dim).expect("valid"));
        }
        let centres = Centres::new(dim, rows);
        let mut scratch = Scratch::default();
        for c in 0..k {
            let (nearest, cos) = centres.nearest(centres.row(c), &mut scratch);
            assert_eq!(nearest, c);
            assert!((cos - 1.0).abs() < 1e-6);
        }
    }
}
