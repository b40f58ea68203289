//! The small storage interface the log writes through.
//!
//! The log needs only a flat directory of append-only files: list them, map
//! one for reading, append to one, sync it, remove it, and replace a small
//! metadata file atomically. The engine above the log keeps its snapshots
//! through the same interface (in a directory of their own, each snapshot
//! written whole by [`Storage::write_atomic_parts`]). [`FsStorage`]
//! implements this over a real directory with memory maps and `fdatasync`;
//! [`SimDisk`](crate::sim::SimDisk) implements it in memory and can lose or
//! tear unsynced writes on a simulated power failure.

use std::io;
use std::sync::Arc;

use bytes::Bytes;

/// A directory of files as the log sees it.
pub trait Storage: Send + Sync {
    /// Where the files live, for error messages.
    fn location(&self) -> String;
    /// Names of all files in the directory (not including the lock file).
    fn list(&self) -> io::Result<Vec<String>>;
    /// The whole current content of a file, without copying where possible
    /// (a memory map). Bytes written later are not visible in the result.
    fn read(&self, name: &str) -> io::Result<Bytes>;
    /// Like [`Storage::read`], for a file that will be read sparsely: a
    /// memory map may load its pages lazily instead of all at once. The log
    /// uses it for a segment it has just sealed (its pages are in the page
    /// cache already); recovery, which reads every byte, uses `read`.
    fn read_lazily(&self, name: &str) -> io::Result<Bytes> {
        self.read(name)
    }
    /// Creates an empty file (replacing any file of that name) for appending.
    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>>;
    /// Opens an existing file for appending after cutting it to `len` bytes;
    /// the cut is durable when this returns.
    fn open_append(&self, name: &str, len: u64) -> io::Result<Arc<dyn StorageFile>>;
    /// Removes a file. The removal is durable after [`Storage::sync_dir`].
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Replaces a small file atomically and durably (write a temporary file,
    /// sync it, rename it over the old one, sync the directory).
    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write_atomic_parts(name, &[data])
    }
    /// Like [`Storage::write_atomic`] with the content given as consecutive
    /// parts, so a large file need not be copied into one buffer first. The
    /// temporary file is `{name}.tmp`; after a failure or a crash the file
    /// `name` holds either its old content or all of the new, never a mix.
    fn write_atomic_parts(&self, name: &str, parts: &[&[u8]]) -> io::Result<()>;
    /// Makes file creations and removals durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Writes `data` over bytes `offset..offset + data.len()` of file
    /// `name`, creating the file when it is missing and filling any gap
    /// before `offset` with zeros; durable when this returns if `sync`,
    /// else after [`Storage::sync_file`]. For small files of fixed slots
    /// whose old content must not survive in any file (the engine's key
    /// store overwrites a destroyed key with zeros): a real disk writes in
    /// place, so no other file ever holds the old bytes.
    ///
    /// The default reads the whole file, patches it and replaces it with
    /// [`Storage::write_atomic`] (durable whatever `sync` says), or appends
    /// when `offset` is the file's length: correct on any storage, and
    /// cheap for the small files it is meant for.
    fn write_at(&self, name: &str, offset: u64, data: &[u8], sync: bool) -> io::Result<()> {
        let current = match self.read(name) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let len = current.as_ref().map_or(0, |b| b.len() as u64);
        if let Some(bytes) = &current
            && offset == len
        {
            let file = self.open_append(name, bytes.len() as u64)?;
            file.append(data)?;
            return if sync { file.sync_data() } else { Ok(()) };
        }
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start
            .checked_add(data.len())
            .ok_or_else(|| io::Error::other("write past the largest file size"))?;
        let mut patched = current.map(|b| b.to_vec()).unwrap_or_default();
        if patched.len() < end {
            patched.resize(end, 0);
        }
        patched[start..end].copy_from_slice(data);
        self.write_atomic(name, &patched)
    }
    /// Forces the bytes written to file `name` by [`Storage::write_at`] to
    /// stable storage. The default does nothing (its `write_at` is durable).
    fn sync_file(&self, name: &str) -> io::Result<()> {
        let _ = name;
        Ok(())
    }
    /// Releases the directory's writer lock, if the storage holds one.
    fn unlock(&self);
}

/// One file open for appending.
pub trait StorageFile: Send + Sync {
    /// Appends all of `data` at the end of the file.
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Forces appended data (and the file length) to stable storage.
    fn sync_data(&self) -> io::Result<()>;
}

#[cfg(not(target_arch = "wasm32"))]
pub use fs::FsStorage;

#[cfg(not(target_arch = "wasm32"))]
mod fs {
    use std::fs::{self, File, OpenOptions, TryLockError};
    use std::io::{self, BufWriter, Write};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use bytes::Bytes;
    use parking_lot::Mutex;

    use super::{Storage, StorageFile};
    use crate::error::{Error, Result};

    /// Name of the lock file inside a log directory.
    pub const LOCK_FILE: &str = "LOCK";

    /// Buffer of [`Storage::write_atomic_parts`]: small parts (length
    /// fields) are gathered, large ones go straight to the file.
    const ATOMIC_WRITE_BUFFER_BYTES: usize = 1 << 20;

    /// A real directory: memory-mapped reads, `write(2)` appends and
    /// `fdatasync(2)`. Opened with [`FsStorage::open`] it holds an exclusive
    /// `flock` on `DIR/LOCK` while alive, so a second writer (in this or
    /// another process) fails to open.
    #[derive(Debug)]
    pub struct FsStorage {
        dir: PathBuf,
        lock: Mutex<Option<File>>,
        /// Whether writes create the directory first (see
        /// [`FsStorage::open_lazily`]).
        create_on_write: bool,
    }

    impl FsStorage {
        /// Opens (creating if needed) `dir` and takes its writer lock.
        pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
            let dir = dir.as_ref().to_path_buf();
            fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
            let lock_path = dir.join(LOCK_FILE);
            let lock_file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&lock_path)
                .map_err(|e| Error::io(lock_path.display().to_string(), e))?;
            match lock_file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        dir: dir.display().to_string(),
                        lock_file: lock_path.display().to_string(),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(lock_path.display().to_string(), e));
                }
            }
            Ok(Self {
                dir,
                lock: Mutex::new(Some(lock_file)),
                create_on_write: false,
            })
        }

        /// Opens `dir` for reading only, without taking the lock (used by
        /// `mnemo log verify` and friends, which never write).
        pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
            let dir = dir.as_ref().to_path_buf();
            if !dir.is_dir() {
                return Err(Error::io(
                    dir.display().to_string(),
                    io::Error::new(io::ErrorKind::NotFound, "log directory does not exist"),
                ));
            }
            Ok(Self {
                dir,
                lock: Mutex::new(None),
                create_on_write: false,
            })
        }

        /// Names `dir` without touching it: no lock is taken and nothing is
        /// created until the first write, which creates the directory (and
        /// its parents). Listing a directory that does not exist yet fails
        /// with [`io::ErrorKind::NotFound`]. For files kept beside a locked
        /// log whose lock already makes their writer exclusive (the engine's
        /// snapshots), so the directory holds no `LOCK` file of its own.
        pub fn open_lazily(dir: impl AsRef<Path>) -> Self {
            Self {
                dir: dir.as_ref().to_path_buf(),
                lock: Mutex::new(None),
                create_on_write: true,
            }
        }

        /// Creates the directory when this storage was opened lazily.
        fn prepare_write(&self) -> io::Result<()> {
            if self.create_on_write {
                fs::create_dir_all(&self.dir)?;
            }
            Ok(())
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.join(name)
        }

        /// Maps the whole file read-only; `populate` loads every page now.
        fn map(&self, name: &str, populate: bool) -> io::Result<Bytes> {
            let file = File::open(self.path(name))?;
            if file.metadata()?.len() == 0 {
                return Ok(Bytes::new());
            }
            let mut options = memmap2::MmapOptions::new();
            if populate {
                options.populate();
            }
            // SAFETY: the log only ever appends to segment files and never
            // truncates a file below a length it has mapped (recovery cuts
            // torn tails before mapping the result), so the mapped range
            // stays valid; outside writers are kept away by the lock file.
            let map = unsafe { options.map(&file)? };
            Ok(Bytes::from_owner(map))
        }
    }

    impl Storage for FsStorage {
        fn location(&self) -> String {
            self.dir.display().to_string()
        }

        fn list(&self) -> io::Result<Vec<String>> {
            let mut names = Vec::new();
            for entry in fs::read_dir(&self.dir)? {
                let entry = entry?;
                if !entry.file_type()?.is_file() {
                    continue;
                }
                if let Some(name) = entry.file_name().to_str()
                    && name != LOCK_FILE
                {
                    names.push(name.to_owned());
                }
            }
            names.sort_unstable();
            Ok(names)
        }

        fn read(&self, name: &str) -> io::Result<Bytes> {
            self.map(name, true)
        }

        fn read_lazily(&self, name: &str) -> io::Result<Bytes> {
            self.map(name, false)
        }

        fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
            self.prepare_write()?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(self.path(name))?;
            Ok(Arc::new(FsFile::new(file, 0)))
        }

        fn open_append(&self, name: &str, len: u64) -> io::Result<Arc<dyn StorageFile>> {
            let file = OpenOptions::new().append(true).open(self.path(name))?;
            if file.metadata()?.len() != len {
                file.set_len(len)?;
                file.sync_all()?;
            }
            Ok(Arc::new(FsFile::new(file, len)))
        }

        fn remove(&self, name: &str) -> io::Result<()> {
            fs::remove_file(self.path(name))
        }

        fn write_atomic_parts(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
            self.prepare_write()?;
            let tmp = self.path(&format!("{name}.tmp"));
            let written = (|| -> io::Result<()> {
                use std::os::unix::fs::OpenOptionsExt;
                // Owner-only, like everything else mnemo keeps (some hold
                // keys).
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)?;
                let mut out = BufWriter::with_capacity(ATOMIC_WRITE_BUFFER_BYTES, file);
                for part in parts {
                    out.write_all(part)?;
                }
                out.into_inner().map_err(|e| e.into_error())?.sync_all()
            })();
            if let Err(e) = written {
                // Best effort: a leftover temporary file is never read, and
                // the next write of `name` replaces it.
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
            fs::rename(&tmp, self.path(name))?;
            self.sync_dir()
        }

        fn sync_dir(&self) -> io::Result<()> {
            File::open(&self.dir)?.sync_all()
        }

        fn write_at(&self, name: &str, offset: u64, data: &[u8], sync: bool) -> io::Result<()> {
            use std::os::unix::fs::{FileExt, OpenOptionsExt};
            self.prepare_write()?;
            let path = self.path(name);
            let existed = path.exists();
            // Owner-only: these files hold (wrapped) keys.
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all_at(data, offset)?;
            if sync {
                file.sync_data()?;
                if !existed {
                    self.sync_dir()?;
                }
            }
            Ok(())
        }

        fn sync_file(&self, name: &str) -> io::Result<()> {
            match File::open(self.path(name)) {
                Ok(file) => file.sync_data(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        }

        fn unlock(&self) {
            if let Some(file) = self.lock.lock().take() {
                // Release explicitly rather than by closing: a child process
                // forked elsewhere in this program shares the open file
                // description until it execs, and closing our descriptor
                // alone would leave the lock held until then. An error here
                // changes nothing: closing the file below releases it too.
                let _ = file.unlock();
            }
        }
    }

    /// Written bytes after which a segment file's dirty pages are handed to
    /// the disk in the background (see [`FsFile::start_writeback`]).
    const WRITEBACK_KICK_BYTES: u64 = 4 * 1024 * 1024;

    struct FsFile {
        file: File,
        /// File length after the last append, and how far background
        /// writeback has been started: `(written, kicked)`.
        progress: Mutex<(u64, u64)>,
    }

    impl FsFile {
        fn new(file: File, len: u64) -> Self {
            Self {
                file,
                progress: Mutex::new((len, len)),
            }
        }

        /// Starts writeback of `[from, to)` without waiting for it
        /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so the disk works
        /// while the log keeps appending and a later `fdatasync` (on a
        /// segment roll, `sync` or `close`) finds little left to write.
        /// Purely an optimisation: durability still comes from
        /// `fdatasync` alone, and errors surface there.
        #[cfg(target_os = "linux")]
        fn start_writeback(&self, from: u64, to: u64) {
            use std::os::fd::AsRawFd;
            let (Ok(offset), Ok(len)) = (i64::try_from(from), i64::try_from(to - from)) else {
                return;
            };
            // SAFETY: plain syscall on a descriptor this struct owns; no
            // memory is passed.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    offset,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }

        #[cfg(not(target_os = "linux"))]
        fn start_writeback(&self, _from: u64, _to: u64) {}
    }

    impl StorageFile for FsFile {
        fn append(&self, data: &[u8]) -> io::Result<()> {
            (&self.file).write_all(data)?;
            let mut progress = self.progress.lock();
            progress.0 += data.len() as u64;
            let (written, kicked) = *progress;
            if written - kicked >= WRITEBACK_KICK_BYTES {
                progress.1 = written;
                drop(progress);
                self.start_writeback(kicked, written);
            }
            Ok(())
        }

        fn sync_data(&self) -> io::Result<()> {
            self.file.sync_data()
        }
    }
}
