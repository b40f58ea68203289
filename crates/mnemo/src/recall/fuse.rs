//! Stage 4, fusion: each candidate's signals combine into one score (scaled
//! scores or reciprocal rank, see [`Fusion`]), with recency, importance, a
//! date the query names and tags the query names on top; the best `k`
//! are selected with a bounded heap.

use std::time::Duration;

use roaring::RoaringTreemap;

use super::SignalHit;
use super::answer::{self, AnswerType};
use super::candidates::{Candidate, Candidates};
use super::options::{Fusion, RRF_K, RecallOptions, SignalWeights};
use crate::base::{IdMap, Scored, TopK};
use crate::event::DERIVED_FROM;
use crate::model::{Memory, Timestamp};
use crate::query::TimeRange;
use crate::state::State;
use crate::strength::{self, Accesses};

/// A signal's part of the fused score (0 when it did not find the memory).
pub(super) fn part(fusion: Fusion, weight: f32, hit: Option<&SignalHit>) -> f32 {
    hit.map_or(0.0, |h| match fusion {
        Fusion::Scores => weight * h.normalized,
        Fusion::ReciprocalRank => weight / (RRF_K + h.rank as f32),
    })
}

/// The vector, keyword and activation parts of a candidate's score.
pub(super) fn signal_parts(options: &RecallOptions, c: &Candidate) -> [f32; 3] {
    let (f, w) = (options.fusion, &options.weights);
    [
        part(f, w.vector, c.vector.as_ref()),
        part(f, w.keyword, c.keyword.as_ref()),
        part(f, w.activation, c.activation.as_ref()),
    ]
}

/// Namespaces with at most this many distinct tags have the tags a query
/// names found once per recall, by name; with more, each candidate's own
/// tags are checked.
const NAMED_TAG_SCAN: usize = 64;

/// How the tag bonus is decided.
enum TagBonus<'a> {
    /// Nobody gets it: no tag weight, no tags, or none the query names.
    None,
    /// Members of any of these (the memories of each tag the query names).
    Named(Vec<&'a RoaringTreemap>),
    /// Each candidate's tags are checked against the query.
    PerMemory,
}

/// What the query adds on top of the signals: recency, importance, a date
/// it names and tags it names.
pub(super) struct Bonuses<'a> {
    weights: &'a SignalWeights,
    newest: Timestamp,
    half_life: Duration,
    time_hint: Option<TimeRange>,
    query_lower: String,
    tags: TagBonus<'a>,
    answer: Option<AnswerType>,
    accesses: &'a IdMap<Accesses>,
    now: Timestamp,
    decay: f64,
    /// The largest strength activation among the candidates (the
    /// strength bonus is each one's share of it).
    strongest: f64,
}

impl<'a> Bonuses<'a> {
    /// The bonuses of a recall of `text` over `state`, at a time when the
    /// namespace's newest event time is `newest`.
    pub fn new(
        options: &'a RecallOptions,
        state: &'a State,
        text: &str,
        newest: Timestamp,
        time_hint: Option<TimeRange>,
        decay: f64,
        candidates: &Candidates,
    ) -> Self {
        let query_lower = text.to_lowercase();
        let tags = if options.weights.tags <= 0.0 || state.tags.is_empty() {
            TagBonus::None
        } else if state.tags.len() <= NAMED_TAG_SCAN {
            let named: Vec<&RoaringTreemap> = state
                .tags
                .iter()
                .filter(|(tag, _)| names_tag(&query_lower, tag))
                .map(|(_, ids)| ids)
                .collect();
            if named.is_empty() {
                TagBonus::None
            } else {
                TagBonus::Named(named)
            }
        } else {
            TagBonus::PerMemory
        };
        let now = Timestamp::now();
        let strongest = if options.weights.strength > 0.0 {
            candidates
                .keys()
                .filter_map(|id| state.memories.get(id))
                .map(|m| strength::activation(m.recorded, state.accesses.get(&m.id.0), now, decay))
                .fold(0.0, f64::max)
        } else {
            0.0
        };
        let answer = if options.weights.answer_type > 0.0 {
            answer::asked(text)
        } else {
            None
        };
        Self {
            weights: &options.weights,
            newest,
            half_life: options.recency_half_life,
            time_hint,
            query_lower,
            tags,
            answer,
            accesses: &state.accesses,
            now,
            decay,
            strongest,
        }
    }

    /// Whether [`Self::of`] reads the memory itself; when not,
    /// [`Self::of_id`] gives the same bonuses without touching it (a cache
    /// miss per candidate at scale).
    pub fn reads_memory(&self) -> bool {
        let w = self.weights;
        w.recency > 0.0
            || w.importance > 0.0
            || (w.time > 0.0 && self.time_hint.is_some())
            || matches!(self.tags, TagBonus::PerMemory)
            || self.answer.is_some()
            || w.strength > 0.0
    }

    /// `[recency, importance, time, tags, answer type, strength]` for `m`.
    pub fn of(&self, m: &Memory) -> [f32; 6] {
        let w = self.weights;
        [
            if w.recency > 0.0 {
                w.recency * recency(self.newest, m.at, self.half_life)
            } else {
                0.0
            },
            w.importance * m.importance,
            if self.time_hint.is_some_and(|r| r.contains(m.at)) {
                w.time
            } else {
                0.0
            },
            self.tag_bonus(m.id.0, || {
                m.tags.iter().any(|t| names_tag(&self.query_lower, t))
            }),
            match self.answer {
                Some(kind) if answer::offers(kind, &m.content) => w.answer_type,
                _ => 0.0,
            },
            if w.strength > 0.0 && self.strongest > 0.0 {
                let a = strength::activation(
                    m.recorded,
                    self.accesses.get(&m.id.0),
                    self.now,
                    self.decay,
                );
                w.strength * (a / self.strongest).min(1.0) as f32
            } else {
                0.0
            },
        ]
    }

    /// [`Self::of`] for memory `id` when [`Self::reads_memory`] is false.
    pub fn of_id(&self, id: u64) -> [f32; 6] {
        debug_assert!(!self.reads_memory(), "these bonuses need the memory");
        [0.0, 0.0, 0.0, self.tag_bonus(id, || false), 0.0, 0.0]
    }

    /// The tag weight when memory `id` has a tag the query names
    /// (`per_memory` decides in the per-memory mode).
    fn tag_bonus(&self, id: u64, per_memory: impl FnOnce() -> bool) -> f32 {
        let named = match &self.tags {
            TagBonus::None => false,
            TagBonus::Named(sets) => sets.iter().any(|ids| ids.contains(id)),
            TagBonus::PerMemory => per_memory(),
        };
        if named { self.weights.tags } else { 0.0 }
    }
}

/// The consolidated memory standing for a ranked memory: the live memory
/// linked `derived_from` to it, if that memory is ranked too.
fn consolidated_of(state: &State, id: u64, ranked: &IdMap<f32>) -> Option<u64> {
    state
        .links_to(crate::model::MemoryId(id))
        .iter()
        .filter(|e| &*e.kind == DERIVED_FROM)
        .map(|e| e.other.0)
        .find(|c| ranked.contains_key(c))
}

/// Folds ranked sources into their consolidated memory when both are
/// ranked: the consolidated memory takes the place, and the best score, of
/// the first of its group; its sources leave. At most `k` are kept.
pub(super) fn prefer_consolidated(state: &State, ranked: Vec<Scored>, k: usize) -> Vec<Scored> {
    let scores: IdMap<f32> = ranked.iter().map(|s| (s.id, s.score)).collect();
    let mut placed = IdMap::<()>::default();
    let mut out = Vec::with_capacity(k);
    for s in &ranked {
        if out.len() == k {
            break;
        }
        let stands_for = consolidated_of(state, s.id, &scores).unwrap_or(s.id);
        if placed.insert(stands_for, ()).is_some() {
            continue;
        }
        let own = scores.get(&stands_for).copied().unwrap_or(s.score);
        out.push(Scored {
            id: stands_for,
            score: own.max(s.score),
        });
    }
    out
}

/// Leaves out each ranked consolidated memory one of whose sources is
/// ranked above it, or among the first `k` when the consolidated memory
/// holds no term of the query (`query_terms`) that none of its sources
/// holds: the source answers in its own words, and the consolidated
/// memory, which quotes it and more, would take a place the next memory
/// could answer from. A consolidated memory keeps its place when none of
/// its sources is among the first `k` or above it (it then stands in for
/// sources the hits would not show), or when it ranks above them all and
/// matches the query in words of its own.
pub(super) fn yield_consolidated(
    state: &State,
    ranked: &mut Vec<Scored>,
    k: usize,
    query_terms: &[u32],
) {
    // (source, consolidated memory) pairs both ranked; most namespaces
    // have no provenance links, and then nothing more is done.
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    let mut ranked_ids: Option<IdMap<()>> = None;
    for s in ranked.iter() {
        for e in state.links_to(crate::model::MemoryId(s.id)) {
            if &*e.kind != DERIVED_FROM {
                continue;
            }
            let ranked_ids =
                ranked_ids.get_or_insert_with(|| ranked.iter().map(|s| (s.id, ())).collect());
            if ranked_ids.contains_key(&e.other.0) {
                pairs.push((s.id, e.other.0));
            }
        }
    }
    if pairs.is_empty() {
        return;
    }
    // Whether a consolidated memory holds a query term none of its
    // sources holds (asked only of those with a source among the first k
    // below them).
    let mut own_words = IdMap::<bool>::default();
    let mut has_own_words = |consolidated: u64| {
        *own_words.entry(consolidated).or_insert_with(|| {
            let mut held = state.text.matched_ids(query_terms, consolidated);
            for e in state.links_from(crate::model::MemoryId(consolidated)) {
                if &*e.kind == DERIVED_FROM {
                    let by_source = state.text.matched_ids(query_terms, e.other.0);
                    held.retain(|t| by_source.binary_search(t).is_err());
                }
            }
            !held.is_empty()
        })
    };
    // Leaving one out moves the rest up, which may bring another's source
    // among the first `k`: until nothing more yields (each round yields
    // one more at least, so at most one round per pair).
    let mut yielded = IdMap::<()>::default();
    loop {
        let places: IdMap<usize> = ranked
            .iter()
            .filter(|s| !yielded.contains_key(&s.id))
            .enumerate()
            .map(|(place, s)| (s.id, place))
            .collect();
        let before = yielded.len();
        for &(source, consolidated) in &pairs {
            if let (Some(&at), Some(&own)) = (places.get(&source), places.get(&consolidated))
                && (at < own || (at < k && !has_own_words(consolidated)))
            {
                yielded.insert(consolidated, ());
            }
        }
        if yielded.len() == before {
            break;
        }
    }
    if !yielded.is_empty() {
        ranked.retain(|s| !yielded.contains_key(&s.id));
    }
}

/// The best candidates by fused score (at least `options.k`), best first, leaving out
/// memories the facts withhold beyond `options.max_quarantine` and
/// candidates no longer live.
pub(super) fn top(
    state: &State,
    candidates: &Candidates,
    options: &RecallOptions,
    bonuses: &Bonuses<'_>,
) -> Vec<Scored> {
    let withholds = state.facts.withholds_any();
    let reads_memory = bonuses.reads_memory();
    // More are ranked when versions are ordered (a newer version ranked
    // just below the top k can move up) and for consolidated memories
    // (sources folded into them with `prefer_consolidated`, or they yield
    // to their sources without it: either leaves room for the next hits);
    // the caller cuts the list to k.
    let depth = super::versions::depth(options).max(options.k.saturating_mul(3));
    let mut top = TopK::new(depth);
    for (&id, c) in candidates {
        if withholds
            && state
                .facts
                .withheld(id)
                .is_some_and(|level| level > options.max_quarantine)
        {
            continue;
        }
        let bonus = if reads_memory {
            let Some(m) = state.memories.get(&id) else {
                continue;
            };
            bonuses.of(m)
        } else {
            if !state.memories.contains_key(&id) {
                continue;
            }
            bonuses.of_id(id)
        };
        let score = signal_parts(options, c).iter().sum::<f32>() + bonus.iter().sum::<f32>();
        top.push(Scored { score, id });
    }
    top.into_sorted_vec()
}

/// `2^(-age / half_life)`: 1 for the newest memory, 1/2 one half-life
/// older.
fn recency(newest: Timestamp, at: Timestamp, half_life: Duration) -> f32 {
    let age = newest.0.saturating_sub(at.0).max(0) as f64;
    let half = half_life.as_nanos().max(1) as f64;
    (-(age / half) * std::f64::consts::LN_2).exp() as f32
}

/// Whether `query` (lower-cased) names `tag` as whole words, ignoring case:
/// "what did Caroline paint" names the tag `caroline`, not `car`.
fn names_tag(query: &str, tag: &str) -> bool {
    if tag.chars().count() < 2 {
        return false;
    }
    let tag = tag.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    query.match_indices(tag.as_str()).any(|(at, _)| {
        !is_word(query[..at].chars().next_back())
            && !is_word(query[at + tag.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_named_as_whole_words() {
        let q = "what did caroline paint in the car-park near the carpool?";
        assert!(names_tag(q, "Caroline"));
        assert!(names_tag(q, "car-park"));
        assert!(names_tag(q, "park"));
        assert!(!names_tag(q, "carp"));
        assert!(!names_tag(q, "pool"));
        assert!(!names_tag(q, "line"));
        assert!(!names_tag(q, "a"));
        assert!(names_tag("ask émile about it", "Émile"));
        assert!(!names_tag("", "caroline"));
    }

    #[test]
    fn recency_halves_per_half_life() {
        let day = Duration::from_secs(86_400);
        let now = Timestamp(10 * 86_400 * 1_000_000_000);
        assert!((recency(now, now, day) - 1.0).abs() < 1e-6);
        let earlier = Timestamp(9 * 86_400 * 1_000_000_000);
        assert!((recency(now, earlier, day) - 0.5).abs() < 1e-6);
        // A memory dated after the newest one counts as new.
        assert!((recency(earlier, now, day) - 1.0).abs() < 1e-6);
    }
}
