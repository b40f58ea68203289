//! Decodes fuzzer-chosen bytes as engine events and as snapshot files: raw
//! bytes, and a real snapshot with fuzzer-chosen edits and a fixed-up
//! checksum (so the structural checks behind it are reached). Decoding
//! must return an error or a value, never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mnemo::{Event, Mnemo, Namespace, NewMemory, Options};

struct Sample {
    _dir: tempfile::TempDir,
    _engine: Mnemo,
    namespace: Namespace,
    snapshot: Vec<u8>,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Mnemo::open_with(
            dir.path(),
            Options::default().sync(mnemo_log::SyncPolicy::Never),
        )
        .expect("open");
        let ns = engine.namespace("fuzz").expect("namespace");
        let ids = ns
            .remember_batch(
                (0..12)
                    .map(|i| NewMemory::new(format!("memory {i} about cats")).tag(format!("t{}", i % 3)))
                    .collect(),
            )
            .expect("remember");
        ns.link(ids[0].id, ids[1].id, "next", 0.5).expect("link");
        let seq = ns.snapshot().expect("snapshot").expect("on disk");
        let path = dir.path().join("fuzz/snapshots").join(format!("{seq:020}.snap"));
        let snapshot = std::fs::read(path).expect("read");
        Sample {
            _dir: dir,
            _engine: engine,
            namespace: ns,
            snapshot,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Event::decode(0, data);
    let s = sample();
    let log = s.namespace.log();
    let _ = mnemo::snapshot::inspect(data, log, None);
    // Edits at fuzzer-chosen offsets of the real snapshot, checksum fixed.
    if data.len() >= 4 {
        let mut bytes = s.snapshot.clone();
        let body = bytes.len() - 8;
        for pair in data.chunks_exact(4) {
            let at = u32::from_le_bytes([pair[0], pair[1], pair[2], 0]) as usize % body;
            bytes[at] = pair[3];
        }
        mnemo::snapshot::reseal(&mut bytes);
        let _ = mnemo::snapshot::inspect(&bytes, log, None);
    }
});
