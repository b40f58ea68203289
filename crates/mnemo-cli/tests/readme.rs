//! The README may describe only what exists and was measured: its LoCoMo
//! figure is the committed `mnemo eval locomo --json` result, and every
//! crate, path or package it names is in the workspace.

mod common;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The README's text with line breaks and runs of spaces made single
/// spaces, so a phrase matches wherever the paragraph was wrapped.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_readme_locomo_figure_is_the_committed_result() {
    let readme = flat(&readme());
    for granularity in ["turn", "observation"] {
        let eval = common::committed_locomo_eval(granularity);
        let hit5 = eval["overall"]["hit@5"].as_f64().unwrap_or_else(|| {
            panic!("bench-results/locomo-dev.json: no overall hit@5 at {granularity} level")
        });
        let claim = format!("hit@5 {hit5:.3}");
        assert!(
            readme.contains(&claim),
            "the README must quote the committed LoCoMo result at {granularity} level \
             ({claim}, from bench-results/locomo-dev.json)"
        );
    }
    assert!(
        readme.contains("bench-results/locomo-dev.json"),
        "the README must name the file its LoCoMo figure comes from"
    );
    assert!(
        readme.contains("tuned on"),
        "the README must say the LoCoMo figure was measured on the data recall was tuned on"
    );
}

#[test]
fn the_readme_names_only_crates_and_paths_that_exist() {
    let readme = readme();
    let crates = root().join("crates");
    let mut named: Vec<&str> = Vec::new();
    for piece in readme.split('`').skip(1).step_by(2) {
        if piece.starts_with("crates/") {
            assert!(
                root().join(piece).exists(),
                "the README names `{piece}`, which does not exist"
            );
        }
        let name = piece.strip_prefix("crates/").unwrap_or(piece);
        let name = name.split('/').next().unwrap_or(name);
        if name.starts_with("mnemo-")
            && name[6..].chars().all(|c| c.is_ascii_lowercase())
            && !name[6..].is_empty()
        {
            named.push(name);
        }
    }
    assert!(!named.is_empty(), "the README names no crate at all");
    for name in named {
        assert!(
            crates.join(name).join("Cargo.toml").is_file(),
            "the README names `{name}`, which is not a crate of this workspace"
        );
    }
    // No install instructions for packages that do not exist yet.
    let flat = flat(&readme);
    for (package, dir) in [
        ("pip install mnemo", "mnemo-python"),
        ("npm install mnemo", "mnemo-wasm"),
    ] {
        assert!(
            !flat.contains(package) || crates.join(dir).is_dir(),
            "the README says `{package}`, but crates/{dir} does not exist"
        );
    }
}
