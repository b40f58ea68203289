//! The LoCoMo development split (`../shared/data/locomo/locomo-dev.json`,
//! evaluation data that stays outside the repository) and the project's
//! retrieval metric on it: every turn of a conversation is one memory
//! (`"speaker: text"`), every question of categories 1-4 with evidence asks
//! for the top k, and hit@k / recall@k count its evidence turns among them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// One conversation: its turns and its answerable questions.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Turn contents, `"speaker: text"`, in order.
    pub turns: Vec<String>,
    /// Questions of categories 1-4 that name at least one evidence turn.
    pub questions: Vec<Question>,
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
    let mut turn_ids = Vec::new();
    let mut turns = Vec::new();
    for n in 1.. {
        let Some(session) = conv.get(format!("session_{n}")) else {
            break;
        };
        for turn in session.as_array().into_iter().flatten() {
            let (Some(id), Some(speaker), Some(text)) = (
                turn["dia_id"].as_str(),
                turn["speaker"].as_str(),
                turn["text"].as_str(),
            ) else {
                bail!("LoCoMo turn without dia_id, speaker or text: {turn}");
            };
            turn_ids.push(id.to_owned());
            turns.push(format!("{speaker}: {text}"));
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
    Ok(Conversation { turns, questions })
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
