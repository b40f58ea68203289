//! The `log` suite: mnemo-log's appends (in memory, buffered to a file,
//! durable from several threads), random reads, sequential scans, Merkle
//! hashing, inclusion proofs and recovery, each next to a peer measured in the
//! same run: another system (fjall, `BufWriter<File>`) or a physical limit
//! (plain `Vec` pushes, a flat walk over the same frames, raw SHA-256,
//! mmap + XXH3).
//!
//! A throughput counts only the work done: the scans sum every payload
//! byte they report in GB/s, and so does their peer. The targets the issue
//! stated relative to a peer (file appends at least 0.8 × `BufWriter`,
//! durable appends at least 2 × fjall) are `*_ratio` rows with those fixed
//! ratios as targets.

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use mnemo_log::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, write_frame};
use mnemo_log::sim::SplitMix64;
use mnemo_log::{Config, Log, Seq, SyncPolicy};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better, Reps, median_duration, ns_per, per_sec, timed};

/// Sizes of one run: full, or `--quick` for a smoke test.
struct Sizes {
    /// Repetitions of the cheap in-memory measurements.
    reps: Reps,
    /// Repetitions of the measurements that write files.
    disk_reps: Reps,
    /// Records per run of the single-record append benchmark.
    append_records: u64,
    /// Batches of [`BATCH_LEN`] per run of the batch append benchmark.
    batches: u64,
    /// Bytes of frames written per run of the file append benchmark.
    file_bytes: u64,
    /// Records per thread in the durable append benchmark.
    durable_per_thread: u64,
    /// Records in the logs used for random reads and scans.
    read_records: u64,
    /// Random lookups per run.
    reads: usize,
    /// Records in the cache-resident log of the hot random-read benchmark.
    hot_read_records: u64,
    /// Records hashed per run of the Merkle benchmark (a power of two, so the
    /// peer's plain pairwise fold gives the same root).
    merkle_records: u64,
    /// Records in the log the inclusion proofs are taken from.
    proof_records: u64,
    /// Proofs per run.
    proofs: usize,
    /// Bytes of segment files reopened in the recovery benchmark.
    recovery_bytes: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                reps: Reps { warmup: 0, runs: 1 },
                disk_reps: Reps { warmup: 0, runs: 1 },
                append_records: 20_000,
                batches: 300,
                file_bytes: 4 << 20,
                durable_per_thread: 50,
                read_records: 20_000,
                reads: 20_000,
                hot_read_records: 4_096,
                merkle_records: 1 << 14,
                proof_records: 100_000,
                proofs: 500,
                recovery_bytes: 64 << 20,
            }
        } else {
            Self {
                reps: Reps { warmup: 1, runs: 5 },
                disk_reps: Reps { warmup: 1, runs: 5 },
                append_records: 2_000_000,
                batches: 31_250,
                file_bytes: 256 << 20,
                durable_per_thread: 2_000,
                read_records: 1_000_000,
                reads: 1_000_000,
                hot_read_records: 65_536,
                merkle_records: 1 << 20,
                proof_records: 10_000_000,
                proofs: 10_000,
                recovery_bytes: 1 << 30,
            }
        }
    }
}

/// Records per `append_batch` call in the batch benchmark.
const BATCH_LEN: usize = 64;
/// Payload size of the batch benchmark.
const BATCH_PAYLOAD: usize = 64;
/// Payload size of the on-disk benchmarks.
const DISK_PAYLOAD: usize = 256;
/// Payload size of the logs used for random reads and scans.
const READ_PAYLOAD: usize = 64;
/// Byte the payloads of [`fill`] (and the read peer) are made of.
const FILL_BYTE: u8 = 0xa5;
/// Payload size of the Merkle benchmark.
const MERKLE_PAYLOAD: usize = 32;
/// Payload size of the log the inclusion proofs come from.
const PROOF_PAYLOAD: usize = 16;
/// Concurrent appenders in the durable benchmark.
const DURABLE_THREADS: u64 = 4;
/// Records per `append_batch` call when filling logs for other benchmarks.
const FILL_BATCH: usize = 1024;
/// Buffered file appends against `BufWriter<File>`: the ratio.
const FILE_APPEND_RATIO_TARGET: f64 = 0.8;
/// Durable 4-thread appends against fjall: the ratio.
const DURABLE_RATIO_TARGET: f64 = 2.0;

/// One named measurement step of the suite.
type Step<'a> = (&'static str, &'a dyn Fn() -> Result<Vec<BenchResult>>);

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let sizes = Sizes::new(opts.quick);
    let tmp = opts.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let started = Instant::now();
    let mut results = Vec::new();
    let steps: [Step<'_>; 8] = [
        ("single append", &|| append_mem(&sizes)),
        ("batch append", &|| batch_append_mem(&sizes)),
        ("file append", &|| file_append_never(&sizes, &tmp)),
        ("durable append", &|| durable_append(&sizes, &tmp)),
        ("reads and scan", &|| random_reads(&sizes, &tmp)),
        ("merkle", &|| merkle_root(&sizes)),
        ("proofs", &|| inclusion_proofs(&sizes)),
        ("recovery", &|| recovery(&sizes, &tmp)),
    ];
    for (name, step) in steps {
        if opts
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            continue;
        }
        let t = Instant::now();
        results.extend(step().with_context(|| format!("log suite: {name}"))?);
        eprintln!("  {name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("log suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(results)
}

/// A fresh temporary directory under `base`, removed when dropped.
fn temp_dir(base: &Path) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("mnemo-bench-")
        .tempdir_in(base)
        .with_context(|| format!("creating a temporary directory in {}", base.display()))
}

/// `count` random seqs below `n`, from a fixed seed.
fn random_seqs(count: usize, n: u64, seed: u64) -> Vec<Seq> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| rng.below(n)).collect()
}

/// Appends `records` payloads of `len` bytes in batches.
fn fill(log: &Log, records: u64, len: usize) -> Result<()> {
    let payloads = vec![vec![FILL_BYTE; len]; FILL_BATCH];
    let mut left = records;
    while left > 0 {
        let n = left.min(FILL_BATCH as u64) as usize;
        log.append_batch(&payloads[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// 1. Single-record in-memory appends of 32 B.
fn append_mem(s: &Sizes) -> Result<Vec<BenchResult>> {
    let n = s.append_records;
    let payload = [0x5au8; 32];
    let ours = median_duration(s.reps, || {
        let log = Log::in_memory(Config::default())?;
        let (r, d) = timed(|| -> Result<()> {
            for _ in 0..n {
                black_box(log.append(black_box(&payload))?);
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    let peer = median_duration(s.reps, || {
        let mut data: Vec<u8> = Vec::new();
        let mut offsets: Vec<u64> = Vec::new();
        let ((), d) = timed(|| {
            for _ in 0..n {
                offsets.push(data.len() as u64);
                data.extend_from_slice(black_box(&payload));
            }
        });
        black_box((&data, &offsets));
        Ok(d)
    })?;
    Ok(vec![
        BenchResult::new(
            "append_32b_mem",
            "ns/record",
            ns_per(ours, n),
            Better::Lower,
        )
        .target(25.0)
        .peer(
            "physical limit: Vec<u8> extend 32 B + Vec<u64> offset push",
            ns_per(peer, n),
        )
        .param("records", n)
        .param("payload_bytes", 32)
        .param("clock", "SystemClock"),
    ])
}

/// 2. In-memory `append_batch` of 64 × 64 B.
fn batch_append_mem(s: &Sizes) -> Result<Vec<BenchResult>> {
    let records = s.batches * BATCH_LEN as u64;
    let batch = [[0x3cu8; BATCH_PAYLOAD]; BATCH_LEN];
    let ours = median_duration(s.reps, || {
        let log = Log::in_memory(Config::default())?;
        let (r, d) = timed(|| -> Result<()> {
            for _ in 0..s.batches {
                black_box(log.append_batch(black_box(&batch))?);
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    let peer = median_duration(s.reps, || {
        let mut data: Vec<u8> = Vec::new();
        let mut offsets: Vec<u64> = Vec::new();
        let ((), d) = timed(|| {
            for _ in 0..s.batches {
                for p in black_box(&batch) {
                    offsets.push(data.len() as u64);
                    data.extend_from_slice(p);
                }
            }
        });
        black_box((&data, &offsets));
        Ok(d)
    })?;
    Ok(vec![
        BenchResult::new(
            "append_batch_64x64b_mem",
            "records/s",
            per_sec(ours, records),
            Better::Higher,
        )
        .target(50e6)
        .peer(
            "physical limit: Vec<u8> extend 64 B + Vec<u64> offset push",
            per_sec(peer, records),
        )
        .param("records", records)
        .param("batch", BATCH_LEN)
        .param("payload_bytes", BATCH_PAYLOAD),
    ])
}

/// 3. Buffered file appends of 256 B under `SyncPolicy::Never`, ending with
///    `close()` (which flushes and `fdatasync`s), against `BufWriter<File>`
///    writing the same frames, then `flush()` and `sync_data()`.
fn file_append_never(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let frame_len = RECORD_HEADER_LEN + DISK_PAYLOAD;
    let records = s.file_bytes / frame_len as u64;
    let payload = [0x77u8; DISK_PAYLOAD];
    let ours = median_duration(s.disk_reps, || {
        let dir = temp_dir(tmp)?;
        let log = Log::open(dir.path(), Config::default().sync(SyncPolicy::Never))?;
        let (r, d) = timed(|| -> Result<()> {
            for _ in 0..records {
                black_box(log.append(black_box(&payload))?);
            }
            log.close()?;
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    let mut frame = vec![0u8; frame_len];
    write_frame(&mut frame, 0, 0, &payload);
    let peer = median_duration(s.disk_reps, || {
        let dir = temp_dir(tmp)?;
        let file = std::fs::File::create(dir.path().join("peer.seg"))?;
        let (r, d) = timed(|| -> Result<()> {
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
            for _ in 0..records {
                out.write_all(black_box(&frame))?;
            }
            out.flush()?;
            out.get_ref().sync_data()?;
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    let row = BenchResult::new(
        "file_append_256b_never",
        "records/s",
        per_sec(ours, records),
        Better::Higher,
    )
    .peer(
        "std::fs::File+BufWriter (256 KiB) of the same 288 B frames, then flush + fdatasync",
        per_sec(peer, records),
    )
    .param("records", records)
    .param("payload_bytes", DISK_PAYLOAD)
    .param("bytes", records * frame_len as u64)
    .param(
        "timed",
        "appends + close() (close flushes and fdatasyncs; each 64 MiB segment roll fdatasyncs too)",
    )
    .param("target_row", "file_append_256b_never_ratio");
    let ratio = row.ratio_row(
        FILE_APPEND_RATIO_TARGET,
        "the log issue: buffered file appends at least 0.8 × BufWriter<File> writing the same frames",
    );
    Ok(std::iter::once(row).chain(ratio).collect())
}

/// 4. `SyncPolicy::Always` appends of 256 B from 4 threads (group commit),
///    against fjall inserts each followed by `persist(SyncData)`.
fn durable_append(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let per = s.durable_per_thread;
    let records = per * DURABLE_THREADS;
    let payload = [0x42u8; DISK_PAYLOAD];
    let ours = median_duration(s.disk_reps, || {
        let dir = temp_dir(tmp)?;
        let log = Arc::new(Log::open(
            dir.path(),
            Config::default().sync(SyncPolicy::Always),
        )?);
        let (r, d) = timed(|| {
            in_threads(|_| {
                for _ in 0..per {
                    black_box(log.append(&payload)?);
                }
                Ok(())
            })
        });
        r?;
        Ok(d)
    })?;
    let peer = median_duration(s.disk_reps, || {
        let dir = temp_dir(tmp)?;
        let db = fjall::Database::builder(dir.path()).open()?;
        let keyspace = db.keyspace("bench", fjall::KeyspaceCreateOptions::default)?;
        let (r, d) = timed(|| {
            in_threads(|t| {
                for i in 0..per {
                    let key = ((t << 32) | i).to_be_bytes();
                    keyspace.insert(&key[..], &payload[..])?;
                    db.persist(fjall::PersistMode::SyncData)?;
                }
                Ok(())
            })
        });
        r?;
        Ok(d)
    })?;
    let row = BenchResult::new(
        "append_256b_always_4threads",
        "records/s",
        per_sec(ours, records),
        Better::Higher,
    )
    .peer(
        "fjall 3.1 (same run): insert + persist(SyncData) per record, 4 threads",
        per_sec(peer, records),
    )
    .param("threads", DURABLE_THREADS)
    .param("records", records)
    .param("payload_bytes", DISK_PAYLOAD)
    .param("target_row", "append_256b_always_4threads_ratio");
    let ratio = row.ratio_row(
        DURABLE_RATIO_TARGET,
        "the log issue: durable appends from 4 threads at least 2 × fjall with persist(SyncData) per record",
    );
    Ok(std::iter::once(row).chain(ratio).collect())
}

/// Runs `f(thread_index)` on [`DURABLE_THREADS`] threads and joins them.
fn in_threads(f: impl Fn(u64) -> Result<()> + Sync) -> Result<()> {
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..DURABLE_THREADS)
            .map(|t| scope.spawn(move || f(t)))
            .collect();
        for h in handles {
            match h.join() {
                Ok(r) => r?,
                Err(_) => bail!("an appender thread panicked"),
            }
        }
        Ok(())
    })
}

/// What every read benchmark does with a record, ours and the peer's
/// alike: its length plus its first and last payload bytes, so both sides
/// touch the index and both cache lines of the frame.
#[inline(always)]
fn touch(payload: &[u8]) -> u64 {
    payload.len() as u64
        + payload.first().map_or(0, |&b| u64::from(b))
        + payload.last().map_or(0, |&b| u64::from(b))
}

/// The sum [`touch`] gives over `records` records made by [`fill`].
fn touched_sum(records: u64) -> u64 {
    records * (READ_PAYLOAD as u64 + 2 * u64::from(FILL_BYTE))
}

/// What the scans do with a record, ours and the peer's alike: a fold of
/// every payload byte (eight at a time as little-endian words, the tail one
/// by one, wrapping), so a scan reported in GB/s has read each byte it
/// counts, at the cost of one add per word.
#[inline(always)]
fn fold_bytes(payload: &[u8]) -> u64 {
    let mut words = payload.chunks_exact(8);
    let mut acc = 0u64;
    for word in &mut words {
        if let Ok(word) = <[u8; 8]>::try_from(word) {
            acc = acc.wrapping_add(u64::from_le_bytes(word));
        }
    }
    for &b in words.remainder() {
        acc = acc.wrapping_add(u64::from(b));
    }
    acc
}

/// The fold of [`fold_bytes`] over `records` records made by [`fill`].
fn scanned_sum(records: u64) -> u64 {
    fold_bytes(&[FILL_BYTE; READ_PAYLOAD]).wrapping_mul(records)
}

/// The physical limit of a scan: the frames of [`read_peer`] contiguous in
/// one `Vec<u8>`, visited in order through their `Vec<u64>` index (each
/// payload runs from its frame's offset plus the header to the next
/// frame's offset, as the log's own index delimits records), every payload
/// byte folded. Returns the fold and the number of frames.
fn walk_frames(data: &[u8], offsets: &[u64]) -> (u64, u64) {
    let ends = offsets
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(data.len() as u64));
    let mut sum = 0u64;
    for (&start, end) in offsets.iter().zip(ends) {
        let payload = &data[start as usize + RECORD_HEADER_LEN..end as usize];
        sum = sum.wrapping_add(fold_bytes(payload));
    }
    (sum, offsets.len() as u64)
}

/// The owned read API, as named in the read results.
const OWNED_API: &str = "log.read(seq): owned Record (Bytes, one reference count)";
/// The borrowed read API, as named in the read results.
const BORROWED_API: &str = "log.reader().get(seq): borrowed RecordRef, lock held once";

const SCAN_PEER_LABEL: &str = "physical limit: the same frames contiguous in one Vec<u8>, visited in order through a Vec<u64> index, every payload byte folded as in the scans";

const READ_PEER_LABEL: &str = "physical limit: Vec<u64> index + Vec<u8> frames, read the length field and first and last payload bytes";

/// The physical limit of random reads: the same frames as a log of `n`
/// records in one `Vec<u8>` with a `Vec<u64>` index, and for each seq the
/// length field and first and last payload bytes read: two dependent loads.
/// Returns the frames and their index too (the scans' peer walks them).
fn read_peer(s: &Sizes, n: u64, seqs: &[Seq]) -> Result<(Duration, Vec<u8>, Vec<u64>)> {
    let frame_len = RECORD_HEADER_LEN + READ_PAYLOAD;
    let mut data = vec![0u8; n as usize * frame_len];
    let offsets: Vec<u64> = (0..n).map(|i| i * frame_len as u64).collect();
    let payload = [FILL_BYTE; READ_PAYLOAD];
    for (i, frame) in data.chunks_exact_mut(frame_len).enumerate() {
        write_frame(frame, i as u64, 0, &payload);
    }
    let peer = median_duration(s.reps, || {
        let (sum, d) = timed(|| {
            let mut sum = 0u64;
            for &seq in seqs {
                let off = offsets[seq as usize] as usize;
                let len = &data[off + 8..off + 12];
                sum += u64::from(u32::from_le_bytes([len[0], len[1], len[2], len[3]]));
                sum += u64::from(data[off + RECORD_HEADER_LEN]);
                sum += u64::from(data[off + frame_len - 1]);
            }
            sum
        });
        ensure!(
            sum == touched_sum(seqs.len() as u64),
            "peer read wrong data"
        );
        Ok(d)
    })?;
    Ok((peer, data, offsets))
}

/// `log.read(seq)` for every seq: owned records.
fn owned_reads(s: &Sizes, log: &Log, seqs: &[Seq]) -> Result<Duration> {
    median_duration(s.reps, || {
        let (sum, d) = timed(|| {
            let mut sum = 0u64;
            for &seq in seqs {
                if let Some(r) = log.read(seq) {
                    sum += touch(r.payload());
                }
            }
            sum
        });
        ensure!(sum == touched_sum(seqs.len() as u64), "a read missed");
        Ok(d)
    })
}

/// `log.reader().get(seq)` for every seq: borrowed records.
fn borrowed_reads(s: &Sizes, log: &Log, seqs: &[Seq]) -> Result<Duration> {
    median_duration(s.reps, || {
        let reader = log.reader();
        let (sum, d) = timed(|| {
            let mut sum = 0u64;
            for &seq in seqs {
                if let Some(r) = reader.get(seq) {
                    sum += touch(r.payload());
                }
            }
            sum
        });
        ensure!(sum == touched_sum(seqs.len() as u64), "a read missed");
        Ok(d)
    })
}

/// 5 and 6. Random `read(seq)` on an in-memory log and on a reopened file
/// log (mmapped segments), and sequential scans; then the same random reads
/// on a log small enough to stay in the CPU cache.
fn random_reads(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let n = s.read_records;
    let frame_len = RECORD_HEADER_LEN + READ_PAYLOAD;
    let seqs = random_seqs(s.reads, n, 0x5eed);
    let (peer, data, offsets) = read_peer(s, n, &seqs)?;
    let peer_label = READ_PEER_LABEL;

    let mem = Log::in_memory(Config::default())?;
    fill(&mem, n, READ_PAYLOAD)?;
    let ours_mem = owned_reads(s, &mem, &seqs)?;
    let ours_reader = borrowed_reads(s, &mem, &seqs)?;
    let scan_reader = median_duration(s.reps, || {
        let reader = mem.reader();
        let (sum, d) = timed(|| {
            reader
                .iter(0..n)
                .fold(0u64, |acc, r| acc.wrapping_add(fold_bytes(r.payload())))
        });
        ensure!(sum == scanned_sum(n), "scan missed records");
        Ok(d)
    })?;

    let scan = median_duration(s.reps, || {
        let (sum, d) = timed(|| {
            mem.iter_from(0)
                .fold(0u64, |acc, r| acc.wrapping_add(fold_bytes(r.payload())))
        });
        ensure!(sum == scanned_sum(n), "scan missed records");
        Ok(d)
    })?;
    drop(mem);
    let walk = median_duration(s.reps, || {
        let ((sum, frames), d) = timed(|| walk_frames(black_box(&data), black_box(&offsets)));
        ensure!(
            sum == scanned_sum(n) && frames == n,
            "the peer's walk missed frames"
        );
        Ok(d)
    })?;
    drop(data);
    drop(offsets);

    let dir = temp_dir(tmp)?;
    {
        let log = Log::open(dir.path(), Config::default())?;
        fill(&log, n, READ_PAYLOAD)?;
        log.close()?;
    }
    let file = Log::open(dir.path(), Config::default())?;
    let segments = file.stats().segments;
    let ours_file = owned_reads(s, &file, &seqs)?;
    drop(file);
    drop(dir);

    // The same random reads on a log that fits in the CPU cache: what the
    // API itself costs when memory latency is not the bound.
    let hot_n = s.hot_read_records;
    let hot_seqs = random_seqs(s.reads, hot_n, 0x407);
    let (hot_peer, _, _) = read_peer(s, hot_n, &hot_seqs)?;
    let hot = Log::in_memory(Config::default())?;
    fill(&hot, hot_n, READ_PAYLOAD)?;
    let hot_owned = owned_reads(s, &hot, &hot_seqs)?;
    let hot_borrowed = borrowed_reads(s, &hot, &hot_seqs)?;
    drop(hot);
    let hot_set = format!(
        "{:.1} MiB of frames + index: fits the last-level cache",
        (hot_n * (frame_len as u64 + 8)) as f64 / (1 << 20) as f64
    );

    // Only payload bytes count: every one of them is folded; the headers
    // are read only in part (the length), so they are not counted.
    let scan_bytes = n * READ_PAYLOAD as u64;
    let gbps = |d: Duration| scan_bytes as f64 / d.as_secs_f64() / 1e9;
    let reads = s.reads as u64;
    let read_row = |name: &str, ours: Duration, peer: Duration, records: u64, api: &str| {
        BenchResult::new(name, "ns/read", ns_per(ours, reads), Better::Lower)
            .target(30.0)
            .peer(peer_label, ns_per(peer, reads))
            .param("records", records)
            .param("reads", reads)
            .param("payload_bytes", READ_PAYLOAD)
            .param("api", api)
    };
    let scan_row = |name: &str, ours: Duration| {
        BenchResult::new(name, "GB/s", gbps(ours), Better::Higher)
            .target(2.0)
            .peer(SCAN_PEER_LABEL, gbps(walk))
            .param("records", n)
            .param("payload_bytes", READ_PAYLOAD)
            .param("bytes", scan_bytes)
            .param("records_per_s", per_sec(ours, n))
            .param("peer_records_per_s", per_sec(walk, n))
            .param(
                "work",
                "every record in order, every payload byte folded into a checksum (8-byte little-endian words, wrapping add; the result checked); bytes = payload bytes only",
            )
    };
    Ok(vec![
        read_row("read_random_mem_hot", hot_owned, hot_peer, hot_n, OWNED_API)
            .param("working_set", hot_set.clone()),
        read_row(
            "read_random_mem_reader_hot",
            hot_borrowed,
            hot_peer,
            hot_n,
            BORROWED_API,
        )
        .param("working_set", hot_set),
        read_row("read_random_mem", ours_mem, peer, n, OWNED_API),
        read_row("read_random_mem_reader", ours_reader, peer, n, BORROWED_API),
        read_row("read_random_file", ours_file, peer, n, OWNED_API)
            .param("segments", segments)
            .param(
                "storage",
                "reopened file log: sealed segments mmapped, last segment in memory",
            ),
        scan_row("scan_iter_mem", scan).param("api", "log.iter_from(0): owned records"),
        scan_row("scan_reader_mem", scan_reader).param(
            "api",
            "log.reader().iter(0..n): borrowed records, lock held once",
        ),
    ])
}

/// The leaf hash `SHA-256(0x00 ‖ frame)`, computed directly with `sha2`.
fn raw_leaf(frame: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(frame);
    h.finalize().into()
}

/// 7. Merkle hashing: `root()` over freshly appended records, against the
///    same leaf and interior hashes computed in a flat loop with `sha2`.
fn merkle_root(s: &Sizes) -> Result<Vec<BenchResult>> {
    let n = s.merkle_records;
    ensure!(n.is_power_of_two(), "merkle_records must be a power of two");
    let ours = median_duration(s.reps, || {
        let log = Log::in_memory(Config::default())?;
        fill(&log, n, MERKLE_PAYLOAD)?;
        let (r, d) = timed(|| log.root());
        r?;
        Ok(d)
    })?;
    // The peer hashes the frames of one more log (frames carry timestamps,
    // so each log has its own root) and must reproduce that log's root.
    let log = Log::in_memory(Config::default())?;
    fill(&log, n, MERKLE_PAYLOAD)?;
    let frames: Vec<_> = log.iter_from(0).map(|r| r.frame().clone()).collect();
    let (expected, _) = log.root()?;
    drop(log);
    let mut peer_root = [0u8; 32];
    let peer = median_duration(s.reps, || {
        let (r, d) = timed(|| {
            let mut level: Vec<[u8; 32]> = frames.iter().map(|f| raw_leaf(f)).collect();
            let mut buf = [0u8; 65];
            buf[0] = 1;
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| match pair {
                        [l, r] => {
                            buf[1..33].copy_from_slice(l);
                            buf[33..].copy_from_slice(r);
                            Sha256::digest(buf).into()
                        }
                        _ => pair[0],
                    })
                    .collect();
            }
            level[0]
        });
        peer_root = r;
        Ok(d)
    })?;
    ensure!(
        peer_root == expected,
        "the peer's Merkle root differs from the log's"
    );
    Ok(vec![
        BenchResult::new(
            "merkle_root_amortised",
            "ns/record",
            ns_per(ours, n),
            Better::Lower,
        )
        .target(1000.0)
        .peer(
            "physical limit: sha2 leaf + interior hashes of the same frames in a flat loop",
            ns_per(peer, n),
        )
        .param("records", n)
        .param("payload_bytes", MERKLE_PAYLOAD)
        .param("timed", "first root() after appending all records"),
    ])
}

/// 8. Inclusion proofs of random records in a large in-memory log.
fn inclusion_proofs(s: &Sizes) -> Result<Vec<BenchResult>> {
    let n = s.proof_records;
    let log = Log::in_memory(Config::default())?;
    let (filled, build) = timed(|| fill(&log, n, PROOF_PAYLOAD));
    filled?;
    let (root, root_time) = timed(|| log.root());
    let (root, size) = root?;
    ensure!(size == n, "log holds {size} records, expected {n}");
    let seqs = random_seqs(s.proofs, n, 0xfee1);
    let ours = median_duration(s.reps, || {
        let (r, d) = timed(|| -> Result<()> {
            for &seq in &seqs {
                black_box(log.inclusion_proof(seq, size)?);
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    // Check a few proofs, so a fast but wrong answer cannot pass.
    for &seq in seqs.iter().take(16) {
        let proof = log.inclusion_proof(seq, size)?;
        let record = log.read(seq).context("proof record missing")?;
        mnemo_log::verify_inclusion(record.frame(), &proof, &root)?;
    }
    Ok(vec![
        BenchResult::new(
            "inclusion_proof",
            "us/proof",
            ns_per(ours, s.proofs as u64) / 1000.0,
            Better::Lower,
        )
        .target(20.0)
        .param("records", n)
        .param("proofs", s.proofs)
        .param("payload_bytes", PROOF_PAYLOAD)
        .param("build_secs", build.as_secs_f64())
        .param("first_root_secs", root_time.as_secs_f64()),
    ])
}

/// 9. Recovery: `Log::open` of a closed on-disk log (warm page cache),
///    against mmap + XXH3 of every frame of the same files.
fn recovery(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let frame_len = RECORD_HEADER_LEN + DISK_PAYLOAD;
    let records = s.recovery_bytes / frame_len as u64;
    let dir = temp_dir(tmp)?;
    let bytes = {
        let log = Log::open(dir.path(), Config::default())?;
        fill(&log, records, DISK_PAYLOAD)?;
        let bytes = log.stats().bytes;
        log.close()?;
        bytes
    };
    let ours = median_duration(s.disk_reps, || {
        let (log, d) = timed(|| Log::open(dir.path(), Config::default()));
        let log = log?;
        ensure!(log.next_seq() == records, "recovery lost records");
        log.close()?;
        Ok(d)
    })?;
    let segment_files: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        v.retain(|p| p.extension().is_some_and(|e| e == "seg"));
        v.sort();
        v
    };
    let peer = median_duration(s.disk_reps, || {
        let (r, d) = timed(|| checksum_segments(&segment_files));
        ensure!(r? == records, "peer found the wrong number of records");
        Ok(d)
    })?;
    let gbps = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    Ok(vec![
        BenchResult::new("recovery_open", "GB/s", gbps(ours), Better::Higher)
            .target(1.0)
            .peer(
                "physical limit: mmap(populate) + XXH3 of every frame of the same files",
                gbps(peer),
            )
            .param("records", records)
            .param("bytes", bytes)
            .param("payload_bytes", DISK_PAYLOAD)
            .param("segments", segment_files.len())
            .param(
                "page_cache",
                "warm (dropping caches needs root; files were just written)",
            ),
    ])
}

/// Maps each segment file and checks every frame's XXH3 checksum; returns
/// the number of frames.
fn checksum_segments(files: &[PathBuf]) -> Result<u64> {
    let mut count = 0u64;
    for path in files {
        let file = std::fs::File::open(path)?;
        // SAFETY: the benchmark owns the directory and nothing writes these
        // files while they are mapped.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
        let mut off = SEGMENT_HEADER_LEN;
        while off + RECORD_HEADER_LEN <= map.len() {
            let header = &map[off..off + RECORD_HEADER_LEN];
            let stored = u64::from_le_bytes(header[0..8].try_into()?);
            let len = u32::from_le_bytes(header[8..12].try_into()?) as usize;
            let end = off + RECORD_HEADER_LEN + len;
            ensure!(end <= map.len(), "{}: truncated frame", path.display());
            let computed = xxhash_rust::xxh3::xxh3_64(&map[off + 8..end]);
            ensure!(
                stored == computed,
                "{}: checksum mismatch at {off}",
                path.display()
            );
            off = end;
            count += 1;
        }
    }
    Ok(count)
}
