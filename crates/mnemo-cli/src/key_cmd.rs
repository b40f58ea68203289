//! `mnemo key create`: a namespace's checkpoint signing keys (Ed25519 and
//! ML-DSA); `mnemo checkpoint`: the namespace's log head now, signed with
//! them. `mnemo verify --checkpoint OLD --key PUB` (in `verify_cmd`) checks
//! that the log only grew since a signed checkpoint.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use mnemo_trust::{Checkpoint, PqLevel, SigningKeys, Verifier, namespace_origin};
use serde_json::json;

use crate::open::{self, Access, Global};

/// `mnemo key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create checkpoint signing keys: an Ed25519 key and an ML-DSA-44 key
    /// (and ML-DSA-65 with --ml-dsa-65) under one name. Writes the private
    /// keys to --out (mode 0600, never overwritten) and the public keys
    /// (C2SP vkeys) beside it with the extension .pub.
    Create(CreateArgs),
}

/// `mnemo key create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The key name: a schema-less URL naming the signer, e.g.
    /// `example.com/mnemo` (no spaces or '+'). Checkpoints of namespace NS
    /// get the origin `NAME/NS`.
    #[arg(long)]
    pub name: String,
    /// Where to write the private keys.
    #[arg(long, default_value = "mnemo.key")]
    pub out: PathBuf,
    /// Also sign with ML-DSA-65 (NIST level 3); verifiers holding that key
    /// then require its signature too.
    #[arg(long = "ml-dsa-65")]
    pub ml_dsa_65: bool,
}

/// `mnemo checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The private key file `mnemo key create` wrote.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

/// The public key file beside private key file `private`.
fn public_path(private: &Path) -> PathBuf {
    private.with_extension("pub")
}

/// Runs `mnemo key ...`.
pub fn key(cmd: KeyCommand, json_out: bool) -> Result<ExitCode> {
    match cmd {
        KeyCommand::Create(args) => create(args, json_out),
    }
}

fn create(args: CreateArgs, json_out: bool) -> Result<ExitCode> {
    let level = if args.ml_dsa_65 {
        PqLevel::MlDsa44And65
    } else {
        PqLevel::MlDsa44
    };
    let keys = SigningKeys::generate(&args.name, level).map_err(|e| anyhow!("name: {e}"))?;
    let public = public_path(&args.out);
    for path in [&args.out, &public] {
        if path.exists() {
            bail!(
                "{} exists: mnemo never overwrites a key; choose another --out",
                path.display()
            );
        }
    }
    write_new(&args.out, keys.to_private_text().as_bytes(), true)?;
    let vkeys = keys.verifier().to_vkeys();
    write_new(&public, vkeys.as_bytes(), false)?;
    if json_out {
        println!(
            "{}",
            json!({"name": keys.name(), "private": args.out, "public": public, "vkeys": vkeys.lines().collect::<Vec<_>>()})
        );
    } else {
        println!(
            "wrote the private keys to {} (keep them secret) and the public keys to {}:",
            args.out.display(),
            public.display()
        );
        print!("{vkeys}");
        println!(
            "sign with `mnemo checkpoint --key {}`, or name it in the server's config ([checkpoints] key_file); \
             give {} to whoever checks the checkpoints",
            args.out.display(),
            public.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to a file that must not exist yet, durably; readable by
/// the owner alone when `private`.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads the private keys `mnemo key create` wrote.
pub fn load_keys(path: &Path) -> Result<SigningKeys> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    SigningKeys::from_private_text(&text)
        .map_err(|e| anyhow!("{}: not a mnemo key file: {e}", path.display()))
}

/// Reads public keys (C2SP vkeys, one per line).
pub fn load_verifier(path: &Path) -> Result<Verifier> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the public keys {}", path.display()))?;
    Verifier::from_vkeys(&text)
        .map_err(|e| anyhow!("{}: not mnemo public keys: {e}", path.display()))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `mnemo checkpoint`: prints the namespace's signed checkpoint.
pub fn checkpoint(global: &Global, args: CheckpointArgs) -> Result<ExitCode> {
    let keys = load_keys(&args.key)?;
    let opened = open::open(global, Access::Plain)?;
    let (root, size) = opened.ns.root().map_err(open::explain)?;
    let body = Checkpoint::new(
        &namespace_origin(keys.name(), &global.namespace),
        size,
        root,
    )
    .map_err(|e| anyhow!("checkpoint: {e}"))?;
    let note = keys
        .sign(&body, unix_now())
        .map_err(|e| anyhow!("signing the checkpoint: {e}"))?;
    opened.close()?;
    if global.json {
        println!(
            "{}",
            json!({"origin": body.origin, "size": size, "root": crate::table::hex(&root), "note": note})
        );
    } else {
        print!("{note}");
    }
    Ok(ExitCode::SUCCESS)
}
