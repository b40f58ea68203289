//! Test data: clustered vectors from a seeded generator.

#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` vectors of `dim` components around `clusters` random centres.
pub fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..clusters * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.random_range(0..clusters);
        for d in 0..dim {
            out.push(centres[c * dim + d] + rng.random_range(-0.35f32..0.35));
        }
    }
    out
}

/// Share of `truth`'s ids found in `got`.
pub fn recall(got: &[mnemo_vector::Neighbor], truth: &[mnemo_vector::Neighbor]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hits = truth
        .iter()
        .filter(|t| got.iter().any(|g| g.id == t.id))
        .count();
    hits as f64 / truth.len() as f64
}

/// `n` vectors of `dim` components with the low intrinsic dimension of real
/// embeddings: clustered points of a `latent`-dimensional space, mapped into
/// `dim` dimensions by a fixed random linear map, plus a little noise.
pub fn embedded(n: usize, dim: usize, latent: usize, seed: u64) -> Vec<f32> {
    let points = clustered(n, latent, 100, seed);
    let mut rng = StdRng::seed_from_u64(0xe3b);
    let map: Vec<f32> = (0..latent * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let mut noise = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut out = Vec::with_capacity(n * dim);
    for p in points.chunks(latent) {
        for d in 0..dim {
            let x: f32 = p
                .iter()
                .enumerate()
                .map(|(l, v)| v * map[l * dim + d])
                .sum();
            out.push(x + noise.random_range(-0.05f32..0.05));
        }
    }
    out
}
