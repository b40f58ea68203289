//! Properties of `HashEmbedder` over arbitrary text: it never panics, and
//! every output is a finite unit vector of the embedder's dimension (empty
//! and feature-less text included: they get the reserved unit vector).

use mnemo_embed::{Embedder, HashEmbedder};
use proptest::prelude::*;

fn assert_unit(v: &[f32], dimension: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(v.len(), dimension);
    prop_assert!(v.iter().all(|x| x.is_finite()));
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    prop_assert!((norm - 1.0).abs() < 1e-4, "norm {}", norm);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_string_gives_a_unit_vector(text in any::<String>(), dimension in 1usize..600) {
        let e = HashEmbedder::with_dimension(dimension).expect("valid dimension");
        let v = e.embed(&text).expect("hash embedding never fails");
        assert_unit(&v, dimension)?;
        prop_assert_eq!(v, e.embed(&text).expect("again"), "deterministic");
    }

    #[test]
    fn words_and_symbols_give_unit_vectors(
        text in "[a-zA-Z0-9 ,.!?'\u{e9}\u{4e00}-\u{4e10}\u{1f600}-\u{1f610}\u{200d}\t\n]{0,200}",
    ) {
        let e = HashEmbedder::new();
        let batch = e.embed_batch(&[text.as_str(), "", text.as_str()]).expect("embed");
        prop_assert_eq!(batch.len(), 3);
        for v in &batch {
            assert_unit(v, e.info().dimension)?;
        }
        prop_assert_eq!(&batch[0], &batch[2]);
    }
}

#[test]
fn long_and_exotic_inputs() {
    let e = HashEmbedder::new();
    let inputs = [
        "x".repeat(1 << 20),
        "word ".repeat(250_000),
        "\u{0}\u{fffd}\u{10ffff}\u{e000}\u{202e}".repeat(1000),
        "é".repeat(40_000),
    ];
    for text in &inputs {
        let v = e.embed(text).expect("embed");
        assert_eq!(v.len(), 384);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
