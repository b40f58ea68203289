//! Stage 2, seeds: the candidates fused without activation; the best seed
//! spreading in proportion to their score (the best seed gets 1).

use super::candidates::Candidates;
use super::fuse::part;
use super::options::RecallOptions;
use crate::base::{Scored, TopK};
use crate::state::State;

/// The `options.seeds` best candidates by vector and keyword alone, as
/// graph nodes with their activation (best 1), best first.
pub(super) fn choose(
    state: &State,
    candidates: &Candidates,
    options: &RecallOptions,
) -> Vec<(u32, f32)> {
    let w = &options.weights;
    let mut top = TopK::new(options.seeds);
    for (&id, c) in candidates {
        let score = part(options.fusion, w.vector, c.vector.as_ref())
            + part(options.fusion, w.keyword, c.keyword.as_ref());
        top.push(Scored { score, id });
    }
    let ranked = top.into_sorted_vec();
    let best = ranked
        .first()
        .map_or(1.0, |r| r.score)
        .max(f32::MIN_POSITIVE);
    ranked
        .iter()
        .filter_map(|r| Some((state.assoc.node(r.id)?, r.score / best)))
        .collect()
}
