//! The reference model the text index is tested against: BM25 computed from scratch
//! over the documents' text, and random sequences of index operations (insert,
//! remove, compact) applied to both the index and a plain map of texts.

use std::collections::BTreeMap;

use proptest::prelude::*;
use roaring::RoaringTreemap;

use super::{TextHit, TextIndex, tokenize};

/// BM25 from scratch over `(id, text)` documents: every matching id with its score,
/// best first.
pub(super) fn brute_force(
    docs: &BTreeMap<u64, String>,
    query: &str,
    k1: f64,
    b: f64,
) -> Vec<(u64, f64)> {
    let tokenized: Vec<(u64, Vec<String>)> = docs
        .iter()
        .map(|(&id, text)| {
            let mut tokens = Vec::new();
            tokenize(text, |t| tokens.push(t.to_owned()));
            (id, tokens)
        })
        .collect();
    let n = tokenized.len() as f64;
    if n == 0.0 {
        return Vec::new();
    }
    let avg = tokenized.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / n;
    let mut terms: Vec<String> = Vec::new();
    tokenize(query, |t| {
        if !terms.iter().any(|x| x == t) {
            terms.push(t.to_owned());
        }
    });
    let mut out = Vec::new();
    for (id, tokens) in &tokenized {
        let mut score = 0.0;
        let mut matched = false;
        for term in &terms {
            let tf = tokens.iter().filter(|t| *t == term).count() as f64;
            if tf == 0.0 {
                continue;
            }
            matched = true;
            let df = tokenized.iter().filter(|(_, t)| t.contains(term)).count() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            let len = tokens.len() as f64;
            score += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / avg));
        }
        if matched {
            out.push((*id, score));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Checks `hits` against the model: scores within 1e-4 relative, the right
/// number of hits, and the right ids except for ties at the k-th score.
pub(super) fn check_against_model(
    hits: &[TextHit],
    model: &[(u64, f64)],
    k: usize,
    allow: Option<&RoaringTreemap>,
) -> Result<(), TestCaseError> {
    let model: Vec<(u64, f64)> = model
        .iter()
        .copied()
        .filter(|(id, _)| allow.is_none_or(|a| a.contains(*id)))
        .collect();
    let scores: BTreeMap<u64, f64> = model.iter().copied().collect();
    prop_assert_eq!(
        hits.len(),
        model.len().min(k),
        "hits {:?} model {:?}",
        hits,
        model
    );
    for pair in hits.windows(2) {
        prop_assert!(pair[0].score >= pair[1].score);
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1e-9);
    for hit in hits {
        let Some(&expected) = scores.get(&hit.id) else {
            return Err(TestCaseError::fail(format!("{} is not a match", hit.id)));
        };
        prop_assert!(
            close(f64::from(hit.score), expected),
            "{} vs {}",
            hit.score,
            expected
        );
    }
    if let Some(last) = hits.last() {
        let kth = f64::from(last.score);
        for &(id, score) in &model {
            if score > kth && !close(score, kth) {
                prop_assert!(hits.iter().any(|h| h.id == id), "missing {id} ({score})");
            }
        }
    }
    Ok(())
}

/// One operation on the index.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// `insert(id, text)`.
    Insert(u64, String),
    /// `remove(id)`.
    Remove(u64),
    /// `compact()`.
    Compact,
}

/// The words random texts and queries are made of: stems that collide
/// ("memory"/"memories"), stop words, non-ASCII and CJK words.
pub(super) const VOCAB: &[&str] = &[
    "memory", "memories", "agent", "database", "rust", "rusty", "graph", "vector", "alpha", "beta",
    "gamma", "zeta", "the", "and", "Straße", "ÉCOLE", "école", "東京", "42", "x",
];

/// A random text of up to 12 [`VOCAB`] words.
pub(super) fn text() -> impl Strategy<Value = String> {
    // Skewed toward the first words so that some terms are common and some rare.
    prop::collection::vec((0usize..VOCAB.len(), 0usize..VOCAB.len()), 0..12).prop_map(|words| {
        words
            .into_iter()
            .map(|(a, b)| VOCAB[a.min(b)])
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// Up to 60 operations on ids `0..24`.
pub(super) fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            6 => (0u64..24, text()).prop_map(|(id, t)| Op::Insert(id, t)),
            2 => (0u64..24).prop_map(Op::Remove),
            1 => Just(Op::Compact),
        ],
        0..60,
    )
}

/// A query of one to four [`VOCAB`] words.
pub(super) fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(0usize..VOCAB.len(), 1..5).prop_map(|w| {
        w.into_iter()
            .map(|i| VOCAB[i])
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// No allow-list, or one of up to ten ids in `0..24`.
pub(super) fn allow() -> impl Strategy<Value = Option<RoaringTreemap>> {
    prop::option::of(prop::collection::vec(0u64..24, 0..10).prop_map(|v| v.into_iter().collect()))
}

/// Applies `ops` to a new index with BM25 parameters `params` and to the model (a
/// map of the live texts), checking that both agree on what `remove` finds.
pub(super) fn apply(ops: &[Op], params: (f32, f32)) -> (TextIndex, BTreeMap<u64, String>) {
    let mut index = TextIndex::with_params(params.0, params.1);
    let mut model = BTreeMap::new();
    for op in ops {
        match op {
            Op::Insert(id, text) => {
                index.insert(*id, text);
                model.insert(*id, text.clone());
            }
            Op::Remove(id) => {
                assert_eq!(index.remove(*id), model.remove(id).is_some());
            }
            Op::Compact => index.compact(),
        }
    }
    (index, model)
}
