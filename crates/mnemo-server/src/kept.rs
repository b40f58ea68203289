//! Signed checkpoints kept in each namespace's directory:
//! `DATA/<ns>/checkpoints/<size, 20 digits>.note`, one C2SP signed note
//! per kept tree size, written atomically (temporary file, fsync, rename,
//! directory fsync).
//!
//! Each namespace's kept sizes are read from its directory once, on first
//! use, and held in memory (eight bytes and a tree node per checkpoint), so
//! listing and reading never scan the directory.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::ApiError;

/// How often the server looks for namespaces due a kept checkpoint.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The directory, under a namespace's, holding its kept checkpoints.
pub(crate) const KEPT_DIR: &str = "checkpoints";

/// The kept checkpoints of every namespace of one data directory.
pub(crate) struct Kept {
    /// The engine's data directory (none in memory: nothing is kept).
    data: Option<PathBuf>,
    namespaces: Mutex<HashMap<String, Arc<Mutex<NsKept>>>>,
}

/// One namespace's kept checkpoints.
pub(crate) struct NsKept {
    dir: PathBuf,
    /// The kept tree sizes.
    pub(crate) sizes: BTreeSet<u64>,
    /// When the last one was kept, or when these were first read.
    pub(crate) since: Instant,
    /// Whether the log was found shorter than the newest kept checkpoint
    /// (said once in the server's log).
    pub(crate) warned_shorter: bool,
}

/// One page of kept sizes.
pub(crate) struct Page {
    /// The sizes, oldest first.
    pub(crate) sizes: Vec<u64>,
    /// How many are kept in all.
    pub(crate) count: usize,
    /// The newest kept size.
    pub(crate) latest: Option<u64>,
    /// Whether sizes after the page's last follow.
    pub(crate) more: bool,
}

/// The file name of the kept checkpoint of tree size `size`.
fn file_name(size: u64) -> String {
    format!("{size:020}.note")
}

/// The tree size a kept checkpoint's file name holds, if it is one.
fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".note")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Kept {
    /// The kept checkpoints under data directory `data`.
    pub(crate) fn new(data: Option<PathBuf>) -> Self {
        Self {
            data,
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    /// Whether checkpoints can be kept (the engine has a data directory).
    pub(crate) fn enabled(&self) -> bool {
        self.data.is_some()
    }

    /// Namespace `ns`'s kept checkpoints, read from its directory on first
    /// use. 404 when the server has no data directory.
    pub(crate) fn namespace(&self, ns: &str) -> Result<Arc<Mutex<NsKept>>, ApiError> {
        let Some(data) = &self.data else {
            return Err(ApiError::not_found(
                "checkpoints: this server keeps no checkpoints: it runs without a data directory",
            ));
        };
        if let Some(kept) = self.namespaces.lock().get(ns) {
            return Ok(Arc::clone(kept));
        }
        let dir = data.join(ns).join(KEPT_DIR);
        let sizes = read_sizes(&dir)?;
        let mut namespaces = self.namespaces.lock();
        // Another request may have read them meanwhile: keep the first.
        let kept = namespaces.entry(ns.to_owned()).or_insert_with(|| {
            Arc::new(Mutex::new(NsKept {
                dir,
                sizes,
                since: Instant::now(),
                warned_shorter: false,
            }))
        });
        Ok(Arc::clone(kept))
    }

    /// Up to `limit` kept sizes of `ns` after `after` (all when none),
    /// oldest first.
    pub(crate) fn page(
        &self,
        ns: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page, ApiError> {
        let kept = self.namespace(ns)?;
        let kept = kept.lock();
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = kept.sizes.range((start, Bound::Unbounded));
        let sizes: Vec<u64> = range.by_ref().take(limit).copied().collect();
        Ok(Page {
            more: range.next().is_some(),
            sizes,
            count: kept.sizes.len(),
            latest: kept.sizes.last().copied(),
        })
    }

    /// The kept note of tree size `size` in `ns`; 404 naming the size when
    /// none is kept.
    pub(crate) fn note(&self, ns: &str, size: u64) -> Result<String, ApiError> {
        let kept = self.namespace(ns)?;
        let path = {
            let kept = kept.lock();
            if !kept.sizes.contains(&size) {
                let latest = match kept.sizes.last() {
                    Some(l) => format!("the newest kept is of size {l}"),
                    None => "none is kept yet".to_owned(),
                };
                return Err(ApiError::not_found(format!(
                    "size: no checkpoint of tree size {size} is kept in namespace {ns} \
                     ({latest}; GET /v1/namespaces/{ns}/checkpoints lists them)"
                )));
            }
            kept.dir.join(file_name(size))
        };
        read_note(&path)
    }
}

impl NsKept {
    /// The newest kept size (0 when none is).
    pub(crate) fn latest(&self) -> u64 {
        self.sizes.last().copied().unwrap_or(0)
    }

    /// Writes `note`, the signed checkpoint of tree size `size`, durably
    /// and atomically, and records it.
    pub(crate) fn keep(&mut self, size: u64, note: &str) -> Result<(), ApiError> {
        write_note(&self.dir, size, note).map_err(|e| {
            ApiError::internal(format!(
                "checkpoints: keeping {}: {e}",
                self.dir.join(file_name(size)).display()
            ))
        })?;
        self.sizes.insert(size);
        self.since = Instant::now();
        Ok(())
    }
}

/// The sizes of the kept checkpoints in `dir` (none when it does not
/// exist); files of other names (a temporary file a crash left) are
/// ignored.
fn read_sizes(dir: &Path) -> Result<BTreeSet<u64>, ApiError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => {
            return Err(ApiError::internal(format!(
                "checkpoints: reading {}: {e}",
                dir.display()
            )));
        }
    };
    let mut sizes = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            ApiError::internal(format!("checkpoints: reading {}: {e}", dir.display()))
        })?;
        if let Some(size) = entry.file_name().to_str().and_then(parse_name) {
            sizes.insert(size);
        }
    }
    Ok(sizes)
}

/// A kept note, refused when larger than a note may be.
fn read_note(path: &Path) -> Result<String, ApiError> {
    let failed = |e: std::io::Error| {
        ApiError::internal(format!("checkpoints: reading {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let limit = mnemo_trust::MAX_NOTE_BYTES as u64;
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(failed)?;
    if text.len() as u64 > limit {
        return Err(ApiError::internal(format!(
            "checkpoints: {} is larger than a signed note may be (1 MiB)",
            path.display()
        )));
    }
    Ok(text)
}

/// Writes `note` as `dir/<size>.note`: a temporary file, fsynced, renamed
/// over the name, then the directory fsynced (created first, and its
/// parent fsynced, when missing).
fn write_note(dir: &Path, size: u64, note: &str) -> std::io::Result<()> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    let name = file_name(size);
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(note.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(&name))?;
    sync_dir(dir)
}

/// Makes a directory's entries durable (a no-op where directories cannot
/// be opened, as on Windows).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_ignored() {
        assert_eq!(file_name(42), "00000000000000000042.note");
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
        for other in [
            "42.note",
            "00000000000000000042.note.tmp",
            "0000000000000000004x.note",
            "99999999999999999999.note",
            "",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn kept_notes_are_listed_in_pages_and_read_back() {
        let data = tempfile::tempdir().expect("dir");
        let kept = Kept::new(Some(data.path().to_owned()));
        let ns = kept.namespace("alice").expect("alice");
        for size in [3, 10, 7] {
            ns.lock()
                .keep(size, &format!("note {size}\n"))
                .expect("kept");
        }
        std::fs::write(
            data.path()
                .join("alice/checkpoints/00000000000000000099.note.tmp"),
            "torn",
        )
        .expect("a leftover temporary file");
        // Read again from the directory, as after a restart.
        let again = Kept::new(Some(data.path().to_owned()));
        let page = again.page("alice", None, 2).expect("page");
        assert_eq!(
            (page.sizes, page.count, page.latest, page.more),
            (vec![3, 7], 3, Some(10), true)
        );
        let page = again.page("alice", Some(7), 2).expect("page");
        assert_eq!((page.sizes, page.more), (vec![10], false));
        assert_eq!(again.note("alice", 7).expect("note"), "note 7\n");
        let e = again.note("alice", 8).expect_err("none of size 8");
        assert!(
            e.message.contains("size 8") && e.message.contains("newest kept is of size 10"),
            "{e}"
        );
        let e = again.note("bob", 1).expect_err("none kept");
        assert!(e.message.contains("none is kept yet"), "{e}");
        let e = Kept::new(None)
            .page("alice", None, 1)
            .err()
            .expect("in memory");
        assert!(e.message.contains("without a data directory"), "{e}");
    }
}
