//! The signing side: a namespace's private keys, their key file, and the
//! signed checkpoint notes they produce.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use zeroize::Zeroizing;

use crate::cosign::{signed_message, timestamped};
use crate::mldsa::{self, Algorithm};
use crate::note::{NoteSignature, SignedNote};
use crate::verifier::Verifier;
use crate::vkey::{KeyType, check_key_name, parse_key_id_hex};
use crate::{Checkpoint, MAX_KEY_TEXT_BYTES, MAX_TIMESTAMP, TrustError};

/// What starts every line of a private key file.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Which post-quantum keys a namespace signs with, next to Ed25519.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PqLevel {
    /// ML-DSA-44 only (NIST level 2), the tlog-cosignature algorithm.
    #[default]
    MlDsa44,
    /// ML-DSA-44 and ML-DSA-65 (NIST level 3); verifiers with the ML-DSA-65
    /// key require both.
    MlDsa44And65,
}

/// A namespace's signing keys, all under one key name: Ed25519 (signs the
/// checkpoint body), ML-DSA-44 (signs the tlog-cosignature `subtree/v1`
/// message) and, at [`PqLevel::MlDsa44And65`], ML-DSA-65 (signs the
/// `mnemo-mldsa65/v1` message). The crate docs give every byte.
pub struct SigningKeys {
    name: String,
    ed25519: ed25519_dalek::SigningKey,
    ml_dsa_44: mldsa::SigningKey,
    ml_dsa_65: Option<mldsa::SigningKey>,
    verifier: Verifier,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets: only what the public keys already say.
        f.debug_struct("SigningKeys")
            .field("name", &self.name)
            .field("level", &self.level())
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// New random keys (from the operating system's generator) for `name`.
    ///
    /// `name` is the key name in every signature line; it should match the
    /// checkpoints' origin. It must be 1..=255 bytes without white space,
    /// `+` or control characters.
    pub fn generate(name: &str, level: PqLevel) -> Result<Self, TrustError> {
        check_key_name(name)?;
        let ed25519 = random_seed()?;
        let ml_dsa_44 = random_seed()?;
        let ml_dsa_65 = match level {
            PqLevel::MlDsa44 => None,
            PqLevel::MlDsa44And65 => Some(random_seed()?),
        };
        Self::from_seeds(name, &ed25519, &ml_dsa_44, ml_dsa_65.as_deref())
    }

    /// Keys from fixed 32-byte seeds: the RFC 8032 Ed25519 secret key and
    /// the FIPS 204 ML-DSA key-generation seeds ξ. Deterministic, for tests
    /// and for keys kept elsewhere.
    pub fn from_seeds(
        name: &str,
        ed25519: &[u8; 32],
        ml_dsa_44: &[u8; 32],
        ml_dsa_65: Option<&[u8; 32]>,
    ) -> Result<Self, TrustError> {
        check_key_name(name)?;
        let ed25519 = ed25519_dalek::SigningKey::from_bytes(ed25519);
        let ml_dsa_44 = mldsa::SigningKey::from_seed(Algorithm::MlDsa44, ml_dsa_44)?;
        let ml_dsa_65 = ml_dsa_65
            .map(|seed| mldsa::SigningKey::from_seed(Algorithm::MlDsa65, seed))
            .transpose()?;
        let verifier = Verifier::from_parts(
            name,
            ed25519.verifying_key(),
            ml_dsa_44.verifying_key()?,
            ml_dsa_65
                .as_ref()
                .map(mldsa::SigningKey::verifying_key)
                .transpose()?,
        );
        Ok(Self {
            name: name.to_owned(),
            ed25519,
            ml_dsa_44,
            ml_dsa_65,
            verifier,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which post-quantum keys these are.
    pub fn level(&self) -> PqLevel {
        self.verifier.level()
    }

    /// The private key file: one `PRIVATE+KEY+<name>+<hex key ID>+<base64(type
    /// bytes ‖ 32-byte seed)>` line per key (Ed25519, ML-DSA-44, then
    /// ML-DSA-65), each ending in a newline. Keep it secret.
    pub fn to_private_text(&self) -> String {
        let mut out = String::new();
        let seeds: [(KeyType, Zeroizing<[u8; 32]>); 2] = [
            (KeyType::Ed25519, Zeroizing::new(self.ed25519.to_bytes())),
            (KeyType::MlDsa44, self.ml_dsa_44.seed()),
        ];
        let extra = self
            .ml_dsa_65
            .as_ref()
            .map(|k| (KeyType::MlDsa65, k.seed()));
        for (key_type, seed) in seeds.iter().chain(extra.as_ref()) {
            let mut material = Zeroizing::new(key_type.type_bytes().to_vec());
            material.extend_from_slice(seed.as_slice());
            out.push_str(&format!(
                "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}\n",
                self.name,
                self.verifier.key_id(*key_type).unwrap_or(0),
                STANDARD.encode(material.as_slice())
            ));
        }
        out
    }

    /// Reads a private key file written by [`SigningKeys::to_private_text`].
    /// Blank lines and `#` comments are ignored. It needs exactly one Ed25519
    /// and one ML-DSA-44 line and at most one ML-DSA-65 line, all with the
    /// same name, and each line's key ID must match the key its seed derives.
    pub fn from_private_text(text: &str) -> Result<Self, TrustError> {
        if text.len() > MAX_KEY_TEXT_BYTES {
            return Err(TrustError::KeyFile(
                "private key text larger than 64 KiB".to_owned(),
            ));
        }
        let mut name: Option<&str> = None;
        // Seeds and claimed key IDs, indexed by `KeyType::index`.
        let mut found: [Option<(Zeroizing<[u8; 32]>, u32)>; 3] = [None, None, None];
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let PrivateLine {
                name: line_name,
                key_type,
                seed,
                id,
            } = parse_private_line(line, number)?;
            match name {
                None => name = Some(line_name),
                Some(first) if first != line_name => {
                    return Err(TrustError::WrongName {
                        expected: first.to_owned(),
                        found: line_name.to_owned(),
                    });
                }
                Some(_) => {}
            }
            let entry = &mut found[key_type.index()];
            if entry.is_some() {
                return Err(TrustError::KeyFile(format!(
                    "line {number}: a second {} key",
                    key_type.label()
                )));
            }
            *entry = Some((seed, id));
        }
        let [ed25519, ml_dsa_44, ml_dsa_65] = found;
        let (Some(name), Some(ed25519), Some(ml_dsa_44)) = (name, ed25519, ml_dsa_44) else {
            return Err(TrustError::KeyFile(
                "needs one ed25519 and one ml-dsa-44 key line".to_owned(),
            ));
        };
        let keys = Self::from_seeds(
            name,
            &ed25519.0,
            &ml_dsa_44.0,
            ml_dsa_65.as_ref().map(|(seed, _)| &**seed),
        )?;
        let claimed = [
            (KeyType::Ed25519, Some(ed25519.1)),
            (KeyType::MlDsa44, Some(ml_dsa_44.1)),
            (KeyType::MlDsa65, ml_dsa_65.map(|(_, id)| id)),
        ];
        for (key_type, id) in claimed {
            if let Some(id) = id
                && keys.verifier.key_id(key_type) != Some(id)
            {
                return Err(TrustError::KeyFile(format!(
                    "{} key: key ID {id:08x} does not match the key its seed derives",
                    key_type.label()
                )));
            }
        }
        Ok(keys)
    }

    /// The public side of these keys.
    pub fn verifier(&self) -> Verifier {
        self.verifier.clone()
    }

    /// Signs `checkpoint` as a signed note: the body, an empty line, then one
    /// signature line per key (Ed25519, ML-DSA-44, then ML-DSA-65 if
    /// present). `timestamp_unix_s` goes into the ML-DSA signatures; it must
    /// not exceed 2^63 − 1.
    ///
    /// The ML-DSA signatures are hedged (randomized) on native targets and
    /// deterministic on `wasm32` (see the crate docs): signing the same
    /// checkpoint twice natively gives different, equally valid, ML-DSA
    /// signatures. The Ed25519 signature is always deterministic.
    ///
    /// Fails on a checkpoint that [`Checkpoint::validate`] rejects (its
    /// fields are public), on a timestamp out of range, and if the ML-DSA
    /// signer fails (its rejection sampling giving up, probability far
    /// below 2^-100, or natively no randomness).
    pub fn sign(
        &self,
        checkpoint: &Checkpoint,
        timestamp_unix_s: u64,
    ) -> Result<String, TrustError> {
        checkpoint.validate()?;
        if timestamp_unix_s > MAX_TIMESTAMP {
            return Err(TrustError::TimestampOutOfRange(timestamp_unix_s));
        }
        let body = checkpoint.body();
        let mut signatures = Vec::with_capacity(3);
        signatures.push(self.line(
            KeyType::Ed25519,
            self.ed25519.sign(body.as_bytes()).to_bytes().to_vec(),
        ));
        let message = signed_message(KeyType::MlDsa44, &self.name, timestamp_unix_s, checkpoint)?;
        let signature = self.ml_dsa_44.sign(&message)?;
        signatures.push(self.line(KeyType::MlDsa44, timestamped(timestamp_unix_s, &signature)));
        if let Some(key) = &self.ml_dsa_65 {
            let message =
                signed_message(KeyType::MlDsa65, &self.name, timestamp_unix_s, checkpoint)?;
            let signature = key.sign(&message)?;
            signatures.push(self.line(KeyType::MlDsa65, timestamped(timestamp_unix_s, &signature)));
        }
        Ok(SignedNote {
            text: body,
            signatures,
        }
        .to_text())
    }

    fn line(&self, key_type: KeyType, signature: Vec<u8>) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier.key_id(key_type).unwrap_or(0),
            signature,
        }
    }
}

/// One line of a private key file, decoded.
struct PrivateLine<'a> {
    name: &'a str,
    key_type: KeyType,
    seed: Zeroizing<[u8; 32]>,
    /// The key ID the line claims.
    id: u32,
}

/// One `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>` line. Errors
/// never quote the line: it holds a secret.
fn parse_private_line(line: &str, number: usize) -> Result<PrivateLine<'_>, TrustError> {
    let bad = |what: &str| TrustError::KeyFile(format!("line {number}: {what}"));
    let Some(rest) = line.strip_prefix(PRIVATE_KEY_PREFIX) else {
        return Err(bad("does not start with PRIVATE+KEY+"));
    };
    // Base64 has '+' too: only the first two separate parts.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not PRIVATE+KEY+<name>+<key ID>+<key>"));
    };
    check_key_name(name).map_err(|e| bad(&e.to_string()))?;
    let id = parse_key_id_hex(id).ok_or_else(|| bad("key ID is not 8 lowercase hex digits"))?;
    let bytes = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| bad("key is not valid base64"))?,
    );
    let Some((key_type, seed)) = KeyType::split_prefix(&bytes) else {
        return Err(bad("unsupported key type"));
    };
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| bad(&format!("{} seed is not 32 bytes", key_type.label())))?;
    Ok(PrivateLine {
        name,
        key_type,
        seed: Zeroizing::new(seed),
        id,
    })
}

fn random_seed() -> Result<Zeroizing<[u8; 32]>, TrustError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice()).map_err(|e| TrustError::Random(e.to_string()))?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vkey::key_id;

    #[test]
    fn key_id_helper_matches_verifier() {
        let keys =
            SigningKeys::from_seeds("a.example/ns", &[1; 32], &[2; 32], None).expect("valid name");
        let pk = keys.ed25519.verifying_key().to_bytes();
        assert_eq!(
            keys.verifier.key_id(KeyType::Ed25519),
            Some(key_id("a.example/ns", KeyType::Ed25519, &pk))
        );
        assert_eq!(keys.verifier.key_id(KeyType::MlDsa65), None);
    }
}
