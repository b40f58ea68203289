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
//!
//! A disk holds a tree of directories: [`SimDisk::dir`] gives a handle on a
//! subdirectory (created implicitly by its first file) that shares the
//! disk, its operation count and its power cut with every other handle, so
//! one power failure catches a log and the files kept beside it at the same
//! moment. An atomic write ([`Storage::write_atomic_parts`]) is played as
//! its steps (create the temporary file, append each part, sync, rename,
//! sync the directory), each one operation, so a cut can land between any
//! two; a rename whose directory was not synced may be undone.

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
/// handle to the same directory of the same disk.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<SimState>>,
    /// The directory this handle stands for: empty at the root, else its
    /// path from the root with a trailing `/`.
    prefix: String,
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

    /// A handle on the subdirectory `name` of this directory (on the same
    /// disk). `name` must not contain `/`.
    pub fn dir(&self, name: &str) -> SimDisk {
        SimDisk {
            state: Arc::clone(&self.state),
            prefix: format!("{}{name}/", self.prefix),
        }
    }

    /// Names of the subdirectories of this directory that hold files.
    pub fn dirs(&self) -> Vec<String> {
        let state = self.state.lock();
        let mut names: Vec<String> = state
            .files
            .keys()
            .filter_map(|full| full.strip_prefix(&self.prefix)?.split_once('/'))
            .map(|(dir, _)| dir.to_owned())
            .collect();
        names.dedup();
        names
    }

    /// The path of `name` from the root of the disk.
    fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The name of `full` within this directory, if it is a file directly in it.
    fn local<'a>(&self, full: &'a str) -> Option<&'a str> {
        full.strip_prefix(&self.prefix)
            .filter(|name| !name.contains('/'))
    }

    /// The whole disk as it may look after a power failure right now, chosen
    /// by `seed`, as a handle on the same directory as this one. The current
    /// disk is left unchanged.
    pub fn power_fail(&self, seed: u64) -> SimDisk {
        let mut rng = SplitMix64::new(seed);
        let state = self.state.lock();
        let mut files = BTreeMap::new();
        // A name whose durable file was replaced (a rename over it, or a
        // creation of the same name) names exactly one of the two after the
        // failure, as a directory entry is replaced atomically: `true` when
        // the new one survived, `false` when the old one did.
        let mut replaced = BTreeMap::new();
        let all = state
            .files
            .iter()
            .map(|(n, f)| (n, f, true))
            .chain(state.removed.iter().map(|(n, f)| (n, f, false)));
        for (name, file, present) in all {
            let file = file.lock();
            if present && !file.entry_durable {
                let survived = !rng.coin();
                if state.removed.contains_key(name) {
                    replaced.insert(name, survived);
                }
                if !survived {
                    continue; // the creation never reached the disk
                }
            }
            if !present {
                let gone = match replaced.get(name) {
                    Some(&new_survived) => new_survived,
                    None => rng.coin(),
                };
                if gone {
                    continue; // the removal reached the disk
                }
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
            prefix: self.prefix.clone(),
        }
    }

    /// Current content of a file, if it exists.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        let state = self.state.lock();
        state
            .files
            .get(&self.full(name))
            .map(|f| f.lock().data.clone())
    }

    /// Replaces a file's content (durably), e.g. to inject corruption.
    pub fn set_file(&self, name: &str, data: Vec<u8>) {
        let mut state = self.state.lock();
        state.files.insert(
            self.full(name),
            Arc::new(Mutex::new(SimFile {
                durable: data.clone(),
                data,
                entry_durable: true,
            })),
        );
    }

    /// Names of the files in this directory (not in its subdirectories).
    pub fn file_names(&self) -> Vec<String> {
        let state = self.state.lock();
        state
            .files
            .keys()
            .filter_map(|full| self.local(full))
            .map(str::to_owned)
            .collect()
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

    /// Renames `from` to `to`, replacing any file `to`. Like a creation and
    /// a removal, the rename is durable only after [`Storage::sync_dir`]:
    /// until then a power failure may keep the old names.
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.operate()?;
        let mut state = self.state.lock();
        let (from, to) = (self.full(from), self.full(to));
        let file = state.files.remove(&from).ok_or_else(|| not_found(&from))?;
        let moved = {
            let f = file.lock();
            SimFile {
                data: f.data.clone(),
                durable: f.durable.clone(),
                entry_durable: false,
            }
        };
        if file.lock().entry_durable {
            state.removed.insert(from, file);
        }
        if let Some(old) = state.files.insert(to.clone(), Arc::new(Mutex::new(moved)))
            && old.lock().entry_durable
        {
            state.removed.insert(to, old);
        }
        Ok(())
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such file: {name}"))
}

impl Storage for SimDisk {
    fn location(&self) -> String {
        match self.prefix.strip_suffix('/') {
            Some(dir) => format!("simulated disk:/{dir}"),
            None => "simulated disk".to_owned(),
        }
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.file_names())
    }

    fn read(&self, name: &str) -> io::Result<Bytes> {
        let state = self.state.lock();
        let file = state
            .files
            .get(&self.full(name))
            .ok_or_else(|| not_found(name))?;
        Ok(Bytes::from(file.lock().data.clone()))
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        self.operate()?;
        let mut state = self.state.lock();
        let file = Arc::new(Mutex::new(SimFile::default()));
        if let Some(old) = state.files.insert(self.full(name), file.clone())
            && old.lock().entry_durable
        {
            state.removed.insert(self.full(name), old);
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
            .get(&self.full(name))
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
        let full = self.full(name);
        let file = state.files.remove(&full).ok_or_else(|| not_found(name))?;
        if file.lock().entry_durable {
            state.removed.insert(full, file);
        }
        Ok(())
    }

    fn write_atomic_parts(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let tmp = format!("{name}.tmp");
        let file = self.create(&tmp)?;
        for part in parts {
            file.append(part)?;
        }
        file.sync_data()?;
        self.rename(&tmp, name)?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.operate()?;
        let mut state = self.state.lock();
        state.removed.retain(|full, _| self.local(full).is_none());
        for (full, file) in &state.files {
            if self.local(full).is_some() {
                file.lock().entry_durable = true;
            }
        }
        Ok(())
    }

    fn write_at(&self, name: &str, offset: u64, data: &[u8], sync: bool) -> io::Result<()> {
        self.operate()?;
        let file = {
            let mut state = self.state.lock();
            Arc::clone(state.files.entry(self.full(name)).or_default())
        };
        {
            let mut f = file.lock();
            let start = usize::try_from(offset).map_err(io::Error::other)?;
            let end = start + data.len();
            if f.data.len() < end {
                f.data.resize(end, 0);
            }
            f.data[start..end].copy_from_slice(data);
        }
        if sync {
            self.sync_file(name)?;
            let entry_durable = file.lock().entry_durable;
            if !entry_durable {
                self.sync_dir()?;
            }
        }
        Ok(())
    }

    fn sync_file(&self, name: &str) -> io::Result<()> {
        self.operate()?;
        let file = self.state.lock().files.get(&self.full(name)).cloned();
        if let Some(file) = file {
            let mut f = file.lock();
            f.durable = f.data.clone();
            drop(f);
            self.state.lock().syncs += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_share_the_disk_but_not_their_names() {
        let disk = SimDisk::new();
        let log = disk.dir("ns").dir("log");
        let snapshots = disk.dir("ns").dir("snapshots");
        log.create("a").expect("create");
        snapshots
            .write_atomic("a", b"snapshot")
            .expect("atomic write");
        assert_eq!(log.list().expect("list"), vec!["a".to_owned()]);
        assert_eq!(snapshots.file("a"), Some(b"snapshot".to_vec()));
        assert_eq!(log.file("a"), Some(Vec::new()));
        assert!(disk.file_names().is_empty());
        assert_eq!(disk.dirs(), vec!["ns".to_owned()]);
        assert_eq!(disk.dir("ns").dirs(), vec!["log", "snapshots"]);
        assert_eq!(snapshots.location(), "simulated disk:/ns/snapshots");
        // One power cut for every directory of the disk.
        disk.cut_power_after(0);
        assert!(snapshots.create("b").is_err());
        assert!(log.sync_dir().is_err());
    }

    #[test]
    fn an_atomic_write_cut_anywhere_leaves_the_old_or_the_new_content() {
        let (mut old_seen, mut new_seen) = (false, false);
        for cut in 0..8 {
            for seed in 0..64 {
                let disk = SimDisk::new().dir("d");
                disk.write_atomic("f", b"old").expect("first write");
                disk.cut_power_after(cut);
                let done = disk.write_atomic_parts("f", &[b"ne", b"", b"w"]).is_ok();
                let after = disk.power_fail(seed);
                let content = after.file("f");
                if done {
                    assert_eq!(content.as_deref(), Some(&b"new"[..]), "cut {cut}");
                }
                match content.as_deref() {
                    Some(b"old") => old_seen = true,
                    Some(b"new") => new_seen = true,
                    other => panic!("cut {cut} seed {seed}: {other:?}"),
                }
            }
        }
        assert!(old_seen && new_seen);
    }
}
