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

/// Nearest live memories a new memory is compared with.
const DUPLICATE_NEIGHBOURS: usize = 4;

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
/// items, vectors filled in) with its nearest live memories and with the
/// earlier new memories of the batch, and decides (see
/// [`crate::lifecycle`]): flagged items stay, merged items leave `items`.
/// Keyed items are never merged or flagged (their key names the memory).
pub(crate) fn near_duplicates(
    state: &State,
    items: &mut Vec<Remember>,
    settings: &lifecycle::Duplicates,
    now: Timestamp,
) -> Result<DuplicateDecisions> {
    let mut decided = DuplicateDecisions::default();
    if settings.mode == DuplicateMode::Off {
        return Ok(decided);
    }
    // The warm tier's nearest codes for every unkeyed item, scanned once
    // for the batch (the state does not change while it is decided).
    let mut warm_hits = warm_nearest(
        state,
        items
            .iter()
            .filter(|item| item.key.is_none())
            .map(|item| item.vector.as_slice()),
        DUPLICATE_NEIGHBOURS,
    )
    .map(Vec::into_iter);
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
        let warm = warm_hits.as_mut().and_then(Iterator::next);
        let neighbours = nearest(state, &item.vector, warm).map_err(|e| crate::Error::Invalid {
            namespace: String::new(),
            field: "vector",
            reason: format!("near-duplicate search: {e}"),
        })?;
        for (n, _) in neighbours {
            let id = MemoryId(n);
            let (Some(memory), Some(vector)) = (state.get(id), state.resident_vector(n)) else {
                continue;
            };
            let v = lifecycle::cosine(&item.vector, &vector);
            if v < settings.vector_similarity {
                continue;
            }
            consider(
                id,
                v,
                lifecycle::jaccard(&words, &lifecycle::word_set(&memory.content)),
            );
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

/// Queries scanned side by side over the warm codes in one pass.
const WARM_LANES: usize = 8;

/// The [`DUPLICATE_NEIGHBOURS`] nearest live memories to `query`, as
/// [`State::nearest`] finds them (no filter, the graph's own width), with
/// the warm tier's part given: `warm`, from [`warm_nearest`], or `None` to
/// let the state scan the codes itself.
fn nearest(
    state: &State,
    query: &[f32],
    warm: Option<Vec<(u64, f32)>>,
) -> std::result::Result<Vec<(u64, f32)>, mnemo_vector::Error> {
    let Some(warm) = warm else {
        return state.nearest(query, DUPLICATE_NEIGHBOURS, None, None);
    };
    // What `State::nearest` does, with the scan of the codes done already.
    let mut hits: Vec<(u64, f32)> = state
        .vectors
        .search(query, DUPLICATE_NEIGHBOURS, None, None)?
        .into_iter()
        .map(|n| (n.id, 1.0 - n.distance))
        .collect();
    if !state.warm.is_empty() {
        hits.extend(warm);
        hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(DUPLICATE_NEIGHBOURS);
    }
    Ok(hits)
}

/// The `k` nearest warm vectors to each of `queries`, exactly as
/// `WarmStore::search` ranks them for each alone (each cosine is the same
/// f32 arithmetic in the same order, so the same bits), but in one pass
/// over the codes for [`WARM_LANES`] queries at a time instead of one pass
/// per query: the per-write near-duplicate check would otherwise scan the
/// whole warm tier once per write. `None` (the caller then scans per
/// query) when the warm tier is empty or its vectors are not all found
/// through the memories' tiers.
fn warm_nearest<'a>(
    state: &State,
    queries: impl Iterator<Item = &'a [f32]>,
    k: usize,
) -> Option<Vec<Vec<(u64, f32)>>> {
    if state.warm.is_empty() || k == 0 {
        return None;
    }
    let warm: Vec<(u64, &crate::tiers::WarmVector)> = state
        .lifecycle
        .tiers
        .iter()
        .filter(|(_, t)| **t == lifecycle::Tier::Warm)
        .filter_map(|(id, _)| Some((*id, state.warm.get(*id)?)))
        .collect();
    if warm.len() != state.warm.len() {
        return None;
    }
    let queries: Vec<&[f32]> = queries.collect();
    let mut out = Vec::with_capacity(queries.len());
    for lanes in queries.chunks(WARM_LANES) {
        out.extend(warm_scan(&warm, lanes, k));
    }
    Some(out)
}

/// [`warm_nearest`] for at most [`WARM_LANES`] queries: the `k` best
/// `(id, cosine)` per query, best first.
fn warm_scan(
    warm: &[(u64, &crate::tiers::WarmVector)],
    queries: &[&[f32]],
    k: usize,
) -> Vec<Vec<(u64, f32)>> {
    use crate::base::{Scored, TopK};
    let lanes = queries.len();
    let dimension = queries.first().map_or(0, |q| q.len());
    // Per query, as `WarmStore::search` computes them: length and sum.
    let norms: Vec<f32> = queries
        .iter()
        .map(|q| q.iter().map(|x| x * x).sum::<f32>().sqrt())
        .collect();
    let sums: Vec<f32> = queries.iter().map(|q| q.iter().sum::<f32>()).collect();
    // The queries of `dimension` component by component, a lane each
    // (queries of another length score alone below).
    let same: Vec<bool> = queries.iter().map(|q| q.len() == dimension).collect();
    let mut by_component = vec![0.0f32; dimension * WARM_LANES];
    for (lane, q) in queries.iter().enumerate() {
        if same[lane] {
            for (i, x) in q.iter().enumerate() {
                by_component[i * WARM_LANES + lane] = *x;
            }
        }
    }
    let mut tops: Vec<TopK<Scored>> = (0..lanes).map(|_| TopK::new(k)).collect();
    for (id, v) in warm {
        if v.codes.len() == dimension {
            // One sum per lane, each over the components in order from
            // -0.0, as `Iterator::sum` adds them.
            let mut dots = [-0.0f32; WARM_LANES];
            for (c, q) in v.codes.iter().zip(by_component.chunks_exact(WARM_LANES)) {
                let c = f32::from(*c);
                for (dot, x) in dots.iter_mut().zip(q) {
                    *dot += x * c;
                }
            }
            for lane in 0..lanes {
                if same[lane] {
                    tops[lane].push(Scored {
                        score: warm_cosine(v, dots[lane], norms[lane], sums[lane]),
                        id: *id,
                    });
                }
            }
        }
        for (lane, q) in queries.iter().enumerate() {
            if !same[lane] && v.codes.len() == q.len() {
                let dot = q
                    .iter()
                    .zip(&v.codes)
                    .map(|(x, &c)| x * f32::from(c))
                    .sum::<f32>();
                tops[lane].push(Scored {
                    score: warm_cosine(v, dot, norms[lane], sums[lane]),
                    id: *id,
                });
            }
        }
    }
    tops.into_iter()
        .map(|top| {
            top.into_sorted_vec()
                .into_iter()
                .map(|s| (s.id, s.score))
                .collect()
        })
        .collect()
}

/// A warm vector's cosine with a query from the sum of query components
/// times codes, as `WarmVector`'s own: `q·x = min·Σq + scale·Σ q[i]·c[i]`.
fn warm_cosine(v: &crate::tiers::WarmVector, dot_codes: f32, norm: f32, sum: f32) -> f32 {
    let dot = v.min * sum + v.scale * dot_codes;
    let c = dot / (norm * v.norm);
    if c.is_finite() { c } else { 0.0 }
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
    fn the_batched_warm_scan_ranks_and_scores_as_the_store_bit_for_bit() {
        use crate::tiers::{WarmStore, WarmVector};
        // A small deterministic generator (no rand in the lib's tests).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let dimension = 24;
        let mut store = WarmStore::default();
        let mut vectors = Vec::new();
        for id in 0..300u64 {
            let v: Vec<f32> = match id {
                0 => vec![0.0; dimension],
                1 => vec![0.25; dimension],
                2 => vec![0.5; 5],
                _ => (0..dimension).map(|_| next()).collect(),
            };
            store.insert(id, WarmVector::encode(&v));
            vectors.push(v);
        }
        // The warm vectors as `warm_nearest` finds them, in another order
        // than the store's.
        let mut ids: Vec<u64> = (0..300).collect();
        ids.reverse();
        let warm: Vec<(u64, &WarmVector)> = ids
            .iter()
            .filter_map(|id| Some((*id, store.get(*id)?)))
            .collect();
        let mut queries: Vec<Vec<f32>> = (0..13)
            .map(|_| (0..dimension).map(|_| next()).collect())
            .collect();
        queries[3] = vec![0.0; dimension];
        queries[4] = vec![0.1; 5];
        queries[9].clone_from(&vectors[7]);
        let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        for k in [1, 4, 10] {
            let batched: Vec<Vec<(u64, f32)>> = refs
                .chunks(WARM_LANES)
                .flat_map(|lanes| warm_scan(&warm, lanes, k))
                .collect();
            assert_eq!(batched.len(), queries.len());
            for (q, got) in refs.iter().zip(&batched) {
                let want = store.search(q, k, None);
                let bits = |hits: &[(u64, f32)]| -> Vec<(u64, u32)> {
                    hits.iter().map(|(id, c)| (*id, c.to_bits())).collect()
                };
                assert_eq!(bits(got), bits(&want), "k = {k}");
            }
        }
    }

    #[test]
    fn outcomes_name_themselves() {
        assert_eq!(Outcome::Added.as_str(), "added");
        assert_eq!(Outcome::Updated.as_str(), "updated");
        assert_eq!(Outcome::Unchanged.as_str(), "unchanged");
    }
}
