//! The LoCoMo development split (`../shared/data/locomo/locomo-dev.json`,
//! evaluation data that stays outside the repository) and the project's
//! retrieval metric on it: every turn of a conversation is one memory
//! (`"speaker: text"`), every question of categories 1-4 with evidence asks
//! for the top k, and hit@k / recall@k count its evidence turns among them.
//!
//! Each turn also keeps what an agent's memory would record about it: who
//! said it, in which session, and when (the session's `session_N_date_time`,
//! parsed by [`parse_date_time`]), so the recall suite can store turns with
//! their source, tags and event time.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mnemo::calendar::{days_from_civil, days_in_month, month_from_name};
use serde_json::Value;

/// One conversation: its turns and its answerable questions.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The sample's id (`conv-26`, ...).
    pub sample_id: String,
    /// Turn contents, `"speaker: text"`, in order.
    pub turns: Vec<String>,
    /// Who said each turn and when, parallel to `turns`.
    pub turn_info: Vec<TurnInfo>,
    /// Questions of categories 1-4 that name at least one evidence turn.
    pub questions: Vec<Question>,
}

/// Where a turn sits in its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnInfo {
    /// The session it belongs to (`N` of `session_N`, from 1).
    pub session: u32,
    /// Its position in the session, from 0 (the order of its `dia_id`s).
    pub index: u32,
    /// The speaker's name.
    pub speaker: String,
    /// The session's date and time, ns since the Unix epoch (UTC; the data
    /// names no time zone), if the session has a parseable
    /// `session_N_date_time`.
    pub session_at_ns: Option<i64>,
}

/// A question and the turns that answer it.
#[derive(Debug, Clone)]
pub struct Question {
    /// The question text.
    pub text: String,
    /// Indices into the conversation's turns.
    pub evidence: Vec<usize>,
}

/// The default location of the split, beside the workspace.
pub fn default_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join("../shared/data/locomo/locomo-dev.json")
}

/// Reads the split.
pub fn load(path: &Path) -> Result<Vec<Conversation>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading LoCoMo from {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing LoCoMo {}", path.display()))?;
    let Some(samples) = json.as_array() else {
        bail!("{}: expected a list of conversations", path.display());
    };
    samples.iter().map(conversation).collect()
}

fn conversation(sample: &Value) -> Result<Conversation> {
    let conv = &sample["conversation"];
    let sample_id = sample["sample_id"].as_str().unwrap_or_default().to_owned();
    let mut turn_ids = Vec::new();
    let mut turns = Vec::new();
    let mut turn_info = Vec::new();
    for n in 1u32.. {
        let Some(session) = conv.get(format!("session_{n}")) else {
            break;
        };
        let session_at_ns = conv
            .get(format!("session_{n}_date_time"))
            .and_then(Value::as_str)
            .and_then(parse_date_time);
        for (index, turn) in session.as_array().into_iter().flatten().enumerate() {
            let (Some(id), Some(speaker), Some(text)) = (
                turn["dia_id"].as_str(),
                turn["speaker"].as_str(),
                turn["text"].as_str(),
            ) else {
                bail!("LoCoMo turn without dia_id, speaker or text: {turn}");
            };
            turn_ids.push(id.to_owned());
            turns.push(format!("{speaker}: {text}"));
            turn_info.push(TurnInfo {
                session: n,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                speaker: speaker.to_owned(),
                session_at_ns,
            });
        }
    }
    let mut questions = Vec::new();
    for qa in sample["qa"].as_array().into_iter().flatten() {
        let category = qa["category"].as_u64().unwrap_or(0);
        let Some(text) = qa["question"].as_str() else {
            continue;
        };
        if !(1..=4).contains(&category) {
            continue;
        }
        // A few evidence entries hold several ids ("D8:6; D9:17").
        let evidence: Vec<usize> = qa["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .flat_map(|e| e.split([';', ',', ' ']))
            .filter_map(|id| turn_ids.iter().position(|t| t == id.trim()))
            .collect();
        if !evidence.is_empty() {
            questions.push(Question {
                text: text.to_owned(),
                evidence,
            });
        }
    }
    Ok(Conversation {
        sample_id,
        turns,
        turn_info,
        questions,
    })
}

/// Parses LoCoMo's session times, `"1:56 pm on 8 May, 2023"`, into ns
/// since the Unix epoch (read as UTC). `None` for anything else.
pub fn parse_date_time(text: &str) -> Option<i64> {
    let (clock, date) = text.trim().split_once(" on ")?;
    let (hm, meridiem) = clock.trim().split_once(' ')?;
    let (h, m) = hm.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    let hour = match meridiem.trim().to_ascii_lowercase().as_str() {
        "am" => h % 12,
        "pm" => h % 12 + 12,
        _ => return None,
    };
    let mut parts = date.split([' ', ',']).filter(|p| !p.is_empty());
    let day: u32 = parts.next()?.parse().ok()?;
    let month = month_from_name(parts.next()?)?;
    let year: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + m) * 60 * 1_000_000_000)
}

/// hit@k and recall@k of one retrieval run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetrievalScore {
    /// Questions scored.
    pub questions: usize,
    /// Fraction of questions with at least one evidence turn in the top k.
    pub hit: f64,
    /// Mean fraction of each question's evidence turns in the top k.
    pub recall: f64,
}

/// Scores dense retrieval: `embed` maps texts to unit vectors; each
/// question's top `k` turns are those of highest dot product.
pub fn dense_retrieval(
    conversations: &[Conversation],
    k: usize,
    mut embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<RetrievalScore> {
    let (mut hits, mut recall, mut questions) = (0usize, 0.0f64, 0usize);
    for conv in conversations {
        let turns = embed_all(&conv.turns, &mut embed)?;
        let texts: Vec<String> = conv.questions.iter().map(|q| q.text.clone()).collect();
        let queries = embed_all(&texts, &mut embed)?;
        for (q, qv) in conv.questions.iter().zip(&queries) {
            let mut scored: Vec<(f32, usize)> = turns
                .iter()
                .enumerate()
                .map(|(i, tv)| (dot(qv, tv), i))
                .collect();
            let top = top_k(&mut scored, k);
            let evidence: HashSet<usize> = q.evidence.iter().copied().collect();
            let found = top.iter().filter(|(_, i)| evidence.contains(i)).count();
            hits += usize::from(found > 0);
            recall += found as f64 / evidence.len() as f64;
            questions += 1;
        }
    }
    let n = questions.max(1) as f64;
    Ok(RetrievalScore {
        questions,
        hit: hits as f64 / n,
        recall: recall / n,
    })
}

/// Embeds `texts` in batches of 32.
fn embed_all(
    texts: &[String],
    embed: &mut impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(32) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(embed(&refs)?);
    }
    Ok(out)
}

/// The `k` highest-scoring entries (in no particular order).
fn top_k(scored: &mut [(f32, usize)], k: usize) -> &[(f32, usize)] {
    let k = k.min(scored.len());
    if k > 0 && k < scored.len() {
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
    }
    &scored[..k]
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_NS: i64 = 86_400 * 1_000_000_000;

    #[test]
    fn session_times_parse() {
        // 2023-05-08T13:56:00Z is 1683554160 s after the epoch.
        assert_eq!(
            parse_date_time("1:56 pm on 8 May, 2023"),
            Some(1_683_554_160 * 1_000_000_000)
        );
        let midnight = parse_date_time("12:09 am on 13 September, 2023");
        let noon = parse_date_time("12:09 pm on 13 September, 2023");
        assert_eq!(noon.zip(midnight).map(|(b, a)| b - a), Some(DAY_NS / 2));
        assert_eq!(
            parse_date_time("1:00 am on 1 January, 1970"),
            Some(3_600 * 1_000_000_000)
        );
        assert!(parse_date_time("0:00 am on 29 February, 2024").is_none());
        assert!(parse_date_time("1:00 am on 29 February, 2024").is_some());
        assert!(parse_date_time("1:00 am on 29 February, 2023").is_none());
        assert!(parse_date_time("1:00 xm on 1 May, 2023").is_none());
        assert!(parse_date_time("yesterday").is_none());
    }

    #[test]
    fn days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
