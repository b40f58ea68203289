//! Encryption at rest and erasure by crypto-shredding.
//!
//! ## Keys
//!
//! ```text
//! data key (32 bytes: a key file, an environment variable, or generated)
//!  └─ wraps, per namespace, in DIR/<namespace>/keys/:
//!      ├─ the namespace key      (`namespace`)   seals every event but a memory's
//!      ├─ one key per memory     (`dek-{page}`)  seals that memory's every event
//!      └─ one key per snapshot   (`snapshots`)   seals that snapshot file
//! ```
//!
//! Every key below the data key is random (AES-256-GCM, 32 bytes) and
//! stored only wrapped: sealed with AES-256-GCM under the data key, with the
//! namespace's name, the key's purpose and its number as associated data,
//! so a wrapped key moved to another slot, namespace or purpose does not
//! open. Forgetting a memory overwrites its key's slot with zeros in place
//! (and syncs it): the log keeps the memory's ciphertext, which nothing
//! can open any more, so the log stays append-only and its Merkle proofs
//! keep verifying. A snapshot's key is destroyed the same way when the
//! snapshot is superseded or a memory it holds is forgotten. Rotating the
//! data key re-wraps the namespace, memory and snapshot keys; the log is
//! not rewritten.
//!
//! ## Sealed blobs
//!
//! `nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`, the AEAD
//! AES-256-GCM or ChaCha20-Poly1305 (see [`AeadAlgorithm`]: a namespace's
//! key file names its events' AEAD, a snapshot's header its own; wrapped
//! keys are always AES-256-GCM). Nonces are random: a memory's key seals
//! a handful of events, the namespace and data keys far fewer than the
//! 2^32 messages a random 96-bit nonce allows per key.
//!
//! ## Files (all integers little-endian)
//!
//! `namespace` (written whole, atomically):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 8 | magic `MNEMOKEY` |
//! | 8 | 2 | version `1` |
//! | 10 | 1 | `1` when the data key is generated and kept beside it in `data.key`, else `0` |
//! | 11 | 1 | the AEAD of the namespace's events: `1` AES-256-GCM, `2` ChaCha20-Poly1305 (`0`, in files written before there was a choice: AES-256-GCM) |
//! | 12 | 4 | zero |
//! | 16 | 8 | the data key's id (see [`DataKey::id`]) |
//! | 24 | 60 | the namespace key, wrapped |
//!
//! `dek-{page:08}`: the id of the data key its slots are wrapped with (8
//! bytes, written once when the page is created), then 4,096 slots of 60
//! bytes: slot `i` holds the wrapped key of memory `page × 4096 + i` (or,
//! for an id no memory has yet, a key made ahead for it), or zeros (never
//! written, or destroyed). A page is created whole (header
//! and zeroed slots, 245,768 bytes) by an atomic write; slots are then
//! written in place. A shorter page (a crash cut it) reads as zeros past
//! its end.
//!
//! `snapshots`: the data key's id (8 bytes), then slots of 68 bytes: the
//! snapshot's seq (8 bytes) and its key, wrapped (60); zeros when free.
//!
//! `data.key` (only for a generated data key): the key in the text form of
//! [`DataKey::to_text`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aes_gcm::aead::consts::{U12, U16, U32};
use base64::Engine as _;
use mnemo_log::Storage;
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes of a key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes a sealed blob adds to its plaintext.
pub const SEALED_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Bytes of a wrapped key.
const WRAPPED_LEN: usize = KEY_LEN + SEALED_OVERHEAD;
/// How long the key store's thread gathers destroyed slots before it
/// syncs them.
const SYNC_DELAY: std::time::Duration = std::time::Duration::from_millis(1);
/// Keys made ahead of the memories that will use them (see
/// [`KeyStore::create_memory_keys`]): a commit of new memories finds its
/// keys already durable and waits for no key sync of its own, and making
/// them costs one write and sync per this many memories.
const KEYS_AHEAD: u64 = 1024;
/// Memory key slots per page file.
const SLOTS_PER_PAGE: u64 = 4096;
/// Bytes before a page's first slot (the data key's id).
const PAGE_HEADER: usize = 8;
/// Bytes of a page file: its header and every slot.
const PAGE_BYTES: usize = PAGE_HEADER + SLOTS_PER_PAGE as usize * WRAPPED_LEN;
/// Bytes of a snapshot key slot: seq, then the wrapped key.
const SNAPSHOT_SLOT: usize = 8 + WRAPPED_LEN;
const NAMESPACE_FILE: &str = "namespace";
const SNAPSHOTS_FILE: &str = "snapshots";
/// The generated data key's file.
pub const GENERATED_KEY_FILE: &str = "data.key";
const MAGIC: &[u8; 8] = b"MNEMOKEY";
const NAMESPACE_FILE_LEN: usize = 24 + WRAPPED_LEN;
/// The text form's prefix.
const TEXT_PREFIX: &str = "mnemo-data-key-v1:";

/// What a wrapped key is for (part of its associated data).
#[derive(Clone, Copy)]
enum Purpose {
    Namespace,
    Memory,
    Snapshot,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Namespace => b"namespace",
            Purpose::Memory => b"memory",
            Purpose::Snapshot => b"snapshot",
        }
    }
}

/// The 32-byte key that wraps every other key of an engine's namespaces.
///
/// Its text form is `mnemo-data-key-v1:` followed by the key in standard
/// base64 (what key files and the `MNEMO_DATA_KEY` environment variable
/// hold).
#[derive(Clone)]
pub struct DataKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.id())
    }
}

impl DataKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<DataKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut bytes[..])?;
        Ok(DataKey { bytes })
    }

    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> DataKey {
        DataKey {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Reads the text form (surrounding whitespace ignored).
    pub fn parse(text: &str) -> std::result::Result<DataKey, String> {
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(TEXT_PREFIX) else {
            return Err(format!(
                "a data key starts with {TEXT_PREFIX:?} (make one with `mnemo data-key new`)"
            ));
        };
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("the key after {TEXT_PREFIX:?} is not base64: {e}"))?,
        );
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "a data key is {KEY_LEN} bytes, this one is {} bytes",
                decoded.len()
            )
        })?;
        Ok(DataKey::from_bytes(bytes))
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        format!(
            "{TEXT_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.bytes[..])
        )
    }

    /// The key's id: the first 8 bytes of SHA-256 of
    /// `"mnemo data key id\n" ‖ key`, shown in hex. It names the key in
    /// files and errors without revealing it.
    pub fn id(&self) -> KeyId {
        let mut h = Sha256::new();
        h.update(b"mnemo data key id\n");
        h.update(&self.bytes[..]);
        let digest = h.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// Reads a key file: its text form, the file readable by its owner
    /// only (Unix mode 0600 or stricter).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &std::path::Path) -> std::result::Result<DataKey, String> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("data key file {shown}: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "data key file {shown} is readable by others (mode {mode:o}); make it 0600"
            ));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| format!("data key file {shown}: {e}"))?,
        );
        DataKey::parse(&text).map_err(|e| format!("data key file {shown}: {e}"))
    }

    /// Writes a new key file (mode 0600); refuses to replace a file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_new(&self, path: &std::path::Path) -> std::result::Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let shown = path.display();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("data key file {shown}: {e}"))?;
        let text = Zeroizing::new(format!("{}\n", self.to_text()));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("data key file {shown}: {e}"))
    }

    fn cipher(&self) -> Cipher {
        cipher_of(&self.bytes)
    }
}

/// A data key's id (see [`DataKey::id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Where a namespace's data key comes from.
#[derive(Debug, Clone, Default)]
pub enum DataKeySource {
    /// Generated with the namespace and kept beside it (`keys/data.key`):
    /// forgetting erases, but whoever reads the disk reads the key too.
    #[default]
    Generated,
    /// Given by the caller (a key file, an environment variable); never
    /// written to disk by the engine. A namespace created with it cannot be
    /// opened without it.
    Given(DataKey),
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Crypto {
        namespace: String::new(),
        reason: format!("the operating system's random generator failed: {e}"),
    })
}

/// An AES-256-GCM key (what the data key wraps keys with, whatever the
/// namespace's AEAD).
fn cipher_of(key: &[u8; KEY_LEN]) -> Cipher {
    AeadAlgorithm::Aes256Gcm.event_cipher(key)
}

/// The AEAD that seals a namespace's events and its snapshots.
///
/// Every build reads both; by default each writes the one fast on its
/// machine: AES-256-GCM natively (AES instructions), and ChaCha20-Poly1305
/// in WebAssembly, which has no AES instructions and where the portable
/// ChaCha20-Poly1305 runs about 4.7 times as fast as the portable
/// AES-256-GCM (460 against 95 MB/s in V8 on this project's machines): a
/// browser writes memories and opens its snapshots that much sooner.
///
/// A namespace's events keep the AEAD it was created with (recorded in
/// its key file); each snapshot names its own in its header. Keys are
/// always wrapped with AES-256-GCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// AES-256-GCM (id 1).
    Aes256Gcm,
    /// ChaCha20-Poly1305, RFC 8439 (id 2).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// What this build writes unless told otherwise (see
    /// [`crate::Options::aead`]): ChaCha20-Poly1305 in WebAssembly,
    /// AES-256-GCM elsewhere.
    pub const PREFERRED: AeadAlgorithm = if cfg!(target_arch = "wasm32") {
        AeadAlgorithm::ChaCha20Poly1305
    } else {
        AeadAlgorithm::Aes256Gcm
    };

    /// Its id in a snapshot's header and a key file.
    pub(crate) fn id(self) -> u8 {
        match self {
            AeadAlgorithm::Aes256Gcm => 1,
            AeadAlgorithm::ChaCha20Poly1305 => 2,
        }
    }

    /// The AEAD of id `id`, if it is one.
    pub(crate) fn from_id(id: u8) -> Option<AeadAlgorithm> {
        match id {
            1 => Some(AeadAlgorithm::Aes256Gcm),
            2 => Some(AeadAlgorithm::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// A ready key of this AEAD for events (RustCrypto's: no allocation).
    pub(crate) fn event_cipher(self, key: &[u8; KEY_LEN]) -> Cipher {
        match self {
            AeadAlgorithm::Aes256Gcm => Cipher::Aes(Portable::new(key)),
            AeadAlgorithm::ChaCha20Poly1305 => Cipher::ChaCha(Portable::new(key)),
        }
    }

    /// A ready key of this AEAD for snapshot sections.
    pub(crate) fn bulk_cipher(self, key: &[u8; KEY_LEN]) -> BulkCipher {
        #[cfg(not(target_arch = "wasm32"))]
        {
            use aws_lc_rs::aead::{AES_256_GCM, CHACHA20_POLY1305, LessSafeKey, UnboundKey};
            let algorithm = match self {
                AeadAlgorithm::Aes256Gcm => &AES_256_GCM,
                AeadAlgorithm::ChaCha20Poly1305 => &CHACHA20_POLY1305,
            };
            let key = UnboundKey::new(algorithm, key).expect("a 32-byte key");
            BulkCipher(LessSafeKey::new(key))
        }
        #[cfg(target_arch = "wasm32")]
        self.event_cipher(key)
    }
}

/// AEAD operations (AES-256-GCM or ChaCha20-Poly1305: both take 12-byte
/// nonces and give 16-byte tags) on a ready key.
pub(crate) trait Aead {
    /// Encrypts `buf` in place; returns the tag.
    fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN];
    /// Decrypts `sealed` into `out` (of its length); false (and `out`
    /// garbage) when it does not authenticate.
    fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool;
}

/// A key of one of RustCrypto's portable AEADs (AES-256-GCM or
/// ChaCha20-Poly1305: 32-byte keys, 12-byte nonces, 16-byte tags).
#[derive(Clone)]
pub(crate) struct Portable<A>(A);

impl<A: aes_gcm::aead::KeyInit<KeySize = U32>> Portable<A> {
    fn new(key: &[u8; KEY_LEN]) -> Self {
        Self(A::new(key.into()))
    }
}

impl<A: aes_gcm::aead::AeadInOut<NonceSize = U12, TagSize = U16>> Aead for Portable<A> {
    fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
            .expect("AES-GCM and ChaCha20-Poly1305 seal any message shorter than 64 GiB");
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&tag);
        out
    }

    fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        // Straight from the ciphertext into `out` (no copy first).
        let Ok(buf) = aes_gcm::aead::inout::InOutBuf::new(sealed, out) else {
            return false;
        };
        self.0
            .decrypt_inout_detached(&(*nonce).into(), aad, buf, &(*tag).into())
            .is_ok()
    }
}

/// A key of a namespace's event AEAD (RustCrypto's portable
/// implementations): each memory's events are a few small messages under
/// a key of their own, and this key costs no allocation.
#[derive(Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived keys, made one per memory written: boxing the AES key schedule would allocate for each"
)]
pub(crate) enum Cipher {
    /// AES-256-GCM.
    Aes(Portable<aes_gcm::Aes256Gcm>),
    /// ChaCha20-Poly1305.
    ChaCha(Portable<chacha20poly1305::ChaCha20Poly1305>),
}

impl Aead for Cipher {
    fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        match self {
            Cipher::Aes(cipher) => cipher.seal_in_place(nonce, aad, buf),
            Cipher::ChaCha(cipher) => cipher.seal_in_place(nonce, aad, buf),
        }
    }

    fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        match self {
            Cipher::Aes(cipher) => cipher.open_into(nonce, aad, sealed, tag, out),
            Cipher::ChaCha(cipher) => cipher.open_into(nonce, aad, sealed, tag, out),
        }
    }
}

/// A key of an [`AeadAlgorithm`] for snapshot sections (up to gigabytes):
/// AWS-LC natively, whose assembly seals and opens AES-256-GCM about 3.5
/// times as fast as the portable implementation on this project's
/// machines; RustCrypto's portable implementations ([`Cipher`]) in
/// WebAssembly. Each opens what the other seals (checked by a test), so
/// snapshots move between the native and browser builds.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) struct BulkCipher(aws_lc_rs::aead::LessSafeKey);

/// A key of an [`AeadAlgorithm`] for snapshot sections (natively AWS-LC).
#[cfg(target_arch = "wasm32")]
pub(crate) type BulkCipher = Cipher;

#[cfg(not(target_arch = "wasm32"))]
impl Aead for BulkCipher {
    fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        use aws_lc_rs::aead::{Aad, Nonce};
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .expect("AES-GCM and ChaCha20-Poly1305 seal any message shorter than 64 GiB");
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        use aws_lc_rs::aead::{Aad, Nonce};
        self.0
            .open_separate_gather(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                sealed,
                tag,
                out,
            )
            .is_ok()
    }
}

/// Appends `nonce ‖ AEAD(plain) ‖ tag` to `out`, with `nonce` the
/// 12 bytes given.
fn seal_with_nonce(
    cipher: &impl Aead,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plain: &[u8],
    out: &mut Vec<u8>,
) {
    out.reserve(plain.len() + SEALED_OVERHEAD);
    out.extend_from_slice(nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = cipher.seal_in_place(nonce, aad, &mut out[start..]);
    out.extend_from_slice(&tag);
}

/// Random bytes drawn from the operating system in blocks: a nonce per
/// sealed event would otherwise cost a system call each. The pool is
/// refilled in a forked child (its process id changes), so two processes
/// never draw the same bytes.
struct RandomPool {
    bytes: Vec<u8>,
    used: usize,
    pid: u32,
}

/// Bytes a refill of the pool draws.
const POOL_BYTES: usize = 4096;

static POOL: Mutex<RandomPool> = Mutex::new(RandomPool {
    bytes: Vec::new(),
    used: 0,
    pid: 0,
});

/// Fills `out` from the pool of random bytes.
fn pooled_random(out: &mut [u8]) -> Result<()> {
    if out.len() > POOL_BYTES {
        return fill_random(out);
    }
    let mut pool = POOL.lock();
    #[cfg(not(target_arch = "wasm32"))]
    let pid = std::process::id();
    // No processes (and no fork) in the browser.
    #[cfg(target_arch = "wasm32")]
    let pid = 1;
    if pool.pid != pid || pool.bytes.len() - pool.used < out.len() {
        pool.bytes.resize(POOL_BYTES, 0);
        fill_random(&mut pool.bytes)?;
        pool.used = 0;
        pool.pid = pid;
    }
    let at = pool.used;
    out.copy_from_slice(&pool.bytes[at..at + out.len()]);
    // Used bytes are wiped at once.
    pool.bytes[at..at + out.len()].fill(0);
    pool.used += out.len();
    Ok(())
}

/// Appends a sealed blob of `plain` to `out` under a random nonce.
pub(crate) fn seal(cipher: &impl Aead, aad: &[u8], plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut nonce = [0u8; NONCE_LEN];
    pooled_random(&mut nonce)?;
    seal_with_nonce(cipher, &nonce, aad, plain, out);
    Ok(())
}

/// Encrypts `buf` in place under a random nonce; returns the nonce and
/// the tag (`nonce ‖ buf ‖ tag` is then the sealed blob).
pub(crate) fn seal_in_place(
    cipher: &impl Aead,
    aad: &[u8],
    buf: &mut [u8],
) -> Result<([u8; NONCE_LEN], [u8; TAG_LEN])> {
    let mut nonce = [0u8; NONCE_LEN];
    pooled_random(&mut nonce)?;
    let tag = cipher.seal_in_place(&nonce, aad, buf);
    Ok((nonce, tag))
}

/// Opens a sealed blob; `None` when it is too short or does not
/// authenticate.
pub(crate) fn open(cipher: &impl Aead, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    // Zeroed pages from the allocator (no copy of the ciphertext first).
    let mut plain = vec![0u8; sealed.len().checked_sub(SEALED_OVERHEAD)?];
    open_to(cipher, aad, sealed, &mut plain).then_some(plain)
}

/// [`open`] into `out`, which must be exactly as long as the plaintext
/// (`sealed` less [`SEALED_OVERHEAD`]); false when it is not, or when
/// `sealed` does not authenticate (`out` then holds nothing to use).
pub(crate) fn open_to(cipher: &impl Aead, aad: &[u8], sealed: &[u8], out: &mut [u8]) -> bool {
    if sealed.len() < SEALED_OVERHEAD || out.len() != sealed.len() - SEALED_OVERHEAD {
        return false;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let (Ok(nonce), Ok(tag)) = (
        <[u8; NONCE_LEN]>::try_from(nonce),
        <[u8; TAG_LEN]>::try_from(tag),
    ) else {
        return false;
    };
    cipher.open_into(&nonce, aad, body, &tag, out)
}

/// Associated data of a wrapped key.
fn wrap_aad(namespace: &str, purpose: Purpose, number: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + namespace.len());
    aad.extend_from_slice(b"mnemo key wrap v1\n");
    aad.extend_from_slice(purpose.label());
    aad.push(b'\n');
    aad.extend_from_slice(namespace.as_bytes());
    aad.push(b'\n');
    aad.extend_from_slice(&number.to_le_bytes());
    aad
}

/// The page file holding memory `id`'s slot, and the slot's offset in it.
fn slot_of(id: u64) -> (u64, usize) {
    let page = id / SLOTS_PER_PAGE;
    let offset = PAGE_HEADER + (id % SLOTS_PER_PAGE) as usize * WRAPPED_LEN;
    (page, offset)
}

fn page_name(page: u64) -> String {
    format!("dek-{page:08}")
}

fn page_of_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("dek-")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A keyring that holds the keys a commit just made (so sealing its events
/// does not unwrap them again) and asks the store for any other.
pub(crate) struct WithFresh<'a> {
    /// The store.
    pub(crate) store: &'a KeyStore,
    /// Keys just made, by memory id.
    pub(crate) fresh: Vec<(u64, Cipher)>,
}

impl Keyring for WithFresh<'_> {
    fn memory(&self, id: u64) -> Option<Cipher> {
        match self.fresh.iter().find(|(fresh, _)| *fresh == id) {
            Some((_, cipher)) => Some(cipher.clone()),
            None => self.store.memory(id),
        }
    }

    fn namespace(&self) -> &Cipher {
        self.store.namespace()
    }
}

/// Keys the events of a namespace are sealed with.
pub(crate) trait Keyring: Send + Sync {
    /// The cipher of memory `id`'s key: `None` when it was destroyed (the
    /// memory was forgotten) or never made durable.
    fn memory(&self, id: u64) -> Option<Cipher>;
    /// The namespace key's cipher.
    fn namespace(&self) -> &Cipher;
}

/// Raw keys of consecutive memory ids, stored in their slots: `keys[i]`
/// is memory `first + i`'s, and those before `taken` were handed out (and
/// zeroed here).
#[derive(Default)]
struct Ahead {
    first: u64,
    keys: Zeroizing<Vec<[u8; KEY_LEN]>>,
    taken: usize,
}

impl Ahead {
    /// Memory `id`'s key, when it is ready and not handed out.
    fn key(&self, id: u64) -> Option<&[u8; KEY_LEN]> {
        let at = usize::try_from(id.checked_sub(self.first)?).ok()?;
        if at < self.taken {
            return None;
        }
        self.keys.get(at)
    }

    /// Zeroes the keys of the ids before `id` (handed out now).
    fn take_before(&mut self, id: u64) {
        let upto = usize::try_from(id.saturating_sub(self.first))
            .unwrap_or(usize::MAX)
            .min(self.keys.len());
        for key in &mut self.keys[self.taken.min(upto)..upto] {
            zeroize::Zeroize::zeroize(key);
        }
        self.taken = self.taken.max(upto);
    }
}

/// One namespace's keys: the namespace key, the memories' keys and the
/// snapshots' keys, wrapped under the data key and kept in a [`Storage`]
/// (in memory only for an in-memory namespace).
pub(crate) struct KeyStore {
    name: String,
    storage: Option<Arc<dyn Storage>>,
    data_key: RwLock<DataKey>,
    /// The data key as a cipher (what wraps and unwraps the other keys).
    wrapper: RwLock<Cipher>,
    /// The namespace key, raw (for rotation) and as a cipher.
    namespace_key: Zeroizing<[u8; KEY_LEN]>,
    namespace_cipher: Cipher,
    /// The AEAD of the namespace's events (recorded in its key file).
    events: AeadAlgorithm,
    /// The AEAD new snapshots are sealed with.
    snapshots_aead: AeadAlgorithm,
    /// Page files as they are on disk (header and slots), by page number.
    pages: Mutex<HashMap<u64, Vec<u8>>>,
    /// The `snapshots` file as it is on disk.
    snapshots: Mutex<Vec<u8>>,
    /// Whether writes are synced before they are acknowledged.
    sync: bool,
    /// Whether the data key was generated and is kept in `data.key`.
    generated: AtomicBool,
    /// Whether this store was created by this open (it held nothing).
    created: bool,
    /// Keys stored (durably, when the store syncs) for the memory ids
    /// after the last one handed out, ready for the next new memories.
    ahead: Mutex<Ahead>,
    /// Slots (page, offset) destroyed in memory whose zeros the key
    /// store's thread has not yet written and synced.
    pending: Arc<Mutex<Vec<(u64, usize)>>>,
    /// Wakes the thread that syncs destroyed slots (native, started by
    /// the first destruction of a store that syncs).
    syncer: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("namespace", &self.name)
            .field("data_key", &self.data_key.read().id())
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    fn error(&self, reason: impl Into<String>) -> Error {
        Error::Crypto {
            namespace: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn io(&self, what: &str, e: std::io::Error) -> Error {
        let location = self
            .storage
            .as_ref()
            .map_or_else(String::new, |s| s.location());
        self.error(format!("{location}: {what}: {e}"))
    }

    /// Opens the key store of namespace `name` in `storage`, creating it
    /// (and, for [`DataKeySource::Generated`], the data key) when the
    /// storage holds none; in memory when `storage` is `None`. `sync`
    /// makes every key write durable before it returns.
    pub(crate) fn open(
        name: &str,
        storage: Option<Arc<dyn Storage>>,
        source: &DataKeySource,
        sync: bool,
        aead: AeadAlgorithm,
    ) -> Result<KeyStore> {
        let fail = |reason: String| Error::Crypto {
            namespace: name.to_owned(),
            reason,
        };
        let Some(storage) = storage else {
            return Self::fresh(name, None, source, sync, aead);
        };
        let location = storage.location();
        let read = |file: &str| -> Result<Option<Vec<u8>>> {
            match storage.read(file) {
                Ok(b) => Ok(Some(b.to_vec())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(fail(format!("{location}/{file}: {e}"))),
            }
        };
        let header = read(NAMESPACE_FILE)?;
        let Some(header) = header else {
            return Self::create(name, storage, source, sync, aead);
        };
        if header.len() != NAMESPACE_FILE_LEN || &header[..8] != MAGIC {
            return Err(fail(format!(
                "{location}/{NAMESPACE_FILE} is not a mnemo key file (damaged?)"
            )));
        }
        let version = u16::from_le_bytes([header[8], header[9]]);
        if version != 1 {
            return Err(fail(format!(
                "{location}/{NAMESPACE_FILE} has version {version}; this build reads version 1"
            )));
        }
        let generated = header[10] == 1;
        // Zero in files written before ChaCha20-Poly1305 was offered.
        let events = match header[11] {
            0 => AeadAlgorithm::Aes256Gcm,
            id => AeadAlgorithm::from_id(id).ok_or_else(|| {
                fail(format!(
                    "{location}/{NAMESPACE_FILE} names AEAD {id} for its events, which this build does not know"
                ))
            })?,
        };
        let mut recorded = [0u8; 8];
        recorded.copy_from_slice(&header[16..24]);
        let recorded = KeyId(recorded);
        let data_key = match (source, generated) {
            (DataKeySource::Given(k), _) => k.clone(),
            (DataKeySource::Generated, true) => {
                let text = read(GENERATED_KEY_FILE)?.ok_or_else(|| {
                    fail(format!(
                        "{location}/{GENERATED_KEY_FILE} is missing: the namespace's data is unreadable without its data key ({recorded})"
                    ))
                })?;
                let text = Zeroizing::new(String::from_utf8_lossy(&text).into_owned());
                DataKey::parse(&text)
                    .map_err(|e| fail(format!("{location}/{GENERATED_KEY_FILE}: {e}")))?
            }
            (DataKeySource::Generated, false) => {
                return Err(fail(format!(
                    "the namespace is encrypted with data key {recorded}, which is not given: pass its key file (--key-file, or MNEMO_DATA_KEY)"
                )));
            }
        };
        if data_key.id() != recorded {
            return Err(fail(format!(
                "the data key given ({}) is not the one this namespace is encrypted with ({recorded})",
                data_key.id()
            )));
        }
        let unwrapped = open(
            &data_key.cipher(),
            &wrap_aad(name, Purpose::Namespace, 0),
            &header[24..],
        )
        .filter(|k| k.len() == KEY_LEN)
        .ok_or_else(|| {
            fail(format!(
                "{location}/{NAMESPACE_FILE}: the namespace key does not open with data key {recorded} (the file is damaged or belongs to another namespace)"
            ))
        })?;
        let mut namespace_key = Zeroizing::new([0u8; KEY_LEN]);
        namespace_key.copy_from_slice(&unwrapped);
        drop(Zeroizing::new(unwrapped));
        let mut pages = HashMap::new();
        let names = storage
            .list()
            .map_err(|e| fail(format!("{location}: listing: {e}")))?;
        for file in &names {
            let Some(page) = page_of_name(file) else {
                continue;
            };
            let bytes = read(file)?.unwrap_or_default();
            if bytes.len() < PAGE_HEADER || bytes[..PAGE_HEADER] != recorded.0 {
                let found = bytes.get(..PAGE_HEADER).map_or_else(
                    || "no key id".to_owned(),
                    |b| KeyId(b.try_into().unwrap_or_default()).to_string(),
                );
                return Err(fail(format!(
                    "{location}/{file} is wrapped with data key {found}, not {recorded}: a key rotation was interrupted; run `mnemo key rotate` again with the old key"
                )));
            }
            pages.insert(page, bytes);
        }
        let snapshots = match read(SNAPSHOTS_FILE)? {
            Some(b) if b.len() >= 8 && b[..8] == recorded.0 => b,
            Some(_) => {
                return Err(fail(format!(
                    "{location}/{SNAPSHOTS_FILE} is wrapped with another data key than {recorded}: a key rotation was interrupted; run `mnemo key rotate` again with the old key"
                )));
            }
            None => Vec::new(),
        };
        Ok(KeyStore {
            name: name.to_owned(),
            storage: Some(storage),
            wrapper: RwLock::new(data_key.cipher()),
            data_key: RwLock::new(data_key),
            namespace_cipher: events.event_cipher(&namespace_key),
            namespace_key,
            events,
            snapshots_aead: aead,
            pages: Mutex::new(pages),
            snapshots: Mutex::new(snapshots),
            sync,
            generated: AtomicBool::new(generated),
            created: false,
            ahead: Mutex::default(),
            pending: Arc::default(),
            syncer: Mutex::new(None),
        })
    }

    fn create(
        name: &str,
        storage: Arc<dyn Storage>,
        source: &DataKeySource,
        sync: bool,
        aead: AeadAlgorithm,
    ) -> Result<KeyStore> {
        let store = Self::fresh(name, Some(storage), source, sync, aead)?;
        if store.is_generated() {
            let text = Zeroizing::new(store.data_key.read().to_text());
            store.write_whole(GENERATED_KEY_FILE, text.as_bytes())?;
        }
        store.write_namespace_file()?;
        Ok(store)
    }

    /// A store with a new namespace key (and a new data key when `source`
    /// says to generate one), its events and snapshots sealed with `aead`,
    /// nothing written yet.
    fn fresh(
        name: &str,
        storage: Option<Arc<dyn Storage>>,
        source: &DataKeySource,
        sync: bool,
        aead: AeadAlgorithm,
    ) -> Result<KeyStore> {
        let (data_key, generated) = match source {
            DataKeySource::Given(k) => (k.clone(), false),
            DataKeySource::Generated => (DataKey::generate()?, true),
        };
        let mut namespace_key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut namespace_key[..])?;
        Ok(KeyStore {
            name: name.to_owned(),
            storage,
            wrapper: RwLock::new(data_key.cipher()),
            data_key: RwLock::new(data_key),
            namespace_cipher: aead.event_cipher(&namespace_key),
            namespace_key,
            events: aead,
            snapshots_aead: aead,
            pages: Mutex::new(HashMap::new()),
            snapshots: Mutex::new(Vec::new()),
            sync,
            generated: AtomicBool::new(generated),
            created: true,
            ahead: Mutex::default(),
            pending: Arc::default(),
            syncer: Mutex::new(None),
        })
    }

    /// Whether this store was created by this open (none was there).
    pub(crate) fn is_new(&self) -> bool {
        self.created
    }

    /// Removes the files of a store [`KeyStore::is_new`] made (they hold
    /// only fresh keys), when the namespace turns out not to be openable
    /// with it.
    pub(crate) fn discard(&self) {
        if let (true, Some(storage)) = (self.created, &self.storage) {
            for file in [NAMESPACE_FILE, GENERATED_KEY_FILE] {
                let _ = storage.remove(file);
            }
            let _ = storage.sync_dir();
        }
    }

    fn write_whole(&self, file: &str, bytes: &[u8]) -> Result<()> {
        if let Some(storage) = &self.storage {
            storage
                .write_atomic(file, bytes)
                .map_err(|e| self.io(file, e))?;
        }
        Ok(())
    }

    fn write_namespace_file(&self) -> Result<()> {
        let data_key = self.data_key.read();
        let mut file = Vec::with_capacity(NAMESPACE_FILE_LEN);
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&1u16.to_le_bytes());
        file.push(u8::from(self.is_generated()));
        file.push(self.events.id());
        file.extend_from_slice(&[0u8; 4]);
        file.extend_from_slice(&data_key.id().0);
        seal(
            &data_key.cipher(),
            &wrap_aad(&self.name, Purpose::Namespace, 0),
            &self.namespace_key[..],
            &mut file,
        )?;
        self.write_whole(NAMESPACE_FILE, &file)
    }

    /// The data key's id.
    pub(crate) fn data_key_id(&self) -> KeyId {
        self.data_key.read().id()
    }

    /// Whether the data key is generated and kept beside the namespace.
    pub(crate) fn is_generated(&self) -> bool {
        self.generated.load(Ordering::Acquire)
    }

    /// The keys of new memories `ids` (consecutive or not) as ciphers, by
    /// id, each stored wrapped before this returns (durably when the store
    /// syncs: before their events are appended, so the log never holds a
    /// memory whose key a crash could lose).
    ///
    /// `first_unassigned` is the least id no memory has yet (when the
    /// commit makes new memories): the store then also keeps keys ready
    /// for the [`KEYS_AHEAD`] ids from there, made and synced together with
    /// any key `ids` lacks, so most commits find their keys already stored
    /// and wait for no key sync. Such a key belongs to no memory until one
    /// is given its id; opening keeps them (see [`KeyStore::memory`]). A
    /// slot that already holds a key that opens (one kept ready before a
    /// restart) is used as it is, never overwritten.
    pub(crate) fn create_memory_keys(
        &self,
        ids: &[u64],
        first_unassigned: Option<u64>,
    ) -> Result<Vec<(u64, Cipher)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut ahead = self.ahead.lock();
        let mut fresh = Vec::with_capacity(ids.len());
        let mut missing: Vec<u64> = Vec::new();
        for &id in ids {
            if let Some(key) = ahead.key(id) {
                fresh.push((id, self.events.event_cipher(key)));
            } else if let Some(key) = self.unwrap_memory_key(id) {
                fresh.push((id, self.events.event_cipher(&key)));
            } else {
                missing.push(id);
            }
        }
        let Some(from) = first_unassigned else {
            let made = self.store_keys(&missing)?;
            fresh.extend(
                missing
                    .iter()
                    .map(|id| (*id, self.events.event_cipher(&made[id]))),
            );
            return Ok(fresh);
        };
        let mut next = Ahead {
            first: from,
            ..Ahead::default()
        };
        if missing.is_empty() && ahead.key(from).is_some() {
            // Every key was ready, and more are.
            ahead.take_before(from);
            return Ok(fresh);
        } else if missing.is_empty() {
            // Every key was in its slot (kept ready before a reopen): the
            // slots from `from` hold the next ones.
            for id in from..from.saturating_add(KEYS_AHEAD) {
                match self.unwrap_memory_key(id) {
                    Some(key) => next.keys.push(*key),
                    None => break,
                }
            }
        } else {
            // The missing keys and a new run ahead, in one write and sync.
            let run = from..from.saturating_add(KEYS_AHEAD);
            let mut wanted = missing.clone();
            wanted.extend(run.clone().filter(|id| ahead.key(*id).is_none()));
            let made = self.store_keys(&wanted)?;
            fresh.extend(
                missing
                    .iter()
                    .map(|id| (*id, self.events.event_cipher(&made[id]))),
            );
            for id in run {
                match ahead
                    .key(id)
                    .copied()
                    .or_else(|| made.get(&id).map(|k| **k))
                {
                    Some(key) => next.keys.push(key),
                    None => break,
                }
            }
        }
        *ahead = next;
        Ok(fresh)
    }

    /// A key for each of memories `ids`: the one its slot holds when that
    /// opens, else a new one, stored wrapped in its slot (all new ones in
    /// one write per page, synced when the store syncs).
    fn store_keys(&self, ids: &[u64]) -> Result<HashMap<u64, Zeroizing<[u8; KEY_LEN]>>> {
        let mut keys = HashMap::with_capacity(ids.len());
        let mut new: Vec<u64> = Vec::new();
        for &id in ids {
            match self.unwrap_memory_key(id) {
                Some(key) => {
                    keys.insert(id, key);
                }
                None => new.push(id),
            }
        }
        if new.is_empty() {
            return Ok(keys);
        }
        let mut random = Zeroizing::new(vec![0u8; new.len() * (KEY_LEN + NONCE_LEN)]);
        fill_random(&mut random)?;
        let wrapper = self.wrapper.read();
        // (page, offset, wrapped) writes, grouped by page below.
        let mut writes: Vec<(u64, usize, Vec<u8>)> = Vec::with_capacity(new.len());
        for (i, &id) in new.iter().enumerate() {
            let chunk = &random[i * (KEY_LEN + NONCE_LEN)..(i + 1) * (KEY_LEN + NONCE_LEN)];
            let key: [u8; KEY_LEN] = chunk[..KEY_LEN].try_into().expect("32 bytes");
            let nonce: &[u8; NONCE_LEN] = chunk[KEY_LEN..].try_into().expect("12 bytes");
            let mut wrapped = Vec::with_capacity(WRAPPED_LEN);
            seal_with_nonce(
                &*wrapper,
                nonce,
                &wrap_aad(&self.name, Purpose::Memory, id),
                &key,
                &mut wrapped,
            );
            keys.insert(id, Zeroizing::new(key));
            let (page, offset) = slot_of(id);
            writes.push((page, offset, wrapped));
        }
        drop(wrapper);
        self.write_slots(writes, self.sync)?;
        Ok(keys)
    }

    /// Memory `id`'s key, unwrapped, when its slot holds one that opens.
    fn unwrap_memory_key(&self, id: u64) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        let (page, offset) = slot_of(id);
        let wrapped: [u8; WRAPPED_LEN] = {
            let pages = self.pages.lock();
            pages
                .get(&page)?
                .get(offset..offset + WRAPPED_LEN)?
                .try_into()
                .ok()?
        };
        if wrapped.iter().all(|&b| b == 0) {
            return None;
        }
        let key = Zeroizing::new(open(
            &*self.wrapper.read(),
            &wrap_aad(&self.name, Purpose::Memory, id),
            &wrapped,
        )?);
        Some(Zeroizing::new(key.as_slice().try_into().ok()?))
    }

    /// Overwrites the slots of memories `ids` with zeros (ids without a
    /// key are skipped): at once in memory, so nothing opens them any
    /// more, and in place on disk. The caller has made their forget events
    /// durable first: the log is the record that they are erased, and
    /// opening destroys any key a forgotten memory still has, so a crash
    /// before the zeros reach the disk loses nothing. In a store that
    /// syncs, the key store's thread writes and syncs them within about a
    /// millisecond ([`SYNC_DELAY`]: a burst of forgets shares one write
    /// and sync per page, and the forget's own sync does not wait behind
    /// them); in WebAssembly, which has no threads, this call does. In a
    /// store that does not sync they are written now and synced by
    /// [`KeyStore::sync`] (on close).
    pub(crate) fn destroy_memory_keys(&self, ids: &[u64]) -> Result<()> {
        let zeros = vec![0u8; WRAPPED_LEN];
        let writes: Vec<(u64, usize, Vec<u8>)> = {
            let pages = self.pages.lock();
            ids.iter()
                .filter_map(|&id| {
                    let (page, offset) = slot_of(id);
                    let bytes = pages.get(&page)?;
                    let slot = bytes.get(offset..offset + WRAPPED_LEN)?;
                    (slot != zeros.as_slice()).then(|| (page, offset, zeros.clone()))
                })
                .collect()
        };
        if writes.is_empty() {
            return Ok(());
        }
        if cfg!(target_arch = "wasm32") || self.storage.is_none() || !self.sync {
            return self.write_slots(writes, self.sync);
        }
        {
            let mut pages = self.pages.lock();
            for (page, offset, zeros) in &writes {
                if let Some(bytes) = pages.get_mut(page) {
                    bytes[*offset..*offset + WRAPPED_LEN].copy_from_slice(zeros);
                }
            }
        }
        self.pending
            .lock()
            .extend(writes.iter().map(|(page, offset, _)| (*page, *offset)));
        self.wake_syncer();
        Ok(())
    }

    /// Writes the zeros of the pending destroyed slots and syncs their
    /// pages; what fails stays pending (and the error is returned).
    fn flush_pending(
        storage: &dyn Storage,
        pending: &Mutex<Vec<(u64, usize)>>,
    ) -> std::io::Result<()> {
        let mut slots = std::mem::take(&mut *pending.lock());
        slots.sort_unstable();
        slots.dedup();
        let zeros = [0u8; WRAPPED_LEN];
        let mut result = Ok(());
        let mut i = 0;
        while i < slots.len() {
            let page = slots[i].0;
            let mut j = i;
            while j < slots.len() && slots[j].0 == page {
                j += 1;
            }
            let name = page_name(page);
            let written = slots[i..j]
                .iter()
                .try_for_each(|&(_, offset)| storage.write_at(&name, offset as u64, &zeros, false))
                .and_then(|()| storage.sync_file(&name));
            if let Err(e) = written {
                pending.lock().extend_from_slice(&slots[i..j]);
                result = Err(e);
            }
            i = j;
        }
        result
    }

    /// Wakes (starting it if needed) the thread that writes and syncs the
    /// pending destroyed slots.
    fn wake_syncer(&self) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        let mut syncer = self.syncer.lock();
        if let Some(tx) = syncer.as_ref()
            && tx.send(()).is_ok()
        {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let pending = Arc::clone(&self.pending);
        let spawned = std::thread::Builder::new()
            .name(format!("mnemo-keys-{}", self.name))
            .spawn(move || {
                // Ends when the store (the sender) is dropped.
                while rx.recv().is_ok() {
                    // A millisecond's destructions share one sync (and
                    // leave the disk to the log's syncs meanwhile).
                    std::thread::sleep(SYNC_DELAY);
                    while rx.try_recv().is_ok() {}
                    // A failure stays pending for the next sync, which
                    // reports it.
                    let _ = Self::flush_pending(storage.as_ref(), &pending);
                }
            });
        if spawned.is_ok() && tx.send(()).is_ok() {
            *syncer = Some(tx);
        }
    }

    /// Writes slots (in memory, then to their page files in place, each
    /// page once, synced when the store syncs).
    fn write_slots(&self, mut writes: Vec<(u64, usize, Vec<u8>)>, sync: bool) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        writes.sort_unstable_by_key(|w| (w.0, w.1));
        let id = self.data_key.read().id();
        let mut pages = self.pages.lock();
        let mut i = 0;
        while i < writes.len() {
            let page = writes[i].0;
            let mut j = i;
            while j < writes.len() && writes[j].0 == page {
                j += 1;
            }
            let name = page_name(page);
            let bytes = match pages.entry(page) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    // A page is born whole, by an atomic write: its header
                    // (a crash never leaves a page without the key id) and
                    // every slot as zeros, so writing a slot later changes
                    // no file size and its sync no metadata.
                    let mut fresh = vec![0u8; PAGE_BYTES];
                    fresh[..PAGE_HEADER].copy_from_slice(&id.0);
                    self.write_whole(&name, &fresh)?;
                    e.insert(fresh)
                }
            };
            // One contiguous write from the first to the last slot touched.
            let (from, to) = (writes[i].1, writes[j - 1].1 + WRAPPED_LEN);
            if bytes.len() < to {
                bytes.resize(to, 0);
            }
            for (_, offset, slot) in &writes[i..j] {
                bytes[*offset..*offset + WRAPPED_LEN].copy_from_slice(slot);
            }
            if let Some(storage) = &self.storage {
                storage
                    .write_at(&name, from as u64, &bytes[from..to], sync)
                    .map_err(|e| self.io(&name, e))?;
            }
            i = j;
        }
        Ok(())
    }

    /// Memories with a key in the store.
    pub(crate) fn memories_with_keys(&self) -> Vec<u64> {
        let pages = self.pages.lock();
        let mut ids = Vec::new();
        for (&page, bytes) in pages.iter() {
            let slots = bytes.len().saturating_sub(PAGE_HEADER) / WRAPPED_LEN;
            for s in 0..slots {
                let at = PAGE_HEADER + s * WRAPPED_LEN;
                if bytes[at..at + WRAPPED_LEN].iter().any(|&b| b != 0) {
                    ids.push(page * SLOTS_PER_PAGE + s as u64);
                }
            }
        }
        ids.sort_unstable();
        ids
    }

    /// Makes the store's writes durable (for a store that does not sync
    /// each one).
    pub(crate) fn sync(&self) -> Result<()> {
        let Some(storage) = &self.storage else {
            return Ok(());
        };
        Self::flush_pending(storage.as_ref(), &self.pending)
            .map_err(|e| self.io("destroyed keys", e))?;
        let pages: Vec<u64> = self.pages.lock().keys().copied().collect();
        for page in pages {
            let name = page_name(page);
            storage.sync_file(&name).map_err(|e| self.io(&name, e))?;
        }
        storage
            .sync_file(SNAPSHOTS_FILE)
            .map_err(|e| self.io(SNAPSHOTS_FILE, e))
    }

    /// A new key for the snapshot of `seq`, stored durably; returns its
    /// slot (see [`KeyStore::destroy_snapshot_keys`]) and the key.
    pub(crate) fn create_snapshot_key(
        &self,
        seq: u64,
    ) -> Result<(usize, Zeroizing<[u8; KEY_LEN]>)> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut key[..])?;
        let mut slot = Vec::with_capacity(SNAPSHOT_SLOT);
        slot.extend_from_slice(&seq.to_le_bytes());
        seal(
            &*self.wrapper.read(),
            &wrap_aad(&self.name, Purpose::Snapshot, seq),
            &key[..],
            &mut slot,
        )?;
        let mut file = self.snapshots.lock();
        if file.len() < 8 {
            file.clear();
            file.extend_from_slice(&self.data_key.read().id().0);
            self.write_whole(SNAPSHOTS_FILE, &file)?;
        }
        // The first free slot, or a new one at the end.
        let slots = (file.len() - 8) / SNAPSHOT_SLOT;
        let free = (0..slots).find(|&s| {
            let at = 8 + s * SNAPSHOT_SLOT;
            file[at..at + SNAPSHOT_SLOT].iter().all(|&b| b == 0)
        });
        let index = free.unwrap_or(slots);
        let at = 8 + index * SNAPSHOT_SLOT;
        if file.len() < at + SNAPSHOT_SLOT {
            file.resize(at + SNAPSHOT_SLOT, 0);
        }
        file[at..at + SNAPSHOT_SLOT].copy_from_slice(&slot);
        if let Some(storage) = &self.storage {
            storage
                .write_at(SNAPSHOTS_FILE, at as u64, &slot, true)
                .map_err(|e| self.io(SNAPSHOTS_FILE, e))?;
        }
        Ok((index, key))
    }

    /// The AEAD new snapshots are sealed with.
    pub(crate) fn snapshot_aead(&self) -> AeadAlgorithm {
        self.snapshots_aead
    }

    /// Whether any snapshot has a key.
    pub(crate) fn has_snapshot_keys(&self) -> bool {
        self.snapshots.lock().iter().skip(8).any(|&b| b != 0)
    }

    /// The keys stored for a snapshot of `seq`: usually one; two when a
    /// crash came between writing a new snapshot of the same seq and
    /// destroying the old one's key (only one opens the file).
    pub(crate) fn snapshot_keys(&self, seq: u64) -> Vec<Zeroizing<[u8; KEY_LEN]>> {
        let file = self.snapshots.lock();
        let slots = file.len().saturating_sub(8) / SNAPSHOT_SLOT;
        let wrapper = self.data_key.read().cipher();
        (0..slots)
            .filter_map(|s| {
                let at = 8 + s * SNAPSHOT_SLOT;
                let slot = &file[at..at + SNAPSHOT_SLOT];
                if slot[..8] != seq.to_le_bytes() || slot.iter().all(|&b| b == 0) {
                    return None;
                }
                let key = Zeroizing::new(open(
                    &wrapper,
                    &wrap_aad(&self.name, Purpose::Snapshot, seq),
                    &slot[8..],
                )?);
                let key: &[u8; KEY_LEN] = key.as_slice().try_into().ok()?;
                Some(Zeroizing::new(*key))
            })
            .collect()
    }

    /// Destroys (durably) every snapshot key that `keep`, given its
    /// snapshot's seq and its slot, does not accept; returns how many.
    pub(crate) fn destroy_snapshot_keys(&self, keep: impl Fn(u64, usize) -> bool) -> Result<usize> {
        let mut file = self.snapshots.lock();
        let slots = file.len().saturating_sub(8) / SNAPSHOT_SLOT;
        let mut destroyed = 0;
        for s in 0..slots {
            let at = 8 + s * SNAPSHOT_SLOT;
            let slot = &mut file[at..at + SNAPSHOT_SLOT];
            if slot.iter().all(|&b| b == 0) {
                continue;
            }
            let seq = u64::from_le_bytes(slot[..8].try_into().expect("8 bytes"));
            if keep(seq, s) {
                continue;
            }
            slot.fill(0);
            if let Some(storage) = &self.storage {
                storage
                    .write_at(SNAPSHOTS_FILE, at as u64, &[0u8; SNAPSHOT_SLOT], true)
                    .map_err(|e| self.io(SNAPSHOTS_FILE, e))?;
            }
            destroyed += 1;
        }
        Ok(destroyed)
    }

    /// Re-wraps every key of the namespace under `new` and makes it the
    /// data key: each page and the snapshot keys are replaced atomically,
    /// then the namespace file (which names the data key), and a generated
    /// key file is erased. Interrupted, the namespace opens with neither
    /// key until this is run again with the old one.
    pub(crate) fn rotate(&self, new: DataKey) -> Result<()> {
        let old = self.data_key.read().clone();
        let (old_cipher, new_cipher) = (old.cipher(), new.cipher());
        let new_id = new.id();
        let rewrap = |purpose: Purpose, number: u64, wrapped: &[u8]| -> Result<Vec<u8>> {
            let aad = wrap_aad(&self.name, purpose, number);
            let key = Zeroizing::new(open(&old_cipher, &aad, wrapped).ok_or_else(|| {
                self.error(format!(
                    "a wrapped key ({} {number}) does not open with the old data key",
                    String::from_utf8_lossy(purpose.label())
                ))
            })?);
            let mut out = Vec::with_capacity(WRAPPED_LEN);
            seal(&new_cipher, &aad, &key, &mut out)?;
            Ok(out)
        };
        {
            let mut pages = self.pages.lock();
            let mut numbers: Vec<u64> = pages.keys().copied().collect();
            numbers.sort_unstable();
            for page in numbers {
                let bytes = pages.get(&page).expect("listed above");
                let mut fresh = new_id.0.to_vec();
                let slots = bytes.len().saturating_sub(PAGE_HEADER) / WRAPPED_LEN;
                for s in 0..slots {
                    let at = PAGE_HEADER + s * WRAPPED_LEN;
                    let slot = &bytes[at..at + WRAPPED_LEN];
                    if slot.iter().all(|&b| b == 0) {
                        fresh.extend_from_slice(slot);
                        continue;
                    }
                    let id = page * SLOTS_PER_PAGE + s as u64;
                    match rewrap(Purpose::Memory, id, slot) {
                        Ok(w) => fresh.extend_from_slice(&w),
                        // A torn slot opens with no key: it stays erased.
                        Err(_) => fresh.extend_from_slice(&[0u8; WRAPPED_LEN]),
                    }
                }
                self.write_whole(&page_name(page), &fresh)?;
                pages.insert(page, fresh);
            }
        }
        {
            let mut file = self.snapshots.lock();
            if file.len() >= 8 {
                let mut fresh = new_id.0.to_vec();
                let slots = (file.len() - 8) / SNAPSHOT_SLOT;
                for s in 0..slots {
                    let at = 8 + s * SNAPSHOT_SLOT;
                    let slot = &file[at..at + SNAPSHOT_SLOT];
                    let seq = u64::from_le_bytes(slot[..8].try_into().expect("8 bytes"));
                    match slot.iter().all(|&b| b == 0) {
                        true => fresh.extend_from_slice(slot),
                        false => match rewrap(Purpose::Snapshot, seq, &slot[8..]) {
                            Ok(w) => {
                                fresh.extend_from_slice(&slot[..8]);
                                fresh.extend_from_slice(&w);
                            }
                            Err(_) => fresh.extend_from_slice(&[0u8; SNAPSHOT_SLOT]),
                        },
                    }
                }
                self.write_whole(SNAPSHOTS_FILE, &fresh)?;
                *file = fresh;
            }
        }
        let was_generated = self.generated.swap(false, Ordering::AcqRel);
        *self.wrapper.write() = new.cipher();
        *self.data_key.write() = new;
        self.write_namespace_file()?;
        if was_generated && let Some(storage) = &self.storage {
            // Overwrite the old key in place, then remove the file.
            let len = storage.read(GENERATED_KEY_FILE).map_or(0, |b| b.len());
            storage
                .write_at(GENERATED_KEY_FILE, 0, &vec![0u8; len], true)
                .and_then(|()| storage.remove(GENERATED_KEY_FILE))
                .and_then(|()| storage.sync_dir())
                .map_err(|e| self.io(GENERATED_KEY_FILE, e))?;
        }
        Ok(())
    }
}

impl Drop for KeyStore {
    fn drop(&mut self) {
        // Destroyed slots still pending reach the disk now (best effort:
        // after a failure, opening destroys them again from the log).
        if let Some(storage) = &self.storage {
            let _ = Self::flush_pending(storage.as_ref(), &self.pending);
        }
    }
}

impl Keyring for KeyStore {
    fn memory(&self, id: u64) -> Option<Cipher> {
        self.unwrap_memory_key(id)
            .map(|key| self.events.event_cipher(&key))
    }

    fn namespace(&self) -> &Cipher {
        &self.namespace_cipher
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_log::sim::SimDisk;

    fn store(disk: &SimDisk, source: &DataKeySource) -> Result<KeyStore> {
        KeyStore::open(
            "ns",
            Some(Arc::new(disk.clone())),
            source,
            true,
            AeadAlgorithm::PREFERRED,
        )
    }

    /// What the bulk cipher (AWS-LC natively) seals, the portable one
    /// (RustCrypto, which the browser build uses for everything) opens, and
    /// the other way round, for both snapshot AEADs: snapshots move between
    /// the two builds.
    #[test]
    fn sealed_blobs_open_with_the_other_implementation() {
        let key = [7u8; KEY_LEN];
        for algorithm in [AeadAlgorithm::Aes256Gcm, AeadAlgorithm::ChaCha20Poly1305] {
            interoperate(&algorithm.bulk_cipher(&key), &algorithm.event_cipher(&key));
            assert_eq!(AeadAlgorithm::from_id(algorithm.id()), Some(algorithm));
        }
        // One AEAD's blob does not open with the other under the same key.
        let mut sealed = Vec::new();
        let chacha = AeadAlgorithm::ChaCha20Poly1305.event_cipher(&key);
        seal(&cipher_of(&key), b"", b"hello", &mut sealed).expect("seal");
        assert!(open(&chacha, b"", &sealed).is_none());
        assert_eq!(AeadAlgorithm::from_id(0), None);
        assert_eq!(AeadAlgorithm::from_id(3), None);
    }

    fn interoperate(bulk: &impl Aead, portable: &impl Aead) {
        let aad = b"mnemo test";
        for len in [0usize, 1, 15, 16, 17, 1000, 4096, 100_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut by_bulk = Vec::new();
            seal(bulk, aad, &plain, &mut by_bulk).expect("seal");
            assert_eq!(open(portable, aad, &by_bulk).as_deref(), Some(&plain[..]));
            let mut by_portable = Vec::new();
            seal(portable, aad, &plain, &mut by_portable).expect("seal");
            assert_eq!(open(bulk, aad, &by_portable).as_deref(), Some(&plain[..]));
            for sealed in [&mut by_bulk, &mut by_portable] {
                sealed[NONCE_LEN] ^= 1;
                assert!(open(bulk, aad, sealed).is_none(), "a flipped bit");
                assert!(open(portable, aad, sealed).is_none(), "a flipped bit");
            }
            assert!(open(bulk, b"other", &by_bulk).is_none());
        }
    }

    #[test]
    fn text_form_round_trips_and_bad_keys_are_refused() {
        let k = DataKey::generate().expect("key");
        let back = DataKey::parse(&format!("  {}\n", k.to_text())).expect("parses");
        assert_eq!(back.id(), k.id());
        assert!(DataKey::parse("mnemo-data-key-v1:AAAA").is_err());
        assert!(DataKey::parse("hello").is_err());
        assert!(DataKey::parse("mnemo-data-key-v1:!!!").is_err());
    }

    #[test]
    fn memory_keys_survive_reopen_and_destroyed_ones_are_gone_from_every_file() {
        let disk = SimDisk::new();
        let key = DataKey::generate().expect("key");
        let given = DataKeySource::Given(key.clone());
        let s = store(&disk, &given).expect("create");
        s.create_memory_keys(&[1, 2, 4097], None).expect("keys");
        let mut sealed = Vec::new();
        seal(&s.memory(1).expect("key"), b"x", b"secret", &mut sealed).expect("seal");
        let slot_bytes = s.pages.lock()[&0][slot_of(1).1..slot_of(1).1 + WRAPPED_LEN].to_vec();
        drop(s);
        let s = store(&disk, &given).expect("reopen");
        assert_eq!(s.memories_with_keys(), vec![1, 2, 4097]);
        let c = s.memory(1).expect("key of 1");
        assert_eq!(open(&c, b"x", &sealed).as_deref(), Some(&b"secret"[..]));
        s.destroy_memory_keys(&[1, 3]).expect("destroy");
        assert!(s.memory(1).is_none());
        assert!(s.memory(2).is_some());
        drop(s);
        let s = store(&disk, &given).expect("reopen");
        assert!(s.memory(1).is_none());
        assert_eq!(s.memories_with_keys(), vec![2, 4097]);
        for name in disk.file_names() {
            let bytes = disk.file(&name).expect("file");
            assert!(
                !bytes.windows(slot_bytes.len()).any(|w| w == slot_bytes),
                "{name} still holds the destroyed key"
            );
        }
    }

    #[test]
    fn keys_made_ahead_are_durable_reused_after_reopen_and_never_overwrite_a_key() {
        let disk = SimDisk::new();
        let given = DataKeySource::Given(DataKey::generate().expect("key"));
        let s = store(&disk, &given).expect("create");
        let syncs = disk.sync_count();
        let first = s.create_memory_keys(&[1, 2], Some(3)).expect("keys");
        assert_eq!(first.len(), 2);
        assert!(disk.sync_count() > syncs, "the new keys are synced");
        let ready: Vec<u64> = (1..3 + KEYS_AHEAD).collect();
        assert_eq!(s.memories_with_keys(), ready, "1, 2 and the ids ahead");
        let three = s.unwrap_memory_key(3).expect("ready key of 3");
        // Commits within the keys made ahead sync nothing.
        let syncs = disk.sync_count();
        let ids: Vec<u64> = (3..103).collect();
        let got = s.create_memory_keys(&ids, Some(103)).expect("keys");
        assert_eq!(got.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
        assert_eq!(disk.sync_count(), syncs, "no sync for keys made ahead");
        let mut sealed = Vec::new();
        seal(&got[0].1, b"x", b"three", &mut sealed).expect("seal");
        // A forgotten memory's key is destroyed and never made again.
        s.destroy_memory_keys(&[2]).expect("destroy");
        assert!(s.memory(2).is_none());
        drop(s);
        let s = store(&disk, &given).expect("reopen");
        assert_eq!(
            s.unwrap_memory_key(3).as_deref(),
            Some(&*three),
            "the key is the one made ahead"
        );
        assert!(s.memory(2).is_none());
        // After reopening, the keys still ready are used as they are: the
        // commit writes nothing, and what was sealed opens.
        let syncs = disk.sync_count();
        let again = s.create_memory_keys(&[103, 104], Some(105)).expect("keys");
        assert_eq!(disk.sync_count(), syncs, "keys kept ready are reused");
        assert_eq!(again.len(), 2);
        let c = s.memory(3).expect("key of 3");
        assert_eq!(open(&c, b"x", &sealed).as_deref(), Some(&b"three"[..]));
        // Past the keys made ahead, one write and sync makes the missing
        // ones and the next run ahead.
        let ids: Vec<u64> = (105..3 + KEYS_AHEAD + 10).collect();
        let end = ids[ids.len() - 1] + 1;
        s.create_memory_keys(&ids, Some(end)).expect("keys");
        assert!(disk.sync_count() > syncs);
        assert!(s.memory(end + KEYS_AHEAD - 1).is_some());
        assert!(s.memory(end + KEYS_AHEAD).is_none());
        assert_eq!(
            s.unwrap_memory_key(3).as_deref(),
            Some(&*three),
            "a key in use is never made again"
        );
    }

    #[test]
    fn a_wrong_or_missing_key_is_a_clear_error() {
        let disk = SimDisk::new();
        let key = DataKey::generate().expect("key");
        store(&disk, &DataKeySource::Given(key.clone())).expect("create");
        let other = DataKey::generate().expect("key");
        let e = store(&disk, &DataKeySource::Given(other)).expect_err("wrong key");
        assert!(e.to_string().contains("is not the one"), "{e}");
        let e = store(&disk, &DataKeySource::Generated).expect_err("no key");
        assert!(e.to_string().contains("not given"), "{e}");
        let generated = SimDisk::new();
        store(&generated, &DataKeySource::Generated).expect("generated");
        store(&generated, &DataKeySource::Generated).expect("reopens with its own key");
    }

    #[test]
    fn rotation_rewraps_every_key_and_the_old_key_no_longer_opens() {
        let disk = SimDisk::new();
        let s = store(&disk, &DataKeySource::Generated).expect("create");
        s.create_memory_keys(&[1, 2], None).expect("keys");
        s.create_snapshot_key(7).expect("snapshot key");
        s.create_snapshot_key(7)
            .expect("a second key of the same seq");
        let before = s.memory(2).expect("key");
        let mut sealed = Vec::new();
        seal(&before, b"", b"text", &mut sealed).expect("seal");
        let new = DataKey::generate().expect("key");
        s.rotate(new.clone()).expect("rotate");
        drop(s);
        assert!(disk.file(GENERATED_KEY_FILE).is_none());
        let s = store(&disk, &DataKeySource::Given(new)).expect("opens with the new key");
        let after = s.memory(2).expect("key");
        assert_eq!(open(&after, b"", &sealed).as_deref(), Some(&b"text"[..]));
        assert_eq!(s.snapshot_keys(7).len(), 2);
        assert!(store(&disk, &DataKeySource::Generated).is_err());
    }

    #[test]
    fn snapshot_keys_reuse_free_slots() {
        let disk = SimDisk::new();
        let s = store(&disk, &DataKeySource::Generated).expect("create");
        for seq in 1..=10 {
            s.create_snapshot_key(seq).expect("key");
            s.destroy_snapshot_keys(|k, _| k + 2 > seq)
                .expect("destroy");
        }
        assert!(s.snapshot_keys(10).len() == 1 && s.snapshot_keys(9).len() == 1);
        assert!(s.snapshot_keys(8).is_empty());
        assert!(disk.file(SNAPSHOTS_FILE).expect("file").len() <= 8 + 3 * SNAPSHOT_SLOT);
    }
}
