//! Spreading activation over an association graph.
//!
//! Recall seeds activation on the memories the candidate stage found and
//! lets it flow along association edges, so a memory one or two
//! associations away from what the question says (the reply after the
//! matching turn, a linked memory) is recalled too (Collins and Loftus,
//! 1975; Engram's recall).
//!
//! ## The rule
//!
//! Spreading is level-synchronous. Hop `h` takes every node that received
//! activation in hop `h - 1` (the seeds, for hop 1) and passes on what it
//! received, its *pulse* `p`: neighbour `v` over an edge of weight `w`
//! (the edge's own weight times its kind's weight) gets
//!
//! ```text
//! delta = p · e^(-decay) · w / max(1, Σ w over the node's edges)
//! ```
//!
//! so activation falls by `e^(-decay)` per hop (a node `d` hops from a seed
//! holds at most `e^(-decay·d)` of the seed's activation, Engram's rule)
//! and a node with many edges splits what it passes on (fan-out
//! normalisation; the floor of 1 keeps a node with a single weak edge from
//! amplifying). A delta below `threshold` is dropped; spreading stops after
//! `hops` hops, when no pulse is left, or when `visit_budget` edges have
//! been relaxed (whatever was spread by then stands, and the outcome says
//! the budget ran out). Nodes are processed in the order they were first
//! reached and neighbours in the graph's order, so the same input always
//! gives the same activations.
//!
//! ## Buffers
//!
//! A [`Spreader`] owns its per-node arrays and reuses them: after the first
//! spread over a graph of a given size, spreading allocates nothing. Only
//! the nodes a spread touched are reset before the next one.

use std::time::Duration;

use crate::base::Tick;

/// No node (a missing parent, an empty chain end).
pub const NO_NODE: u32 = u32::MAX;

/// The kinds of association edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EdgeKind {
    /// An explicit link written by a client.
    Link = 0,
    /// Consecutive memories of one source, close in event time.
    Temporal = 1,
    /// Near neighbours in embedding space (the HNSW graph's layer 0).
    Vector = 2,
    /// Memories sharing a rare keyword.
    Keyword = 3,
}

impl EdgeKind {
    /// Number of kinds.
    pub const COUNT: usize = 4;
    /// Every kind, in index order.
    pub const ALL: [EdgeKind; 4] = [
        EdgeKind::Link,
        EdgeKind::Temporal,
        EdgeKind::Vector,
        EdgeKind::Keyword,
    ];

    /// The kind's index into per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Link => "link",
            EdgeKind::Temporal => "temporal",
            EdgeKind::Vector => "vector",
            EdgeKind::Keyword => "keyword",
        }
    }
}

/// A graph activation can spread over. Nodes are `0..node_count()`.
pub trait Adjacency {
    /// One more than the largest node number.
    fn node_count(&self) -> usize;

    /// Calls `f(neighbour, kind, weight)` for each edge leaving `node`, in a
    /// fixed order. Weights are the edges' own (kind weights are applied by
    /// the spreader); a non-finite or non-positive weight carries nothing.
    fn for_each_neighbor<F: FnMut(u32, EdgeKind, f32)>(&self, node: u32, f: F);

    /// Per edge kind, the sum and the largest of `node`'s edge weights, if
    /// the graph keeps them. With them the spreader skips a node whose
    /// largest delta would fall below the threshold without walking its
    /// edges (a hub with thousands of edges, say). Default: not kept.
    fn weight_summary(&self, node: u32) -> Option<&[(f32, f32); EdgeKind::COUNT]> {
        let _ = node;
        None
    }
}

/// Spreading parameters (see the module docs for the rule).
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadParams {
    /// Most hops from a seed. Default 3.
    pub hops: u32,
    /// Activation falls by `e^(-decay)` per hop. Default 0.7 (Engram).
    pub decay: f32,
    /// Smallest delta passed on. Default 0.01.
    pub threshold: f32,
    /// Most edges relaxed per spread. Default 20,000.
    pub visit_budget: usize,
    /// Weight of each edge kind, by [`EdgeKind::index`]. A kind with
    /// weight 0 is not followed.
    pub kind_weights: [f32; EdgeKind::COUNT],
}

impl Default for SpreadParams {
    fn default() -> Self {
        Self {
            hops: 3,
            decay: 0.7,
            threshold: 0.01,
            visit_budget: 20_000,
            kind_weights: [1.0, 1.0, 0.5, 0.5],
        }
    }
}

/// Why parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spreading parameter {field}: {reason}")]
pub struct ParamError {
    /// The parameter.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl SpreadParams {
    /// The weight of `kind`.
    pub fn weight(&self, kind: EdgeKind) -> f32 {
        self.kind_weights[kind.index()]
    }

    /// Checks the parameters: finite, `decay` and kind weights not
    /// negative, `threshold` positive (a zero threshold would let
    /// activation reach every node of a connected graph).
    pub fn validate(&self) -> Result<(), ParamError> {
        let bad = |field, reason| Err(ParamError { field, reason });
        if !self.decay.is_finite() || self.decay < 0.0 {
            return bad("decay", "must be a finite number >= 0");
        }
        if !self.threshold.is_finite() || self.threshold <= 0.0 {
            return bad("threshold", "must be a finite number > 0");
        }
        if self.kind_weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return bad("kind_weights", "must be finite numbers >= 0");
        }
        Ok(())
    }
}

/// What one spread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpreadOutcome {
    /// Edges relaxed.
    pub visits: usize,
    /// Hops completed (a hop cut short by the budget or the deadline
    /// counts).
    pub hops: u32,
    /// Whether the visit budget ran out.
    pub budget_exhausted: bool,
    /// Whether the deadline passed.
    pub timed_out: bool,
}

/// A point in time after which work stops (on the monotonic clock, which
/// in the browser is `performance.now()`).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    start: Tick,
    budget: Duration,
}

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline {
            start: Tick::now(),
            budget,
        }
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        self.start.elapsed() >= self.budget
    }
}

/// Reusable spreading state (see the module docs).
#[derive(Debug, Default)]
pub struct Spreader {
    activation: Vec<f32>,
    /// What each seed was given (0 for other nodes).
    seeded: Vec<f32>,
    pulse: Vec<f32>,
    pulse_next: Vec<f32>,
    /// The neighbour that passed a node its largest delta, or the node's
    /// own number for a seed.
    parent: Vec<u32>,
    best_delta: Vec<f32>,
    hop_reached: Vec<u8>,
    touched: Vec<u32>,
    frontier: Vec<u32>,
    next: Vec<u32>,
    scratch: Vec<(u32, f32, EdgeKind)>,
    parent_kind: Vec<EdgeKind>,
}

impl Spreader {
    /// An empty spreader; buffers grow to the graph on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn reset(&mut self, nodes: usize) {
        for &n in &self.touched {
            let n = n as usize;
            self.activation[n] = 0.0;
            self.seeded[n] = 0.0;
            self.pulse[n] = 0.0;
            self.pulse_next[n] = 0.0;
            self.best_delta[n] = 0.0;
            self.parent[n] = NO_NODE;
        }
        self.touched.clear();
        if self.activation.len() < nodes {
            self.activation.resize(nodes, 0.0);
            self.seeded.resize(nodes, 0.0);
            self.pulse.resize(nodes, 0.0);
            self.pulse_next.resize(nodes, 0.0);
            self.best_delta.resize(nodes, 0.0);
            self.parent.resize(nodes, NO_NODE);
            self.hop_reached.resize(nodes, 0);
            self.parent_kind.resize(nodes, EdgeKind::Link);
        }
    }

    /// Spreads from `seeds` (`(node, activation)`; seeds outside the graph
    /// and non-finite or non-positive activations are ignored, a node
    /// named twice adds up). Call [`Self::activated`] and
    /// [`Self::activation`] for the result. `params` must have passed
    /// [`SpreadParams::validate`]; invalid values are clamped here so the
    /// work stays bounded either way.
    pub fn spread<G: Adjacency>(
        &mut self,
        graph: &G,
        seeds: &[(u32, f32)],
        params: &SpreadParams,
        deadline: Option<Deadline>,
    ) -> SpreadOutcome {
        let nodes = graph.node_count();
        self.reset(nodes);
        self.frontier.clear();
        for &(node, a) in seeds {
            if (node as usize) >= nodes || !a.is_finite() || a <= 0.0 {
                continue;
            }
            let n = node as usize;
            if self.parent[n] == NO_NODE {
                self.parent[n] = node;
                self.hop_reached[n] = 0;
                self.touched.push(node);
                self.frontier.push(node);
            }
            self.activation[n] += a;
            self.seeded[n] += a;
            self.pulse[n] += a;
        }
        let mut outcome = SpreadOutcome::default();
        let factor = if params.decay.is_finite() {
            (-params.decay.max(0.0)).exp()
        } else {
            0.0
        };
        let threshold = if params.threshold.is_finite() && params.threshold > 0.0 {
            params.threshold
        } else {
            f32::MIN_POSITIVE
        };
        let weights = params
            .kind_weights
            .map(|w| if w.is_finite() && w > 0.0 { w } else { 0.0 });
        'hops: for hop in 1..=params.hops.min(255) {
            if self.frontier.is_empty() {
                break;
            }
            outcome.hops = hop;
            self.next.clear();
            for i in 0..self.frontier.len() {
                let u = self.frontier[i];
                let p = std::mem::take(&mut self.pulse[u as usize]) * factor;
                if p < threshold {
                    continue;
                }
                if let Some(summary) = graph.weight_summary(u) {
                    let (mut total, mut max) = (0.0f32, 0.0f32);
                    for (kind, &(sum, top)) in summary.iter().enumerate() {
                        total += sum * weights[kind];
                        max = max.max(top * weights[kind]);
                    }
                    if p * max / total.max(1.0) < threshold {
                        continue;
                    }
                }
                self.scratch.clear();
                let mut total = 0.0f32;
                let scratch = &mut self.scratch;
                graph.for_each_neighbor(u, |v, kind, w| {
                    let w = if w.is_finite() && w > 0.0 {
                        w * weights[kind.index()]
                    } else {
                        0.0
                    };
                    if w > 0.0 && (v as usize) < nodes {
                        total += w;
                        scratch.push((v, w, kind));
                    }
                });
                let scale = p / total.max(1.0);
                if scale * self.scratch.iter().fold(0.0f32, |m, e| m.max(e.1)) < threshold {
                    continue;
                }
                for j in 0..self.scratch.len() {
                    let (v, w, kind) = self.scratch[j];
                    let delta = scale * w;
                    if delta < threshold {
                        continue;
                    }
                    if outcome.visits >= params.visit_budget {
                        outcome.budget_exhausted = true;
                        break 'hops;
                    }
                    outcome.visits += 1;
                    if outcome.visits.is_multiple_of(1024) && deadline.is_some_and(|d| d.passed()) {
                        outcome.timed_out = true;
                        break 'hops;
                    }
                    let vi = v as usize;
                    if self.parent[vi] == NO_NODE {
                        self.touched.push(v);
                        self.hop_reached[vi] = hop as u8;
                    }
                    if delta > self.best_delta[vi] {
                        self.best_delta[vi] = delta;
                        self.parent[vi] = u;
                        self.parent_kind[vi] = kind;
                    }
                    self.activation[vi] += delta;
                    if self.pulse_next[vi] == 0.0 {
                        self.next.push(v);
                    }
                    self.pulse_next[vi] += delta;
                }
            }
            for &u in &self.frontier {
                self.pulse[u as usize] = 0.0;
            }
            std::mem::swap(&mut self.frontier, &mut self.next);
            std::mem::swap(&mut self.pulse, &mut self.pulse_next);
        }
        // Pulses left in the last frontier are not passed on.
        for &u in &self.frontier {
            self.pulse[u as usize] = 0.0;
        }
        for &u in &self.next {
            self.pulse_next[u as usize] = 0.0;
        }
        outcome
    }

    /// The nodes the last spread reached (seeds first), in the order they
    /// were reached.
    pub fn activated(&self) -> &[u32] {
        &self.touched
    }

    /// A node's activation after the last spread (0 when it was not
    /// reached).
    pub fn activation(&self, node: u32) -> f32 {
        self.activation.get(node as usize).copied().unwrap_or(0.0)
    }

    /// What `node` received from other nodes in the last spread: its
    /// activation less what it was seeded with.
    pub fn received(&self, node: u32) -> f32 {
        self.activation(node) - self.seeded.get(node as usize).copied().unwrap_or(0.0)
    }

    /// The hop at which the last spread first reached `node` (0 for a seed),
    /// or `None`.
    pub fn hop_of(&self, node: u32) -> Option<u32> {
        let n = node as usize;
        (self.parent.get(n).is_some_and(|&p| p != NO_NODE)).then(|| u32::from(self.hop_reached[n]))
    }

    /// The strongest path from a seed to `node`: each step is a node and
    /// the kind of edge it was reached over (`None` for the seed the path
    /// starts at). Walking back from `node`, each step follows the
    /// neighbour that passed the largest single delta, until a seed. A seed
    /// that received activation from others shows where it came from; one
    /// that received nothing is a path of itself. Empty when `node` was not
    /// reached.
    pub fn path(&self, node: u32) -> Vec<(u32, Option<EdgeKind>)> {
        let mut path = Vec::new();
        let mut at = node;
        // The bound guards against a cycle of parents (a node's strongest
        // delta may come from a node reached later).
        for _ in 0..=self.touched.len() {
            let Some(&parent) = self.parent.get(at as usize) else {
                break;
            };
            if parent == NO_NODE {
                break;
            }
            if parent == at {
                path.push((at, None));
                path.reverse();
                return path;
            }
            path.push((at, Some(self.parent_kind[at as usize])));
            at = parent;
            if self.hop_reached[at as usize] == 0 {
                path.push((at, None));
                path.reverse();
                return path;
            }
        }
        path.clear();
        path
    }
}

/// A compressed sparse row graph: every node's edges in one flat array.
#[derive(Debug, Clone, Default)]
pub struct CsrGraph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    weights: Vec<f32>,
    kinds: Vec<EdgeKind>,
    /// Per node and kind: the sum and the largest of its positive, finite
    /// edge weights.
    summaries: Vec<[(f32, f32); EdgeKind::COUNT]>,
}

impl CsrGraph {
    /// Builds a graph of `nodes` nodes from directed edges
    /// `(from, to, kind, weight)`; with `both_ways` each edge is also added
    /// reversed. Edges naming a node outside the graph are skipped. Each
    /// node's edges keep their input order.
    ///
    /// # Panics
    /// When the graph would hold more than `u32::MAX` edges.
    pub fn from_edges(nodes: usize, edges: &[(u32, u32, EdgeKind, f32)], both_ways: bool) -> Self {
        let mut degree = vec![0u32; nodes + 1];
        let valid = |&&(a, b, _, _): &&(u32, u32, EdgeKind, f32)| {
            (a as usize) < nodes && (b as usize) < nodes
        };
        for &(a, b, _, _) in edges.iter().filter(valid) {
            degree[a as usize] += 1;
            if both_ways {
                degree[b as usize] += 1;
            }
        }
        let mut offsets = Vec::with_capacity(nodes + 1);
        let mut sum = 0u32;
        for d in &degree[..nodes] {
            offsets.push(sum);
            sum = sum.checked_add(*d).expect("at most u32::MAX edges");
        }
        offsets.push(sum);
        let total = sum as usize;
        let mut targets = vec![0u32; total];
        let mut weights = vec![0f32; total];
        let mut kinds = vec![EdgeKind::Link; total];
        let mut fill: Vec<u32> = offsets[..nodes].to_vec();
        let mut put = |from: u32, to: u32, kind: EdgeKind, w: f32| {
            let at = fill[from as usize] as usize;
            fill[from as usize] += 1;
            targets[at] = to;
            weights[at] = w;
            kinds[at] = kind;
        };
        for &(a, b, kind, w) in edges.iter().filter(valid) {
            put(a, b, kind, w);
            if both_ways {
                put(b, a, kind, w);
            }
        }
        let mut summaries = vec![[(0.0f32, 0.0f32); EdgeKind::COUNT]; nodes];
        for (node, summary) in summaries.iter_mut().enumerate() {
            let range = offsets[node] as usize..offsets[node + 1] as usize;
            for i in range {
                let w = weights[i];
                if w.is_finite() && w > 0.0 {
                    let s = &mut summary[kinds[i].index()];
                    s.0 += w;
                    s.1 = s.1.max(w);
                }
            }
        }
        Self {
            offsets,
            targets,
            weights,
            kinds,
            summaries,
        }
    }

    /// Number of (directed) edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The neighbours of `node` (empty outside the graph).
    pub fn neighbors(&self, node: u32) -> &[u32] {
        match self.range(node) {
            Some(r) => &self.targets[r],
            None => &[],
        }
    }

    fn range(&self, node: u32) -> Option<std::ops::Range<usize>> {
        let n = node as usize;
        (n + 1 < self.offsets.len()).then(|| self.offsets[n] as usize..self.offsets[n + 1] as usize)
    }
}

impl Adjacency for CsrGraph {
    fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn for_each_neighbor<F: FnMut(u32, EdgeKind, f32)>(&self, node: u32, mut f: F) {
        if let Some(r) = self.range(node) {
            for i in r {
                f(self.targets[i], self.kinds[i], self.weights[i]);
            }
        }
    }

    fn weight_summary(&self, node: u32) -> Option<&[(f32, f32); EdgeKind::COUNT]> {
        self.summaries.get(node as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u32) -> CsrGraph {
        let edges: Vec<_> = (0..n - 1)
            .map(|i| (i, i + 1, EdgeKind::Temporal, 1.0))
            .collect();
        CsrGraph::from_edges(n as usize, &edges, true)
    }

    #[test]
    fn activation_decays_per_hop_and_stops_at_the_hop_limit() {
        let g = chain(10);
        let mut s = Spreader::new();
        let params = SpreadParams {
            threshold: 1e-6,
            ..SpreadParams::default()
        };
        let out = s.spread(&g, &[(0, 1.0)], &params, None);
        assert_eq!(out.hops, 3);
        assert!(!out.budget_exhausted);
        let f = (-0.7f32).exp();
        // Node 0 has one edge: all of its pulse goes to node 1. Node 1
        // has two edges, so it splits: half to 2, half back to 0.
        // Node 1 also gets pulses back from 0 and 2 in hop 3.
        assert!((s.activation(1) - (f + f * f * f / 2.0 + f * f * f / 4.0)).abs() < 1e-6);
        assert!((s.activation(2) - f * f / 2.0).abs() < 1e-6);
        assert!((s.activation(3) - f * f * f / 4.0).abs() < 1e-6);
        assert_eq!(s.activation(4), 0.0);
        assert_eq!(s.hop_of(3), Some(3));
        assert_eq!(s.hop_of(0), Some(0));
        assert_eq!(s.hop_of(4), None);
        let path = s.path(3);
        assert_eq!(
            path,
            vec![
                (0, None),
                (1, Some(EdgeKind::Temporal)),
                (2, Some(EdgeKind::Temporal)),
                (3, Some(EdgeKind::Temporal))
            ]
        );
    }

    #[test]
    fn the_threshold_prunes_and_kind_weights_gate() {
        let g = chain(10);
        let mut s = Spreader::new();
        let out = s.spread(&g, &[(0, 1.0)], &SpreadParams::default(), None);
        // 0.496, 0.123, then 0.03: all above 0.01.
        assert!(s.activation(3) > 0.0);
        assert!(out.visits > 0);
        let mut params = SpreadParams::default();
        params.kind_weights[EdgeKind::Temporal.index()] = 0.0;
        let out = s.spread(&g, &[(0, 1.0)], &params, None);
        assert_eq!(out.visits, 0);
        assert_eq!(s.activated(), &[0]);
        assert_eq!(s.activation(1), 0.0, "buffers were reset");
    }

    #[test]
    fn the_visit_budget_holds_on_a_clique_with_self_loops() {
        let n = 10_000u32;
        // A clique is 10^8 edges; a star of cliques keeps the test fast
        // while every node has a large fan-out, plus self-loops.
        let mut edges = Vec::new();
        for i in 0..n {
            edges.push((i, i, EdgeKind::Link, 1.0));
            for j in 1..=50 {
                edges.push((i, (i + j * 197) % n, EdgeKind::Link, 1.0));
            }
        }
        let g = CsrGraph::from_edges(n as usize, &edges, true);
        let mut s = Spreader::new();
        let params = SpreadParams {
            threshold: f32::MIN_POSITIVE,
            hops: 10,
            visit_budget: 5_000,
            ..SpreadParams::default()
        };
        let seeds: Vec<(u32, f32)> = (0..100).map(|i| (i, 1.0)).collect();
        let out = s.spread(&g, &seeds, &params, None);
        assert!(out.budget_exhausted);
        assert_eq!(out.visits, 5_000);
        for &n in s.activated() {
            assert!(s.activation(n).is_finite());
        }
        // Same input, same result.
        let first: Vec<(u32, f32)> = s
            .activated()
            .iter()
            .map(|&n| (n, s.activation(n)))
            .collect();
        s.spread(&g, &seeds, &params, None);
        let second: Vec<(u32, f32)> = s
            .activated()
            .iter()
            .map(|&n| (n, s.activation(n)))
            .collect();
        assert_eq!(first, second);
    }

    /// A complete graph generated on the fly (10^8 edges would not fit a
    /// test's memory as a CSR graph).
    struct Clique(u32);

    impl Adjacency for Clique {
        fn node_count(&self) -> usize {
            self.0 as usize
        }

        fn for_each_neighbor<F: FnMut(u32, EdgeKind, f32)>(&self, node: u32, mut f: F) {
            for other in (0..self.0).filter(|&o| o != node) {
                f(other, EdgeKind::Keyword, 1.0);
            }
        }
    }

    #[test]
    fn the_visit_budget_holds_on_a_real_clique_of_ten_thousand() {
        let clique = Clique(10_000);
        let mut s = Spreader::new();
        let seeds: Vec<(u32, f32)> = (0..10).map(|i| (i, 1.0)).collect();
        let params = SpreadParams {
            threshold: 1e-9,
            hops: 3,
            visit_budget: 20_000,
            ..SpreadParams::default()
        };
        let out = s.spread(&clique, &seeds, &params, None);
        assert!(out.budget_exhausted);
        assert_eq!(out.visits, 20_000);
        assert_eq!(s.activated().len(), 10_000);
        // With the default threshold the split is too thin to pass on.
        let out = s.spread(&clique, &seeds, &SpreadParams::default(), None);
        assert_eq!(out.visits, 0);
        assert_eq!(s.activated().len(), 10);
    }

    #[test]
    fn bad_seeds_and_parameters_are_contained() {
        let g = chain(4);
        let mut s = Spreader::new();
        let out = s.spread(
            &g,
            &[(99, 1.0), (0, f32::NAN), (1, -1.0), (2, f32::INFINITY)],
            &SpreadParams::default(),
            None,
        );
        assert_eq!(out.visits, 0);
        assert!(s.activated().is_empty());
        let params = SpreadParams {
            decay: f32::NAN,
            threshold: f32::NAN,
            kind_weights: [f32::NAN; 4],
            ..SpreadParams::default()
        };
        assert!(params.validate().is_err());
        let out = s.spread(&g, &[(0, 1.0)], &params, None);
        assert_eq!(out.visits, 0);
        let empty = CsrGraph::from_edges(0, &[], true);
        assert_eq!(
            s.spread(&empty, &[(0, 1.0)], &SpreadParams::default(), None)
                .visits,
            0
        );
        assert!(SpreadParams::default().validate().is_ok());
    }

    #[test]
    fn csr_skips_edges_outside_the_graph() {
        let g = CsrGraph::from_edges(
            3,
            &[(0, 1, EdgeKind::Link, 1.0), (0, 7, EdgeKind::Link, 1.0)],
            false,
        );
        assert_eq!(g.edge_count(), 1);
        assert_eq!(g.neighbors(0), &[1]);
        assert!(g.neighbors(9).is_empty());
    }
}
