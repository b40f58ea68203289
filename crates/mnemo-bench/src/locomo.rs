//! The LoCoMo development split (`../shared/data/locomo/locomo-dev.json`,
//! evaluation data that stays outside the repository, read by
//! [`mnemo_eval::locomo`]) and the project's retrieval metric on it: every
//! turn of a conversation is one memory (`"speaker: text"`), every question
//! of categories 1-4 with evidence asks for the top k, and hit@k / recall@k
//! ([`mnemo_eval::metric`]) count its evidence turns among them.
//!
//! Beside the metric, the baselines every LoCoMo row of the harness stands
//! beside: Okapi BM25 alone, dense cosine alone and their reciprocal-rank
//! fusion, computed here on the same questions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use mnemo_eval::locomo;
use mnemo_eval::metric::{self, Score};

/// One conversation as the metric sees it.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The conversation as read: its id, and who said each turn and when.
    pub data: locomo::Conversation,
    /// Turn contents, `"speaker: text"`, parallel to `data.turns`.
    pub turns: Vec<String>,
    /// Questions of categories 1-4 with at least one evidence id that names
    /// a turn.
    pub questions: Vec<Question>,
}

/// A question and the turns that answer it.
#[derive(Debug, Clone)]
pub struct Question {
    /// The question text.
    pub text: String,
    /// Its category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop).
    pub category: u64,
    /// Positions of its evidence turns in the conversation's turns.
    pub evidence: HashSet<usize>,
}

/// The seed of the observations' order: the default of `mnemo eval locomo
/// --granularity observation`, so both write them in the same order.
pub const OBSERVATION_SEED: u64 = 26;

/// One conversation searched as its observations (the fact sentences the
/// data gives per session and speaker): independent documents in a seeded
/// random order, each citing the turns it draws on. A question is answered
/// by a document citing one of its evidence turns.
#[derive(Debug, Clone)]
pub struct Observations {
    /// The sentences, in the seeded order.
    pub docs: Vec<String>,
    /// Per sentence: its session's number and time, and whom it is about.
    pub origin: Vec<(u32, mnemo::Timestamp, String)>,
    /// Per sentence: the positions of the turns it cites.
    pub cites: Vec<Vec<usize>>,
    /// The conversation's questions, their evidence cut to the turns some
    /// sentence cites (questions left without any are dropped).
    pub questions: Vec<Question>,
}

impl Conversation {
    /// The conversation as [`Observations`] written in the order `seed`
    /// fixes ([`locomo::Conversation::shuffled_observations`]).
    pub fn observations(&self, seed: u64) -> Observations {
        let mut docs = Vec::new();
        let mut origin = Vec::new();
        let mut cites = Vec::new();
        for o in self.data.shuffled_observations(seed) {
            docs.push(o.observation.text.clone());
            origin.push((
                o.session.number,
                o.session.at,
                o.observation.speaker.clone(),
            ));
            cites.push(
                o.observation
                    .evidence
                    .iter()
                    .filter_map(|d| self.data.turn(d))
                    .collect(),
            );
        }
        let cited: HashSet<usize> = cites.iter().flatten().copied().collect();
        let questions = self
            .questions
            .iter()
            .filter_map(|q| {
                let evidence: HashSet<usize> = q.evidence.intersection(&cited).copied().collect();
                (!evidence.is_empty()).then(|| Question {
                    evidence,
                    ..q.clone()
                })
            })
            .collect();
        Observations {
            docs,
            origin,
            cites,
            questions,
        }
    }
}

impl From<locomo::Conversation> for Conversation {
    fn from(data: locomo::Conversation) -> Self {
        let questions = data
            .questions
            .iter()
            .filter(|q| q.category.is_answerable())
            .filter_map(|q| {
                // Evidence ids that name no turn (a few, like `D:11:26`)
                // are left out, as `mnemo eval locomo` does.
                let evidence: HashSet<usize> =
                    q.evidence.iter().filter_map(|d| data.turn(d)).collect();
                (!evidence.is_empty()).then(|| Question {
                    text: q.question.clone(),
                    category: q.category.0,
                    evidence,
                })
            })
            .collect();
        Self {
            turns: data.turns.iter().map(locomo::Turn::content).collect(),
            questions,
            data,
        }
    }
}

/// The default location of the split, beside the workspace.
pub fn default_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(locomo::DEV_SPLIT)
}

/// Reads the split.
pub fn load(path: &Path) -> Result<Vec<Conversation>> {
    Ok(locomo::read(path)?
        .into_iter()
        .map(Conversation::from)
        .collect())
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

/// hit@k and recall@k summed over questions at one cut-off: the one
/// scoring every LoCoMo row of the harness uses, mnemo's and the
/// baselines' alike.
pub type Tally = metric::Tally<1>;

/// Adds `question` to `tally`, given its `ranking` (distinct turn
/// positions, best first) cut at `k`.
pub fn add(tally: &mut Tally, question: &Question, ranking: &[usize], k: usize) {
    if let Some(s) = Score::of(&[k], ranking, &question.evidence) {
        tally.add(&s);
    }
}

/// Adds `question` to `tally`, given its `ranking` of documents (distinct
/// positions, best first) that cite the turns `cites` lists, cut at `k`.
pub fn add_citing(
    tally: &mut Tally,
    question: &Question,
    ranking: &[usize],
    cites: &[Vec<usize>],
    k: usize,
) {
    let cited: Vec<&[usize]> = ranking.iter().map(|&d| cites[d].as_slice()).collect();
    if let Some(s) = Score::of_citing(&[k], &cited, &question.evidence) {
        tally.add(&s);
    }
}

/// The rates of `tally` (0 without questions).
pub fn rates(tally: &Tally) -> RetrievalScore {
    RetrievalScore {
        questions: tally.questions,
        hit: tally.hit(0).unwrap_or(0.0),
        recall: tally.recall(0).unwrap_or(0.0),
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
            add(&mut tally, q, &ranking, k);
        }
    }
    Ok(rates(&tally))
}

/// The baselines of the project's LoCoMo metric, computed on the same
/// conversations and questions as the row they stand beside.
#[derive(Debug, Clone, Default)]
pub struct Baselines {
    /// Okapi BM25 alone ([`Bm25`]).
    pub bm25: RetrievalScore,
    /// Dense alone: exact cosine of the embedder's vectors, no keywords,
    /// no spreading.
    pub dense: RetrievalScore,
    /// Reciprocal-rank fusion of the two rankings (k = [`RRF_K`]).
    pub rrf: RetrievalScore,
    /// BM25 alone, per question category.
    pub bm25_by_category: BTreeMap<u64, RetrievalScore>,
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
    embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Baselines> {
    let corpora: Vec<Corpus<'_>> = conversations
        .iter()
        .map(|c| (c.turns.as_slice(), c.questions.as_slice(), None))
        .collect();
    baselines_over(&corpora, k, embed)
}

/// [`baselines`] over each conversation's [`Observations`]: documents
/// scored by the turns they cite.
pub fn observation_baselines(
    corpora: &[Observations],
    k: usize,
    embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Baselines> {
    let corpora: Vec<Corpus<'_>> = corpora
        .iter()
        .map(|o| {
            (
                o.docs.as_slice(),
                o.questions.as_slice(),
                Some(o.cites.as_slice()),
            )
        })
        .collect();
    baselines_over(&corpora, k, embed)
}

/// Documents, the questions asked of them and what each document cites
/// (none: each document is the turn at its position).
type Corpus<'a> = (&'a [String], &'a [Question], Option<&'a [Vec<usize>]>);

/// The baselines over `(documents, questions, what each document cites)`
/// (none: each document is the turn at its position).
fn baselines_over(
    corpora: &[Corpus<'_>],
    k: usize,
    mut embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Baselines> {
    let (mut bm25, mut dense, mut rrf) = (Tally::default(), Tally::default(), Tally::default());
    let mut by_category: BTreeMap<u64, Tally> = BTreeMap::new();
    for &(docs, questions, cites) in corpora {
        let index = Bm25::new(docs);
        let vectors = embed_all(docs, &mut embed)?;
        let texts: Vec<String> = questions.iter().map(|q| q.text.clone()).collect();
        let queries = embed_all(&texts, &mut embed)?;
        let score = |tally: &mut Tally, q: &Question, ranking: &[usize]| match cites {
            Some(cites) => add_citing(tally, q, ranking, cites, k),
            None => add(tally, q, ranking, k),
        };
        for (q, qv) in questions.iter().zip(&queries) {
            let by_words = index.ranking(&q.text);
            let by_vector = dense_ranking(&vectors, qv);
            let fused = rrf_ranking(&[&by_words, &by_vector], docs.len());
            score(&mut bm25, q, &by_words);
            score(by_category.entry(q.category).or_default(), q, &by_words);
            score(&mut dense, q, &by_vector);
            score(&mut rrf, q, &fused);
        }
    }
    Ok(Baselines {
        bm25: rates(&bm25),
        dense: rates(&dense),
        rrf: rates(&rrf),
        bm25_by_category: by_category.iter().map(|(c, t)| (*c, rates(t))).collect(),
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
    fn tally_cuts_at_k_and_counts_distinct_evidence() {
        let q = Question {
            text: String::new(),
            category: 4,
            evidence: [2, 5].into(),
        };
        let mut t = Tally::default();
        add(&mut t, &q, &[1, 5, 7, 2], 3);
        add(&mut t, &q, &[0, 1], 3);
        let s = rates(&t);
        assert_eq!(s.questions, 2);
        assert!((s.hit - 0.5).abs() < 1e-12);
        assert!((s.recall - 0.25).abs() < 1e-12);
        assert_eq!(rates(&Tally::default()).hit, 0.0);
    }

    #[test]
    fn questions_keep_answerable_evidence_that_names_turns() {
        let json = serde_json::json!([{"sample_id": "c1", "conversation": {
            "session_1_date_time": "1:56 pm on 1 May, 2023",
            "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"},
                          {"speaker": "Bo", "dia_id": "D1:2", "text": "Hello."}]},
            "qa": [{"question": "Who?", "answer": "Bo", "evidence": ["D1:2", "D9:9"], "category": 4},
                   {"question": "Lost?", "answer": "x", "evidence": ["D9:9"], "category": 1},
                   {"question": "Adv?", "evidence": ["D1:1"], "category": 5}]}]);
        let read = locomo::parse(&json).expect("parses");
        let c = Conversation::from(read[0].clone());
        assert_eq!(c.turns, ["Ann: Hi!", "Bo: Hello."]);
        assert_eq!(c.questions.len(), 1);
        assert_eq!(c.questions[0].text, "Who?");
        assert_eq!(c.questions[0].evidence, [1].into());
    }

    #[test]
    fn observations_cite_turns_and_keep_the_questions_they_can_answer() {
        let json = serde_json::json!([{"sample_id": "c1", "conversation": {
            "session_1_date_time": "1:56 pm on 1 May, 2023",
            "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"},
                          {"speaker": "Bo", "dia_id": "D1:2", "text": "I got a dog."},
                          {"speaker": "Ann", "dia_id": "D1:3", "text": "Nice."}]},
            "observation": {"session_1_observation": {
                "Bo": [["Bo has a dog.", ["D1:2", "D9:9"]]]}},
            "qa": [{"question": "Pets?", "answer": "a dog", "evidence": ["D1:2", "D1:3"], "category": 4},
                   {"question": "Greeting?", "answer": "Hi", "evidence": ["D1:1"], "category": 1}]}]);
        let read = locomo::parse(&json).expect("parses");
        let obs = Conversation::from(read[0].clone()).observations(OBSERVATION_SEED);
        assert_eq!(obs.docs, ["Bo has a dog."]);
        assert_eq!(obs.cites, [vec![1]]);
        assert_eq!(obs.origin[0].0, 1);
        assert_eq!(obs.origin[0].2, "Bo");
        // "Greeting?" cites a turn no observation draws on: dropped; the
        // other keeps only its cited evidence.
        assert_eq!(obs.questions.len(), 1);
        assert_eq!(obs.questions[0].evidence, [1].into());
        let mut t = Tally::default();
        add_citing(&mut t, &obs.questions[0], &[0], &obs.cites, 5);
        add_citing(&mut t, &obs.questions[0], &[], &obs.cites, 5);
        assert!((rates(&t).hit - 0.5).abs() < 1e-12);
    }

    #[test]
    fn rrf_fuses_and_leaves_out_unranked_turns() {
        let fused = rrf_ranking(&[&[2, 0], &[0, 3]], 5);
        assert_eq!(fused, [0, 2, 3]);
    }
}
