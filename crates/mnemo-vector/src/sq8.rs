//! SQ8 scalar quantisation: every component stored as one byte on a
//! per-dimension range, `x[i] ≈ min[i] + scale[i] · code[i]`.
//!
//! Searches compare the f32 query with the codes directly (the asymmetric
//! distance, [`crate::kernels::Kernels::dot_u8`]): with
//! `q'[i] = q[i] · scale[i]` and `offset = Σ q[i] · min[i]`,
//! `q · x ≈ offset + Σ q'[i] · code[i]`, and the squared Euclidean distance is
//! `|q|² − 2 q·x + |x|²` with `|x|²` (of the decoded vector) stored per row.
//! Graph traversal reads 4 times fewer bytes per vector; the best candidates
//! are re-ranked with the f32 vectors.

use crate::kernels::{DotQ16, DotQ16x4, Kernels, q16_limit};
use crate::metric::Metric;

/// The ranges and the codes of every stored vector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sq8 {
    /// Per-dimension minimum.
    pub min: Vec<f32>,
    /// Per-dimension step (`(max − min) / 255`, 0 for a constant dimension).
    pub scale: Vec<f32>,
    /// One row of `dimension` codes per slot.
    pub codes: Vec<u8>,
    /// `|decoded row|²` per slot (used by the L2 metric).
    pub norms: Vec<f32>,
}

impl Sq8 {
    /// Overwrites slot `slot`'s codes with zeros (its row decodes to the
    /// per-dimension minimum) and sets its norm to match.
    pub fn erase(&mut self, slot: usize, dimension: usize) {
        if let Some(row) = self.codes.get_mut(slot * dimension..(slot + 1) * dimension) {
            row.fill(0);
        }
        if let Some(norm) = self.norms.get_mut(slot) {
            *norm = self.min.iter().map(|m| m * m).sum();
        }
    }

    /// Ranges fitted to `vectors` (rows of `dimension`), with every row
    /// encoded.
    pub fn train(dimension: usize, vectors: &[f32]) -> Self {
        let mut min = vec![f32::INFINITY; dimension];
        let mut max = vec![f32::NEG_INFINITY; dimension];
        for row in vectors.chunks_exact(dimension) {
            for ((lo, hi), &x) in min.iter_mut().zip(&mut max).zip(row) {
                *lo = lo.min(x);
                *hi = hi.max(x);
            }
        }
        let scale = min
            .iter_mut()
            .zip(&max)
            .map(|(lo, &hi)| {
                if !lo.is_finite() {
                    *lo = 0.0;
                    return 0.0;
                }
                // A range wider than f32::MAX (hi − lo overflows) still
                // gets a finite step, so the index encodes and decodes.
                let step = (hi - *lo) / 255.0;
                let step = if step.is_finite() {
                    step
                } else {
                    hi / 255.0 - *lo / 255.0
                };
                step.max(0.0)
            })
            .collect();
        let mut sq8 = Self {
            min,
            scale,
            codes: Vec::with_capacity(vectors.len()),
            norms: Vec::with_capacity(vectors.len() / dimension.max(1)),
        };
        for row in vectors.chunks_exact(dimension) {
            sq8.push(row);
        }
        sq8.debug_check(dimension, vectors.len() / dimension.max(1));
        sq8
    }

    /// Asserts, in debug builds, what the distances and the encoder rely
    /// on: one range per dimension with a finite minimum and a finite step
    /// that is not negative, and codes and norms for `rows` rows.
    pub fn debug_check(&self, dimension: usize, rows: usize) {
        if !cfg!(debug_assertions) {
            return;
        }
        debug_assert!(
            self.min.len() == dimension && self.scale.len() == dimension,
            "SQ8 ranges for {} dimensions in an index of {dimension}",
            self.min.len()
        );
        debug_assert!(
            self.min.iter().all(|x| x.is_finite())
                && self.scale.iter().all(|&s| s >= 0.0 && s.is_finite()),
            "SQ8 ranges not finite: min {:?}, scale {:?}",
            self.min,
            self.scale
        );
        debug_assert!(
            self.codes.len() == rows * dimension && self.norms.len() == rows,
            "SQ8 codes or norms for other than {rows} rows"
        );
    }

    /// Encodes and appends one row (components outside the trained range
    /// are clamped to it). A norm too large for an f32 is kept as
    /// `f32::MAX`: every stored norm is finite, as the decoder requires.
    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.min.len(), "row dimension");
        crate::grow::reserve(&mut self.codes, row.len());
        crate::grow::reserve(&mut self.norms, 1);
        let mut norm = 0.0f32;
        for ((&x, &lo), &step) in row.iter().zip(&self.min).zip(&self.scale) {
            let code = if step > 0.0 {
                ((x - lo) / step).round().clamp(0.0, 255.0) as u8
            } else {
                0
            };
            let decoded = lo + step * f32::from(code);
            norm += decoded * decoded;
            self.codes.push(code);
        }
        self.norms
            .push(if norm.is_finite() { norm } else { f32::MAX });
    }

    /// The codes of `slot`.
    #[inline(always)]
    pub fn row(&self, slot: u32, dimension: usize) -> &[u8] {
        let at = slot as usize * dimension;
        &self.codes[at..at + dimension]
    }

    /// Writes the decoded row of `slot` to `out`.
    pub fn decode_into(&self, slot: u32, dimension: usize, out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.row(slot, dimension)
                .iter()
                .zip(self.min.iter().zip(&self.scale))
                .map(|(&c, (&lo, &step))| lo + step * f32::from(c)),
        );
    }

    /// Prepares a query: fills `scaled` with `q[i] · scale[i]` and returns
    /// `(Σ q[i] · min[i], |q|²)`.
    pub fn prepare_query(&self, query: &[f32], scaled: &mut Vec<f32>) -> QueryTerms {
        scaled.clear();
        scaled.extend(query.iter().zip(&self.scale).map(|(q, s)| q * s));
        QueryTerms {
            offset: query.iter().zip(&self.min).map(|(q, m)| q * m).sum(),
            norm: query.iter().map(|q| q * q).sum(),
        }
    }

    /// Quantises a prepared query (`scaled`, from [`Self::prepare_query`])
    /// to i16 for the integer kernels: fills `out` with
    /// `round(scaled[i] / unit)` and returns `unit`, chosen so the largest
    /// component maps to [`q16_limit`] (0 for an all-zero query). The
    /// rounding moves a dot product by at most `unit / 2 · Σ codes`, under
    /// 1/32,000 of the SQ8 step's own error bound.
    pub fn quantize_query(scaled: &[f32], out: &mut Vec<i16>) -> f32 {
        out.clear();
        let peak = scaled.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let limit = q16_limit(scaled.len());
        if !(peak > 0.0 && peak.is_finite()) {
            out.resize(scaled.len(), 0);
            return 0.0;
        }
        let unit = peak / f32::from(limit);
        let bound = f32::from(limit);
        out.extend(
            scaled
                .iter()
                .map(|x| (x / unit).round().clamp(-bound, bound) as i16),
        );
        unit
    }

    /// [`Self::distance`] with the i16 query of [`Self::quantize_query`]
    /// and the integer kernel `dot`.
    #[inline(always)]
    pub fn distance_q16(
        &self,
        dot: DotQ16,
        metric: Metric,
        query: &[i16],
        unit: f32,
        terms: QueryTerms,
        slot: u32,
    ) -> f32 {
        let d = dot(query, self.row(slot, query.len()));
        self.finish(metric, terms, terms.offset + unit * d as f32, slot)
    }

    /// [`Self::distance4`] with the i16 query of [`Self::quantize_query`]
    /// and the integer kernel `dot4`.
    #[inline(always)]
    pub fn distance4_q16(
        &self,
        dot4: DotQ16x4,
        metric: Metric,
        query: &[i16],
        unit: f32,
        terms: QueryTerms,
        slots: [u32; 4],
    ) -> [f32; 4] {
        let dimension = query.len();
        let dots = dot4(query, slots.map(|s| self.row(s, dimension)));
        let mut out = [0.0; 4];
        for ((o, d), s) in out.iter_mut().zip(dots).zip(slots) {
            *o = self.finish(metric, terms, terms.offset + unit * d as f32, s);
        }
        out
    }

    /// The distance from an approximate dot product with `slot`.
    #[inline(always)]
    fn finish(&self, metric: Metric, terms: QueryTerms, dot: f32, slot: u32) -> f32 {
        match metric {
            Metric::Cosine => 1.0 - dot,
            Metric::Dot => -dot,
            Metric::L2 => (terms.norm - 2.0 * dot + self.norms[slot as usize]).max(0.0),
        }
    }

    /// The approximate distance of a prepared query to `slot`.
    #[inline(always)]
    pub fn distance(
        &self,
        k: &Kernels,
        metric: Metric,
        scaled: &[f32],
        terms: QueryTerms,
        slot: u32,
    ) -> f32 {
        let dimension = scaled.len();
        let dot = terms.offset + (k.dot_u8)(scaled, self.row(slot, dimension));
        self.finish(metric, terms, dot, slot)
    }

    /// [`Self::distance`] to four slots at once.
    #[inline(always)]
    pub fn distance4(
        &self,
        k: &Kernels,
        metric: Metric,
        scaled: &[f32],
        terms: QueryTerms,
        slots: [u32; 4],
    ) -> [f32; 4] {
        let dimension = scaled.len();
        let dots = (k.dot_u8_4)(scaled, slots.map(|s| self.row(s, dimension)));
        let mut out = [0.0; 4];
        for ((o, d), s) in out.iter_mut().zip(dots).zip(slots) {
            *o = self.finish(metric, terms, terms.offset + d, s);
        }
        out
    }

    /// Heap bytes held.
    pub fn shrink_to_fit(&mut self) {
        self.codes.shrink_to_fit();
        self.norms.shrink_to_fit();
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + (self.min.capacity() + self.scale.capacity() + self.norms.capacity()) * 4
    }
}

/// Per-query constants of the asymmetric SQ8 distance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryTerms {
    offset: f32,
    norm: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::kernels;

    #[test]
    fn a_zero_or_non_finite_query_quantises_to_zeros() {
        let mut q = Vec::new();
        assert_eq!(Sq8::quantize_query(&[0.0; 5], &mut q), 0.0);
        assert_eq!(q, vec![0; 5]);
        assert_eq!(Sq8::quantize_query(&[1.0, f32::INFINITY], &mut q), 0.0);
        assert_eq!(q, vec![0; 2]);
        Sq8::quantize_query(&[1.0, f32::NAN], &mut q);
        assert_eq!(q, vec![16_383, 0]);
        let unit = Sq8::quantize_query(&[0.75, -1.0, 0.25], &mut q);
        assert_eq!(q, vec![12287, -16383, 4096]);
        assert!((unit - 1.0 / 16_383.0).abs() < 1e-9);
    }

    #[test]
    fn codes_round_trip_within_half_a_step() {
        let rows = [0.0f32, -1.0, 5.0, 1.0, 1.0, 5.0, 0.5, 0.0, 5.0];
        let sq8 = Sq8::train(3, &rows);
        assert_eq!(sq8.scale[2], 0.0, "constant dimension");
        for (slot, row) in rows.chunks(3).enumerate() {
            let codes = sq8.row(slot as u32, 3);
            for i in 0..3 {
                let decoded = sq8.min[i] + sq8.scale[i] * f32::from(codes[i]);
                assert!((decoded - row[i]).abs() <= sq8.scale[i] / 2.0 + 1e-6);
            }
        }
    }

    #[test]
    fn asymmetric_distance_matches_the_decoded_vector() {
        let rows: Vec<f32> = (0..40)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let sq8 = Sq8::train(8, &rows);
        let query = [0.3f32, -0.2, 0.9, 0.0, 0.1, -0.7, 0.4, 0.25];
        let mut scaled = Vec::new();
        let terms = sq8.prepare_query(&query, &mut scaled);
        let mut q16 = Vec::new();
        let unit = Sq8::quantize_query(&scaled, &mut q16);
        let k = kernels();
        for slot in 0..5u32 {
            let decoded: Vec<f32> = (0..8)
                .map(|i| sq8.min[i] + sq8.scale[i] * f32::from(sq8.row(slot, 8)[i]))
                .collect();
            for metric in [Metric::Dot, Metric::L2, Metric::Cosine] {
                let want = metric.distance(k, &query, &decoded);
                let got = sq8.distance(k, metric, &scaled, terms, slot);
                assert!((want - got).abs() < 1e-4, "{metric}: {want} vs {got}");
                let got = sq8.distance4_q16(
                    crate::kernels::scalar::dot_q16_4,
                    metric,
                    &q16,
                    unit,
                    terms,
                    [slot; 4],
                );
                assert!(
                    (want - got[0]).abs() < 1e-3,
                    "{metric} q16: {want} vs {got:?}"
                );
                let one = sq8.distance_q16(
                    crate::kernels::scalar::dot_q16,
                    metric,
                    &q16,
                    unit,
                    terms,
                    slot,
                );
                assert_eq!(one, got[0]);
            }
        }
    }
}
