//! Newest version first: when an agent restates something it knows with a
//! new value ("Maya prefers light mode in the editor", months after "Maya
//! prefers dark mode in the editor"), both memories answer a question
//! about it equally well in words and meaning, and the old one has often
//! been said more times. Recall should put the statement that holds now
//! first.
//!
//! Two ranked hits are **versions of one statement** when
//!
//! - both are [`Kind::Semantic`] (something known, which a later statement
//!   can replace; episodic memories are events, and a later event does not
//!   undo an earlier one),
//! - they hold the very same words of the query (the same stemmed terms),
//!   at least one, so the question cannot tell them apart, and
//! - their texts are alike: the Jaccard similarity of their stemmed words
//!   is at least [`VERSION_OVERLAP`].
//!
//! When the question names whom or what it is about, a memory about
//! someone else lacks those words and is in no group with the memories
//! that have them.
//!
//! A group of versions keeps the places its members were ranked at, and
//! fills them newest first: the newest version takes the best place.
//! "Newest" is when the statement was last made: the memory's event time,
//! or the latest write merged into it as a near-duplicate, whichever is
//! later. Each hit takes the score of the place it fills, so hits stay in
//! score order. Nothing leaves the ranking; only the order within a group
//! changes.

use super::options::RecallOptions;
use crate::base::Scored;
use crate::model::{Kind, Timestamp};
use crate::state::State;

/// How alike two semantic memories' words must be (Jaccard similarity of
/// their stemmed term sets) to be versions of one statement. Two
/// statements of one preference with different values share the subject
/// and the wording and differ in the value and filler words (about 0.35 to
/// 0.7 in the lifecycle simulation).
pub const VERSION_OVERLAP: f32 = 0.3;

/// Extra hits ranked, beyond `k`, so that a newer version ranked just
/// below the top `k` can take its group's place.
pub(super) const EXTRA_RANKED: usize = 16;

/// How many hits to rank before versions are ordered and the list is cut
/// to `options.k`.
pub(super) fn depth(options: &RecallOptions) -> usize {
    if options.newest_first {
        options
            .k
            .saturating_mul(3)
            .max(options.k.saturating_add(EXTRA_RANKED))
    } else {
        options.k
    }
}

/// When the statement memory `id` makes was last made.
fn stated_at(state: &State, id: u64, at: Timestamp) -> Timestamp {
    state.lifecycle.last_merged(id).map_or(at, |m| m.max(at))
}

/// One group of versions: the query terms its members hold, its first
/// member (the one the others are compared with) and the places (indices
/// into the ranking) of its members.
struct Group {
    terms: Vec<u32>,
    first: u64,
    places: Vec<usize>,
}

/// Reorders `ranked` so that each group of versions of one statement is
/// listed newest first, in the places its members held (see the module
/// docs). `query_terms` are the query's terms from the text index.
pub(super) fn newest_first(state: &State, ranked: &mut [Scored], query_terms: &[u32]) {
    if query_terms.is_empty() || ranked.len() < 2 {
        return;
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut stated: Vec<Timestamp> = vec![Timestamp(0); ranked.len()];
    for (place, hit) in ranked.iter().enumerate() {
        let Some(m) = state.memories.get(&hit.id) else {
            continue;
        };
        if m.kind != Kind::Semantic {
            continue;
        }
        let terms = state.text.matched_ids(query_terms, hit.id);
        if terms.is_empty() {
            continue;
        }
        stated[place] = stated_at(state, hit.id, m.at);
        let joined = groups.iter_mut().find(|g| {
            g.terms == terms
                && state
                    .text
                    .jaccard(g.first, hit.id)
                    .is_some_and(|o| o >= VERSION_OVERLAP)
        });
        match joined {
            Some(g) => g.places.push(place),
            None => groups.push(Group {
                terms,
                first: hit.id,
                places: vec![place],
            }),
        }
    }
    for g in groups.iter().filter(|g| g.places.len() > 1) {
        let mut members: Vec<(Timestamp, usize, u64)> = g
            .places
            .iter()
            .map(|&p| (stated[p], p, ranked[p].id))
            .collect();
        // Newest first; equal times keep their ranked order.
        members.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (&place, &(_, _, id)) in g.places.iter().zip(&members) {
            ranked[place].id = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ranks_more_only_when_ordering_versions() {
        let mut o = RecallOptions::k(5);
        assert_eq!(depth(&o), 21);
        o.k = 10;
        assert_eq!(depth(&o), 30);
        o.newest_first = false;
        assert_eq!(depth(&o), 10);
        o.k = usize::MAX;
        o.newest_first = true;
        assert_eq!(depth(&o), usize::MAX);
    }
}
