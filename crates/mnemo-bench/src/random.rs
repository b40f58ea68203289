//! Seeded random data for the suites, all from the project's one seeded
//! generator, [`SplitMix64`] (`mnemo_log::sim`): fixed by its definition,
//! unlike a library generator whose stream may change between versions, so
//! a seed gives the same data on every machine and in every release.
//!
//! [`Draw`] adds the draws the suites make on top of its 64-bit words
//! (an index, uniform reals, Gaussian pairs); [`mix64`] hashes a seed and a
//! stream number into the state a suite starts a stream from.

pub use mnemo_log::sim::SplitMix64;

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// 2⁻⁵³: a 53-bit integer times this is a real in [0, 1), exactly.
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// SplitMix64's output function, a bijective 64-bit mixer: the first word
/// of the generator started one step before `z`.
pub fn mix64(z: u64) -> u64 {
    SplitMix64::new(z.wrapping_sub(GAMMA)).next_u64()
}

/// Two independent standard normals by Box–Muller from `u1` in (0, 1] and
/// `u2` in [0, 1): `r cos θ` and `r sin θ` with `r = √(−2 ln u1)`,
/// `θ = 2π u2`.
pub fn box_muller(u1: f64, u2: f64) -> (f64, f64) {
    let r = (-2.0 * u1.ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
    (r * cos, r * sin)
}

/// The draws the suites make from a [`SplitMix64`].
pub trait Draw {
    /// A number in `0..n` (`n > 0`; the modulo bias is below 2⁻³² for the
    /// sizes used here).
    fn index(&mut self, n: usize) -> usize;

    /// Uniform in [0, 1), from the top 53 bits of one word.
    fn uniform(&mut self) -> f64;

    /// Uniform in (0, 1): [`Draw::uniform`]'s grid shifted by half a step,
    /// so its logarithm is finite.
    fn open_uniform(&mut self) -> f64;

    /// Two independent standard normals: [`box_muller`] of `1 − uniform`
    /// (in (0, 1]) and a second uniform.
    fn normal_pair(&mut self) -> (f64, f64);
}

impl Draw for SplitMix64 {
    fn index(&mut self, n: usize) -> usize {
        // The value is below `n`, a usize.
        self.below(n as u64) as usize
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * UNIT
    }

    fn open_uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * UNIT
    }

    fn normal_pair(&mut self) -> (f64, f64) {
        // Arguments are evaluated left to right: the radius's draw first.
        box_muller(1.0 - self.uniform(), self.uniform())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_is_splitmix64s_output_function() {
        // The first SplitMix64 words from state 0 (the reference sequence).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix64(GAMMA), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix64(GAMMA.wrapping_mul(2)), rng.next_u64());
        assert_eq!(mix64(0), 0);
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            assert!(rng.index(3) < 3);
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
            let o = rng.open_uniform();
            assert!(o > 0.0 && o < 1.0);
            let (a, b) = rng.normal_pair();
            assert!(a.is_finite() && b.is_finite());
        }
        assert_eq!(box_muller(1.0, 0.25).0, 0.0);
    }

    #[test]
    fn normals_have_unit_variance() {
        let mut rng = SplitMix64::new(42);
        let n = 50_000;
        let (mut sum, mut squares) = (0.0, 0.0);
        for _ in 0..n {
            let (a, b) = rng.normal_pair();
            sum += a + b;
            squares += a * a + b * b;
        }
        let mean = sum / (2 * n) as f64;
        let variance = squares / (2 * n) as f64 - mean * mean;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((variance - 1.0).abs() < 0.02, "{variance}");
    }
}
