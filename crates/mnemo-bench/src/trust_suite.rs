//! The `trust` suite: signed checkpoints and consistency proofs
//! (`mnemo-trust`, `mnemo_log`'s Merkle tree).
//!
//! 1. **Signatures**: sign and verify of checkpoints' signed messages with
//!    the implementations mnemo-trust uses natively: ML-DSA-44 (the
//!    tlog-cosignature `subtree/v1` message) and ML-DSA-65 through AWS-LC
//!    (`aws-lc-rs`; hedged signing), against RustCrypto's pure-Rust
//!    `ml-dsa` (mnemo-trust's backend in WebAssembly; deterministic), and
//!    Ed25519 (the checkpoint body) through `ed25519-dalek`, against
//!    AWS-LC's Ed25519. Same keys (same seeds), same messages, same run;
//!    one message per signature (ML-DSA signing loops a number of times that
//!    depends on the message). Each signature made is checked by the other
//!    implementation before timing, so a fast wrong answer cannot pass.
//! 2. **Whole checkpoints** through mnemo-trust's API: `SigningKeys::sign`
//!    (body, Ed25519, ML-DSA-44 and, at the higher level, ML-DSA-65, note
//!    text) and `Verifier::verify` (note parsing, every signature). No
//!    target of their own; the primitive rows carry the issue's.
//! 3. **Consistency proofs** in an in-memory log of 10,000,000 records:
//!    `Log::consistency_proof(m, n)` for random 0 < m < n ≤ 10M, each
//!    checked with `verify_consistency` against the roots. Peer: RFC 9162's
//!    reference SUBPROOF over the leaf hashes held in memory (no stored
//!    subtrees: it hashes every leaf below the larger tree), for a few
//!    proofs.
//!
//! 4. **Forgetting that erases**: `Namespace::forget` of single memories in
//!    an on-disk namespace of 10,000 (each call appends the forget, synced
//!    under `SyncPolicy::Always`, and zeroes the memory's key slot in
//!    place, synced by the key store's thread), per call, median and p95;
//!    the same under `SyncPolicy::Never`. Peer
//!    (a physical floor): one durable append of a 16-byte record to a
//!    `mnemo_log::Log` on the same disk (one `fdatasync`), one after each
//!    forget, so the two see the same disk (its sync time drifts by tens
//!    of µs between runs); the row also gives the difference of the
//!    medians, what the forget costs above its one `fdatasync`.
//!
//! `--quick` shrinks the log to 100,000 records, the namespace to 1,000
//! memories and the repetitions.

use std::hint::black_box;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use aws_lc_rs::signature::{
    ED25519, Ed25519KeyPair, KeyPair as _, ML_DSA_44, ML_DSA_44_SIGNING, ML_DSA_65,
    ML_DSA_65_SIGNING, PqdsaKeyPair, UnparsedPublicKey,
};
use ed25519_dalek::Signer as _;
use std::path::Path;

use mnemo::{Mnemo, NewMemory, Options, Query};
use mnemo_log::{Config, ConsistencyProof, Hash, Log, SyncPolicy, merkle};
use mnemo_trust::{Checkpoint, PqLevel, SigningKeys};

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better, Reps, median_duration, timed};
use crate::random::SplitMix64;

/// ML-DSA-44 signing, ms (the target).
const MLDSA44_SIGN_TARGET_MS: f64 = 0.5;
/// ML-DSA-65 signing, ms.
const MLDSA65_SIGN_TARGET_MS: f64 = 1.0;
/// ML-DSA verification, ms.
const MLDSA_VERIFY_TARGET_MS: f64 = 0.15;
/// One consistency proof at 10M records, µs.
const CONSISTENCY_TARGET_US: f64 = 20.0;
/// One forget, µs.
const FORGET_TARGET_US: f64 = 50.0;

/// The sizes of one run.
struct Sizes {
    /// Signatures (or verifications) per timed pass.
    signatures: usize,
    /// Records in the consistency proofs' log.
    records: u64,
    /// Proofs per timed pass.
    proofs: usize,
    /// Proofs the reference peer computes.
    peer_proofs: usize,
    /// Memories in the forget benchmark's namespace.
    memories: usize,
    /// Forgets timed.
    forgets: usize,
    reps: Reps,
}

/// The messages a checkpoint signs.
struct Messages {
    /// The checkpoint body (what Ed25519 signs).
    body: Vec<u8>,
    /// The tlog-cosignature `subtree/v1` message (what ML-DSA-44 signs;
    /// ML-DSA-65 signs one of the same length).
    subtree: Vec<u8>,
}

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let s = if opts.quick {
        Sizes {
            signatures: 20,
            records: 100_000,
            proofs: 200,
            peer_proofs: 2,
            memories: 1_000,
            forgets: 100,
            reps: Reps { warmup: 1, runs: 3 },
        }
    } else {
        Sizes {
            signatures: 500,
            records: 10_000_000,
            proofs: 10_000,
            peer_proofs: 3,
            memories: 10_000,
            forgets: 1_000,
            reps: Reps { warmup: 1, runs: 7 },
        }
    };
    let wants = |name: &str| opts.only.as_deref().is_none_or(|o| name.contains(o));
    let mut results = Vec::new();
    if wants("signatures") {
        results.extend(signatures(&s)?);
    }
    if wants("checkpoints") {
        results.extend(checkpoints(&s)?);
    }
    if wants("consistency") {
        results.extend(consistency(&s)?);
    }
    if wants("forget") {
        let tmp = opts.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
        results.extend(forget(&s, &tmp)?);
    }
    Ok(results)
}

/// The checkpoint of a log of `size` events with a root drawn from `rng`.
fn checkpoint(size: u64, rng: &mut SplitMix64) -> Result<Checkpoint> {
    let mut root: Hash = [0; 32];
    for chunk in root.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    Ok(Checkpoint::new(ORIGIN, size, root)?)
}

/// The origin of the measured checkpoints.
const ORIGIN: &str = "example.com/mnemo/agent";
/// The key name of the measured keys.
const KEY_NAME: &str = "example.com/mnemo";

/// `count` checkpoints' messages, each of another size and root: ML-DSA
/// signing repeats its rejection loop a number of times that depends on
/// the message, so one message would measure one draw of that number.
fn messages(count: usize) -> Result<Vec<Messages>> {
    let mut rng = SplitMix64::new(0x5167_4e55);
    (0..count)
        .map(|i| {
            let c = checkpoint(10_000_000 + i as u64, &mut rng)?;
            // struct { label[12]; opaque name<1..255>; u64 timestamp;
            // opaque origin<1..255>; u64 start; u64 end; u8 hash[32] }
            // (tlog-cosignature).
            let mut subtree = b"subtree/v1\n\0".to_vec();
            subtree.push(u8::try_from(KEY_NAME.len())?);
            subtree.extend_from_slice(KEY_NAME.as_bytes());
            subtree.extend_from_slice(&1_796_500_000u64.to_be_bytes());
            subtree.push(u8::try_from(ORIGIN.len())?);
            subtree.extend_from_slice(ORIGIN.as_bytes());
            subtree.extend_from_slice(&0u64.to_be_bytes());
            subtree.extend_from_slice(&c.size.to_be_bytes());
            subtree.extend_from_slice(&c.root);
            Ok(Messages {
                body: c.body().into_bytes(),
                subtree,
            })
        })
        .collect()
}

/// Milliseconds per item of one `f` call on each of `items`, median of the
/// passes.
fn ms_per<T>(reps: Reps, items: &[T], mut f: impl FnMut(&T) -> Result<()>) -> Result<f64> {
    let d = median_duration(reps, || {
        let (r, d) = timed(|| -> Result<()> {
            for item in items {
                f(black_box(item))?;
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    Ok(d.as_secs_f64() * 1e3 / items.len() as f64)
}

/// 1. Sign and verify with each algorithm, against AWS-LC.
fn signatures(s: &Sizes) -> Result<Vec<BenchResult>> {
    let messages = messages(s.signatures)?;
    let seed = [42u8; 32];
    let mut out = Vec::new();
    let peer_label = "RustCrypto ml-dsa 0.1.2 (pure Rust; deterministic signing; mnemo-trust's backend in WebAssembly), same key (same seed), same messages, same run";

    // ML-DSA at both levels: the same seed ξ gives the same keys in both
    // implementations (FIPS 204 ML-DSA.KeyGen_internal).
    macro_rules! ml_dsa {
        ($params:ty, $label:literal, $signing:expr, $verifying:expr, $sign_target:expr) => {{
            let ours = ml_dsa::SigningKey::<$params>::from_seed(&seed.into());
            let ours_vk = AsRef::<ml_dsa::VerifyingKey<$params>>::as_ref(&ours).clone();
            let ours_pk = ours_vk.encode();
            let peer = PqdsaKeyPair::from_seed(&$signing, &seed)
                .map_err(|e| anyhow::anyhow!("aws-lc-rs {}: {e}", $label))?;
            ensure!(
                peer.public_key().as_ref() == ours_pk.as_slice(),
                "{}: the two implementations derive different public keys from one seed",
                $label
            );
            let peer_key = UnparsedPublicKey::new(&$verifying, ours_pk.as_slice());
            let mut peer_sig = vec![0u8; $signing.signature_len()];
            // Every signature checked by the other implementation first.
            let mut signed = Vec::with_capacity(messages.len());
            for m in &messages {
                let sig = ml_dsa::Signer::try_sign(&ours, &m.subtree)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", $label))?;
                peer_key
                    .verify(&m.subtree, sig.encode().as_slice())
                    .map_err(|_| anyhow::anyhow!("AWS-LC rejects our {} signature", $label))?;
                peer.sign(&m.subtree, &mut peer_sig)
                    .map_err(|_| anyhow::anyhow!("aws-lc-rs {} sign", $label))?;
                let theirs = decode_signature::<$params>(&peer_sig)
                    .with_context(|| format!("{}: AWS-LC's signature does not decode", $label))?;
                ensure!(
                    ours_vk.verify_with_context(&m.subtree, b"", &theirs),
                    "we reject AWS-LC's {} signature",
                    $label
                );
                signed.push((m.subtree.as_slice(), sig));
            }
            // mnemo-trust signs and verifies with AWS-LC natively; the
            // RustCrypto implementation (its WebAssembly backend) is the peer.
            let sign_ms = ms_per(s.reps, &messages, |m| {
                peer.sign(&m.subtree, &mut peer_sig)
                    .map_err(|_| anyhow::anyhow!("aws-lc-rs sign"))?;
                Ok(())
            })?;
            let peer_sign_ms = ms_per(s.reps, &messages, |m| {
                black_box(
                    ml_dsa::Signer::try_sign(&ours, &m.subtree)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                );
                Ok(())
            })?;
            let encoded: Vec<_> = signed.iter().map(|(msg, sig)| (*msg, sig.encode())).collect();
            let verify_ms = ms_per(s.reps, &encoded, |(msg, sig)| {
                peer_key
                    .verify(msg, sig.as_slice())
                    .map_err(|_| anyhow::anyhow!("aws-lc-rs verify"))
            })?;
            let peer_verify_ms = ms_per(s.reps, &signed, |(msg, sig)| {
                ensure!(ours_vk.verify_with_context(msg, b"", sig));
                Ok(())
            })?;
            let params = |r: BenchResult| {
                r.param("message_bytes", messages[0].subtree.len())
                    .param(
                        "messages",
                        "tlog-cosignature subtree/v1 cosigned_messages of checkpoints of 10M+i events with random roots, one signature each per pass",
                    )
                    .param(
                        "implementation",
                        "AWS-LC through aws-lc-rs 1.19 (C and assembly), mnemo-trust's native backend: hedged signing, empty context",
                    )
                    .param("signatures_per_pass", messages.len())
                    .param("signature_bytes", $signing.signature_len())
            };
            out.push(params(
                BenchResult::new(concat!($label, "_sign_ms"), "ms", sign_ms, Better::Lower)
                    .target($sign_target)
                    .peer(peer_label, peer_sign_ms),
            ));
            out.push(params(
                BenchResult::new(concat!($label, "_verify_ms"), "ms", verify_ms, Better::Lower)
                    .target(MLDSA_VERIFY_TARGET_MS)
                    .peer(peer_label, peer_verify_ms),
            ));
        }};
    }
    ml_dsa!(
        ml_dsa::MlDsa44,
        "mldsa44",
        ML_DSA_44_SIGNING,
        ML_DSA_44,
        MLDSA44_SIGN_TARGET_MS
    );
    ml_dsa!(
        ml_dsa::MlDsa65,
        "mldsa65",
        ML_DSA_65_SIGNING,
        ML_DSA_65,
        MLDSA65_SIGN_TARGET_MS
    );

    // Ed25519 over the checkpoint bodies.
    let ours = ed25519_dalek::SigningKey::from_bytes(&seed);
    let peer = Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|e| anyhow::anyhow!("aws-lc-rs Ed25519: {e}"))?;
    let pk = ours.verifying_key().to_bytes();
    ensure!(peer.public_key().as_ref() == pk, "Ed25519 keys differ");
    let mut signed = Vec::with_capacity(messages.len());
    for m in &messages {
        let sig = ours.sign(&m.body);
        ensure!(
            peer.sign(&m.body).as_ref() == sig.to_bytes(),
            "Ed25519 is deterministic: both must give the same signature"
        );
        signed.push((m.body.as_slice(), sig));
    }
    let peer_key = UnparsedPublicKey::new(&ED25519, pk);
    let ours_vk = ours.verifying_key();
    let sign_ms = ms_per(s.reps, &messages, |m| {
        black_box(ours.sign(&m.body));
        Ok(())
    })?;
    let peer_sign_ms = ms_per(s.reps, &messages, |m| {
        black_box(peer.sign(&m.body));
        Ok(())
    })?;
    let verify_ms = ms_per(s.reps, &signed, |(msg, sig)| {
        ours_vk
            .verify_strict(msg, sig)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let peer_verify_ms = ms_per(s.reps, &signed, |(msg, sig)| {
        peer_key
            .verify(msg, &sig.to_bytes())
            .map_err(|_| anyhow::anyhow!("aws-lc-rs Ed25519 verify"))
    })?;
    let peer_label = "AWS-LC Ed25519 (aws-lc-rs 1.19), same key, same messages, same run";
    for (name, ours, peer) in [
        ("ed25519_sign_ms", sign_ms, peer_sign_ms),
        ("ed25519_verify_ms", verify_ms, peer_verify_ms),
    ] {
        out.push(
            BenchResult::new(name, "ms", ours, Better::Lower)
                .peer(peer_label, peer)
                .param("message_bytes", messages[0].body.len())
                .param(
                    "messages",
                    "checkpoint bodies (origin, size, root), one per signature",
                )
                .param(
                    "implementation",
                    "ed25519-dalek 3 (verify_strict), as mnemo-trust",
                ),
        );
    }
    Ok(out)
}

/// An encoded ML-DSA signature, decoded.
fn decode_signature<P: ml_dsa::MlDsaParams>(bytes: &[u8]) -> Option<ml_dsa::Signature<P>> {
    let encoded = ml_dsa::EncodedSignature::<P>::try_from(bytes).ok()?;
    ml_dsa::Signature::decode(&encoded)
}

/// 2. Whole checkpoints through mnemo-trust's API.
fn checkpoints(s: &Sizes) -> Result<Vec<BenchResult>> {
    let mut rng = SplitMix64::new(0xc4ec_4901);
    let checkpoints: Vec<Checkpoint> = (0..s.signatures)
        .map(|i| checkpoint(10_000_000 + i as u64, &mut rng))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (level, label, what) in [
        (
            PqLevel::MlDsa44,
            "checkpoint_sign_ed25519_mldsa44_ms",
            "Ed25519 + ML-DSA-44",
        ),
        (
            PqLevel::MlDsa44And65,
            "checkpoint_sign_ed25519_mldsa44_mldsa65_ms",
            "Ed25519 + ML-DSA-44 + ML-DSA-65",
        ),
    ] {
        let keys = SigningKeys::generate(KEY_NAME, level)?;
        let verifier = keys.verifier();
        let notes: Vec<String> = checkpoints
            .iter()
            .map(|c| keys.sign(c, 1_796_500_000))
            .collect::<Result<_, _>>()?;
        for (note, c) in notes.iter().zip(&checkpoints) {
            ensure!(
                &verifier.verify(note)?.checkpoint == c,
                "a note verified as another checkpoint"
            );
        }
        let sign_ms = ms_per(s.reps, &checkpoints, |c| {
            black_box(keys.sign(c, 1_796_500_000)?);
            Ok(())
        })?;
        let verify_ms = ms_per(s.reps, &notes, |note| {
            black_box(verifier.verify(note)?);
            Ok(())
        })?;
        let params = |r: BenchResult| {
            r.param("signatures", what)
                .param("note_bytes", notes[0].len())
                .param("checkpoints_per_pass", checkpoints.len())
                .param(
                    "api",
                    "mnemo_trust::SigningKeys::sign / Verifier::verify (the note text in and out)",
                )
        };
        out.push(params(BenchResult::new(
            label,
            "ms",
            sign_ms,
            Better::Lower,
        )));
        out.push(params(BenchResult::new(
            &label.replace("_sign_", "_verify_"),
            "ms",
            verify_ms,
            Better::Lower,
        )));
    }
    Ok(out)
}

/// 3. Consistency proofs in a large in-memory log, against RFC 9162's
///    reference SUBPROOF over the leaf hashes.
fn consistency(s: &Sizes) -> Result<Vec<BenchResult>> {
    let n = s.records;
    let log = Log::in_memory(Config::default())?;
    let payloads = vec![vec![0x5au8; 16]; 1024];
    let (filled, build) = timed(|| -> Result<()> {
        let mut left = n;
        while left > 0 {
            let k = left.min(1024) as usize;
            log.append_batch(&payloads[..k])?;
            left -= k as u64;
        }
        Ok(())
    });
    filled?;
    let (root, size) = log.root()?;
    ensure!(size == n, "the log holds {size} records, not {n}");
    let mut rng = SplitMix64::new(0xc0_5157);
    let pairs: Vec<(u64, u64)> = (0..s.proofs)
        .map(|_| {
            let old = 1 + rng.below(n - 1);
            (old, n)
        })
        .collect();
    // Checked first: every proof of a sample verifies against the roots.
    for &(old, new) in pairs.iter().take(32) {
        let proof = log.consistency_proof(old, new)?;
        let old_root = log.root_at(old)?;
        mnemo_log::verify_consistency(&proof, &old_root, &root)?;
    }
    let ours = median_duration(s.reps, || {
        let (r, d) = timed(|| -> Result<()> {
            for &(old, new) in &pairs {
                black_box(log.consistency_proof(old, new)?);
            }
            Ok(())
        });
        r?;
        Ok(d)
    })?;
    let ours_us = ours.as_secs_f64() * 1e6 / pairs.len() as f64;
    let mean_hashes = pairs
        .iter()
        .take(256)
        .map(|&(old, new)| log.consistency_proof(old, new).map(|p| p.path.len()))
        .sum::<mnemo_log::Result<usize>>()? as f64
        / pairs.len().min(256) as f64;

    // The reference: leaf hashes in memory, SUBPROOF recursing down to them.
    let (leaves, leaf_time) = timed(|| -> Result<Vec<Hash>> {
        (0..n)
            .map(|seq| {
                let record = log.read(seq).context("a record")?;
                Ok(merkle::leaf_hash(record.frame()))
            })
            .collect()
    });
    let leaves = leaves?;
    let mut peer_total = Duration::ZERO;
    for &(old, new) in pairs.iter().take(s.peer_proofs) {
        let (path, d) = timed(|| reference_proof(&leaves[..new as usize], old as usize));
        peer_total += d;
        let ours = log.consistency_proof(old, new)?;
        ensure!(
            ours == ConsistencyProof {
                old_size: old,
                new_size: new,
                path
            },
            "the reference proof differs from the log's for {old} -> {new}"
        );
    }
    let peer_us = peer_total.as_secs_f64() * 1e6 / s.peer_proofs as f64;
    Ok(vec![
        BenchResult::new(
            "consistency_proof_10m_us",
            "us/proof",
            ours_us,
            Better::Lower,
        )
        .target(CONSISTENCY_TARGET_US)
        .peer(
            "RFC 9162 reference SUBPROOF over the leaf hashes in memory (no stored subtrees), same proofs, same run",
            peer_us,
        )
        .param("records", n)
        .param("proofs", pairs.len())
        .param("peer_proofs", s.peer_proofs)
        .param("pairs", "old uniform in 1..n, new = n (the log's head)")
        .param("mean_proof_hashes", mean_hashes)
        .param("payload_bytes", 16)
        .param("build_secs", build.as_secs_f64())
        .param("peer_leaf_hashing_secs", leaf_time.as_secs_f64()),
    ])
}

/// Per-call forget latencies (µs, sorted) in a fresh on-disk namespace of
/// `s.memories` under `policy`; with a `peer` log, each forget is followed
/// by one append to it, whose latencies (µs, sorted) come second (the disk's
/// speed drifts: interleaved, the two see the same disk).
fn forget_latencies(
    s: &Sizes,
    tmp: &Path,
    policy: SyncPolicy,
    peer: Option<&Log>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let dir = tempfile::Builder::new()
        .prefix("mnemo-bench-trust-")
        .tempdir_in(tmp)
        .with_context(|| format!("creating a temporary directory in {}", tmp.display()))?;
    let mnemo = Mnemo::open_with(dir.path(), Options::default().sync(policy))?;
    let ns = mnemo.namespace("forget")?;
    let mut ids = Vec::with_capacity(s.memories);
    for batch in 0..s.memories.div_ceil(100) {
        let memories = (0..100)
            .map(|i| {
                NewMemory::new(format!(
                    "memory {} of the forget benchmark: a note about topic {} written by agent {}",
                    batch * 100 + i,
                    i % 17,
                    batch % 5
                ))
                .tag(format!("t{}", i % 7))
            })
            .collect();
        ids.extend(ns.remember_batch(memories)?.into_iter().map(|r| r.id));
    }
    // The HNSW graph filled before the timing (the indexer's inserts
    // would hold its lock).
    ns.flush_index();
    let mut rng = SplitMix64::new(0xf0_4637);
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut micros = Vec::with_capacity(s.forgets);
    let mut appends = Vec::with_capacity(s.forgets);
    for (i, &id) in ids[..s.forgets].iter().enumerate() {
        let (r, d) = timed(|| ns.forget(id));
        r?;
        micros.push(d.as_secs_f64() * 1e6);
        if let Some(log) = peer {
            let (r, d) = timed(|| log.append(&(i as u128).to_le_bytes()));
            r?;
            appends.push(d.as_secs_f64() * 1e6);
        }
    }
    ensure!(
        ns.count(&Query::new()) as usize == ids.len() - s.forgets,
        "the namespace does not hold the memories left"
    );
    ensure!(
        ids[..s.forgets].iter().all(|&id| ns.get(id).is_none()),
        "a forgotten memory is still there"
    );
    mnemo.close()?;
    micros.sort_unstable_by(f64::total_cmp);
    appends.sort_unstable_by(f64::total_cmp);
    Ok((micros, appends))
}

/// 4. `forget` per call, durable and not, beside one durable log append.
fn forget(s: &Sizes, tmp: &Path) -> Result<Vec<BenchResult>> {
    let at = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    // The floor: one durable append of a small record on the same disk,
    // after each forget.
    let dir = tempfile::Builder::new()
        .prefix("mnemo-bench-trust-log-")
        .tempdir_in(tmp)
        .with_context(|| format!("creating a temporary directory in {}", tmp.display()))?;
    let log = Log::open(dir.path(), Config::default().sync(SyncPolicy::Always))?;
    let (always, appends) = forget_latencies(s, tmp, SyncPolicy::Always, Some(&log))?;
    let (never, _) = forget_latencies(s, tmp, SyncPolicy::Never, None)?;
    let what = "Namespace::forget(id) of random memories in an on-disk namespace (hash embedder) one call at a time: the forget event appended, the memory's key slot overwritten with zeros in place, state and indices updated";
    Ok(vec![
        BenchResult::new("forget_us", "us/forget", at(&always, 0.5), Better::Lower)
            .target(FORGET_TARGET_US)
            .peer(
                "one durable append of a 16-byte record to a mnemo_log::Log on the same disk (one fdatasync), median, one after each forget",
                at(&appends, 0.5),
            )
            .param("what", what)
            .param("sync", "Always: the forget event is fdatasync'ed before the call returns, the zeroed key slot by the key store's thread right after (opening redoes it after a crash)")
            .param("p95_us", at(&always, 0.95))
            .param("peer_p95_us", at(&appends, 0.95))
            .param("median_above_one_fdatasync_us", at(&always, 0.5) - at(&appends, 0.5))
            .param("memories", s.memories)
            .param("forgets", s.forgets)
            .param("snapshots", "none on disk (a first forget after a snapshot also shreds it)"),
        BenchResult::new("forget_unsynced_us", "us/forget", at(&never, 0.5), Better::Lower)
            .param("what", what)
            .param("sync", "Never: nothing is synced before the call returns")
            .param("p95_us", at(&never, 0.95))
            .param("memories", s.memories)
            .param("forgets", s.forgets),
    ])
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof between the
/// first `m` leaves of `leaves` and all of them, computed from the leaf
/// hashes alone.
fn reference_proof(leaves: &[Hash], m: usize) -> Vec<Hash> {
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => merkle::empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n);
                merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }
    fn subproof(m: usize, leaves: &[Hash], whole: bool, out: &mut Vec<Hash>) {
        let n = leaves.len();
        if m == n {
            if !whole {
                out.push(mth(leaves));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, &leaves[..k], whole, out);
            out.push(mth(&leaves[k..]));
        } else {
            subproof(m - k, &leaves[k..], false, out);
            out.push(mth(&leaves[..k]));
        }
    }
    let mut out = Vec::new();
    if m > 0 && m < leaves.len() {
        subproof(m, leaves, true, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_proof_is_the_logs_proof() {
        let log = Log::in_memory(Config::default()).expect("log");
        let payloads: Vec<Vec<u8>> = (0u8..37).map(|i| vec![i; 5]).collect();
        log.append_batch(&payloads).expect("append");
        let leaves: Vec<Hash> = (0..37)
            .map(|seq| merkle::leaf_hash(log.read(seq).expect("record").frame()))
            .collect();
        for n in 2..=37u64 {
            for m in 1..n {
                let ours = log.consistency_proof(m, n).expect("proof");
                assert_eq!(
                    ours.path,
                    reference_proof(&leaves[..n as usize], m as usize),
                    "{m} -> {n}"
                );
            }
        }
    }
}
