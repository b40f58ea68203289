//! The LoCoMo conversation format (Maharana et al., ACL 2024; see
//! `../shared/data/locomo/README.md`), read into typed conversations.
//!
//! A file is a JSON array of conversations. Each has a `sample_id`, a
//! `conversation` object holding `session_N` (a list of turns `{speaker,
//! dia_id, text}`) and `session_N_date_time` (like `1:56 pm on 8 May,
//! 2023`), a `qa` list (`{question, answer, evidence: [dia_id...],
//! category}`) and, optionally, an `observation` object: per session
//! (`session_N_observation`) and speaker, a list of `[sentence, dia_id]`
//! pairs (the id may also be a list of ids), the facts the dataset's
//! authors drew from the session, each citing the turns it comes from.
//!
//! The reader is strict about what it uses and ignores the rest (image
//! captions, summaries, event summaries): a missing or mistyped field, an
//! unparseable session date, a `dia_id` given to two turns or observations
//! of a session that has no turns are errors that name the conversation
//! and the place. Evidence ids are kept as written, even those that name
//! no turn (the data has a few, like `D:11:26`): how to count them is the
//! evaluation's call ([`Conversation::turn`] tells whether one names a
//! turn).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use mnemo::Timestamp;
use mnemo::calendar::{days_in_month, month_from_name};
use serde_json::Value;

/// Where the development split lies, relative to the workspace root: beside
/// the repository, since its licence keeps it out.
pub const DEV_SPLIT: &str = "../shared/data/locomo/locomo-dev.json";

/// Why a LoCoMo file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file holds nothing but white space.
    #[error("{} is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8.
    #[error("{} is not valid UTF-8 (line {line})", path.display())]
    Utf8 {
        /// The file.
        path: PathBuf,
        /// The line of the first invalid byte, from 1.
        line: usize,
    },
    /// The file is not JSON.
    #[error("{} is not valid JSON (line {line}, column {column}: {message})", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped, from 1.
        line: usize,
        /// Where the parser stopped, from 1.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The file is JSON but not in the LoCoMo format.
    #[error("{} is not LoCoMo: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        problem: Malformed,
    },
}

/// What breaks the LoCoMo format, and where: `at` names the conversation
/// and the place in it (empty when the whole document is wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Malformed {
    /// The place, like `conversation conv-26 (item 0), session 3, turn 2`.
    pub at: String,
    /// What is wrong there.
    pub problem: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.at, self.problem)
        }
    }
}

/// A turn's id in its conversation, as the data writes it, like `D3:5`
/// (session 3, turn 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiaId(String);

impl DiaId {
    /// The id `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DiaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A question's category, as numbered in the JSON (which does not match
/// the paper's prose): 1 multi-hop, 2 temporal, 3 open-domain, 4
/// single-hop, 5 adversarial (unanswerable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(pub u64);

impl Category {
    /// The answerable categories, in the order reports list them.
    pub const ANSWERABLE: [Category; 4] = [Category(1), Category(2), Category(3), Category(4)];

    /// Its name, like `multi-hop` (`unknown` outside 1 to 5).
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "multi-hop",
            2 => "temporal",
            3 => "open-domain",
            4 => "single-hop",
            5 => "adversarial",
            _ => "unknown",
        }
    }

    /// Whether questions of this category have an answer (1 to 4).
    pub fn is_answerable(self) -> bool {
        (1..=4).contains(&self.0)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Its id, like `D3:5`.
    pub dia_id: DiaId,
    /// Who said it.
    pub speaker: String,
    /// What they said.
    pub text: String,
    /// Its session's number (`N` of `session_N`, from 1).
    pub session: u32,
    /// Its position in the session, from 0.
    pub index: u32,
    /// Its session's date and time (the data names no time zone: read as
    /// UTC).
    pub at: Timestamp,
}

impl Turn {
    /// The turn as one line, `"{speaker}: {text}"`: what the project's
    /// metric stores as a memory.
    pub fn content(&self) -> String {
        format!("{}: {}", self.speaker, self.text)
    }
}

/// One session of a conversation: when it took place and what the
/// dataset's authors observed in it. Its turns are the conversation's
/// [`Turn`]s whose `session` is its `number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `N` of `session_N`, from 1.
    pub number: u32,
    /// Its date and time (read as UTC).
    pub at: Timestamp,
    /// Its observations, speaker by speaker (speakers in name order), each
    /// speaker's in file order.
    pub observations: Vec<Observation>,
}

/// A fact the dataset's authors drew from a session, about one speaker,
/// citing the turns it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Whom it is about.
    pub speaker: String,
    /// The sentence.
    pub text: String,
    /// The turns it cites, as written.
    pub evidence: Vec<DiaId>,
}

/// A question about a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The question.
    pub question: String,
    /// The expected answer, as text (numbers written out), if the data
    /// gives one (adversarial questions have none).
    pub answer: Option<String>,
    /// The turns that answer it, as written (a few entries of the data hold
    /// several ids, like `D8:6; D9:17`: they are split).
    pub evidence: Vec<DiaId>,
    /// Its category.
    pub category: Category,
}

impl Question {
    /// Whether it is answerable (categories 1 to 4) and names evidence.
    pub fn answerable(&self) -> bool {
        self.category.is_answerable() && !self.evidence.is_empty()
    }
}

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Its id, like `conv-26`.
    pub sample_id: String,
    /// Its sessions, by number.
    pub sessions: Vec<Session>,
    /// Its turns, session by session, in file order.
    pub turns: Vec<Turn>,
    /// Its questions, in file order.
    pub questions: Vec<Question>,
    /// Turn positions by `dia_id` (ids are unique: the reader checks).
    positions: HashMap<DiaId, usize>,
}

impl Conversation {
    /// The position in [`Conversation::turns`] of the turn `id` names, if
    /// any.
    pub fn turn(&self, id: &DiaId) -> Option<usize> {
        self.positions.get(id).copied()
    }

    /// Every observation of every session, in a random order that `seed`
    /// fixes (a Fisher-Yates shuffle driven by SplitMix64, the same on
    /// every platform): the order the observation regime writes them in,
    /// so that no memory's neighbour in the log is its neighbour in the
    /// conversation.
    pub fn shuffled_observations(&self, seed: u64) -> Vec<ObservationAt<'_>> {
        let mut all: Vec<ObservationAt<'_>> = self
            .sessions
            .iter()
            .flat_map(|session| {
                session
                    .observations
                    .iter()
                    .enumerate()
                    .map(move |(index, observation)| ObservationAt {
                        session,
                        index,
                        observation,
                    })
            })
            .collect();
        let mut state = seed;
        for i in (1..all.len()).rev() {
            // Lemire's multiply-shift: uniform enough for a shuffle of a
            // few hundred items, and free of division.
            let j = ((u128::from(splitmix64(&mut state)) * (i as u128 + 1)) >> 64) as usize;
            all.swap(i, j);
        }
        all
    }
}

/// An observation and where it sits: its session and its position among
/// the session's observations (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationAt<'a> {
    /// Its session.
    pub session: &'a Session,
    /// Its position in the session's [`Session::observations`].
    pub index: usize,
    /// The observation.
    pub observation: &'a Observation,
}

/// The next value of the SplitMix64 generator (Steele, Lea and Flood).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Reads the LoCoMo file at `path`.
pub fn read(path: &Path) -> Result<Vec<Conversation>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    from_bytes(path, &bytes)
}

/// Reads LoCoMo conversations from `bytes`, the contents of the file
/// `path` (named in errors).
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<Conversation>, Error> {
    let path = || path.to_owned();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty { path: path() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Utf8 {
        path: path(),
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
    })?;
    let json: Value = serde_json::from_str(text).map_err(|e| Error::Json {
        path: path(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    parse(&json).map_err(|problem| Error::Format {
        path: path(),
        problem,
    })
}

/// Whether `json` looks like LoCoMo: a non-empty array whose items all
/// have `conversation`.
pub fn looks_like(json: &Value) -> bool {
    json.as_array().is_some_and(|items| {
        !items.is_empty() && items.iter().all(|i| i.get("conversation").is_some())
    })
}

/// Reads LoCoMo conversations from parsed JSON.
pub fn parse(json: &Value) -> Result<Vec<Conversation>, Malformed> {
    let Some(items) = json.as_array() else {
        return Err(Malformed {
            at: String::new(),
            problem: "expected a JSON array of conversations".to_owned(),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let sample_id = item
                .get("sample_id")
                .and_then(Value::as_str)
                .map_or_else(|| "without sample_id".to_owned(), str::to_owned);
            conversation(item).map_err(|(place, problem)| Malformed {
                at: format!("conversation {sample_id} (item {i}){place}"),
                problem,
            })
        })
        .collect()
}

/// What is wrong where inside one conversation: the place (empty, or
/// starting with `", "`) and the problem.
type Fault = (String, String);

fn fault(place: impl Into<String>, problem: impl Into<String>) -> Fault {
    (place.into(), problem.into())
}

fn conversation(item: &Value) -> Result<Conversation, Fault> {
    let Some(sample_id) = item.get("sample_id").and_then(Value::as_str) else {
        return Err(fault("", "missing \"sample_id\""));
    };
    let Some(conv) = item.get("conversation").and_then(Value::as_object) else {
        return Err(fault("", "\"conversation\" is not an object"));
    };
    let mut numbered: Vec<(u32, &Vec<Value>)> = Vec::new();
    for (key, value) in conv {
        let Some(n) = key
            .strip_prefix("session_")
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(list) = value.as_array() else {
            return Err(fault(
                format!(", session {n}"),
                "\"{key}\" is not a list of turns",
            ));
        };
        numbered.push((n, list));
    }
    numbered.sort_unstable_by_key(|(n, _)| *n);

    let mut sessions = Vec::with_capacity(numbered.len());
    let mut turns = Vec::new();
    let mut positions = HashMap::new();
    for (n, list) in numbered {
        let place = format!(", session {n}");
        let key = format!("session_{n}_date_time");
        let Some(when) = conv.get(&key).and_then(Value::as_str) else {
            return Err(fault(place, format!("missing \"{key}\"")));
        };
        let at = parse_date_time(when).ok_or_else(|| {
            fault(
                place.clone(),
                format!(
                    "\"{key}\" is {when:?}, not a date and time like \"1:56 pm on 8 May, 2023\""
                ),
            )
        })?;
        for (index, turn) in list.iter().enumerate() {
            let field = |name: &str| turn.get(name).and_then(Value::as_str);
            let (Some(speaker), Some(dia_id), Some(text)) =
                (field("speaker"), field("dia_id"), field("text"))
            else {
                return Err(fault(
                    format!("{place}, turn {index}"),
                    "lacks \"speaker\", \"dia_id\" or \"text\" (strings)",
                ));
            };
            let dia_id = DiaId::new(dia_id);
            if positions.insert(dia_id.clone(), turns.len()).is_some() {
                return Err(fault(
                    format!("{place}, turn {index}"),
                    format!("dia_id {dia_id} is given to an earlier turn too"),
                ));
            }
            turns.push(Turn {
                dia_id,
                speaker: speaker.to_owned(),
                text: text.to_owned(),
                session: n,
                index: u32::try_from(index)
                    .map_err(|_| fault(place.clone(), "more turns than a u32 counts"))?,
                at,
            });
        }
        sessions.push(Session {
            number: n,
            at,
            observations: Vec::new(),
        });
    }
    observations(item.get("observation"), &mut sessions)?;
    let questions = match item.get("qa") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, qa)| question(qa).map_err(|p| fault(format!(", qa item {i}"), p)))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(fault("", "\"qa\" is not a list")),
    };
    Ok(Conversation {
        sample_id: sample_id.to_owned(),
        sessions,
        turns,
        questions,
        positions,
    })
}

/// Reads `observation` (absent: none) into `sessions`.
fn observations(json: Option<&Value>, sessions: &mut [Session]) -> Result<(), Fault> {
    let Some(json) = json else {
        return Ok(());
    };
    let Some(by_session) = json.as_object() else {
        return Err(fault("", "\"observation\" is not an object"));
    };
    for (key, by_speaker) in by_session {
        let place = format!(", observation {key:?}");
        let Some(n) = key
            .strip_prefix("session_")
            .and_then(|rest| rest.strip_suffix("_observation"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return Err(fault(
                place,
                "expected a key like \"session_3_observation\"",
            ));
        };
        let Some(session) = sessions.iter_mut().find(|s| s.number == n) else {
            return Err(fault(place, format!("session {n} has no turns")));
        };
        let Some(by_speaker) = by_speaker.as_object() else {
            return Err(fault(place, "not an object of speakers"));
        };
        for (speaker, list) in by_speaker {
            let Some(list) = list.as_array() else {
                return Err(fault(
                    format!("{place}, speaker {speaker}"),
                    "not a list of observations",
                ));
            };
            for (i, pair) in list.iter().enumerate() {
                let bad = || {
                    fault(
                        format!("{place}, speaker {speaker}, item {i}"),
                        "expected [sentence, dia_id or list of dia_ids]",
                    )
                };
                let Some([text, cited]) = pair.as_array().map(Vec::as_slice) else {
                    return Err(bad());
                };
                let (Some(text), Some(evidence)) = (text.as_str(), dia_ids(cited)) else {
                    return Err(bad());
                };
                session.observations.push(Observation {
                    speaker: speaker.clone(),
                    text: text.to_owned(),
                    evidence,
                });
            }
        }
    }
    Ok(())
}

/// Reads one `qa` item.
fn question(qa: &Value) -> Result<Question, String> {
    let Some(question) = qa.get("question").and_then(Value::as_str) else {
        return Err("missing \"question\" (a string)".to_owned());
    };
    let answer = match qa.get("answer") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(n @ Value::Number(_)) => Some(n.to_string()),
        Some(_) => return Err("\"answer\" is neither text nor a number".to_owned()),
    };
    let Some(category) = qa.get("category").and_then(Value::as_u64) else {
        return Err("missing \"category\" (a whole number)".to_owned());
    };
    let Some(evidence) = qa.get("evidence").and_then(dia_ids) else {
        return Err("\"evidence\" is not a list of dia_ids".to_owned());
    };
    Ok(Question {
        question: question.to_owned(),
        answer,
        evidence,
        category: Category(category),
    })
}

/// The ids of `json`, a string or a list of strings; a string may hold
/// several ids separated by `;`, `,` or spaces.
fn dia_ids(json: &Value) -> Option<Vec<DiaId>> {
    let strings: Vec<&str> = match json {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().map(Value::as_str).collect::<Option<_>>()?,
        _ => return None,
    };
    Some(
        strings
            .into_iter()
            .flat_map(|s| s.split([';', ',', ' ']))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(DiaId::new)
            .collect(),
    )
}

/// Parses LoCoMo's session times, like `1:56 pm on 8 May, 2023` (read as
/// UTC; `a.m.`/`p.m.` and month names of three or more letters are
/// accepted), or `None` for anything else.
pub fn parse_date_time(text: &str) -> Option<Timestamp> {
    let lower = text.trim().to_ascii_lowercase();
    let (clock, date) = lower.split_once(" on ")?;
    let (hm, meridiem) = clock.trim().split_once(' ')?;
    let (h, m) = hm.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&h) || m > 59 {
        return None;
    }
    let hour = match meridiem.trim() {
        "am" | "a.m." => h % 12,
        "pm" | "p.m." => h % 12 + 12,
        _ => return None,
    };
    let parts: Vec<&str> = date.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let [day, month, year] = parts.as_slice() else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    let month = month_from_name(month)?;
    let year: i64 = year.parse().ok()?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    mnemo::rfc3339::from_civil(year, month, day, hour, m, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"[{"sample_id": "c1",
        "conversation": {
          "speaker_a": "Ann", "speaker_b": "Bo",
          "session_2_date_time": "9:00 am on 2 May, 2023",
          "session_2": [{"speaker": "Bo", "dia_id": "D2:1", "text": "Later.",
                         "blip_caption": "a photo of a dog"}],
          "session_1_date_time": "1:56 pm on 1 May, 2023",
          "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"},
                        {"speaker": "Bo", "dia_id": "D1:2", "text": "I got a dog."}],
          "session_3_date_time": "10:00 am on 3 May, 2023"},
        "observation": {
          "session_1_observation": {
            "Bo": [["Bo has a dog.", "D1:2"]],
            "Ann": [["Ann says hello.", "D1:1"], ["Ann met Bo twice.", ["D1:1", "D2:1"]]]}},
        "session_summary": {"session_1_summary": "They talked."},
        "qa": [{"question": "Q?", "answer": 2022, "evidence": ["D1:1; D2:1"], "category": 2},
               {"question": "Adv?", "adversarial_answer": "x", "evidence": [], "category": 5},
               {"question": "Odd?", "answer": "y", "evidence": ["D:11:26"], "category": 4}]}]"#;

    fn sample() -> Vec<Conversation> {
        parse(&serde_json::from_str(SAMPLE).expect("json")).expect("parses")
    }

    /// `SAMPLE` with `from` replaced by `to`, which must break it.
    fn broken(from: &str, to: &str) -> String {
        assert!(SAMPLE.contains(from), "{from}");
        let json = serde_json::from_str(&SAMPLE.replacen(from, to, 1)).expect("json");
        parse(&json).expect_err("malformed").to_string()
    }

    #[test]
    fn reads_sessions_turns_and_questions() {
        let convs = sample();
        assert_eq!(convs.len(), 1);
        let c = &convs[0];
        assert_eq!(c.sample_id, "c1");
        // Sessions by number, whatever the key order; a date without turns
        // makes no session.
        assert_eq!(
            c.sessions.iter().map(|s| s.number).collect::<Vec<_>>(),
            [1, 2]
        );
        let ids: Vec<&str> = c.turns.iter().map(|t| t.dia_id.as_str()).collect();
        assert_eq!(ids, ["D1:1", "D1:2", "D2:1"]);
        assert_eq!(c.turns[1].content(), "Bo: I got a dog.");
        assert_eq!((c.turns[1].session, c.turns[1].index), (1, 1));
        assert_eq!((c.turns[2].session, c.turns[2].index), (2, 0));
        assert_eq!(
            c.turns[0].at,
            parse_date_time("1:56 pm on 1 May, 2023").expect("date")
        );
        assert_eq!(c.turns[2].at, c.sessions[1].at);
        assert_eq!(c.turn(&DiaId::new("D2:1")), Some(2));
        assert_eq!(c.turn(&DiaId::new("D:11:26")), None);

        let q = &c.questions;
        assert_eq!(q.len(), 3);
        assert_eq!(q[0].answer.as_deref(), Some("2022"));
        assert_eq!(q[0].evidence, [DiaId::new("D1:1"), DiaId::new("D2:1")]);
        assert_eq!(q[0].category.name(), "temporal");
        assert!(q[0].answerable());
        assert_eq!(q[1].answer, None);
        assert!(!q[1].answerable(), "adversarial");
        assert!(q[2].answerable(), "evidence is kept as written");
        assert_eq!(q[2].evidence, [DiaId::new("D:11:26")]);
    }

    #[test]
    fn reads_observations_with_their_cited_turns() {
        let c = &sample()[0];
        let obs = &c.sessions[0].observations;
        let pairs: Vec<(&str, &str, usize)> = obs
            .iter()
            .map(|o| (o.speaker.as_str(), o.text.as_str(), o.evidence.len()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Ann", "Ann says hello.", 1),
                ("Ann", "Ann met Bo twice.", 2),
                ("Bo", "Bo has a dog.", 1)
            ]
        );
        assert_eq!(obs[1].evidence[1], DiaId::new("D2:1"));
        assert!(
            obs.iter()
                .flat_map(|o| &o.evidence)
                .all(|d| c.turn(d).is_some())
        );
        assert!(c.sessions[1].observations.is_empty());
    }

    #[test]
    fn observations_shuffle_the_same_way_for_a_seed() {
        let c = &sample()[0];
        let texts = |seed| -> Vec<&str> {
            c.shuffled_observations(seed)
                .iter()
                .map(|o| o.observation.text.as_str())
                .collect()
        };
        let once = texts(7);
        assert_eq!(once, texts(7));
        let mut sorted = once.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            ["Ann met Bo twice.", "Ann says hello.", "Bo has a dog."]
        );
        // Some seed gives another order: the shuffle is not the identity.
        assert!((0..16).any(|seed| texts(seed) != once));
        let at = c.shuffled_observations(7);
        assert!(
            at.iter()
                .all(|o| std::ptr::eq(o.observation, &o.session.observations[o.index]))
        );
    }

    #[test]
    fn malformed_input_says_what_and_where() {
        let not_array = parse(&serde_json::json!({"sample_id": "c"})).expect_err("object");
        assert_eq!(
            not_array.to_string(),
            "expected a JSON array of conversations"
        );
        let cases = [
            (
                r#""sample_id": "c1""#,
                r#""id": "c1""#,
                "conversation without sample_id (item 0): missing \"sample_id\"",
            ),
            (
                r#""text": "Later.""#,
                r#""text": 3"#,
                "conversation c1 (item 0), session 2, turn 0: lacks",
            ),
            (
                r#""dia_id": "D1:2""#,
                r#""dia_id": "D1:1""#,
                "session 1, turn 1: dia_id D1:1 is given to an earlier turn too",
            ),
            (
                "9:00 am on 2 May",
                "9:00 am on 31 April",
                "session 2: \"session_2_date_time\" is \"9:00 am on 31 April, 2023\"",
            ),
            (
                r#""session_2_date_time""#,
                r#""session_2_when""#,
                "session 2: missing \"session_2_date_time\"",
            ),
            (
                r#""session_1_observation""#,
                r#""session_3_observation""#,
                "observation \"session_3_observation\": session 3 has no turns",
            ),
            (
                r#"["Bo has a dog.", "D1:2"]"#,
                r#"["Bo has a dog."]"#,
                "speaker Bo, item 0: expected [sentence, dia_id",
            ),
            (
                r#""category": 2"#,
                r#""category": "two""#,
                "qa item 0: missing \"category\"",
            ),
            (
                r#""evidence": []"#,
                r#""evidence": [1]"#,
                "qa item 1: \"evidence\" is not a list of dia_ids",
            ),
            (
                r#""question": "Odd?""#,
                r#""q": "Odd?""#,
                "qa item 2: missing \"question\"",
            ),
        ];
        for (from, to, expected) in cases {
            let err = broken(from, to);
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let path = Path::new("dev.json");
        let err = |bytes: &[u8]| from_bytes(path, bytes).expect_err("bad").to_string();
        assert_eq!(err(b" \n"), "dev.json is empty");
        assert_eq!(err(b"[\n\xff]"), "dev.json is not valid UTF-8 (line 2)");
        assert!(err(b"[\n{]").starts_with("dev.json is not valid JSON (line 2, column 2"));
        assert_eq!(
            err(b"{}"),
            "dev.json is not LoCoMo: expected a JSON array of conversations"
        );
        let missing = read(Path::new("/nonexistent/locomo.json")).expect_err("missing");
        assert!(
            missing
                .to_string()
                .starts_with("cannot read /nonexistent/locomo.json")
        );
        assert_eq!(
            from_bytes(path, SAMPLE.as_bytes()).expect("reads"),
            sample()
        );
    }

    #[test]
    fn recognises_the_format() {
        let json = |s: &str| serde_json::from_str::<Value>(s).expect("json");
        assert!(looks_like(&json(SAMPLE)));
        assert!(!looks_like(&json("[]")));
        assert!(!looks_like(&json(r#"[{"content": "x"}]"#)));
    }

    #[test]
    fn parses_session_times() {
        let secs = |text: &str| parse_date_time(text).map(|t| t.0 / 1_000_000_000);
        // 2023-05-08T13:56:00Z is 1683554160 s after the epoch.
        assert_eq!(secs("1:56 pm on 8 May, 2023"), Some(1_683_554_160));
        assert_eq!(
            secs("12:09 pm on 13 September, 2023").zip(secs("12:09 am on 13 Sep, 2023")),
            Some((1_694_606_940, 1_694_563_740))
        );
        assert_eq!(secs("1:00 a.m. on 1 January, 1970"), Some(3_600));
        assert!(secs("1:00 am on 29 February, 2024").is_some());
        for bad in [
            "0:00 am on 29 February, 2024",
            "13:00 pm on 8 May, 2023",
            "1:00 am on 29 February, 2023",
            "1:56 pm on 31 June, 2023",
            "1:00 xm on 1 May, 2023",
            "1:00 am on 1 May 2023 extra",
            "yesterday",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
