//! Decodes fuzzer-chosen bytes as vector indices: raw bytes, bytes with a
//! valid checksum appended (so the structural checks are reached), or a
//! valid small index with fuzzer-chosen edits and a fixed-up checksum. A
//! decode must return an error or an index that searches, inserts and
//! re-encodes without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mnemo_vector::{FlatIndex, Hnsw, HnswParams, Metric, Quantization, SearchParams};
use xxhash_rust::xxh3::xxh3_64;

fn with_checksum(mut body: Vec<u8>) -> Vec<u8> {
    let sum = xxh3_64(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

fn sample(quantization: Quantization) -> Vec<u8> {
    let sq8 = quantization != Quantization::None;
    let params = HnswParams {
        quantization,
        build_threads: 1,
        ..HnswParams::new(4, 16)
    };
    let n = if sq8 { mnemo_vector::SQ8_TRAINING_ROWS } else { 24 };
    let Ok(mut index) = Hnsw::new(4, Metric::Cosine, params) else {
        return Vec::new();
    };
    let data: Vec<f32> = (0..n * 4).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
    let ids: Vec<u64> = (0..n as u64).collect();
    if index.insert_batch(&ids, &data).is_err() {
        return Vec::new();
    }
    let _ = index.delete(3);
    index.encode()
}

fn exercise(bytes: &[u8]) {
    if let Ok(mut index) = Hnsw::decode(bytes) {
        let q = vec![0.25f32; index.dimension()];
        let _ = index.search_params(&q, &SearchParams::k(8));
        let _ = index.insert(u64::MAX, &q);
        let _ = index.search(&q, 100);
        assert!(Hnsw::decode(&index.encode()).is_ok(), "re-encoding failed to decode");
    }
    let flat = FlatIndex::decode(bytes);
    // The same bytes in a buffer of f32s decode the same way.
    let mut words = vec![0f32; bytes.len().div_ceil(4)];
    for (i, b) in bytes.iter().enumerate() {
        let w = &mut words[i / 4];
        let mut le = w.to_le_bytes();
        le[i % 4] = *b;
        *w = f32::from_le_bytes(le);
    }
    let from_words = FlatIndex::decode_words(words, bytes.len());
    assert_eq!(
        flat.as_ref().map(FlatIndex::encode).ok(),
        from_words.as_ref().map(FlatIndex::encode).ok(),
        "decode and decode_words disagree"
    );
    if let Ok(index) = flat {
        let q = vec![0.25f32; index.dimension()];
        let _ = index.search(&q, 8);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => exercise(rest),
        1 => exercise(&with_checksum(rest.to_vec())),
        _ => {
            static SAMPLES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
            let samples = SAMPLES.get_or_init(|| {
                [
                    sample(Quantization::None),
                    sample(Quantization::Sq8),
                    sample(Quantization::Sq8Compact),
                ]
            });
            let mut bytes = samples[usize::from(mode) % 3].clone();
            if bytes.len() < 8 {
                return;
            }
            bytes.truncate(bytes.len() - 8);
            for edit in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([edit[0], edit[1]]));
                if at < bytes.len() {
                    bytes[at] = edit[2];
                }
            }
            exercise(&with_checksum(bytes));
        }
    }
});
