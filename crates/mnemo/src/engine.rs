//! [`Mnemo`]: a directory (or memory) holding namespaces.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::namespace::{Namespace, Progress};
use crate::options::Options;

/// The engine: opens namespaces on first use and keeps them open.
///
/// ```
/// use mnemo::{Mnemo, NewMemory, Query};
///
/// let mnemo = Mnemo::in_memory();
/// let ns = mnemo.namespace("alice")?;
/// let id = ns.remember(NewMemory::new("Alice likes green tea").tag("food"))?;
/// assert_eq!(ns.query(&Query::new().tag("food"))[0].id, id);
/// let hits = ns.recall("what tea does alice like", 3, &Query::new())?;
/// assert_eq!(hits[0].memory.id, id);
/// # Ok::<(), mnemo::Error>(())
/// ```
pub struct Mnemo {
    dir: Option<PathBuf>,
    options: Options,
    open: Mutex<HashMap<String, Namespace>>,
}

impl std::fmt::Debug for Mnemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mnemo")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Checks a namespace name: 1 to 64 of `a-z A-Z 0-9 - _ .`, not starting
/// with `.` (names are directory names).
pub fn validate_namespace(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidNamespace {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if name.starts_with('.') {
        return bad("it starts with '.'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return bad("it contains a character outside a-z, A-Z, 0-9, '-', '_', '.'");
    }
    Ok(())
}

impl Mnemo {
    /// Opens (creating if needed) the engine stored in `dir`, with default
    /// options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Mnemo> {
        Self::open_with(dir, Options::default())
    }

    /// Opens the engine in `dir` with `options`.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Mnemo> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Mnemo {
            dir: Some(dir),
            options,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// An engine that keeps everything in memory, with default options.
    pub fn in_memory() -> Mnemo {
        Self::in_memory_with(Options::default())
    }

    /// An in-memory engine with `options`.
    pub fn in_memory_with(options: Options) -> Mnemo {
        Mnemo {
            dir: None,
            options,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The directory, if on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The namespace `name`, opened (replaying its log) or created on
    /// first use.
    pub fn namespace(&self, name: &str) -> Result<Namespace> {
        self.namespace_with_progress(name, None)
    }

    /// [`Self::namespace`], reporting replay progress.
    pub fn namespace_with_progress(
        &self,
        name: &str,
        progress: Option<Progress<'_>>,
    ) -> Result<Namespace> {
        validate_namespace(name)?;
        let mut open = self.open.lock();
        if let Some(ns) = open.get(name) {
            return Ok(ns.clone());
        }
        let dir = self.dir.as_ref().map(|d| d.join(name));
        let ns = Namespace::open(name, dir.as_deref(), self.options.clone(), progress)?;
        open.insert(name.to_owned(), ns.clone());
        Ok(ns)
    }

    /// Names of the namespaces stored (on disk) or open (in memory).
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.open.lock().keys().cloned().collect();
        if let Some(dir) = &self.dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for e in entries.flatten() {
                if let Some(name) = e.file_name().to_str()
                    && validate_namespace(name).is_ok()
                    && e.path().join("log").is_dir()
                {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Closes every open namespace (snapshots written, logs synced).
    pub fn close(&self) -> Result<()> {
        let open: Vec<Namespace> = self.open.lock().drain().map(|(_, ns)| ns).collect();
        let mut first_error = None;
        for ns in open {
            if let Err(e) = ns.close() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Mnemo {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
