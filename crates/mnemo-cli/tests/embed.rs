//! `mnemo embed`: the hash embedder, the fallback, and the error for a
//! missing model.

use std::process::{Command, Output};

fn mnemo(args: &[&str], model_dir: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnemo"));
    cmd.args(args);
    if let Some(dir) = model_dir {
        cmd.env("MNEMO_MODEL_DIR", dir);
    }
    cmd.output().expect("run mnemo")
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn norm(v: &serde_json::Value) -> f64 {
    v.as_array()
        .expect("vector")
        .iter()
        .map(|x| x.as_f64().expect("number").powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn hash_embedder_prints_unit_vectors() {
    let out = mnemo(&["embed", "--embedder", "hash", "hello world", ""], None);
    assert!(out.status.success());
    let got = lines(&out);
    assert_eq!(got.len(), 2);
    for line in &got {
        assert_eq!(line["embedder"], "hash-v1");
        assert_eq!(line["dimension"], 384);
        assert!((norm(&line["vector"]) - 1.0).abs() < 1e-4);
    }
}

#[test]
fn missing_model_is_an_error_unless_fallback_is_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().to_str().expect("utf-8 path");
    let out = mnemo(&["embed", "--embedder", "minilm", "x"], Some(empty));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(empty) && err.contains("fetch-model"), "{err}");

    let out = mnemo(&["embed", "x"], Some(empty));
    assert!(out.status.success());
    assert_eq!(lines(&out)[0]["embedder"], "hash-v1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hash embedder"));
}
