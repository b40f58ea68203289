//! Promotion rules: which raw events become memories, and how.
//!
//! A rule names the event types it looks at, a predicate over the event's
//! JSON payload, and templates for the memory it writes. Rules are tried in
//! order and the first that matches an event promotes it; an event no rule
//! matches stays a raw event only. In JSON (the server's configuration and
//! `PUT /v1/namespaces/{ns}/events/rules` take this form):
//!
//! ```json
//! {"name": "tool-errors",
//!  "types": ["tool_result"],
//!  "when": {"exists": "error"},
//!  "content": "{tool} failed: {error}",
//!  "tags": ["tool-error"],
//!  "tag_fields": ["tool"]}
//! ```
//!
//! Predicates: `"always"`, `{"exists": PATH}`, `{"eq": [PATH, VALUE]}`,
//! `{"ne": [PATH, VALUE]}`, `{"contains": [PATH, TEXT]}` (a string field
//! containing the text), `{"all": [...]}`, `{"any": [...]}`, `{"not": P}`.
//! A PATH is a dotted path into the payload's objects (`result.status`). An
//! event whose payload is not a JSON object matches only `always` (and
//! `not` of anything else).
//!
//! Templates replace `{PATH}` with the field's value (strings as they are,
//! other values as JSON; a missing field as nothing), `{$type}` with the
//! event type and `{$payload}` with the whole payload as text. `{{` and
//! `}}` stand for braces.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::model::Kind;

/// A condition on an event's JSON payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// Every event.
    #[default]
    Always,
    /// The field exists (and is not `null`).
    Exists(String),
    /// The field equals the value.
    Eq(String, Json),
    /// The field is missing or differs from the value.
    Ne(String, Json),
    /// The field is a string containing the text.
    Contains(String, String),
    /// Every predicate holds.
    All(Vec<Predicate>),
    /// At least one predicate holds.
    Any(Vec<Predicate>),
    /// The predicate does not hold.
    Not(Box<Predicate>),
}

/// Largest nesting of `all` / `any` / `not` a rule may use.
pub const MAX_PREDICATE_DEPTH: usize = 16;

impl Predicate {
    /// Whether the predicate holds for a payload (`None`: not a JSON object).
    pub fn holds(&self, payload: Option<&Json>) -> bool {
        match self {
            Predicate::Always => true,
            Predicate::Exists(path) => field(payload, path).is_some_and(|v| !v.is_null()),
            Predicate::Eq(path, value) => field(payload, path) == Some(value),
            Predicate::Ne(path, value) => field(payload, path) != Some(value),
            Predicate::Contains(path, text) => field(payload, path)
                .and_then(Json::as_str)
                .is_some_and(|s| s.contains(text.as_str())),
            Predicate::All(ps) => ps.iter().all(|p| p.holds(payload)),
            Predicate::Any(ps) => ps.iter().any(|p| p.holds(payload)),
            Predicate::Not(p) => !p.holds(payload),
        }
    }

    fn depth(&self) -> usize {
        match self {
            Predicate::All(ps) | Predicate::Any(ps) => {
                1 + ps.iter().map(Predicate::depth).max().unwrap_or(0)
            }
            Predicate::Not(p) => 1 + p.depth(),
            _ => 1,
        }
    }
}

/// The value at a dotted path of a JSON object.
fn field<'a>(payload: Option<&'a Json>, path: &str) -> Option<&'a Json> {
    let mut at = payload?;
    for part in path.split('.') {
        at = at.as_object()?.get(part)?;
    }
    Some(at)
}

/// One promotion rule (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionRule {
    /// The rule's name (recorded in each memory it writes, as metadata
    /// `promoted_by`).
    pub name: String,
    /// The event types it looks at (empty: every type).
    #[serde(default)]
    pub types: Vec<String>,
    /// When it applies. Default `always`.
    #[serde(default)]
    pub when: Predicate,
    /// The memory's content. Default `{$payload}`.
    #[serde(default = "default_content")]
    pub content: String,
    /// The memory's kind (`episodic`, `semantic` or `procedural`). Default
    /// episodic.
    #[serde(default = "default_kind", with = "kind_name")]
    pub kind: Kind,
    /// Tags every memory of this rule gets.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Fields whose values become tags too (missing ones are skipped).
    #[serde(default)]
    pub tag_fields: Vec<String>,
    /// The memory's source, a template (default: none).
    #[serde(default)]
    pub source: Option<String>,
    /// The memory's importance in [0, 1]. Default 0.5.
    #[serde(default = "default_importance")]
    pub importance: f32,
}

fn default_content() -> String {
    "{$payload}".to_owned()
}

fn default_importance() -> f32 {
    0.5
}

fn default_kind() -> Kind {
    Kind::Episodic
}

/// A kind as its lower-case name in rules' JSON.
mod kind_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::model::Kind;

    pub fn serialize<S: Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let name = String::deserialize(d)?;
        Kind::parse(&name).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown kind {name:?} (expected episodic, semantic or procedural)"
            ))
        })
    }
}

impl PromotionRule {
    /// A rule promoting every event of `types` with the payload as content.
    pub fn new(name: impl Into<String>, types: &[&str]) -> Self {
        Self {
            name: name.into(),
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            when: Predicate::Always,
            content: default_content(),
            kind: Kind::Episodic,
            tags: Vec::new(),
            tag_fields: Vec::new(),
            source: None,
            importance: default_importance(),
        }
    }

    /// Checks the rule: a name, importance in [0, 1], bounded predicates,
    /// templates whose braces balance.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a promotion rule needs a name".into());
        }
        if !(0.0..=1.0).contains(&self.importance) {
            return Err(format!(
                "rule {}: importance must be in [0, 1], got {}",
                self.name, self.importance
            ));
        }
        if self.when.depth() > MAX_PREDICATE_DEPTH {
            return Err(format!(
                "rule {}: predicates nest at most {MAX_PREDICATE_DEPTH} deep",
                self.name
            ));
        }
        for template in std::iter::once(&self.content).chain(self.source.iter()) {
            parse_template(template).map_err(|e| format!("rule {}: {e}", self.name))?;
        }
        Ok(())
    }

    /// Whether the rule looks at events of this type.
    pub fn takes(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == event_type)
    }
}

#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Field(&'a str),
}

fn parse_template(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            pieces.push(Piece::Brace('{'));
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            pieces.push(Piece::Brace('}'));
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let end = after
                .find('}')
                .ok_or_else(|| format!("template {template:?} has an unclosed '{{'"))?;
            let name = &after[..end];
            if name.is_empty() || name.contains('{') {
                return Err(format!(
                    "template {template:?} has an empty or nested field"
                ));
            }
            pieces.push(Piece::Field(name));
            rest = &after[end + 1..];
        } else if rest.starts_with('}') {
            return Err(format!("template {template:?} has a '}}' without '{{'"));
        } else {
            let end = rest.find(['{', '}']).unwrap_or(rest.len());
            pieces.push(Piece::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    Ok(pieces)
}

/// Fills a template (validated by [`PromotionRule::validate`]; a template
/// that does not parse renders as nothing).
pub(crate) fn render(
    template: &str,
    event_type: &str,
    raw: &[u8],
    payload: Option<&Json>,
) -> String {
    let mut out = String::new();
    for piece in parse_template(template).unwrap_or_default() {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Brace(c) => out.push(c),
            Piece::Field("$type") => out.push_str(event_type),
            Piece::Field("$payload") => out.push_str(&String::from_utf8_lossy(raw)),
            Piece::Field(path) => {
                if let Some(value) = field(payload, path) {
                    push_value(&mut out, value);
                }
            }
        }
    }
    out
}

/// A field's value as text: strings as they are, other values as JSON.
pub(crate) fn push_value(out: &mut String, value: &Json) {
    match value {
        Json::String(s) => out.push_str(s),
        Json::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

/// The value of a field as a tag, if it has one.
pub(crate) fn tag_of(payload: Option<&Json>, path: &str) -> Option<String> {
    let mut tag = String::new();
    push_value(&mut tag, field(payload, path)?);
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        serde_json::from_str(text).expect("test JSON")
    }

    #[test]
    fn predicates_read_dotted_fields() {
        let p = json(
            r#"{"tool":"search","error":"timeout after 30 s","result":{"status":"failed","n":3}}"#,
        );
        let p = Some(&p);
        assert!(Predicate::Exists("error".into()).holds(p));
        assert!(!Predicate::Exists("nothing".into()).holds(p));
        assert!(Predicate::Eq("result.status".into(), json(r#""failed""#)).holds(p));
        assert!(Predicate::Eq("result.n".into(), json("3")).holds(p));
        assert!(Predicate::Ne("tool".into(), json(r#""shell""#)).holds(p));
        assert!(Predicate::Contains("error".into(), "timeout".into()).holds(p));
        assert!(!Predicate::Contains("result.n".into(), "3".into()).holds(p));
        let both: Predicate = serde_json::from_str(
            r#"{"all": [{"exists": "error"}, {"not": {"eq": ["tool", "shell"]}}]}"#,
        )
        .expect("predicate JSON");
        assert!(both.holds(p));
        assert!(!Predicate::Exists("error".into()).holds(None));
        assert!(Predicate::Always.holds(None));
    }

    #[test]
    fn templates_fill_fields_and_refuse_bad_braces() {
        let p = json(r#"{"tool":"search","error":"timeout","n":2}"#);
        let out = render(
            "{tool} failed ({n}x): {error} {{raw}} {missing}.",
            "tool_result",
            b"",
            Some(&p),
        );
        assert_eq!(out, "search failed (2x): timeout {raw} .");
        assert_eq!(
            render("{$type}: {$payload}", "note", b"hello", None),
            "note: hello"
        );
        for bad in ["{open", "close}", "{}", "{a{b}}"] {
            assert!(parse_template(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rules_parse_from_json_and_are_checked() {
        let rule: PromotionRule = serde_json::from_str(
            r#"{"name":"tool-errors","types":["tool_result"],"when":{"exists":"error"},
                "content":"{tool} failed: {error}","tags":["tool-error"],"tag_fields":["tool"]}"#,
        )
        .expect("rule JSON");
        assert!(rule.validate().is_ok());
        assert!(rule.takes("tool_result") && !rule.takes("observation"));
        assert!(serde_json::from_str::<PromotionRule>(r#"{"name":"x","colour":"red"}"#).is_err());
        let mut bad = rule.clone();
        bad.importance = f32::NAN;
        assert!(bad.validate().is_err());
        let mut bad = rule.clone();
        bad.content = "{oops".into();
        assert!(bad.validate().is_err());
        let mut deep = Predicate::Always;
        for _ in 0..20 {
            deep = Predicate::Not(Box::new(deep));
        }
        let mut bad = rule;
        bad.when = deep;
        assert!(bad.validate().is_err());
    }
}
