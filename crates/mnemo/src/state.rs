//! The folded state of a namespace and the fold itself.
//!
//! [`State`] holds every live memory as an `Arc<Memory>` (a revision
//! replaces the `Arc`, so a reader holding the old one keeps a consistent
//! copy: copy-on-write per memory) and the derived indices: the client-key
//! and content-hash maps, tag / source / kind bitmaps, B-trees over event
//! time, recorded time and importance, the link lists and the BM25 text
//! index, and the namespace's [`VectorIndex`] (shared with the background
//! indexer, with its own locking so graph insertion never blocks other
//! queries): the fold adds, replaces and removes vectors itself.
//!
//! [`State::apply`] folds one event and reports each memory it touched as a
//! [`Change`] (old and new version), from which deltas for callers and
//! watchers are made. It never fails: the writer validated the event before
//! logging it, and an event that no longer applies (a foreign log, say)
//! changes nothing.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use mnemo_embed::EmbedderInfo;
use roaring::RoaringTreemap;

use crate::assoc::AssocGraph;
use crate::base::IdMap;
use crate::event::{
    DERIVED_FROM, Derived, Event, RecordTrajectory, Remember, Retag, Revise, TierMove, Unlink,
};
use crate::facts::FactStore;
use crate::lifecycle::{DuplicateOf, Tables, Tier};
use crate::model::{Kind, Link, Memory, MemoryId, Timestamp};
use crate::patterns::{PatternParams, PatternStore, Trajectory};
use crate::strength::Accesses;
use crate::text::TextIndex;
use crate::tiers::{WarmStore, WarmVector};
use crate::vectors::VectorIndex;

/// One memory touched by an event: its version before and after.
#[derive(Debug, Clone)]
pub struct Change {
    /// The memory.
    pub id: MemoryId,
    /// Before the event (`None`: it was added).
    pub old: Option<Arc<Memory>>,
    /// After the event (`None`: it was forgotten).
    pub new: Option<Arc<Memory>>,
}

/// What one event changed: the ids added, changed and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// The event's log seq.
    pub seq: u64,
    /// Memories that did not exist before.
    pub added: Vec<MemoryId>,
    /// Memories that changed (content, tags, fields, links).
    pub changed: Vec<MemoryId>,
    /// Memories forgotten.
    pub removed: Vec<MemoryId>,
}

impl Delta {
    /// Sorts the changes of one event into a delta.
    pub(crate) fn from_changes(seq: u64, changes: &[Change]) -> Delta {
        let mut delta = Delta {
            seq,
            ..Delta::default()
        };
        for c in changes {
            match (&c.old, &c.new) {
                (None, Some(_)) => delta.added.push(c.id),
                (Some(_), Some(_)) => delta.changed.push(c.id),
                (Some(_), None) => delta.removed.push(c.id),
                (None, None) => {}
            }
        }
        delta
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// One end of a link as stored in the adjacency lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The memory at the other end.
    pub other: MemoryId,
    /// The link's kind.
    pub kind: Arc<str>,
    /// The link's weight.
    pub weight: f32,
}

/// BM25's length normalisation for memories. Memories are short (a turn,
/// an observation), and their length says little about relevance: on the
/// LoCoMo development split keyword-only hit@5 is 0.635 with `b = 0.3`
/// against 0.618 with the textbook 0.75 (0.610 with 1.0), and full recall
/// 0.711 against 0.700.
pub(crate) const MEMORY_BM25_B: f32 = 0.3;

/// The content hash used for deduplication.
pub(crate) fn content_hash(content: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(content.as_bytes())
}

/// Orders `f32` importances (all in `[0, 1]`, never NaN) as integers.
/// `-0.0` passes the `[0, 1]` check but its bits (sign set) would sort it
/// above `1.0`: it is keyed as `0.0`, which it equals.
pub(crate) fn importance_key(importance: f32) -> u32 {
    if importance == 0.0 {
        0
    } else {
        importance.to_bits()
    }
}

/// The state's record of a trajectory event.
fn trajectory(seq: u64, recorded: Timestamp, t: &RecordTrajectory) -> Trajectory {
    Trajectory {
        id: t.id,
        task: t.task.clone(),
        vector: t.vector.clone(),
        success: t.success,
        score: t.score,
        latency_ms: t.latency_ms,
        cost: t.cost,
        executor: t.executor.clone(),
        tags: t.tags.clone(),
        at: t.at.unwrap_or(recorded),
        pattern: t.pattern,
        seq,
    }
}

/// The folded state of one namespace (see the module docs).
pub struct State {
    pub(crate) memories: IdMap<Arc<Memory>>,
    pub(crate) live: RoaringTreemap,
    pub(crate) by_key: HashMap<String, MemoryId>,
    pub(crate) by_content: IdMap<MemoryId>,
    /// Further memories whose content hashes equal one in `by_content`
    /// (identical content kept when deduplication was off, or a hash
    /// collision).
    pub(crate) content_overflow: IdMap<Vec<MemoryId>>,
    pub(crate) tags: HashMap<String, RoaringTreemap>,
    pub(crate) sources: HashMap<String, RoaringTreemap>,
    pub(crate) kinds: [RoaringTreemap; 3],
    pub(crate) by_at: BTreeSet<(Timestamp, u64)>,
    /// Per tag, its memories by event time: "tag X, newest first" walks
    /// only that tag's memories (the composite index a SQL user would
    /// create on `(tag, at)`).
    pub(crate) tag_at: HashMap<String, BTreeSet<(Timestamp, u64)>>,
    pub(crate) by_recorded: BTreeSet<(Timestamp, u64)>,
    pub(crate) by_importance: BTreeSet<(u32, u64)>,
    pub(crate) links_out: IdMap<Vec<Edge>>,
    pub(crate) links_in: IdMap<Vec<Edge>>,
    pub(crate) link_count: usize,
    pub(crate) text: TextIndex,
    /// The id the next new memory gets.
    pub(crate) next_id: u64,
    /// The seq of the next event to fold.
    pub(crate) next_seq: u64,
    /// The embedder named by the namespace's `Init` event.
    pub(crate) embedder: Option<EmbedderInfo>,
    /// Node numbers and temporal chains of the association graph.
    pub(crate) assoc: AssocGraph,
    /// Facts and conflicts.
    pub(crate) facts: FactStore,
    /// Trajectories and learned patterns (made by the `Init` event, which
    /// fixes the dimension of task vectors).
    pub(crate) patterns: Option<PatternStore>,
    /// The vectors of the live memories.
    pub(crate) vectors: Arc<VectorIndex>,
    /// Touches of the memories used since they were written (see
    /// [`crate::strength`]).
    pub(crate) accesses: IdMap<Accesses>,
    /// Deadlines, near-duplicate flags and merged writes (see
    /// [`crate::lifecycle`]).
    pub(crate) lifecycle: Tables,
    /// The warm tier's vectors.
    pub(crate) warm: WarmStore,
}

impl State {
    /// An empty state whose memories' vectors go to `vectors`.
    pub fn new(vectors: Arc<VectorIndex>) -> Self {
        State {
            memories: IdMap::default(),
            live: RoaringTreemap::new(),
            by_key: HashMap::new(),
            by_content: IdMap::default(),
            content_overflow: IdMap::default(),
            tags: HashMap::new(),
            sources: HashMap::new(),
            kinds: Default::default(),
            by_at: BTreeSet::new(),
            tag_at: HashMap::new(),
            by_recorded: BTreeSet::new(),
            by_importance: BTreeSet::new(),
            links_out: IdMap::default(),
            links_in: IdMap::default(),
            link_count: 0,
            text: TextIndex::with_params(crate::text::DEFAULT_K1, MEMORY_BM25_B),
            next_id: 1,
            next_seq: 0,
            embedder: None,
            assoc: AssocGraph::default(),
            facts: FactStore::default(),
            patterns: None,
            vectors,
            accesses: IdMap::default(),
            lifecycle: Tables::default(),
            warm: WarmStore::default(),
        }
    }

    /// The vector index the fold writes to.
    pub fn vectors(&self) -> &VectorIndex {
        &self.vectors
    }

    /// The live memory with this id (a memory past its deadline is not
    /// live, though its expiry may not be written yet).
    pub fn get(&self, id: MemoryId) -> Option<&Arc<Memory>> {
        if !self.lifecycle.deadlines.is_empty() && self.lifecycle.is_overdue(id.0, Timestamp::now())
        {
            return None;
        }
        self.memories.get(&id.0)
    }

    /// The memories past their deadline now whose expiry is not written
    /// yet, as a bitmap (empty almost always: the sweep writes them within
    /// about a second).
    pub(crate) fn overdue_now(&self) -> Option<RoaringTreemap> {
        let now = Timestamp::now();
        self.lifecycle
            .any_overdue(now)
            .then(|| self.lifecycle.overdue(now).collect())
    }

    /// Number of live memories.
    pub fn len(&self) -> usize {
        self.memories.len()
    }

    /// Whether there are no live memories.
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    /// Every live memory holding exactly `content`, in no order (callers
    /// take the smallest id, so the answer does not depend on the order the
    /// index was built in: a replay and a snapshot restore differ there).
    pub(crate) fn content_ids<'a>(
        &'a self,
        content: &'a str,
    ) -> impl Iterator<Item = MemoryId> + 'a {
        let hash = content_hash(content);
        self.by_content
            .get(&hash)
            .into_iter()
            .chain(self.content_overflow.get(&hash).into_iter().flatten())
            .copied()
            .filter(move |id| self.get(*id).is_some_and(|m| m.content == content))
    }

    /// Links leaving `id`.
    pub fn links_from(&self, id: MemoryId) -> &[Edge] {
        self.links_out.get(&id.0).map_or(&[], Vec::as_slice)
    }

    /// Links arriving at `id`.
    pub fn links_to(&self, id: MemoryId) -> &[Edge] {
        self.links_in.get(&id.0).map_or(&[], Vec::as_slice)
    }

    /// Folds the event at `seq`, stamped `recorded`, into the state (and
    /// its vector index). Appends the memories it touched to `changes`.
    pub(crate) fn apply(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        event: &Event,
        changes: &mut Vec<Change>,
    ) {
        match event {
            Event::Init(init) => {
                if self.embedder.is_none() {
                    self.embedder = Some(EmbedderInfo::new(
                        init.embedder.clone(),
                        init.dimension as usize,
                    ));
                    self.patterns = Some(PatternStore::new(init.dimension as usize));
                }
            }
            Event::Remember(items) => {
                for r in items {
                    self.apply_remember(seq, recorded, r, changes);
                }
            }
            Event::Revise(r) => self.apply_revise(seq, r, changes),
            Event::Retag(r) => self.apply_retag(seq, r, changes),
            Event::Link(l) => self.apply_link(l, changes),
            Event::Unlink(u) => self.apply_unlink(u, changes),
            Event::Forget(id) => self.apply_forget(*id, changes),
            Event::Touch(t) => {
                for id in &t.ids {
                    if self.memories.contains_key(&id.0) {
                        self.accesses.entry(id.0).or_default().touch(t.at);
                    }
                }
            }
            Event::Expiry(items) => {
                for (id, deadline) in items {
                    if self.memories.contains_key(&id.0) {
                        self.lifecycle.set_deadline(id.0, *deadline);
                    }
                }
            }
            Event::Expire(e) => {
                for id in &e.ids {
                    self.apply_forget(*id, changes);
                }
            }
            Event::Flag(items) => {
                for f in items {
                    if self.memories.contains_key(&f.id.0) && self.memories.contains_key(&f.of.0) {
                        self.lifecycle.flagged.insert(
                            f.id.0,
                            DuplicateOf {
                                of: f.of,
                                vector_similarity: f.vector_similarity,
                                text_similarity: f.text_similarity,
                            },
                        );
                    }
                }
            }
            Event::Tier(moves) => {
                for m in moves {
                    self.apply_tier(m);
                }
            }
            Event::Derive(items) => {
                for d in items {
                    self.apply_derived(seq, recorded, d, changes);
                }
            }
            Event::Merge(items) => {
                for m in items {
                    if self.memories.contains_key(&m.into.0) {
                        self.accesses.entry(m.into.0).or_default().touch(m.at);
                        self.lifecycle.merge(m.into.0, m.source.clone(), m.at);
                    }
                }
            }
            Event::Declare(d) => self.facts.declare(&d.predicate, d.cardinality),
            Event::Assert(a) => {
                self.facts.apply_assert(seq, recorded, a);
            }
            Event::Challenge(n) => self.facts.apply_challenge(seq, recorded, n.fact, &n.reason),
            Event::Support(s) => {
                self.facts
                    .apply_support(seq, recorded, s.fact, &s.evidence, s.note.as_deref());
            }
            Event::Resolve(r) => self.facts.apply_resolve(
                seq,
                recorded,
                r.conflict,
                &r.accepted,
                &r.deprecated,
                &r.rationale,
            ),
            Event::Quarantine(q) => {
                self.facts
                    .apply_quarantine(seq, recorded, q.fact, q.level, &q.reason);
            }
            Event::Retract(n) => self.facts.apply_retract(seq, recorded, n.fact, &n.reason),
            Event::Trajectory(t) => {
                if let Some(patterns) = &mut self.patterns {
                    patterns.record(trajectory(seq, recorded, t));
                }
            }
            Event::Refine(r) => {
                if let Some(patterns) = &mut self.patterns {
                    let params = PatternParams {
                        kmeans_iterations: r.iterations as usize,
                        refine_max_trajectories: r.max_trajectories as usize,
                        ..PatternParams::default()
                    };
                    patterns.refine(r.seed, &params);
                }
            }
            Event::Prune(ids) => {
                if let Some(patterns) = &mut self.patterns {
                    patterns.prune(ids);
                }
            }
            Event::Consolidate(merges) => {
                if let Some(patterns) = &mut self.patterns {
                    patterns.consolidate(merges);
                }
            }
        }
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Folds one memory of a `Remember` event.
    pub(crate) fn apply_remember(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        r: &Remember,
        changes: &mut Vec<Change>,
    ) {
        // Only a foreign log holds these: an id in use, or the last id
        // (after which no id could be assigned).
        let Some(next_id) = r.id.0.checked_add(1) else {
            return;
        };
        if self.memories.contains_key(&r.id.0) {
            return;
        }
        if r.erased {
            // Forgotten since: its id stays used, nothing else is known.
            self.next_id = self.next_id.max(next_id);
            return;
        }
        let memory = Arc::new(Memory {
            id: r.id,
            key: r.key.clone(),
            content: r.content.clone(),
            kind: r.kind,
            tags: r.tags.clone(),
            source: r.source.clone(),
            metadata: r.metadata.clone(),
            at: r.at.unwrap_or(recorded),
            recorded,
            valid: r.valid,
            importance: r.importance,
            confidence: r.confidence,
            created_seq: seq,
            updated_seq: seq,
        });
        self.next_id = self.next_id.max(next_id);
        if let Some(key) = &r.key {
            self.by_key.insert(key.clone(), r.id);
        }
        self.index(&memory);
        self.text.insert(r.id.0, &memory.content);
        self.vectors.add(r.id.0, &r.vector);
        self.memories.insert(r.id.0, Arc::clone(&memory));
        changes.push(Change {
            id: r.id,
            old: None,
            new: Some(memory),
        });
    }

    /// Folds one consolidated memory: the memory, then a `derived_from`
    /// link to each live source.
    pub(crate) fn apply_derived(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        d: &Derived,
        changes: &mut Vec<Change>,
    ) {
        let id = d.memory.id;
        let added = !self.memories.contains_key(&id.0);
        self.apply_remember(seq, recorded, &d.memory, changes);
        if !added || !self.memories.contains_key(&id.0) {
            return;
        }
        for &source in &d.sources {
            if source != id {
                self.apply_link(
                    &Link {
                        from: id,
                        to: source,
                        kind: DERIVED_FROM.to_owned(),
                        weight: 1.0,
                    },
                    changes,
                );
            }
        }
    }

    /// Moves a memory's vector to another tier: a demotion keeps what the
    /// colder tier keeps of the vector there is; a promotion uses the
    /// vector the event carries (a memory promoted without one has none
    /// to keep and stays cold).
    fn apply_tier(&mut self, m: &TierMove) {
        let id = m.id.0;
        if !self.memories.contains_key(&id) {
            return;
        }
        let from = self.lifecycle.tier(id);
        let vector = m.vector.clone().or_else(|| match from {
            Tier::Hot => self.vectors.get(id),
            Tier::Warm => self.warm.decode(id),
            Tier::Cold => None,
        });
        match from {
            Tier::Hot => self.vectors.remove(id),
            Tier::Warm => {
                self.warm.remove(id);
            }
            Tier::Cold => {}
        }
        let to = match (m.tier, vector) {
            (Tier::Hot, Some(v)) => {
                self.vectors.add(id, &v);
                Tier::Hot
            }
            (Tier::Warm, Some(v)) => {
                self.warm.insert(id, WarmVector::encode(&v));
                Tier::Warm
            }
            _ => Tier::Cold,
        };
        self.lifecycle.set_tier(id, to);
    }

    /// The `k` memories nearest to `query` in the hot and warm tiers, as
    /// `(id, cosine)`, nearest first (the hot tier by its graph, the warm
    /// by a scan of the codes), among `allow` when given.
    pub(crate) fn nearest(
        &self,
        query: &[f32],
        k: usize,
        width: Option<usize>,
        allow: Option<&RoaringTreemap>,
    ) -> std::result::Result<Vec<(u64, f32)>, mnemo_vector::Error> {
        let mut hits: Vec<(u64, f32)> = self
            .vectors
            .search(query, k, width, allow)?
            .into_iter()
            .map(|n| (n.id, 1.0 - n.distance))
            .collect();
        if !self.warm.is_empty() {
            hits.extend(self.warm.search(query, k, allow));
            hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            hits.truncate(k);
        }
        Ok(hits)
    }

    /// A memory's vector from whichever tier keeps it in memory (the warm
    /// tier's decoded codes); `None` for a cold or unknown memory.
    pub(crate) fn resident_vector(&self, id: u64) -> Option<Vec<f32>> {
        match self.lifecycle.tier(id) {
            Tier::Hot => self.vectors.get(id),
            Tier::Warm => self.warm.decode(id),
            Tier::Cold => None,
        }
    }

    fn apply_revise(&mut self, seq: u64, r: &Revise, changes: &mut Vec<Change>) {
        let Some(old) = self.memories.get(&r.id.0).cloned() else {
            return;
        };
        let mut new = (*old).clone();
        if let Some(content) = &r.content {
            new.content.clone_from(content);
        }
        if let Some(kind) = r.kind {
            new.kind = kind;
        }
        if let Some(source) = &r.source {
            new.source.clone_from(source);
        }
        if let Some(metadata) = &r.metadata {
            new.metadata.clone_from(metadata);
        }
        if let Some(at) = r.at {
            new.at = at;
        }
        if let Some(valid) = r.valid {
            new.valid = valid;
        }
        if let Some(importance) = r.importance {
            new.importance = importance;
        }
        if let Some(confidence) = r.confidence {
            new.confidence = confidence;
        }
        new.updated_seq = seq;
        self.unindex(&old);
        let new = Arc::new(new);
        self.index(&new);
        if r.content.is_some() {
            self.text.insert(r.id.0, &new.content);
        }
        if let Some(vector) = &r.vector {
            self.lifecycle.vector_seq.insert(r.id.0, seq);
            match self.lifecycle.tier(r.id.0) {
                Tier::Hot => self.vectors.replace(r.id.0, vector),
                Tier::Warm => self.warm.insert(r.id.0, WarmVector::encode(vector)),
                Tier::Cold => {}
            }
        }
        self.memories.insert(r.id.0, Arc::clone(&new));
        changes.push(Change {
            id: r.id,
            old: Some(old),
            new: Some(new),
        });
    }

    fn apply_retag(&mut self, seq: u64, r: &Retag, changes: &mut Vec<Change>) {
        let Some(old) = self.memories.get(&r.id.0).cloned() else {
            return;
        };
        let mut tags = old.tags.clone();
        tags.extend(r.add.iter().cloned());
        tags.sort_unstable();
        tags.dedup();
        tags.retain(|t| !r.remove.contains(t));
        if tags == old.tags {
            return;
        }
        let mut new = (*old).clone();
        new.tags = tags;
        new.updated_seq = seq;
        self.unindex(&old);
        let new = Arc::new(new);
        self.index(&new);
        self.memories.insert(r.id.0, Arc::clone(&new));
        changes.push(Change {
            id: r.id,
            old: Some(old),
            new: Some(new),
        });
    }

    pub(crate) fn apply_link(&mut self, l: &Link, changes: &mut Vec<Change>) {
        let (Some(from), Some(to)) = (
            self.memories.get(&l.from.0).cloned(),
            self.memories.get(&l.to.0).cloned(),
        ) else {
            return;
        };
        let kind: Arc<str> = Arc::from(l.kind.as_str());
        let out = self.links_out.entry(l.from.0).or_default();
        match out
            .iter_mut()
            .find(|e| e.other == l.to && *e.kind == *l.kind)
        {
            Some(edge) => {
                edge.weight = l.weight;
                if let Some(back) = self.links_in.get_mut(&l.to.0).and_then(|v| {
                    v.iter_mut()
                        .find(|e| e.other == l.from && *e.kind == *l.kind)
                }) {
                    back.weight = l.weight;
                }
            }
            None => {
                out.push(Edge {
                    other: l.to,
                    kind: Arc::clone(&kind),
                    weight: l.weight,
                });
                self.links_in.entry(l.to.0).or_default().push(Edge {
                    other: l.from,
                    kind,
                    weight: l.weight,
                });
                self.link_count += 1;
            }
        }
        changes.push(Change {
            id: l.from,
            old: Some(Arc::clone(&from)),
            new: Some(from),
        });
        if l.to != l.from {
            changes.push(Change {
                id: l.to,
                old: Some(Arc::clone(&to)),
                new: Some(to),
            });
        }
    }

    fn apply_unlink(&mut self, u: &Unlink, changes: &mut Vec<Change>) {
        let removed = remove_edge(&mut self.links_out, u.from, u.to, &u.kind);
        remove_edge(&mut self.links_in, u.to, u.from, &u.kind);
        if !removed {
            return;
        }
        self.link_count -= 1;
        for id in [u.from, u.to] {
            if let Some(m) = self.memories.get(&id.0) {
                changes.push(Change {
                    id,
                    old: Some(Arc::clone(m)),
                    new: Some(Arc::clone(m)),
                });
            }
            if u.from == u.to {
                break;
            }
        }
    }

    fn apply_forget(&mut self, id: MemoryId, changes: &mut Vec<Change>) {
        let Some(old) = self.memories.remove(&id.0) else {
            return;
        };
        self.unindex(&old);
        self.assoc.remove(id.0);
        if let Some(key) = &old.key
            && self.by_key.get(key) == Some(&id)
        {
            self.by_key.remove(key);
        }
        self.text.remove(id.0);
        self.vectors.remove(id.0);
        self.warm.remove(id.0);
        self.accesses.remove(&id.0);
        self.lifecycle.remove(id.0);
        self.facts.erase_evidence(id);
        for edge in self.links_out.remove(&id.0).unwrap_or_default() {
            if remove_edge(&mut self.links_in, edge.other, id, &edge.kind) {
                self.link_count -= 1;
            }
        }
        for edge in self.links_in.remove(&id.0).unwrap_or_default() {
            if remove_edge(&mut self.links_out, edge.other, id, &edge.kind) {
                self.link_count -= 1;
            }
        }
        changes.push(Change {
            id,
            old: Some(old),
            new: None,
        });
    }

    /// Adds `m` to the bitmaps, B-trees and the content map.
    pub(crate) fn index(&mut self, m: &Memory) {
        let id = m.id.0;
        self.live.insert(id);
        self.assoc.place(m);
        for tag in &m.tags {
            bitmap_of(&mut self.tags, tag).insert(id);
            match self.tag_at.get_mut(tag.as_str()) {
                Some(tree) => {
                    tree.insert((m.at, id));
                }
                None => {
                    self.tag_at
                        .insert(tag.clone(), BTreeSet::from([(m.at, id)]));
                }
            }
        }
        if let Some(source) = &m.source {
            bitmap_of(&mut self.sources, source).insert(id);
        }
        self.kinds[m.kind.index()].insert(id);
        self.by_at.insert((m.at, id));
        self.by_recorded.insert((m.recorded, id));
        self.by_importance
            .insert((importance_key(m.importance), id));
        let hash = content_hash(&m.content);
        match self.by_content.get(&hash) {
            None => {
                self.by_content.insert(hash, m.id);
            }
            Some(&first) if first == m.id => {}
            Some(_) => {
                let more = self.content_overflow.entry(hash).or_default();
                if !more.contains(&m.id) {
                    more.push(m.id);
                }
            }
        }
    }

    /// Removes `m` from everything [`Self::index`] added it to.
    fn unindex(&mut self, m: &Memory) {
        let id = m.id.0;
        self.live.remove(id);
        for tag in &m.tags {
            unset(&mut self.tags, tag, id);
            if let Some(tree) = self.tag_at.get_mut(tag.as_str()) {
                tree.remove(&(m.at, id));
                if tree.is_empty() {
                    self.tag_at.remove(tag.as_str());
                }
            }
        }
        if let Some(source) = &m.source {
            unset(&mut self.sources, source, id);
        }
        self.kinds[m.kind.index()].remove(id);
        self.by_at.remove(&(m.at, id));
        self.by_recorded.remove(&(m.recorded, id));
        self.by_importance
            .remove(&(importance_key(m.importance), id));
        let hash = content_hash(&m.content);
        if self.by_content.get(&hash) == Some(&m.id) {
            match self.content_overflow.get_mut(&hash) {
                Some(more) if !more.is_empty() => {
                    let next = more.remove(0);
                    if more.is_empty() {
                        self.content_overflow.remove(&hash);
                    }
                    self.by_content.insert(hash, next);
                }
                _ => {
                    self.by_content.remove(&hash);
                }
            }
        } else if let Some(more) = self.content_overflow.get_mut(&hash) {
            more.retain(|&x| x != m.id);
            if more.is_empty() {
                self.content_overflow.remove(&hash);
            }
        }
    }

    /// Fills an empty state with `memories` (sorted by id, distinct) in bulk:
    /// B-trees and bitmaps are built from sorted runs instead of one insert
    /// at a time. Used when restoring a snapshot.
    pub(crate) fn bulk_load(&mut self, memories: Vec<Memory>) {
        let n = memories.len();
        self.memories.reserve(n);
        self.by_content.reserve(n);
        let mut at = Vec::with_capacity(n);
        let mut recorded = Vec::with_capacity(n);
        let mut importance = Vec::with_capacity(n);
        // Per tag: its memories, and the same with their event times.
        type TagLists = (Vec<u64>, Vec<(Timestamp, u64)>);
        let mut tags: HashMap<&str, TagLists> = HashMap::new();
        let mut sources: HashMap<&str, Vec<u64>> = HashMap::new();
        let mut kinds: [Vec<u64>; 3] = Default::default();
        let memories: Vec<Arc<Memory>> = memories.into_iter().map(Arc::new).collect();
        for m in &memories {
            let id = m.id.0;
            at.push((m.at, id));
            recorded.push((m.recorded, id));
            importance.push((importance_key(m.importance), id));
            for t in &m.tags {
                let (ids, keys) = tags.entry(t.as_str()).or_default();
                ids.push(id);
                keys.push((m.at, id));
            }
            if let Some(s) = &m.source {
                sources.entry(s.as_str()).or_default().push(id);
            }
            kinds[m.kind.index()].push(id);
            if let Some(key) = &m.key {
                self.by_key.insert(key.clone(), m.id);
            }
            let hash = content_hash(&m.content);
            if let Some(&first) = self.by_content.get(&hash) {
                if first != m.id {
                    self.content_overflow.entry(hash).or_default().push(m.id);
                }
            } else {
                self.by_content.insert(hash, m.id);
            }
        }
        let sorted =
            |ids: &[u64]| RoaringTreemap::from_sorted_iter(ids.iter().copied()).unwrap_or_default();
        let ids: Vec<u64> = memories.iter().map(|m| m.id.0).collect();
        self.live = sorted(&ids);
        self.tags = HashMap::with_capacity(tags.len());
        self.tag_at = HashMap::with_capacity(tags.len());
        for (t, (ids, mut keys)) in tags {
            self.tags.insert(t.to_owned(), sorted(&ids));
            keys.sort_unstable();
            self.tag_at.insert(t.to_owned(), keys.into_iter().collect());
        }
        self.sources = sources
            .into_iter()
            .map(|(s, ids)| (s.to_owned(), sorted(&ids)))
            .collect();
        self.kinds = kinds.map(|ids| sorted(&ids));
        at.sort_unstable();
        recorded.sort_unstable();
        importance.sort_unstable();
        self.by_at = at.into_iter().collect();
        self.by_recorded = recorded.into_iter().collect();
        self.by_importance = importance.into_iter().collect();
        self.assoc.bulk_load(memories.iter().map(|m| &**m));
        for m in memories {
            self.memories.insert(m.id.0, m);
        }
    }

    /// Number of links.
    pub fn link_count(&self) -> usize {
        self.link_count
    }

    /// The kind bitmap of `kind`.
    pub(crate) fn kind_bitmap(&self, kind: Kind) -> &RoaringTreemap {
        &self.kinds[kind.index()]
    }
}

fn bitmap_of<'a>(
    map: &'a mut HashMap<String, RoaringTreemap>,
    key: &str,
) -> &'a mut RoaringTreemap {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), RoaringTreemap::new());
    }
    // The key was inserted just above when it was missing.
    map.get_mut(key).expect("present")
}

fn unset(map: &mut HashMap<String, RoaringTreemap>, key: &str, id: u64) {
    if let Some(bitmap) = map.get_mut(key) {
        bitmap.remove(id);
        if bitmap.is_empty() {
            map.remove(key);
        }
    }
}

fn remove_edge(map: &mut IdMap<Vec<Edge>>, at: MemoryId, other: MemoryId, kind: &str) -> bool {
    let Some(edges) = map.get_mut(&at.0) else {
        return false;
    };
    let before = edges.len();
    edges.retain(|e| !(e.other == other && &*e.kind == kind));
    let removed = edges.len() != before;
    if edges.is_empty() {
        map.remove(&at.0);
    }
    removed
}
