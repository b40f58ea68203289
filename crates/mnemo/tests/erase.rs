//! Forgetting erases: after `forget` (or `purge`) and `close`, no file
//! under the data directory holds any 8-byte piece of a forgotten memory's
//! text or of its embedding, whether the namespace is reopened, snapshotted
//! or not; live memories are encrypted at rest; and a data directory is
//! unreadable without its data key. (A crash in the middle of a forget is
//! tested inside the crate, in `namespace::erase_tests`, where the key
//! store can be looked at.)

use std::path::{Path, PathBuf};

use mnemo::{AeadAlgorithm, DataKey, Mnemo, NewMemory, Options, Query, SyncPolicy};
use mnemo_embed::{Embedder, HashEmbedder};

const SECRETS: [&str; 3] = [
    "my social security number is 078-05-1120",
    "the vault combination is 31-24-77 then left twice",
    "Alice's new passport number is X9Q2W7Z4K",
];
const KEPT: &str = "the office plants need water on Thursdays";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every 8-byte window of `text`, and of its embedding's little-endian
/// f32 bytes.
fn pieces(text: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = text.as_bytes().windows(8).map(<[u8]>::to_vec).collect();
    let vector = HashEmbedder::new().embed(text).expect("embed");
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    // Windows that are not all zeros (a sparse hash embedding has many).
    out.extend(
        bytes
            .windows(8)
            .filter(|w| w.iter().filter(|&&b| b != 0).count() >= 4)
            .map(<[u8]>::to_vec),
    );
    out
}

/// The first file under `dir` holding any piece of `text`, with the piece.
fn found(dir: &Path, text: &str) -> Option<(PathBuf, String)> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    let pieces = pieces(text);
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        for piece in &pieces {
            if bytes.windows(piece.len()).any(|w| w == piece.as_slice()) {
                return Some((file, String::from_utf8_lossy(piece).into_owned()));
            }
        }
    }
    None
}

fn assert_erased(dir: &Path, when: &str) {
    for secret in SECRETS {
        if let Some((file, piece)) = found(dir, secret) {
            panic!("{when}: {} holds {piece:?} of {secret:?}", file.display());
        }
    }
}

fn engine(dir: &Path, key: Option<&DataKey>) -> Mnemo {
    engine_with(dir, key, AeadAlgorithm::PREFERRED)
}

fn engine_with(dir: &Path, key: Option<&DataKey>, aead: AeadAlgorithm) -> Mnemo {
    let mut options = Options::default().sync(SyncPolicy::Always).aead(aead);
    if let Some(key) = key {
        options = options.data_key(key.clone());
    }
    Mnemo::open_with(dir, options).expect("open")
}

/// Writes, snapshots and forgets with `first` as the AEAD, then reopens
/// with `then`; returns the data directory.
fn run(key: Option<&DataKey>, first: AeadAlgorithm, then: AeadAlgorithm) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let ids = {
        let m = engine_with(dir.path(), key, first);
        let ns = m.namespace("agent").expect("namespace");
        let mut ids = Vec::new();
        for s in SECRETS {
            ids.push(ns.remember(NewMemory::new(s).tag("pii")).expect("remember"));
        }
        ns.remember(NewMemory::new(KEPT).tag("chores"))
            .expect("remember");
        ns.revise(
            ids[1],
            mnemo::Revision::new().content(format!("{} (revised)", SECRETS[1])),
        )
        .expect("revise");
        // A snapshot that holds the secrets, then the forgets.
        ns.snapshot().expect("snapshot");
        // Encrypted at rest: nothing in the clear while they are live.
        assert_erased(dir.path(), "live, after a snapshot");
        assert!(found(dir.path(), KEPT).is_none());
        ns.forget(ids[0]).expect("forget");
        let purged = ns.purge(&Query::new().tag("pii")).expect("purge");
        assert_eq!(purged, vec![ids[1], ids[2]]);
        assert_eq!(ns.count(&Query::new()), 1);
        m.close().expect("close");
        ids
    };
    assert_erased(dir.path(), "after close");
    let m = engine_with(dir.path(), key, then);
    let ns = m.namespace("agent").expect("reopen");
    assert!(ids.iter().all(|&id| ns.get(id).is_none()));
    let hits = ns
        .recall("social security number", 5, &Query::new())
        .expect("recall");
    assert!(hits.iter().all(|h| h.memory.content == KEPT), "{hits:?}");
    ns.snapshot().expect("snapshot after reopen");
    // The proofs of what the log holds still verify.
    let (root, size) = ns.root().expect("root");
    let proof = ns.prove(ns.query(&Query::new())[0].id).expect("prove");
    assert_eq!(proof.root, root);
    assert!(size > 0);
    m.close().expect("close");
    assert_erased(dir.path(), "after reopen and a snapshot");
    dir
}

#[test]
fn expired_memories_are_erased_as_forgotten_ones_are() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let m = engine(dir.path(), None);
        let ns = m.namespace("agent").expect("namespace");
        let past = mnemo::Timestamp(mnemo::Timestamp::now().0 - 1);
        let far = mnemo::Timestamp(mnemo::Timestamp::now().0 + 86_400_000_000_000);
        ns.remember(NewMemory::new(KEPT).expires(far))
            .expect("kept");
        for s in SECRETS {
            ns.remember(NewMemory::new(s).expires(far))
                .expect("remember");
        }
        ns.snapshot().expect("snapshot");
        for m in ns.query(&Query::new()) {
            if m.content != KEPT {
                ns.set_expiry(m.id, Some(past)).expect("expire now");
            }
        }
        ns.expire_due().expect("sweep");
        assert_eq!(ns.count(&Query::new()), 1);
        m.close().expect("close");
    }
    assert_erased(dir.path(), "after expiry and close");
    let m = engine(dir.path(), None);
    let ns = m.namespace("agent").expect("reopen");
    assert_eq!(ns.count(&Query::new()), 1);
    m.close().expect("close");
    assert_erased(dir.path(), "after reopening");
}

#[test]
fn forgotten_memories_leave_no_piece_in_any_file_with_a_generated_key() {
    let aead = AeadAlgorithm::PREFERRED;
    run(None, aead, aead);
}

#[test]
fn forgotten_memories_leave_no_piece_in_any_file_with_a_given_key() {
    let key = DataKey::generate().expect("key");
    let aead = AeadAlgorithm::PREFERRED;
    run(Some(&key), aead, aead);
}

/// ChaCha20-Poly1305 (the browser build's AEAD) erases the same way, and a
/// namespace keeps its events' AEAD when reopened with the other one,
/// whose snapshots it then writes.
#[test]
fn either_aead_erases_and_a_namespace_keeps_the_aead_of_its_events() {
    use AeadAlgorithm::{Aes256Gcm, ChaCha20Poly1305};
    for (first, then) in [(ChaCha20Poly1305, Aes256Gcm), (Aes256Gcm, ChaCha20Poly1305)] {
        let dir = run(None, first, then);
        let ns = dir.path().join("agent");
        let key_file = std::fs::read(ns.join("keys/namespace")).expect("key file");
        let events_aead = if first == Aes256Gcm { 1 } else { 2 };
        assert_eq!(
            key_file[11], events_aead,
            "the key file names the events' AEAD"
        );
        let mut snapshots = Vec::new();
        files_under(&ns.join("snapshots"), &mut snapshots);
        let snapshot = std::fs::read(&snapshots[0]).expect("snapshot");
        let snapshot_aead = if then == Aes256Gcm { 1 } else { 2 };
        assert_eq!(snapshot[11], snapshot_aead, "the snapshot names its own");
    }
    // A key file from before the choice (byte 11 zero) is AES-256-GCM; an
    // AEAD this build does not know is refused by name.
    let dir = run(None, Aes256Gcm, Aes256Gcm);
    let key_file = dir.path().join("agent/keys/namespace");
    let mut bytes = std::fs::read(&key_file).expect("key file");
    bytes[11] = 0;
    std::fs::write(&key_file, &bytes).expect("write");
    let m = engine(dir.path(), None);
    assert_eq!(m.namespace("agent").expect("opens").count(&Query::new()), 1);
    m.close().expect("close");
    bytes[11] = 9;
    std::fs::write(&key_file, &bytes).expect("write");
    let err = engine(dir.path(), None)
        .namespace("agent")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("names AEAD 9"), "{err}");
}

#[test]
fn a_data_directory_is_unreadable_without_its_key_and_rotation_keeps_it_readable() {
    let dir = tempfile::tempdir().expect("dir");
    let key = DataKey::generate().expect("key");
    let id = {
        let m = engine(dir.path(), Some(&key));
        let id = m
            .namespace("n")
            .expect("namespace")
            .remember(NewMemory::new(KEPT))
            .expect("remember");
        m.close().expect("close");
        id
    };
    let missing = engine(dir.path(), None).namespace("n").expect_err("no key");
    assert!(missing.to_string().contains("not given"), "{missing}");
    let other = DataKey::generate().expect("key");
    let wrong = engine(dir.path(), Some(&other))
        .namespace("n")
        .expect_err("wrong key");
    assert!(wrong.to_string().contains("is not the one"), "{wrong}");

    let mut m = engine(dir.path(), Some(&key));
    assert_eq!(m.rotate_data_key(other.clone()).expect("rotate"), ["n"]);
    assert_eq!(m.namespace("n").expect("open").data_key().0, other.id());
    m.close().expect("close");
    drop(m);
    assert!(engine(dir.path(), Some(&key)).namespace("n").is_err());
    let m = engine(dir.path(), Some(&other));
    assert_eq!(
        m.namespace("n")
            .expect("opens with the new key")
            .get(id)
            .expect("memory")
            .content,
        KEPT
    );
}

#[test]
fn a_generated_key_rotates_to_a_given_one_and_leaves_no_key_file() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let m = engine(dir.path(), None);
        m.namespace("g")
            .expect("namespace")
            .remember(NewMemory::new(KEPT))
            .expect("remember");
        m.close().expect("close");
    }
    let key_file = dir.path().join("g/keys/data.key");
    assert!(key_file.exists());
    let new = DataKey::generate().expect("key");
    let mut m = engine(dir.path(), None);
    m.rotate_data_key(new.clone()).expect("rotate");
    m.close().expect("close");
    drop(m);
    assert!(!key_file.exists());
    let ns = engine(dir.path(), Some(&new))
        .namespace("g")
        .expect("opens");
    assert_eq!(ns.count(&Query::new()), 1);
}

#[test]
fn the_scan_finds_a_plain_text_piece_and_an_embedding_piece() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a"), format!("xx{}yy", &SECRETS[0][5..20])).expect("write");
    assert!(found(dir.path(), SECRETS[0]).is_some());
    std::fs::remove_file(dir.path().join("a")).expect("remove");
    let vector = HashEmbedder::new().embed(SECRETS[1]).expect("embed");
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.path().join("b"), &bytes).expect("write");
    assert!(found(dir.path(), SECRETS[1]).is_some());
    assert!(found(dir.path(), KEPT).is_none());
}

#[test]
fn a_generated_key_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let m = engine(dir.path(), None);
    m.namespace("p")
        .expect("namespace")
        .remember(NewMemory::new(KEPT))
        .expect("remember");
    m.close().expect("close");
    let mode = std::fs::metadata(dir.path().join("p/keys/data.key"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

#[test]
fn a_log_without_its_key_store_is_refused_not_opened_empty() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let m = engine(dir.path(), None);
        m.namespace("k")
            .expect("namespace")
            .remember(NewMemory::new(KEPT))
            .expect("remember");
        m.close().expect("close");
    }
    let keys = dir.path().join("k/keys");
    let saved = dir.path().join("keys-saved");
    std::fs::rename(&keys, &saved).expect("move the key store away");
    for _ in 0..2 {
        let e = engine(dir.path(), None)
            .namespace("k")
            .expect_err("no key store");
        assert!(e.to_string().contains("key store is missing"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::rename(&saved, &keys).expect("restore it");
    let ns = engine(dir.path(), None)
        .namespace("k")
        .expect("opens again");
    assert_eq!(ns.count(&Query::new()), 1);
}

#[test]
fn facts_citing_a_forgotten_memory_keep_their_history_with_the_evidence_marked_erased() {
    use mnemo::facts::FactEvent;
    use mnemo::{FactId, MemoryId, NewFact};

    let dir = tempfile::tempdir().expect("dir");
    let check = |ns: &mnemo::Namespace,
                 fact: FactId,
                 gone: MemoryId,
                 kept: MemoryId,
                 when: &str| {
        let f = ns.fact(fact).expect("fact");
        assert_eq!(f.evidence, [gone, kept], "{when}: the ids stay");
        assert_eq!(f.asserted_evidence, [gone], "{when}");
        assert_eq!(f.erased_evidence, [gone], "{when}: marked erased");
        assert_eq!(f.history.len(), 2, "{when}: {:?}", f.history);
        assert!(
            matches!(&f.history[1].event, FactEvent::Supported { evidence, .. } if evidence == &[kept]),
            "{when}: {:?}",
            f.history
        );
        let citing: Vec<FactId> = ns.facts_citing(gone).iter().map(|f| f.id).collect();
        assert_eq!(citing, [fact], "{when}");
        assert!(ns.get(gone).is_none(), "{when}");
        assert!(
            ns.history("alice", "lives_in").expect("history")[0]
                .proof
                .verify(None)
                .is_ok()
        );
    };
    let (fact, gone, kept) = {
        let m = engine(dir.path(), None);
        let ns = m.namespace("agent").expect("namespace");
        let gone = ns.remember(NewMemory::new(SECRETS[0])).expect("remember");
        let kept = ns.remember(NewMemory::new(KEPT)).expect("remember");
        let fact = ns
            .assert_fact(NewFact::new("alice", "lives_in", "Paris").evidence([gone]))
            .expect("assert")
            .fact;
        ns.support(fact, &[kept], Some("seen again"))
            .expect("support");
        assert!(ns.fact(fact).expect("fact").erased_evidence.is_empty());
        ns.forget(gone).expect("forget");
        check(&ns, fact, gone, kept, "after the forget");
        m.close().expect("close");
        (fact, gone, kept)
    };
    {
        let m = engine(dir.path(), None);
        let ns = m.namespace("agent").expect("reopen");
        check(&ns, fact, gone, kept, "after reopening");
        ns.snapshot().expect("snapshot");
        drop(ns);
        m.close().expect("close");
    }
    let m = engine(dir.path(), None);
    let ns = m.namespace("agent").expect("reopen");
    check(&ns, fact, gone, kept, "after reopening from a snapshot");
    m.close().expect("close");
    assert_erased(dir.path(), "with a fact citing it");
}
