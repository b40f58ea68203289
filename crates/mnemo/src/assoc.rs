//! The association graph recall spreads activation over.
//!
//! Every live memory is a *node*, numbered densely (numbers of forgotten
//! memories are reused), so per-node data are flat arrays and the spreader's
//! buffers are indexed directly. Edges come from four places, none stored
//! twice:
//!
//! - **temporal**: each source's episodic memories form a chain ordered
//!   by `(at, id)` (what happened next is an association between events;
//!   a fact or preference stated in a conversation is not one, and what
//!   was said after it does not tell about it, so semantic and procedural
//!   memories are in no chain); a node's `prev` and `next` in that chain live in two flat
//!   arrays, updated in O(log n) when a memory is remembered, moved (a
//!   revised `at` or source) or forgotten. Whether two neighbours are close
//!   enough in time is decided at recall time against the window asked for,
//!   from a flat array of event times. Memories without a source form one
//!   chain of their own.
//! - **links**: the state's link lists (both directions; a link's weight is
//!   the edge's weight).
//! - **vector**: the HNSW graph's layer-0 neighbour lists, read in place
//!   (memories still in the exact pending buffer have none yet).
//! - **keyword**: memories sharing a rare term (see
//!   [`crate::text::TextIndex::for_each_rare_neighbor`]).
//!
//! The graph is derived state: a replay folds it event by event and a
//! snapshot restore rebuilds it in bulk, so it is never written to disk.

use std::collections::{BTreeSet, HashMap};

use crate::base::IdMap;
use crate::model::{Kind, Memory, Timestamp};
use crate::spread::NO_NODE;

/// The memory ids of free node numbers.
const FREE: u64 = u64::MAX;

/// Where a chained node is filed: its source and event time.
type Placed = (Option<Box<str>>, Timestamp);

/// Whether `m` joins its source's temporal chain: episodic memories only.
fn chained(m: &Memory) -> bool {
    m.kind == Kind::Episodic
}

/// Temporal chains and the node numbering (see the module docs).
#[derive(Debug, Default, Clone)]
pub(crate) struct AssocGraph {
    node_of: NodeOf,
    ids: Vec<u64>,
    at: Vec<i64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    /// The `(source, at)` each node is filed under (`None`: in no chain).
    placed: Vec<Option<Placed>>,
    free: Vec<u32>,
    chains: HashMap<Option<Box<str>>, BTreeSet<(Timestamp, u64)>>,
}

impl AssocGraph {
    /// The node of memory `id`.
    pub(crate) fn node(&self, id: u64) -> Option<u32> {
        self.node_of.get(id)
    }

    /// The memory of `node`.
    pub(crate) fn id(&self, node: u32) -> Option<u64> {
        self.ids
            .get(node as usize)
            .copied()
            .filter(|&id| id != FREE)
    }

    /// Node numbers in use are below this.
    pub(crate) fn node_count(&self) -> usize {
        self.ids.len()
    }

    /// Files `m` under its source and event time: a new node for a new
    /// memory, a move when its source, time or kind changed, nothing
    /// otherwise. Only episodic memories join a chain (see the module docs).
    pub(crate) fn place(&mut self, m: &Memory) {
        let id = m.id.0;
        let source = m.source.as_deref();
        if let Some(node) = self.node(id) {
            let n = node as usize;
            let same = match &self.placed[n] {
                Some((old_source, old_at)) => {
                    chained(m) && old_source.as_deref() == source && *old_at == m.at
                }
                None => !chained(m),
            };
            if same {
                self.at[n] = m.at.0;
                return;
            }
            self.unchain(node);
            if chained(m) {
                self.chain(node, id, source, m.at);
            } else {
                self.at[n] = m.at.0;
            }
            return;
        }
        let node = match self.free.pop() {
            Some(n) => n,
            None => {
                let n = u32::try_from(self.ids.len()).unwrap_or(NO_NODE - 1);
                self.ids.push(FREE);
                self.at.push(0);
                self.prev.push(NO_NODE);
                self.next.push(NO_NODE);
                self.placed.push(None);
                n
            }
        };
        self.ids[node as usize] = id;
        self.node_of.insert(id, node, self.ids.len());
        if chained(m) {
            self.chain(node, id, source, m.at);
        } else {
            self.at[node as usize] = m.at.0;
        }
    }

    /// Removes memory `id`; its chain neighbours become neighbours.
    pub(crate) fn remove(&mut self, id: u64) {
        let Some(node) = self.node_of.remove(id) else {
            return;
        };
        self.unchain(node);
        self.ids[node as usize] = FREE;
        self.free.push(node);
    }

    fn chain(&mut self, node: u32, id: u64, source: Option<&str>, at: Timestamp) {
        let key = (at, id);
        let chain = match self.chains.get_mut(&source.map(Box::from)) {
            Some(c) => c,
            None => self.chains.entry(source.map(Box::from)).or_default(),
        };
        chain.insert(key);
        let before = chain.range(..key).next_back().map(|&(_, i)| i);
        let after = chain
            .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
            .next()
            .map(|&(_, i)| i);
        let before = before.and_then(|i| self.node(i)).unwrap_or(NO_NODE);
        let after = after.and_then(|i| self.node(i)).unwrap_or(NO_NODE);
        let n = node as usize;
        self.prev[n] = before;
        self.next[n] = after;
        if before != NO_NODE {
            self.next[before as usize] = node;
        }
        if after != NO_NODE {
            self.prev[after as usize] = node;
        }
        self.at[n] = at.0;
        self.placed[n] = Some((source.map(Box::from), at));
    }

    fn unchain(&mut self, node: u32) {
        let n = node as usize;
        let Some((source, at)) = self.placed[n].take() else {
            return;
        };
        if let Some(chain) = self.chains.get_mut(&source) {
            chain.remove(&(at, self.ids[n]));
            if chain.is_empty() {
                self.chains.remove(&source);
            }
        }
        let (before, after) = (self.prev[n], self.next[n]);
        if before != NO_NODE {
            self.next[before as usize] = after;
        }
        if after != NO_NODE {
            self.prev[after as usize] = before;
        }
        self.prev[n] = NO_NODE;
        self.next[n] = NO_NODE;
    }

    /// Builds the graph for `memories` (sorted by id) at once: nodes in id
    /// order, each chain sorted once.
    pub(crate) fn bulk_load<'a>(&mut self, memories: impl Iterator<Item = &'a Memory>) {
        *self = AssocGraph::default();
        // Chains gathered under borrowed sources, with each memory's node:
        // one owned key per chain and no id lookups to link them.
        let mut chains: HashMap<Option<&'a str>, Vec<(Timestamp, u64, u32)>> = HashMap::new();
        for m in memories {
            let node = self.ids.len() as u32;
            self.ids.push(m.id.0);
            self.at.push(m.at.0);
            self.prev.push(NO_NODE);
            self.next.push(NO_NODE);
            self.node_of.insert(m.id.0, node, self.ids.len());
            if !chained(m) {
                self.placed.push(None);
                continue;
            }
            self.placed
                .push(Some((m.source.as_deref().map(Box::from), m.at)));
            chains
                .entry(m.source.as_deref())
                .or_default()
                .push((m.at, m.id.0, node));
        }
        for (source, mut keys) in chains {
            // Ids are unique, so the node never decides the order.
            keys.sort_unstable();
            for pair in keys.windows(2) {
                let (a, b) = (pair[0].2, pair[1].2);
                self.next[a as usize] = b;
                self.prev[b as usize] = a;
            }
            self.chains.insert(
                source.map(Box::from),
                keys.into_iter().map(|(at, id, _)| (at, id)).collect(),
            );
        }
    }

    /// The temporal neighbours of `node` within `window` nanoseconds of
    /// its event time: the next memory of its chain, then the previous one
    /// ([`NO_NODE`] where there is none or it is too far apart).
    pub(crate) fn temporal_neighbors(&self, node: u32, window: i64) -> [u32; 2] {
        let n = node as usize;
        let near = |other: u32| {
            if other != NO_NODE && self.at[n].abs_diff(self.at[other as usize]) <= window as u64 {
                other
            } else {
                NO_NODE
            }
        };
        [near(self.next[n]), near(self.prev[n])]
    }

    /// Bytes held (roughly).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.ids.len() * (8 + 8 + 4 + 4 + 40)
            + self.node_of.memory_bytes()
            + self.chains.values().map(|c| c.len() * 24).sum::<usize>()
    }
}

/// Memory id to node number. Ids are assigned from 1 upward and never reused, so
/// they are looked up in a flat array indexed by id (one read, where a hash map
/// costs a probe into a table several times larger: spreading looks up every
/// neighbour it is handed by id). The array grows to the highest id while that
/// stays within twice the nodes plus [`NodeOf::SLACK`]; ids beyond (a namespace
/// that forgot most of what it held) go to a map, so memory stays bounded by the
/// live nodes either way.
#[derive(Debug, Default, Clone)]
struct NodeOf {
    /// By id: the node, or [`NO_NODE`].
    dense: Vec<u32>,
    /// Ids past the flat array.
    far: IdMap<u32>,
}

impl NodeOf {
    /// Ids the flat array may run ahead of twice the node count.
    const SLACK: usize = 1 << 16;

    fn get(&self, id: u64) -> Option<u32> {
        match usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            Some(&node) if node != NO_NODE => Some(node),
            _ if self.far.is_empty() => None,
            _ => self.far.get(&id).copied(),
        }
    }

    /// Files `id` under `node`; `nodes` is the node count, which bounds the
    /// flat array.
    fn insert(&mut self, id: u64, node: u32, nodes: usize) {
        let Ok(i) = usize::try_from(id) else {
            self.far.insert(id, node);
            return;
        };
        if i >= self.dense.len() && i <= nodes.saturating_mul(2).saturating_add(Self::SLACK) {
            self.dense.resize(i + 1, NO_NODE);
        }
        match self.dense.get_mut(i) {
            Some(slot) => {
                *slot = node;
                self.far.remove(&id);
            }
            None => {
                self.far.insert(id, node);
            }
        }
    }

    fn remove(&mut self, id: u64) -> Option<u32> {
        let dense = usize::try_from(id)
            .ok()
            .and_then(|i| self.dense.get_mut(i))
            .map(|slot| std::mem::replace(slot, NO_NODE))
            .filter(|&node| node != NO_NODE);
        dense.or_else(|| self.far.remove(&id))
    }

    fn memory_bytes(&self) -> usize {
        self.dense.capacity() * 4 + self.far.len() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, MemoryId, Metadata};
    use proptest::prelude::*;

    proptest! {
        /// The flat array and its overflow map answer like a plain map, for
        /// dense ids, ids far apart and ids moving between the two.
        #[test]
        fn node_of_is_a_map(
            ops in prop::collection::vec(
                (prop_oneof![0u64..300, 0u64..200_000, any::<u64>()], 0u32..50, any::<bool>()),
                0..300,
            ),
        ) {
            let mut node_of = NodeOf::default();
            let mut model = std::collections::HashMap::new();
            for (i, &(id, node, insert)) in ops.iter().enumerate() {
                if insert {
                    node_of.insert(id, node, i);
                    model.insert(id, node);
                } else {
                    prop_assert_eq!(node_of.remove(id), model.remove(&id));
                }
                for &(other, _, _) in &ops {
                    prop_assert_eq!(node_of.get(other), model.get(&other).copied());
                }
            }
        }
    }

    fn memory(id: u64, source: Option<&str>, at: i64) -> Memory {
        Memory {
            id: MemoryId(id),
            key: None,
            content: String::new(),
            kind: Kind::Episodic,
            tags: Vec::new(),
            source: source.map(str::to_owned),
            metadata: Metadata::new(),
            at: Timestamp(at),
            recorded: Timestamp(at),
            valid: None,
            importance: 0.5,
            confidence: 1.0,
            created_seq: 0,
            updated_seq: 0,
        }
    }

    /// The chain of `source` as ids, following `next` from its first node.
    fn chain_ids(g: &AssocGraph, source: Option<&str>) -> Vec<u64> {
        let Some(c) = g.chains.get(&source.map(Box::from)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let first = c.iter().next().expect("chains are never empty").1;
        let mut node = g.node(first).expect("a chained memory has a node");
        loop {
            out.push(g.id(node).expect("a chained node is live"));
            let next = g.next[node as usize];
            if next == NO_NODE {
                break;
            }
            assert_eq!(g.prev[next as usize], node);
            node = next;
        }
        assert_eq!(out.len(), c.len());
        out
    }

    #[test]
    fn chains_follow_time_and_survive_moves_and_removals() {
        let mut g = AssocGraph::default();
        let ms = [
            memory(1, Some("a"), 10),
            memory(2, Some("a"), 30),
            memory(3, Some("b"), 20),
            memory(4, Some("a"), 20),
            memory(5, None, 5),
        ];
        for m in &ms {
            g.place(m);
        }
        assert_eq!(chain_ids(&g, Some("a")), vec![1, 4, 2]);
        assert_eq!(chain_ids(&g, Some("b")), vec![3]);
        assert_eq!(chain_ids(&g, None), vec![5]);
        // Move 1 after 2, and 3 into "a" between 4 and 2.
        g.place(&memory(1, Some("a"), 40));
        g.place(&memory(3, Some("a"), 25));
        assert_eq!(chain_ids(&g, Some("a")), vec![4, 3, 2, 1]);
        assert!(!g.chains.contains_key(&Some(Box::from("b"))));
        g.remove(3);
        assert_eq!(chain_ids(&g, Some("a")), vec![4, 2, 1]);
        // The freed node number is reused.
        g.place(&memory(6, Some("a"), 0));
        assert_eq!(g.node(6), Some(2));
        assert_eq!(chain_ids(&g, Some("a")), vec![6, 4, 2, 1]);
        let mut bulk = AssocGraph::default();
        let live = [
            memory(1, Some("a"), 40),
            memory(2, Some("a"), 30),
            memory(4, Some("a"), 20),
            memory(5, None, 5),
            memory(6, Some("a"), 0),
        ];
        bulk.bulk_load(live.iter());
        assert_eq!(chain_ids(&bulk, Some("a")), vec![6, 4, 2, 1]);
        assert_eq!(chain_ids(&bulk, None), vec![5]);
    }

    #[test]
    fn only_episodic_memories_are_chained() {
        let of_kind = |id, at, kind| Memory {
            kind,
            ..memory(id, Some("chat"), at)
        };
        let ms = [
            of_kind(1, 10, Kind::Episodic),
            of_kind(2, 20, Kind::Semantic),
            of_kind(3, 30, Kind::Episodic),
            of_kind(4, 40, Kind::Procedural),
        ];
        let mut g = AssocGraph::default();
        for m in &ms {
            g.place(m);
        }
        let mut bulk = AssocGraph::default();
        bulk.bulk_load(ms.iter());
        for g in [&mut g, &mut bulk] {
            // The events are each other's neighbours, over the statement.
            assert_eq!(chain_ids(g, Some("chat")), vec![1, 3]);
            let node = |g: &AssocGraph, id| g.node(id).expect("a node");
            let (two, three) = (node(g, 2), node(g, 3));
            assert_eq!(g.temporal_neighbors(two, i64::MAX), [NO_NODE, NO_NODE]);
            assert_eq!(g.temporal_neighbors(three, i64::MAX), [NO_NODE, node(g, 1)]);
            // A statement revised into an event joins the chain, and back.
            g.place(&of_kind(2, 20, Kind::Episodic));
            assert_eq!(chain_ids(g, Some("chat")), vec![1, 2, 3]);
            g.place(&of_kind(2, 25, Kind::Semantic));
            assert_eq!(chain_ids(g, Some("chat")), vec![1, 3]);
            g.remove(2);
            g.remove(4);
            assert_eq!(chain_ids(g, Some("chat")), vec![1, 3]);
        }
    }
}
