//! A simulated disk for fault testing.
//!
//! [`SimDisk`] keeps files in memory and tracks, for every file, which bytes
//! have been made durable by [`StorageFile::sync_data`] and which directory
//! entries by [`Storage::sync_dir`]. [`SimDisk::power_fail`] returns the disk
//! as it could look after the power went out, chosen by a seed so every
//! failure is replayable:
//!
//! * synced bytes always survive;
//! * of the bytes appended since the last sync, a random prefix survives, and
//!   the write in flight may be *torn*: a few random bytes follow the prefix;
//! * a truncation that was not synced may be undone;
//! * a file created but whose directory entry was never synced may vanish, and
//!   a file removed without a directory sync may come back.
//!
//! [`SimDisk::cut_power_after`] models the moment of the failure: after a
//! given number of storage operations every further operation fails (as if
//! the machine stopped), so a crash can land between any write and its sync.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::storage::{Storage, StorageFile};

#[derive(Debug, Clone, Default)]
struct SimFile {
    /// What a reader sees now.
    data: Vec<u8>,
    /// What survives a power failure for certain.
    durable: Vec<u8>,
    /// Whether the directory entry is durable.
    entry_durable: bool,
}

#[derive(Debug, Default)]
struct SimState {
    files: BTreeMap<String, Arc<Mutex<SimFile>>>,
    /// Files removed since the last directory sync whose entry was durable.
    removed: BTreeMap<String, Arc<Mutex<SimFile>>>,
    syncs: u64,
    /// Storage operations performed so far.
    ops: u64,
    /// Operations allowed before the simulated power cut.
    cut_after: Option<u64>,
}

/// An in-memory disk that can lose unsynced writes. Cloning yields another
/// handle to the same disk.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<SimState>>,
}

/// A small deterministic generator (SplitMix64), so fault choices depend on
/// nothing but the seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`0` when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with probability 1/2.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// The disk as it may look after a power failure right now, chosen by
    /// `seed`. The current disk is left unchanged.
    pub fn power_fail(&self, seed: u64) -> SimDisk {
        let mut rng = SplitMix64::new(seed);
        let state = self.state.lock();
        let mut files = BTreeMap::new();
        let all = state
            .files
            .iter()
            .map(|(n, f)| (n, f, true))
            .chain(state.removed.iter().map(|(n, f)| (n, f, false)));
        for (name, file, present) in all {
            let file = file.lock();
            if present && !file.entry_durable && rng.coin() {
                continue; // the creation never reached the disk
            }
            if !present && rng.coin() {
                continue; // the removal reached the disk
            }
            let mut data = if file.data.starts_with(&file.durable) {
                file.durable.clone()
            } else if rng.coin() {
                // An unsynced truncation (or rewrite) was lost.
                file.durable.clone()
            } else {
                let keep = file.data.len().min(file.durable.len());
                file.data[..keep].to_vec()
            };
            if file.data.len() > data.len() && file.data.starts_with(&data) {
                let unsynced = &file.data[data.len()..];
                let kept = rng.below(unsynced.len() as u64 + 1) as usize;
                data.extend_from_slice(&unsynced[..kept]);
                if kept < unsynced.len() && rng.coin() {
                    let torn = 1 + rng.below(64) as usize;
                    data.extend((0..torn).map(|_| rng.next_u64() as u8));
                }
            }
            files.insert(
                name.clone(),
                Arc::new(Mutex::new(SimFile {
                    durable: data.clone(),
                    data,
                    entry_durable: true,
                })),
            );
        }
        SimDisk {
            state: Arc::new(Mutex::new(SimState {
                files,
                ..SimState::default()
            })),
        }
    }

    /// Current content of a file, if it exists.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        let state = self.state.lock();
        state.files.get(name).map(|f| f.lock().data.clone())
    }

    /// Replaces a file's content (durably), e.g. to inject corruption.
    pub fn set_file(&self, name: &str, data: Vec<u8>) {
        let mut state = self.state.lock();
        state.files.insert(
            name.to_owned(),
            Arc::new(Mutex::new(SimFile {
                durable: data.clone(),
                data,
                entry_durable: true,
            })),
        );
    }

    /// Names of the files on the disk.
    pub fn file_names(&self) -> Vec<String> {
        self.state.lock().files.keys().cloned().collect()
    }

    /// Makes every storage operation after the next `ops` fail, as if the
    /// power went out then. Combine with [`SimDisk::power_fail`].
    pub fn cut_power_after(&self, ops: u64) {
        let mut state = self.state.lock();
        state.cut_after = Some(state.ops + ops);
    }

    /// Storage operations performed so far.
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// Counts one operation; fails if the power is out.
    fn operate(&self) -> io::Result<()> {
        let mut state = self.state.lock();
        if state.cut_after.is_some_and(|cut| state.ops >= cut) {
            return Err(io::Error::other("simulated power cut"));
        }
        state.ops += 1;
        Ok(())
    }

    /// Number of data syncs performed so far.
    pub fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such file: {name}"))
}

impl Storage for SimDisk {
    fn location(&self) -> String {
        "simulated disk".to_owned()
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.file_names())
    }

    fn read(&self, name: &str) -> io::Result<Bytes> {
        let state = self.state.lock();
        let file = state.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(Bytes::from(file.lock().data.clone()))
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        self.operate()?;
        let mut state = self.state.lock();
        let file = Arc::new(Mutex::new(SimFile::default()));
        if let Some(old) = state.files.insert(name.to_owned(), file.clone())
            && old.lock().entry_durable
        {
            state.removed.insert(name.to_owned(), old);
        }
        Ok(Arc::new(SimHandle {
            file,
            disk: self.clone(),
        }))
    }

    fn open_append(&self, name: &str, len: u64) -> io::Result<Arc<dyn StorageFile>> {
        self.operate()?;
        let state = self.state.lock();
        let file = state
            .files
            .get(name)
            .ok_or_else(|| not_found(name))?
            .clone();
        {
            let mut f = file.lock();
            let len = usize::try_from(len).map_err(io::Error::other)?;
            if f.data.len() != len {
                f.data.resize(len, 0);
                f.durable = f.data.clone();
            }
        }
        drop(state);
        Ok(Arc::new(SimHandle {
            file,
            disk: self.clone(),
        }))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.operate()?;
        let mut state = self.state.lock();
        let file = state.files.remove(name).ok_or_else(|| not_found(name))?;
        if file.lock().entry_durable {
            state.removed.insert(name.to_owned(), file);
        }
        Ok(())
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.operate()?;
        self.set_file(name, data.to_vec());
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.operate()?;
        let mut state = self.state.lock();
        state.removed.clear();
        for file in state.files.values() {
            file.lock().entry_durable = true;
        }
        Ok(())
    }

    fn unlock(&self) {}
}

struct SimHandle {
    file: Arc<Mutex<SimFile>>,
    disk: SimDisk,
}

impl StorageFile for SimHandle {
    fn append(&self, data: &[u8]) -> io::Result<()> {
        self.disk.operate()?;
        self.file.lock().data.extend_from_slice(data);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.disk.operate()?;
        {
            let mut f = self.file.lock();
            if f.data.starts_with(&f.durable) {
                let from = f.durable.len();
                let tail = f.data[from..].to_vec();
                f.durable.extend_from_slice(&tail);
            } else {
                f.durable = f.data.clone();
            }
        }
        self.disk.state.lock().syncs += 1;
        Ok(())
    }
}
