//! The verifying side: a namespace's public keys (C2SP vkeys) and the check
//! that a signed checkpoint note carries a valid signature from each.

use crate::cosign::{signed_message, split_timestamped};
use crate::mldsa::{self, Algorithm};
use crate::note::SignedNote;
use crate::signer::PqLevel;
use crate::vkey::{KeyType, VerifierKey, check_key_name};
use crate::{Checkpoint, MAX_KEY_TEXT_BYTES, MAX_TIMESTAMP, TrustError};

/// A checkpoint whose note verified, with the time its ML-DSA signatures
/// carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// The signing time, POSIX seconds, from the ML-DSA-44 cosignature.
    pub timestamp: u64,
}

/// A namespace's verifier keys: Ed25519 and ML-DSA-44, and optionally
/// ML-DSA-65, under one key name.
#[derive(Clone)]
pub struct Verifier {
    name: String,
    ed25519: ed25519_dalek::VerifyingKey,
    ml_dsa_44: mldsa::VerifyingKey,
    ml_dsa_65: Option<mldsa::VerifyingKey>,
    /// Key IDs, indexed Ed25519, ML-DSA-44, ML-DSA-65.
    ids: [Option<u32>; 3],
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("name", &self.name)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Reads vkeys, one per line: exactly one Ed25519 (`0x01`) and one
    /// ML-DSA-44 (`0x06`) key and at most one ML-DSA-65 key, all with the
    /// same name. Blank lines and lines starting with `#` are ignored.
    pub fn from_vkeys(text: &str) -> Result<Self, TrustError> {
        if text.len() > MAX_KEY_TEXT_BYTES {
            return Err(TrustError::KeyFile(
                "vkeys text larger than 64 KiB".to_owned(),
            ));
        }
        let mut keys: [Option<VerifierKey>; 3] = [None, None, None];
        let mut name: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = VerifierKey::parse(line).map_err(|e| match e {
                TrustError::KeyFile(reason) => {
                    TrustError::KeyFile(format!("line {number}: {reason}"))
                }
                other => TrustError::KeyFile(format!("line {number}: {other}")),
            })?;
            match &name {
                None => name = Some(key.name().to_owned()),
                Some(first) if first != key.name() => {
                    return Err(TrustError::WrongName {
                        expected: first.clone(),
                        found: key.name().to_owned(),
                    });
                }
                Some(_) => {}
            }
            let entry = &mut keys[key.key_type().index()];
            if entry.is_some() {
                return Err(TrustError::KeyFile(format!(
                    "line {number}: a second {} vkey",
                    key.key_type().label()
                )));
            }
            *entry = Some(key);
        }
        let [ed25519, ml_dsa_44, ml_dsa_65] = keys;
        let (Some(name), Some(ed25519), Some(ml_dsa_44)) = (name, ed25519, ml_dsa_44) else {
            return Err(TrustError::KeyFile(
                "needs one ed25519 (type 0x01) and one ml-dsa-44 (type 0x06) vkey".to_owned(),
            ));
        };
        let ed25519 = <[u8; 32]>::try_from(ed25519.public_key())
            .ok()
            .and_then(|pk| ed25519_dalek::VerifyingKey::from_bytes(&pk).ok())
            .ok_or_else(|| {
                TrustError::KeyFile("the ed25519 vkey is not a valid Ed25519 public key".to_owned())
            })?;
        let ml_dsa_44 = decode_ml_dsa(Algorithm::MlDsa44, &ml_dsa_44)?;
        let ml_dsa_65 = ml_dsa_65
            .map(|key| decode_ml_dsa(Algorithm::MlDsa65, &key))
            .transpose()?;
        let verifier = Self::from_parts(&name, ed25519, ml_dsa_44, ml_dsa_65);
        let [a, b, c] = verifier.ids;
        if a == b || (c.is_some() && (c == a || c == b)) {
            // Lines from two of our own keys could not be told apart.
            return Err(TrustError::KeyFile(
                "two of the keys have the same key ID; generate new keys".to_owned(),
            ));
        }
        Ok(verifier)
    }

    /// A verifier from decoded keys. The name must already be valid.
    pub(crate) fn from_parts(
        name: &str,
        ed25519: ed25519_dalek::VerifyingKey,
        ml_dsa_44: mldsa::VerifyingKey,
        ml_dsa_65: Option<mldsa::VerifyingKey>,
    ) -> Self {
        debug_assert!(check_key_name(name).is_ok());
        let ids = [
            Some(crate::vkey::key_id(
                name,
                KeyType::Ed25519,
                ed25519.as_bytes(),
            )),
            Some(crate::vkey::key_id(
                name,
                KeyType::MlDsa44,
                ml_dsa_44.as_bytes(),
            )),
            ml_dsa_65
                .as_ref()
                .map(|k| crate::vkey::key_id(name, KeyType::MlDsa65, k.as_bytes())),
        ];
        Self {
            name: name.to_owned(),
            ed25519,
            ml_dsa_44,
            ml_dsa_65,
            ids,
        }
    }

    /// The vkeys, one line each (Ed25519, ML-DSA-44, then ML-DSA-65), each
    /// ending in a newline.
    pub fn to_vkeys(&self) -> String {
        let mut out = String::new();
        for key in self.keys() {
            out.push_str(&key.to_line());
            out.push('\n');
        }
        out
    }

    /// The verifier keys, in [`Verifier::to_vkeys`] order.
    pub fn keys(&self) -> Vec<VerifierKey> {
        let mut keys = Vec::with_capacity(3);
        let mut push = |key_type: KeyType, pk: &[u8]| {
            // The name was checked and the lengths are the algorithms' own,
            // so this cannot fail; skipping on failure keeps it panic-free.
            if let Ok(key) = VerifierKey::new(&self.name, key_type, pk) {
                keys.push(key);
            }
        };
        push(KeyType::Ed25519, self.ed25519.as_bytes());
        push(KeyType::MlDsa44, self.ml_dsa_44.as_bytes());
        if let Some(key) = &self.ml_dsa_65 {
            push(KeyType::MlDsa65, key.as_bytes());
        }
        keys
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which post-quantum keys this verifier requires.
    pub fn level(&self) -> PqLevel {
        if self.ml_dsa_65.is_some() {
            PqLevel::MlDsa44And65
        } else {
            PqLevel::MlDsa44
        }
    }

    /// The key ID of this verifier's key of `key_type`, if it has one.
    pub fn key_id(&self, key_type: KeyType) -> Option<u32> {
        self.ids[key_type.index()]
    }

    /// Verifies a signed checkpoint note.
    ///
    /// Valid only when the Ed25519 and the ML-DSA-44 signatures (and the
    /// ML-DSA-65 one, when this verifier has that key) are present and
    /// verify. Signature lines whose name and key ID are not both one of
    /// this verifier's keys are ignored, as the signed-note spec requires;
    /// a second line from one of its keys makes the note malformed. The
    /// ML-DSA-65 timestamp must equal the ML-DSA-44 one, which is returned.
    pub fn verify(&self, note: &str) -> Result<SignedCheckpoint, TrustError> {
        let note = SignedNote::parse(note)?;
        let mut ours: [Option<&[u8]>; 3] = [None, None, None];
        for (i, signature) in note.signatures.iter().enumerate() {
            if signature.name != self.name {
                continue;
            }
            let Some(index) = self.ids.iter().position(|id| *id == Some(signature.key_id)) else {
                continue;
            };
            if ours[index].is_some() {
                return Err(TrustError::Malformed(format!(
                    "signature line {}: a second signature from the {} key",
                    i + 1,
                    KeyType::ALL[index].label()
                )));
            }
            ours[index] = Some(&signature.signature);
        }
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        let [ed25519, ml_dsa_44, ml_dsa_65] = ours;

        let ed25519 = ed25519.ok_or(TrustError::MissingSignature { key: "ed25519" })?;
        let ml_dsa_44 = ml_dsa_44.ok_or(TrustError::MissingSignature { key: "ml-dsa-44" })?;
        if self.ml_dsa_65.is_some() && ml_dsa_65.is_none() {
            return Err(TrustError::MissingSignature { key: "ml-dsa-65" });
        }

        let signature = <[u8; 64]>::try_from(ed25519)
            .map_err(|_| TrustError::BadSignature { key: "ed25519" })?;
        self.ed25519
            .verify_strict(
                note.text.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .map_err(|_| TrustError::BadSignature { key: "ed25519" })?;

        let timestamp = verify_ml_dsa(
            &self.ml_dsa_44,
            KeyType::MlDsa44,
            &self.name,
            &checkpoint,
            ml_dsa_44,
        )?;
        if let (Some(key), Some(signature)) = (&self.ml_dsa_65, ml_dsa_65) {
            let timestamp_65 =
                verify_ml_dsa(key, KeyType::MlDsa65, &self.name, &checkpoint, signature)?;
            if timestamp_65 != timestamp {
                return Err(TrustError::Malformed(format!(
                    "note: the ml-dsa-65 signature's timestamp {timestamp_65} differs from the \
                     ml-dsa-44 one, {timestamp}"
                )));
            }
        }
        Ok(SignedCheckpoint {
            checkpoint,
            timestamp,
        })
    }
}

fn decode_ml_dsa(
    algorithm: Algorithm,
    key: &VerifierKey,
) -> Result<mldsa::VerifyingKey, TrustError> {
    mldsa::VerifyingKey::from_bytes(algorithm, key.public_key()).ok_or_else(|| {
        TrustError::KeyFile(format!(
            "the {} vkey is not a valid public key",
            key.key_type().label()
        ))
    })
}

/// Checks one `timestamp ‖ ML-DSA signature` and returns the timestamp.
fn verify_ml_dsa(
    key: &mldsa::VerifyingKey,
    key_type: KeyType,
    name: &str,
    checkpoint: &Checkpoint,
    bytes: &[u8],
) -> Result<u64, TrustError> {
    let bad = TrustError::BadSignature {
        key: key_type.label(),
    };
    let (timestamp, signature) = split_timestamped(bytes).ok_or_else(|| bad.clone())?;
    if timestamp > MAX_TIMESTAMP {
        return Err(bad);
    }
    let message = signed_message(key_type, name, timestamp, checkpoint)?;
    if key.verify(&message, signature) {
        Ok(timestamp)
    } else {
        Err(bad)
    }
}
