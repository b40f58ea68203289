//! ML-DSA-44 and ML-DSA-65 (FIPS 204): pure ML-DSA, empty context string.
//!
//! Two implementations behind one interface, picked by target:
//!
//! - native targets: AWS-LC (`aws-lc-rs`), several times faster; its
//!   signing is hedged (FIPS 204's default, fresh randomness per
//!   signature);
//! - `wasm32`, where AWS-LC does not build: RustCrypto's pure-Rust
//!   `ml-dsa`, with deterministic signing.
//!
//! Both produce and accept the same FIPS 204 keys and signatures, so each
//! verifies the other's. Keys are expanded once, when made, not per call.
//! The RustCrypto backend is also compiled into native unit tests, which
//! check the two against each other.

use crate::TrustError;
use crate::vkey::KeyType;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use aws_lc::{SigningKey, VerifyingKey};
#[cfg(target_arch = "wasm32")]
pub(crate) use rust_crypto::{SigningKey, VerifyingKey};

/// An ML-DSA parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// ML-DSA-44 (NIST level 2).
    MlDsa44,
    /// ML-DSA-65 (NIST level 3).
    MlDsa65,
}

impl Algorithm {
    /// The key type these keys have in notes and vkeys.
    pub(crate) const fn key_type(self) -> KeyType {
        match self {
            Self::MlDsa44 => KeyType::MlDsa44,
            Self::MlDsa65 => KeyType::MlDsa65,
        }
    }

    fn label(self) -> &'static str {
        self.key_type().label()
    }

    /// A signing failure of this algorithm, as the crate reports it.
    fn signing_error(self, what: &str) -> TrustError {
        TrustError::Signing(format!("{}: {what}", self.label()))
    }
}

/// AWS-LC: `PqdsaKeyPair` (expanded from the seed once) signs, with hedged
/// randomness; a `ParsedPublicKey` (parsed once) verifies.
#[cfg(not(target_arch = "wasm32"))]
mod aws_lc {
    use aws_lc_rs::signature::{
        KeyPair as _, ML_DSA_44, ML_DSA_44_SIGNING, ML_DSA_65, ML_DSA_65_SIGNING, ParsedPublicKey,
        PqdsaKeyPair, PqdsaSigningAlgorithm, PqdsaVerificationAlgorithm,
    };
    use zeroize::Zeroizing;

    use super::Algorithm;
    use crate::TrustError;

    const fn signing(algorithm: Algorithm) -> &'static PqdsaSigningAlgorithm {
        match algorithm {
            Algorithm::MlDsa44 => &ML_DSA_44_SIGNING,
            Algorithm::MlDsa65 => &ML_DSA_65_SIGNING,
        }
    }

    const fn verification(algorithm: Algorithm) -> &'static PqdsaVerificationAlgorithm {
        match algorithm {
            Algorithm::MlDsa44 => &ML_DSA_44,
            Algorithm::MlDsa65 => &ML_DSA_65,
        }
    }

    /// An ML-DSA private key, expanded, with the seed it came from.
    pub(crate) struct SigningKey {
        algorithm: Algorithm,
        seed: Zeroizing<[u8; 32]>,
        key_pair: PqdsaKeyPair,
    }

    impl SigningKey {
        /// FIPS 204 `ML-DSA.KeyGen_internal(ξ)`.
        pub(crate) fn from_seed(algorithm: Algorithm, seed: &[u8; 32]) -> Result<Self, TrustError> {
            let key_pair = PqdsaKeyPair::from_seed(signing(algorithm), seed)
                .map_err(|e| algorithm.signing_error(&format!("key generation failed ({e})")))?;
            Ok(Self {
                algorithm,
                seed: Zeroizing::new(*seed),
                key_pair,
            })
        }

        /// The seed ξ.
        pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
            self.seed.clone()
        }

        /// The public key, ready to verify.
        pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, TrustError> {
            VerifyingKey::from_bytes(self.algorithm, self.key_pair.public_key().as_ref())
                .ok_or_else(|| {
                    self.algorithm
                        .signing_error("AWS-LC rejected its own public key")
                })
        }

        /// A hedged ML-DSA signature of `message`, empty context.
        pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
            let mut signature = vec![0; signing(self.algorithm).signature_len()];
            let len = self
                .key_pair
                .sign(message, &mut signature)
                .map_err(|_| self.algorithm.signing_error("AWS-LC could not sign"))?;
            signature.truncate(len);
            Ok(signature)
        }
    }

    /// An ML-DSA public key, parsed.
    #[derive(Clone)]
    pub(crate) struct VerifyingKey(ParsedPublicKey);

    impl VerifyingKey {
        /// Parses an encoded public key; `None` if it is not one of
        /// `algorithm`'s.
        pub(crate) fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Option<Self> {
            // AWS-LC also takes a DER SubjectPublicKeyInfo here; with the
            // length fixed to the raw key's, only a raw key can match.
            if bytes.len() != algorithm.key_type().public_key_len() {
                return None;
            }
            ParsedPublicKey::new(verification(algorithm), bytes)
                .ok()
                .map(Self)
        }

        /// The encoded public key (FIPS 204 `pkEncode`).
        pub(crate) fn as_bytes(&self) -> &[u8] {
            self.0.as_ref()
        }

        /// Whether `signature` is a valid signature of `message`, empty
        /// context.
        pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            self.0.verify_sig(message, signature).is_ok()
        }
    }
}

/// RustCrypto `ml-dsa`: deterministic signing, pure Rust.
#[cfg(any(target_arch = "wasm32", test))]
mod rust_crypto {
    use ml_dsa::{EncodedSignature, EncodedVerifyingKey, MlDsa44, MlDsa65, MlDsaParams};
    use zeroize::Zeroizing;

    use super::Algorithm;
    use crate::TrustError;

    /// The context string: empty (pure FIPS 204 ML-DSA).
    const CONTEXT: &[u8] = b"";

    enum Signing {
        MlDsa44(ml_dsa::SigningKey<MlDsa44>),
        MlDsa65(ml_dsa::SigningKey<MlDsa65>),
    }

    /// An ML-DSA private key, expanded (the key keeps its seed).
    pub(crate) struct SigningKey(Signing);

    impl SigningKey {
        /// FIPS 204 `ML-DSA.KeyGen_internal(ξ)`.
        pub(crate) fn from_seed(algorithm: Algorithm, seed: &[u8; 32]) -> Result<Self, TrustError> {
            let seed = Zeroizing::new(ml_dsa::Seed::from(*seed));
            Ok(Self(match algorithm {
                Algorithm::MlDsa44 => Signing::MlDsa44(ml_dsa::SigningKey::from_seed(&seed)),
                Algorithm::MlDsa65 => Signing::MlDsa65(ml_dsa::SigningKey::from_seed(&seed)),
            }))
        }

        /// The seed ξ.
        pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
            let seed = match &self.0 {
                Signing::MlDsa44(key) => key.as_seed(),
                Signing::MlDsa65(key) => key.as_seed(),
            };
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(seed.as_slice());
            out
        }

        /// The public key, ready to verify.
        pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, TrustError> {
            Ok(match &self.0 {
                Signing::MlDsa44(key) => VerifyingKey::new(Verifying::MlDsa44(
                    AsRef::<ml_dsa::VerifyingKey<MlDsa44>>::as_ref(key).clone(),
                )),
                Signing::MlDsa65(key) => VerifyingKey::new(Verifying::MlDsa65(
                    AsRef::<ml_dsa::VerifyingKey<MlDsa65>>::as_ref(key).clone(),
                )),
            })
        }

        /// The deterministic ML-DSA signature of `message`, empty context.
        pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
            match &self.0 {
                Signing::MlDsa44(key) => sign(key, Algorithm::MlDsa44, message),
                Signing::MlDsa65(key) => sign(key, Algorithm::MlDsa65, message),
            }
        }
    }

    fn sign<P: MlDsaParams>(
        key: &ml_dsa::SigningKey<P>,
        algorithm: Algorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, TrustError> {
        let signature = key
            .expanded_key()
            .sign_deterministic(message, CONTEXT)
            .map_err(|e| algorithm.signing_error(&e.to_string()))?;
        Ok(signature.encode().to_vec())
    }

    #[derive(Clone)]
    enum Verifying {
        MlDsa44(ml_dsa::VerifyingKey<MlDsa44>),
        MlDsa65(ml_dsa::VerifyingKey<MlDsa65>),
    }

    /// An ML-DSA public key, decoded, and its encoding.
    #[derive(Clone)]
    pub(crate) struct VerifyingKey {
        key: Verifying,
        encoded: Vec<u8>,
    }

    impl VerifyingKey {
        fn new(key: Verifying) -> Self {
            let encoded = match &key {
                Verifying::MlDsa44(k) => k.encode().to_vec(),
                Verifying::MlDsa65(k) => k.encode().to_vec(),
            };
            Self { key, encoded }
        }

        /// Decodes an encoded public key; `None` if it is not one of
        /// `algorithm`'s.
        pub(crate) fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Option<Self> {
            let key = match algorithm {
                Algorithm::MlDsa44 => Verifying::MlDsa44(decode(bytes)?),
                Algorithm::MlDsa65 => Verifying::MlDsa65(decode(bytes)?),
            };
            Some(Self::new(key))
        }

        /// The encoded public key (FIPS 204 `pkEncode`).
        pub(crate) fn as_bytes(&self) -> &[u8] {
            &self.encoded
        }

        /// Whether `signature` is a valid signature of `message`, empty
        /// context.
        pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            match &self.key {
                Verifying::MlDsa44(key) => verify(key, message, signature),
                Verifying::MlDsa65(key) => verify(key, message, signature),
            }
        }
    }

    fn decode<P: MlDsaParams>(bytes: &[u8]) -> Option<ml_dsa::VerifyingKey<P>> {
        let encoded = EncodedVerifyingKey::<P>::try_from(bytes).ok()?;
        Some(ml_dsa::VerifyingKey::decode(&encoded))
    }

    fn verify<P: MlDsaParams>(
        key: &ml_dsa::VerifyingKey<P>,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        EncodedSignature::<P>::try_from(signature)
            .ok()
            .and_then(|encoded| ml_dsa::Signature::<P>::decode(&encoded))
            .is_some_and(|signature| key.verify_with_context(message, CONTEXT, &signature))
    }
}

#[cfg(test)]
mod tests {
    //! The two backends against each other, natively (where both build).

    use super::{Algorithm, rust_crypto};

    const ALGORITHMS: [Algorithm; 2] = [Algorithm::MlDsa44, Algorithm::MlDsa65];
    const MESSAGE: &[u8] = b"subtree/v1\n\0 a message";

    fn seeds() -> impl Iterator<Item = [u8; 32]> {
        [
            [0u8; 32],
            [0x44; 32],
            [0x65; 32],
            *b"mnemo-trust ML-DSA backend tests",
        ]
        .into_iter()
    }

    #[test]
    fn both_backends_derive_the_same_keys() {
        for algorithm in ALGORITHMS {
            for seed in seeds() {
                let native = super::SigningKey::from_seed(algorithm, &seed).expect("keygen");
                let rust = rust_crypto::SigningKey::from_seed(algorithm, &seed).expect("keygen");
                let native_vk = native.verifying_key().expect("public key");
                let rust_vk = rust.verifying_key().expect("public key");
                assert_eq!(native_vk.as_bytes(), rust_vk.as_bytes(), "{algorithm:?}");
                assert_eq!(
                    native_vk.as_bytes().len(),
                    algorithm.key_type().public_key_len()
                );
                assert_eq!(*native.seed(), seed);
                assert_eq!(*rust.seed(), seed);
            }
        }
    }

    #[test]
    fn each_backend_verifies_the_others_signatures() {
        for algorithm in ALGORITHMS {
            for seed in seeds() {
                let native = super::SigningKey::from_seed(algorithm, &seed).expect("keygen");
                let rust = rust_crypto::SigningKey::from_seed(algorithm, &seed).expect("keygen");
                let native_vk = native.verifying_key().expect("public key");
                // The RustCrypto key, decoded from bytes as a verifier would.
                let rust_vk = rust_crypto::VerifyingKey::from_bytes(
                    algorithm,
                    rust.verifying_key().expect("public key").as_bytes(),
                )
                .expect("decodes");

                let from_native = native.sign(MESSAGE).expect("signs");
                let from_rust = rust.sign(MESSAGE).expect("signs");
                for signature in [&from_native, &from_rust] {
                    assert!(native_vk.verify(MESSAGE, signature), "{algorithm:?}");
                    assert!(rust_vk.verify(MESSAGE, signature), "{algorithm:?}");
                    assert!(!native_vk.verify(b"another message", signature));
                    assert!(!rust_vk.verify(b"another message", signature));
                    for at in [0, signature.len() / 2, signature.len() - 1] {
                        let mut flipped = signature.clone();
                        flipped[at] ^= 1;
                        assert!(!native_vk.verify(MESSAGE, &flipped));
                        assert!(!rust_vk.verify(MESSAGE, &flipped));
                    }
                    let short = &signature[..signature.len() - 1];
                    assert!(!native_vk.verify(MESSAGE, short));
                    assert!(!rust_vk.verify(MESSAGE, short));
                }

                // RustCrypto is deterministic; the native signer is hedged.
                assert_eq!(rust.sign(MESSAGE).expect("signs"), from_rust);
                assert_ne!(native.sign(MESSAGE).expect("signs"), from_native);
            }
        }
    }

    #[test]
    fn keys_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::SigningKey>();
        send_sync::<super::VerifyingKey>();
        send_sync::<crate::SigningKeys>();
        send_sync::<crate::Verifier>();
    }

    #[test]
    fn public_keys_of_the_wrong_length_are_refused() {
        for algorithm in ALGORITHMS {
            let len = algorithm.key_type().public_key_len();
            for bad in [0, len - 1, len + 1, 1312 + 1952 - len] {
                let bytes = vec![7u8; bad];
                assert!(super::VerifyingKey::from_bytes(algorithm, &bytes).is_none());
                assert!(rust_crypto::VerifyingKey::from_bytes(algorithm, &bytes).is_none());
            }
        }
    }
}
