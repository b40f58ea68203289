//! Property tests: decoding arbitrary bytes as segments or records never
//! panics, and whatever is accepted reads back consistently.

use std::sync::Arc;

use mnemo_log::format::{
    RECORD_HEADER_LEN, decode_frame, decode_segment_header, encode_segment_header,
    segment_file_name, write_frame,
};
use mnemo_log::sim::SimDisk;
use mnemo_log::{Config, Log, MERKLE_PREFIX_FILE, verify_on};
use proptest::prelude::*;

fn valid_segment(base: u64, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = encode_segment_header(base).to_vec();
    for (i, p) in payloads.iter().enumerate() {
        let mut frame = vec![0u8; RECORD_HEADER_LEN + p.len()];
        write_frame(&mut frame, base + i as u64, 1, p);
        out.extend_from_slice(&frame);
    }
    out
}

fn open_bytes(files: Vec<(String, Vec<u8>)>) {
    let disk = SimDisk::new();
    for (name, data) in files {
        disk.set_file(&name, data);
    }
    let config = Config::default().max_record_bytes(4096);
    let verdict = verify_on(&disk, &config);
    if let Ok(log) = Log::open_on(Arc::new(disk), config) {
        assert!(verdict.is_ok());
        let n = log.next_seq();
        assert_eq!(
            log.iter_from(log.first_seq()).count() as u64,
            n - log.first_seq()
        );
        log.root().expect("root of a recovered log");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_frame(&bytes, 1024);
        let _ = decode_segment_header(&bytes);
    }

    #[test]
    fn arbitrary_segment_files_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        with_header in any::<bool>(),
    ) {
        let mut data = if with_header { encode_segment_header(0).to_vec() } else { Vec::new() };
        data.extend_from_slice(&bytes);
        open_bytes(vec![(segment_file_name(0), data)]);
    }

    #[test]
    fn mutated_valid_segments_never_panic(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        second_segment in any::<bool>(),
    ) {
        let mut data = valid_segment(0, &payloads);
        for (at, value) in edits {
            let i = at.index(data.len());
            data[i] = value;
        }
        data.truncate(cut.index(data.len() + 1));
        let mut files = vec![(segment_file_name(0), data)];
        if second_segment {
            let base = payloads.len() as u64;
            files.push((segment_file_name(base), valid_segment(base, &payloads)));
        }
        open_bytes(files);
    }

    #[test]
    fn arbitrary_merkle_prefix_files_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        open_bytes(vec![
            (MERKLE_PREFIX_FILE.to_owned(), bytes),
            (segment_file_name(3), valid_segment(3, &[b"x".to_vec()])),
        ]);
    }
}
