//! The signed-note envelope of c2sp.org/signed-note v1: a text ending in a
//! newline, an empty line, then signature lines
//! `— <key name> <base64(key ID ‖ signature)>`.
//!
//! This module only splits and encodes; which lines matter and whether they
//! verify is the [`crate::verifier`]'s job.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::vkey::check_key_name;
use crate::{MAX_NOTE_BYTES, MAX_SIGNATURE_LINES, TrustError};

/// What starts every signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A signed note split into its text and its signature lines. Nothing here
/// has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The note text, with its final newline and without the empty line
    /// that separates it from the signatures.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID: the first four bytes of the decoded signature, big-endian.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

impl SignedNote {
    /// Splits a note. Rejects notes over [`MAX_NOTE_BYTES`], control
    /// characters other than `\n`, a missing final newline or separating
    /// empty line, no or more than [`MAX_SIGNATURE_LINES`] signature lines,
    /// and signature lines that are not `— <valid key name> <base64 of at
    /// least 5 bytes>`.
    ///
    /// ```
    /// let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    /// let parsed = mnemo_trust::note::SignedNote::parse(note)?;
    /// assert_eq!(parsed.text, "This is an example message.\n");
    /// assert_eq!(parsed.signatures[0].key_id, 0x530d903a);
    /// assert_eq!(parsed.to_text(), note);
    /// # Ok::<(), mnemo_trust::TrustError>(())
    /// ```
    pub fn parse(note: &str) -> Result<Self, TrustError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(malformed(format!(
                "note: {} bytes, more than 1 MiB",
                note.len()
            )));
        }
        if let Some((at, byte)) = note
            .bytes()
            .enumerate()
            .find(|&(_, b)| b < 0x20 && b != b'\n')
        {
            return Err(malformed(format!(
                "note: control character 0x{byte:02x} at byte {at}"
            )));
        }
        if !note.ends_with('\n') {
            return Err(malformed("note: does not end with a newline".to_owned()));
        }
        let Some(split) = note.rfind("\n\n") else {
            return Err(malformed(
                "note: no empty line between the text and the signatures".to_owned(),
            ));
        };
        // `split` is the byte offset of an ASCII '\n', so both slices are on
        // character boundaries.
        let text = &note[..split + 1];
        let lines = &note[split + 2..];
        if lines.is_empty() {
            return Err(malformed("note: no signature lines".to_owned()));
        }
        let mut signatures = Vec::new();
        for (i, line) in lines.split_terminator('\n').enumerate() {
            if i == MAX_SIGNATURE_LINES {
                return Err(malformed(format!(
                    "note: more than {MAX_SIGNATURE_LINES} signature lines"
                )));
            }
            signatures.push(parse_signature_line(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note: text, empty line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, TrustError> {
    let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
        return Err(malformed(format!(
            "signature line {number}: does not start with an em dash and a space"
        )));
    };
    let Some((name, encoded)) = rest.split_once(' ') else {
        return Err(malformed(format!(
            "signature line {number}: no space between key name and signature"
        )));
    };
    check_key_name(name).map_err(|e| malformed(format!("signature line {number}: {e}")))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| malformed(format!("signature line {number}: bad base64 ({e})")))?;
    let (Some(id), Some(signature)) = (bytes.get(..4), bytes.get(4..)) else {
        return Err(malformed(format!(
            "signature line {number}: shorter than a key ID"
        )));
    };
    if signature.is_empty() {
        return Err(malformed(format!(
            "signature line {number}: no signature after the key ID"
        )));
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}

fn malformed(what: String) -> TrustError {
    TrustError::Malformed(what)
}
