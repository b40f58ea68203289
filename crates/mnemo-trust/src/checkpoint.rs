//! The checkpoint note text of c2sp.org/tlog-checkpoint v1: a log's origin,
//! tree size and root hash, one per line, then optional extension lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{Hash, MAX_NAME_BYTES, MAX_NOTE_BYTES, TrustError};

/// The origin line of namespace `namespace`'s checkpoints signed under key
/// name `key_name`: `<key name>/<namespace>` (what the server and `mnemo
/// checkpoint` sign, and `mnemo verify` expects).
pub fn namespace_origin(key_name: &str, namespace: &str) -> String {
    format!("{key_name}/{namespace}")
}

/// A C2SP tlog-checkpoint v1 body: the head of an RFC 6962 / RFC 9162
/// Merkle tree.
///
/// The fields are public for reading; [`Checkpoint::new`] and
/// [`Checkpoint::parse_body`] only make valid checkpoints, and
/// [`Checkpoint::validate`] checks one built by hand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity: 1..=255 bytes of UTF-8 without control characters.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
    /// Opaque extension lines (non-empty, without control characters). Only
    /// the Ed25519 signature covers them.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines. Fails when `origin` is empty,
    /// longer than 255 bytes, or has a control character (a newline
    /// included).
    ///
    /// ```
    /// let cp = mnemo_trust::Checkpoint::new("example.com/log", 3, [7; 32])?;
    /// assert_eq!(cp.body(), "example.com/log\n3\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n");
    /// # Ok::<(), mnemo_trust::TrustError>(())
    /// ```
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, TrustError> {
        check_origin(origin, "checkpoint origin")?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Checks the rules [`Checkpoint::new`] and [`Checkpoint::parse_body`]
    /// enforce, for a checkpoint whose public fields were set by hand.
    pub fn validate(&self) -> Result<(), TrustError> {
        check_origin(&self.origin, "checkpoint origin")?;
        // Origin, at most 20 size digits, the 44-character root, three newlines.
        let mut body_bytes = self.origin.len() + 20 + 44 + 3;
        for (i, extension) in self.extensions.iter().enumerate() {
            check_extension(extension, &format!("checkpoint extension {}", i + 1))?;
            body_bytes = body_bytes.saturating_add(extension.len() + 1);
        }
        if body_bytes > MAX_NOTE_BYTES {
            return Err(TrustError::Malformed(
                "checkpoint: body larger than 1 MiB".to_owned(),
            ));
        }
        Ok(())
    }

    /// The note text: origin, size and base64 root, each followed by a
    /// newline, then each extension line and a newline.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(self.origin.len() + 70);
        out.push_str(&self.origin);
        out.push('\n');
        out.push_str(&self.size.to_string());
        out.push('\n');
        out.push_str(&STANDARD.encode(self.root));
        out.push('\n');
        for extension in &self.extensions {
            out.push_str(extension);
            out.push('\n');
        }
        out
    }

    /// Parses a note text strictly: every line ends in `\n`; the size is
    /// decimal without sign or leading zeros; the root is canonical base64 of
    /// exactly 32 bytes; extension lines are non-empty; no control
    /// characters; at most [`MAX_NOTE_BYTES`].
    ///
    /// ```
    /// let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    /// let cp = mnemo_trust::Checkpoint::parse_body(text)?;
    /// assert_eq!(cp.size, 20852163);
    /// assert_eq!(cp.body(), text);
    /// # Ok::<(), mnemo_trust::TrustError>(())
    /// ```
    pub fn parse_body(text: &str) -> Result<Self, TrustError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(malformed("checkpoint: larger than 1 MiB"));
        }
        let Some(lines) = text.strip_suffix('\n') else {
            return Err(malformed("checkpoint: does not end with a newline"));
        };
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed(
                "checkpoint: fewer than three lines (origin, size, root)",
            ));
        };
        check_origin(origin, "checkpoint line 1 (origin)")?;
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            check_extension(line, &format!("checkpoint line {} (extension)", i + 4))?;
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

fn malformed(what: &str) -> TrustError {
    TrustError::Malformed(what.to_owned())
}

fn check_origin(origin: &str, what: &str) -> Result<(), TrustError> {
    if origin.is_empty() {
        return Err(TrustError::Malformed(format!("{what}: empty")));
    }
    if origin.len() > MAX_NAME_BYTES {
        return Err(TrustError::Malformed(format!(
            "{what}: {} bytes, more than 255",
            origin.len()
        )));
    }
    if origin.chars().any(char::is_control) {
        return Err(TrustError::Malformed(format!(
            "{what}: contains a control character"
        )));
    }
    Ok(())
}

fn check_extension(line: &str, what: &str) -> Result<(), TrustError> {
    if line.is_empty() {
        return Err(TrustError::Malformed(format!("{what}: empty")));
    }
    if line.chars().any(char::is_control) {
        return Err(TrustError::Malformed(format!(
            "{what}: contains a control character"
        )));
    }
    Ok(())
}

fn parse_size(line: &str) -> Result<u64, TrustError> {
    const WHAT: &str = "checkpoint line 2 (tree size)";
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TrustError::Malformed(format!(
            "{WHAT}: not a decimal number"
        )));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(TrustError::Malformed(format!("{WHAT}: leading zero")));
    }
    line.parse::<u64>()
        .map_err(|_| TrustError::Malformed(format!("{WHAT}: larger than 2^64 - 1")))
}

fn parse_root(line: &str) -> Result<Hash, TrustError> {
    const WHAT: &str = "checkpoint line 3 (root hash)";
    // A 32-byte root is 44 base64 characters; refuse longer lines before
    // decoding them.
    if line.len() != 44 {
        return Err(TrustError::Malformed(format!(
            "{WHAT}: not the base64 of 32 bytes"
        )));
    }
    let bytes = STANDARD
        .decode(line)
        .map_err(|e| TrustError::Malformed(format!("{WHAT}: bad base64 ({e})")))?;
    let root: Hash = bytes
        .try_into()
        .map_err(|_| TrustError::Malformed(format!("{WHAT}: not the base64 of 32 bytes")))?;
    // The engine already rejects non-zero trailing bits; this keeps the
    // text canonical whatever the engine's settings.
    if STANDARD.encode(root) != line {
        return Err(TrustError::Malformed(format!(
            "{WHAT}: non-canonical base64"
        )));
    }
    Ok(root)
}
