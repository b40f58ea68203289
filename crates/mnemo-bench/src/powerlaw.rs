//! A seeded power-law graph for the spreading benchmark, and its lower
//! bound: a plain breadth-first search over the same graph.
//!
//! The graph is Barabási–Albert preferential attachment (Barabási and
//! Albert, 1999) in the convention of networkx's `barabasi_albert_graph`:
//! a star of `m + 1` nodes, then every further node attaches to `m`
//! distinct earlier nodes, each picked with probability proportional to its
//! degree (by drawing uniformly from the list of every edge end so far).
//! That gives `m · (n − m)` undirected edges, degrees from `m` up to a few
//! hubs with thousands of edges, and, from a fixed seed, the same graph on
//! every machine (the generator is SplitMix64, not a library RNG whose
//! stream may change between versions).
//!
//! [`Bfs`] is what spreading activation costs at least: the same walk over
//! the CSR arrays (level by level from the seeds, up to the same hop
//! limit) with none of the arithmetic, stopping after a given number of
//! edge visits. Its visited set is a pooled array of generation stamps, so
//! a search allocates nothing and resets nothing.

use mnemo::spread::{CsrGraph, EdgeKind};

use crate::random::{Draw, SplitMix64};

/// The undirected edges `(a, b)` of a Barabási–Albert graph of `nodes`
/// nodes where each new node brings `m` edges (see the module docs).
///
/// # Panics
/// When `m == 0`, `nodes <= m` or `nodes` does not fit a `u32`.
pub fn barabasi_albert(nodes: usize, m: usize, seed: u64) -> Vec<(u32, u32)> {
    assert!(m > 0 && nodes > m, "need 0 < m < nodes");
    assert!(u32::try_from(nodes).is_ok(), "node numbers are u32");
    let mut rng = SplitMix64::new(seed);
    let mut edges = Vec::with_capacity(m * (nodes - m));
    // Every edge end so far: a node appears once per edge it has.
    let mut ends: Vec<u32> = Vec::with_capacity(2 * m * (nodes - m));
    // The initial star: node m joined to nodes 0..m.
    for v in 0..m as u32 {
        edges.push((m as u32, v));
        ends.extend([m as u32, v]);
    }
    let mut targets: Vec<u32> = Vec::with_capacity(m);
    for new in (m + 1) as u32..nodes as u32 {
        targets.clear();
        while targets.len() < m {
            let t = ends[rng.index(ends.len())];
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        for &t in &targets {
            edges.push((new, t));
            ends.extend([new, t]);
        }
    }
    edges
}

/// The CSR graph the spreading benchmark runs on: every edge of
/// [`barabasi_albert`] as an [`EdgeKind::Link`] of weight 1, both ways.
pub fn csr(nodes: usize, edges: &[(u32, u32)]) -> CsrGraph {
    let typed: Vec<(u32, u32, EdgeKind, f32)> = edges
        .iter()
        .map(|&(a, b)| (a, b, EdgeKind::Link, 1.0))
        .collect();
    CsrGraph::from_edges(nodes, &typed, true)
}

/// What one breadth-first search did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BfsOutcome {
    /// Edges looked at.
    pub visits: usize,
    /// Distinct nodes reached, seeds included.
    pub reached: usize,
}

/// A reusable breadth-first search (see the module docs).
#[derive(Debug, Default)]
pub struct Bfs {
    /// `stamp[v] == generation` when `v` was reached by the current search.
    stamp: Vec<u32>,
    generation: u32,
    frontier: Vec<u32>,
    next: Vec<u32>,
}

impl Bfs {
    /// An empty search; its arrays grow to the graph on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Searches from `seeds` up to `hops` levels, looking at no more than
    /// `max_visits` edges.
    pub fn search(
        &mut self,
        graph: &CsrGraph,
        seeds: &[u32],
        hops: u32,
        max_visits: usize,
    ) -> BfsOutcome {
        let nodes = mnemo::spread::Adjacency::node_count(graph);
        if self.stamp.len() < nodes {
            self.stamp.resize(nodes, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // The stamps wrapped: clear them once every 2³² searches.
            self.stamp.fill(0);
            self.generation = 1;
        }
        let generation = self.generation;
        let mut out = BfsOutcome::default();
        self.frontier.clear();
        for &s in seeds {
            if let Some(st) = self.stamp.get_mut(s as usize)
                && *st != generation
            {
                *st = generation;
                self.frontier.push(s);
                out.reached += 1;
            }
        }
        'levels: for _ in 0..hops {
            if self.frontier.is_empty() {
                break;
            }
            self.next.clear();
            for &u in &self.frontier {
                for &v in graph.neighbors(u) {
                    if out.visits == max_visits {
                        break 'levels;
                    }
                    out.visits += 1;
                    // `v` is a node of the graph: the CSR arrays hold only
                    // edges between nodes below `nodes`.
                    let st = &mut self.stamp[v as usize];
                    if *st != generation {
                        *st = generation;
                        self.next.push(v);
                        out.reached += 1;
                    }
                }
            }
            std::mem::swap(&mut self.frontier, &mut self.next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barabasi_albert_has_the_expected_shape() {
        let (n, m) = (2_000, 5);
        let edges = barabasi_albert(n, m, 7);
        assert_eq!(edges.len(), m * (n - m));
        assert_eq!(edges, barabasi_albert(n, m, 7), "same seed, same graph");
        assert_ne!(edges, barabasi_albert(n, m, 8));
        let mut degree = vec![0usize; n];
        for &(a, b) in &edges {
            assert_ne!(a, b, "no self loops");
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        // Every node after the star has at least m edges; preferential
        // attachment grows hubs far above the mean degree of 2m.
        assert!(degree[m + 1..].iter().all(|&d| d >= m));
        assert!(degree.iter().copied().max().unwrap_or(0) > 10 * 2 * m);
        // No node attaches twice to the same target.
        let mut sorted: Vec<(u32, u32)> =
            edges.iter().map(|&(a, b)| (a.max(b), a.min(b))).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), edges.len());
    }

    #[test]
    fn bfs_counts_levels_visits_and_nodes() {
        // A path 0 - 1 - 2 - 3 - 4.
        let g = csr(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        let mut bfs = Bfs::new();
        // Two hops from 0: edges 0→1, then 1→0 and 1→2.
        assert_eq!(
            bfs.search(&g, &[0], 2, usize::MAX),
            BfsOutcome {
                visits: 3,
                reached: 3
            }
        );
        // The pooled stamps do not leak between searches.
        assert_eq!(bfs.search(&g, &[4], 1, usize::MAX).reached, 2);
        // The visit limit stops it.
        assert_eq!(
            bfs.search(&g, &[2, 2], 3, 2),
            BfsOutcome {
                visits: 2,
                reached: 3
            }
        );
    }
}
