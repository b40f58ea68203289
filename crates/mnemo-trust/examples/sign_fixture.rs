//! Writes a signed checkpoint for `tests/independent_check.py` to check
//! without Rust.
//!
//! ```text
//! cargo run -p mnemo-trust --example sign_fixture -- OUT_DIR [--ml-dsa-65] [--private]
//! ```
//!
//! Generates new keys, signs a checkpoint with a fixed origin, size and
//! root, and writes `OUT_DIR/vkeys` and `OUT_DIR/checkpoint` (the signed
//! note). `--ml-dsa-65` adds the ML-DSA-65 key; `--private` also writes the
//! private key file to `OUT_DIR/private`, so the script can check the seeds
//! derive the published keys.

use std::path::PathBuf;
use std::process::ExitCode;

use mnemo_trust::{Checkpoint, PqLevel, SigningKeys};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "example.com/mnemo/fixture";
const SIZE: u64 = 12_345;
const TIMESTAMP: u64 = 1_700_000_000;

fn main() -> ExitCode {
    let mut out_dir = None;
    let mut level = PqLevel::MlDsa44;
    let mut private = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--ml-dsa-65" => level = PqLevel::MlDsa44And65,
            "--private" => private = true,
            _ if out_dir.is_none() && !arg.starts_with('-') => out_dir = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("usage: sign_fixture OUT_DIR [--ml-dsa-65] [--private]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out_dir) = out_dir else {
        eprintln!("usage: sign_fixture OUT_DIR [--ml-dsa-65] [--private]");
        return ExitCode::from(2);
    };
    match run(&out_dir, level, private) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sign_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    out_dir: &std::path::Path,
    level: PqLevel,
    private: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out_dir)?;
    let keys = SigningKeys::generate(ORIGIN, level)?;
    let root: [u8; 32] = Sha256::digest(b"mnemo-trust fixture root").into();
    let checkpoint = Checkpoint::new(ORIGIN, SIZE, root)?;
    let note = keys.sign(&checkpoint, TIMESTAMP)?;
    // Check our own output before handing it on.
    keys.verifier().verify(&note)?;
    std::fs::write(out_dir.join("vkeys"), keys.verifier().to_vkeys())?;
    std::fs::write(out_dir.join("checkpoint"), &note)?;
    if private {
        std::fs::write(out_dir.join("private"), keys.to_private_text())?;
    }
    println!("wrote {}", out_dir.display());
    Ok(())
}
