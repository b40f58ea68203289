//! The `lifecycle` suite: a year of an assistant's use, simulated
//! ([`crate::lifecycle_sim`]: 1,000,000 writes by 1,000 users with
//! repetition and drift), written into one namespace with near-duplicate
//! merging on, and the same stream with it off as the peer, in the same
//! run.
//!
//! Each pass opens a fresh on-disk namespace (under `--tmp-dir`) with the
//! engine's default options (the hash embedder, no model; sync `Always`)
//! under a resident-memory budget ([`budgeted_options`]:
//! `max_resident_bytes`, the same in both passes so that their figures
//! compare), `duplicates` set to `merge` or `off`, and writes the stream in
//! time order with `remember_batch` in batches of 100 (the writes carry
//! their simulated times, `NewMemory::at`). Then:
//!
//! 1. **Throughput** (`lifecycle_writes_per_s`): writes over the time spent
//!    in `remember_batch` (generating the stream is not counted, nor are the
//!    suite's own rebalances below; the maintenance thread's rebalances
//!    take the writer lock, and writes waiting for them are counted).
//! 2. **What the writes became**: each write's [`mnemo::Outcome`] against
//!    what the generator knows it is ([`Label`]):
//!    - `lifecycle_merged_fraction`: merged outcomes over writes; peer: the
//!      share of true repeats in the stream, the most that may merge;
//!    - `lifecycle_repeats_merged`: true repeats merged over true repeats
//!      (identical texts are stored once by exact deduplication, an
//!      `Unchanged` outcome: `lifecycle_repeats_absorbed` counts both);
//!    - `lifecycle_false_merges`: changed preference values merged (into
//!      the old value: the change is lost), which should be none;
//!      `lifecycle_wrong_merges`: every merge into a memory that states
//!      something else (a changed value, a new note or tool result, another
//!      user's fact), by category in the params.
//! 3. **Resident memory under the budget**: every 5% of the stream, and at
//!    the end after the vector index is flushed, the suite calls
//!    `Namespace::rebalance_tiers` (timed apart from the writes:
//!    `lifecycle_rebalance_ms`; the maintenance thread also rebalances, once
//!    a second when its estimate passes the budget, but not at a
//!    deterministic point of the stream) and then samples
//!    `Namespace::stats()` and `Namespace::tiers()`.
//!    - `lifecycle_resident_bytes_max` and `_final`: what the budget bounds,
//!      the vectors kept in memory (`TierReport::resident_bytes`: the vector
//!      index's heap, tombstones of demoted vectors included until the graph
//!      compacts, and the warm tier's codes); target: the budget. The
//!      params also give each sample's bytes before the suite's rebalance
//!      (what the writes and the maintenance thread left).
//!    - `lifecycle_resident_within_budget`: the share of samples with
//!      resident bytes within the budget (1: the bound held at every
//!      sample), and the worst ratio to the budget.
//!    - `lifecycle_memories_hot`, `_warm`, `_cold`: where the memories are
//!      at the end.
//!    - `lifecycle_index_bytes_max` and `_final`: every resident index (the
//!      vectors as above, the BM25 index, the association graph), under the
//!      budget; the BM25 index and the graph are not bounded by it. No
//!      unbudgeted pass is run (it would cost a third pass): the params
//!      give the estimate of every final memory's vector hot.
//!
//!    The budget is 256 MiB at 1,000,000 writes, scaled with the stream's
//!    size ([`budget_for`]: 5.1 MiB at `--quick`, 25.6 MiB at 100,000), so
//!    that every size keeps a similar share of its memories in each tier.
//! 4. **Newest version first**: for every preference that changed at least
//!    once in the stream, the probe question of [`crate::lifecycle_sim`]
//!    ("what theme does Maya Fischer prefer in the editor?") is recalled
//!    with k = 1 and k = 5. k = 1 passes when the first hit states the
//!    current value; k = 5 when, among the top 5, the first hit stating any
//!    value of that preference states the current one (and one does).
//!    Target 0.95 (the issue's). Measured with the engine's default recall
//!    weights, then with `recency` 1 (the default half-life, 30 days; as
//!    strong as the keyword signal), then with `strength` 1 (strength from
//!    use: merged repeats count as uses); nothing else was tried. The
//!    probes do not set `RecallOptions::scan_cold`: a cold memory is found
//!    by its keywords (and filters, spreading), not by its vector. The
//!    params give the scores by the tier of the memory stating the current
//!    value.
//! 5. **Consolidation** (merge pass): `Namespace::consolidate` with its
//!    defaults once after the probes, timed, then the probes again.
//!
//! `--quick` simulates 20,000 writes (20 users). The environment variable
//! `MNEMO_BENCH_LIFECYCLE_WRITES` sets another size, and
//! `MNEMO_BENCH_LIFECYCLE_EMBEDDER=minilm-q8` stores and asks with the int8
//! all-MiniLM-L6-v2 instead of the hash embedder (a model embeds a few
//! hundred sentences a second here, so only at small sizes; the report says
//! which embedder and size).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mnemo::lifecycle::{DuplicateMode, Duplicates};
use mnemo::{ConsolidateOptions, Mnemo, Namespace, Options, Outcome, RecallOptions};
use mnemo_embed::{Embedder, HashEmbedder, MiniLmQ8};
use serde_json::{Value, json};

use crate::SuiteOptions;
use crate::harness::{BenchResult, Better, per_sec};
use crate::lifecycle_sim::{self, Category, Label, PREFERENCES, Sim, Spec};

/// Writes per `remember_batch`.
const BATCH: usize = 100;
/// Resident-byte samples over the stream.
const SAMPLES: usize = 20;
/// The target for the newest version of a changed preference
/// recalled first.
const NEWEST_FIRST_TARGET: f64 = 0.95;
/// Environment variable that sets the number of writes.
const WRITES_VAR: &str = "MNEMO_BENCH_LIFECYCLE_WRITES";
/// Environment variable that picks the embedder: `hash` (the default) or
/// `minilm-q8`.
const EMBEDDER_VAR: &str = "MNEMO_BENCH_LIFECYCLE_EMBEDDER";
/// The peer's label.
const OFF_PEER: &str = "the same stream with duplicates off (same run)";

/// The budget of the vectors kept in memory at [`lifecycle_sim::FULL_WRITES`]
/// writes: 256 MiB, about a fifth of what the merge pass's vectors take at
/// that size with every vector hot.
const FULL_BUDGET: u64 = 256 * 1024 * 1024;

/// The budget (`max_resident_bytes`) of a run of `writes` writes: scaled
/// with the size from [`FULL_BUDGET`] at 1,000,000 writes (20,000 writes:
/// 5.1 MiB; 100,000: 25.6 MiB), so that every size keeps about the same
/// share of its memories hot, warm and cold (a fixed 256 MiB would bind
/// only from about 300,000 writes up); never below the engine's minimum
/// for vectors of `dimension`.
fn budget_for(writes: usize, dimension: usize) -> u64 {
    let scaled = u128::from(FULL_BUDGET) * writes as u128 / lifecycle_sim::FULL_WRITES as u128;
    u64::try_from(scaled)
        .unwrap_or(u64::MAX)
        .max(mnemo::lifecycle::min_budget(dimension))
}

/// The embedder [`EMBEDDER_VAR`] names (the hash embedder when unset).
fn chosen_embedder() -> Result<Arc<dyn Embedder>> {
    match std::env::var(EMBEDDER_VAR).as_deref().map(str::trim) {
        Err(_) | Ok("" | "hash") => Ok(Arc::new(HashEmbedder::new())),
        Ok("minilm-q8") => Ok(Arc::new(
            MiniLmQ8::load_default().context("loading minilm-q8 (run scripts/fetch-model)")?,
        )),
        Ok(other) => anyhow::bail!("{EMBEDDER_VAR}={other}: expected hash or minilm-q8"),
    }
}

/// The namespace options of both passes: the engine's defaults (sync
/// `Always`) with `embedder` and `max_resident_bytes` set to [`budget_for`]
/// the stream's size.
fn budgeted_options(writes: usize, embedder: Arc<dyn Embedder>) -> (Options, u64) {
    let mut options = Options {
        embedder,
        ..Options::default()
    };
    let budget = budget_for(writes, options.embedder.info().dimension);
    options.max_resident_bytes = Some(budget);
    (options, budget)
}

/// One recall setting the probes are measured with.
struct Setting {
    name: &'static str,
    what: &'static str,
    options: RecallOptions,
}

/// The settings: the defaults, recency raised, strength raised.
fn settings() -> Vec<Setting> {
    let mut recency = RecallOptions::default();
    recency.weights.recency = 1.0;
    let mut strength = RecallOptions::default();
    strength.weights.strength = 1.0;
    vec![
        Setting {
            name: "defaults",
            what: "RecallOptions::default() (recency 0, strength 0)",
            options: RecallOptions::default(),
        },
        Setting {
            name: "recency",
            what: "defaults with weights.recency 1 (half-life 30 days)",
            options: recency,
        },
        Setting {
            name: "strength",
            what: "defaults with weights.strength 1",
            options: strength,
        },
    ]
}

/// Newest-version-first results of one setting.
#[derive(Debug, Clone, Default)]
struct ProbeScore {
    probes: usize,
    first_k1: usize,
    first_k5: usize,
    /// The current value anywhere in the top 5.
    in_top5: usize,
    /// Probes whose first hit (k = 1) did not state the current value, by
    /// preference.
    misses: BTreeMap<&'static str, usize>,
    /// By the tier of the newest memory stating the current value (`none`
    /// when it was not added as its own memory): probes, first hits (k = 1).
    by_tier: BTreeMap<&'static str, (usize, usize)>,
    recall_time: Duration,
}

impl ProbeScore {
    fn fraction(n: usize, of: usize) -> f64 {
        if of == 0 { 0.0 } else { n as f64 / of as f64 }
    }

    fn json(&self) -> Value {
        json!({
            "probes": self.probes,
            "k1": Self::fraction(self.first_k1, self.probes),
            "k5": Self::fraction(self.first_k5, self.probes),
            "current_in_top5": Self::fraction(self.in_top5, self.probes),
            "k1_misses_by_preference": self.misses,
            "k1_by_tier_of_current": self
                .by_tier
                .iter()
                .map(|(tier, (n, k1))| (tier.to_string(), json!({"probes": n, "k1": Self::fraction(*k1, *n)})))
                .collect::<serde_json::Map<_, _>>(),
            "mean_recall_ms": if self.probes == 0 { 0.0 } else {
                self.recall_time.as_secs_f64() * 1e3 / (2 * self.probes) as f64
            },
        })
    }
}

/// A sample of the resident indices, taken right after the suite
/// rebalanced the tiers.
#[derive(Debug, Clone, Copy, Default)]
struct Resident {
    writes: usize,
    /// The vector index's heap (the hot tier: graph, exact buffer,
    /// tombstones until the graph compacts).
    vector: usize,
    /// The warm tier's codes.
    warm: usize,
    text: usize,
    graph: usize,
    hot_memories: usize,
    warm_memories: usize,
    cold_memories: usize,
    /// The budgeted bytes (vector index and warm codes, what
    /// `max_resident_bytes` bounds) before the suite's rebalance: what the
    /// writes and the maintenance thread left.
    before_rebalance: u64,
}

impl Resident {
    fn of(ns: &Namespace, writes: usize, before_rebalance: u64) -> Self {
        let s = ns.stats();
        let tiers = ns.tiers();
        Self {
            writes,
            vector: s.vector_index_bytes,
            warm: s.warm_bytes,
            text: s.text_index_bytes,
            graph: s.graph_bytes,
            hot_memories: tiers.hot,
            warm_memories: tiers.warm,
            cold_memories: tiers.cold,
            before_rebalance,
        }
    }

    /// Every resident index: vectors (hot and warm), BM25, graph.
    fn total(&self) -> usize {
        self.vector + self.warm + self.text + self.graph
    }

    /// What the budget bounds: the vectors kept in memory
    /// ([`mnemo::TierReport::resident_bytes`]).
    fn budgeted(&self) -> u64 {
        (self.vector + self.warm) as u64
    }

    fn json(&self) -> Value {
        json!({
            "after_writes": self.writes,
            "vector_index_bytes": self.vector,
            "warm_bytes": self.warm,
            "text_index_bytes": self.text,
            "graph_bytes": self.graph,
            "hot": self.hot_memories,
            "warm": self.warm_memories,
            "cold": self.cold_memories,
            "budgeted_bytes_before_rebalance": self.before_rebalance,
        })
    }
}

/// What one pass of the stream measured.
#[derive(Debug, Default)]
struct Pass {
    /// The pass's `max_resident_bytes`.
    budget: u64,
    /// The embedder's dimension.
    dimension: usize,
    writes: usize,
    write_time: Duration,
    flush_time: Duration,
    /// Outcomes by (category, label, outcome).
    outcomes: HashMap<(Category, Label, Outcome), usize>,
    /// Merges into a memory that states another fact, by category.
    wrong: HashMap<Category, usize>,
    memories: usize,
    log_bytes: u64,
    samples: Vec<Resident>,
    /// The suite's `rebalance_tiers` calls (one per sample): time, calls,
    /// memories moved.
    rebalance_time: Duration,
    rebalances: usize,
    moved: usize,
    /// Per setting (in [`settings`] order).
    probes: Vec<ProbeScore>,
    /// Consolidation: (considered, groups, created, deferred, took), and
    /// the probes after it.
    consolidated: Option<(usize, usize, usize, usize, Duration)>,
    probes_after: Vec<ProbeScore>,
}

impl Pass {
    fn count(&self, f: impl Fn(Category, Label, Outcome) -> bool) -> usize {
        self.outcomes
            .iter()
            .filter(|((c, l, o), _)| f(*c, *l, *o))
            .map(|(_, n)| n)
            .sum()
    }

    fn max_resident(&self) -> Resident {
        self.samples
            .iter()
            .copied()
            .max_by_key(Resident::total)
            .unwrap_or_default()
    }

    fn final_resident(&self) -> Resident {
        self.samples.last().copied().unwrap_or_default()
    }

    /// The sample with the most budgeted bytes.
    fn max_budgeted(&self) -> Resident {
        self.samples
            .iter()
            .copied()
            .max_by_key(Resident::budgeted)
            .unwrap_or_default()
    }

    /// Samples whose budgeted bytes were within `budget`.
    fn within(&self, budget: u64) -> usize {
        self.samples
            .iter()
            .filter(|r| r.budgeted() <= budget)
            .count()
    }

    /// Rebalances the tiers (timed apart from the writes), then samples the
    /// resident indices.
    fn sample(&mut self, ns: &Namespace) -> Result<()> {
        let before = ns.tiers().resident_bytes;
        let t = Instant::now();
        let report = ns.rebalance_tiers()?;
        self.rebalance_time += t.elapsed();
        self.rebalances += 1;
        self.moved += report.moved;
        self.samples.push(Resident::of(ns, self.writes, before));
        Ok(())
    }

    fn writes_per_s(&self) -> f64 {
        per_sec(self.write_time, self.writes as u64)
    }
}

/// Runs the suite.
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let default = if opts.quick {
        lifecycle_sim::QUICK_WRITES
    } else {
        lifecycle_sim::FULL_WRITES
    };
    let writes = match std::env::var(WRITES_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{WRITES_VAR}={v} is not a number of writes"))?,
        Err(_) => default,
    };
    let spec = Spec::new(writes);
    let embedder = chosen_embedder()?;
    let tmp = opts.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let started = Instant::now();
    let merge =
        pass(spec, DuplicateMode::Merge, &tmp, &embedder).context("lifecycle: merge pass")?;
    eprintln!("  merge pass: {:.1} s", started.elapsed().as_secs_f64());
    let t = Instant::now();
    let off = pass(spec, DuplicateMode::Off, &tmp, &embedder).context("lifecycle: off pass")?;
    eprintln!("  off pass: {:.1} s", t.elapsed().as_secs_f64());
    eprintln!("lifecycle suite: {:.1} s", started.elapsed().as_secs_f64());
    Ok(rows(spec, &embedder.info().id, &merge, &off))
}

/// Writes the stream of `spec` into a fresh namespace with duplicates
/// `mode`, then measures the probes (and, merging, consolidates).
fn pass(
    spec: Spec,
    mode: DuplicateMode,
    tmp: &std::path::Path,
    embedder: &Arc<dyn Embedder>,
) -> Result<Pass> {
    let dir = tempfile::Builder::new()
        .prefix("mnemo-bench-lifecycle-")
        .tempdir_in(tmp)
        .with_context(|| format!("creating a temporary directory in {}", tmp.display()))?;
    let (options, budget) = budgeted_options(spec.writes, Arc::clone(embedder));
    let dimension = options.embedder.info().dimension;
    let options = options.duplicates(Duplicates {
        mode,
        ..Duplicates::default()
    });
    let mnemo = Mnemo::open_with(dir.path(), options)?;
    let ns = mnemo.namespace("assistant")?;
    let mut sim = Sim::new(spec);
    let mut out = Pass {
        budget,
        dimension,
        ..Pass::default()
    };
    // The fact each stored memory states, and each preference's versions
    // (facts, oldest first).
    let mut fact_of: HashMap<u64, u64> = HashMap::new();
    // The newest memory stating each fact (the probes report its tier).
    let mut newest_of: HashMap<u64, u64> = HashMap::new();
    let mut versions: HashMap<(u32, u8), Vec<u64>> = HashMap::new();
    let every = (sim.spec().writes / SAMPLES).max(1);
    let mut next_sample = every;
    loop {
        let (batch, truths): (Vec<_>, Vec<_>) = sim.by_ref().take(BATCH).map(|w| w.split()).unzip();
        if batch.is_empty() {
            break;
        }
        let t = Instant::now();
        let done = ns.remember_batch(batch)?;
        out.write_time += t.elapsed();
        out.writes += done.len();
        for (r, truth) in done.iter().zip(&truths) {
            *out.outcomes
                .entry((truth.category, truth.label, r.outcome))
                .or_default() += 1;
            match r.outcome {
                Outcome::Added => {
                    fact_of.insert(r.id.0, truth.fact);
                    newest_of.insert(truth.fact, r.id.0);
                }
                Outcome::Merged => {
                    if fact_of.get(&r.id.0) != Some(&truth.fact) {
                        *out.wrong.entry(truth.category).or_default() += 1;
                    }
                }
                Outcome::Updated | Outcome::Unchanged => {}
            }
            if let Some(slot) = truth.slot
                && truth.label != Label::Repeat
            {
                versions
                    .entry((slot.user, slot.preference))
                    .or_default()
                    .push(truth.fact);
            }
        }
        if out.writes >= next_sample {
            out.sample(&ns)?;
            next_sample += every;
        }
    }
    let t = Instant::now();
    ns.flush_index();
    out.flush_time = t.elapsed();
    out.sample(&ns)?;
    let stats = ns.stats();
    out.memories = stats.memories;
    out.log_bytes = stats.log_bytes;

    let mut probes: Vec<((u32, u8), Vec<u64>)> = versions
        .into_iter()
        .filter(|(_, facts)| facts.len() > 1)
        .collect();
    probes.sort_unstable_by_key(|(slot, _)| *slot);
    let facts = Facts { fact_of, newest_of };
    let settings = settings();
    out.probes = settings
        .iter()
        .map(|s| probe(&ns, &sim, &probes, &facts, &s.options))
        .collect::<Result<_>>()?;
    if mode == DuplicateMode::Merge {
        let c = ns.consolidate(&ConsolidateOptions::default())?;
        out.consolidated = Some((
            c.considered,
            c.planned.len(),
            c.created.len(),
            c.deferred,
            c.took,
        ));
        ns.flush_index();
        out.probes_after = settings
            .iter()
            .map(|s| probe(&ns, &sim, &probes, &facts, &s.options))
            .collect::<Result<_>>()?;
    }
    mnemo.close()?;
    Ok(out)
}

/// What the stored memories state, as the generator labelled their writes.
struct Facts {
    /// The fact each memory states (by memory id).
    fact_of: HashMap<u64, u64>,
    /// The newest memory added for each fact.
    newest_of: HashMap<u64, u64>,
}

/// Asks every probe with k = 1 and k = 5 under `options`.
fn probe(
    ns: &Namespace,
    sim: &Sim,
    probes: &[((u32, u8), Vec<u64>)],
    known: &Facts,
    options: &RecallOptions,
) -> Result<ProbeScore> {
    let mut score = ProbeScore::default();
    for ((user, preference), facts) in probes {
        let Some(current) = facts.last() else {
            continue;
        };
        let tier = known
            .newest_of
            .get(current)
            .and_then(|id| ns.lifecycle(mnemo::MemoryId(*id)))
            .map_or("none", |info| info.tier.as_str());
        let question = sim.question(*user, *preference);
        let fact = |hit: &mnemo::RecallHit| known.fact_of.get(&hit.memory.id.0).copied();
        let t = Instant::now();
        let one = ns.recall_with(
            &question,
            &RecallOptions {
                k: 1,
                ..options.clone()
            },
        )?;
        let five = ns.recall_with(
            &question,
            &RecallOptions {
                k: 5,
                ..options.clone()
            },
        )?;
        score.recall_time += t.elapsed();
        score.probes += 1;
        let by_tier = score.by_tier.entry(tier).or_default();
        by_tier.0 += 1;
        if one.hits.first().and_then(fact) == Some(*current) {
            score.first_k1 += 1;
            by_tier.1 += 1;
        } else {
            *score
                .misses
                .entry(PREFERENCES[usize::from(*preference)].name)
                .or_default() += 1;
        }
        let stated: Vec<u64> = five.hits.iter().filter_map(fact).collect();
        if stated.iter().find(|f| facts.contains(f)) == Some(current) {
            score.first_k5 += 1;
        }
        if stated.contains(current) {
            score.in_top5 += 1;
        }
    }
    Ok(score)
}

/// The report's rows: the merge pass's figures, the off pass as the peer.
fn rows(spec: Spec, embedder: &str, merge: &Pass, off: &Pass) -> Vec<BenchResult> {
    let common = |r: BenchResult| {
        r.param("writes", spec.writes)
            .param("users", spec.users)
            .param("days", lifecycle_sim::DAYS)
            .param("seed", format!("{:#x}", spec.seed))
    };
    let writes = merge.writes.max(1) as f64;
    let repeats = merge.count(|_, l, _| l == Label::Repeat);
    let changed = merge.count(|_, l, _| l == Label::Changed);
    let merged = merge.count(|_, _, o| o == Outcome::Merged);
    let repeats_merged = merge.count(|_, l, o| l == Label::Repeat && o == Outcome::Merged);
    let absorbed = |p: &Pass| {
        p.count(|_, l, o| l == Label::Repeat && matches!(o, Outcome::Merged | Outcome::Unchanged))
    };
    let false_merges = merge.count(|_, l, o| l == Label::Changed && o == Outcome::Merged);
    let wrong: usize = merge.wrong.values().sum();
    let by_category = |p: &Pass, label: Label| -> Value {
        [
            Category::Preference,
            Category::Fact,
            Category::Note,
            Category::Tool,
        ]
        .iter()
        .map(|c| {
            let n = p.count(|cc, l, o| cc == *c && l == label && o == Outcome::Merged);
            let of = p.count(|cc, l, _| cc == *c && l == label);
            (c.tag().to_owned(), json!({"merged": n, "of": of}))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
    };
    let mut out = vec![
        common(
            BenchResult::new(
                "lifecycle_writes_per_s",
                "writes/s",
                merge.writes_per_s(),
                Better::Higher,
            )
            .peer(OFF_PEER, off.writes_per_s())
            .param("batch", BATCH)
            .param(
                "embedder",
                format!(
                    "{embedder} ({}-d): Options::default() except embedder and duplicates",
                    merge.dimension
                ),
            )
            .param("sync", "Always (the default), on-disk namespace in --tmp-dir")
            .param("duplicates", "merge: vector_similarity 0.9, text_similarity 0.8 (defaults)")
            .param("counted", "time inside remember_batch; generating the stream is not counted")
            .param("flush_index_s", merge.flush_time.as_secs_f64())
            .param("flush_index_s_off", off.flush_time.as_secs_f64()),
        ),
        common(
            BenchResult::new(
                "lifecycle_memories_stored",
                "memories",
                merge.memories as f64,
                Better::Lower,
            )
            .peer(OFF_PEER, off.memories as f64)
            .param("log_bytes", merge.log_bytes)
            .param("log_bytes_off", off.log_bytes),
        ),
        common(
            BenchResult::new(
                "lifecycle_merged_fraction",
                "fraction",
                merged as f64 / writes,
                Better::Higher,
            )
            .peer(
                "true repeats in the stream / writes (the most that may merge)",
                repeats as f64 / writes,
            )
            .param("merged", merged)
            .param("repeats", repeats)
            .param(
                "unchanged_identical_text",
                merge.count(|_, _, o| o == Outcome::Unchanged),
            ),
        ),
        common(
            BenchResult::new(
                "lifecycle_repeats_merged",
                "fraction",
                repeats_merged as f64 / repeats.max(1) as f64,
                Better::Higher,
            )
            .param("repeats", repeats)
            .param("merged", repeats_merged)
            .param("by_category", by_category(merge, Label::Repeat)),
        ),
        common(
            BenchResult::new(
                "lifecycle_repeats_absorbed",
                "fraction",
                absorbed(merge) as f64 / repeats.max(1) as f64,
                Better::Higher,
            )
            .peer(
                "duplicates off: identical texts stored once (exact dedup), same run",
                absorbed(off) as f64 / repeats.max(1) as f64,
            )
            .param("definition", "true repeats merged or found identical (no new memory) / true repeats"),
        ),
        common(
            BenchResult::new(
                "lifecycle_false_merges",
                "writes",
                false_merges as f64,
                Better::Lower,
            )
            .param("definition", "changed preference values merged into an existing memory (the change is lost)")
            .param("changed_writes", changed)
            .param("fraction_of_changed", false_merges as f64 / changed.max(1) as f64),
        ),
        common(
            BenchResult::new(
                "lifecycle_wrong_merges",
                "writes",
                wrong as f64,
                Better::Lower,
            )
            .param("definition", "merges into a memory that states something else (another value, note, tool result or user)")
            .param("fraction_of_merges", wrong as f64 / merged.max(1) as f64)
            .param("new_information_merged", by_category(merge, Label::New))
            .param("changed_merged", by_category(merge, Label::Changed)),
        ),
    ];
    let budget = merge.budget;
    let budget_param = format!(
        "max_resident_bytes {budget} B ({:.1} MiB) in both passes: 256 MiB at 1,000,000 writes, scaled with the size",
        budget as f64 / (1024.0 * 1024.0)
    );
    let samples_param = |p: &Pass| -> Value {
        p.samples
            .iter()
            .map(|r| json!([r.writes, r.budgeted(), r.before_rebalance]))
            .collect::<Vec<_>>()
            .into()
    };
    for (name, pick) in [
        (
            "lifecycle_resident_bytes_max",
            Pass::max_budgeted as fn(&Pass) -> Resident,
        ),
        ("lifecycle_resident_bytes_final", Pass::final_resident),
    ] {
        let ours = pick(merge);
        let theirs = pick(off);
        let mut row = common(
            BenchResult::new(name, "B", ours.budgeted() as f64, Better::Lower)
                .target(budget as f64)
                .peer(OFF_PEER, theirs.budgeted() as f64)
                .param("budget", budget_param.clone())
                .param(
                    "what",
                    "the vectors kept in memory, what max_resident_bytes bounds (TierReport::resident_bytes: the vector index's heap, tombstones included, and the warm codes), sampled every 5% of the stream and after flush_index, each time right after the suite called Namespace::rebalance_tiers",
                )
                .param("sample", ours.json())
                .param("sample_off", theirs.json()),
        );
        if name.ends_with("max") {
            row = row
                .param(
                    "max_before_rebalance",
                    merge
                        .samples
                        .iter()
                        .map(|r| r.before_rebalance)
                        .max()
                        .unwrap_or(0),
                )
                .param(
                    "max_before_rebalance_off",
                    off.samples
                        .iter()
                        .map(|r| r.before_rebalance)
                        .max()
                        .unwrap_or(0),
                )
                .param("samples_writes_bytes_before", samples_param(merge))
                .param("samples_writes_bytes_before_off", samples_param(off));
        }
        out.push(row);
    }
    let held = |p: &Pass| ProbeScore::fraction(p.within(p.budget), p.samples.len());
    let worst = |p: &Pass| {
        p.samples
            .iter()
            .map(|r| r.budgeted() as f64 / p.budget.max(1) as f64)
            .fold(0.0, f64::max)
    };
    out.push(common(
        BenchResult::new(
            "lifecycle_resident_within_budget",
            "fraction",
            held(merge),
            Better::Higher,
        )
        .target(1.0)
        .peer(OFF_PEER, held(off))
        .param("definition", "samples (after each rebalance) with resident bytes <= the budget / samples; 1 = the bound held at every sample")
        .param("held_at_every_sample", merge.within(budget) == merge.samples.len())
        .param("held_at_every_sample_off", off.within(off.budget) == off.samples.len())
        .param("samples", merge.samples.len())
        .param("max_resident_over_budget", worst(merge))
        .param("max_resident_over_budget_off", worst(off))
        .param("budget", budget_param.clone()),
    ));
    for (name, count, what) in [
        (
            "lifecycle_memories_hot",
            (|r: &Resident| r.hot_memories) as fn(&Resident) -> usize,
            "memories whose f32 vector is in the HNSW graph (or its exact buffer) at the end",
        ),
        (
            "lifecycle_memories_warm",
            |r: &Resident| r.warm_memories,
            "memories whose vector is kept as SQ8 codes at the end",
        ),
        (
            "lifecycle_memories_cold",
            |r: &Resident| r.cold_memories,
            "memories whose vector is only in the log at the end (found by keywords, filters and spreading; by vector only with RecallOptions::scan_cold)",
        ),
    ] {
        let ours = count(&merge.final_resident());
        let theirs = count(&off.final_resident());
        out.push(common(
            BenchResult::new(name, "memories", ours as f64, Better::Higher)
                .peer(OFF_PEER, theirs as f64)
                .param("what", what)
                .param("of", merge.memories)
                .param("of_off", off.memories)
                .param("fraction", ours as f64 / merge.memories.max(1) as f64)
                .param("fraction_off", theirs as f64 / off.memories.max(1) as f64)
                .param("budget", budget_param.clone()),
        ));
    }
    let mean_ms = |p: &Pass| p.rebalance_time.as_secs_f64() * 1e3 / p.rebalances.max(1) as f64;
    out.push(common(
        BenchResult::new(
            "lifecycle_rebalance_ms",
            "ms",
            merge.rebalance_time.as_secs_f64() * 1e3,
            Better::Lower,
        )
        .peer(OFF_PEER, off.rebalance_time.as_secs_f64() * 1e3)
        .param("definition", "total time in the suite's Namespace::rebalance_tiers calls (one per sample), not counted in writes/s")
        .param("calls", merge.rebalances)
        .param("mean_ms", mean_ms(merge))
        .param("mean_ms_off", mean_ms(off))
        .param("moved", merge.moved)
        .param("moved_off", off.moved)
        .param(
            "not_counted_here",
            "the maintenance thread's own rebalances (once a second while its estimate is past the budget, every minute otherwise) hold the writer lock: writes wait for them, and that wait is in writes/s",
        ),
    ));
    let all_hot = |p: &Pass| p.memories as u64 * mnemo::lifecycle::min_budget(p.dimension);
    for (name, pick) in [
        (
            "lifecycle_index_bytes_max",
            Pass::max_resident as fn(&Pass) -> Resident,
        ),
        ("lifecycle_index_bytes_final", Pass::final_resident),
    ] {
        let ours = pick(merge);
        let theirs = pick(off);
        let mut row = common(
            BenchResult::new(name, "B", ours.total() as f64, Better::Lower)
                .peer(OFF_PEER, theirs.total() as f64)
                .param("sample", ours.json())
                .param("sample_off", theirs.json())
                .param(
                    "what",
                    "Namespace::stats(): vector_index_bytes + warm_bytes + text_index_bytes + graph_bytes, every 5% of the stream and after flush_index (after the suite's rebalance)",
                )
                .param("budget", format!("{budget_param}: the vectors are under it, the BM25 index and the graph are not"))
                .param(
                    "unbudgeted_vectors_estimate",
                    "not measured in this run (both passes are under the budget); every final memory hot would take about memories x (4 x dimension + 200) B of vectors",
                )
                .param("all_hot_estimate_bytes", all_hot(merge))
                .param("all_hot_estimate_bytes_off", all_hot(off)),
        );
        if name.ends_with("max") {
            row = row.param(
                "samples",
                merge
                    .samples
                    .iter()
                    .map(Resident::total)
                    .collect::<Vec<_>>(),
            );
        }
        out.push(row);
    }
    let settings = settings();
    for (i, s) in settings.iter().enumerate() {
        let (Some(ours), Some(theirs)) = (merge.probes.get(i), off.probes.get(i)) else {
            continue;
        };
        for (k, value, peer) in [
            (
                1,
                ProbeScore::fraction(ours.first_k1, ours.probes),
                ProbeScore::fraction(theirs.first_k1, theirs.probes),
            ),
            (
                5,
                ProbeScore::fraction(ours.first_k5, ours.probes),
                ProbeScore::fraction(theirs.first_k5, theirs.probes),
            ),
        ] {
            out.push(common(
                BenchResult::new(
                    &format!("lifecycle_newest_first_k{k}_{}", s.name),
                    "fraction",
                    value,
                    Better::Higher,
                )
                .target(NEWEST_FIRST_TARGET)
                .peer(OFF_PEER, peer)
                .param("recall", s.what)
                .param("probes", ours.probes)
                .param("scores", ours.json())
                .param("scores_off", theirs.json())
                .param(
                    "definition",
                    if k == 1 {
                        "the first hit states the preference's current value"
                    } else {
                        "among the top 5, the first hit stating a value of the preference states the current one"
                    },
                )
                .param("target_source", "the lifecycle issue (item 6): newest version of a changed preference first, >= 0.95"),
            ));
        }
    }
    if let Some((considered, groups, created, deferred, took)) = merge.consolidated {
        let after: serde_json::Map<String, Value> = settings
            .iter()
            .zip(&merge.probes_after)
            .map(|(s, p)| (s.name.to_owned(), p.json()))
            .collect();
        out.push(common(
            BenchResult::new(
                "lifecycle_consolidate_ms",
                "ms",
                took.as_secs_f64() * 1e3,
                Better::Lower,
            )
            .param("options", "ConsolidateOptions::default(): the 4,096 most recent episodic memories, similarity 0.55")
            .param("considered", considered)
            .param("groups", groups)
            .param("created", created)
            .param("deferred", deferred)
            .param("probes_after", Value::Object(after)),
        ));
    }
    out
}
