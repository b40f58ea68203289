//! [`Mnemo`]: a directory (or memory) holding namespaces, and
//! [`StorageProvider`]: where an engine keeps its files.
//!
//! On a real disk the engine's directory holds one directory per
//! namespace, each with a `log` directory (the event log, locked while
//! open) and a `snapshots` directory (created by the first snapshot):
//!
//! ```text
//! DIR/<namespace>/log/{base_seq:020}.seg, LOCK, MERKLE-PREFIX
//! DIR/<namespace>/snapshots/{seq:020}.snap
//! DIR/<namespace>/keys/namespace, dek-{page:08}, snapshots[, data.key]
//! ```
//!
//! Every file goes through a [`mnemo_log::Storage`]; [`Mnemo::open_on`]
//! takes any provider of them, such as a simulated disk that loses unsynced
//! writes at a seeded power failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mnemo_embed::Embedder;
use mnemo_log::Storage;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::namespace::{Namespace, NamespaceFiles, Progress};
use crate::options::Options;

/// Where an engine keeps its namespaces' files: for each namespace one
/// [`Storage`] for its log and one for its snapshots.
///
/// [`Mnemo::open`] uses directories on a real disk; implement this to open
/// an engine on other storage with [`Mnemo::open_on`]: a simulated disk in
/// fault-injection tests (see `tests/power_loss.rs`), or an embedder's own
/// storage. Snapshots need only [`Storage::list`], [`Storage::read`],
/// [`Storage::write_atomic_parts`] and [`Storage::remove`].
pub trait StorageProvider: Send + Sync {
    /// Where the files are, for messages.
    fn location(&self) -> String;
    /// The storage of namespace `namespace`'s log, created if needed. A
    /// provider that can be shared between processes locks it here (and
    /// fails with [`mnemo_log::Error::Locked`] when another writer holds
    /// it).
    fn log(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>>;
    /// The storage of namespace `namespace`'s snapshots. It may be empty or
    /// not exist yet (listing it may fail until the first snapshot).
    fn snapshots(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>>;
    /// The storage of namespace `namespace`'s key store (see
    /// [`crate::crypt`]): small files written in place with
    /// [`Storage::write_at`] and replaced with [`Storage::write_atomic`].
    fn keys(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>>;
    /// Names of the namespaces stored (those with a log).
    fn namespaces(&self) -> Vec<String>;
}

/// Namespaces as directories under `dir` on a real disk (see the module
/// docs for the layout).
#[cfg(not(target_arch = "wasm32"))]
struct DirectoryProvider {
    dir: PathBuf,
}

#[cfg(not(target_arch = "wasm32"))]
impl StorageProvider for DirectoryProvider {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn log(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        let dir = self.dir.join(namespace).join("log");
        Ok(Arc::new(mnemo_log::FsStorage::open(dir)?))
    }

    fn snapshots(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        let dir = self.dir.join(namespace).join("snapshots");
        Ok(Arc::new(mnemo_log::FsStorage::open_lazily(dir)))
    }

    fn keys(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        let dir = self.dir.join(namespace).join("keys");
        Ok(Arc::new(mnemo_log::FsStorage::open_lazily(dir)))
    }

    fn namespaces(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.path().join("log").is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect()
    }
}

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
    /// The directory, when on a real disk.
    dir: Option<PathBuf>,
    /// Where the files are (none in memory).
    storage: Option<Arc<dyn StorageProvider>>,
    options: Options,
    open: Mutex<HashMap<String, Namespace>>,
}

impl std::fmt::Debug for Mnemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mnemo")
            .field("dir", &self.dir)
            .field("storage", &self.storage.as_ref().map(|s| s.location()))
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
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Mnemo> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Mnemo {
            storage: Some(Arc::new(DirectoryProvider { dir: dir.clone() })),
            dir: Some(dir),
            options,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Opens the engine in `dir` with `options`: always an error in the
    /// browser, which has no file system (use [`Mnemo::in_memory`] or
    /// [`Mnemo::open_on`]).
    #[cfg(target_arch = "wasm32")]
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Mnemo> {
        let _ = options;
        Err(Error::Io {
            path: dir.as_ref().display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "no file system on this target: use Mnemo::in_memory",
            ),
        })
    }

    /// Opens the engine kept on `storage` with `options`: every log and
    /// snapshot file goes through it. For fault-injection tests (a
    /// simulated disk that loses unsynced writes) and for embedders with
    /// storage of their own; [`Mnemo::open_with`] is this on a directory.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mnemo::{Mnemo, NewMemory, Options, StorageProvider};
    /// use mnemo_log::{Storage, sim::SimDisk};
    ///
    /// /// Every namespace in a directory of one simulated disk.
    /// struct Sim(SimDisk);
    ///
    /// impl StorageProvider for Sim {
    ///     fn location(&self) -> String {
    ///         self.0.location()
    ///     }
    ///     fn log(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
    ///         Ok(Arc::new(self.0.dir(ns).dir("log")))
    ///     }
    ///     fn snapshots(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
    ///         Ok(Arc::new(self.0.dir(ns).dir("snapshots")))
    ///     }
    ///     fn keys(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
    ///         Ok(Arc::new(self.0.dir(ns).dir("keys")))
    ///     }
    ///     fn namespaces(&self) -> Vec<String> {
    ///         self.0.dirs()
    ///     }
    /// }
    ///
    /// let disk = SimDisk::new();
    /// let mnemo = Mnemo::open_on(Arc::new(Sim(disk.clone())), Options::default());
    /// let id = mnemo.namespace("alice")?.remember(NewMemory::new("likes green tea"))?;
    /// drop(mnemo);
    /// let reopened = Mnemo::open_on(Arc::new(Sim(disk.power_fail(7))), Options::default());
    /// assert_eq!(reopened.namespaces(), ["alice"]);
    /// assert!(reopened.namespace("alice")?.get(id).is_some());
    /// # Ok::<(), mnemo::Error>(())
    /// ```
    pub fn open_on(storage: Arc<dyn StorageProvider>, options: Options) -> Mnemo {
        Mnemo {
            dir: None,
            storage: Some(storage),
            options,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// An engine that keeps everything in memory, with default options.
    pub fn in_memory() -> Mnemo {
        Self::in_memory_with(Options::default())
    }

    /// An in-memory engine with `options`.
    pub fn in_memory_with(options: Options) -> Mnemo {
        Mnemo {
            dir: None,
            storage: None,
            options,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The directory, if on a real disk.
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
        self.open_namespace(name, None, progress)
    }

    /// The namespace `name` with its own embedder instead of the engine's
    /// [`Options::embedder`]: namespaces of one engine may each use
    /// another (text embedders, or [`mnemo_embed::CallerVectors`] for
    /// vectors from the caller's model). A namespace is built with one
    /// embedder and refuses any other, also while it is open.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mnemo::{Mnemo, NewMemory, Query, RecallOptions};
    /// use mnemo_embed::CallerVectors;
    ///
    /// let mnemo = Mnemo::in_memory();
    /// let ns = mnemo.namespace_with_embedder("own", Arc::new(CallerVectors::new(2).unwrap()))?;
    /// ns.remember(NewMemory::new("north").vector(vec![0.0, 1.0]))?;
    /// let mut options = RecallOptions::k(1);
    /// options.query_vector = Some(vec![0.1, 0.9]);
    /// assert_eq!(ns.recall_with("which way", &options)?.hits[0].memory.content, "north");
    /// assert!(mnemo.namespace("own").is_ok());
    /// assert!(mnemo.namespace_with_embedder("own", Arc::new(mnemo_embed::HashEmbedder::new())).is_err());
    /// # Ok::<(), mnemo::Error>(())
    /// ```
    pub fn namespace_with_embedder(
        &self,
        name: &str,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Namespace> {
        self.open_namespace(name, Some(embedder), None)
    }

    fn open_namespace(
        &self,
        name: &str,
        embedder: Option<Arc<dyn Embedder>>,
        progress: Option<Progress<'_>>,
    ) -> Result<Namespace> {
        validate_namespace(name)?;
        let mut open = self.open.lock();
        if let Some(ns) = open.get(name) {
            if let Some(wanted) = &embedder {
                ns.embedder_info()
                    .ensure_same(wanted.info())
                    .map_err(|source| Error::Embed {
                        namespace: name.to_owned(),
                        source,
                    })?;
            }
            return Ok(ns.clone());
        }
        let mut options = self.options.clone();
        if let Some(embedder) = embedder {
            // A namespace given its own embedder opens with that one or
            // not at all.
            options.embedder = embedder;
            options.recorded_embedders = None;
        }
        let files = match &self.storage {
            Some(storage) => {
                let opened = storage
                    .log(name)
                    .and_then(|log| Ok((log, storage.snapshots(name)?, storage.keys(name)?)));
                let (log, snapshots, keys) = opened.map_err(|source| Error::Log {
                    namespace: name.to_owned(),
                    source,
                })?;
                Some(NamespaceFiles {
                    log,
                    snapshots,
                    keys,
                })
            }
            None => None,
        };
        let dir = self.dir.as_ref().map(|d| d.join(name));
        let ns = Namespace::open(name, dir.as_deref(), files, options, progress)?;
        open.insert(name.to_owned(), ns.clone());
        Ok(ns)
    }

    /// Names of the namespaces stored (on disk) or open (in memory).
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.open.lock().keys().cloned().collect();
        if let Some(storage) = &self.storage {
            names.extend(
                storage
                    .namespaces()
                    .into_iter()
                    .filter(|name| validate_namespace(name).is_ok()),
            );
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Re-wraps every stored namespace's keys under the data key `new`
    /// (see [`crate::crypt`]) and uses it from now on: namespaces not yet
    /// open are opened with the current key first. The logs are not
    /// rewritten. Returns the namespaces rotated.
    pub fn rotate_data_key(&mut self, new: crate::DataKey) -> Result<Vec<String>> {
        let names = self.namespaces();
        for name in &names {
            self.namespace(name)?.rotate_data_key(&new)?;
        }
        self.options.data_key = crate::DataKeySource::Given(new);
        Ok(names)
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
