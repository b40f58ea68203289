//! A batch of remembers, planned as a pure function of the state and then
//! committed: planning decides for each item whether it adds a memory,
//! updates one (a client key already in use) or finds its content already
//! there; the namespace then embeds what is new, writes the events in one
//! log record and reports each item's [`Remembered`] outcome.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::base::{MemoryId, Seq};
use crate::error::Result;
use crate::event::{Flagged, Merged, Remember, Retag, Revise};
use crate::input::NewMemory;
use crate::lifecycle::{self, DuplicateMode};
use crate::model::{Memory, Timestamp};
use crate::state::State;

/// What remembering one item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A new memory.
    Added,
    /// A memory with the item's client key changed (content or fields), or
    /// an earlier item of the same batch with that key was overwritten.
    Updated,
    /// Nothing changed: the same content is already stored (deduplication)
    /// or the keyed memory already has exactly these fields.
    Unchanged,
    /// A near-duplicate of a live memory, merged into it as a use (see
    /// [`crate::lifecycle`]): no memory was added.
    Merged,
}

impl Outcome {
    /// `added`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Merged => "merged",
        }
    }
}

/// One item of [`crate::Namespace::remember_batch`]: its memory, what
/// happened, and the seq of the event that last wrote the memory (for an
/// unchanged item, the event that wrote what is there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Remembered {
    /// The memory the item landed in.
    pub id: MemoryId,
    /// What happened.
    pub outcome: Outcome,
    /// The log position of the memory's current version.
    pub seq: Seq,
}

/// What a batch will do, decided before anything is embedded or written.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Per item, in order: its memory, its outcome, and (for items that
    /// land on a memory this batch does not write) the seq of the memory's
    /// current version.
    pub items: Vec<(MemoryId, Outcome, Option<Seq>)>,
    /// Memories to add, ids increasing.
    pub fresh: Vec<(MemoryId, NewMemory)>,
    /// Stored memories with a client key this batch uses, and what they
    /// become.
    pub updates: Vec<(Arc<Memory>, NewMemory)>,
    /// Exact repeats (identical content, deduplicated): per item, its
    /// index in `items` and its source and event time, which a namespace
    /// that merges duplicates records as a merge.
    pub repeats: Vec<Repeat>,
}

/// An item whose content was already stored (or written earlier in the
/// batch): see [`Plan::repeats`].
#[derive(Debug)]
pub(crate) struct Repeat {
    /// The item's index in [`Plan::items`].
    pub item: usize,
    /// The item's source.
    pub source: Option<String>,
    /// The item's event time, if it gave one.
    pub at: Option<Timestamp>,
}

/// Where a memory this batch writes comes from.
enum Slot {
    Fresh(usize),
    Update(usize),
}

/// Plans `memories` against `state` (see [`crate::Namespace::remember_batch`]
/// for the rules): items apply in order, as if remembered one by one, so
/// later items see what earlier ones wrote.
pub(crate) fn plan(state: &State, memories: Vec<NewMemory>, dedup: bool) -> Plan {
    let mut plan = Plan::default();
    let mut next = state.next_id;
    let mut slot: HashMap<MemoryId, Slot> = HashMap::new();
    let mut batch_keys: HashMap<String, MemoryId> = HashMap::new();
    // The content each memory this batch writes has now, and the reverse.
    let mut written: HashMap<MemoryId, String> = HashMap::new();
    let mut by_content: HashMap<String, BTreeSet<MemoryId>> = HashMap::new();
    fn write(
        written: &mut HashMap<MemoryId, String>,
        by_content: &mut HashMap<String, BTreeSet<MemoryId>>,
        id: MemoryId,
        content: &str,
    ) {
        if let Some(old) = written.insert(id, content.to_owned())
            && let Some(ids) = by_content.get_mut(&old)
        {
            ids.remove(&id);
        }
        by_content.entry(content.to_owned()).or_default().insert(id);
    }
    for m in memories {
        if let Some(key) = m.key.as_deref() {
            let target = batch_keys.get(key).copied().or_else(|| {
                state
                    .by_key
                    .get(key)
                    .copied()
                    .filter(|id| state.get(*id).is_some())
            });
            if let Some(id) = target {
                // A later item with the same key updates what the earlier
                // one wrote: its fields win, and `at` stays unless given.
                write(&mut written, &mut by_content, id, &m.content);
                let (outcome, seq) = match slot.get(&id) {
                    Some(Slot::Fresh(i)) => (overwrite(&mut plan.fresh[*i].1, m, None), None),
                    Some(Slot::Update(i)) => {
                        let (old, earlier) = &mut plan.updates[*i];
                        (
                            overwrite(earlier, m, Some(old.at)),
                            Some(Seq(old.updated_seq)),
                        )
                    }
                    None => {
                        let Some(old) = state.get(id).cloned() else {
                            debug_assert!(false, "a live key points at no memory");
                            continue;
                        };
                        let outcome = if upsert(&old, &m).is_empty() {
                            Outcome::Unchanged
                        } else {
                            Outcome::Updated
                        };
                        let seq = Some(Seq(old.updated_seq));
                        slot.insert(id, Slot::Update(plan.updates.len()));
                        plan.updates.push((old, m));
                        (outcome, seq)
                    }
                };
                plan.items.push((id, outcome, seq));
                continue;
            }
        }
        if dedup && m.key.is_none() {
            // The smallest id holding this content now: in the state
            // (unless this batch changed it) or written by this batch.
            let stored = state
                .content_ids(&m.content)
                .filter(|id| !written.contains_key(id))
                .min();
            let batch = by_content
                .get(m.content.as_str())
                .and_then(|ids| ids.first().copied());
            if let Some(id) = stored.into_iter().chain(batch).min() {
                let seq = state.get(id).map(|old| Seq(old.updated_seq));
                plan.repeats.push(Repeat {
                    item: plan.items.len(),
                    source: m.source,
                    at: m.at,
                });
                plan.items.push((id, Outcome::Unchanged, seq));
                continue;
            }
        }
        let id = MemoryId(next);
        next += 1;
        if let Some(key) = &m.key {
            batch_keys.insert(key.clone(), id);
        }
        slot.insert(id, Slot::Fresh(plan.fresh.len()));
        write(&mut written, &mut by_content, id, &m.content);
        plan.items.push((id, Outcome::Added, None));
        plan.fresh.push((id, m));
    }
    debug_assert!(
        plan.fresh.windows(2).all(|w| w[0].0 < w[1].0),
        "fresh ids must increase"
    );
    plan
}

/// Nearest hot vectors a new memory is compared with.
const DUPLICATE_NEIGHBOURS: usize = 4;

/// Best keyword matches (any tier) a new memory is compared with: a
/// near-duplicate shares most of its words (Jaccard at least the text
/// threshold), so it ranks among the first for the new memory's own text.
/// This finds warm and cold repeats without scanning their vectors.
const DUPLICATE_TEXT_CANDIDATES: usize = 16;

/// New memories of the same batch a new memory is compared with at most
/// (the most recent ones): bounds the in-batch check to a linear cost.
const DUPLICATE_BATCH_WINDOW: usize = 256;

/// The near-duplicate decisions for a batch's new memories.
#[derive(Debug, Default)]
pub(crate) struct DuplicateDecisions {
    /// New memories kept and flagged.
    pub flags: Vec<Flagged>,
    /// Writes merged into live memories (or into earlier new memories of
    /// the batch).
    pub merges: Vec<Merged>,
    /// The new memory each merged item would have been, and where it went.
    pub merged_into: HashMap<MemoryId, MemoryId>,
}

/// Compares each unkeyed new memory of `items` (a batch's `Remember`
/// items, vectors filled in) with live memories that may repeat it (its
/// nearest hot vectors, and its best keyword matches in every tier, whose
/// vectors come from the warm codes or, for cold ones, from `cold_vector`)
/// and with the earlier new memories of the batch, and decides (see
/// [`crate::lifecycle`]): flagged items stay, merged items leave `items`.
/// Keyed items are never merged or flagged (their key names the memory).
pub(crate) fn near_duplicates(
    state: &State,
    items: &mut Vec<Remember>,
    settings: &lifecycle::Duplicates,
    now: Timestamp,
    cold_vector: impl Fn(u64) -> Option<Vec<f32>>,
) -> Result<DuplicateDecisions> {
    let mut decided = DuplicateDecisions::default();
    if settings.mode == DuplicateMode::Off {
        return Ok(decided);
    }
    // Earlier new memories of the batch: id, index in `kept_items`, words.
    let mut window: Vec<(usize, std::collections::HashSet<String>)> = Vec::new();
    let mut kept_items = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if item.key.is_some() {
            kept_items.push(item);
            continue;
        }
        let words = lifecycle::word_set(&item.content);
        // The best (highest vector similarity) candidate past both
        // thresholds: (id, vector similarity, text similarity).
        let mut best: Option<(MemoryId, f32, f32)> = None;
        let mut consider = |id: MemoryId, vector: f32, text: f32| {
            if settings.is_duplicate(vector, text)
                && best.is_none_or(|(b, v, _)| vector > v || (vector == v && id < b))
            {
                best = Some((id, vector, text));
            }
        };
        let hot = state
            .vectors
            .search(&item.vector, DUPLICATE_NEIGHBOURS, None, None)
            .map_err(|e| crate::Error::Invalid {
                namespace: String::new(),
                field: "vector",
                reason: format!("near-duplicate search: {e}"),
            })?;
        let by_words = state
            .text
            .search(&item.content, DUPLICATE_TEXT_CANDIDATES, None);
        let mut seen = std::collections::HashSet::new();
        let candidates = hot
            .iter()
            .map(|n| n.id)
            .chain(by_words.iter().map(|h| h.id));
        for n in candidates {
            if !seen.insert(n) {
                continue;
            }
            let id = MemoryId(n);
            let Some(memory) = state.get(id) else {
                continue;
            };
            // Both similarities must pass: the cheaper one first.
            let t = lifecycle::jaccard(&words, &lifecycle::word_set(&memory.content));
            if t < settings.text_similarity {
                continue;
            }
            let vector = match state.lifecycle.tier(n) {
                lifecycle::Tier::Cold => cold_vector(n),
                _ => state.resident_vector(n),
            };
            let Some(vector) = vector else {
                continue;
            };
            let v = lifecycle::cosine(&item.vector, &vector);
            if v >= settings.vector_similarity {
                consider(id, v, t);
            }
        }
        for (at, other_words) in &window {
            // Both similarities must pass: the cheaper one first.
            let t = lifecycle::jaccard(&words, other_words);
            if t < settings.text_similarity {
                continue;
            }
            let other: &Remember = &kept_items[*at];
            let v = lifecycle::cosine(&item.vector, &other.vector);
            if v >= settings.vector_similarity {
                consider(other.id, v, t);
            }
        }
        match (best, settings.mode) {
            (Some((of, v, t)), DuplicateMode::Merge) => {
                decided.merges.push(Merged {
                    into: of,
                    source: item.source.clone(),
                    at: item.at.unwrap_or(now),
                    vector_similarity: v,
                    text_similarity: t,
                });
                decided.merged_into.insert(item.id, of);
                continue;
            }
            (Some((of, v, t)), _) => decided.flags.push(Flagged {
                id: item.id,
                of,
                vector_similarity: v,
                text_similarity: t,
            }),
            (None, _) => {}
        }
        if window.len() == DUPLICATE_BATCH_WINDOW {
            window.remove(0);
        }
        window.push((kept_items.len(), words));
        kept_items.push(item);
    }
    *items = kept_items;
    Ok(decided)
}

/// Replaces `earlier` (an item of this batch) by `later` with the same key,
/// keeping `at` unless `later` gives one. `Updated` when `later` changes
/// the memory as the earlier item left it (whose event time, when the
/// earlier item gave none, is `stored_at`: the stored memory's, or unknown
/// for a new memory); `Unchanged` otherwise.
fn overwrite(earlier: &mut NewMemory, later: NewMemory, stored_at: Option<Timestamp>) -> Outcome {
    let changes = later.content != earlier.content
        || later.kind != earlier.kind
        || normalized_tags(&later.tags) != normalized_tags(&earlier.tags)
        || later.source != earlier.source
        || later.metadata != earlier.metadata
        || later
            .at
            .is_some_and(|at| Some(at) != earlier.at.or(stored_at))
        || later.valid != earlier.valid
        || later.importance != earlier.importance
        || later.confidence != earlier.confidence;
    let at = later.at.or(earlier.at);
    *earlier = NewMemory { at, ..later };
    if changes {
        Outcome::Updated
    } else {
        Outcome::Unchanged
    }
}

/// Tags sorted and without repeats, as memories hold them.
pub(crate) fn normalized_tags(tags: &[String]) -> Vec<String> {
    let mut tags = tags.to_vec();
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// The new memory event of a planned item, with its vector.
pub(crate) fn remember_event(id: MemoryId, m: NewMemory, vector: Vec<f32>) -> Remember {
    Remember {
        id,
        tags: normalized_tags(&m.tags),
        key: m.key,
        content: m.content,
        kind: m.kind,
        source: m.source,
        metadata: m.metadata,
        at: m.at,
        valid: m.valid,
        importance: m.importance,
        confidence: m.confidence,
        vector,
        erased: false,
    }
}

/// What turns a stored memory into a keyed item's fields.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Upsert {
    /// Changed fields; when the content changes its `vector` is the
    /// item's own vector, or `None` when the namespace must embed it.
    pub revise: Option<Revise>,
    /// Changed tags.
    pub retag: Option<Retag>,
}

impl Upsert {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.revise.is_none() && self.retag.is_none()
    }

    /// Whether the content changes without a vector given: the namespace
    /// must embed it.
    pub fn needs_vector(&self) -> bool {
        self.revise
            .as_ref()
            .is_some_and(|r| r.content.is_some() && r.vector.is_none())
    }
}

/// The revision and retagging that turn `old` into `m` (pure: the content's
/// embedding is left to the caller when `m` has no vector).
pub(crate) fn upsert(old: &Memory, m: &NewMemory) -> Upsert {
    let unchanged = Revise {
        id: old.id,
        ..Revise::default()
    };
    let mut revise = unchanged.clone();
    if m.content != old.content {
        revise.vector = m.vector.clone();
        revise.content = Some(m.content.clone());
    }
    if m.kind != old.kind {
        revise.kind = Some(m.kind);
    }
    if m.source != old.source {
        revise.source = Some(m.source.clone());
    }
    if m.metadata != old.metadata {
        revise.metadata = Some(m.metadata.clone());
    }
    if let Some(at) = m.at
        && at != old.at
    {
        revise.at = Some(at);
    }
    if m.valid != old.valid {
        revise.valid = Some(m.valid);
    }
    if m.importance != old.importance {
        revise.importance = Some(m.importance);
    }
    if m.confidence != old.confidence {
        revise.confidence = Some(m.confidence);
    }
    let tags = normalized_tags(&m.tags);
    let retag = (tags != old.tags).then(|| Retag {
        id: old.id,
        remove: old
            .tags
            .iter()
            .filter(|t| !tags.contains(t))
            .cloned()
            .collect(),
        add: tags,
    });
    Upsert {
        revise: (revise != unchanged).then_some(revise),
        retag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwriting_with_the_same_fields_is_unchanged() {
        let mut earlier = NewMemory::new("a").key("k").tag("x").tag("y");
        assert_eq!(
            overwrite(
                &mut earlier,
                NewMemory::new("a").key("k").tag("y").tag("x").tag("x"),
                None
            ),
            Outcome::Unchanged
        );
        assert_eq!(
            overwrite(&mut earlier, NewMemory::new("b").key("k"), None),
            Outcome::Updated
        );
        assert_eq!(earlier.content, "b");
        // An event time equal to the stored one changes nothing; a new
        // one, or any one when the time is not known yet, does.
        let t = Timestamp(5);
        assert_eq!(
            overwrite(&mut earlier, NewMemory::new("b").key("k").at(t), Some(t)),
            Outcome::Unchanged
        );
        let mut fresh = NewMemory::new("c").key("k");
        assert_eq!(
            overwrite(&mut fresh, NewMemory::new("c").key("k").at(t), None),
            Outcome::Updated
        );
        assert_eq!(fresh.at, Some(t));
    }

    #[test]
    fn outcomes_name_themselves() {
        assert_eq!(Outcome::Added.as_str(), "added");
        assert_eq!(Outcome::Updated.as_str(), "updated");
        assert_eq!(Outcome::Unchanged.as_str(), "unchanged");
    }
}
