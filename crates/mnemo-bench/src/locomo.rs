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

use std::collections::{HashMap, HashSet};
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

/// hit@k and recall@k summed over questions: the one scoring every LoCoMo
/// row of the harness uses, mnemo's and the baselines' alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Questions scored.
    pub questions: usize,
    /// Questions with at least one evidence turn in their top k.
    pub hits: usize,
    /// Sum over questions of the fraction of their (distinct) evidence
    /// turns in the top k.
    pub recall_sum: f64,
}

impl Tally {
    /// Scores one question given its top k, as distinct turn indices.
    pub fn add(&mut self, question: &Question, top: &[usize]) {
        let evidence: HashSet<usize> = question.evidence.iter().copied().collect();
        let found = top.iter().filter(|t| evidence.contains(t)).count();
        self.questions += 1;
        self.hits += usize::from(found > 0);
        self.recall_sum += found.min(evidence.len()) as f64 / evidence.len().max(1) as f64;
    }

    /// The rates.
    pub fn score(&self) -> RetrievalScore {
        let n = self.questions.max(1) as f64;
        RetrievalScore {
            questions: self.questions,
            hit: self.hits as f64 / n,
            recall: self.recall_sum / n,
        }
    }
}

/// Scores dense retrieval: `embed` maps texts to unit vectors; each
/// question's top `k` turns are those of highest dot product (exact
/// cosine, every turn compared).
pub fn dense_retrieval(
    conversations: &[Conversation],
    k: usize,
    mut embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<RetrievalScore> {
    let mut tally = Tally::default();
    for conv in conversations {
        let turns = embed_all(&conv.turns, &mut embed)?;
        let texts: Vec<String> = conv.questions.iter().map(|q| q.text.clone()).collect();
        let queries = embed_all(&texts, &mut embed)?;
        for (q, qv) in conv.questions.iter().zip(&queries) {
            let ranking = dense_ranking(&turns, qv);
            tally.add(q, &ranking[..k.min(ranking.len())]);
        }
    }
    Ok(tally.score())
}

/// The baselines of the project's LoCoMo metric, computed on the same
/// conversations and questions as the row they stand beside.
#[derive(Debug, Clone, Copy, Default)]
pub struct Baselines {
    /// Okapi BM25 alone ([`Bm25`]).
    pub bm25: RetrievalScore,
    /// Dense alone: exact cosine of the embedder's vectors, no keywords,
    /// no spreading.
    pub dense: RetrievalScore,
    /// Reciprocal-rank fusion of the two rankings (k = [`RRF_K`]).
    pub rrf: RetrievalScore,
}

/// The constant of reciprocal-rank fusion: a turn scores
/// `sum 1 / (RRF_K + rank)` over the rankings (ranks from 1).
pub const RRF_K: f64 = 60.0;

/// What the baselines are, for the peers' labels.
pub const BM25_LABEL: &str = "BM25 alone: Okapi BM25 (k1 1.2, b 0.75, Lucene idf) scored by the harness over each conversation's turns, English analysis (stop words dropped, Porter2 stems), on the same questions (same run)";
/// See [`BM25_LABEL`].
pub const DENSE_LABEL: &str = "dense alone: all-MiniLM-L6-v2 vectors, exact cosine over every turn, no keywords, no spreading; computed by the harness on the same questions (same run)";
/// See [`BM25_LABEL`].
pub const RRF_LABEL: &str = "plain reciprocal-rank fusion (k 60) of the harness's BM25 and dense rankings, on the same questions (same run)";

/// Scores BM25 alone, dense alone (vectors from `embed`, unit length) and
/// their reciprocal-rank fusion at top `k`.
pub fn baselines(
    conversations: &[Conversation],
    k: usize,
    mut embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Baselines> {
    let (mut bm25, mut dense, mut rrf) = (Tally::default(), Tally::default(), Tally::default());
    for conv in conversations {
        let index = Bm25::new(&conv.turns);
        let turns = embed_all(&conv.turns, &mut embed)?;
        let texts: Vec<String> = conv.questions.iter().map(|q| q.text.clone()).collect();
        let queries = embed_all(&texts, &mut embed)?;
        for (q, qv) in conv.questions.iter().zip(&queries) {
            let by_words = index.ranking(&q.text);
            let by_vector = dense_ranking(&turns, qv);
            let fused = rrf_ranking(&[&by_words, &by_vector], conv.turns.len());
            bm25.add(q, &by_words[..k.min(by_words.len())]);
            dense.add(q, &by_vector[..k.min(by_vector.len())]);
            rrf.add(q, &fused[..k.min(fused.len())]);
        }
    }
    Ok(Baselines {
        bm25: bm25.score(),
        dense: dense.score(),
        rrf: rrf.score(),
    })
}

/// Every turn, best first by dot product with `query` (ties: earlier turn
/// first).
fn dense_ranking(turns: &[Vec<f32>], query: &[f32]) -> Vec<usize> {
    let scores: Vec<f32> = turns.iter().map(|t| dot(query, t)).collect();
    let mut order: Vec<usize> = (0..turns.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// Reciprocal-rank fusion of `rankings` (each best first) over `n` turns;
/// turns no ranking holds are left out.
fn rrf_ranking(rankings: &[&[usize]], n: usize) -> Vec<usize> {
    let mut scores = vec![0.0f64; n];
    for ranking in rankings {
        for (rank, &turn) in ranking.iter().enumerate() {
            scores[turn] += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&t| scores[t] > 0.0).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// A plain Okapi BM25 index over one conversation's turns, scored by the
/// harness (not the engine's index or recall): the textbook keyword
/// baseline, over the standard English analysis of [`words`].
pub struct Bm25 {
    /// term -> (turn, term frequency), turns ascending.
    postings: HashMap<String, Vec<(usize, u32)>>,
    /// Terms per turn.
    lengths: Vec<u32>,
    /// Mean of `lengths`.
    mean_length: f64,
}

impl Bm25 {
    /// Term-frequency saturation.
    pub const K1: f64 = 1.2;
    /// Length normalisation.
    pub const B: f64 = 0.75;

    /// Indexes `docs`.
    pub fn new(docs: &[String]) -> Self {
        let mut postings: HashMap<String, Vec<(usize, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut length = 0u32;
            for term in words(doc) {
                *counts.entry(term).or_default() += 1;
                length += 1;
            }
            lengths.push(length);
            for (term, tf) in counts {
                postings.entry(term).or_default().push((i, tf));
            }
        }
        for list in postings.values_mut() {
            list.sort_unstable();
        }
        let mean_length =
            lengths.iter().map(|&l| f64::from(l)).sum::<f64>() / lengths.len().max(1) as f64;
        Self {
            postings,
            lengths,
            mean_length,
        }
    }

    /// The turns holding at least one of `query`'s terms, best first
    /// (ties: earlier turn first). Each distinct query term counts once.
    pub fn ranking(&self, query: &str) -> Vec<usize> {
        let n = self.lengths.len() as f64;
        let mut terms: Vec<String> = words(query).collect();
        terms.sort_unstable();
        terms.dedup();
        let mut scores = vec![0.0f64; self.lengths.len()];
        let mut matched = vec![false; self.lengths.len()];
        for term in &terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(doc, tf) in list {
                let tf = f64::from(tf);
                let norm = 1.0 - Self::B
                    + Self::B * f64::from(self.lengths[doc]) / self.mean_length.max(f64::EPSILON);
                scores[doc] += idf * tf * (Self::K1 + 1.0) / (tf + Self::K1 * norm);
                matched[doc] = true;
            }
        }
        let mut order: Vec<usize> = (0..scores.len()).filter(|&d| matched[d]).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        order
    }
}

/// The baseline's terms: standard English analysis (lowercased words,
/// stop words dropped, Porter2 stems), from the engine's public tokenizer
/// so that the baseline differs from the engine's keyword signal only in
/// what BM25 itself does, not in a weaker analysis.
fn words(text: &str) -> impl Iterator<Item = String> {
    let mut terms = Vec::new();
    mnemo::text::tokenize(text, |t| terms.push(t.to_owned()));
    terms.into_iter()
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
    fn bm25_ranks_rare_matching_terms_first() {
        let docs: Vec<String> = [
            "Caroline: I went to the LGBTQ support group yesterday.",
            "Melanie: the weather was nice, the kids played outside.",
            "Caroline: the group meets on Tuesdays; the support helps.",
            "Melanie: painting is my way to relax.",
        ]
        .map(str::to_owned)
        .to_vec();
        let index = Bm25::new(&docs);
        // "lgbtq" is in one turn only: it outranks the two "support" turns.
        assert_eq!(
            index.ranking("When did Caroline go to the LGBTQ support group?")[0],
            0
        );
        assert_eq!(index.ranking("painting")[..], [3]);
        assert!(index.ranking("astronomy").is_empty());
        // Case and punctuation do not matter; a repeated query term counts once.
        assert_eq!(
            index.ranking("PAINTING!"),
            index.ranking("painting painting")
        );
    }

    #[test]
    fn tally_counts_distinct_evidence() {
        let q = Question {
            text: String::new(),
            evidence: vec![2, 5, 5],
        };
        let mut t = Tally::default();
        t.add(&q, &[1, 5, 7]);
        t.add(&q, &[0, 1]);
        let s = t.score();
        assert_eq!(s.questions, 2);
        assert!((s.hit - 0.5).abs() < 1e-12);
        assert!((s.recall - 0.25).abs() < 1e-12);
    }

    #[test]
    fn rrf_fuses_and_leaves_out_unranked_turns() {
        let fused = rrf_ranking(&[&[2, 0], &[0, 3]], 5);
        assert_eq!(fused, [0, 2, 3]);
    }

    #[test]
    fn days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
