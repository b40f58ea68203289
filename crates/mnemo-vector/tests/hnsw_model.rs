//! Model test: seeded random sequences of operations drive an [`Hnsw`] and
//! the exact [`FlatIndex`] side by side, and every step is compared.
//!
//! Operations: insert, batch insert (sometimes with a duplicate or a bad
//! row, sometimes large enough for the parallel build), update of present
//! and absent ids, delete of present and absent ids, `compact`, `rebuild`,
//! an encode/decode round trip of both indices, refused input (NaN, wrong
//! dimension, zero vector under cosine), and searches with every filter kind
//! (none, allow-list, predicate), with and without an explicit width, over
//! the three metrics, dimensions 1 to 16, `m` from 2 to 8, and — in the SQ8
//! sequences — both quantised representations past their training size.
//!
//! What must hold exactly is asserted after every step: the same `len`,
//! `contains` and stored vectors (within the quantisation step for a
//! code-only index) as the model, the same refusals, and for each search: no
//! duplicates, nothing deleted or filtered out, ascending distances equal to
//! the exact ones (or within the quantisation error where only codes rank),
//! the same answer from `search_params` and `search_with`, and on the exact
//! filtered paths `min(k, matching)` results at the exact distances. A graph
//! search may return fewer than `min(k, matching)` — the neighbour selection
//! can leave a node with no incoming link — so there the test asserts only
//! that an unfiltered search of an index without tombstones finds something,
//! and counts the short answers. Quality is asserted over all sequences:
//! mean recall@k of wide unfiltered searches against the exact answer, per
//! metric.
//!
//! Each sequence is a function of its seed (the graph too, unless the
//! sequence links a large batch on two threads). A failure names its seed
//! and the operations that led to it; `MNEMO_MODEL_SEED=<seed>` replays that
//! one sequence (and skips the recall floors, which need many), while
//! `MNEMO_MODEL_SEEDS=<n>` runs `n` sequences per test and
//! `MNEMO_MODEL_SEED_BASE=<b>` shifts their seeds by `b`.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use mnemo_vector::{
    Error, Filter, FlatIndex, Hnsw, HnswParams, Metric, Neighbor, Quantization, RoaringTreemap,
    SQ8_TRAINING_ROWS, SearchContext, SearchParams, VectorSource,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Sequences per test unless `MNEMO_MODEL_SEEDS` says otherwise.
const F32_SEQUENCES: u64 = 1_200;
/// SQ8 sequences are ten times larger (past [`SQ8_TRAINING_ROWS`]).
const SQ8_SEQUENCES: u64 = 100;
/// Mean recall@k floors of the wide searches, per metric, with f32
/// vectors. Measured over blocks of 320 sequences: cosine and L2 at
/// 0.996 to 1.0, inner product at 0.88 to 0.97. Inner product is not a
/// metric (a vector need not be its own nearest neighbour), and under it
/// the neighbour selection leaves many nodes of a small graph with no
/// incoming link, so graph search finds it harder, as in hnswlib.
const F32_RECALL_FLOOR: [(Metric, f64); 3] = [
    (Metric::Cosine, 0.98),
    (Metric::L2, 0.98),
    (Metric::Dot, 0.85),
];
/// The same with SQ8 traversal, measured over blocks of 120 sequences:
/// cosine at 0.94 to 0.98, L2 at 0.97 to 0.99, inner product at 0.86 to
/// 0.88. Codes a 255th of the range apart cannot order the members of a
/// tight cluster, and re-ranking sees only the `ef` best by code.
const SQ8_RECALL_FLOOR: [(Metric, f64); 3] = [
    (Metric::Cosine, 0.90),
    (Metric::L2, 0.93),
    (Metric::Dot, 0.80),
];
/// How far a component of a unit vector may move when a rebuild normalises
/// it again (a few ulps of 1 per rebuild).
const RENORMALISED_SLACK: f32 = 1e-5;
/// Ids above a sequence's id space kept for the SQ8 range anchors.
const ANCHOR_IDS: u64 = 64;
/// The largest component magnitude the generator makes, in units of the
/// sequence's scale (a centre at 1 plus noise up to 0.4).
const MAX_COMPONENT: f32 = 1.4;
/// Wide unfiltered searches at the end of a sequence that measures quality.
const FINAL_SEARCHES: usize = 16;
/// Searches at least this wide on sets this small count towards recall.
const WIDE_EF: usize = 64;

/// The exact side: the flat index, plus the vectors as given (the source a
/// code-only index re-ranks with).
struct Model {
    flat: FlatIndex,
    raw: HashMap<u64, Vec<f32>>,
}

impl VectorSource for Model {
    fn vector(&self, id: u64) -> Option<&[f32]> {
        self.raw.get(&id).map(Vec::as_slice)
    }
}

/// The shape of one sequence.
struct Setup {
    metric: Metric,
    dimension: usize,
    params: HnswParams,
    /// Ids are drawn from `id_base..id_base + id_space`.
    id_base: u64,
    id_space: u64,
    /// Size of the first batch.
    initial: usize,
    /// Operations after the first batch.
    operations: usize,
    /// Components are drawn around this magnitude.
    scale: f32,
    /// Whether vectors repeat (copies of stored vectors, points of the
    /// integer grid), which makes distance ties.
    ties: bool,
}

impl Setup {
    fn random(rng: &mut StdRng, sq8: bool) -> Self {
        let metric = [Metric::Cosine, Metric::Dot, Metric::L2][rng.random_range(0..3)];
        let dimension = [1, 2, 3, 4, 5, 8, 13, 16][rng.random_range(0..8)];
        // The f32 sequences cover the small and odd shapes; the SQ8 ones,
        // ten times as costly, mostly measure quality.
        let m = rng.random_range(if sq8 { 4 } else { 2 }..=8);
        let quantization = if sq8 {
            [Quantization::Sq8, Quantization::Sq8Compact][rng.random_range(0..2)]
        } else {
            Quantization::None
        };
        let params = HnswParams {
            m,
            m0: m * rng.random_range(1..=3),
            ef_construction: [4, 16, 40, 100][rng.random_range(if sq8 { 2 } else { 0 }..4)],
            ef_search: rng.random_range(1..=80),
            seed: rng.random(),
            // Half the sequences link large batches on two threads; the
            // others on one, which keeps the graph a function of the seed.
            build_threads: rng.random_range(1..=2),
            compact_threshold: [0.0, 0.1, 0.3, 1.0][rng.random_range(0..4)],
            quantization,
        };
        let id_space = if sq8 {
            rng.random_range(1_300..1_600)
        } else {
            rng.random_range(8..400)
        };
        let id_base = [0, 1 << 32, u64::MAX - id_space - ANCHOR_IDS][rng.random_range(0..3)];
        Self {
            metric,
            dimension,
            params,
            id_base,
            id_space,
            initial: if sq8 {
                SQ8_TRAINING_ROWS + rng.random_range(0..200)
            } else {
                rng.random_range(0..=id_space as usize / 2)
            },
            operations: if sq8 { 80 } else { rng.random_range(40..160) },
            scale: [1e-3, 1.0, 1.0, 30.0][rng.random_range(0..4)],
            ties: rng.random_bool(if sq8 { 0.25 } else { 0.5 }),
        }
    }

    /// Whether this sequence's wide searches count towards the recall
    /// floors: a graph built with reasonable parameters over distinct
    /// directions. Repeated vectors are left out because the neighbour
    /// selection keeps only one of a group of equal vectors (a candidate is
    /// dropped unless it is strictly closer to the new node than to a kept
    /// neighbour), so the rest of the group is hard to reach; one
    /// dimension under cosine leaves only two directions.
    fn measures_quality(&self) -> bool {
        !self.ties
            && self.params.m >= 4
            && self.params.ef_construction >= 40
            && !(self.metric == Metric::Cosine && self.dimension == 1)
    }
}

/// Seeded vector, id and query generation for one sequence.
struct Generator {
    rng: StdRng,
    dimension: usize,
    metric: Metric,
    scale: f32,
    centres: Vec<Vec<f32>>,
    ties: bool,
    id_base: u64,
    id_space: u64,
}

impl Generator {
    fn new(setup: &Setup, rng: StdRng) -> Self {
        let mut g = Self {
            rng,
            dimension: setup.dimension,
            metric: setup.metric,
            scale: setup.scale,
            centres: Vec::new(),
            ties: setup.ties,
            id_base: setup.id_base,
            id_space: setup.id_space,
        };
        let clusters = g.rng.random_range(1..=6);
        g.centres = (0..clusters).map(|_| g.uniform(1.0)).collect();
        g
    }

    fn uniform(&mut self, width: f32) -> Vec<f32> {
        (0..self.dimension)
            .map(|_| self.rng.random_range(-width..=width) * self.scale)
            .collect()
    }

    fn id(&mut self) -> u64 {
        self.id_base + self.rng.random_range(0..self.id_space)
    }

    /// A valid vector: mostly near a centre, sometimes uniform, and in a
    /// sequence with ties sometimes a copy of a stored vector or a point of
    /// the integer grid.
    fn vector(&mut self, model: &Model) -> Vec<f32> {
        let kind = match self.rng.random_range(0..10) {
            0 | 1 if !self.ties => 3,
            kind => kind,
        };
        let mut v = match kind {
            0 if !model.raw.is_empty() => {
                let ids = model.flat.ids();
                model.raw[&ids[self.rng.random_range(0..ids.len())]].clone()
            }
            1 => (0..self.dimension)
                .map(|_| self.rng.random_range(-1i8..=1) as f32 * self.scale)
                .collect(),
            2 => self.uniform(1.0),
            _ => {
                let c = self.rng.random_range(0..self.centres.len());
                let width = self.rng.random_range(0.02..0.4);
                let noise = self.uniform(width);
                self.centres[c]
                    .iter()
                    .zip(noise)
                    .map(|(c, n)| c + n)
                    .collect()
            }
        };
        if self.metric == Metric::Cosine && v.iter().all(|&x| x == 0.0) {
            v[0] = self.scale;
        }
        v
    }

    /// A vector the indices must refuse, and the refusal.
    fn bad_vector(&mut self) -> (Vec<f32>, Error) {
        let mut v = self.uniform(1.0);
        match self.rng.random_range(0..3) {
            0 => {
                let index = self.rng.random_range(0..self.dimension);
                let value =
                    [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][self.rng.random_range(0..3)];
                v[index] = value;
                // The first non-finite component is reported.
                (v, Error::NonFinite { index, value })
            }
            1 => {
                let got = if self.rng.random() {
                    self.dimension + 1
                } else {
                    self.dimension - 1
                };
                v.resize(got, 0.5);
                let error = Error::DimensionMismatch {
                    expected: self.dimension,
                    got,
                };
                (v, error)
            }
            _ if self.metric == Metric::Cosine => (vec![0.0; self.dimension], Error::ZeroVector),
            _ => {
                v[0] = f32::NAN;
                (
                    v,
                    Error::NonFinite {
                        index: 0,
                        value: f32::NAN,
                    },
                )
            }
        }
    }
}

/// Refusals compared field by field, NaN payloads included.
fn same_result(a: &Result<(), Error>, b: &Result<(), Error>) -> bool {
    match (a, b) {
        (
            Err(Error::NonFinite { index: i, value: x }),
            Err(Error::NonFinite { index: j, value: y }),
        ) => i == j && x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Quality counters summed over sequences.
#[derive(Default)]
struct Tally {
    /// Per metric: (sum of recall@k, searches) of wide unfiltered searches.
    recall: HashMap<Metric, (f64, usize)>,
    searches: usize,
    /// Graph searches that returned fewer than `min(k, matching)` on an
    /// index with unreachable live nodes (allowed; reported).
    short: usize,
    operations: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (metric, (sum, n)) in other.recall {
            let entry = self.recall.entry(metric).or_default();
            entry.0 += sum;
            entry.1 += n;
        }
        self.searches += other.searches;
        self.short += other.short;
        self.operations += other.operations;
    }
}

/// One sequence in progress.
struct Run {
    setup: Setup,
    hnsw: Hnsw,
    model: Model,
    draw: Generator,
    ctx: SearchContext,
    /// Every id ever used, to check that absent ones stay absent.
    seen: HashSet<u64>,
    /// Whether a code-only index has been rebuilt from decoded codes, so its
    /// stored vectors are approximations of the model's.
    lossy: bool,
    /// Whether a cosine index has been rebuilt: a rebuild normalises the
    /// stored (already normalised) rows again, which moves components by
    /// an ulp or so.
    renormalised: bool,
    tally: Tally,
    log: Vec<String>,
}

impl Run {
    fn new(seed: u64, sq8: bool) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let setup = Setup::random(&mut rng, sq8);
        let hnsw = Hnsw::new(setup.dimension, setup.metric, setup.params.clone()).unwrap();
        let model = Model {
            flat: FlatIndex::new(setup.dimension, setup.metric).unwrap(),
            raw: HashMap::new(),
        };
        let draw = Generator::new(&setup, rng);
        let log = vec![format!(
            "{} dim {} {:?} ids {}+{} scale {}",
            setup.metric, setup.dimension, setup.params, setup.id_base, setup.id_space, setup.scale
        )];
        Self {
            setup,
            hnsw,
            model,
            draw,
            ctx: SearchContext::new(),
            seen: HashSet::new(),
            lossy: false,
            renormalised: false,
            tally: Tally::default(),
            log,
        }
    }

    fn run(&mut self) {
        if self.setup.params.quantization != Quantization::None {
            self.anchor();
        }
        let initial = self.setup.initial;
        self.batch(initial, false);
        self.check_state();
        for _ in 0..self.setup.operations {
            self.step();
            self.tally.operations += 1;
        }
        if self.setup.measures_quality() {
            for _ in 0..FINAL_SEARCHES {
                self.search(Some(10), Some(WIDE_EF), false);
            }
        }
    }

    fn step(&mut self) {
        let sq8 = self.setup.params.quantization != Quantization::None;
        match self.draw.rng.random_range(0..100) {
            roll @ (0..20 | 24..34) => {
                let id = self.draw.id();
                let v = self.draw.vector(&self.model);
                let update = roll >= 24;
                self.log
                    .push(format!("{} {id}", if update { "update" } else { "insert" }));
                let (got, want) = if update {
                    (self.hnsw.update(id, &v), self.model.flat.update(id, &v))
                } else {
                    (self.hnsw.insert(id, &v), self.model.flat.insert(id, &v))
                };
                self.apply(got, want, &[id], &v);
            }
            20..24 => {
                let n = if self.draw.rng.random_range(0..8) == 0 && !sq8 {
                    300
                } else {
                    self.draw.rng.random_range(0..12)
                };
                let damaged = self.draw.rng.random_range(0..4) == 0;
                self.batch(n, damaged);
            }
            34..50 => {
                let id = self.draw.id();
                self.log.push(format!("delete {id}"));
                let got = self.hnsw.delete(id);
                let want = self.model.flat.delete(id);
                assert_eq!(got, want, "delete {id}");
                self.model.raw.remove(&id);
            }
            50..53 => {
                let due = self.hnsw.needs_compaction();
                let active = self.hnsw.sq8_active();
                self.log.push(format!("compact (due: {due})"));
                assert_eq!(self.hnsw.compact().unwrap(), due, "compact");
                if due {
                    self.rebuilt(active);
                }
            }
            53 => {
                let active = self.hnsw.sq8_active();
                self.log.push("rebuild".to_owned());
                self.hnsw.rebuild().unwrap();
                self.rebuilt(active);
            }
            54..57 => self.round_trip(),
            57..60 => {
                let (v, error) = self.draw.bad_vector();
                let id = self.draw.id();
                self.log
                    .push(format!("refused insert/update {id}: {error}"));
                let before = (self.hnsw.len(), self.hnsw.slots());
                for got in [self.hnsw.insert(id, &v), self.hnsw.update(id, &v)] {
                    assert!(same_result(&got, &Err(error.clone())), "{got:?}");
                }
                // The bad row first, so that the refusal is about it and
                // not about a present id.
                let ids = [id, id.wrapping_add(1)];
                let mut rows = v.clone();
                rows.extend(self.draw.vector(&self.model));
                let got = self.hnsw.insert_batch(&ids, &rows);
                if v.len() == self.setup.dimension {
                    assert!(same_result(&got, &Err(error.clone())), "{got:?}");
                } else {
                    assert!(matches!(got, Err(Error::InvalidParams(_))), "{got:?}");
                }
                assert_eq!(
                    (self.hnsw.len(), self.hnsw.slots()),
                    before,
                    "a refusal changed the index"
                );
                let q = SearchParams::k(3);
                let got = self.hnsw.search_params(&v, &q).map(|_| ());
                assert!(same_result(&got, &Err(error.clone())), "search: {got:?}");
                let got = self.model.flat.search(&v, 3).map(|_| ());
                assert!(same_result(&got, &Err(error)), "flat search: {got:?}");
            }
            _ => {
                self.search(None, None, true);
                return;
            }
        }
        self.check_state();
    }

    /// Inserts, under ids the operations never touch, the vectors at the
    /// ends of every axis that the generator can reach, so SQ8 ranges —
    /// fitted to the rows present at training, and clamping what lies
    /// outside — always span every vector: a stored component is then
    /// within half a step of the model's.
    fn anchor(&mut self) {
        let dimension = self.setup.dimension;
        let reach = match self.setup.metric {
            Metric::Cosine => 1.0,
            _ => MAX_COMPONENT * self.setup.scale,
        };
        let ids: Vec<u64> = (0..2 * dimension as u64)
            .map(|i| self.setup.id_base + self.setup.id_space + i)
            .collect();
        let mut rows = vec![0.0; 2 * dimension * dimension];
        for axis in 0..dimension {
            rows[2 * axis * dimension + axis] = reach;
            rows[(2 * axis + 1) * dimension + axis] = -reach;
        }
        self.log.push("anchors".to_owned());
        let got = self.hnsw.insert_batch(&ids, &rows);
        let want = self.model.flat.insert_batch(&ids, &rows);
        self.apply(got, want, &ids, &rows);
    }

    /// Inserts `n` fresh vectors as one batch into both; a damaged batch has
    /// a repeated id or an id already present, and both must refuse it.
    fn batch(&mut self, n: usize, damaged: bool) {
        let mut ids = Vec::with_capacity(n);
        let mut taken: HashSet<u64> = HashSet::new();
        for _ in 0..n * 4 {
            if ids.len() == n {
                break;
            }
            let id = self.draw.id();
            if !self.model.flat.contains(id) && taken.insert(id) {
                ids.push(id);
            }
        }
        if damaged && !ids.is_empty() {
            let at = self.draw.rng.random_range(0..ids.len());
            ids[at] = match self.model.flat.ids().first() {
                Some(&present) if self.draw.rng.random() => present,
                _ => ids[self.draw.rng.random_range(0..ids.len())],
            };
        }
        let mut rows = Vec::with_capacity(ids.len() * self.setup.dimension);
        for _ in 0..ids.len() {
            rows.extend(self.draw.vector(&self.model));
        }
        self.log.push(format!(
            "insert_batch of {} (damaged: {damaged})",
            ids.len()
        ));
        let got = self.hnsw.insert_batch(&ids, &rows);
        let want = self.model.flat.insert_batch(&ids, &rows);
        self.apply(got, want, &ids, &rows);
    }

    /// Checks that both sides agreed, and records what went in.
    fn apply(
        &mut self,
        got: Result<(), Error>,
        want: Result<(), Error>,
        ids: &[u64],
        rows: &[f32],
    ) {
        assert!(same_result(&got, &want), "hnsw {got:?}, flat {want:?}");
        self.seen.extend(ids);
        if want.is_ok() {
            for (&id, row) in ids.iter().zip(rows.chunks_exact(self.setup.dimension)) {
                self.model.raw.insert(id, row.to_vec());
            }
        }
    }

    /// After a rebuild: no tombstones; a code-only index that was using its
    /// codes now stores their decoded values.
    fn rebuilt(&mut self, sq8_was_active: bool) {
        assert_eq!(self.hnsw.deleted(), 0, "tombstones after a rebuild");
        assert_eq!(self.hnsw.slots(), self.hnsw.len());
        if sq8_was_active && self.setup.params.quantization == Quantization::Sq8Compact {
            self.lossy = true;
        }
        self.renormalised |= self.setup.metric == Metric::Cosine;
    }

    /// Encodes and decodes both indices, checks the bytes are stable and
    /// the decoded graph searches exactly like the original, and carries on
    /// with the decoded indices.
    fn round_trip(&mut self) {
        self.log.push("encode/decode".to_owned());
        let bytes = self.hnsw.encode();
        let back = Hnsw::decode(&bytes).unwrap();
        assert_eq!(back.encode(), bytes, "re-encoding changed the bytes");
        assert_eq!(
            (back.len(), back.slots(), back.deleted(), back.sq8_active()),
            (
                self.hnsw.len(),
                self.hnsw.slots(),
                self.hnsw.deleted(),
                self.hnsw.sq8_active()
            )
        );
        for _ in 0..3 {
            let q = self.draw.vector(&self.model);
            let params = SearchParams {
                vectors: Some(&self.model),
                ..SearchParams::k(self.draw.rng.random_range(1..20))
            };
            let want = self.hnsw.search_params(&q, &params).unwrap();
            let got = back.search_with(&mut self.ctx, &q, &params).unwrap();
            assert_eq!(
                got,
                want.as_slice(),
                "the decoded graph searches differently"
            );
        }
        self.hnsw = back;
        let flat_bytes = self.model.flat.encode();
        let flat = FlatIndex::decode(&flat_bytes).unwrap();
        assert_eq!(flat.encode(), flat_bytes);
        self.model.flat = flat;
    }

    /// `len`, `contains`, `get` and the id list against the model.
    fn check_state(&self) {
        let (hnsw, flat) = (&self.hnsw, &self.model.flat);
        assert_eq!(hnsw.len(), flat.len(), "len");
        assert_eq!(hnsw.is_empty(), flat.is_empty());
        assert_eq!(
            hnsw.slots(),
            hnsw.len() + hnsw.deleted(),
            "slots = live + tombstones"
        );
        let mut ids: Vec<u64> = hnsw.ids().collect();
        let mut want = flat.ids().to_vec();
        ids.sort_unstable();
        want.sort_unstable();
        assert_eq!(ids, want, "live ids");
        let approximate = self.setup.params.quantization == Quantization::Sq8Compact
            && (self.lossy || hnsw.sq8_active());
        let step = self.quantisation_step();
        for &id in &self.seen {
            assert_eq!(hnsw.contains(id), flat.contains(id), "contains {id}");
            let (got, want) = (hnsw.get(id), flat.get(id));
            assert_eq!(got.is_some(), want.is_some(), "get {id}");
            let (Some(got), Some(want)) = (got, want) else {
                continue;
            };
            let slack = match (approximate, self.renormalised) {
                (true, _) => step,
                (false, true) => RENORMALISED_SLACK,
                (false, false) => 0.0,
            };
            if slack == 0.0 {
                assert_eq!(&*got, want, "get {id}");
            } else {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= slack,
                        "get {id}: {got:?} vs {want:?} (slack {slack})"
                    );
                }
            }
        }
    }

    /// The largest error of a stored component in a code-only index: two
    /// quantisations (before and after a rebuild), each within a step of
    /// `range / 255`, with range at most twice the largest magnitude.
    fn quantisation_step(&self) -> f32 {
        let largest = self
            .model
            .flat
            .ids()
            .iter()
            .filter_map(|&id| self.model.flat.get(id))
            .flatten()
            .fold(0.0f32, |m, x| m.max(x.abs()));
        2.0 * (2.0 * largest / 255.0) * 1.01 + 1e-6
    }

    /// One search through both entry points, checked against the exact
    /// answer: `k` and the width drawn unless given, the filter drawn when
    /// `filtered`.
    fn search(&mut self, k: Option<usize>, ef: Option<usize>, filtered: bool) {
        let k = k.unwrap_or_else(|| [1, 1, 3, 10, 10, 40, 1_000][self.draw.rng.random_range(0..7)]);
        let ef = ef.or_else(|| match self.draw.rng.random_range(0..4) {
            0 => None,
            1 => Some(k),
            _ => Some(WIDE_EF.max(k)),
        });
        let q = self.draw.vector(&self.model);
        let allow: RoaringTreemap;
        let modulus = self.draw.rng.random_range(2..7u64);
        let predicate = move |id: u64| id.is_multiple_of(modulus);
        let filter = match self.draw.rng.random_range(0..4) {
            _ if !filtered => Filter::All,
            0 | 1 => Filter::All,
            2 => {
                let density = [0.01, 0.1, 0.5, 0.9][self.draw.rng.random_range(0..4)];
                allow = (0..self.setup.id_space)
                    .filter(|_| self.draw.rng.random_bool(density))
                    .map(|i| self.setup.id_base + i)
                    .collect();
                Filter::Allow(&allow)
            }
            _ => Filter::Predicate(&predicate),
        };
        let with_source = self.draw.rng.random_range(0..4) != 0;
        self.log.push(format!(
            "search k {k} ef {ef:?} {filter:?} source {with_source}"
        ));
        let params = SearchParams {
            k,
            ef,
            filter,
            vectors: with_source.then_some(&self.model as &dyn VectorSource),
        };
        let got = self.hnsw.search_params(&q, &params).unwrap();
        let again = self.hnsw.search_with(&mut self.ctx, &q, &params).unwrap();
        assert_eq!(
            again,
            got.as_slice(),
            "search_with and search_params differ"
        );
        let truth = self
            .model
            .flat
            .search_filtered(&q, usize::MAX, filter)
            .unwrap();
        let exact_k = self.model.flat.search_filtered(&q, k, filter).unwrap();
        assert_eq!(
            exact_k.as_slice(),
            &truth[..k.min(truth.len())],
            "flat top-k"
        );
        let (recall, short) = self.check_search(&q, &params, &got, &truth);
        self.tally.searches += 1;
        self.tally.short += usize::from(short);
        if let Some(recall) = recall {
            let entry = self.tally.recall.entry(self.setup.metric).or_default();
            entry.0 += recall;
            entry.1 += 1;
        }
    }

    /// Asserts what the search `got` must get exactly given the exact
    /// answer `truth` (every passing live vector, nearest first). Returns
    /// its recall@k when it is a wide unfiltered graph search in a sequence
    /// that measures quality, and whether it is a graph search that found
    /// fewer than `min(k, matching)`.
    fn check_search(
        &self,
        q: &[f32],
        params: &SearchParams<'_>,
        got: &[Neighbor],
        truth: &[Neighbor],
    ) -> (Option<f64>, bool) {
        let hnsw = &self.hnsw;
        let (k, filter) = (params.k, params.filter);
        let with_source = params.vectors.is_some();
        let exact: HashMap<u64, f32> = truth.iter().map(|n| (n.id, n.distance)).collect();
        let want = k.min(truth.len());
        // f32 sums in another order differ by a few ulps of their terms'
        // size.
        let largest = self
            .model
            .raw
            .values()
            .map(|v| v.iter().map(|x| x * x).sum::<f32>().sqrt())
            .fold(0.0f32, f32::max);
        let q_norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        let size = match self.setup.metric {
            Metric::Cosine => 1.0,
            _ => (q_norm + largest) * (q_norm + largest),
        };
        let tolerance = 1e-4 * (1.0 + size);
        let reranked_exactly = match self.setup.params.quantization {
            Quantization::None | Quantization::Sq8 => true,
            Quantization::Sq8Compact if hnsw.sq8_active() => with_source,
            Quantization::Sq8Compact => !self.lossy,
        };
        let distance_slack = if reranked_exactly {
            tolerance
        } else {
            // The distance to a vector off by at most `e` per component.
            let e = self.quantisation_step() * (self.setup.dimension as f32).sqrt();
            let (q_len, v_len) = match self.setup.metric {
                Metric::Cosine => (1.0, 1.0),
                _ => (q_norm, largest),
            };
            e * (2.0 * (q_len + v_len) + e) + tolerance
        };

        assert!(got.len() <= k, "{} results for k = {k}", got.len());
        let mut ids = HashSet::new();
        for n in got {
            assert!(ids.insert(n.id), "id {} returned twice", n.id);
            let Some(&d) = exact.get(&n.id) else {
                panic!(
                    "id {} returned: live {}, passes the filter {}",
                    n.id,
                    self.model.flat.contains(n.id),
                    filter.accepts(n.id)
                );
            };
            assert!(
                (n.distance - d).abs() <= distance_slack,
                "id {}: distance {} where the exact one is {d} (slack {distance_slack})",
                n.id,
                n.distance
            );
        }
        assert!(
            got.windows(2).all(|w| w[0].distance <= w[1].distance),
            "not sorted: {got:?}"
        );

        let width = params.ef.unwrap_or(hnsw.params().ef_search).max(k);
        let exact_path = match filter {
            Filter::All => false,
            Filter::Allow(set) => set.len() <= hnsw.exact_limit(width) as u64,
            Filter::Predicate(_) => hnsw.len() <= hnsw.exact_limit(width),
        };
        if exact_path {
            assert_eq!(got.len(), want, "exact filtered search: result count");
            if !hnsw.sq8_active() && reranked_exactly {
                for (g, t) in got.iter().zip(truth) {
                    assert!(
                        (g.distance - t.distance).abs() <= tolerance,
                        "exact filtered search: {got:?} vs {:?}",
                        &truth[..want]
                    );
                }
            }
            return (None, false);
        }
        let short = got.len() < want;
        if filter.is_all() && hnsw.deleted() == 0 && !truth.is_empty() {
            // The entry point is live and passes.
            assert!(
                !got.is_empty(),
                "nothing found in a graph with no tombstones"
            );
        }
        if !self.setup.measures_quality()
            || !filter.is_all()
            || width < WIDE_EF
            || !reranked_exactly
            || want == 0
        {
            return (None, short);
        }
        // Recall by distance, so that ties at the k-th place count whichever
        // id wins them.
        let bound = truth[want - 1].distance + tolerance;
        let hits = got.iter().filter(|n| n.distance <= bound).count().min(want);
        (Some(hits as f64 / want as f64), short)
    }
}

/// Runs `count` sequences from `first` (or the one in `MNEMO_MODEL_SEED`),
/// naming the seed and the operations of any that fails.
fn run_sequences(first: u64, count: u64, sq8: bool) -> Tally {
    let seeds: Vec<u64> = match std::env::var("MNEMO_MODEL_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => {
            let count = std::env::var("MNEMO_MODEL_SEEDS").map_or(count, |n| n.parse().unwrap());
            let base: u64 =
                std::env::var("MNEMO_MODEL_SEED_BASE").map_or(0, |n| n.parse().unwrap());
            (first + base..first + base + count).collect()
        }
    };
    let mut tally = Tally::default();
    for seed in seeds {
        let mut run = Run::new(seed, sq8);
        if catch_unwind(AssertUnwindSafe(|| run.run())).is_err() {
            let recent = run.log.len().saturating_sub(12);
            panic!(
                "sequence {seed} failed (replay with MNEMO_MODEL_SEED={seed}); setup: {}\nlast operations:\n  {}",
                run.log[0],
                run.log[recent.max(1)..].join("\n  ")
            );
        }
        tally.add(run.tally);
    }
    tally
}

/// Asserts the recall floors over at least `samples` wide searches per
/// metric (unless one sequence is being replayed).
fn assert_recall(tally: &Tally, what: &str, floors: [(Metric, f64); 3], samples: usize) {
    eprintln!(
        "{what}: {} operations, {} searches, {} short graph searches",
        tally.operations, tally.searches, tally.short
    );
    if std::env::var("MNEMO_MODEL_SEED").is_ok() {
        return;
    }
    for (metric, floor) in floors {
        let (sum, n) = tally.recall.get(&metric).copied().unwrap_or_default();
        assert!(
            n >= samples,
            "{what}: {metric}: only {n} wide searches sampled"
        );
        let mean = sum / n as f64;
        eprintln!("{what}: {metric} mean recall@k {mean:.4} over {n} wide searches");
        assert!(
            mean >= floor,
            "{what}: {metric} mean recall@k {mean} < {floor}"
        );
    }
}

#[test]
fn hnsw_follows_the_flat_model() {
    let tally = run_sequences(0, F32_SEQUENCES, false);
    assert_recall(&tally, "f32", F32_RECALL_FLOOR, 500);
}

#[test]
fn quantised_hnsw_follows_the_flat_model() {
    let tally = run_sequences(1 << 40, SQ8_SEQUENCES, true);
    assert_recall(&tally, "sq8", SQ8_RECALL_FLOOR, 100);
}
