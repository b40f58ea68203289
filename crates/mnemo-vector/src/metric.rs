//! Distance metrics and vector validation.

use crate::error::{Error, Result};
use crate::kernels::Kernels;

/// How the distance between two vectors is measured. Smaller is closer for
/// every metric, and [`crate::Neighbor::distance`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// `1 − cos(a, b)`: vectors are normalised when they enter the index and
    /// queries when they are searched, so this is `1 − a·b`. Zero vectors are
    /// refused.
    #[default]
    Cosine,
    /// `−a·b` (maximum inner product); vectors are stored as given.
    Dot,
    /// Squared Euclidean distance `Σ (a[i] − b[i])²`.
    L2,
}

impl Metric {
    /// The metric's byte in the encoded format.
    pub(crate) fn code(self) -> u8 {
        match self {
            Metric::Cosine => 0,
            Metric::Dot => 1,
            Metric::L2 => 2,
        }
    }

    /// The metric of an encoded byte.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::Dot),
            2 => Some(Metric::L2),
            _ => None,
        }
    }

    /// The distance between two prepared vectors.
    #[inline(always)]
    pub(crate) fn distance(self, k: &Kernels, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Cosine => 1.0 - (k.dot)(a, b),
            Metric::Dot => -(k.dot)(a, b),
            Metric::L2 => (k.l2_squared)(a, b),
        }
    }

    /// The distances between a prepared vector and four others.
    #[inline(always)]
    pub(crate) fn distance4(self, k: &Kernels, a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        match self {
            Metric::Cosine => (k.dot4)(a, rows).map(|d| 1.0 - d),
            Metric::Dot => (k.dot4)(a, rows).map(|d| -d),
            Metric::L2 => (k.l2_squared4)(a, rows),
        }
    }

    /// Checks `v` (dimension, finite components, non-zero under cosine) and
    /// writes it to `out` ready to store or search: normalised under cosine,
    /// as given otherwise. On error `out` is left empty.
    pub(crate) fn prepare_into(
        self,
        dimension: usize,
        v: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<()> {
        out.clear();
        check(dimension, v)?;
        if self != Metric::Cosine {
            out.extend_from_slice(v);
            return Ok(());
        }
        let k = crate::kernels::kernels();
        let squared = (k.dot)(v, v);
        if squared.is_normal() {
            let scale = 1.0 / squared.sqrt();
            out.extend(v.iter().map(|x| x * scale));
            return Ok(());
        }
        // Components so large or so small that their squares leave f32's
        // normal range: normalise in f64.
        let norm = v
            .iter()
            .map(|x| f64::from(*x) * f64::from(*x))
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            return Err(Error::ZeroVector);
        }
        out.extend(v.iter().map(|x| (f64::from(*x) / norm) as f32));
        Ok(())
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        })
    }
}

impl std::str::FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cosine" => Ok(Metric::Cosine),
            "dot" | "ip" => Ok(Metric::Dot),
            "l2" => Ok(Metric::L2),
            other => Err(Error::InvalidParams(format!(
                "unknown metric {other:?} (expected cosine, dot or l2)"
            ))),
        }
    }
}

/// Largest dimension an index accepts.
pub(crate) const MAX_DIMENSION: usize = 65_536;

/// Checks that an index of `dimension`-component vectors may be made.
pub(crate) fn check_dimension(dimension: usize) -> Result<()> {
    if (1..=MAX_DIMENSION).contains(&dimension) {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "dimension = {dimension} (must be 1..={MAX_DIMENSION})"
        )))
    }
}

/// Checks a vector's dimension and that every component is finite.
pub(crate) fn check(dimension: usize, v: &[f32]) -> Result<()> {
    if v.len() != dimension {
        return Err(Error::DimensionMismatch {
            expected: dimension,
            got: v.len(),
        });
    }
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_normalises_extreme_vectors() {
        let mut out = Vec::new();
        for v in [[3.0e30f32, 4.0e30], [3.0e-30, 4.0e-30], [3.0, 4.0]] {
            Metric::Cosine
                .prepare_into(2, &v, &mut out)
                .unwrap_or_default();
            assert!(
                (out[0] - 0.6).abs() < 1e-6 && (out[1] - 0.8).abs() < 1e-6,
                "{v:?} -> {out:?}"
            );
        }
        assert_eq!(
            Metric::Cosine.prepare_into(2, &[0.0, -0.0], &mut out),
            Err(Error::ZeroVector)
        );
        assert!(out.is_empty());
    }
}
