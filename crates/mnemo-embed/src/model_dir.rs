//! Where the all-MiniLM-L6-v2 files are looked for.
//!
//! In order: the directory named by `MNEMO_MODEL_DIR` if it is set (and then
//! only there), else `$XDG_CACHE_HOME/mnemo/models/all-MiniLM-L6-v2`, else
//! `$HOME/.cache/mnemo/models/all-MiniLM-L6-v2`. The repository's
//! `scripts/fetch-model` puts the files in the same place (it honours the
//! same variables).

use std::path::{Path, PathBuf};

use crate::Error;

/// The environment variable that names the model directory.
pub const MODEL_DIR_ENV: &str = "MNEMO_MODEL_DIR";
/// The weights file in a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The tokenizer file in a model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The model directory's name below the cache directory.
const CACHE_SUBDIR: &str = "mnemo/models/all-MiniLM-L6-v2";

/// The directories searched, in order (see the module documentation).
pub fn candidates() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let home = std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache"));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for cache in xdg.into_iter().chain(home) {
        let dir = cache.join(CACHE_SUBDIR);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Whether `dir` holds both model files.
pub fn is_complete(dir: &Path) -> bool {
    dir.join(WEIGHTS_FILE).is_file() && dir.join(TOKENIZER_FILE).is_file()
}

/// `Ok` if `dir` holds both model files, else [`Error::ModelNotFound`]
/// naming `dir`.
pub fn ensure_complete(dir: &Path) -> Result<(), Error> {
    if is_complete(dir) {
        Ok(())
    } else {
        Err(Error::ModelNotFound {
            looked: vec![dir.to_path_buf()],
        })
    }
}

/// The first of [`candidates`] that holds both model files, or
/// [`Error::ModelNotFound`] listing every place looked at.
pub fn find() -> Result<PathBuf, Error> {
    let looked = candidates();
    match looked.iter().find(|d| is_complete(d)) {
        Some(dir) => Ok(dir.clone()),
        None => Err(Error::ModelNotFound { looked }),
    }
}
