//! Key types, key IDs and verifier keys (c2sp.org/signed-note "Verifier
//! keys"): `<name>+<hex(key ID)>+<base64(type bytes ‖ public key)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::{MAX_NAME_BYTES, TrustError};

/// The type bytes of the ML-DSA-65 key: signed-note's "no assigned byte"
/// type `0xff`, then a long identifier so that it cannot collide.
const ML_DSA_65_TYPE: &[u8; 19] = b"\xffmnemo-ml-dsa-65/v1";

/// The kinds of key a namespace signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Ed25519 over the note text (signed-note type `0x01`).
    Ed25519,
    /// ML-DSA-44 timestamped `subtree/v1` cosignature (tlog-cosignature
    /// type `0x06`).
    MlDsa44,
    /// ML-DSA-65 over this crate's `mnemo-mldsa65/v1` message (type bytes
    /// `0xff ‖ "mnemo-ml-dsa-65/v1"`).
    MlDsa65,
}

impl KeyType {
    /// The bytes that name this type in key IDs, vkeys and private key lines.
    pub const fn type_bytes(self) -> &'static [u8] {
        match self {
            Self::Ed25519 => &[0x01],
            Self::MlDsa44 => &[0x06],
            Self::MlDsa65 => ML_DSA_65_TYPE,
        }
    }

    /// The length of the encoded public key.
    pub const fn public_key_len(self) -> usize {
        match self {
            Self::Ed25519 => 32,
            Self::MlDsa44 => 1312,
            Self::MlDsa65 => 1952,
        }
    }

    /// The name used in errors: `"ed25519"`, `"ml-dsa-44"` or `"ml-dsa-65"`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::MlDsa44 => "ml-dsa-44",
            Self::MlDsa65 => "ml-dsa-65",
        }
    }

    /// Every key type, in the order of [`KeyType::index`].
    pub(crate) const ALL: [Self; 3] = [Self::Ed25519, Self::MlDsa44, Self::MlDsa65];

    /// The position of this type in per-type arrays.
    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Ed25519 => 0,
            Self::MlDsa44 => 1,
            Self::MlDsa65 => 2,
        }
    }

    /// Splits `type bytes ‖ rest` into the type and the rest; `None` for a
    /// type this crate does not use.
    pub fn split_prefix(bytes: &[u8]) -> Option<(Self, &[u8])> {
        Self::ALL
            .into_iter()
            .find_map(|t| bytes.strip_prefix(t.type_bytes()).map(|rest| (t, rest)))
    }
}

/// A key ID: `SHA-256(name ‖ 0x0A ‖ type bytes ‖ public key)[..4]`, read
/// big-endian.
///
/// ```
/// use mnemo_trust::vkey::{KeyType, key_id};
/// // The example key of c2sp.org/signed-note.
/// let pk = [0xe9, 0x32, 0x79, 0x1a, 0xe6, 0xe7, 0xa8, 0x40, 0xa4, 0x61, 0x64, 0xc9, 0x04, 0x78,
///     0x64, 0x26, 0xd5, 0xe7, 0x82, 0x1d, 0xd8, 0xb2, 0x9a, 0x00, 0xd6, 0x1c, 0xae, 0x72, 0xaf,
///     0xdd, 0x4d, 0xa4];
/// assert_eq!(key_id("example.com/foo", KeyType::Ed25519, &pk), 0x530d903a);
/// ```
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n']);
    h.update(key_type.type_bytes());
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Checks a key name: non-empty, at most 255 bytes, no Unicode white space,
/// no `+`, no control characters.
pub fn check_key_name(name: &str) -> Result<(), TrustError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > MAX_NAME_BYTES {
        "longer than 255 bytes"
    } else if name.contains('+') {
        "contains '+'"
    } else if name.chars().any(char::is_whitespace) {
        "contains white space"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(TrustError::InvalidKeyName {
        name: name.chars().take(80).collect(),
        reason,
    })
}

/// One verifier key: a name, a key type and the encoded public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    key_type: KeyType,
    public_key: Vec<u8>,
}

impl VerifierKey {
    /// A verifier key; fails on an invalid name or a public key of the wrong
    /// length for `key_type`.
    pub fn new(name: &str, key_type: KeyType, public_key: &[u8]) -> Result<Self, TrustError> {
        check_key_name(name)?;
        if public_key.len() != key_type.public_key_len() {
            return Err(TrustError::KeyFile(format!(
                "{} public key is {} bytes, not {}",
                key_type.label(),
                public_key.len(),
                key_type.public_key_len()
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            key_type,
            public_key: public_key.to_vec(),
        })
    }

    /// Parses one vkey line (without its newline). The key ID in the line
    /// must be the one computed from the name, type and key.
    ///
    /// ```
    /// use mnemo_trust::vkey::{KeyType, VerifierKey};
    /// let line = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    /// let key = VerifierKey::parse(line)?;
    /// assert_eq!((key.name(), key.key_type(), key.key_id()), ("example.com/foo", KeyType::Ed25519, 0x530d903a));
    /// assert_eq!(key.to_line(), line);
    /// # Ok::<(), mnemo_trust::TrustError>(())
    /// ```
    pub fn parse(line: &str) -> Result<Self, TrustError> {
        // Base64 has '+' too: only the first two separate parts.
        let mut parts = line.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TrustError::KeyFile(
                "vkey: not three '+'-separated parts (name, key ID, key)".to_owned(),
            ));
        };
        check_key_name(name)?;
        let id = parse_key_id_hex(id).ok_or_else(|| {
            TrustError::KeyFile(format!("vkey {name}: key ID is not 8 lowercase hex digits"))
        })?;
        let bytes = STANDARD
            .decode(key)
            .map_err(|e| TrustError::KeyFile(format!("vkey {name}: bad base64 ({e})")))?;
        let Some((key_type, public_key)) = KeyType::split_prefix(&bytes) else {
            return Err(TrustError::KeyFile(format!(
                "vkey {name}: unsupported signature type 0x{:02x}",
                bytes.first().copied().unwrap_or(0)
            )));
        };
        let vkey = Self::new(name, key_type, public_key)
            .map_err(|e| TrustError::KeyFile(format!("vkey {name}: {e}")))?;
        if vkey.key_id() != id {
            return Err(TrustError::KeyFile(format!(
                "vkey {name}: key ID {id:08x} does not match the key (expected {:08x})",
                vkey.key_id()
            )));
        }
        Ok(vkey)
    }

    /// The vkey line, without a newline.
    pub fn to_line(&self) -> String {
        let mut material = self.key_type.type_bytes().to_vec();
        material.extend_from_slice(&self.public_key);
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id(),
            STANDARD.encode(material)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The encoded public key (without the type bytes).
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The key ID, computed by [`key_id`].
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, self.key_type, &self.public_key)
    }
}

/// Parses the 8 lowercase hex digits of a key ID.
pub(crate) fn parse_key_id_hex(text: &str) -> Option<u32> {
    if text.len() != 8
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}
