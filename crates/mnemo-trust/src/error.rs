//! The crate's error type.

/// Why a checkpoint, note or key could not be made, read or trusted.
///
/// Messages name the field or line at fault, so they can be shown to the
/// operator as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The text is not a well-formed checkpoint or signed note, or a
    /// checkpoint field is invalid; the string says which part.
    #[error("malformed {0}")]
    Malformed(String),
    /// The note has no signature line from one of the verifier's keys.
    #[error("the note has no signature from the {key} key")]
    MissingSignature {
        /// `"ed25519"`, `"ml-dsa-44"` or `"ml-dsa-65"`.
        key: &'static str,
    },
    /// A signature line from one of the verifier's keys does not verify.
    #[error("the {key} signature does not verify")]
    BadSignature {
        /// `"ed25519"`, `"ml-dsa-44"` or `"ml-dsa-65"`.
        key: &'static str,
    },
    /// Keys that must share one name do not.
    #[error("key name {found:?} differs from {expected:?}")]
    WrongName {
        /// The name of the first key.
        expected: String,
        /// The name that differs from it.
        found: String,
    },
    /// Two checkpoints compared for consistency belong to different logs.
    #[error("checkpoint origin {found:?} differs from {expected:?}")]
    WrongOrigin {
        /// The older checkpoint's origin.
        expected: String,
        /// The newer checkpoint's origin.
        found: String,
    },
    /// The newer checkpoint does not extend the older one.
    #[error("checkpoints are not consistent: {0}")]
    NotConsistent(String),
    /// A vkeys or private key text is invalid; the string says which line.
    #[error("bad key text: {0}")]
    KeyFile(String),
    /// A key name is empty, too long, or has a space, `+` or control
    /// character.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidKeyName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature timestamp above 2^63 − 1.
    #[error("timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// The signer could not produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The operating system's random number generator failed.
    #[error("no randomness for key generation: {0}")]
    Random(String),
}
