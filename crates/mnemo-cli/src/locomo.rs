//! The LoCoMo conversation format (Maharana et al., ACL 2024; see
//! `../shared/data/locomo/README.md`): a JSON array of conversations, each
//! with `sample_id`, `conversation.session_N` (turns `{speaker, dia_id,
//! text}`), `conversation.session_N_date_time` (like `1:56 pm on 8 May,
//! 2023`) and `qa` (`{question, answer, evidence: [dia_id...], category}`).
//!
//! Each turn becomes one memory: content `"{speaker}: {text}"`, source the
//! conversation's `sample_id`, tags the `sample_id`, `session_N` and the
//! speaker's name, metadata `dia_id`, `at` the session's date and time
//! (taken as UTC), and the key `"{sample_id}:{dia_id}"`, so importing a
//! conversation again changes nothing and two turns with the same words stay
//! two memories.
//!
//! The source is the conversation, not the speaker, because recall's
//! temporal association edges join consecutive memories of one source: a
//! question's answer is often the reply to the turn that matches it, said
//! by the other speaker.

use std::path::Path;

use anyhow::{Context, Result, bail};
use mnemo::{NewMemory, Timestamp};
use serde_json::Value;

use crate::time;

/// One turn of a conversation.
#[derive(Debug, Clone)]
pub struct Turn {
    /// Its id in the conversation, like `D3:5` (session 3, turn 5).
    pub dia_id: String,
    /// Who said it.
    pub speaker: String,
    /// What they said.
    pub text: String,
    /// Its session number.
    pub session: u32,
    /// The session's date and time.
    pub at: Timestamp,
}

/// A question about a conversation.
#[derive(Debug, Clone)]
pub struct Question {
    /// The question.
    pub question: String,
    /// The expected answer (as text; empty when the data has none).
    pub answer: String,
    /// The `dia_id`s of the turns that answer it.
    pub evidence: Vec<String>,
    /// 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial.
    pub category: u64,
}

impl Question {
    /// Whether it is answerable (categories 1 to 4) and names evidence.
    pub fn answerable(&self) -> bool {
        (1..=4).contains(&self.category) && !self.evidence.is_empty()
    }
}

/// One conversation.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Its id, like `conv-26`.
    pub sample_id: String,
    /// Its turns, session by session.
    pub turns: Vec<Turn>,
    /// Its questions.
    pub questions: Vec<Question>,
}

impl Conversation {
    /// The turns as memories to remember (see the module docs).
    pub fn memories(&self) -> Vec<NewMemory> {
        self.turns
            .iter()
            .map(|t| {
                NewMemory::new(format!("{}: {}", t.speaker, t.text))
                    .source(self.sample_id.clone())
                    .tag(self.sample_id.clone())
                    .tag(format!("session_{}", t.session))
                    .tag(t.speaker.clone())
                    .meta("dia_id", t.dia_id.as_str())
                    .key(format!("{}:{}", self.sample_id, t.dia_id))
                    .at(t.at)
            })
            .collect()
    }
}

/// Reads the LoCoMo file `path` whose bytes are `bytes`, with an error
/// that names the file and what is wrong (empty, not UTF-8, not JSON and
/// where, or which conversation breaks the format).
pub fn read(path: &Path, bytes: &[u8]) -> Result<Vec<Conversation>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("{} is empty", path.display());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        anyhow::anyhow!("{} is not valid UTF-8 (line {line})", path.display())
    })?;
    let json: Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid JSON (line {}, column {}: {e})",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    parse(&json).with_context(|| format!("{} is not LoCoMo", path.display()))
}

/// The name of question category `c`.
pub fn category_name(c: u64) -> &'static str {
    match c {
        1 => "multi-hop",
        2 => "temporal",
        3 => "open-domain",
        4 => "single-hop",
        5 => "adversarial",
        _ => "unknown",
    }
}

/// Whether `json` looks like LoCoMo: an array whose items have
/// `conversation`.
pub fn looks_like(json: &Value) -> bool {
    json.as_array().is_some_and(|items| {
        !items.is_empty() && items.iter().all(|i| i.get("conversation").is_some())
    })
}

/// Reads LoCoMo conversations from parsed JSON.
pub fn parse(json: &Value) -> Result<Vec<Conversation>> {
    let Some(items) = json.as_array() else {
        bail!("expected a JSON array of conversations");
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            conversation(item)
                .with_context(|| format!("conversation {} (item {i})", sample_id(item)))
        })
        .collect()
}

fn sample_id(item: &Value) -> String {
    item.get("sample_id")
        .and_then(Value::as_str)
        .map_or_else(|| "without sample_id".to_owned(), str::to_owned)
}

fn conversation(item: &Value) -> Result<Conversation> {
    let Some(sample_id) = item.get("sample_id").and_then(Value::as_str) else {
        bail!("missing \"sample_id\"");
    };
    let Some(conv) = item.get("conversation").and_then(Value::as_object) else {
        bail!("\"conversation\" is not an object");
    };
    let mut sessions: Vec<(u32, &Vec<Value>)> = conv
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("session_")?.parse::<u32>().ok()?;
            Some((n, v.as_array()?))
        })
        .collect();
    sessions.sort_unstable_by_key(|(n, _)| *n);
    let mut turns = Vec::new();
    for (n, session) in sessions {
        let key = format!("session_{n}_date_time");
        let Some(when) = conv.get(&key).and_then(Value::as_str) else {
            bail!("missing \"{key}\"");
        };
        let at = parse_date_time(when).with_context(|| format!("\"{key}\""))?;
        for (i, turn) in session.iter().enumerate() {
            let field = |name: &str| turn.get(name).and_then(Value::as_str);
            let (Some(speaker), Some(dia_id), Some(text)) =
                (field("speaker"), field("dia_id"), field("text"))
            else {
                bail!("turn {i} of session {n} lacks \"speaker\", \"dia_id\" or \"text\"");
            };
            turns.push(Turn {
                dia_id: dia_id.to_owned(),
                speaker: speaker.to_owned(),
                text: text.to_owned(),
                session: n,
                at,
            });
        }
    }
    let mut questions = Vec::new();
    for qa in item
        .get("qa")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(question) = qa.get("question").and_then(Value::as_str) else {
            continue;
        };
        let answer = match qa.get("answer") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        // A few evidence entries hold several ids ("D8:6; D9:17").
        let evidence = qa
            .get("evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .flat_map(|e| e.split([';', ',', ' ']))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        questions.push(Question {
            question: question.to_owned(),
            answer,
            evidence,
            category: qa.get("category").and_then(Value::as_u64).unwrap_or(0),
        });
    }
    Ok(Conversation {
        sample_id: sample_id.to_owned(),
        turns,
        questions,
    })
}

/// Parses LoCoMo's session times, like `1:56 pm on 8 May, 2023` (taken as
/// UTC; month names may be abbreviated to three letters).
pub fn parse_date_time(text: &str) -> Result<Timestamp> {
    let bad = || anyhow::anyhow!("{text:?} is not a date and time like \"1:56 pm on 8 May, 2023\"");
    let lower = text.trim().to_ascii_lowercase();
    let (clock, date) = lower.split_once(" on ").ok_or_else(bad)?;
    let (hm, meridiem) = clock.trim().split_once(' ').ok_or_else(bad)?;
    let (h, m) = hm.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&h) || m > 59 {
        return Err(bad());
    }
    let hour = match meridiem.trim() {
        "am" | "a.m." => h % 12,
        "pm" | "p.m." => h % 12 + 12,
        _ => return Err(bad()),
    };
    let parts: Vec<&str> = date.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let [day, month, year] = parts.as_slice() else {
        return Err(bad());
    };
    let day: u32 = day.parse().map_err(|_| bad())?;
    let month = mnemo::calendar::month_from_name(month).ok_or_else(bad)?;
    let year: i64 = year.parse().map_err(|_| bad())?;
    if day == 0 || day > time::days_in_month(year, month) {
        return Err(bad());
    }
    time::from_civil(year, month, day, hour, m, 0, 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_session_times() {
        let t = parse_date_time("1:56 pm on 8 May, 2023").expect("parses");
        assert_eq!(time::format(t), "2023-05-08T13:56:00Z");
        let t = parse_date_time("12:09 am on 13 September, 2023").expect("parses");
        assert_eq!(time::format(t), "2023-09-13T00:09:00Z");
        let t = parse_date_time("12:30 pm on 1 Jan, 2024").expect("parses");
        assert_eq!(time::format(t), "2024-01-01T12:30:00Z");
        assert!(parse_date_time("13:00 pm on 8 May, 2023").is_err());
        assert!(parse_date_time("1:56 pm on 31 June, 2023").is_err());
        assert!(parse_date_time("yesterday").is_err());
    }

    #[test]
    fn turns_become_memories() {
        let json: Value = serde_json::from_str(
            r#"[{"sample_id": "c1", "conversation": {
                  "speaker_a": "Ann", "speaker_b": "Bo",
                  "session_2_date_time": "9:00 am on 2 May, 2023",
                  "session_2": [{"speaker": "Bo", "dia_id": "D2:1", "text": "Later."}],
                  "session_1_date_time": "1:56 pm on 1 May, 2023",
                  "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"}]},
                "qa": [{"question": "Q?", "answer": 2022, "evidence": ["D1:1; D2:1"], "category": 2},
                       {"question": "Adv?", "evidence": [], "category": 5}]}]"#,
        )
        .expect("json");
        assert!(looks_like(&json));
        let convs = parse(&json).expect("parses");
        let memories = convs[0].memories();
        assert_eq!(memories.len(), 2);
        assert_eq!(memories[0].content, "Ann: Hi!");
        assert_eq!(memories[0].tags, vec!["c1", "session_1", "Ann"]);
        assert_eq!(memories[1].source.as_deref(), Some("c1"));
        assert_eq!(
            memories[1].metadata.get("dia_id"),
            Some(&mnemo::Value::Text("D2:1".into()))
        );
        assert_eq!(memories[1].key.as_deref(), Some("c1:D2:1"));
        assert_eq!(convs[0].questions[0].evidence, vec!["D1:1", "D2:1"]);
        assert_eq!(convs[0].questions[0].answer, "2022");
        assert!(convs[0].questions[0].answerable());
        assert!(!convs[0].questions[1].answerable());
    }
}
