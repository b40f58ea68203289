//! all-MiniLM-L6-v2, f32 (`MiniLm`) and int8 (`MiniLmQ8`), against vectors
//! computed by an independent implementation
//! (`../shared/data/minilm-reference.json`, a NumPy BERT), and their
//! behaviour on bad input and bad model files.
//!
//! The model comes from `scripts/fetch-model`. Without it these tests fail
//! when `MNEMO_REQUIRE_MODEL=1` (as `scripts/test` sets) or `CI=true`, and otherwise print
//! a notice and pass, so a plain `cargo test` works on a fresh machine.
#![cfg(feature = "minilm")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mnemo_embed::{
    CallerVectors, Embedder, EmbedderInfo, Error, Fallback, HashEmbedder, MiniLm, MiniLmQ8, cosine,
    load_default, load_recorded,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    model: String,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    embedding: Vec<f32>,
}

fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/minilm-reference.json")
}

/// `load()`'s embedder, or `None` (with a notice) when the model is missing
/// and not required.
fn required<T>(load: impl FnOnce() -> Result<T, Error>) -> Option<T> {
    match load() {
        Ok(m) => Some(m),
        Err(e)
            if std::env::var("MNEMO_REQUIRE_MODEL").as_deref() == Ok("1")
                || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") =>
        {
            panic!("MNEMO_REQUIRE_MODEL=1 or CI=true but the model did not load: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: all-MiniLM-L6-v2 tests need the model: {e}");
            None
        }
    }
}

/// The f32 model, loaded once for all tests.
fn model() -> Option<&'static MiniLm> {
    static MODEL: OnceLock<Option<MiniLm>> = OnceLock::new();
    MODEL
        .get_or_init(|| required(MiniLm::load_default))
        .as_ref()
}

/// The int8 model, loaded once for all tests.
fn model_q8() -> Option<&'static MiniLmQ8> {
    static MODEL: OnceLock<Option<MiniLmQ8>> = OnceLock::new();
    MODEL
        .get_or_init(|| required(MiniLmQ8::load_default))
        .as_ref()
}

/// Both models, for the tests of behaviour every embedder must have.
fn models() -> Vec<&'static dyn Embedder> {
    let mut all: Vec<&'static dyn Embedder> = Vec::new();
    if let Some(m) = model() {
        all.push(m);
    }
    if let Some(m) = model_q8() {
        all.push(m);
    }
    all
}

/// The reference vectors, checked to cover the hard cases.
fn reference() -> Reference {
    let path = reference_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let reference: Reference = serde_json::from_str(&text).expect("reference JSON");
    assert!(
        reference.model.contains("all-MiniLM-L6-v2"),
        "{}",
        reference.model
    );
    assert!(reference.items.iter().any(|i| i.text.is_empty()));
    assert!(reference.items.iter().any(|i| !i.text.is_ascii()));
    assert!(reference.items.iter().any(|i| i.text.len() > 1000));
    reference
}

/// Embeds every reference sentence as one batch (sorted, grouped) and one
/// at a time, asserts that each vector is a unit vector with at least
/// `min_cosine` to the reference, and returns the lowest cosine.
fn check_against_reference(model: &dyn Embedder, min_cosine: f32) -> f32 {
    let reference = reference();
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let batch = model.embed_batch(&texts).expect("embed batch");
    assert_eq!(batch.len(), texts.len());
    let mut worst = (1.0f32, "");
    for (item, got) in reference.items.iter().zip(&batch) {
        assert_eq!(got.len(), item.embedding.len());
        let single = model.embed(&item.text).expect("embed one");
        for v in [got, &single] {
            let c = cosine(v, &item.embedding);
            if c < worst.0 {
                worst = (c, item.text.as_str());
            }
            assert!(
                c >= min_cosine,
                "{}: cosine {c} for {:?}",
                model.info(),
                item.text
            );
            assert!((norm(v) - 1.0).abs() < 1e-4);
        }
    }
    eprintln!(
        "{}: lowest cosine {} for {:?}",
        model.info(),
        worst.0,
        worst.1
    );
    worst.0
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn matches_the_independent_reference_vectors() {
    let Some(model) = model() else { return };
    check_against_reference(model, 0.999);
}

#[test]
fn int8_model_stays_close_to_the_reference_vectors() {
    let Some(model) = model_q8() else { return };
    assert_eq!(model.info().id, "minilm-l6-v2-q8");
    assert_eq!(model.info().dimension, 384);
    check_against_reference(model, 0.99);
}

#[test]
fn int8_model_keeps_order_in_batches_of_every_size() {
    let Some(model) = model_q8() else { return };
    // Enough texts of mixed lengths to make several groups of tokens.
    let texts: Vec<String> = (0..40)
        .map(|i| format!("turn {i}: {}", "we talked about the lake ".repeat(i % 7)))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = model.embed_batch(&texts).expect("batch");
    assert_eq!(batch.len(), texts.len());
    for (text, v) in texts.iter().zip(&batch) {
        let single = model.embed(text).expect("single");
        assert!(cosine(v, &single) > 0.9999, "{text:?}");
    }
    assert!(model.embed_batch(&[]).expect("empty batch").is_empty());
}

#[test]
fn long_input_is_truncated_at_256_tokens() {
    let Some(model) = model() else { return };
    let ids = model.token_ids(&"word ".repeat(1000)).expect("tokens");
    assert_eq!(ids.len(), 256);
    assert_eq!((ids[0], ids[255]), (101, 102), "[CLS] ... [SEP]");
    if let Some(q8) = model_q8() {
        assert_eq!(q8.token_ids(&"word ".repeat(1000)).expect("tokens"), ids);
    }
    for model in models() {
        // Only the first 254 words count, so what follows them changes nothing.
        let a = model.embed(&"word ".repeat(300)).expect("a");
        let b = model
            .embed(&format!("{} tail differs", "word ".repeat(300)))
            .expect("b");
        assert!(cosine(&a, &b) > 0.99999, "{}", model.info());
    }
}

#[test]
fn bad_input_gets_unit_vectors() {
    let megabyte_one_word = "x".repeat(1 << 20);
    let megabyte_words = "lorem ipsum ".repeat(90_000);
    let inputs = [
        "",
        "   \t\n  ",
        "\u{0}\u{1}\u{7f}",
        "\u{fffd}\u{fffd}",
        "\u{200b}\u{200d}\u{202e}\u{feff}",
        "\u{10ffff}\u{e000}",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧑‍🤝‍🧑 ﷽",
        "[CLS] [SEP] [PAD] [MASK]",
        megabyte_one_word.as_str(),
        megabyte_words.as_str(),
    ];
    for model in models() {
        let vectors = model.embed_batch(&inputs).expect("embed");
        let singles = inputs.iter().map(|t| model.embed(t).expect("embed one"));
        for ((text, v), single) in inputs.iter().zip(&vectors).zip(singles) {
            for v in [v, &single] {
                assert_eq!(v.len(), 384);
                assert!(v.iter().all(|x| x.is_finite()));
                assert!(
                    (norm(v) - 1.0).abs() < 1e-4,
                    "{}: {:?}",
                    model.info(),
                    text.get(..20)
                );
            }
        }
    }
}

#[test]
fn missing_and_corrupt_model_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("mnemo-embed-bad-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let err = MiniLm::load(&dir).expect_err("no files");
    assert!(matches!(err, Error::ModelNotFound { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&dir.display().to_string()) && msg.contains("fetch-model"),
        "{msg}"
    );

    std::fs::write(dir.join("tokenizer.json"), b"{ not json").expect("write");
    std::fs::write(dir.join("model.safetensors"), b"not safetensors").expect("write");
    for err in [
        MiniLm::load(&dir).expect_err("corrupt files"),
        MiniLmQ8::load(&dir).expect_err("corrupt files"),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, Error::ModelFile { .. }), "{msg}");
        assert!(
            msg.contains("tokenizer.json") && msg.contains("fetch-model"),
            "{msg}"
        );
    }

    if let Some(model) = model() {
        // A good tokenizer with corrupt weights names the weights file.
        let tokenizer = model.model_dir().join("tokenizer.json");
        std::fs::copy(&tokenizer, dir.join("tokenizer.json")).expect("copy");
        let msg = MiniLm::load(&dir).expect_err("corrupt weights").to_string();
        assert!(msg.contains("model.safetensors"), "{msg}");
        let msg = MiniLmQ8::load(&dir)
            .expect_err("corrupt weights")
            .to_string();
        assert!(msg.contains("model.safetensors"), "{msg}");
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn default_embedder_falls_back_only_when_allowed() {
    // With the model present both give MiniLM; without, only AllowHash works.
    let allowed = load_default(Fallback::AllowHash).expect("always an embedder");
    match load_default(Fallback::Deny) {
        Ok(e) => assert_eq!(e.info().id, "minilm-l6-v2-q8"),
        Err(e) => {
            assert!(
                model().is_none(),
                "model loads but load_default failed: {e}"
            );
            assert_eq!(allowed.info().id, "hash-v1");
        }
    }
}

#[test]
fn recorded_embedders_load_by_id_and_dimension() {
    let hash = HashEmbedder::new();
    let loaded = load_recorded(hash.info()).expect("hash").expect("known");
    assert_eq!(loaded.info(), hash.info());
    // Another dimension, caller vectors and unknown ids are not built in.
    let odd = EmbedderInfo::new(hash.info().id.clone(), hash.info().dimension + 1);
    assert!(load_recorded(&odd).expect("no model needed").is_none());
    let caller = CallerVectors::new(384).expect("caller");
    assert!(load_recorded(caller.info()).expect("none").is_none());
    assert!(
        load_recorded(&EmbedderInfo::new("e5-small", 384))
            .expect("none")
            .is_none()
    );
    if model().is_some() {
        for id in ["minilm-l6-v2", "minilm-l6-v2-q8"] {
            let info = EmbedderInfo::new(id, 384);
            let e = load_recorded(&info).expect("loads").expect("known");
            assert_eq!(e.info(), &info);
            assert!(
                load_recorded(&EmbedderInfo::new(id, 768))
                    .expect("loads")
                    .is_none()
            );
        }
    }
}
