//! Stage 1, candidates: BM25 and vector search each rank up to the
//! candidate depth among the memories the filters admit, with each
//! signal's scores scaled to `[0, 1]` over its list.

use roaring::RoaringTreemap;

use super::{SignalHit, Source, invalid};
use crate::base::IdMap;
use crate::error::Result;

/// One memory's standing in the signals while fusing.
#[derive(Debug, Default, Clone)]
pub(super) struct Candidate {
    /// Where vector search ranked it.
    pub vector: Option<SignalHit>,
    /// Where keyword search ranked it.
    pub keyword: Option<SignalHit>,
    /// Where spreading activation ranked it.
    pub activation: Option<SignalHit>,
}

/// Every memory any signal found, by id.
pub(super) type Candidates = IdMap<Candidate>;

/// Adds BM25's best `depth` memories for `text` to `out`, scaled as a
/// share of the best score.
pub(super) fn keyword(
    source: &Source<'_>,
    text: &str,
    depth: usize,
    allow: Option<&RoaringTreemap>,
    out: &mut Candidates,
) {
    let hits = source.state.text.search(text, depth, allow);
    let best = hits.first().map_or(1.0, |h| h.score).max(f32::MIN_POSITIVE);
    for (i, h) in hits.iter().enumerate() {
        debug_assert!(h.score <= best, "BM25 hits are not sorted best first");
        out.entry(h.id).or_default().keyword = Some(SignalHit {
            rank: i + 1,
            score: h.score,
            normalized: h.score / best,
        });
    }
}

/// The smallest cosine span vector scores are scaled over: among a few
/// candidates whose cosines differ by noise (a small namespace, a hash
/// embedder) the best would otherwise get the whole vector weight and the
/// next none. Neutral on the LoCoMo development split, where the 50
/// candidates' cosines span more.
const MIN_VECTOR_SPAN: f32 = 0.2;

/// Adds the `depth` nearest memories to `vector` to `out`, the cosine
/// scaled to its place between the last and the best candidate's (or
/// [`MIN_VECTOR_SPAN`] below the best, when the last is closer).
///
/// Cold memories (not in the graph) that keyword search found, already in
/// `out`, are scored by vector as if they were resident: their exact
/// vectors are read from the log (at most the keyword list's depth of
/// reads), so a memory moved to the cold tier keeps the meaning signal
/// when its words bring it back.
pub(super) fn vector(
    source: &Source<'_>,
    vector: &[f32],
    depth: usize,
    width: Option<usize>,
    allow: Option<&RoaringTreemap>,
    out: &mut Candidates,
) -> Result<()> {
    let mut hits = source
        .state
        .nearest(vector, depth, width, allow)
        .map_err(|e| invalid(source.namespace, ("recall vector", e.to_string())))?;
    // The cold tier's memories the namespace scanned, when asked, or else
    // those keyword search found.
    let cold: Vec<(u64, f32)> = if !source.cold.is_empty() {
        source.cold.to_vec()
    } else {
        let mut found: Vec<u64> = out
            .keys()
            .copied()
            .filter(|id| source.state.lifecycle.tier(*id) == crate::lifecycle::Tier::Cold)
            .collect();
        found.sort_unstable();
        found
            .into_iter()
            .filter_map(|id| {
                let v = (source.cold_vector)(id)?;
                Some((id, crate::lifecycle::cosine(vector, &v)))
            })
            .collect()
    };
    if !cold.is_empty() {
        hits.extend(cold);
        hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(depth);
    }
    let (best, last) = match (hits.first(), hits.last()) {
        (Some(b), Some(l)) => (b.1, l.1),
        _ => (1.0, 0.0),
    };
    let last = last.min(best - MIN_VECTOR_SPAN);
    let span = (best - last).max(f32::MIN_POSITIVE);
    for (i, &(id, score)) in hits.iter().enumerate() {
        out.entry(id).or_default().vector = Some(SignalHit {
            rank: i + 1,
            score,
            normalized: if hits.len() == 1 {
                1.0
            } else {
                (score - last) / span
            },
        });
    }
    Ok(())
}
