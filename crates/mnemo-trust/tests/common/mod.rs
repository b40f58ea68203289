//! Helpers shared by the integration tests: fixed keys, and surgery on
//! signed notes.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mnemo_trust::{Checkpoint, SigningKeys};

/// The key name and checkpoint origin used throughout.
pub const NAME: &str = "example.com/mnemo/ns1";

/// RFC 8032 §7.1 test 1: secret key and its public key.
pub const RFC8032_SECRET: [u8; 32] =
    hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
/// The public key of [`RFC8032_SECRET`].
pub const RFC8032_PUBLIC: [u8; 32] =
    hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

/// 32 bytes from 64 hex digits, at compile time.
pub const fn hex32(text: &str) -> [u8; 32] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let bytes = text.as_bytes();
    assert!(bytes.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = digit(bytes[2 * i]) << 4 | digit(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

/// Ed25519 (RFC 8032 test 1) and ML-DSA-44 keys from fixed seeds.
pub fn keys44() -> SigningKeys {
    SigningKeys::from_seeds(NAME, &RFC8032_SECRET, &[0x44; 32], None).expect("valid name")
}

/// [`keys44`] plus an ML-DSA-65 key.
pub fn keys65() -> SigningKeys {
    SigningKeys::from_seeds(NAME, &RFC8032_SECRET, &[0x44; 32], Some(&[0x65; 32]))
        .expect("valid name")
}

/// Other keys under the same name.
pub fn other_keys() -> SigningKeys {
    SigningKeys::from_seeds(NAME, &[9; 32], &[10; 32], None).expect("valid name")
}

/// A checkpoint of `size` leaves with a recognisable root.
pub fn checkpoint(size: u64) -> Checkpoint {
    let mut root = [0u8; 32];
    for (i, b) in root.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(size as u8);
    }
    Checkpoint::new(NAME, size, root).expect("valid origin")
}

/// Splits a note into its text and its signature lines (without newlines).
pub fn split(note: &str) -> (String, Vec<String>) {
    let at = note.rfind("\n\n").expect("a signed note");
    let text = note[..at + 1].to_owned();
    let lines = note[at + 2..].lines().map(str::to_owned).collect();
    (text, lines)
}

/// The inverse of [`split`].
pub fn join(text: &str, lines: &[String]) -> String {
    let mut out = format!("{text}\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A signature line's name and decoded bytes (key ID first).
pub fn decode_line(line: &str) -> (String, Vec<u8>) {
    let rest = line.strip_prefix("\u{2014} ").expect("signature line");
    let (name, encoded) = rest.split_once(' ').expect("name and signature");
    (name.to_owned(), STANDARD.decode(encoded).expect("base64"))
}

/// A signature line from a name and bytes.
pub fn encode_line(name: &str, bytes: &[u8]) -> String {
    format!("\u{2014} {name} {}", STANDARD.encode(bytes))
}

/// `note` with signature line `index`'s bytes changed by `edit`.
pub fn edit_signature(note: &str, index: usize, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (text, mut lines) = split(note);
    let (name, mut bytes) = decode_line(&lines[index]);
    edit(&mut bytes);
    lines[index] = encode_line(&name, &bytes);
    join(&text, &lines)
}

/// The message an ML-DSA key signs (tlog-cosignature `cosigned_message`
/// layout), built by hand: `label ‖ name<1..255> ‖ timestamp ‖
/// origin<1..255> ‖ start 0 ‖ end = size ‖ root`, with [`NAME`] as the key
/// name.
pub fn ml_dsa_message(label: &[u8], timestamp: u64, cp: &Checkpoint) -> Vec<u8> {
    let mut message = label.to_vec();
    message.push(NAME.len() as u8);
    message.extend_from_slice(NAME.as_bytes());
    message.extend_from_slice(&timestamp.to_be_bytes());
    message.push(cp.origin.len() as u8);
    message.extend_from_slice(cp.origin.as_bytes());
    message.extend_from_slice(&0u64.to_be_bytes());
    message.extend_from_slice(&cp.size.to_be_bytes());
    message.extend_from_slice(&cp.root);
    message
}

/// The ML-DSA-44 (`subtree/v1`) message of a note signed by [`NAME`].
pub fn message44(timestamp: u64, cp: &Checkpoint) -> Vec<u8> {
    ml_dsa_message(b"subtree/v1\n\0", timestamp, cp)
}

/// The ML-DSA-65 (`mnemo-mldsa65/v1`) message of a note signed by [`NAME`].
pub fn message65(timestamp: u64, cp: &Checkpoint) -> Vec<u8> {
    ml_dsa_message(b"mnemo-mldsa65/v1\n\0", timestamp, cp)
}
