//! Model-based property test of the engine.
//!
//! Random sequences of writes (remember, batches with repeats, keyed
//! upserts, revise, retag, link, unlink, forget, on live and unknown ids)
//! and queries (every filter, every order, both directions, offset, limit,
//! count, exists) run against a namespace and against a plain `Vec` of
//! memories with linear-scan queries written here, independently of the
//! engine. After every step `get` of every id, keys, links, counts and the
//! query results must agree exactly; a write that fails must change
//! nothing (same memories, same Merkle root, same event count).
//!
//! The in-memory run also registers watchers with random filters before
//! the operations and replays their deltas into a set that must equal the
//! model's filter result after every step. The on-disk run closes and
//! reopens the engine at random points (plain, after deleting the
//! snapshots, after damaging the newest snapshot), with snapshots taken in
//! the background every few events, and the reopened state must equal the
//! model.
//!
//! Rules the model follows (the engine's documented behaviour):
//! - a batch behaves like its items remembered one after another,
//!   atomically: identical content (without a key) returns the live memory
//!   holding exactly that content (the smallest id when several do);
//!   a key in use updates that memory (fields replaced, tags replaced,
//!   `at` kept unless given); a new key makes a new memory;
//! - `recorded` cannot be predicted: it is read from the engine after each
//!   write and stored in the model (and `at` defaults to it);
//! - orders are by `(key, id)` ascending, and descending is the exact
//!   reverse (ties by id descending);
//! - forgetting removes a memory's links; ids are never reused.
//!
//! Reproduce a failure with `MNEMO_MODEL_SEED=<seed printed by the failing
//! test>` (and `--nocapture` to see the seed of a passing run); soak with
//! `MNEMO_MODEL_CASES=<n>`. Proptest's failure persistence is off
//! (nothing is written into the repository).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use mnemo::{
    Kind, Memory, MemoryId, Metadata, Mnemo, Namespace, NewMemory, Options, OrderBy, Query,
    Revision, Timestamp, Validity, Value, Watch, WatchEvent,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

// ----- vocabulary -----

/// Small on purpose: identical content (dedup) and case variants are common.
const CONTENTS: &[&str] = &[
    "Alice likes green tea",
    "alice LIKES green TEA",
    "Bob plays chess",
    "Grüße aus MÜNCHEN",
    "İstanbul in spring",
    "ΟΔΟΣ ΣΟΦΙΑΣ",
    "the cat sat",
    "The Cat Sat",
];
/// Needles for `content_contains`, in mixed case; matching is per-char
/// Unicode lowercase on both sides (so final sigma is `σ`, `İ` is `i̇`).
const NEEDLES: &[&str] = &[
    "",
    "alice",
    "ALICE",
    "Tea",
    "grüße",
    "GRÜSSE",
    "münchen",
    "istanbul",
    "İSTANBUL",
    "i\u{307}st",
    "σοφιασ",
    "ΣΟΦΙΑΣ",
    "οδοσ σ",
    "cat sat",
    "zz",
    "e",
    " 1",
];
const TAGS: &[&str] = &["a", "b", "c", "food", "Food", "ü"];
const SOURCES: &[&str] = &["chat", "tool", "Chat"];
const KEYS: &[&str] = &["k1", "k2", "k3", "k4"];
const LINK_KINDS: &[&str] = &["refers_to", "caused"];
const TIMES: &[i64] = &[i64::MIN, -5, 0, 10, 10, 20, 30, i64::MAX];
const META_NAMES: &[&str] = &["n", "s", "f"];

/// Stands for "the time recorded, not known yet" in the model.
const UNKNOWN_TIME: Timestamp = Timestamp(i64::MIN + 12_345);

/// Unicode lowercase, char by char (the documented `content_contains`
/// semantics).
fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

// ----- operations -----

#[derive(Debug, Clone)]
struct Item {
    content: String,
    key: Option<&'static str>,
    kind: Kind,
    tags: Vec<&'static str>,
    source: Option<&'static str>,
    at: Option<i64>,
    importance: f32,
    confidence: f32,
    metadata: Vec<(&'static str, Value)>,
    valid: Option<Validity>,
}

impl Item {
    fn to_new(&self) -> NewMemory {
        let mut m = NewMemory::new(self.content.clone())
            .kind(self.kind)
            .tags(self.tags.iter().copied())
            .importance(self.importance)
            .confidence(self.confidence);
        if let Some(k) = self.key {
            m = m.key(k);
        }
        if let Some(s) = self.source {
            m = m.source(s);
        }
        if let Some(t) = self.at {
            m = m.at(Timestamp(t));
        }
        if let Some(v) = self.valid {
            m = m.valid(v);
        }
        for (name, value) in &self.metadata {
            m = m.meta(*name, value.clone());
        }
        m
    }

    fn is_valid(&self) -> bool {
        unit(self.importance) && unit(self.confidence)
    }
}

fn unit(x: f32) -> bool {
    (0.0..=1.0).contains(&x)
}

/// Which memory an operation is about.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The n-th live memory of the model (by id), if any.
    Live(usize),
    /// Any id: unknown, forgotten or live.
    Raw(u64),
}

#[derive(Debug, Clone, Default)]
struct Rev {
    content: Option<String>,
    kind: Option<Kind>,
    source: Option<Option<&'static str>>,
    metadata: Option<Vec<(&'static str, Value)>>,
    at: Option<i64>,
    valid: Option<Option<Validity>>,
    importance: Option<f32>,
    confidence: Option<f32>,
}

impl Rev {
    fn to_revision(&self) -> Revision {
        Revision {
            content: self.content.clone(),
            vector: None,
            kind: self.kind,
            source: self.source.map(|s| s.map(str::to_owned)),
            metadata: self.metadata.as_ref().map(|m| metadata(m)),
            at: self.at.map(Timestamp),
            valid: self.valid,
            importance: self.importance,
            confidence: self.confidence,
        }
    }

    fn is_valid(&self) -> bool {
        self.importance.is_none_or(unit) && self.confidence.is_none_or(unit)
    }
}

/// A recorded-time bound chosen among the recorded times the model holds
/// (they are only known at run time): the n-th distinct one, plus a delta.
#[derive(Debug, Clone, Copy)]
struct RecSel(usize, i64);

#[derive(Debug, Clone, Default)]
struct QSpec {
    ids: Option<Vec<u64>>,
    tags_all: Vec<&'static str>,
    tags_any: Vec<&'static str>,
    tags_none: Vec<&'static str>,
    source: Option<&'static str>,
    kind: Option<Kind>,
    at: Option<(Option<i64>, Option<i64>)>,
    recorded: Option<(Option<RecSel>, Option<RecSel>)>,
    metadata: Vec<(&'static str, Value)>,
    contains: Option<&'static str>,
    order: u8,
    descending: bool,
    offset: usize,
    limit: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
enum Reopen {
    Plain,
    DeleteSnapshots,
    /// Flip a byte of the newest snapshot at this fraction of its length.
    CorruptSnapshot(u16),
}

#[derive(Debug, Clone)]
enum Op {
    Remember(Item),
    Batch(Vec<Item>),
    Revise(Target, Rev),
    Retag(Target, Vec<&'static str>, Vec<&'static str>),
    Link(Target, Target, &'static str, f32),
    /// Unlink the n-th existing link (when `Some` and there is one), else
    /// the given (probably absent) link.
    Unlink(Option<usize>, Target, Target, &'static str),
    Forget(Target),
    Query(QSpec),
    Reopen(Reopen),
}

// ----- strategies -----

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn content() -> impl Strategy<Value = String> {
    (pick(CONTENTS), prop::option::weighted(0.3, 0u8..3)).prop_map(|(c, n)| match n {
        Some(n) => format!("{c} {n}"),
        None => c.to_owned(),
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    pick(&Kind::ALL)
}

fn unit_value(invalid_weight: u32) -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => pick(&[0.0f32, -0.0, 0.25, 0.5, 0.5, 1.0]),
        2 => 0.0f32..=1.0,
        invalid_weight => pick(&[1.5f32, -0.25, f32::NAN, f32::INFINITY]),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..3).prop_map(Value::Int),
        pick(&["x", "X", ""]).prop_map(Value::from),
        pick(&[0.0f64, -0.0, 1.5]).prop_map(Value::Float),
    ]
}

fn meta_list() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    prop::collection::vec((pick(META_NAMES), value()), 0..3)
}

fn time() -> impl Strategy<Value = i64> {
    pick(TIMES)
}

fn validity() -> impl Strategy<Value = Validity> {
    (prop::option::of(time()), prop::option::of(time())).prop_map(|(f, u)| Validity {
        from: f.map(Timestamp),
        until: u.map(Timestamp),
    })
}

fn item() -> impl Strategy<Value = Item> {
    (
        content(),
        prop::option::weighted(0.3, pick(KEYS)),
        kind(),
        prop::collection::vec(pick(TAGS), 0..4),
        prop::option::weighted(0.6, pick(SOURCES)),
        prop::option::weighted(0.6, time()),
        unit_value(1),
        unit_value(0),
        meta_list(),
        prop::option::weighted(0.2, validity()),
    )
        .prop_map(
            |(content, key, kind, tags, source, at, importance, confidence, metadata, valid)| {
                Item {
                    content,
                    key,
                    kind,
                    tags,
                    source,
                    at,
                    importance,
                    confidence,
                    metadata,
                    valid,
                }
            },
        )
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => (0usize..64).prop_map(Target::Live),
        1 => (0u64..40).prop_map(Target::Raw),
    ]
}

fn rev() -> impl Strategy<Value = Rev> {
    (
        prop::option::weighted(0.4, content()),
        prop::option::weighted(0.3, kind()),
        prop::option::weighted(0.3, prop::option::of(pick(SOURCES))),
        prop::option::weighted(0.3, meta_list()),
        prop::option::weighted(0.3, time()),
        prop::option::weighted(0.2, prop::option::of(validity())),
        prop::option::weighted(0.4, unit_value(1)),
        prop::option::weighted(0.2, unit_value(1)),
    )
        .prop_map(
            |(content, kind, source, metadata, at, valid, importance, confidence)| Rev {
                content,
                kind,
                source,
                metadata,
                at,
                valid,
                importance,
                confidence,
            },
        )
}

fn rec_sel() -> impl Strategy<Value = RecSel> {
    (0usize..64, -1i64..=1).prop_map(|(i, d)| RecSel(i, d))
}

fn filters() -> impl Strategy<Value = QSpec> {
    (
        prop::option::weighted(0.1, prop::collection::vec(0u64..30, 0..5)),
        prop::option::weighted(0.3, prop::collection::vec(pick(TAGS), 1..3)),
        prop::option::weighted(0.2, prop::collection::vec(pick(TAGS), 1..3)),
        prop::option::weighted(0.2, prop::collection::vec(pick(TAGS), 1..3)),
        prop::option::weighted(0.2, pick(SOURCES)),
        prop::option::weighted(0.2, kind()),
        prop::option::weighted(0.2, (prop::option::of(time()), prop::option::of(time()))),
        prop::option::weighted(
            0.15,
            (prop::option::of(rec_sel()), prop::option::of(rec_sel())),
        ),
        prop::option::weighted(
            0.15,
            prop::collection::vec((pick(META_NAMES), value()), 1..3),
        ),
        prop::option::weighted(0.25, pick(NEEDLES)),
    )
        .prop_map(
            |(ids, all, any, none, source, kind, at, recorded, metadata, contains)| QSpec {
                ids,
                tags_all: all.unwrap_or_default(),
                tags_any: any.unwrap_or_default(),
                tags_none: none.unwrap_or_default(),
                source,
                kind,
                at,
                recorded,
                metadata: metadata.unwrap_or_default(),
                contains,
                ..QSpec::default()
            },
        )
}

fn qspec() -> impl Strategy<Value = QSpec> {
    (
        filters(),
        0u8..4,
        any::<bool>(),
        prop::option::weighted(0.3, 0usize..6),
        prop::option::weighted(0.5, 0usize..8),
    )
        .prop_map(|(mut q, order, descending, offset, limit)| {
            q.order = order;
            q.descending = descending;
            q.offset = offset.unwrap_or(0);
            q.limit = limit;
            q
        })
}

fn op(reopen_weight: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => item().prop_map(Op::Remember),
        2 => prop::collection::vec(item(), 1..=5).prop_map(Op::Batch),
        3 => (target(), rev()).prop_map(|(t, r)| Op::Revise(t, r)),
        2 => (
            target(),
            prop::collection::vec(pick(TAGS), 0..3),
            prop::collection::vec(pick(TAGS), 0..3)
        )
            .prop_map(|(t, a, r)| Op::Retag(t, a, r)),
        2 => (target(), target(), pick(LINK_KINDS), prop_oneof![
            6 => pick(&[0.0f32, 0.5, 1.0]),
            1 => pick(&[1.5f32, f32::NAN]),
        ])
            .prop_map(|(a, b, k, w)| Op::Link(a, b, k, w)),
        1 => (prop::option::weighted(0.7, 0usize..16), target(), target(), pick(LINK_KINDS))
            .prop_map(|(n, a, b, k)| Op::Unlink(n, a, b, k)),
        2 => target().prop_map(Op::Forget),
        6 => qspec().prop_map(Op::Query),
        reopen_weight => prop_oneof![
            2 => Just(Reopen::Plain),
            1 => Just(Reopen::DeleteSnapshots),
            1 => any::<u16>().prop_map(Reopen::CorruptSnapshot),
        ]
        .prop_map(Op::Reopen),
    ]
}

// ----- the model -----

#[derive(Default)]
struct Model {
    /// Live memories (seqs are not modelled and kept at 0).
    mems: BTreeMap<u64, Memory>,
    next_id: u64,
    links: BTreeMap<(u64, u64, String), f32>,
}

fn metadata(list: &[(&'static str, Value)]) -> Metadata {
    let mut m = Metadata::new();
    for (name, value) in list {
        m.insert((*name).to_owned(), value.clone());
    }
    m
}

fn sorted_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<String> = tags.into_iter().map(str::to_owned).collect();
    set.into_iter().collect()
}

impl Model {
    fn new() -> Self {
        Self {
            next_id: 1,
            ..Self::default()
        }
    }

    fn target(&self, t: Target) -> u64 {
        match t {
            Target::Live(n) if !self.mems.is_empty() => {
                *self.mems.keys().nth(n % self.mems.len()).expect("in range")
            }
            Target::Live(n) => n as u64,
            Target::Raw(id) => id,
        }
    }

    fn by_key(&self, key: &str) -> Option<u64> {
        self.mems
            .values()
            .find(|m| m.key.as_deref() == Some(key))
            .map(|m| m.id.0)
    }

    /// One item of a (possibly one-item) batch, in order.
    fn remember(&mut self, cov: &mut Coverage, it: &Item) -> u64 {
        self.remember_outcome(cov, it).0
    }

    /// Remembers `it` and says what happened, as `remember_batch` reports
    /// it: `added`, `updated` (a keyed memory's fields changed) or
    /// `unchanged`.
    fn remember_outcome(&mut self, cov: &mut Coverage, it: &Item) -> (u64, &'static str) {
        if let Some(key) = it.key
            && let Some(id) = self.by_key(key)
        {
            let m = self.mems.get_mut(&id).expect("live");
            let before = m.clone();
            m.content.clone_from(&it.content);
            m.kind = it.kind;
            m.tags = sorted_tags(it.tags.iter().copied());
            m.source = it.source.map(str::to_owned);
            m.metadata = metadata(&it.metadata);
            if let Some(at) = it.at {
                m.at = Timestamp(at);
            }
            m.valid = it.valid;
            m.importance = it.importance;
            m.confidence = it.confidence;
            cov.keyed_updates += 1;
            let outcome = if *m == before { "unchanged" } else { "updated" };
            return (id, outcome);
        }
        if it.key.is_none()
            && let Some(m) = self.mems.values().find(|m| m.content == it.content)
        {
            cov.dedup_hits += 1;
            return (m.id.0, "unchanged");
        }
        let id = self.next_id;
        self.next_id += 1;
        self.mems.insert(
            id,
            Memory {
                id: MemoryId(id),
                key: it.key.map(str::to_owned),
                content: it.content.clone(),
                kind: it.kind,
                tags: sorted_tags(it.tags.iter().copied()),
                source: it.source.map(str::to_owned),
                metadata: metadata(&it.metadata),
                at: it.at.map_or(UNKNOWN_TIME, Timestamp),
                recorded: UNKNOWN_TIME,
                valid: it.valid,
                importance: it.importance,
                confidence: it.confidence,
                created_seq: 0,
                updated_seq: 0,
            },
        );
        (id, "added")
    }

    /// Fills in the times only the engine knows (after a write).
    fn learn_times(&mut self, ns: &Namespace) {
        for m in self.mems.values_mut() {
            if m.recorded == UNKNOWN_TIME {
                let e = ns.get(m.id).expect("a memory just written is live");
                m.recorded = e.recorded;
                if m.at == UNKNOWN_TIME {
                    m.at = e.recorded;
                }
            }
        }
    }

    fn revise(&mut self, id: u64, r: &Rev) {
        let m = self.mems.get_mut(&id).expect("live");
        if let Some(c) = &r.content {
            m.content.clone_from(c);
        }
        if let Some(k) = r.kind {
            m.kind = k;
        }
        if let Some(s) = r.source {
            m.source = s.map(str::to_owned);
        }
        if let Some(md) = &r.metadata {
            m.metadata = metadata(md);
        }
        if let Some(at) = r.at {
            m.at = Timestamp(at);
        }
        if let Some(v) = r.valid {
            m.valid = v;
        }
        if let Some(x) = r.importance {
            m.importance = x;
        }
        if let Some(x) = r.confidence {
            m.confidence = x;
        }
    }

    fn recorded_times(&self) -> Vec<i64> {
        let set: BTreeSet<i64> = self.mems.values().map(|m| m.recorded.0).collect();
        set.into_iter().collect()
    }

    fn matches(&self, q: &Query, m: &Memory) -> bool {
        let has = |t: &String| m.tags.contains(t);
        q.ids.as_ref().is_none_or(|ids| ids.contains(&m.id))
            && q.tags_all.iter().all(has)
            && (q.tags_any.is_empty() || q.tags_any.iter().any(has))
            && !q.tags_none.iter().any(has)
            && q.source
                .as_ref()
                .is_none_or(|s| m.source.as_ref() == Some(s))
            && q.kind.is_none_or(|k| k == m.kind)
            && q.at.is_none_or(|r| {
                r.from.is_none_or(|f| f <= m.at) && r.until.is_none_or(|u| m.at < u)
            })
            && q.recorded.is_none_or(|r| {
                r.from.is_none_or(|f| f <= m.recorded) && r.until.is_none_or(|u| m.recorded < u)
            })
            && q.metadata
                .iter()
                .all(|(name, value)| m.metadata.get(name) == Some(value))
            && q.content_contains
                .as_ref()
                .is_none_or(|n| lower(&m.content).contains(&lower(n)))
    }

    fn filter(&self, q: &Query) -> Vec<&Memory> {
        self.mems.values().filter(|m| self.matches(q, m)).collect()
    }

    fn query(&self, q: &Query) -> Vec<u64> {
        let mut found = self.filter(q);
        found.sort_by(|a, b| {
            let primary = match q.order {
                OrderBy::At => a.at.cmp(&b.at),
                OrderBy::Recorded => a.recorded.cmp(&b.recorded),
                OrderBy::Importance => a
                    .importance
                    .partial_cmp(&b.importance)
                    .expect("importance is never NaN"),
                OrderBy::Id => std::cmp::Ordering::Equal,
            };
            primary.then(a.id.cmp(&b.id))
        });
        if q.descending {
            found.reverse();
        }
        found
            .into_iter()
            .skip(q.offset)
            .take(q.limit.unwrap_or(usize::MAX))
            .map(|m| m.id.0)
            .collect()
    }

    fn build_query(&self, s: &QSpec) -> Query {
        let times = self.recorded_times();
        let rec = |sel: RecSel| -> Timestamp {
            let base = if times.is_empty() {
                0
            } else {
                times[sel.0 % times.len()]
            };
            Timestamp(base.saturating_add(sel.1))
        };
        Query {
            ids: s
                .ids
                .as_ref()
                .map(|ids| ids.iter().map(|&i| MemoryId(i)).collect()),
            tags_all: s.tags_all.iter().map(|t| (*t).to_owned()).collect(),
            tags_any: s.tags_any.iter().map(|t| (*t).to_owned()).collect(),
            tags_none: s.tags_none.iter().map(|t| (*t).to_owned()).collect(),
            source: s.source.map(str::to_owned),
            kind: s.kind,
            at: s
                .at
                .map(|(f, u)| mnemo::TimeRange::new(f.map(Timestamp), u.map(Timestamp))),
            recorded: s
                .recorded
                .map(|(f, u)| mnemo::TimeRange::new(f.map(rec), u.map(rec))),
            metadata: s
                .metadata
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
            content_contains: s.contains.map(str::to_owned),
            order: [
                OrderBy::At,
                OrderBy::Recorded,
                OrderBy::Importance,
                OrderBy::Id,
            ][usize::from(s.order % 4)],
            descending: s.descending,
            offset: s.offset,
            limit: s.limit,
        }
    }

    fn forget(&mut self, id: u64) {
        self.mems.remove(&id);
        self.links.retain(|(f, t, _), _| *f != id && *t != id);
    }
}

// ----- the engine under test -----

struct Engine {
    /// `None` for an in-memory engine.
    dir: Option<tempfile::TempDir>,
    options: Options,
    mnemo: Option<Mnemo>,
    /// Every handle must be dropped before a reopen: the log stays locked
    /// while one lives.
    ns: Option<Namespace>,
}

const NS: &str = "model";

impl Engine {
    fn in_memory() -> Self {
        let mnemo = Mnemo::in_memory();
        let ns = mnemo.namespace(NS).expect("namespace");
        Self {
            dir: None,
            options: Options::default(),
            mnemo: Some(mnemo),
            ns: Some(ns),
        }
    }

    fn on_disk(snapshot_every: u64) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = Options::default().snapshot_every(snapshot_every);
        let mnemo = Mnemo::open_with(dir.path(), options.clone()).expect("open");
        let ns = mnemo.namespace(NS).expect("namespace");
        Self {
            dir: Some(dir),
            options,
            mnemo: Some(mnemo),
            ns: Some(ns),
        }
    }

    fn ns(&self) -> &Namespace {
        self.ns.as_ref().expect("open")
    }

    fn reopen(&mut self, how: Reopen) -> Result<(), TestCaseError> {
        let Some(dir) = self.dir.as_ref().map(|d| d.path().to_path_buf()) else {
            return Ok(());
        };
        let root = self.ns().root().expect("root");
        self.ns = None;
        let mnemo = self.mnemo.take().expect("open");
        mnemo
            .close()
            .map_err(|e| TestCaseError::fail(format!("close: {e}")))?;
        drop(mnemo);
        let snapshots = dir.join(NS).join("snapshots");
        match how {
            Reopen::Plain => {}
            Reopen::DeleteSnapshots => {
                let _ = std::fs::remove_dir_all(&snapshots);
            }
            Reopen::CorruptSnapshot(at) => corrupt_newest(&snapshots, at),
        }
        let mnemo = Mnemo::open_with(&dir, self.options.clone()).expect("reopen");
        self.ns = Some(
            mnemo
                .namespace(NS)
                .map_err(|e| TestCaseError::fail(format!("reopen {how:?}: {e}")))?,
        );
        self.mnemo = Some(mnemo);
        prop_assert_eq!(
            self.ns().root().expect("root"),
            root,
            "root after reopen {:?}",
            how
        );
        Ok(())
    }
}

fn corrupt_newest(snapshots: &Path, at: u16) {
    let Ok(entries) = std::fs::read_dir(snapshots) else {
        return;
    };
    let newest = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .max();
    if let Some(path) = newest {
        let mut bytes = std::fs::read(&path).expect("read snapshot");
        if !bytes.is_empty() {
            let i = (bytes.len() - 1) * usize::from(at) / usize::from(u16::MAX);
            bytes[i] ^= 0x5a;
            std::fs::write(&path, bytes).expect("write snapshot");
        }
    }
}

// ----- checks -----

/// The engine's memory with the seqs cleared (the model does not track
/// them), after checking them for sanity.
fn comparable(m: &Memory, events: u64) -> Result<Memory, TestCaseError> {
    prop_assert!(
        m.created_seq <= m.updated_seq && m.updated_seq < events,
        "seqs of {}: created {} updated {} with {} events",
        m.id,
        m.created_seq,
        m.updated_seq,
        events
    );
    let mut m = m.clone();
    m.created_seq = 0;
    m.updated_seq = 0;
    Ok(m)
}

fn check_state(ns: &Namespace, model: &Model) -> Result<(), TestCaseError> {
    let stats = ns.stats();
    for id in 0..model.next_id + 2 {
        let engine = ns.get(MemoryId(id));
        match (engine, model.mems.get(&id)) {
            (None, None) => {}
            (Some(e), Some(m)) => prop_assert_eq!(&comparable(&e, stats.events)?, m),
            (e, m) => prop_assert!(false, "get({id}): engine {e:?}, model {m:?}"),
        }
    }
    for key in KEYS {
        prop_assert_eq!(
            ns.get_by_key(key).map(|m| m.id.0),
            model.by_key(key),
            "get_by_key({})",
            key
        );
    }
    prop_assert_eq!(stats.memories, model.mems.len());
    prop_assert_eq!(stats.links, model.links.len());
    for &id in model.mems.keys() {
        let (out, inc) = ns.links(MemoryId(id));
        let mut out: Vec<(u64, u64, String, u32)> = out
            .into_iter()
            .map(|l| (l.from.0, l.to.0, l.kind, l.weight.to_bits()))
            .collect();
        let mut inc: Vec<(u64, u64, String, u32)> = inc
            .into_iter()
            .map(|l| (l.from.0, l.to.0, l.kind, l.weight.to_bits()))
            .collect();
        out.sort();
        inc.sort();
        let want = |pick: &dyn Fn(u64, u64) -> bool| -> Vec<(u64, u64, String, u32)> {
            model
                .links
                .iter()
                .filter(|((f, t, _), _)| pick(*f, *t))
                .map(|((f, t, k), w)| (*f, *t, k.clone(), w.to_bits()))
                .collect()
        };
        prop_assert_eq!(out, want(&|f, _| f == id), "links from {}", id);
        prop_assert_eq!(inc, want(&|_, t| t == id), "links to {}", id);
    }
    let all: Vec<u64> = ns.query(&Query::new()).iter().map(|m| m.id.0).collect();
    prop_assert_eq!(all, model.mems.keys().copied().collect::<Vec<_>>());
    Ok(())
}

/// Checks one query, its count and exists; returns whether it found any.
fn check_query(ns: &Namespace, model: &Model, spec: &QSpec) -> Result<bool, TestCaseError> {
    let q = model.build_query(spec);
    let got: Vec<u64> = ns.query(&q).iter().map(|m| m.id.0).collect();
    prop_assert_eq!(got, model.query(&q), "query {:?}", q);
    let n = model.filter(&q).len() as u64;
    prop_assert_eq!(ns.count(&q), n, "count {:?}", q);
    prop_assert_eq!(ns.exists(&q), n > 0, "exists {:?}", q);
    Ok(n > 0)
}

/// A watcher and the set its deltas build.
struct Watcher {
    watch: Watch,
    query: Query,
    seen: BTreeMap<u64, Arc<Memory>>,
}

impl Watcher {
    /// Applies the buffered events; returns how many there were.
    fn drain(&mut self, model: &Model, events: u64) -> Result<u64, TestCaseError> {
        let mut n = 0;
        while let Some(event) = self.watch.try_recv() {
            n += 1;
            match event {
                WatchEvent::Current(all) => {
                    self.seen = all.into_iter().map(|m| (m.id.0, m)).collect();
                }
                WatchEvent::Added(m) => {
                    let id = m.id.0;
                    prop_assert!(self.seen.insert(id, m).is_none(), "added twice: {}", id);
                }
                WatchEvent::Changed(m) => {
                    let id = m.id.0;
                    prop_assert!(self.seen.insert(id, m).is_some(), "changed unseen: {}", id);
                }
                WatchEvent::Removed(id) => {
                    prop_assert!(self.seen.remove(&id.0).is_some(), "removed unseen: {}", id);
                }
                WatchEvent::Lagged => prop_assert!(false, "lagged with a large buffer"),
            }
        }
        let want: Vec<u64> = model.filter(&self.query).iter().map(|m| m.id.0).collect();
        let got: Vec<u64> = self.seen.keys().copied().collect();
        prop_assert_eq!(got, want, "watcher {:?}", self.query);
        for (id, m) in &self.seen {
            prop_assert_eq!(
                &comparable(m, events)?,
                &model.mems[id],
                "watched memory {}",
                id
            );
        }
        Ok(n)
    }
}

// ----- the run -----

/// What the runs exercised (printed with `--nocapture`, to keep an eye on
/// the generators).
#[derive(Debug, Default)]
struct Coverage {
    ops: u64,
    refused: u64,
    dedup_hits: u64,
    keyed_updates: u64,
    queries: u64,
    nonempty_queries: u64,
    reopens: u64,
    watch_events: u64,
}

static COVERAGE: std::sync::Mutex<Vec<(&'static str, Coverage)>> =
    std::sync::Mutex::new(Vec::new());

fn covered(name: &'static str, f: impl FnOnce(&mut Coverage)) {
    let mut all = COVERAGE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match all.iter_mut().find(|(n, _)| *n == name) {
        Some((_, c)) => f(c),
        None => {
            let mut c = Coverage::default();
            f(&mut c);
            all.push((name, c));
        }
    }
}

fn report(name: &'static str) {
    let all = COVERAGE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, c)) = all.iter().find(|(n, _)| *n == name) {
        eprintln!("{name}: {c:?}");
    }
}

/// Runs one write and checks that an error changed nothing; returns
/// whether it succeeded.
fn write<T: std::fmt::Debug>(
    cov: &mut Coverage,
    ns: &Namespace,
    expect_ok: bool,
    what: &str,
    f: impl FnOnce() -> mnemo::Result<T>,
) -> Result<Option<T>, TestCaseError> {
    let root = ns.root().expect("root");
    let events = ns.stats().events;
    let result = f();
    match result {
        Ok(v) => {
            prop_assert!(
                expect_ok,
                "{what}: the engine accepted what the model refuses: {v:?}"
            );
            Ok(Some(v))
        }
        Err(e) => {
            prop_assert!(!expect_ok, "{what}: the engine refused: {e}");
            cov.refused += 1;
            prop_assert_eq!(
                ns.root().expect("root"),
                root,
                "{}: an error changed the root",
                what
            );
            prop_assert_eq!(ns.stats().events, events, "{}: an error wrote events", what);
            Ok(None)
        }
    }
}

fn run(
    name: &'static str,
    engine: &mut Engine,
    ops: &[Op],
    watches: &[QSpec],
) -> Result<(), TestCaseError> {
    let mut cov = Coverage::default();
    let result = run_ops(&mut cov, engine, ops, watches);
    covered(name, |c| {
        c.ops += cov.ops;
        c.refused += cov.refused;
        c.dedup_hits += cov.dedup_hits;
        c.keyed_updates += cov.keyed_updates;
        c.queries += cov.queries;
        c.nonempty_queries += cov.nonempty_queries;
        c.reopens += cov.reopens;
        c.watch_events += cov.watch_events;
    });
    result
}

fn run_ops(
    cov: &mut Coverage,
    engine: &mut Engine,
    ops: &[Op],
    watches: &[QSpec],
) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    let mut watchers = Vec::new();
    for spec in watches {
        let query = Query {
            order: OrderBy::Id,
            descending: false,
            offset: 0,
            limit: None,
            ..model.build_query(spec)
        };
        let watch = engine.ns().watch(query.clone()).expect("watch");
        watchers.push(Watcher {
            watch,
            query,
            seen: BTreeMap::new(),
        });
    }
    for op in ops {
        cov.ops += 1;
        let ns = engine.ns().clone();
        match op {
            Op::Remember(it) => {
                let before = model.next_id;
                let ok = it.is_valid();
                let got = write(cov, &ns, ok, "remember", || ns.remember(it.to_new()))?;
                if let Some(id) = got {
                    let want = model.remember(cov, it);
                    prop_assert_eq!(id.0, want, "id of {:?} (next was {})", it, before);
                }
            }
            Op::Batch(items) => {
                let ok = items.iter().all(Item::is_valid);
                let got = write(cov, &ns, ok, "remember_batch", || {
                    ns.remember_batch(items.iter().map(Item::to_new).collect())
                })?;
                if let Some(ids) = got {
                    let want: Vec<(u64, &str)> = items
                        .iter()
                        .map(|it| model.remember_outcome(cov, it))
                        .collect();
                    let got: Vec<(u64, &str)> =
                        ids.iter().map(|r| (r.id.0, r.outcome.as_str())).collect();
                    prop_assert_eq!(got, want, "ids and outcomes of batch {:?}", items);
                    for r in &ids {
                        let stored = ns.get(r.id).expect("a remembered memory is live");
                        prop_assert_eq!(stored.updated_seq, r.seq.0, "seq of {:?}", r);
                    }
                }
            }
            Op::Revise(t, r) => {
                let id = model.target(*t);
                let ok = model.mems.contains_key(&id) && r.is_valid();
                if write(cov, &ns, ok, "revise", || {
                    ns.revise(MemoryId(id), r.to_revision())
                })?
                .is_some()
                {
                    model.revise(id, r);
                }
            }
            Op::Retag(t, add, remove) => {
                let id = model.target(*t);
                let ok = model.mems.contains_key(&id);
                if write(cov, &ns, ok, "retag", || {
                    ns.retag(MemoryId(id), add, remove)
                })?
                .is_some()
                {
                    let m = model.mems.get_mut(&id).expect("live");
                    let mut tags: BTreeSet<&str> = m.tags.iter().map(String::as_str).collect();
                    tags.extend(add.iter().copied());
                    for r in remove {
                        tags.remove(r);
                    }
                    m.tags = sorted_tags(tags);
                }
            }
            Op::Link(a, b, kind, weight) => {
                let (from, to) = (model.target(*a), model.target(*b));
                let ok =
                    model.mems.contains_key(&from) && model.mems.contains_key(&to) && unit(*weight);
                let linked = write(cov, &ns, ok, "link", || {
                    ns.link(MemoryId(from), MemoryId(to), kind, *weight)
                })?;
                if linked.is_some() {
                    model.links.insert((from, to, (*kind).to_owned()), *weight);
                }
            }
            Op::Unlink(nth, a, b, kind) => {
                let (from, to, kind) = match nth {
                    Some(n) if !model.links.is_empty() => {
                        let (f, t, k) = model
                            .links
                            .keys()
                            .nth(n % model.links.len())
                            .expect("in range");
                        (*f, *t, k.clone())
                    }
                    _ => (model.target(*a), model.target(*b), (*kind).to_owned()),
                };
                let ok = model.links.contains_key(&(from, to, kind.clone()));
                if write(cov, &ns, ok, "unlink", || {
                    ns.unlink(MemoryId(from), MemoryId(to), &kind)
                })?
                .is_some()
                {
                    model.links.remove(&(from, to, kind));
                }
            }
            Op::Forget(t) => {
                let id = model.target(*t);
                let ok = model.mems.contains_key(&id);
                if write(cov, &ns, ok, "forget", || ns.forget(MemoryId(id)))?.is_some() {
                    model.forget(id);
                }
            }
            Op::Query(spec) => {
                cov.queries += 1;
                if check_query(&ns, &model, spec)? {
                    cov.nonempty_queries += 1;
                }
            }
            Op::Reopen(how) => {
                drop(ns);
                cov.reopens += 1;
                engine.reopen(*how)?;
            }
        }
        model.learn_times(engine.ns());
        check_state(engine.ns(), &model)?;
        let events = engine.ns().stats().events;
        for w in &mut watchers {
            cov.watch_events += w.drain(&model, events)?;
        }
    }
    drop(watchers);
    engine.reopen(Reopen::Plain)?;
    check_state(engine.ns(), &model)?;
    Ok(())
}

/// A proptest config with a seed printed (and taken from
/// `MNEMO_MODEL_SEED` when set) so a failure can be replayed, and no
/// persistence files. `MNEMO_MODEL_CASES` overrides the number of cases
/// (for a longer soak).
fn config(cases: u32, name: &str) -> Config {
    let cases = std::env::var("MNEMO_MODEL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    let seed = std::env::var("MNEMO_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("{name}: MNEMO_MODEL_SEED={seed}");
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

fn watch_filters() -> impl Strategy<Value = Vec<QSpec>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.5, pick(TAGS)),
            prop::option::weighted(0.3, pick(SOURCES)),
            prop::option::weighted(0.3, kind()),
            filters(),
            0u8..3,
        )
            .prop_map(|(tag, source, kind, full, style)| match style {
                // Simple anchored filters (tag / source / kind) ...
                0 | 1 => QSpec {
                    tags_all: tag.into_iter().collect(),
                    source,
                    kind,
                    ..QSpec::default()
                },
                // ... and sometimes a filter with everything.
                _ => full,
            }),
        1..=3,
    )
}

/// Runs `body` on its own thread and fails (instead of hanging the whole
/// test run) when it has not finished in time: an engine that deadlocks
/// (a close waiting for a snapshot thread that waits for the writer lock,
/// say) gets a clear failure.
fn with_watchdog(name: &str, cases: u32, body: impl FnOnce() + Send + 'static) {
    let limit = std::time::Duration::from_secs(120 + 2 * u64::from(cases));
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = done.send(result);
        })
        .expect("spawn");
    match wait.recv_timeout(limit) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{name}: no result after {limit:?}: the engine probably deadlocked"),
    }
}

#[test]
fn in_memory_engine_matches_the_model() {
    let name = "in_memory_engine_matches_the_model";
    let config = config(512, name);
    let cases = config.cases;
    with_watchdog(name, cases, move || {
        let mut runner = TestRunner::new(config);
        let strategy = (prop::collection::vec(op(0), 1..100), watch_filters());
        runner
            .run(&strategy, |(ops, watches)| {
                let mut engine = Engine::in_memory();
                run("in_memory", &mut engine, &ops, &watches)
            })
            .unwrap_or_else(|e| panic!("{e}"));
        report("in_memory");
    });
}

#[test]
fn on_disk_engine_matches_the_model_across_reopens() {
    let name = "on_disk_engine_matches_the_model_across_reopens";
    let config = config(64, name);
    let cases = config.cases;
    with_watchdog(name, cases, move || {
        let mut runner = TestRunner::new(config);
        // Background snapshots every few events, or only on close.
        let strategy = (
            prop::collection::vec(op(2), 1..80),
            pick(&[0u64, 3, 7, 50_000]),
        );
        runner
            .run(&strategy, |(ops, snapshot_every)| {
                let mut engine = Engine::on_disk(snapshot_every);
                run("on_disk", &mut engine, &ops, &[])
            })
            .unwrap_or_else(|e| panic!("{e}"));
        report("on_disk");
    });
}
