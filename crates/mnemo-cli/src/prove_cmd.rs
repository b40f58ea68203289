//! `mnemo prove ID`: the Merkle inclusion proof of the event that last
//! wrote a memory. With `--checkpoint NOTE --key PUB` it proves the memory
//! against a signed checkpoint instead of the log's current head: the
//! note's signatures (Ed25519 and ML-DSA) must verify with the keys in
//! PUB, it must name this namespace, and the proof, taken in the tree of
//! the checkpoint's size, must lead to the checkpoint's root.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mnemo::MemoryId;
use mnemo_trust::{SignedCheckpoint, namespace_origin};
use serde_json::json;

use crate::key_cmd;
use crate::open::{self, Access, Global};
use crate::table::{self, Table};

/// `mnemo prove`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The memory's id.
    pub id: u64,
    /// A signed checkpoint to prove the memory against (a file holding the
    /// note: `mnemo checkpoint`'s output, or the server's `/checkpoint`).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub checkpoint: Option<PathBuf>,
    /// The signer's public keys (`mnemo key create`'s .pub file).
    #[arg(long, value_name = "FILE", requires = "checkpoint")]
    pub key: Option<PathBuf>,
}

/// Runs `mnemo prove`: prints the proof and whether it holds; exits 1 when
/// the checkpoint does not verify or the proof does not lead to its root.
pub fn run(global: &Global, args: ProveArgs) -> Result<ExitCode> {
    let signed = match (&args.checkpoint, &args.key) {
        (Some(note), Some(key)) => {
            let text = std::fs::read_to_string(note)
                .with_context(|| format!("reading the checkpoint {}", note.display()))?;
            let verifier = key_cmd::load_verifier(key)?;
            match checked_note(&verifier, &text, &global.namespace) {
                Ok(signed) => Some(signed),
                Err(why) => return Ok(failed(global, args.id, &why)),
            }
        }
        _ => None,
    };
    let opened = open::open(global, Access::Plain)?;
    let id = MemoryId(args.id);
    let proof = match &signed {
        Some(s) => opened.ns.prove_at(id, s.checkpoint.size),
        None => opened.ns.prove(id),
    };
    opened.close()?;
    let proof = proof.map_err(open::explain)?;
    let trusted_root = signed.as_ref().map_or(proof.root, |s| s.checkpoint.root);
    let holds = proof.verify(Some(&trusted_root));
    let against = match &signed {
        Some(s) => format!(
            "the checkpoint {} signed at {} (Ed25519 + ML-DSA, both verified)",
            s.checkpoint.origin, s.timestamp
        ),
        None => "the log's current head".to_owned(),
    };
    let detail = match &holds {
        Ok(()) => format!(
            "memory {} (event {}) is in the tree of {} events whose root is {}",
            args.id,
            proof.seq,
            proof.proof.tree_size,
            table::hex(&trusted_root)
        ),
        Err(e) => format!(
            "the proof of memory {} (event {}) does not lead to {}: {e}",
            args.id,
            proof.seq,
            table::hex(&trusted_root)
        ),
    };
    if global.json {
        println!(
            "{}",
            json!({
                "ok": holds.is_ok(),
                "id": args.id,
                "seq": proof.seq,
                "size": proof.proof.tree_size,
                "root": table::hex(&trusted_root),
                "path": proof.proof.path.iter().map(|h| table::hex(h)).collect::<Vec<_>>(),
                "frame": table::hex(&proof.frame),
                "checkpoint": signed.as_ref().map(|s| json!({
                    "origin": s.checkpoint.origin,
                    "size": s.checkpoint.size,
                    "timestamp": s.timestamp,
                })),
                "detail": detail,
            })
        );
    } else {
        let mut t = Table::new(&["field", "value"]);
        t.row(vec!["memory".into(), args.id.to_string()]);
        t.row(vec!["event (leaf)".into(), proof.seq.to_string()]);
        t.row(vec!["tree size".into(), proof.proof.tree_size.to_string()]);
        t.row(vec!["root".into(), table::hex(&trusted_root)]);
        t.row(vec!["against".into(), against]);
        t.row(vec![
            "path".into(),
            format!("{} hashes", proof.proof.path.len()),
        ]);
        t.print();
        println!("{}: {detail}", if holds.is_ok() { "OK" } else { "FAILED" });
    }
    Ok(if holds.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The note verified with `verifier` and checked to name `namespace`, or
/// why not.
fn checked_note(
    verifier: &mnemo_trust::Verifier,
    note: &str,
    namespace: &str,
) -> Result<SignedCheckpoint, String> {
    let signed = verifier
        .verify(note)
        .map_err(|e| format!("the checkpoint does not verify: {e}"))?;
    let origin = namespace_origin(verifier.name(), namespace);
    if signed.checkpoint.origin != origin {
        return Err(format!(
            "the checkpoint is for {:?}, not this namespace ({origin:?})",
            signed.checkpoint.origin
        ));
    }
    Ok(signed)
}

/// Reports a checkpoint that cannot be trusted; exit code 1.
fn failed(global: &Global, id: u64, why: &str) -> ExitCode {
    if global.json {
        println!("{}", json!({"ok": false, "id": id, "detail": why}));
    } else {
        println!("FAILED: {why}");
    }
    ExitCode::from(1)
}
