//! Facts, conflicts, resolution, quarantine and the two clocks, through
//! the namespace API; a model-based test against a brute-force O(n²)
//! reference; and what bad input does.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mnemo::facts::{MutuallyExclusive, NumericTolerance, Verifiers};
use mnemo::{
    Cardinality, Clock, ConflictId, ConflictState, FactId, FactQuery, FactStatus, Mnemo, Namespace,
    NewFact, NewMemory, Options, Quarantine, RecallOptions, Timestamp,
};
use proptest::prelude::*;

const YEAR: i64 = 365 * 86_400 * 1_000_000_000;

fn year(y: i64) -> Timestamp {
    Timestamp((y - 1970) * YEAR)
}

fn ns() -> (Mnemo, Namespace) {
    let m = Mnemo::in_memory();
    let ns = m.namespace("facts").unwrap();
    (m, ns)
}

fn events(ns: &Namespace) -> u64 {
    ns.stats().events
}

#[test]
fn a_later_fact_supersedes_and_the_timeline_is_proven() {
    let (_m, ns) = ns();
    let said = ns
        .remember(NewMemory::new("Alice: I moved to Paris in 2020"))
        .unwrap();
    let paris = ns
        .assert_fact(
            NewFact::new("alice", "lives_in", "Paris")
                .valid_from(year(2020))
                .evidence([said]),
        )
        .unwrap();
    assert!(paris.superseded.is_empty() && paris.conflicts.is_empty());
    let london = ns
        .assert_fact(NewFact::new("alice", "lives_in", "London").valid_from(year(2023)))
        .unwrap();
    assert_eq!(london.superseded, vec![paris.fact], "a knowledge update");
    assert!(london.conflicts.is_empty(), "not a conflict");
    assert!(ns.conflicts(false).is_empty());

    let now: Vec<String> = ns.current("alice").into_iter().map(|f| f.object).collect();
    assert_eq!(now, ["London"]);
    let then = ns.as_of("alice", year(2021), Clock::Valid);
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].object, "Paris");
    assert_eq!(
        then[0].valid.until,
        Some(year(2023)),
        "its window was closed"
    );
    assert_eq!(then[0].superseded_by, Some(london.fact));

    let history = ns.history("alice", "lives_in").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].fact.evidence, vec![said]);
    assert_eq!(
        history[0].fact.history.len(),
        2,
        "asserted, then superseded"
    );
    let (root, _) = ns.root().unwrap();
    for record in &history {
        assert_eq!(record.proof.seq, record.fact.seq);
        record.proof.verify(Some(&root)).unwrap();
    }
}

#[test]
fn overlapping_contradictions_open_a_conflict_with_a_full_lifecycle() {
    let (_m, ns) = ns();
    let a = ns
        .assert_fact(NewFact::new("bob", "employer", "Acme").context("hr"))
        .unwrap();
    let b = ns
        .assert_fact(NewFact::new("bob", "employer", "Initech").context("hr"))
        .unwrap();
    assert_eq!(b.conflicts.len(), 1);
    let cid = b.conflicts[0];
    let conflict = ns.conflict(cid).unwrap();
    assert_eq!(conflict.facts, [a.fact, b.fact]);
    assert_eq!(conflict.state, ConflictState::Detected);
    assert_eq!(ns.stats().open_conflicts, 1);

    // Disputed facts are returned, flagged.
    let both = ns.facts(&FactQuery::new().subject("bob"));
    assert_eq!(both.len(), 2);
    assert!(
        both.iter()
            .all(|f| f.quarantine == Quarantine::Conservative)
    );
    // Another context does not see them.
    assert!(ns.facts(&FactQuery::new().context("default")).is_empty());

    // A challenge needs a witness.
    ns.challenge(b.fact, "the contract was never signed")
        .unwrap();
    assert_eq!(ns.conflict(cid).unwrap().state, ConflictState::Challenged);
    assert_eq!(
        ns.fact(b.fact).unwrap().quarantine,
        Quarantine::RequiresWitness
    );
    let admitted: Vec<FactId> = ns
        .facts(&FactQuery::new().subject("bob"))
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(admitted, vec![a.fact]);
    let witness = ns
        .remember(NewMemory::new("Bob's Initech badge photo"))
        .unwrap();
    ns.support(b.fact, &[witness], Some("badge")).unwrap();
    assert_eq!(
        ns.fact(b.fact).unwrap().quarantine,
        Quarantine::Conservative
    );
    assert!(ns.fact(b.fact).unwrap().evidence.contains(&witness));

    // Recorded times come from the log's coarse clock (1-4 ms ticks).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let before_resolution = Timestamp::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ns.resolve(cid, &[b.fact], &[a.fact], "HR records").unwrap();
    let resolved = ns.conflict(cid).unwrap();
    assert_eq!(resolved.state, ConflictState::Resolved);
    let resolution = resolved.resolution.unwrap();
    assert_eq!(resolution.deprecated, vec![a.fact]);
    assert!(!resolution.automatic);
    assert_eq!(ns.fact(a.fact).unwrap().status, FactStatus::Deprecated);
    assert_eq!(ns.fact(a.fact).unwrap().quarantine, Quarantine::Blocked);
    assert_eq!(ns.fact(b.fact).unwrap().quarantine, Quarantine::None);
    let now: Vec<String> = ns.current("bob").into_iter().map(|f| f.object).collect();
    assert_eq!(now, ["Initech"]);
    assert_eq!(ns.stats().open_conflicts, 0);

    // What the namespace believed before the resolution (recorded clock).
    let believed = ns.facts(
        &FactQuery::new()
            .subject("bob")
            .known_at(before_resolution)
            .max_quarantine(Quarantine::Blocked),
    );
    assert_eq!(believed.len(), 2, "both were believed then");
    assert!(believed.iter().all(|f| f.status == FactStatus::Believed));

    // Resolving twice, or an unknown conflict, is refused and writes nothing.
    let n = events(&ns);
    let err = ns.resolve(cid, &[b.fact], &[], "again").unwrap_err();
    assert!(err.to_string().contains("already resolved"), "{err}");
    let err = ns.resolve(ConflictId(99), &[a.fact], &[], "x").unwrap_err();
    assert!(err.to_string().contains("no conflict with id 99"), "{err}");
    assert_eq!(events(&ns), n);
}

#[test]
fn multi_valued_predicates_and_unconfident_facts_do_not_conflict() {
    let (_m, ns) = ns();
    ns.declare_predicate("speaks", Cardinality::Multi).unwrap();
    ns.assert_fact(NewFact::new("carol", "speaks", "French"))
        .unwrap();
    let b = ns
        .assert_fact(NewFact::new("carol", "speaks", "Basque"))
        .unwrap();
    assert!(b.conflicts.is_empty());
    ns.assert_fact(NewFact::new("carol", "age", "41")).unwrap();
    let rumour = ns
        .assert_fact(NewFact::new("carol", "age", "60").confidence(0.2))
        .unwrap();
    assert!(rumour.conflicts.is_empty() && rumour.superseded.is_empty());
    // Same object again: a reinforcement, not a conflict.
    let again = ns.assert_fact(NewFact::new("carol", "age", "41")).unwrap();
    assert!(again.conflicts.is_empty());
    assert_eq!(
        ns.predicates(),
        vec![("speaks".to_owned(), Cardinality::Multi)]
    );
}

#[test]
fn custom_verifiers_decide_before_the_default_rule() {
    let verifier = Verifiers(vec![
        Arc::new(NumericTolerance {
            predicates: vec!["temperature".into()],
            tolerance: 0.5,
        }),
        Arc::new(MutuallyExclusive {
            predicate: "status".into(),
            groups: vec![vec!["alive".into(), "dead".into()]],
        }),
    ]);
    let m = Mnemo::in_memory_with(Options::default().verifier(Arc::new(verifier)));
    let ns = m.namespace("v").unwrap();
    ns.declare_predicate("status", Cardinality::Multi).unwrap();
    ns.assert_fact(NewFact::new("room", "temperature", "21.0"))
        .unwrap();
    let close = ns
        .assert_fact(NewFact::new("room", "temperature", "21.4"))
        .unwrap();
    assert!(close.conflicts.is_empty(), "within the tolerance");
    let far = ns
        .assert_fact(NewFact::new("room", "temperature", "25"))
        .unwrap();
    assert_eq!(far.conflicts.len(), 2, "outside the tolerance of both");
    ns.assert_fact(NewFact::new("cat", "status", "alive"))
        .unwrap();
    let hungry = ns
        .assert_fact(NewFact::new("cat", "status", "hungry"))
        .unwrap();
    assert!(
        hungry.conflicts.is_empty(),
        "multi-valued, outside the group"
    );
    let dead = ns
        .assert_fact(NewFact::new("cat", "status", "dead"))
        .unwrap();
    assert_eq!(dead.conflicts.len(), 1, "alive and dead exclude each other");
    let reason = ns.conflict(dead.conflicts[0]).unwrap().reason;
    assert!(reason.contains("exclude"), "{reason}");
}

#[test]
fn recall_withholds_the_evidence_of_deprecated_facts() {
    let (_m, ns) = ns();
    let wrong = ns
        .remember(NewMemory::new("Dana said her favourite colour is green"))
        .unwrap();
    let right = ns
        .remember(NewMemory::new(
            "Dana corrected it: her favourite colour is blue",
        ))
        .unwrap();
    let a = ns
        .assert_fact(NewFact::new("dana", "favourite_colour", "green").evidence([wrong]))
        .unwrap();
    let b = ns
        .assert_fact(NewFact::new("dana", "favourite_colour", "blue").evidence([right]))
        .unwrap();
    let ids = |options: &RecallOptions| -> BTreeSet<u64> {
        ns.recall_with("Dana favourite colour", options)
            .unwrap()
            .hits
            .iter()
            .map(|h| h.memory.id.0)
            .collect()
    };
    let default = RecallOptions::default();
    assert!(ids(&default).contains(&wrong.0), "disputed, still recalled");
    ns.resolve(b.conflicts[0], &[b.fact], &[a.fact], "corrected")
        .unwrap();
    let recalled = ids(&default);
    assert!(!recalled.contains(&wrong.0) && recalled.contains(&right.0));
    let everything = RecallOptions {
        max_quarantine: Quarantine::Blocked,
        ..RecallOptions::default()
    };
    assert!(ids(&everything).contains(&wrong.0));
}

#[test]
fn retraction_and_explicit_quarantine() {
    let (_m, ns) = ns();
    let a = ns
        .assert_fact(NewFact::new("eve", "role", "admin"))
        .unwrap();
    let b = ns
        .assert_fact(NewFact::new("eve", "role", "guest"))
        .unwrap();
    ns.retract(b.fact, "typo").unwrap();
    let c = ns.conflict(b.conflicts[0]).unwrap();
    assert!(c.resolution.unwrap().automatic, "closed by the retraction");
    assert_eq!(ns.fact(a.fact).unwrap().quarantine, Quarantine::None);
    ns.quarantine(a.fact, Some(Quarantine::Blocked), "audit")
        .unwrap();
    assert!(ns.current("eve").is_empty());
    ns.quarantine(a.fact, None, "audit done").unwrap();
    assert_eq!(ns.current("eve").len(), 1);
    let err = ns.challenge(b.fact, "why").unwrap_err();
    assert!(err.to_string().contains("retracted"), "{err}");
}

#[test]
fn bad_facts_are_refused_and_write_nothing() {
    let (_m, ns) = ns();
    let memory = ns.remember(NewMemory::new("something")).unwrap();
    let ok = ns.assert_fact(NewFact::new("s", "p", "o")).unwrap();
    let n = events(&ns);
    let cases: Vec<(NewFact, &str)> = vec![
        (NewFact::new("", "p", "o"), "subject"),
        (NewFact::new("  ", "p", "o"), "subject"),
        (NewFact::new("s", "", "o"), "predicate"),
        (NewFact::new("s", "p", ""), "object"),
        (NewFact::new("s", "p", "o").context(""), "context"),
        (NewFact::new("s", "p", "o").confidence(1.5), "confidence"),
        (
            NewFact::new("s", "p", "o").confidence(f32::NAN),
            "confidence",
        ),
        (NewFact::new("s", "p", "o").confidence(-0.1), "confidence"),
        (
            NewFact::new("s", "p", "o")
                .valid_from(year(2024))
                .valid_until(year(2020)),
            "validity",
        ),
        (
            NewFact::new("s", "p", "o")
                .valid_from(year(2024))
                .valid_until(year(2024)),
            "validity",
        ),
        (
            NewFact::new("s", "p", "o").evidence([mnemo::MemoryId(999)]),
            "999",
        ),
        (NewFact::new("s".repeat(2000), "p", "o"), "subject"),
    ];
    for (fact, word) in cases {
        let err = ns.assert_fact(fact.clone()).unwrap_err().to_string();
        assert!(err.contains(word), "{fact:?}: {err}");
    }
    assert!(ns.challenge(FactId(42), "x").is_err());
    assert!(ns.challenge(ok.fact, " ").is_err());
    assert!(ns.support(ok.fact, &[], None).is_err());
    assert!(ns.support(ok.fact, &[mnemo::MemoryId(77)], None).is_err());
    assert!(ns.retract(FactId(42), "x").is_err());
    assert!(ns.quarantine(FactId(42), None, "x").is_err());
    assert!(ns.resolve(ConflictId(1), &[], &[], "x").is_err());
    assert!(ns.declare_predicate("", Cardinality::Multi).is_err());
    let other = ns.assert_fact(NewFact::new("s", "p", "o2")).unwrap();
    let n2 = events(&ns);
    let cid = other.conflicts[0];
    let err = ns.resolve(cid, &[FactId(999)], &[], "x").unwrap_err();
    assert!(err.to_string().contains("not part of conflict"), "{err}");
    let err = ns.resolve(cid, &[ok.fact], &[ok.fact], "x").unwrap_err();
    assert!(err.to_string().contains("both"), "{err}");
    assert_eq!(events(&ns), n2);
    assert_eq!(n2, n + 1);
    assert!(ns.get(memory).is_some());
}

fn image(ns: &Namespace) -> (Vec<mnemo::Fact>, Vec<mnemo::Conflict>) {
    (
        ns.facts(&FactQuery::new().include_inactive()),
        ns.conflicts(false),
    )
}

#[test]
fn facts_survive_reopening_from_a_snapshot_and_from_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let m = Mnemo::open(dir.path()).unwrap();
        let ns = m.namespace("f").unwrap();
        let said = ns.remember(NewMemory::new("Frank likes tea")).unwrap();
        ns.declare_predicate("likes", Cardinality::Multi).unwrap();
        ns.assert_fact(NewFact::new("frank", "likes", "tea").evidence([said]))
            .unwrap();
        let a = ns
            .assert_fact(NewFact::new("frank", "city", "Oslo").valid_from(year(2010)))
            .unwrap();
        ns.assert_fact(NewFact::new("frank", "city", "Bergen").valid_from(year(2015)))
            .unwrap();
        let c = ns
            .assert_fact(NewFact::new("frank", "city", "Tromsø").valid_from(year(2012)))
            .unwrap();
        assert_eq!(c.superseded, vec![a.fact]);
        assert_eq!(c.conflicts.len(), 1, "Bergen from 2015 started later");
        ns.challenge(c.fact, "unsure").unwrap();
        let image = image(&ns);
        m.close().unwrap();
        image
    };
    // From the snapshot written on close.
    {
        let m = Mnemo::open(dir.path()).unwrap();
        let ns = m.namespace("f").unwrap();
        assert!(ns.open_report().snapshot_seq.is_some());
        assert_eq!(image(&ns), expected);
        m.close().unwrap();
    }
    // From a full replay.
    std::fs::remove_dir_all(dir.path().join("f").join("snapshots")).unwrap();
    let m = Mnemo::open(dir.path()).unwrap();
    let ns = m.namespace("f").unwrap();
    assert_eq!(ns.open_report().snapshot_seq, None);
    assert_eq!(image(&ns), expected);
    assert_eq!(
        ns.predicates(),
        vec![("likes".to_owned(), Cardinality::Multi)]
    );
}

// ----- the model-based test -----

/// One fact of the reference model.
#[derive(Debug, Clone)]
struct RefFact {
    id: u64,
    context: u8,
    subject: u8,
    predicate: u8,
    object: u8,
    confidence: f32,
    from: Option<i64>,
    until: Option<i64>,
    believed: bool,
}

/// The brute-force reference: every new fact is compared with every fact
/// asserted before it (O(n²) over the stream).
#[derive(Debug, Default)]
struct Reference {
    facts: Vec<RefFact>,
    /// (older, newer) → open.
    conflicts: BTreeMap<(u64, u64), bool>,
}

const MULTI: u8 = 2;
const THRESHOLD: f32 = 0.5;

fn overlap(a: &RefFact, b: &RefFact) -> bool {
    let before = |from: Option<i64>, until: Option<i64>| match (from, until) {
        (Some(f), Some(u)) => f < u,
        _ => true,
    };
    before(a.from, b.until) && before(b.from, a.until)
}

impl Reference {
    fn assert(&mut self, mut new: RefFact) {
        for old in &mut self.facts {
            let same_key = old.context == new.context
                && old.subject == new.subject
                && old.predicate == new.predicate;
            if !same_key
                || !old.believed
                || old.confidence < THRESHOLD
                || new.confidence < THRESHOLD
                || new.predicate == MULTI
                || old.object == new.object
                || !overlap(old, &new)
            {
                continue;
            }
            let later = match (new.from, old.from) {
                (Some(n), Some(o)) => n > o,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if later {
                let end = new.from.unwrap();
                old.until = Some(old.until.map_or(end, |u| u.min(end)));
            } else {
                self.conflicts.insert((old.id, new.id), true);
            }
        }
        new.believed = true;
        self.facts.push(new);
    }

    fn drop_fact(&mut self, id: u64) {
        if let Some(f) = self.facts.iter_mut().find(|f| f.id == id) {
            f.believed = false;
        }
        for ((a, b), open) in &mut self.conflicts {
            if *a == id || *b == id {
                *open = false;
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Assert {
        context: u8,
        subject: u8,
        predicate: u8,
        object: u8,
        confident: bool,
        from: Option<i64>,
        length: Option<i64>,
    },
    /// Resolve the n-th open conflict, deprecating its older or newer fact.
    Resolve { nth: usize, deprecate_newer: bool },
    /// Retract the n-th believed fact.
    Retract { nth: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0u8..2,
            0u8..2,
            0u8..3,
            0u8..3,
            prop::bool::weighted(0.8),
            prop::option::of(0i64..6),
            prop::option::of(1i64..4),
        )
            .prop_map(|(context, subject, predicate, object, confident, from, length)| {
                Op::Assert {
                    context,
                    subject,
                    predicate,
                    object,
                    confident,
                    from,
                    length,
                }
            }),
        1 => (0usize..8, any::<bool>())
            .prop_map(|(nth, deprecate_newer)| Op::Resolve { nth, deprecate_newer }),
        1 => (0usize..16).prop_map(|nth| Op::Retract { nth }),
    ]
}

fn check_same(ns: &Namespace, reference: &Reference) {
    let conflicts: BTreeMap<(u64, u64), bool> = ns
        .conflicts(false)
        .iter()
        .map(|c| ((c.facts[0].0, c.facts[1].0), c.is_open()))
        .collect();
    assert_eq!(conflicts, reference.conflicts, "conflicts");
    let all = FactQuery::new().max_quarantine(Quarantine::Blocked);
    for t in [None, Some(0), Some(2), Some(4), Some(7)] {
        let query = match t {
            Some(t) => all.clone().valid_at(Timestamp(t)),
            None => all.clone(),
        };
        let got: Vec<(u64, Option<i64>)> = ns
            .facts(&query)
            .iter()
            .map(|f| (f.id.0, f.valid.until.map(|u| u.0)))
            .collect();
        let want: Vec<(u64, Option<i64>)> = reference
            .facts
            .iter()
            .filter(|f| {
                f.believed
                    && t.is_none_or(|t| {
                        f.from.is_none_or(|s| s <= t) && f.until.is_none_or(|u| t < u)
                    })
            })
            .map(|f| (f.id, f.until))
            .collect();
        assert_eq!(got, want, "believed facts at {t:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn conflict_detection_matches_the_brute_force_reference(ops in prop::collection::vec(op(), 1..60)) {
        let (_m, ns) = ns();
        ns.declare_predicate(&format!("p{MULTI}"), Cardinality::Multi).unwrap();
        let mut reference = Reference::default();
        for op in ops {
            match op {
                Op::Assert { context, subject, predicate, object, confident, from, length } => {
                    let confidence = if confident { 0.9 } else { 0.3 };
                    let until = from.zip(length).map(|(f, l)| f + l);
                    let mut fact = NewFact::new(format!("s{subject}"), format!("p{predicate}"), format!("o{object}"))
                        .context(format!("c{context}"))
                        .confidence(confidence);
                    fact.valid.from = from.map(Timestamp);
                    fact.valid.until = until.map(Timestamp);
                    let id = ns.assert_fact(fact).unwrap().fact.0;
                    reference.assert(RefFact {
                        id, context, subject, predicate, object, confidence, from, until, believed: true,
                    });
                }
                Op::Resolve { nth, deprecate_newer } => {
                    let open: Vec<_> = ns.conflicts(true);
                    if open.is_empty() {
                        continue;
                    }
                    let c = &open[nth % open.len()];
                    let (keep, drop) = if deprecate_newer {
                        (c.facts[0], c.facts[1])
                    } else {
                        (c.facts[1], c.facts[0])
                    };
                    ns.resolve(c.id, &[keep], &[drop], "model").unwrap();
                    reference.conflicts.insert((c.facts[0].0, c.facts[1].0), false);
                    reference.drop_fact(drop.0);
                }
                Op::Retract { nth } => {
                    let believed: Vec<u64> = reference.facts.iter().filter(|f| f.believed).map(|f| f.id).collect();
                    if believed.is_empty() {
                        continue;
                    }
                    let id = believed[nth % believed.len()];
                    ns.retract(FactId(id), "model").unwrap();
                    reference.drop_fact(id);
                }
            }
            check_same(&ns, &reference);
        }
    }
}
