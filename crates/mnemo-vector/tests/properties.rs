//! Property tests: every SIMD kernel agrees with the scalar reference, and
//! the decoder survives arbitrary and damaged bytes.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use mnemo_vector::kernels::{available, scalar};
use mnemo_vector::{FlatIndex, Hnsw, HnswParams, Metric, Quantization, SearchParams};
use proptest::prelude::*;

/// `|got − want| ≤ 1e-5 · Σ|terms|`: the relative error allowed for a sum
/// computed in another order (relative to the size of its terms, since the
/// sum itself may cancel to zero).
fn agrees(got: f32, want: f32, scale: f32) -> bool {
    (got - want).abs() <= 1e-5 * scale.max(f32::MIN_POSITIVE)
}

fn vectors() -> impl Strategy<Value = (Vec<f32>, Vec<f32>, Vec<u8>)> {
    (0usize..600).prop_flat_map(|n| {
        (
            prop::collection::vec(-100.0f32..100.0, n),
            prop::collection::vec(-100.0f32..100.0, n),
            prop::collection::vec(any::<u8>(), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn kernels_agree_with_the_scalar_reference((a, b, codes) in vectors()) {
        let dot_scale: f32 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
        let l2_scale = scalar::l2_squared(&a, &b);
        let u8_scale: f32 = a.iter().zip(&codes).map(|(x, &c)| (x * f32::from(c)).abs()).sum();
        for set in available() {
            prop_assert!(agrees((set.dot)(&a, &b), scalar::dot(&a, &b), dot_scale), "{} dot", set.name);
            prop_assert!(
                agrees((set.l2_squared)(&a, &b), l2_scale, l2_scale),
                "{} l2", set.name
            );
            prop_assert!(
                agrees((set.dot_u8)(&a, &codes), scalar::dot_u8(&a, &codes), u8_scale),
                "{} dot_u8", set.name
            );
            let four = (set.dot4)(&a, [&b, &b, &a, &b]);
            let four_l2 = (set.l2_squared4)(&a, [&a, &b, &b, &b]);
            let four_u8 = (set.dot_u8_4)(&a, [&codes, &codes, &codes, &codes]);
            let self_dot: f32 = a.iter().map(|x| x * x).sum();
            prop_assert!(agrees(four[0], scalar::dot(&a, &b), dot_scale), "{} dot4", set.name);
            prop_assert!(agrees(four[2], scalar::dot(&a, &a), self_dot), "{} dot4", set.name);
            prop_assert!(agrees(four_l2[0], 0.0, 1.0), "{} l2_4", set.name);
            prop_assert!(agrees(four_l2[3], l2_scale, l2_scale), "{} l2_4", set.name);
            prop_assert!(
                agrees(four_u8[1], scalar::dot_u8(&a, &codes), u8_scale),
                "{} dot_u8_4", set.name
            );
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        prop_assert!(Hnsw::decode(&bytes).is_err());
        prop_assert!(FlatIndex::decode(&bytes).is_err());
        let mut words = vec![0f32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<f32, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
        prop_assert!(FlatIndex::decode_words(words, bytes.len()).is_err());
    }
}

/// A small index of every kind the format distinguishes.
fn sample(quantization: Quantization, n: usize) -> Hnsw {
    let params = HnswParams {
        quantization,
        build_threads: 1,
        ..HnswParams::new(4, 20)
    };
    let mut index = Hnsw::new(8, Metric::L2, params).unwrap();
    let data: Vec<f32> = (0..n * 8)
        .map(|i| ((i * 7_919) % 211) as f32 / 50.0)
        .collect();
    let ids: Vec<u64> = (0..n as u64).collect();
    index.insert_batch(&ids, &data).unwrap();
    if n > 3 {
        index.delete(2).unwrap();
    }
    index
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Damaged encodings — bytes changed, with the checksum fixed up so the
    /// structural checks are reached — decode to an error or to an index
    /// that searches, inserts and re-encodes without panicking.
    #[test]
    fn damaged_encodings_are_refused_or_safe(
        kind in 0u8..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let quantization = [Quantization::None, Quantization::Sq8, Quantization::Sq8Compact][usize::from(kind)];
        let n = if kind > 0 { mnemo_vector::SQ8_TRAINING_ROWS + 10 } else { 40 };
        let mut bytes = sample(quantization, n).encode();
        let body = bytes.len() - 8;
        for (at, value) in &edits {
            bytes[at.index(body)] = *value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(body) + 8);
        }
        let body = bytes.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..body]).to_le_bytes();
        bytes[body..].copy_from_slice(&sum);
        if let Ok(mut index) = Hnsw::decode(&bytes) {
            let q = vec![0.5f32; index.dimension()];
            let _ = index.search_params(&q, &SearchParams::k(5));
            let _ = index.insert(u64::MAX, &q);
            let _ = index.search(&q, 50);
            prop_assert!(Hnsw::decode(&index.encode()).is_ok());
        }
    }
}
