//! `mnemo verify`: checks a namespace on disk without changing it.
//!
//! 1. **log**: every segment and record checksum (`mnemo_log::verify`, the
//!    scan opening would do, without the lock or any change).
//! 2. **merkle root**: recomputed from scratch (RFC 9162 over every
//!    record's frame) and compared with the root the log keeps and with
//!    the root of the namespace opened by a full replay.
//! 3. **replay**: a copy of the log, opened with no snapshot, replays every
//!    event into memories, links and indices.
//! 4. **snapshot**: a copy of the log with the newest snapshot opens from
//!    that snapshot (every check of `snapshot.rs` passes) and holds exactly
//!    the memories and links of the full replay.
//!
//! 5. **checkpoint** (with `--checkpoint OLD --key PUB`): OLD, a signed
//!    checkpoint (`mnemo checkpoint`, or the server's `/checkpoint`), has
//!    both valid signatures (Ed25519 and ML-DSA) of the keys in PUB, names
//!    this namespace, and the log now extends it: an RFC 9162 consistency
//!    proof from its size to the log's, checked against its root.
//!
//! With `--server URL` the data directory is not read: `verify_server`
//! checks the server's current signed checkpoint against OLD instead.
//!
//! The replays run on copies in a temporary directory, so `verify` never
//! cuts a torn tail or writes a snapshot in the real directory, and works
//! on a namespace another process has open.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use mnemo::{Link, Memory, Mnemo, Namespace, Options, Query};
use mnemo_log::{Config, Hash, Log, merkle};
use serde_json::json;

use crate::embedder::{self, Recorded};
use crate::key_cmd;
use crate::open::{self, Global};
use crate::table::{self, Table};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Warn,
    Failed,
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Failed => "FAILED",
            Status::Skipped => "SKIPPED",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    detail: String,
}

/// The checks run so far, in order.
#[derive(Default)]
pub(crate) struct Checks(Vec<Check>);

impl Checks {
    pub(crate) fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
        });
    }

    pub(crate) fn failed(&self) -> bool {
        self.0.iter().any(|c| c.status == Status::Failed)
    }
}

/// `mnemo verify`'s options.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A signed checkpoint the log must extend (a file holding the note).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub checkpoint: Option<PathBuf>,
    /// The signer's public keys (`mnemo key create`'s .pub file).
    #[arg(long, value_name = "FILE", requires = "checkpoint")]
    pub key: Option<PathBuf>,
    /// Check a server instead of the data directory: its current signed
    /// checkpoint of --namespace must verify and extend --checkpoint
    /// (a consistency proof it serves, checked against both roots). A base
    /// URL such as http://127.0.0.1:7373 (plain HTTP).
    #[arg(long, value_name = "URL", requires = "checkpoint")]
    pub server: Option<String>,
    /// The bearer token for --server (a read token of the namespace)
    /// [default: the MNEMO_TOKEN environment variable].
    #[arg(long, value_name = "TOKEN", requires = "server")]
    pub token: Option<String>,
}

/// A signed checkpoint and the keys to check it with.
struct Trusted {
    note: String,
    verifier: mnemo_trust::Verifier,
}

/// Runs `mnemo verify`: prints each check with OK or FAILED; exits 1 when
/// one failed.
pub fn run(global: &Global, args: VerifyArgs) -> Result<ExitCode> {
    let trusted = match (&args.checkpoint, &args.key) {
        (Some(note), Some(key)) => Some(Trusted {
            note: std::fs::read_to_string(note)
                .with_context(|| format!("reading the checkpoint {}", note.display()))?,
            verifier: key_cmd::load_verifier(key)?,
        }),
        _ => None,
    };
    mnemo::validate_namespace(&global.namespace).map_err(open::explain)?;
    if let (Some(url), Some(trusted)) = (&args.server, &trusted) {
        let token = match &args.token {
            Some(token) => Some(token.clone()),
            None => std::env::var("MNEMO_TOKEN").ok(),
        };
        let checks = crate::verify_server::verify(
            &global.namespace,
            url,
            token.as_deref(),
            &trusted.note,
            &trusted.verifier,
        )?;
        let place = format!("on the server {url}");
        return Ok(report(
            global,
            &place,
            &checks,
            "OK: the server's log extends the checkpoint",
        ));
    }
    let data = global.data_dir();
    if !open::exists(&data, &global.namespace) {
        bail!("no namespace {} in {}", global.namespace, data.display());
    }
    let ns_dir = data.join(&global.namespace);
    let base = global.with_data_key(Options::default())?;
    let checks = verify(&global.namespace, &ns_dir, trusted.as_ref(), base)?;
    let place = format!("in {}", data.display());
    Ok(report(
        global,
        &place,
        &checks,
        "OK: the namespace is intact",
    ))
}

/// Prints the checks (a table, or JSON) and a last line, `ok_line` or
/// FAILED; exit code 1 when one failed.
pub(crate) fn report(global: &Global, place: &str, checks: &Checks, ok_line: &str) -> ExitCode {
    if global.json {
        let list: Vec<_> = checks
            .0
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status.as_str(), "detail": c.detail}))
            .collect();
        println!(
            "{}",
            json!({"namespace": global.namespace, "ok": !checks.failed(), "checks": list})
        );
    } else {
        println!("verifying namespace {} {place}", global.namespace);
        let mut t = Table::new(&["check", "status", "detail"]);
        for c in &checks.0 {
            t.row(vec![
                c.name.to_owned(),
                c.status.as_str().to_owned(),
                c.detail.clone(),
            ]);
        }
        t.print();
        println!(
            "{}",
            if checks.failed() {
                "FAILED: see the checks above"
            } else {
                ok_line
            }
        );
    }
    if checks.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The checks of namespace `name` in `ns_dir`; `base` holds the data key
/// its events are sealed with.
fn verify(name: &str, ns_dir: &Path, trusted: Option<&Trusted>, base: Options) -> Result<Checks> {
    let mut checks = Checks::default();
    let log_dir = ns_dir.join("log");
    let skip_rest = |checks: &mut Checks, from: usize| {
        for n in ["merkle root", "replay", "snapshot"].into_iter().skip(from) {
            checks.add(n, Status::Skipped, "the log is unreadable");
        }
    };

    // 1. The log's checksums.
    match mnemo_log::verify(&log_dir, &Config::default()) {
        Ok(r) => {
            let mut detail = format!(
                "{} records in {} segment{} ({}), every checksum verified",
                r.records,
                r.segments,
                if r.segments == 1 { "" } else { "s" },
                table::bytes(r.bytes)
            );
            let mut status = Status::Ok;
            if r.truncated_bytes > 0 {
                status = Status::Warn;
                detail.push_str(&format!(
                    "; a torn tail of {} bytes (a write never acknowledged) would be cut on open",
                    r.truncated_bytes
                ));
            }
            checks.add("log", status, detail);
        }
        Err(e) => {
            checks.add("log", Status::Failed, e.to_string());
            skip_rest(&mut checks, 0);
            return Ok(checks);
        }
    }

    // 2. The Merkle root, recomputed from every record.
    let log = match Log::open_read_only(&log_dir, Config::default()) {
        Ok(log) => log,
        Err(e) => {
            checks.add("merkle root", Status::Failed, e.to_string());
            skip_rest(&mut checks, 1);
            return Ok(checks);
        }
    };
    let (kept_root, size) = log.root().context("computing the log's Merkle root")?;
    let recomputed = if log.first_seq() == 0 {
        Some(recompute_root(&log))
    } else {
        None
    };
    let snapshot_seqs = snapshot_seqs(&ns_dir.join("snapshots"));
    if let Some(trusted) = trusted {
        let (status, detail) = match extends(&log, name, trusted, kept_root, size) {
            Ok(detail) => (Status::Ok, detail),
            Err(e) => (Status::Failed, e.to_string()),
        };
        checks.add("checkpoint", status, detail);
    }
    drop(log);

    // 3. A full replay, on a copy.
    let Some(info) = embedder::recorded(&log_dir) else {
        checks.add(
            "merkle root",
            Status::Skipped,
            "the log does not start with the namespace's init event",
        );
        checks.add(
            "replay",
            Status::Failed,
            "the log does not start with the namespace's init event",
        );
        checks.add("snapshot", Status::Skipped, "no replay to compare with");
        return Ok(checks);
    };
    let options = Options {
        embedder: Arc::new(Recorded(info)),
        background_indexing: false,
        ..base
    };
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let full_dir = scratch.path().join("full");
    copy_files(&log_dir, &full_dir.join(name).join("log"))?;
    copy_keys(ns_dir, &full_dir.join(name))?;
    let full_engine = Mnemo::open_with(&full_dir, options.clone()).map_err(open::explain)?;
    let full = full_engine.namespace(name);
    let replay_root = full.as_ref().ok().and_then(|ns| ns.root().ok());

    match (recomputed, replay_root) {
        (Some(root), Some((replayed, replay_size))) => {
            if root == kept_root && root == replayed && replay_size == size {
                checks.add(
                    "merkle root",
                    Status::Ok,
                    format!(
                        "{} over {size} events: recomputed from the records, equal to the log's and the replayed namespace's",
                        table::hex(&root)
                    ),
                );
            } else {
                checks.add(
                    "merkle root",
                    Status::Failed,
                    format!(
                        "recomputed {} over {size} events, but the log keeps {} and the replayed namespace has {} over {replay_size}",
                        table::hex(&root),
                        table::hex(&kept_root),
                        table::hex(&replayed)
                    ),
                );
            }
        }
        (None, _) => checks.add(
            "merkle root",
            Status::Skipped,
            format!(
                "retention removed the first records; the log keeps {}",
                table::hex(&kept_root)
            ),
        ),
        (Some(root), None) => {
            let ok = root == kept_root;
            checks.add(
                "merkle root",
                if ok { Status::Ok } else { Status::Failed },
                format!(
                    "recomputed {} over {size} events, the log keeps {}",
                    table::hex(&root),
                    table::hex(&kept_root)
                ),
            );
        }
    }
    let full = match full {
        Ok(ns) => ns,
        Err(e) => {
            checks.add("replay", Status::Failed, open::explain(e).to_string());
            checks.add("snapshot", Status::Skipped, "no replay to compare with");
            return Ok(checks);
        }
    };
    let (memories, links) = contents(&full);
    checks.add(
        "replay",
        Status::Ok,
        format!(
            "{} events replayed into {} memories and {} links",
            full.open_report().replayed,
            memories.len(),
            links.len()
        ),
    );

    // 4. The newest snapshot against the full replay.
    let Some(&newest) = snapshot_seqs.iter().max() else {
        checks.add(
            "snapshot",
            Status::Skipped,
            "no snapshot yet (one is written when the namespace closes)",
        );
        return Ok(checks);
    };
    let snap_dir = scratch.path().join("snap");
    copy_files(&log_dir, &snap_dir.join(name).join("log"))?;
    copy_keys(ns_dir, &snap_dir.join(name))?;
    copy_files(
        &ns_dir.join("snapshots"),
        &snap_dir.join(name).join("snapshots"),
    )?;
    let snap_engine = Mnemo::open_with(&snap_dir, options).map_err(open::explain)?;
    let snap = snap_engine.namespace(name).map_err(open::explain)?;
    let report = snap.open_report();
    if let Some(warning) = report.warnings.first() {
        checks.add("snapshot", Status::Failed, warning.clone());
    } else if report.snapshot_seq != Some(newest) {
        checks.add(
            "snapshot",
            Status::Failed,
            format!("the snapshot at seq {newest} was not used when opening"),
        );
    } else {
        let (snap_memories, snap_links) = contents(&snap);
        match differ(&memories, &links, &snap_memories, &snap_links) {
            None => checks.add(
                "snapshot",
                Status::Ok,
                format!(
                    "the snapshot at seq {newest} plus {} later events equals the full replay",
                    report.replayed
                ),
            ),
            Some(why) => checks.add(
                "snapshot",
                Status::Failed,
                format!("the snapshot at seq {newest}: {why}"),
            ),
        }
    }
    Ok(checks)
}

/// RFC 9162 root over every record of `log` (which starts at seq 0),
/// computed without the hashes the log keeps: perfect subtrees are merged
/// as leaves arrive, then folded right to left.
fn recompute_root(log: &Log) -> Hash {
    let mut stack: Vec<(Hash, u64)> = Vec::new();
    let reader = log.reader();
    for record in reader.iter(log.first_seq()..log.next_seq()) {
        let mut node = (merkle::leaf_hash(record.frame()), 1u64);
        while let Some(&(left, size)) = stack.last() {
            if size != node.1 {
                break;
            }
            stack.pop();
            node = (merkle::node_hash(&left, &node.0), size * 2);
        }
        stack.push(node);
    }
    let Some((mut root, _)) = stack.pop() else {
        return merkle::empty_root();
    };
    while let Some((left, _)) = stack.pop() {
        root = merkle::node_hash(&left, &root);
    }
    root
}

/// Seqs of the snapshot files in `dir`.
fn snapshot_seqs(dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".snap")?.parse().ok())
        .collect()
}

/// Copies the files of `from` (not subdirectories, not the lock file) into
/// a new directory `to`.
/// Copies the namespace's key store (the events are sealed with its keys)
/// from `ns_dir` into the copy `to`, when it has one.
fn copy_keys(ns_dir: &Path, to: &Path) -> Result<()> {
    let keys = ns_dir.join("keys");
    if keys.is_dir() {
        copy_files(&keys, &to.join("keys"))?;
    }
    Ok(())
}

fn copy_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let entries = std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let path = entry.path();
        if !path.is_file() || entry.file_name() == "LOCK" {
            continue;
        }
        std::fs::copy(&path, to.join(entry.file_name()))
            .with_context(|| format!("copying {}", path.display()))?;
    }
    Ok(())
}

/// A link as compared: from, to, kind, weight bits.
type LinkKey = (u64, u64, String, u32);

/// Every memory (by id) and every link (sorted) of a namespace.
fn contents(ns: &Namespace) -> (Vec<Arc<Memory>>, Vec<LinkKey>) {
    let memories = ns.query(&Query::new());
    let mut links = Vec::new();
    for m in &memories {
        for Link {
            from,
            to,
            kind,
            weight,
        } in ns.links(m.id).0
        {
            links.push((from.0, to.0, kind, weight.to_bits()));
        }
    }
    links.sort();
    (memories, links)
}

/// How two namespaces' contents differ, if they do.
fn differ(
    a: &[Arc<Memory>],
    a_links: &[LinkKey],
    b: &[Arc<Memory>],
    b_links: &[LinkKey],
) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!(
            "{} memories, but a full replay has {}",
            b.len(),
            a.len()
        ));
    }
    if let Some((x, _)) = a.iter().zip(b).find(|(x, y)| x != y) {
        return Some(format!("memory {} differs from a full replay", x.id));
    }
    if a_links != b_links {
        return Some(format!(
            "{} links, a full replay has {} (or they differ)",
            b_links.len(),
            a_links.len()
        ));
    }
    None
}

/// Checks that the log (`size` records, root `root`) extends the signed
/// checkpoint in `trusted`; answers what was checked.
fn extends(log: &Log, name: &str, trusted: &Trusted, root: Hash, size: u64) -> Result<String> {
    let signed = trusted
        .verifier
        .verify(&trusted.note)
        .map_err(|e| anyhow::anyhow!("the checkpoint does not verify: {e}"))?;
    let old = signed.checkpoint;
    let origin = mnemo_trust::namespace_origin(trusted.verifier.name(), name);
    if old.origin != origin {
        bail!(
            "the checkpoint is for {:?}, not this namespace ({origin:?})",
            old.origin
        );
    }
    if old.size > size {
        bail!(
            "the checkpoint covers {} events but the log holds {size}: the log was cut back \
             or replaced",
            old.size
        );
    }
    let now = mnemo_trust::Checkpoint::new(&origin, size, root)
        .map_err(|e| anyhow::anyhow!("the log's head: {e}"))?;
    let path = if old.size == 0 || old.size == size {
        Vec::new()
    } else {
        log.consistency_proof(old.size, size)
            .context("proving consistency")?
            .path
    };
    mnemo_trust::verify_consistency(&old, &now, &path)
        .map_err(|e| anyhow::anyhow!("the log does not extend the checkpoint: {e}"))?;
    Ok(format!(
        "signed at {} (Ed25519 + ML-DSA) over {} events; the log's {size} extend it \
         (consistency proof of {} hashes)",
        signed.timestamp,
        old.size,
        path.len()
    ))
}
