//! Python virtual environments for the peers that only exist as Python
//! packages, under `${XDG_CACHE_HOME:-~/.cache}/mnemo/venvs/NAME`.
//!
//! [`ensure`] creates the environment with `python3 -m venv` (or
//! `$MNEMO_PYTHON`) and installs the pinned requirements with pip, once: it
//! writes the requirements to `NAME/requirements.txt` last, and a later call
//! that finds the same text there reuses the environment. Concurrent calls
//! wait for each other on a lock file beside it. Packages shipped as source
//! (hnswlib 0.8.0 is an sdist) are compiled by pip, which needs a C++
//! compiler and the Python headers (Debian: `build-essential python3-dev`,
//! and `python3-venv` for the venv module).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The file inside an environment that lists what was installed into it.
const STAMP: &str = "requirements.txt";

/// `${XDG_CACHE_HOME:-~/.cache}/mnemo/venvs/<name>`.
pub fn dir(name: &str) -> Result<PathBuf> {
    Ok(crate::rustdocs::cache_dir()?.join("venvs").join(name))
}

/// The interpreter of environment `name` with exactly `requirements` (pip
/// specifiers, pinned) installed, creating it first if it is missing or was
/// made with other requirements.
pub fn ensure(name: &str, requirements: &[&str]) -> Result<PathBuf> {
    ensure_at(&dir(name)?, requirements)
}

/// The interpreter of the environment in `dir` if it exists with exactly
/// `requirements` installed (nothing is created or installed).
pub fn ready_at(dir: &Path, requirements: &[&str]) -> Option<PathBuf> {
    let python = dir.join("bin").join("python");
    let stamp = dir.join(STAMP);
    (python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements.join("\n")))
        .then_some(python)
}

/// [`ensure`] for an environment in any directory `dir` (e.g. under the
/// workspace's `target/`); the lock file is `dir` with `.lock` appended.
pub fn ensure_at(dir: &Path, requirements: &[&str]) -> Result<PathBuf> {
    let parent = dir.parent().context("a venv directory has a parent")?;
    let name = dir
        .file_name()
        .context("a venv directory has a name")?
        .to_string_lossy();
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let lock_path = parent.join(format!("{name}.lock"));
    let lock =
        File::create(&lock_path).with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    if let Some(python) = ready_at(dir, requirements) {
        return Ok(python);
    }
    let python = dir.join("bin").join("python");
    let wanted = requirements.join("\n");
    let stamp = dir.join(STAMP);
    eprintln!(
        "python venv {}: installing {}",
        dir.display(),
        requirements.join(" ")
    );
    let base = std::env::var_os("MNEMO_PYTHON").unwrap_or_else(|| "python3".into());
    run(
        Command::new(&base).args(["-m", "venv", "--clear"]).arg(dir),
        &format!(
            "creating the venv with {} -m venv (on Debian: apt-get install python3-venv)",
            Path::new(&base).display()
        ),
    )?;
    run(
        pip_install(&python).args(requirements),
        "installing the requirements with pip (packages built from source need a C++ \
         compiler and the Python headers: apt-get install build-essential python3-dev)",
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}

/// `python -m pip install --quiet --disable-pip-version-check`, for the
/// caller to add what to install.
pub fn pip_install(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    command
}

/// Runs `command` with its output sent to our stderr (stdout may be a
/// report), failing with `what` if it fails.
pub fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("{what}: could not start {command:?}"))?;
    if !status.success() {
        bail!("{what}: {command:?} failed ({status})");
    }
    Ok(())
}
