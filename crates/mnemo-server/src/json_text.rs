//! API inputs read from JSON text with a misfit's field named, without a
//! path-tracking deserializer.
//!
//! `serde_path_to_error` names the field by wrapping every deserializer
//! call, which instantiates each input type's deserialisation code a second
//! time (about 100 KB of the WebAssembly package). Here the type is read by
//! `serde_json` alone; only when that fails does [`path_at`] walk the text
//! up to the error's position and name the field there, in the same form:
//! `memories[0].content`.

use serde::de::DeserializeOwned;

/// Why JSON text did not give the wanted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    /// Not JSON at all (a syntax error or the end of the text), rather than
    /// JSON of the wrong shape.
    pub syntax: bool,
    /// The field where it went wrong (`memories[0].content`), empty for the
    /// whole value or a syntax error.
    pub path: String,
    /// serde_json's message, with its position.
    pub message: String,
}

impl std::fmt::Display for Misfit {
    /// `path: message`, or the message alone when there is no path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// `text` read as a `T` (trailing characters refused, as
/// `serde_json::from_slice` does).
pub fn from_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, Misfit> {
    serde_json::from_slice(text).map_err(|e| misfit(text, &e))
}

/// The [`Misfit`] of serde_json's error `e` while reading `text`.
fn misfit(text: &[u8], e: &serde_json::Error) -> Misfit {
    let syntax = e.is_syntax() || e.is_eof();
    Misfit {
        syntax,
        path: if syntax {
            String::new()
        } else {
            path_at(text, e.line(), e.column())
        },
        message: e.to_string(),
    }
}

/// One open container while the text is walked.
enum Frame {
    /// An object and the key of the member being read (`None` before the
    /// first key); `expect_key` between a `{` or `,` and the key.
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    /// An array and the index of the element being read.
    Array { index: usize },
}

/// The field being read at `line` and `column` (1-based, in bytes, as
/// serde_json reports them) of `text`: object keys joined by `.`, array
/// indices as `[i]`; empty at the top level. Reads only up to that
/// position, so it works on the text serde_json stopped in.
pub fn path_at(text: &[u8], line: usize, column: usize) -> String {
    let end = offset_of(text, line, column);
    let mut stack: Vec<Frame> = Vec::new();
    let mut at = 0;
    while at < end {
        match text[at] {
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b'"' => {
                let (content, next) = string_at(text, at + 1, end);
                if let Some(Frame::Object {
                    key,
                    expect_key: true,
                }) = stack.last_mut()
                {
                    *key = Some(content);
                }
                at = next;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// The byte offset of `line`, `column` (1-based; column 0 is the line's
/// start), clamped to the text.
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => start += newline + 1,
            None => return text.len(),
        }
    }
    start.saturating_add(column).min(text.len())
}

/// The string whose content starts at `from` (after its opening quote),
/// read no further than `end`: its text, escapes decoded, and the offset
/// after its closing quote.
fn string_at(text: &[u8], from: usize, end: usize) -> (String, usize) {
    let mut bytes = Vec::new();
    let mut at = from;
    while at < end {
        match text[at] {
            b'"' => return (String::from_utf8_lossy(&bytes).into_owned(), at + 1),
            b'\\' if at + 1 < end => {
                at += 2;
                let plain = match text[at - 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'u' => {
                        let (c, next) = unicode_escape(text, at, end);
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        at = next;
                        continue;
                    }
                    // `\"`, `\\`, `\/`.
                    other => other,
                };
                bytes.push(plain);
            }
            b => {
                bytes.push(b);
                at += 1;
            }
        }
    }
    (String::from_utf8_lossy(&bytes).into_owned(), end)
}

/// The character of a `\uXXXX` escape whose digits start at `at` (a
/// surrogate pair when a second escape follows), and the offset after it;
/// U+FFFD for a malformed one.
fn unicode_escape(text: &[u8], at: usize, end: usize) -> (char, usize) {
    let hex = |at: usize| -> Option<u32> {
        let digits = text.get(at..at + 4).filter(|_| at + 4 <= end)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let Some(first) = hex(at) else {
        return (char::REPLACEMENT_CHARACTER, (at + 4).min(end));
    };
    if (0xd800..0xdc00).contains(&first)
        && text.get(at + 4..at + 6) == Some(b"\\u")
        && let Some(second) = hex(at + 6).filter(|s| (0xdc00..0xe000).contains(s))
    {
        let c = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
        return (
            char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER),
            at + 10,
        );
    }
    (
        char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER),
        at + 4,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        content: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        meta: BTreeMap<String, u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        memories: Vec<Item>,
        #[serde(default)]
        k: Option<u32>,
    }

    /// What serde_path_to_error names for the same misfit.
    fn reference(text: &str) -> String {
        let mut de = serde_json::Deserializer::from_str(text);
        let e = serde_path_to_error::deserialize::<_, Batch>(&mut de).expect_err("misfit");
        let path = e.path().to_string();
        if path == "." { String::new() } else { path }
    }

    #[test]
    fn misfits_name_the_field_as_path_tracking_would() {
        for text in [
            r#"{"memories":[{"content":7}]}"#,
            r#"{"memories":[{"content":"a"},{"content":"b","tags":["x",3]}]}"#,
            r#"{"memories":[{"content":"a","tags":"x"}]}"#,
            r#"{"k":"ten","memories":[]}"#,
            r#"{"memories":[],"k":-1}"#,
            r#"{"memories":[{"content":"a","meta":{"w\"x":"y"}}]}"#,
            r#"{"memories":[{"content":"a"},{"tags":[]}]}"#,
            r#"{"memories" : [ {"content" : "a" } , { "content" : {"nested":[1,2]} } ] }"#,
            "{\n  \"memories\": [\n    {\"content\": false}\n  ]\n}",
            r#"{"memories":{}}"#,
            r#"[1]"#,
        ] {
            let e = from_json::<Batch>(text.as_bytes()).expect_err(text);
            assert!(!e.syntax, "{text}: {e}");
            assert_eq!(e.path, reference(text), "{text}: {e}");
        }
    }

    #[test]
    fn generated_misfits_match_path_tracking() {
        // Seeded documents of the `Batch` shape with one leaf of the wrong
        // type (or a wrong key) somewhere, in random spacing.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..3_000 {
            let space = [" ", "", "\n", "  "][next(4) as usize].replace("\\n", "\n");
            let wrong = ["7", "true", "null", "{}", "[1]", "\"s\\\"q\""];
            let mut items = Vec::new();
            let count = next(4);
            for i in 0..count {
                let bad = next(5);
                let content = if bad == 0 {
                    wrong[next(6) as usize]
                } else {
                    "\"c\""
                };
                let mut tags = vec!["\"t\"".to_owned(); next(3) as usize];
                if bad == 1 && !tags.is_empty() {
                    let at = next(tags.len() as u64) as usize;
                    tags[at] = wrong[next(5) as usize].to_owned();
                }
                let key = if bad == 2 {
                    "\"col\\u006fur\""
                } else {
                    "\"tags\""
                };
                let meta = if bad == 3 {
                    "{\"a\":1,\"b\":\"x\"}"
                } else {
                    "{\"a\":1}"
                };
                items.push(format!(
                    "{{{space}\"content\"{space}:{space}{content},{key}:[{}],\"meta\":{meta}{space}}}",
                    tags.join(&format!(",{space}"))
                ));
                let _ = i;
            }
            let k = if next(6) == 0 { "\"k\"" } else { "1" };
            let text = format!(
                "{{\"k\":{space}{k},{space}\"memories\":{space}[{}]}}",
                items.join(&format!("{space},"))
            );
            match from_json::<Batch>(text.as_bytes()) {
                Ok(_) => {}
                Err(e) => {
                    assert!(!e.syntax, "{text}: {e}");
                    assert_eq!(e.path, reference(&text), "{text}: {e}");
                }
            }
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_placed_in_their_object() {
        let e = from_json::<Batch>(br#"{"memories":[{"content":"a","colour":1}]}"#)
            .expect_err("unknown");
        assert_eq!(e.path, "memories[0].colour");
        assert!(e.message.starts_with("unknown field `colour`"), "{e}");
        let e = from_json::<Batch>(br#"{"memories":[{"content":"a"},{"tags":[]}]}"#)
            .expect_err("missing");
        assert_eq!(e.path, "memories[1]");
        assert_eq!(e.to_string(), format!("memories[1]: {}", e.message));
        let e = from_json::<Batch>(br#"{"memories":[{"content":"a","\ud83d\ude00\u00e9":1}]}"#)
            .expect_err("unknown");
        assert_eq!(e.path, "memories[0].\u{1f600}\u{e9}");
    }

    #[test]
    fn syntax_errors_have_no_path() {
        for text in [&b"{"[..], b"{\"k\":", b"{\"memories\":[]} x", b"", b"\xff"] {
            let e = from_json::<Batch>(text).expect_err("not JSON");
            assert!(e.syntax, "{e}");
            assert_eq!(e.path, "");
            assert_eq!(e.to_string(), e.message);
        }
    }

    #[test]
    fn the_walk_stops_at_the_text_and_never_panics() {
        for text in [&b"{\"a"[..], b"\"\\", b"[[[", b"}}]]", b"{\"a\\u12", b""] {
            for line in 0..3 {
                for column in 0..8 {
                    let _ = path_at(text, line, column);
                }
            }
        }
        assert_eq!(path_at(br#"{"a":{"b":[0,1,"#, 1, 15), "a.b[2]");
        // Seeded texts from JSON's own characters, cut anywhere.
        let alphabet = b"{}[]:,\"\\u0aZ9 \n";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| alphabet[((state >> (i % 50)) as usize + i) % alphabet.len()])
                .collect();
            let _ = path_at(&text, (state % 3) as usize, (state >> 8) as usize % 30);
        }
        let _ = path_at(b"{\"a\":1}", usize::MAX, usize::MAX);
    }
}
