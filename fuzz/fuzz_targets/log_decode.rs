//! Opens a log whose directory holds fuzzer-chosen files: arbitrary segment
//! bytes (with or without a valid header), an arbitrary Merkle prefix file,
//! or a valid log with fuzzer-chosen damage. Recovery must return a log or a
//! clear error, never panic.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mnemo_log::format::{encode_segment_header, segment_file_name};
use mnemo_log::sim::SimDisk;
use mnemo_log::{Config, Log, MERKLE_PREFIX_FILE, verify_on};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let disk = SimDisk::new();
    match mode % 4 {
        0 => disk.set_file(&segment_file_name(0), rest.to_vec()),
        1 => {
            let mut segment = encode_segment_header(0).to_vec();
            segment.extend_from_slice(rest);
            disk.set_file(&segment_file_name(0), segment);
        }
        2 => {
            disk.set_file(MERKLE_PREFIX_FILE, rest.to_vec());
            let mut segment = encode_segment_header(7).to_vec();
            segment.extend_from_slice(rest);
            disk.set_file(&segment_file_name(7), segment);
        }
        _ => {
            // A valid two-segment log, then overwrite bytes at fuzzer-chosen places.
            let log = Log::open_on(Arc::new(disk.clone()), Config::default().segment_bytes(128))
                .expect("fresh log");
            for i in 0..8u8 {
                log.append(&[i; 40]).expect("append");
            }
            log.close().expect("close");
            for pair in rest.chunks_exact(3) {
                let names = disk.file_names();
                let name = &names[pair[0] as usize % names.len()];
                let mut bytes = disk.file(name).unwrap_or_default();
                if bytes.is_empty() {
                    continue;
                }
                let at = pair[1] as usize % bytes.len();
                bytes[at] = pair[2];
                disk.set_file(name, bytes);
            }
        }
    }
    let config = Config::default().max_record_bytes(1 << 16);
    let verdict = verify_on(&disk, &config);
    if let Ok(log) = Log::open_on(Arc::new(disk), config) {
        assert!(verdict.is_ok(), "verify must agree with open");
        let count = log.iter_from(log.first_seq()).count() as u64;
        assert_eq!(count, log.next_seq() - log.first_seq());
        let _ = log.root();
    }
});
