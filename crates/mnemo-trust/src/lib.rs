//! # mnemo-trust
//!
//! Signed checkpoints of mnemo's Merkle-hashed, append-only log, so that a
//! reader who holds a namespace's public keys can tell that a log head really
//! comes from that namespace and that a later head extends an earlier one
//! (no history was rewritten or forked).
//!
//! A [`Checkpoint`] is the log's tree head (origin, tree size, RFC 6962 /
//! RFC 9162 root hash). [`SigningKeys`] signs it as a C2SP signed note with
//! two signatures, one classical and one post-quantum; a [`Verifier`] (the
//! public keys, as C2SP vkeys) accepts the note only when **both** verify.
//! [`verify_consistency`] checks a consistency proof between two verified
//! checkpoints.
//!
//! ```
//! use mnemo_trust::{Checkpoint, PqLevel, SigningKeys, Verifier, verify_consistency};
//!
//! let keys = SigningKeys::generate("example.com/ns1", PqLevel::MlDsa44)?;
//! let vkeys = keys.verifier().to_vkeys(); // publish this
//!
//! let old = Checkpoint::new("example.com/ns1", 0, mnemo_log::merkle::empty_root())?;
//! let note = keys.sign(&old, 1_700_000_000)?;
//!
//! let verifier = Verifier::from_vkeys(&vkeys)?;
//! let signed = verifier.verify(&note)?;
//! assert_eq!(signed.checkpoint, old);
//! assert_eq!(signed.timestamp, 1_700_000_000);
//! verify_consistency(&old, &signed.checkpoint, &[])?;
//! # Ok::<(), mnemo_trust::TrustError>(())
//! ```
//!
//! ## How the pieces fit
//!
//! - [`checkpoint`]: the checkpoint note text (c2sp.org/tlog-checkpoint).
//! - [`note`]: the signed-note envelope and its signature lines
//!   (c2sp.org/signed-note).
//! - [`vkey`]: key types, key IDs and verifier keys.
//! - `cosign`: the binary message the ML-DSA keys sign
//!   (c2sp.org/tlog-cosignature).
//! - [`signer`] and [`verifier`]: the two sides, built on the above.
//! - [`consistency`]: append-only checks between two checkpoints, using
//!   [`mnemo_log::merkle::verify_consistency`].
//!
//! ## Formats
//!
//! Everything below is byte-exact. "base64" is RFC 4648 §4 standard base64
//! with padding, "hex" is lowercase, integers are big-endian, `‖` is
//! concatenation, and `name` is the namespace's key name (non-empty, at most
//! 255 bytes, no Unicode white space, no `+`, no control characters).
//!
//! ### Checkpoint body (tlog-checkpoint v1)
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <base64 of the 32-byte root>\n
//! [<extension line>\n]...
//! ```
//!
//! The origin is 1..=255 bytes of UTF-8 without control characters: the
//! ML-DSA message below carries it with a one-byte length.
//!
//! ### Signed note (signed-note v1)
//!
//! The body, one empty line, then one line per signature:
//! `— <name> <base64(key ID (4 bytes) ‖ signature bytes)>\n` (U+2014, then a
//! space). [`SigningKeys::sign`] writes the Ed25519 line first, then
//! ML-DSA-44, then ML-DSA-65 if the namespace has that key. A note is at most
//! [`MAX_NOTE_BYTES`] and has at most [`MAX_SIGNATURE_LINES`] signature
//! lines; it may contain no control character other than `\n`.
//!
//! ### Keys, key IDs and vkeys
//!
//! Every key has *type bytes* `T` and a public key `pk`; its key ID is
//! `SHA-256(name ‖ 0x0A ‖ T ‖ pk)[..4]`, and its vkey line is
//! `<name>+<hex(key ID)>+<base64(T ‖ pk)>`.
//!
//! | key | `T` | `pk` | signature bytes (after the key ID) |
//! |-----|-----|------|-------------------------------------|
//! | Ed25519 (signed-note) | `0x01` | 32 bytes (RFC 8032) | 64-byte Ed25519 signature of the body |
//! | ML-DSA-44 (tlog-cosignature) | `0x06` | 1312 bytes (FIPS 204) | `timestamp (u64) ‖` 2420-byte ML-DSA-44 signature of `cosigned_message` |
//! | ML-DSA-65 (this crate) | `0xff ‖ "mnemo-ml-dsa-65/v1"` (19 bytes) | 1952 bytes (FIPS 204) | `timestamp (u64) ‖` 3309-byte ML-DSA-65 signature of `mnemo_mldsa65_message` |
//!
//! `0xff` is the signed-note type reserved for algorithms without an
//! assigned byte; the spec recommends a longer identifier after it, which is
//! the ASCII string `mnemo-ml-dsa-65/v1`.
//!
//! ML-DSA is pure ML-DSA (FIPS 204 Algorithm 2 / 3, not HashML-DSA) with an
//! empty context string. Signing is hedged (randomized, FIPS 204's default)
//! on native targets, where AWS-LC (`aws-lc-rs`) signs and verifies, and
//! deterministic on `wasm32`, where RustCrypto's pure-Rust `ml-dsa` does
//! (AWS-LC does not build there). Both are valid FIPS 204 signatures of the
//! same message and each implementation verifies the other's; the only
//! difference is that natively two signatures of one checkpoint differ, so
//! tests must verify ML-DSA signatures rather than compare their bytes. The
//! signed messages are
//!
//! ```text
//! cosigned_message      = "subtree/v1\n\0"       (12 bytes)
//!                       ‖ len(name) (1 byte) ‖ name
//!                       ‖ timestamp (8 bytes)
//!                       ‖ len(origin) (1 byte) ‖ origin
//!                       ‖ start = 0 (8 bytes) ‖ end = tree size (8 bytes)
//!                       ‖ root (32 bytes)
//! mnemo_mldsa65_message = "mnemo-mldsa65/v1\n\0"  (18 bytes)
//!                       ‖ the same fields, laid out the same way
//! ```
//!
//! The ML-DSA-65 label keeps the `\n\0` ending of `subtree/v1`: the NUL byte
//! means neither message can ever be the text of a signed note (notes may not
//! contain control characters), and the different label keeps the two
//! algorithms' messages apart. `timestamp` is POSIX seconds, at most
//! 2^63 − 1; a note's ML-DSA-65 timestamp must equal its ML-DSA-44 one.
//!
//! The ML-DSA messages do not cover extension lines; the Ed25519 signature
//! covers the whole body, and a note is only valid when all of the
//! namespace's signatures verify.
//!
//! ### Private key file
//!
//! One line per key, in the style of Go's `golang.org/x/mod/sumdb/note`
//! (the Ed25519 line is exactly Go's format):
//!
//! ```text
//! PRIVATE+KEY+<name>+<hex(key ID)>+<base64(T ‖ 32-byte seed)>\n
//! ```
//!
//! The seed is RFC 8032's 32-byte Ed25519 secret key, or FIPS 204's 32-byte
//! ML-DSA key-generation seed ξ. The key ID is the *public* key's (above), and
//! loading checks it against the key the seed derives. Blank lines and lines
//! starting with `#` are ignored. The file needs one Ed25519 and one
//! ML-DSA-44 line and may have one ML-DSA-65 line, all with the same name.
//!
//! ## Verification rules
//!
//! Signature lines whose (name, key ID) pair is not one of the verifier's
//! keys are ignored, as the signed-note spec requires; a line that matches a
//! key must verify, and a key may sign a note only once. A note then needs a
//! valid signature from every key of the verifier, else
//! [`TrustError::MissingSignature`] or [`TrustError::BadSignature`]. Nothing
//! in this crate panics on any input.

pub mod checkpoint;
pub mod consistency;
mod cosign;
mod error;
mod mldsa;
pub mod note;
pub mod signer;
pub mod verifier;
pub mod vkey;

pub use checkpoint::{Checkpoint, namespace_origin};
pub use consistency::verify_consistency;
pub use error::TrustError;
pub use signer::{PqLevel, SigningKeys};
pub use verifier::{SignedCheckpoint, Verifier};

/// A SHA-256 digest: a Merkle tree root or node.
pub type Hash = [u8; 32];

/// The largest signed note (or checkpoint body) accepted: 1 MiB.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines a note may have. The signed-note spec asks
/// verifiers to accept at least 16.
pub const MAX_SIGNATURE_LINES: usize = 100;

/// The longest key name or checkpoint origin, in bytes: the ML-DSA signed
/// message stores each with a one-byte length.
pub const MAX_NAME_BYTES: usize = 255;

/// The largest signature timestamp (POSIX seconds): 2^63 − 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The largest vkeys or private key text accepted: 64 KiB (an ML-DSA-65
/// vkey is about 2.6 KiB).
pub const MAX_KEY_TEXT_BYTES: usize = 64 << 10;
