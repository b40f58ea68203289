//! The JSON form of a memory: one object per line in `import` and `export`
//! files, and the memory objects of `--json` output.
//!
//! ```json
//! {"id": 7, "content": "Alice moved to Lisbon", "kind": "semantic",
//!  "tags": ["alice"], "source": "chat", "key": "alice-home",
//!  "at": "2024-05-01T13:00:00Z", "importance": 0.8, "confidence": 1.0,
//!  "metadata": {"turn": 3}, "valid": {"from": "2024-05-01T00:00:00Z", "until": null}}
//! ```
//!
//! Only `content` is required. `at` (and the ends of `valid`) is RFC 3339
//! or a number of Unix seconds; `metadata` values are scalars (string,
//! number, boolean, null). `id` is accepted and ignored on import (the
//! namespace assigns ids). Any other field is an error, so a misspelt field
//! is never silently dropped.
//!
//! [`parse_line`] also runs the engine's own check of a new memory
//! ([`NewMemory::validate`]: non-empty content within the size limit,
//! labels within [`mnemo::MAX_LABEL_BYTES`], importance and confidence in
//! [0, 1]), so an import can validate a whole file before writing anything.

pub use mnemo::Limits;
use mnemo::{Kind, Memory, Metadata, NewMemory, Timestamp, Validity, Value};
use serde_json::{Map, Value as Json, json};

use crate::time;

/// The fields an import line may have.
const FIELDS: [&str; 11] = [
    "id",
    "content",
    "kind",
    "tags",
    "source",
    "key",
    "at",
    "importance",
    "confidence",
    "metadata",
    "valid",
];

/// Parses one JSON line into a memory to remember, or says what is wrong
/// with it.
pub fn parse_line(line: &str, limits: Limits) -> Result<NewMemory, String> {
    let value: Json = serde_json::from_str(line).map_err(|e| {
        // serde_json says "... at line 1 column 13"; the line is ours to name.
        let text = e.to_string();
        let what = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(w, _)| w);
        format!("not valid JSON at column {}: {what}", e.column())
    })?;
    let Json::Object(obj) = value else {
        return Err("expected a JSON object with at least a \"content\" field".into());
    };
    for name in obj.keys() {
        if !FIELDS.contains(&name.as_str()) {
            return Err(format!(
                "unknown field {name:?} (allowed: {})",
                FIELDS.join(", ")
            ));
        }
    }
    let content = match obj.get("content") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "\"content\" must be a string, not {}",
                kind_of(other)
            ));
        }
        None => return Err("missing \"content\"".into()),
    };
    let mut m = NewMemory::new(content);
    if let Some(id) = obj.get("id")
        && !(id.is_u64() || id.is_null())
    {
        return Err(format!(
            "\"id\" must be a whole number, not {}",
            kind_of(id)
        ));
    }
    if let Some(k) = opt_string(&obj, "kind")? {
        m.kind = parse_kind(&k)?;
    }
    match obj.get("tags") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for item in items {
                let Json::String(tag) = item else {
                    return Err(format!("\"tags\" must hold strings, not {}", kind_of(item)));
                };
                m.tags.push(tag.clone());
            }
        }
        Some(other) => {
            return Err(format!(
                "\"tags\" must be an array of strings, not {}",
                kind_of(other)
            ));
        }
    }
    if let Some(s) = opt_string(&obj, "source")? {
        m.source = Some(s);
    }
    if let Some(k) = opt_string(&obj, "key")? {
        m.key = Some(k);
    }
    if let Some(at) = obj.get("at") {
        m.at = json_time("at", at)?;
    }
    if let Some(x) = opt_unit(&obj, "importance")? {
        m.importance = x;
    }
    if let Some(x) = opt_unit(&obj, "confidence")? {
        m.confidence = x;
    }
    match obj.get("metadata") {
        None | Some(Json::Null) => {}
        Some(Json::Object(fields)) => m.metadata = metadata_from_json(fields)?,
        Some(other) => {
            return Err(format!(
                "\"metadata\" must be an object, not {}",
                kind_of(other)
            ));
        }
    }
    match obj.get("valid") {
        None | Some(Json::Null) => {}
        Some(Json::Object(v)) => {
            for name in v.keys() {
                if name != "from" && name != "until" {
                    return Err(format!(
                        "unknown field {name:?} in \"valid\" (allowed: from, until)"
                    ));
                }
            }
            let from = v
                .get("from")
                .map(|t| json_time("valid.from", t))
                .transpose()?;
            let until = v
                .get("until")
                .map(|t| json_time("valid.until", t))
                .transpose()?;
            m.valid = Some(Validity {
                from: from.flatten(),
                until: until.flatten(),
            });
        }
        Some(other) => {
            return Err(format!(
                "\"valid\" must be an object with \"from\" and/or \"until\", not {}",
                kind_of(other)
            ));
        }
    }
    // The engine's own check, so a whole file is validated before anything
    // is written.
    m.validate(&limits).map_err(|e| e.to_string())?;
    Ok(m)
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn opt_string(obj: &Map<String, Json>, name: &str) -> Result<Option<String>, String> {
    match obj.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{name:?} must be a string, not {}", kind_of(other))),
    }
}

fn opt_unit(obj: &Map<String, Json>, name: &str) -> Result<Option<f32>, String> {
    match obj.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if (0.0..=1.0).contains(&x) {
                Ok(Some(x as f32))
            } else {
                Err(format!("{name:?} must be in [0, 1], not {n}"))
            }
        }
        Some(other) => Err(format!(
            "{name:?} must be a number in [0, 1], not {}",
            kind_of(other)
        )),
    }
}

fn json_time(name: &str, v: &Json) -> Result<Option<Timestamp>, String> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => time::parse(s)
            .map(Some)
            .map_err(|e| format!("{name:?}: {e}")),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                return i
                    .checked_mul(1_000_000_000)
                    .map(|ns| Some(Timestamp(ns)))
                    .ok_or_else(|| format!("{name:?}: {i} seconds is out of range"));
            }
            n.as_f64()
                .and_then(time::from_unix_f64)
                .map(Some)
                .ok_or_else(|| format!("{name:?}: {n} seconds is out of range"))
        }
        other => Err(format!(
            "{name:?} must be an RFC 3339 string or Unix seconds, not {}",
            kind_of(other)
        )),
    }
}

/// Parses a kind name (`episodic`, `semantic`, `procedural`).
pub fn parse_kind(name: &str) -> Result<Kind, String> {
    Kind::parse(name)
        .ok_or_else(|| format!("unknown kind {name:?} (expected episodic, semantic or procedural)"))
}

fn metadata_from_json(fields: &Map<String, Json>) -> Result<Metadata, String> {
    let mut out = Metadata::new();
    for (name, v) in fields {
        let value = match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Text(s.clone()),
            other => {
                return Err(format!(
                    "metadata {name:?} must be a string, number, boolean or null, not {}",
                    kind_of(other)
                ));
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// A metadata value as JSON.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(x) => json!(x),
        Value::Text(s) => Json::String(s.clone()),
    }
}

/// Parses a `name=value` metadata argument: `true`/`false`, `null`, an
/// integer, a finite number, or else text.
pub fn parse_meta_arg(arg: &str) -> Result<(String, Value), String> {
    let Some((name, raw)) = arg.split_once('=') else {
        return Err(format!("{arg:?} is not name=value"));
    };
    mnemo::input::validate_label("metadata name", name).map_err(|e| e.to_string())?;
    let value = match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match (raw.parse::<i64>(), raw.parse::<f64>()) {
            (Ok(i), _) => Value::Int(i),
            (_, Ok(x)) if x.is_finite() => Value::Float(x),
            _ => Value::Text(raw.to_owned()),
        },
    };
    Ok((name.to_owned(), value))
}

/// A memory as a JSON object with the import fields plus `id` (what
/// `export` writes and `import` reads back).
pub fn memory_to_json(m: &Memory) -> Json {
    let mut obj = Map::new();
    obj.insert("id".into(), json!(m.id.0));
    obj.insert("content".into(), json!(m.content));
    obj.insert("kind".into(), json!(m.kind.as_str()));
    obj.insert("tags".into(), json!(m.tags));
    if let Some(s) = &m.source {
        obj.insert("source".into(), json!(s));
    }
    if let Some(k) = &m.key {
        obj.insert("key".into(), json!(k));
    }
    obj.insert("at".into(), json!(time::format(m.at)));
    obj.insert("importance".into(), json!(m.importance));
    obj.insert("confidence".into(), json!(m.confidence));
    let metadata: Map<String, Json> = m
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect();
    obj.insert("metadata".into(), Json::Object(metadata));
    if let Some(v) = &m.valid {
        obj.insert(
            "valid".into(),
            json!({
                "from": v.from.map(time::format),
                "until": v.until.map(time::format),
            }),
        );
    }
    Json::Object(obj)
}

/// [`memory_to_json`] plus what only the namespace knows: when it was
/// recorded and the log seqs of the events that created and last changed
/// it.
pub fn memory_to_json_full(m: &Memory) -> Json {
    let mut v = memory_to_json(m);
    if let Json::Object(obj) = &mut v {
        obj.insert("recorded".into(), json!(time::format(m.recorded)));
        obj.insert("created_seq".into(), json!(m.created_seq));
        obj.insert("updated_seq".into(), json!(m.updated_seq));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_content_bytes: 1 << 20,
        dimension: None,
    };

    #[test]
    fn parses_every_field() {
        let m = parse_line(
            r#"{"id": 3, "content": "Alice moved", "kind": "semantic", "tags": ["a", "b"],
                "source": "chat", "key": "k1", "at": "2024-05-01T13:00:00Z",
                "importance": 0.8, "confidence": 0.5, "metadata": {"n": 3, "x": 1.5, "s": "t", "b": true},
                "valid": {"from": 0, "until": null}}"#,
            LIMITS,
        )
        .expect("valid line");
        assert_eq!(m.content, "Alice moved");
        assert_eq!(m.kind, Kind::Semantic);
        assert_eq!(m.tags, vec!["a", "b"]);
        assert_eq!(m.key.as_deref(), Some("k1"));
        assert_eq!(m.at, Some(Timestamp::from_secs(1_714_568_400)));
        assert_eq!(m.metadata["n"], Value::Int(3));
        assert_eq!(m.metadata["x"], Value::Float(1.5));
        assert_eq!(m.valid.and_then(|v| v.from), Some(Timestamp(0)));
        let m = parse_line(r#"{"content": "x", "at": 1.25}"#, LIMITS).expect("valid");
        assert_eq!(m.at, Some(Timestamp(1_250_000_000)));
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |line: &str| parse_line(line, LIMITS).expect_err("invalid");
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[1]").contains("expected a JSON object"));
        assert!(err(r#"{"tags": []}"#).contains("missing \"content\""));
        assert!(err(r#"{"content": "  "}"#).contains("empty"));
        assert!(err(r#"{"content": "x", "tag": "a"}"#).contains("unknown field \"tag\""));
        assert!(err(r#"{"content": "x", "importance": 2}"#).contains("[0, 1]"));
        assert!(err(r#"{"content": "x", "kind": "nope"}"#).contains("unknown kind"));
        assert!(err(r#"{"content": "x", "tags": [1]}"#).contains("strings"));
        assert!(err(r#"{"content": "x", "at": "soon"}"#).contains("\"at\""));
        assert!(err(r#"{"content": "x", "metadata": {"a": [1]}}"#).contains("metadata \"a\""));
        assert!(err(r#"{"content": "x", "source": ""}"#).contains("source: it is empty"));
    }

    #[test]
    fn meta_arguments_have_types() {
        assert_eq!(
            parse_meta_arg("n=3").expect("ok"),
            ("n".into(), Value::Int(3))
        );
        assert_eq!(
            parse_meta_arg("x=0.5").expect("ok"),
            ("x".into(), Value::Float(0.5))
        );
        assert_eq!(
            parse_meta_arg("s=a=b").expect("ok"),
            ("s".into(), Value::Text("a=b".into()))
        );
        assert!(parse_meta_arg("novalue").is_err());
    }
}
