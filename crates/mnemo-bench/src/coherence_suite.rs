//! The `coherence` suite: facts and conflict detection ([`mnemo::facts`]).
//!
//! 1. **Assert at scale**: 1,000,000 facts over 100,000 keys
//!    `(context, subject, predicate)` folded into a [`FactStore`], each one
//!    checked for contradictions first (the writer's check and the fold,
//!    without the log). Keys are drawn at random; four objects per key;
//!    95% of the facts start at an increasing time (most become knowledge
//!    updates that close the previous fact), 5% have no start (they
//!    conflict with every believed fact of the key they contradict). A
//!    stress run with 20% undated facts (about 0.75 conflicts per assert)
//!    is reported in the params. Peer (a floor, not a rival):
//!    inserting the same triples into a plain `HashMap` keyed by the triple,
//!    with no check at all.
//! 2. **Conflict detection in one context**: n assertions (n = 100, 1,000,
//!    10,000) in one context, about four per key, three objects, all
//!    overlapping. mnemo finds conflicts at write time by key, so detecting
//!    all of them costs the sum of its per-assertion checks: measured as
//!    (T₃₃ − T₁) / 32, where T_r is the median time to fold the n
//!    assertions checking each r times (a check changes nothing). Peer: the edge-net coherence engine's approach, an
//!    O(n²) pass comparing every pair of assertions of the context with the
//!    same rule, implemented here over the same data.
//! 3. **Through the namespace**: `Namespace::assert_fact` on an in-memory
//!    log (encode, append, Merkle leaf, check, fold), for scale.
//!
//! `--quick` shrinks every size (20,000 facts, n up to 1,000).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use mnemo::event::{AssertFact, OpenConflict};
use mnemo::facts::{Decision, DefaultVerifier, FactStore, Proposal};
use mnemo::{ConflictId, Mnemo, NewFact, Timestamp, Validity};

use crate::SuiteOptions;
use crate::harness::{self, BenchResult, Better, Reps};
use crate::random::{Draw, SplitMix64};

/// Confidence threshold of the runs (the engine's default).
const THRESHOLD: f32 = 0.5;

/// One generated assertion.
#[derive(Clone)]
struct Triple {
    context: String,
    subject: String,
    predicate: String,
    object: String,
    valid: Validity,
}

impl Triple {
    fn proposal(&self) -> Proposal<'_> {
        Proposal {
            subject: &self.subject,
            predicate: &self.predicate,
            object: &self.object,
            context: &self.context,
            confidence: 0.9,
            valid: self.valid,
        }
    }
}

const PREDICATES: [&str; 4] = ["lives_in", "employer", "role", "age"];

/// `n` assertions over `keys` keys (see the module docs).
fn workload(n: usize, keys: usize, seed: u64, dated: f64) -> Vec<Triple> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let k = rng.index(keys);
            let from = ((rng.next_u64() % 1000) as f64 / 1000.0) < dated;
            Triple {
                context: format!("ctx{}", k % 16),
                subject: format!("user{}", k / 4),
                predicate: PREDICATES[k % 4].to_owned(),
                object: format!("value{}", rng.index(4)),
                valid: Validity {
                    from: from.then_some(Timestamp(i as i64)),
                    until: None,
                },
            }
        })
        .collect()
}

/// The assert event of `t` with the writer's decisions.
fn assert_event(store: &FactStore, t: Triple) -> AssertFact {
    let decision = store.check(&t.proposal(), &DefaultVerifier, THRESHOLD);
    let first = store.next_conflict_id().0;
    AssertFact {
        id: store.next_fact_id(),
        subject: t.subject,
        predicate: t.predicate,
        object: t.object,
        context: t.context,
        confidence: 0.9,
        valid: t.valid,
        evidence: Vec::new(),
        supersedes: decision.supersedes,
        conflicts: decision
            .conflicts
            .into_iter()
            .enumerate()
            .map(|(i, (with, reason))| OpenConflict {
                id: ConflictId(first + i as u64),
                with,
                reason,
            })
            .collect(),
    }
}

/// Checks and folds every triple into a fresh store.
fn fold_all(triples: Vec<Triple>) -> FactStore {
    fold_checking(triples, 0)
}

/// [`fold_all`], with `extra` more checks of each triple before it is
/// folded (the checks change nothing, so their cost is
/// `(T(extra) − T(0)) / extra`).
fn fold_checking(triples: Vec<Triple>, extra: usize) -> FactStore {
    let mut store = FactStore::new();
    let mut decision = Decision::default();
    for (seq, t) in triples.into_iter().enumerate() {
        for _ in 0..extra {
            store.check_into(&t.proposal(), &DefaultVerifier, THRESHOLD, &mut decision);
            std::hint::black_box(&decision);
        }
        let event = assert_event(&store, t);
        store.apply_assert(seq as u64, Timestamp(seq as i64), &event);
    }
    store
}

/// Extra checks per assertion of the detection measurement.
const EXTRA_CHECKS: usize = 32;

/// Sizes of one run.
struct Sizes {
    reps: Reps,
    facts: usize,
    keys: usize,
    contexts: Vec<usize>,
    namespace_facts: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                reps: Reps { warmup: 0, runs: 1 },
                facts: 20_000,
                keys: 2_000,
                contexts: vec![100, 1_000],
                namespace_facts: 2_000,
            }
        } else {
            Self {
                reps: Reps { warmup: 1, runs: 3 },
                facts: 1_000_000,
                keys: 100_000,
                contexts: vec![100, 1_000, 10_000],
                namespace_facts: 100_000,
            }
        }
    }
}

/// Runs the suite (see the module docs).
pub fn run(opts: &SuiteOptions) -> Result<Vec<BenchResult>> {
    let sizes = Sizes::new(opts.quick);
    let skip = |name: &str| opts.only.as_deref().is_some_and(|o| !name.contains(o));
    let mut results = Vec::new();
    if !skip("assert") {
        results.push(assert_at_scale(&sizes).context("coherence: assert")?);
    }
    if !skip("detect") {
        for &n in &sizes.contexts {
            results.push(detect_in_context(n, &sizes).context("coherence: detect")?);
        }
    }
    if !skip("namespace") {
        results.push(namespace_assert(&sizes).context("coherence: namespace")?);
    }
    Ok(results)
}

fn assert_at_scale(sizes: &Sizes) -> Result<BenchResult> {
    let triples = workload(sizes.facts, sizes.keys, 7, 0.95);
    let mut stats = (0, 0, 0);
    let ours = harness::median_duration(sizes.reps, || {
        let input = triples.clone();
        let (store, took) = harness::timed(|| fold_all(input));
        stats = (store.len(), store.conflict_count(), store.open_conflicts());
        Ok(took)
    })?;
    ensure!(stats.0 == sizes.facts, "every fact was folded");
    let superseded = {
        let store = fold_all(triples.iter().take(sizes.keys * 2).cloned().collect());
        store
            .query(&mnemo::FactQuery::new().include_inactive())
            .iter()
            .filter(|f| f.superseded_by.is_some())
            .count()
    };
    let floor = harness::median_duration(sizes.reps, || {
        let input = triples.clone();
        let (map, took) = harness::timed(|| {
            let mut map: HashMap<(String, String, String), Vec<String>> = HashMap::new();
            for t in input {
                map.entry((t.context, t.subject, t.predicate))
                    .or_default()
                    .push(t.object);
            }
            map
        });
        drop(map);
        Ok(took)
    })?;
    // The stress case: a fifth of the facts undated, so each contradicts
    // every believed fact of its key (one run).
    let stress = workload(sizes.facts, sizes.keys, 7, 0.8);
    let (stressed, stress_took) = harness::timed(|| fold_all(stress));
    let stress_conflicts = stressed.conflict_count();
    drop(stressed);
    let n = sizes.facts as u64;
    Ok(BenchResult::new(
        "assert_with_conflict_check",
        "µs/assert",
        harness::ns_per(ours, n) / 1000.0,
        Better::Lower,
    )
    .target(2.0)
    .peer(
        "plain HashMap insert of the triple, no check (floor)",
        harness::ns_per(floor, n) / 1000.0,
    )
    .param("facts", sizes.facts)
    .param("keys", sizes.keys)
    .param("conflicts", stats.1)
    .param("open_conflicts", stats.2)
    .param("superseded_in_first_2x_keys", superseded)
    .param("what", "FactStore::check + apply_assert, no log")
    .param("undated_fraction", 0.05)
    .param(
        "stress_20pct_undated_us_per_assert",
        harness::ns_per(stress_took, n) / 1000.0,
    )
    .param("stress_conflicts", stress_conflicts))
}

/// The edge-net pass: every pair of assertions of the context compared.
fn pairwise_conflicts(triples: &[Triple]) -> usize {
    let mut found = 0;
    for (i, a) in triples.iter().enumerate() {
        for b in &triples[i + 1..] {
            if a.subject == b.subject
                && a.predicate == b.predicate
                && a.object != b.object
                && mnemo::facts::overlaps(&a.valid, &b.valid)
            {
                found += 1;
            }
        }
    }
    found
}

fn detect_in_context(n: usize, sizes: &Sizes) -> Result<BenchResult> {
    // One context: every key in "ctx0".
    let triples: Vec<Triple> = workload(n, (n / 4).max(1), 11 + n as u64, 0.0)
        .into_iter()
        .map(|mut t| {
            t.context = "ctx0".to_owned();
            t
        })
        .collect();
    // Enough runs that the median of a 100-assertion pass is stable.
    let runs = (200_000 / n).clamp(5, 2_000);
    let reps = Reps {
        warmup: sizes.reps.warmup.max(1),
        runs: if sizes.reps.runs == 1 { 3 } else { runs },
    };
    let mut conflicts = 0;
    let once = harness::median_duration(reps, || {
        let input = triples.clone();
        let (store, took) = harness::timed(|| fold_all(input));
        conflicts = store.conflict_count();
        Ok(took)
    })?;
    let repeated = harness::median_duration(reps, || {
        let input = triples.clone();
        let (store, took) = harness::timed(|| fold_checking(input, EXTRA_CHECKS));
        std::hint::black_box(store);
        Ok(took)
    })?;
    let mut pairwise = 0;
    let peer = harness::median_duration(reps, || {
        let (found, took) = harness::timed(|| pairwise_conflicts(&triples));
        pairwise = found;
        Ok(took)
    })?;
    // The pairwise pass counts every contradicting pair; mnemo's check
    // opens the same pairs (no validity starts here, so no updates).
    ensure!(
        pairwise == conflicts,
        "mnemo found {conflicts} conflicts, the pairwise pass {pairwise}"
    );
    let detect = repeated.saturating_sub(once) / EXTRA_CHECKS as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut result = BenchResult::new(
        &format!("detect_conflicts_{n}_in_context"),
        "µs",
        us(detect),
        Better::Lower,
    )
    .peer(
        "edge-net O(n²) pairwise pass (same data, same rule)",
        us(peer),
    )
    .param("assertions", n)
    .param("conflicts", conflicts)
    .param("check_and_fold_us", us(once))
    .param("checks_per_assertion_in_the_repeat_run", EXTRA_CHECKS + 1)
    .param("runs", reps.runs);
    if n == 100 {
        result = result.target(10.0);
    }
    Ok(result)
}

fn namespace_assert(sizes: &Sizes) -> Result<BenchResult> {
    let triples = workload(sizes.namespace_facts, sizes.namespace_facts / 10, 3, 0.8);
    let m = Mnemo::in_memory();
    let ns = m.namespace("coherence")?;
    let start = Instant::now();
    for t in triples {
        let mut fact = NewFact::new(t.subject, t.predicate, t.object)
            .context(t.context)
            .confidence(0.9);
        fact.valid = t.valid;
        ns.assert_fact(fact)?;
    }
    let took = start.elapsed();
    let n = sizes.namespace_facts as u64;
    Ok(BenchResult::new(
        "assert_fact_namespace_in_memory",
        "µs/assert",
        harness::ns_per(took, n) / 1000.0,
        Better::Lower,
    )
    .param("facts", sizes.namespace_facts)
    .param(
        "what",
        "Namespace::assert_fact on an in-memory log: validate, check, encode, append with Merkle leaf, fold",
    )
    .param("open_conflicts", ns.stats().open_conflicts))
}
