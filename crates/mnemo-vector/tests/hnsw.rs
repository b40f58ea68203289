//! Behaviour of the HNSW index: recall against exact search, deletes,
//! updates, compaction, filters, SQ8, determinism, bad input, encoding.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::{clustered, embedded, recall};
use mnemo_vector::{
    Error, Filter, FlatIndex, Hnsw, HnswParams, Metric, Quantization, RoaringTreemap,
    SearchContext, SearchParams, VectorSource,
};

const DIM: usize = 24;

/// `n` clustered vectors in an HNSW index built on one thread (so recall
/// thresholds see the same graph every run) and in a flat index.
fn build(n: usize, metric: Metric, params: HnswParams) -> (Hnsw, FlatIndex, Vec<f32>) {
    let params = HnswParams {
        build_threads: 1,
        ..params
    };
    let data = clustered(n, DIM, 40, 7);
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
    let mut hnsw = Hnsw::new(DIM, metric, params).unwrap();
    hnsw.insert_batch(&ids, &data).unwrap();
    let mut flat = FlatIndex::new(DIM, metric).unwrap();
    flat.insert_batch(&ids, &data).unwrap();
    (hnsw, flat, data)
}

fn mean_recall(
    hnsw: &Hnsw,
    flat: &FlatIndex,
    queries: &[f32],
    k: usize,
    filter: Filter<'_>,
) -> f64 {
    let rows: Vec<&[f32]> = queries.chunks(DIM).collect();
    let total: f64 = rows
        .iter()
        .map(|q| {
            let got = hnsw
                .search_params(
                    q,
                    &SearchParams {
                        ef: Some(96),
                        filter,
                        ..SearchParams::k(k)
                    },
                )
                .unwrap();
            let want = flat.search_filtered(q, k, filter).unwrap();
            assert_eq!(got.len(), want.len(), "result count");
            recall(&got, &want)
        })
        .sum();
    total / rows.len() as f64
}

#[test]
fn recall_is_high_for_every_metric() {
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let (hnsw, flat, _) = build(4_000, metric, HnswParams::new(12, 100));
        let queries = clustered(100, DIM, 40, 99);
        let r = mean_recall(&hnsw, &flat, &queries, 10, Filter::All);
        // Inner product is not a metric (a vector need not be its own
        // nearest neighbour), so graph search finds it harder, as in hnswlib.
        let floor = if metric == Metric::Dot { 0.85 } else { 0.95 };
        assert!(r >= floor, "{metric}: recall@10 {r}");
    }
}

#[test]
fn results_are_sorted_and_distances_are_exact() {
    let (hnsw, flat, data) = build(1_000, Metric::L2, HnswParams::default());
    let q = &data[5 * DIM..6 * DIM];
    let got = hnsw.search(q, 20).unwrap();
    assert_eq!(got[0].id, 5 * 3 + 1, "a stored vector finds itself");
    assert!(got[0].distance.abs() < 1e-6);
    assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance));
    for n in &got {
        let v = flat.get(n.id).unwrap();
        let d: f32 = v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
        assert!((d - n.distance).abs() < 1e-4);
    }
}

#[test]
fn k_zero_and_k_beyond_the_index() {
    let (hnsw, _, data) = build(50, Metric::Cosine, HnswParams::default());
    assert!(hnsw.search(&data[..DIM], 0).unwrap().is_empty());
    let all = hnsw.search(&data[..DIM], 1_000).unwrap();
    assert_eq!(all.len(), 50);
    let empty = Hnsw::new(DIM, Metric::Cosine, HnswParams::default()).unwrap();
    assert!(empty.search(&data[..DIM], 5).unwrap().is_empty());
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (mut hnsw, _, data) = build(300, Metric::Cosine, HnswParams::default());
    let before = hnsw.encode();
    let mut nan = data[..DIM].to_vec();
    nan[3] = f32::NAN;
    assert!(matches!(
        hnsw.insert(9_999, &nan),
        Err(Error::NonFinite { index: 3, .. })
    ));
    let mut inf = data[..DIM].to_vec();
    inf[0] = f32::INFINITY;
    assert!(matches!(
        hnsw.insert(9_999, &inf),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(hnsw.insert(9_999, &[0.0; DIM]), Err(Error::ZeroVector));
    assert_eq!(
        hnsw.insert(9_999, &data[..DIM - 1]),
        Err(Error::DimensionMismatch {
            expected: DIM,
            got: DIM - 1
        })
    );
    assert_eq!(hnsw.insert(1, &data[..DIM]), Err(Error::DuplicateId(1)));
    // A batch with one bad row inserts nothing.
    let mut batch = data[..3 * DIM].to_vec();
    batch[2 * DIM] = f32::NAN;
    assert!(
        hnsw.insert_batch(&[10_001, 10_002, 10_003], &batch)
            .is_err()
    );
    assert!(
        hnsw.insert_batch(&[10_001, 10_001], &data[..2 * DIM])
            .is_err(),
        "duplicate ids inside a batch"
    );
    assert!(hnsw.insert_batch(&[10_001], &data[..2 * DIM]).is_err());
    assert_eq!(hnsw.delete(424_242), Err(Error::NotFound(424_242)));
    assert!(hnsw.search(&nan, 3).is_err());
    assert!(hnsw.search(&[0.0; DIM], 3).is_err());
    assert!(hnsw.search(&[1.0; 3], 3).is_err());
    assert_eq!(
        hnsw.encode(),
        before,
        "refused operations changed the index"
    );
    // Zero vectors are fine where they have a meaning.
    let mut l2 = Hnsw::new(2, Metric::L2, HnswParams::default()).unwrap();
    l2.insert(1, &[0.0, 0.0]).unwrap();
    assert_eq!(l2.search(&[0.0, 0.0], 1).unwrap()[0].id, 1);
    assert!(Hnsw::new(0, Metric::L2, HnswParams::default()).is_err());
    assert!(
        Hnsw::new(
            4,
            Metric::L2,
            HnswParams {
                m: 1,
                ..HnswParams::default()
            }
        )
        .is_err()
    );
}

#[test]
fn deleted_vectors_are_never_returned_and_compaction_drops_them() {
    let (mut hnsw, mut flat, data) = build(2_000, Metric::Cosine, HnswParams::new(12, 100));
    for i in (0..2_000u64).filter(|i| i % 4 == 0) {
        hnsw.delete(i * 3 + 1).unwrap();
        flat.delete(i * 3 + 1).unwrap();
    }
    assert_eq!(hnsw.len(), 1_500);
    assert_eq!(hnsw.deleted(), 500);
    assert!(
        hnsw.needs_compaction(),
        "25% tombstones passes the 20% threshold"
    );
    let queries = clustered(50, DIM, 40, 5);
    for q in queries.chunks(DIM) {
        for n in hnsw.search(q, 30).unwrap() {
            assert!(flat.contains(n.id), "deleted id {} returned", n.id);
        }
    }
    let before = mean_recall(&hnsw, &flat, &queries, 10, Filter::All);
    assert!(before >= 0.9, "recall with tombstones {before}");
    assert!(hnsw.compact().unwrap());
    assert_eq!(
        (hnsw.len(), hnsw.deleted(), hnsw.slots()),
        (1_500, 0, 1_500)
    );
    assert!(!hnsw.compact().unwrap(), "nothing left to compact");
    let after = mean_recall(&hnsw, &flat, &queries, 10, Filter::All);
    assert!(after >= 0.95, "recall after compaction {after}");
    // The deleted ids can come back.
    hnsw.insert(1, &data[..DIM]).unwrap();
    assert_eq!(hnsw.search(&data[..DIM], 1).unwrap()[0].id, 1);
}

#[test]
fn update_replaces_the_vector() {
    let (mut hnsw, _, data) = build(500, Metric::L2, HnswParams::default());
    let target = &data[77 * DIM..78 * DIM];
    hnsw.update(1, target).unwrap();
    assert_eq!(hnsw.len(), 500);
    let hits = hnsw.search(target, 2).unwrap();
    let ids: Vec<u64> = hits.iter().map(|n| n.id).collect();
    assert!(ids.contains(&1) && ids.contains(&(77 * 3 + 1)), "{ids:?}");
    assert_eq!(hnsw.get(1).as_deref(), Some(target));
    hnsw.update(123_456, target).unwrap();
    assert_eq!(hnsw.len(), 501, "update of a new id inserts it");
}

#[test]
fn filters_keep_recall_down_to_one_percent() {
    let (hnsw, flat, _) = build(6_000, Metric::Cosine, HnswParams::new(12, 100));
    let queries = clustered(60, DIM, 40, 11);
    for percent in [1u64, 5, 20, 60] {
        let allow: RoaringTreemap = (0..6_000u64)
            .filter(|i| (i * 7_919) % 100 < percent)
            .map(|i| i * 3 + 1)
            .collect();
        let r = mean_recall(&hnsw, &flat, &queries, 10, Filter::Allow(&allow));
        assert!(r >= 0.9, "allow-list at {percent}%: recall {r}");
        let predicate = |id: u64| allow.contains(id);
        let r = mean_recall(&hnsw, &flat, &queries, 10, Filter::Predicate(&predicate));
        assert!(r >= 0.9, "predicate at {percent}%: recall {r}");
    }
    let none = RoaringTreemap::new();
    assert!(
        hnsw.search_params(
            &queries[..DIM],
            &SearchParams {
                filter: Filter::Allow(&none),
                ..SearchParams::k(5)
            }
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn sq8_traversal_keeps_recall() {
    let params = HnswParams {
        quantization: Quantization::Sq8,
        ..HnswParams::new(12, 100)
    };
    for metric in [Metric::Cosine, Metric::L2] {
        let (hnsw, flat, _) = build(4_000, metric, params.clone());
        assert!(hnsw.sq8_active());
        let queries = clustered(100, DIM, 40, 3);
        let r = mean_recall(&hnsw, &flat, &queries, 10, Filter::All);
        assert!(r >= 0.93, "{metric} SQ8 recall@10 {r}");
        // Its graph, built on integer SQ8 distances once the ranges are
        // fitted (the neighbours chosen on exact ones), is as good as one
        // built on f32 alone.
        let exact = HnswParams {
            quantization: Quantization::None,
            ..params.clone()
        };
        let (plain, _, _) = build(4_000, metric, exact);
        let r_plain = mean_recall(&plain, &flat, &queries, 10, Filter::All);
        assert!(
            r >= r_plain - 0.02,
            "{metric}: SQ8 recall@10 {r} against {r_plain} built on f32"
        );
        // Re-ranked distances are the exact f32 ones.
        let q = &queries[..DIM];
        let got = hnsw.search(q, 3).unwrap();
        let want = flat.search(q, 3).unwrap();
        assert!((got[0].distance - want[0].distance).abs() < 1e-5 || got[0].id != want[0].id);
    }
    let small = build(100, Metric::Cosine, params).0;
    assert!(!small.sq8_active(), "too few vectors to fit ranges");
}

/// The caller's copy of the vectors, for re-ranking a compact index.
struct Rows<'a>(&'a [f32]);

impl VectorSource for Rows<'_> {
    fn vector(&self, id: u64) -> Option<&[f32]> {
        let i = usize::try_from((id - 1) / 3).ok()?;
        self.0.get(i * DIM..(i + 1) * DIM)
    }
}

#[test]
fn compact_sq8_keeps_a_third_of_the_bytes_and_recall_with_reranking() {
    let params = HnswParams {
        quantization: Quantization::Sq8Compact,
        ..HnswParams::new(12, 100)
    };
    let (mut hnsw, flat, data) = build(4_000, Metric::Cosine, params);
    assert!(hnsw.sq8_active());
    let f32_bytes = 4_000 * DIM * 4;
    assert!(
        hnsw.vector_bytes() * 100 <= f32_bytes * 35,
        "{} vector bytes for {f32_bytes} f32 bytes",
        hnsw.vector_bytes()
    );
    let source = Rows(&data);
    let queries = clustered(100, DIM, 40, 3);
    let (mut with, mut without) = (0.0, 0.0);
    for q in queries.chunks(DIM) {
        let want = flat.search(q, 10).unwrap();
        let reranked = hnsw
            .search_params(
                q,
                &SearchParams {
                    ef: Some(96),
                    vectors: Some(&source),
                    ..SearchParams::k(10)
                },
            )
            .unwrap();
        // Re-ranked distances are exact.
        if reranked[0].id == want[0].id {
            assert!((reranked[0].distance - want[0].distance).abs() < 1e-5);
        }
        with += recall(&reranked, &want);
        let approx = hnsw
            .search_params(
                q,
                &SearchParams {
                    ef: Some(96),
                    ..SearchParams::k(10)
                },
            )
            .unwrap();
        without += recall(&approx, &want);
    }
    assert!(
        with / 100.0 >= 0.93,
        "recall with re-ranking {}",
        with / 100.0
    );
    assert!(
        without / 100.0 >= 0.8,
        "recall on codes alone {}",
        without / 100.0
    );
    // Decoded rows are close to the originals.
    let decoded = hnsw.get(1).unwrap();
    let original = flat.get(1).unwrap();
    let cos: f32 = decoded.iter().zip(original).map(|(a, b)| a * b).sum();
    assert!(cos > 0.99, "decoded row cosine {cos}");
    // Encoding, inserting and compacting work without f32 rows.
    let back = Hnsw::decode(&hnsw.encode()).unwrap();
    assert_eq!(back.encode(), hnsw.encode());
    hnsw.insert(5, &data[..DIM]).unwrap();
    for i in 0..1_000u64 {
        hnsw.delete(i * 3 + 1).unwrap();
    }
    assert!(hnsw.compact().unwrap());
    assert_eq!(hnsw.len(), 3_001);
    assert!(hnsw.search(&data[2_000 * DIM..2_001 * DIM], 1).unwrap()[0].id == 2_000 * 3 + 1);
}

#[test]
fn single_threaded_builds_are_deterministic() {
    let params = HnswParams {
        build_threads: 1,
        ..HnswParams::new(8, 60)
    };
    let a = build(1_500, Metric::Cosine, params.clone()).0.encode();
    let b = build(1_500, Metric::Cosine, params.clone()).0.encode();
    assert_eq!(a, b);
    let other_seed = HnswParams { seed: 42, ..params };
    assert_ne!(a, build(1_500, Metric::Cosine, other_seed).0.encode());
}

#[test]
fn one_by_one_and_batch_inserts_agree_in_quality() {
    let data = clustered(2_000, DIM, 40, 21);
    let mut hnsw = Hnsw::new(DIM, Metric::Cosine, HnswParams::new(12, 100)).unwrap();
    let mut flat = FlatIndex::new(DIM, Metric::Cosine).unwrap();
    for (i, row) in data.chunks(DIM).enumerate() {
        hnsw.insert(i as u64, row).unwrap();
        flat.insert(i as u64, row).unwrap();
    }
    let queries = clustered(50, DIM, 40, 22);
    let r = mean_recall(&hnsw, &flat, &queries, 10, Filter::All);
    assert!(r >= 0.95, "recall {r}");
    assert!(hnsw.level0_degrees().all(|d| d <= 24));
}

#[test]
fn encode_decode_round_trips() {
    for quantization in [Quantization::None, Quantization::Sq8] {
        let params = HnswParams {
            quantization,
            ..HnswParams::new(10, 80)
        };
        let (mut hnsw, _, data) = build(2_500, Metric::Cosine, params);
        for id in [1u64, 4, 301] {
            hnsw.delete(id).unwrap();
        }
        let bytes = hnsw.encode();
        let back = Hnsw::decode(&bytes).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!((back.len(), back.deleted()), (hnsw.len(), hnsw.deleted()));
        let mut ctx = SearchContext::new();
        for q in data.chunks(DIM).step_by(97) {
            let want = hnsw.search(q, 10).unwrap();
            let got = back.search_with(&mut ctx, q, &SearchParams::k(10)).unwrap();
            assert_eq!(got, want.as_slice());
        }
        // Damage anywhere is caught.
        for at in [0, 9, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(
                matches!(Hnsw::decode(&bad), Err(Error::Decode(_))),
                "flip at {at}"
            );
        }
        assert!(Hnsw::decode(&bytes[..bytes.len() - 3]).is_err());
        assert!(Hnsw::decode(&[]).is_err());
    }
    let empty = Hnsw::new(4, Metric::Dot, HnswParams::default()).unwrap();
    assert_eq!(Hnsw::decode(&empty.encode()).unwrap().len(), 0);
}

#[test]
fn flat_index_encodes_and_deletes() {
    let (_, mut flat, data) = build(300, Metric::Dot, HnswParams::default());
    flat.delete(1).unwrap();
    flat.delete(flat.ids()[5]).unwrap();
    let back = FlatIndex::decode(&flat.encode()).unwrap();
    assert_eq!(back.encode(), flat.encode());
    assert_eq!(back.len(), 298);
    let q = &data[..DIM];
    assert_eq!(back.search(q, 7).unwrap(), flat.search(q, 7).unwrap());
    let mut damaged = flat.encode();
    damaged[30] ^= 1;
    assert!(FlatIndex::decode(&damaged).is_err());
    // From a buffer of f32s holding the encoding (and slack after it).
    let words = |bytes: &[u8]| {
        let mut w = vec![0f32; bytes.len().div_ceil(4) + 3];
        bytemuck::cast_slice_mut::<f32, u8>(&mut w)[..bytes.len()].copy_from_slice(bytes);
        w
    };
    let encoded = flat.encode();
    let back = FlatIndex::decode_words(words(&encoded), encoded.len()).unwrap();
    assert_eq!(back.encode(), encoded);
    assert_eq!(back.search(q, 7).unwrap(), flat.search(q, 7).unwrap());
    assert!(FlatIndex::decode_words(words(&damaged), damaged.len()).is_err());
    assert!(FlatIndex::decode_words(words(&encoded), encoded.len() - 1).is_err());
    assert!(FlatIndex::decode_words(words(&encoded), encoded.len() + 1000).is_err());
    let batch = flat.search_batch(&data[..4 * DIM], 3).unwrap();
    assert_eq!(batch.len(), 4);
    assert_eq!(batch[1], flat.search(&data[DIM..2 * DIM], 3).unwrap());
}

#[test]
fn search_context_stops_allocating() {
    let (hnsw, _, data) = build(3_000, Metric::Cosine, HnswParams::default());
    let mut ctx = SearchContext::new();
    for q in data.chunks(DIM).take(50) {
        hnsw.search_with(&mut ctx, q, &SearchParams::k(10)).unwrap();
    }
    let grown = ctx.memory_bytes();
    for q in data.chunks(DIM).skip(50).take(200) {
        hnsw.search_with(&mut ctx, q, &SearchParams::k(10)).unwrap();
    }
    assert_eq!(ctx.memory_bytes(), grown, "buffers kept growing");
    assert!(hnsw.memory_bytes() >= 3_000 * DIM * 4);
}

/// The recall check CI runs: 20,000 vectors of 64 dimensions with a low
/// intrinsic dimension like real embeddings; recall@10 ≥ 0.95 at the default
/// parameters (recall is behaviour, so it is asserted; speed is only
/// measured, by `mnemo-bench -- vector`).
#[test]
fn recall_at_10_on_20k_vectors() {
    let (n, dim) = (20_000, 64);
    let data = embedded(n, dim, 12, 1_234);
    let ids: Vec<u64> = (0..n as u64).collect();
    let mut hnsw = Hnsw::new(dim, Metric::Cosine, HnswParams::default()).unwrap();
    hnsw.insert_batch(&ids, &data).unwrap();
    let mut flat = FlatIndex::new(dim, Metric::Cosine).unwrap();
    flat.insert_batch(&ids, &data).unwrap();
    let queries = embedded(200, dim, 12, 4_321);
    let truth = flat.search_batch(&queries, 10).unwrap();
    let mut ctx = SearchContext::new();
    let total: f64 = queries
        .chunks(dim)
        .zip(&truth)
        .map(|(q, want)| {
            let got = hnsw.search_with(&mut ctx, q, &SearchParams::k(10)).unwrap();
            recall(got, want)
        })
        .sum();
    let r = total / truth.len() as f64;
    eprintln!("recall@10 on 20k vectors: {r:.4}");
    assert!(r >= 0.95, "recall@10 {r}");
}

/// An SQ8 index over vectors so large that their squared norms (or their
/// ranges) overflow an f32 still encodes to bytes that decode: the ranges'
/// steps and the stored norms stay finite.
#[test]
fn sq8_with_overflowing_norms_and_ranges_round_trips() {
    for quantization in [Quantization::Sq8, Quantization::Sq8Compact] {
        let params = HnswParams {
            quantization,
            build_threads: 1,
            ..HnswParams::new(8, 32)
        };
        let n = mnemo_vector::SQ8_TRAINING_ROWS + 10;
        let data: Vec<f32> = (0..n * 4)
            .map(|i| match i % 4 {
                0 => 3.0e38,
                1 if i % 8 == 1 => -3.0e38,
                1 => 3.0e38,
                2 => 2.0e19 * (i % 5) as f32,
                _ => (i % 7) as f32,
            })
            .collect();
        let ids: Vec<u64> = (0..n as u64).collect();
        let mut index = Hnsw::new(4, Metric::L2, params).unwrap();
        index.insert_batch(&ids, &data).unwrap();
        index
            .insert(u64::MAX, &[1.0e30, -1.0e30, 1.0e30, 1.0])
            .unwrap();
        let decoded = Hnsw::decode(&index.encode())
            .unwrap_or_else(|e| panic!("{quantization:?}: the index does not decode: {e}"));
        assert_eq!(decoded.len(), n + 1);
        assert!(!decoded.search(&[1.0, 2.0, 3.0, 4.0], 5).unwrap().is_empty());
    }
}

/// A fuzzer's find (fuzz target `vector_decode`): a valid SQ8 index with
/// three bytes edited (its SQ8 ranges) decodes; a vector inserted into it
/// made a norm too large for an f32, which encoded to bytes the decoder
/// refused. Whatever such bytes decode to must survive an insert and
/// re-encode.
#[test]
fn an_edited_sq8_index_still_re_encodes_after_an_insert() {
    let params = HnswParams {
        quantization: Quantization::Sq8Compact,
        build_threads: 1,
        ..HnswParams::new(4, 16)
    };
    let n = mnemo_vector::SQ8_TRAINING_ROWS;
    let mut index = Hnsw::new(4, Metric::Cosine, params).unwrap();
    let data: Vec<f32> = (0..n * 4).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
    let ids: Vec<u64> = (0..n as u64).collect();
    index.insert_batch(&ids, &data).unwrap();
    index.delete(3).unwrap();
    let mut bytes = index.encode();
    bytes.truncate(bytes.len() - 8);
    for (at, value) in [(52_171, 203), (52_683, 248), (17_276, 219)] {
        if let Some(byte) = bytes.get_mut(at) {
            *byte = value;
        }
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    if let Ok(mut index) = Hnsw::decode(&bytes) {
        let q = vec![0.25f32; index.dimension()];
        index.insert(u64::MAX, &q).unwrap();
        let again = Hnsw::decode(&index.encode());
        assert!(
            again.is_ok(),
            "re-encoding failed to decode: {:?}",
            again.err()
        );
    }
}

#[test]
fn memory_per_vector_stays_within_the_planning_bound() {
    for quantization in [
        Quantization::None,
        Quantization::Sq8,
        Quantization::Sq8Compact,
    ] {
        let params = HnswParams {
            quantization,
            build_threads: 1,
            ..HnswParams::default()
        };
        let bound = Hnsw::bytes_per_vector(DIM, &params);
        let data = clustered(6_000, DIM, 40, 11);
        let mut hnsw = Hnsw::new(DIM, Metric::Cosine, params).unwrap();
        // Grown by many small appends, as the indexer does.
        for (i, row) in data.chunks(DIM).enumerate() {
            hnsw.insert_batch(&[i as u64], row).unwrap();
            // A compact index holds f32 rows until its ranges are fitted.
            let fitted = quantization != Quantization::Sq8Compact
                || hnsw.len() >= mnemo_vector::SQ8_TRAINING_ROWS;
            if i % 500 == 499 && fitted {
                assert!(
                    hnsw.memory_bytes() <= bound * hnsw.len(),
                    "{quantization:?} at {}: {} B > {bound} B per vector",
                    hnsw.len(),
                    hnsw.memory_bytes() / hnsw.len()
                );
            }
        }
        // Rebuilt without tombstones and shrunk, it holds no more.
        for id in 0..3_000u64 {
            hnsw.delete(id).unwrap();
        }
        hnsw.rebuild().unwrap();
        hnsw.shrink_to_fit();
        assert!(
            hnsw.memory_bytes() <= bound * hnsw.len(),
            "{quantization:?} rebuilt"
        );
    }
    let mut flat = FlatIndex::new(DIM, Metric::Cosine).unwrap();
    let data = clustered(4_000, DIM, 40, 12);
    for (i, row) in data.chunks(DIM).enumerate() {
        flat.insert(i as u64, row).unwrap();
    }
    let grown = flat.memory_bytes();
    for id in 0..3_900u64 {
        flat.delete(id).unwrap();
    }
    flat.shrink_to_fit();
    assert!(
        flat.memory_bytes() * 10 < grown,
        "a drained buffer gives its memory back"
    );
}
