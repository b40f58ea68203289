//! Facts, contradictions and their resolution: the coherence engine.
//!
//! A [`Fact`] is a `(subject, predicate, object)` triple asserted in a
//! context, with a confidence, a validity window and evidence (memory ids).
//! Facts live in the log like everything else: asserting, challenging,
//! supporting, resolving, quarantining and retracting are events, and the
//! [`FactStore`] is their fold.
//!
//! ## Coherence at write time, in O(k)
//!
//! Believed facts are indexed by their key `(context, subject, predicate)`.
//! A new fact is compared only with the believed facts of its key (k of
//! them), never with all facts. For each one, in id order, when both are
//! at least as confident as the namespace's threshold and their validity
//! windows overlap, the [`Verifier`] decides whether they are compatible.
//! The default rule ([`DefaultVerifier`]) finds two different objects of a
//! single-valued predicate incompatible; predicates are single-valued
//! unless declared [`Cardinality::Multi`]. An incompatible pair is then
//! either
//!
//! - a **knowledge update**, when the new fact's validity starts after the
//!   old one's start: the old fact's window is closed where the new one
//!   begins (it stays believed for the time it held), or
//! - a **conflict** ([`Conflict`]): both facts stay believed, are flagged
//!   (quarantine [`Quarantine::Conservative`]) and the conflict waits for a
//!   [`crate::Namespace::resolve`].
//!
//! The writer makes these decisions and records them in the assert event,
//! so the fold is pure and a replay rebuilds the same conflicts whatever
//! verifier the reopening process is configured with.
//!
//! ## Lifecycle and quarantine
//!
//! A conflict is *detected*, may be *challenged* (a challenge to one of its
//! facts) and is *resolved* by naming the facts accepted and deprecated.
//! Each fact's [`Quarantine`] level follows from its history: deprecated or
//! retracted facts are [`Quarantine::Blocked`]; a challenged fact that no
//! one has supported since is [`Quarantine::RequiresWitness`]; a fact in an
//! open conflict is [`Quarantine::Conservative`]; otherwise
//! [`Quarantine::None`]. An explicit quarantine event overrides the derived
//! level. Reads admit facts up to a level (default `Conservative`: disputed
//! facts are returned, flagged), and recall withholds memories whose every
//! cited fact is above the level it admits.
//!
//! ## Two clocks
//!
//! Every change of a fact is kept in its history with its log seq and
//! recorded time, so a read can ask what was true at a time (the validity
//! clock) or what the namespace believed at a time (the recorded clock: the
//! fact's state folded from its history up to then).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::base::IdMap;
use crate::event::AssertFact;
use crate::model::{MemoryId, Timestamp, Validity};

pub use crate::base::{ConflictId, FactId};

/// How many objects a predicate holds at once for one subject in one
/// context.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Cardinality {
    /// One at a time (`lives_in`, `age`): the default.
    #[default]
    Single,
    /// Any number (`likes`, `speaks`).
    Multi,
}

impl Cardinality {
    /// `single` or `multi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cardinality::Single => "single",
            Cardinality::Multi => "multi",
        }
    }

    /// Parses `single` or `multi`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "single" => Some(Cardinality::Single),
            "multi" => Some(Cardinality::Multi),
            _ => None,
        }
    }
}

/// How far a fact may be trusted, from usable to unusable.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Quarantine {
    /// Undisputed.
    #[default]
    None,
    /// Disputed (in an open conflict): usable with care.
    Conservative,
    /// Challenged and not supported since: needs a witness.
    RequiresWitness,
    /// Deprecated, retracted or blocked: not to be used.
    Blocked,
}

impl Quarantine {
    /// All levels, least restrictive first.
    pub const ALL: [Quarantine; 4] = [
        Quarantine::None,
        Quarantine::Conservative,
        Quarantine::RequiresWitness,
        Quarantine::Blocked,
    ];

    /// `none`, `conservative`, `requires-witness` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Quarantine::None => "none",
            Quarantine::Conservative => "conservative",
            Quarantine::RequiresWitness => "requires-witness",
            Quarantine::Blocked => "blocked",
        }
    }

    /// Parses a name of [`Self::as_str`] (`_` for `-` accepted).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase().replace('_', "-");
        Quarantine::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

impl fmt::Display for Quarantine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a fact is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FactStatus {
    /// Believed (within its validity window).
    #[default]
    Believed,
    /// Lost a conflict resolution.
    Deprecated,
    /// Withdrawn by a writer.
    Retracted,
}

impl FactStatus {
    /// `believed`, `deprecated` or `retracted`.
    pub fn as_str(self) -> &'static str {
        match self {
            FactStatus::Believed => "believed",
            FactStatus::Deprecated => "deprecated",
            FactStatus::Retracted => "retracted",
        }
    }
}

/// A fact to assert (see [`crate::Namespace::assert_fact`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewFact {
    /// What the fact is about (not empty).
    pub subject: String,
    /// The relation (not empty).
    pub predicate: String,
    /// The value.
    pub object: String,
    /// Where it holds (a conversation, a source, a world). Default
    /// [`DEFAULT_CONTEXT`].
    pub context: String,
    /// How sure the writer is, in `[0, 1]`. Default 1.
    pub confidence: f32,
    /// When it is true. Default: always.
    pub valid: Validity,
    /// Memories it was drawn from (each must be live).
    pub evidence: Vec<MemoryId>,
}

/// The context of facts asserted without one.
pub const DEFAULT_CONTEXT: &str = "default";

impl NewFact {
    /// A fact in the default context, fully confident, always valid.
    pub fn new(
        subject: impl Into<String>,
        predicate: impl Into<String>,
        object: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            predicate: predicate.into(),
            object: object.into(),
            context: DEFAULT_CONTEXT.to_owned(),
            confidence: 1.0,
            valid: Validity::default(),
            evidence: Vec::new(),
        }
    }

    /// Sets the context.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// Sets the confidence.
    pub fn confidence(mut self, confidence: f32) -> Self {
        self.confidence = confidence;
        self
    }

    /// Sets when it starts to hold.
    pub fn valid_from(mut self, from: Timestamp) -> Self {
        self.valid.from = Some(from);
        self
    }

    /// Sets when it stops holding.
    pub fn valid_until(mut self, until: Timestamp) -> Self {
        self.valid.until = Some(until);
        self
    }

    /// Adds evidence.
    pub fn evidence(mut self, ids: impl IntoIterator<Item = MemoryId>) -> Self {
        self.evidence.extend(ids);
        self
    }
}

/// One change in a fact's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FactEvent {
    /// Asserted (the first entry).
    Asserted,
    /// A later fact closed its validity window (a knowledge update).
    Superseded {
        /// The newer fact.
        by: FactId,
        /// Where the window now ends.
        until: Timestamp,
    },
    /// It joined a conflict.
    ConflictOpened {
        /// The conflict.
        conflict: ConflictId,
        /// The other fact.
        with: FactId,
        /// The verifier's reason.
        reason: String,
    },
    /// A conflict it was in was resolved with it accepted (or untouched).
    ConflictClosed {
        /// The conflict.
        conflict: ConflictId,
    },
    /// Lost a conflict resolution.
    Deprecated {
        /// The conflict whose resolution deprecated it.
        conflict: ConflictId,
        /// Why.
        rationale: String,
    },
    /// Challenged.
    Challenged {
        /// Why.
        reason: String,
    },
    /// Supported with evidence (a witness: lifts a challenge).
    Supported {
        /// The new evidence.
        evidence: Vec<MemoryId>,
        /// A note.
        note: Option<String>,
    },
    /// Quarantine set (or cleared, `None`) explicitly.
    Quarantined {
        /// The level, or `None` to go back to the derived level.
        level: Option<Quarantine>,
        /// Why.
        reason: String,
    },
    /// Retracted.
    Retracted {
        /// Why.
        reason: String,
    },
}

/// One entry of a fact's history: what changed, by which event, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactChange {
    /// The event's log seq.
    pub seq: u64,
    /// When the namespace recorded it.
    pub recorded: Timestamp,
    /// What happened.
    pub event: FactEvent,
}

/// A fact's changeable state, folded from its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FactState {
    valid: Validity,
    status: FactStatus,
    open_conflicts: u32,
    challenged: bool,
    explicit: Option<Quarantine>,
    evidence: Vec<MemoryId>,
    superseded_by: Option<FactId>,
}

impl FactState {
    fn apply(&mut self, event: &FactEvent) {
        match event {
            FactEvent::Asserted => {}
            FactEvent::Superseded { by, until } => {
                self.valid.until = Some(self.valid.until.map_or(*until, |u| u.min(*until)));
                self.superseded_by = Some(*by);
            }
            FactEvent::ConflictOpened { .. } => self.open_conflicts += 1,
            FactEvent::ConflictClosed { .. } => {
                self.open_conflicts = self.open_conflicts.saturating_sub(1);
            }
            FactEvent::Deprecated { .. } => {
                self.open_conflicts = self.open_conflicts.saturating_sub(1);
                self.status = FactStatus::Deprecated;
            }
            FactEvent::Challenged { .. } => self.challenged = true,
            FactEvent::Supported { evidence, .. } => {
                self.challenged = false;
                for id in evidence {
                    if !self.evidence.contains(id) {
                        self.evidence.push(*id);
                    }
                }
            }
            FactEvent::Quarantined { level, .. } => self.explicit = *level,
            FactEvent::Retracted { .. } => self.status = FactStatus::Retracted,
        }
    }

    fn quarantine(&self) -> Quarantine {
        if self.status != FactStatus::Believed {
            return Quarantine::Blocked;
        }
        if let Some(level) = self.explicit {
            return level;
        }
        if self.challenged {
            Quarantine::RequiresWitness
        } else if self.open_conflicts > 0 {
            Quarantine::Conservative
        } else {
            Quarantine::None
        }
    }
}

/// A fact as the namespace holds it (at some point on the recorded clock:
/// now, unless read with [`FactQuery::known_at`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Assigned by the namespace.
    pub id: FactId,
    /// What it is about.
    pub subject: String,
    /// The relation.
    pub predicate: String,
    /// The value.
    pub object: String,
    /// Where it holds.
    pub context: String,
    /// How sure its writer was.
    pub confidence: f32,
    /// Its validity window as asserted.
    pub asserted_valid: Validity,
    /// Its validity window now (a later fact may have closed it).
    pub valid: Validity,
    /// Believed, deprecated or retracted.
    pub status: FactStatus,
    /// How far it may be trusted.
    pub quarantine: Quarantine,
    /// The memories it was asserted with.
    pub asserted_evidence: Vec<MemoryId>,
    /// Those and the memories later support added.
    pub evidence: Vec<MemoryId>,
    /// The fact that closed its window, if one did.
    pub superseded_by: Option<FactId>,
    /// The facts whose windows its assertion closed.
    pub supersedes: Vec<FactId>,
    /// Every conflict it was part of.
    pub conflicts: Vec<ConflictId>,
    /// Log seq of the assert event.
    pub seq: u64,
    /// When it was recorded.
    pub recorded: Timestamp,
    /// Every change, oldest first (the first is the assertion).
    pub history: Vec<FactChange>,
}

impl Fact {
    /// Whether it is believed and valid at `t`.
    pub fn holds_at(&self, t: Timestamp) -> bool {
        self.status == FactStatus::Believed && self.valid.contains(t)
    }

    fn initial_state(&self) -> FactState {
        FactState {
            valid: self.asserted_valid,
            status: FactStatus::Believed,
            open_conflicts: 0,
            challenged: false,
            explicit: None,
            evidence: self.asserted_evidence.clone(),
            superseded_by: None,
        }
    }

    fn set_state(&mut self, s: &FactState) {
        self.valid = s.valid;
        self.status = s.status;
        self.quarantine = s.quarantine();
        self.evidence.clone_from(&s.evidence);
        self.superseded_by = s.superseded_by;
    }

    /// The fact as the namespace held it at recorded time `t` (`None` when
    /// it was not yet recorded).
    pub fn known_at(&self, t: Timestamp) -> Option<Fact> {
        if self.recorded > t {
            return None;
        }
        let mut state = self.initial_state();
        let mut out = self.clone();
        out.history.retain(|c| c.recorded <= t);
        for c in &out.history {
            state.apply(&c.event);
        }
        out.set_state(&state);
        out.conflicts = out
            .history
            .iter()
            .filter_map(|c| match &c.event {
                FactEvent::ConflictOpened { conflict, .. } => Some(*conflict),
                _ => None,
            })
            .collect();
        Some(out)
    }

    fn state(&self) -> FactState {
        let mut state = self.initial_state();
        for c in &self.history {
            state.apply(&c.event);
        }
        state
    }
}

/// A new fact as the verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    /// Subject.
    pub subject: &'a str,
    /// Predicate.
    pub predicate: &'a str,
    /// Object.
    pub object: &'a str,
    /// Context.
    pub context: &'a str,
    /// Confidence.
    pub confidence: f32,
    /// Validity.
    pub valid: Validity,
}

impl<'a> From<&'a NewFact> for Proposal<'a> {
    fn from(f: &'a NewFact) -> Self {
        Proposal {
            subject: &f.subject,
            predicate: &f.predicate,
            object: &f.object,
            context: &f.context,
            confidence: f.confidence,
            valid: f.valid,
        }
    }
}

/// What a verifier says of two facts of one key with overlapping windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// They can both be true.
    Compatible,
    /// They contradict each other, and why (empty: the conflict's reason
    /// says which objects differ).
    Incompatible(String),
    /// This verifier has no opinion: ask the next one (the last word is the
    /// default rule's).
    Defer,
}

/// A rule deciding whether two facts contradict each other. Called only
/// for facts of the same `(context, subject, predicate)` whose windows
/// overlap and whose confidences reach the threshold.
pub trait Verifier: Send + Sync {
    /// A short name, for errors and reports.
    fn name(&self) -> &str;
    /// The verdict on `new` given the believed `old`.
    fn verify(&self, cardinality: Cardinality, old: &Fact, new: &Proposal<'_>) -> Verdict;
}

impl fmt::Debug for dyn Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.name())
    }
}

/// The default rule: two different objects of a single-valued predicate
/// contradict each other; multi-valued predicates never do.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultVerifier;

impl Verifier for DefaultVerifier {
    fn name(&self) -> &str {
        "default"
    }

    fn verify(&self, cardinality: Cardinality, old: &Fact, new: &Proposal<'_>) -> Verdict {
        if cardinality == Cardinality::Single && old.object != new.object {
            // No text here: the check stays allocation-free, and the fold
            // words the reason of a conflict it opens (see
            // `FactStore::apply_assert`).
            Verdict::Incompatible(String::new())
        } else {
            Verdict::Compatible
        }
    }
}

/// Numeric objects of the named predicates agree when they differ by at
/// most `tolerance` (`age 41` and `age 41.5` with tolerance 1), and
/// contradict each other otherwise. Other predicates and non-numeric
/// objects are deferred.
#[derive(Debug, Clone)]
pub struct NumericTolerance {
    /// The predicates it judges.
    pub predicates: Vec<String>,
    /// The largest difference that still agrees.
    pub tolerance: f64,
}

impl Verifier for NumericTolerance {
    fn name(&self) -> &str {
        "numeric-tolerance"
    }

    fn verify(&self, _: Cardinality, old: &Fact, new: &Proposal<'_>) -> Verdict {
        if !self.predicates.iter().any(|p| p == new.predicate) {
            return Verdict::Defer;
        }
        match (
            old.object.trim().parse::<f64>(),
            new.object.trim().parse::<f64>(),
        ) {
            (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() => {
                if (a - b).abs() <= self.tolerance {
                    Verdict::Compatible
                } else {
                    Verdict::Incompatible(format!(
                        "{} {} differs by {} (more than {}) from fact {}",
                        new.subject,
                        new.predicate,
                        (a - b).abs(),
                        self.tolerance,
                        old.id
                    ))
                }
            }
            _ => Verdict::Defer,
        }
    }
}

/// Values of one group exclude each other, even for a multi-valued
/// predicate (`status`: `alive` / `dead`; `diet`: `vegan` / `carnivore`).
/// Values outside every group are deferred.
#[derive(Debug, Clone)]
pub struct MutuallyExclusive {
    /// The predicate it judges.
    pub predicate: String,
    /// Groups of values that exclude each other.
    pub groups: Vec<Vec<String>>,
}

impl Verifier for MutuallyExclusive {
    fn name(&self) -> &str {
        "mutually-exclusive"
    }

    fn verify(&self, _: Cardinality, old: &Fact, new: &Proposal<'_>) -> Verdict {
        if self.predicate != new.predicate {
            return Verdict::Defer;
        }
        let group_of = |v: &str| self.groups.iter().position(|g| g.iter().any(|x| x == v));
        match (group_of(&old.object), group_of(new.object)) {
            (Some(a), Some(b)) if a == b && old.object != new.object => {
                Verdict::Incompatible(format!(
                    "{} {}: {:?} (fact {}) and {:?} exclude each other",
                    new.subject, new.predicate, old.object, old.id, new.object
                ))
            }
            (Some(a), Some(b)) if a == b => Verdict::Compatible,
            _ => Verdict::Defer,
        }
    }
}

/// Asks each verifier in turn; the first that does not defer decides, and
/// [`DefaultVerifier`] decides when all defer.
#[derive(Clone, Default)]
pub struct Verifiers(pub Vec<Arc<dyn Verifier>>);

impl fmt::Debug for Verifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|v| v.name()))
            .finish()
    }
}

impl Verifier for Verifiers {
    fn name(&self) -> &str {
        "chain"
    }

    fn verify(&self, cardinality: Cardinality, old: &Fact, new: &Proposal<'_>) -> Verdict {
        for v in &self.0 {
            match v.verify(cardinality, old, new) {
                Verdict::Defer => {}
                verdict => return verdict,
            }
        }
        DefaultVerifier.verify(cardinality, old, new)
    }
}

/// Where a conflict is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictState {
    /// Found at write time, not yet looked at.
    Detected,
    /// One of its facts was challenged.
    Challenged,
    /// Resolved.
    Resolved,
}

impl ConflictState {
    /// `detected`, `challenged` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictState::Detected => "detected",
            ConflictState::Challenged => "challenged",
            ConflictState::Resolved => "resolved",
        }
    }
}

/// How a conflict was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// Facts kept.
    pub accepted: Vec<FactId>,
    /// Facts deprecated.
    pub deprecated: Vec<FactId>,
    /// Why.
    pub rationale: String,
    /// The resolving event's seq.
    pub seq: u64,
    /// When it was recorded.
    pub recorded: Timestamp,
    /// Whether it was closed because one of its facts was deprecated or
    /// retracted elsewhere (no resolve event names it).
    pub automatic: bool,
}

/// Two believed facts of one key that contradict each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Assigned by the namespace.
    pub id: ConflictId,
    /// The key's context.
    pub context: String,
    /// The key's subject.
    pub subject: String,
    /// The key's predicate.
    pub predicate: String,
    /// The older fact and the newer one.
    pub facts: [FactId; 2],
    /// The verifier's reason.
    pub reason: String,
    /// Detected, challenged or resolved.
    pub state: ConflictState,
    /// Seq of the assert event that opened it.
    pub seq: u64,
    /// When it was opened.
    pub recorded: Timestamp,
    /// Challenges made to its facts while it was open: (fact, reason, seq).
    pub challenges: Vec<(FactId, String, u64)>,
    /// How it was resolved.
    pub resolution: Option<Resolution>,
}

impl Conflict {
    /// Whether it is not resolved yet.
    pub fn is_open(&self) -> bool {
        self.state != ConflictState::Resolved
    }
}

/// What the coherence check decided for a new fact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Believed facts whose windows the new fact closes.
    pub supersedes: Vec<FactId>,
    /// Believed facts it contradicts, with the verifier's reasons.
    pub conflicts: Vec<(FactId, String)>,
}

/// A read of facts (see [`crate::Namespace::facts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FactQuery {
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this predicate.
    pub predicate: Option<String>,
    /// Only this context.
    pub context: Option<String>,
    /// Only facts valid at this time (the validity clock).
    pub valid_at: Option<Timestamp>,
    /// As the namespace held them at this time (the recorded clock).
    /// Default: now.
    pub known_at: Option<Timestamp>,
    /// The least trusted level returned. Default
    /// [`Quarantine::Conservative`].
    pub max_quarantine: Quarantine,
    /// Also deprecated and retracted facts (and any quarantine level).
    pub include_inactive: bool,
}

impl Default for FactQuery {
    fn default() -> Self {
        Self {
            subject: None,
            predicate: None,
            context: None,
            valid_at: None,
            known_at: None,
            max_quarantine: Quarantine::Conservative,
            include_inactive: false,
        }
    }
}

impl FactQuery {
    /// All believed facts admitted by the default level.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only facts about `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Only facts of `predicate`.
    pub fn predicate(mut self, predicate: impl Into<String>) -> Self {
        self.predicate = Some(predicate.into());
        self
    }

    /// Only facts in `context`.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Only facts valid at `t`.
    pub fn valid_at(mut self, t: Timestamp) -> Self {
        self.valid_at = Some(t);
        self
    }

    /// As held at recorded time `t`.
    pub fn known_at(mut self, t: Timestamp) -> Self {
        self.known_at = Some(t);
        self
    }

    /// Admits facts up to `level`.
    pub fn max_quarantine(mut self, level: Quarantine) -> Self {
        self.max_quarantine = level;
        self
    }

    /// Includes deprecated and retracted facts.
    pub fn include_inactive(mut self) -> Self {
        self.include_inactive = true;
        self
    }

    fn admits(&self, f: &Fact) -> bool {
        self.subject.as_ref().is_none_or(|s| *s == f.subject)
            && self.predicate.as_ref().is_none_or(|p| *p == f.predicate)
            && self.context.as_ref().is_none_or(|c| *c == f.context)
            && self.valid_at.is_none_or(|t| f.valid.contains(t))
            && (self.include_inactive
                || (f.status == FactStatus::Believed && f.quarantine <= self.max_quarantine))
    }
}

/// Which clock [`crate::Namespace::as_of`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// What was true at the time, as the namespace knows it now.
    Valid,
    /// What the namespace believed at the time to be true then.
    Recorded,
}

/// The key hash of `(context, subject, predicate)`.
fn key_hash(context: &str, subject: &str, predicate: &str) -> u64 {
    use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};
    xxh3_64_with_seed(
        predicate.as_bytes(),
        xxh3_64_with_seed(subject.as_bytes(), xxh3_64(context.as_bytes())),
    )
}

/// The hash of a subject in the subject index.
fn subject_hash(subject: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(subject.as_bytes())
}

/// Whether two windows share an instant.
pub fn overlaps(a: &Validity, b: &Validity) -> bool {
    let starts_before_end = |from: Option<Timestamp>, until: Option<Timestamp>| match (from, until)
    {
        (Some(f), Some(u)) => f < u,
        _ => true,
    };
    starts_before_end(a.from, b.until) && starts_before_end(b.from, a.until)
}

/// Whether `new` starts strictly after `old` (an open start is the
/// earliest).
fn starts_later(new: &Validity, old: &Validity) -> bool {
    match (new.from, old.from) {
        (Some(n), Some(o)) => n > o,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// A believed fact in the key index, with copies of what the check reads
/// first (so most facts are ruled out without touching them).
#[derive(Debug, Clone, Copy)]
struct KeyEntry {
    id: FactId,
    valid: Validity,
    confidence: f32,
}

/// The believed facts of one key, with the key itself (compared once per
/// check instead of once per fact).
#[derive(Debug, Clone)]
struct KeyBucket {
    /// `context`, `subject` and `predicate` one after the other.
    key: Box<str>,
    /// Where `subject` and `predicate` start in `key`.
    splits: (usize, usize),
    entries: Vec<KeyEntry>,
}

impl KeyBucket {
    fn new(context: &str, subject: &str, predicate: &str) -> Self {
        let key = [context, subject, predicate].concat().into_boxed_str();
        let a = context.len();
        KeyBucket {
            key,
            splits: (a, a + subject.len()),
            entries: Vec::new(),
        }
    }

    fn holds(&self, context: &str, subject: &str, predicate: &str) -> bool {
        let (a, b) = self.splits;
        self.key.len() == b + predicate.len()
            && self.key.get(..a) == Some(context)
            && self.key.get(a..b) == Some(subject)
            && self.key.get(b..) == Some(predicate)
    }
}

/// What snapshots keep of the store; the indices are rebuilt.
#[derive(Debug, Serialize, Deserialize, Default, PartialEq)]
pub(crate) struct FactsImage {
    facts: Vec<Fact>,
    conflicts: Vec<Conflict>,
    predicates: Vec<(String, Cardinality)>,
    next_fact: u64,
    next_conflict: u64,
}

/// The facts and conflicts of one namespace and their indices (see the
/// module docs). The fold never fails: an event naming an unknown fact or
/// conflict changes nothing.
#[derive(Debug, Clone)]
pub struct FactStore {
    /// Every fact, by id (ids are dense from 1: fact `i` is at `i - 1`).
    facts: Vec<Fact>,
    /// Believed facts by key hash; a bucket holds one key (the first
    /// fact's), and a fact whose key's hash collides with another key's
    /// goes to `key_overflow`.
    by_key: IdMap<KeyBucket>,
    /// Believed facts of keys whose hash collided, by key.
    key_overflow: HashMap<(String, String, String), Vec<KeyEntry>>,
    /// Every fact by subject hash.
    by_subject: IdMap<Vec<FactId>>,
    /// Facts citing each memory.
    by_evidence: IdMap<Vec<FactId>>,
    /// Memories whose every citing fact is above `Quarantine::None`, with
    /// the least of their levels.
    withheld: IdMap<Quarantine>,
    conflicts: BTreeMap<u64, Conflict>,
    open: usize,
    predicates: HashMap<String, Cardinality>,
    next_fact: u64,
    next_conflict: u64,
}

impl Default for FactStore {
    fn default() -> Self {
        Self {
            facts: Vec::new(),
            by_key: IdMap::default(),
            key_overflow: HashMap::new(),
            by_subject: IdMap::default(),
            by_evidence: IdMap::default(),
            withheld: IdMap::default(),
            conflicts: BTreeMap::new(),
            open: 0,
            predicates: HashMap::new(),
            next_fact: 1,
            next_conflict: 1,
        }
    }
}

impl FactStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of facts (any status).
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Conflicts not yet resolved.
    pub fn open_conflicts(&self) -> usize {
        self.open
    }

    /// All conflicts, open or not.
    pub fn conflict_count(&self) -> usize {
        self.conflicts.len()
    }

    /// The id the next fact gets.
    pub fn next_fact_id(&self) -> FactId {
        FactId(self.next_fact)
    }

    /// The id the next conflict gets.
    pub fn next_conflict_id(&self) -> ConflictId {
        ConflictId(self.next_conflict)
    }

    /// A predicate's cardinality.
    pub fn cardinality(&self, predicate: &str) -> Cardinality {
        if self.predicates.is_empty() {
            return Cardinality::Single;
        }
        self.predicates.get(predicate).copied().unwrap_or_default()
    }

    /// Declared predicates, by name.
    pub fn predicates(&self) -> Vec<(String, Cardinality)> {
        let mut out: Vec<_> = self
            .predicates
            .iter()
            .map(|(p, c)| (p.clone(), *c))
            .collect();
        out.sort();
        out
    }

    /// The fact with this id.
    pub fn get(&self, id: FactId) -> Option<&Fact> {
        self.slot(id)
    }

    fn slot(&self, id: FactId) -> Option<&Fact> {
        self.facts.get(usize::try_from(id.0.checked_sub(1)?).ok()?)
    }

    fn slot_mut(&mut self, id: FactId) -> Option<&mut Fact> {
        self.facts
            .get_mut(usize::try_from(id.0.checked_sub(1)?).ok()?)
    }

    /// The conflict with this id.
    pub fn conflict(&self, id: ConflictId) -> Option<&Conflict> {
        self.conflicts.get(&id.0)
    }

    /// Conflicts by id (open ones only when `open_only`).
    pub fn conflicts(&self, open_only: bool) -> impl Iterator<Item = &Conflict> {
        self.conflicts
            .values()
            .filter(move |c| !open_only || c.is_open())
    }

    /// The least quarantine level among the facts citing memory `id` when
    /// it is above [`Quarantine::None`] (recall withholds such memories
    /// above the level it admits).
    pub fn withheld(&self, id: u64) -> Option<Quarantine> {
        self.withheld.get(&id).copied()
    }

    /// The facts that cite memory `id` as evidence (any status), by id.
    pub fn citing(&self, id: MemoryId) -> Vec<&Fact> {
        let mut ids = self.by_evidence.get(&id.0).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|f| self.get(f)).collect()
    }

    /// Whether any memory is withheld at all.
    pub fn withholds_any(&self) -> bool {
        !self.withheld.is_empty()
    }

    /// The believed facts of a key, in id order: the bucket of its hash
    /// when the bucket holds this key (its first fact says), and those of
    /// the collision overflow (empty unless two keys' hashes collided).
    fn key_facts<'a>(
        &'a self,
        context: &str,
        subject: &str,
        predicate: &str,
    ) -> impl Iterator<Item = &'a KeyEntry> + 'a {
        let bucket = self
            .by_key
            .get(&key_hash(context, subject, predicate))
            .filter(|b| b.holds(context, subject, predicate))
            .map_or(&[][..], |b| b.entries.as_slice());
        let overflow = if self.key_overflow.is_empty() {
            &[][..]
        } else {
            self.key_overflow
                .get(&(context.to_owned(), subject.to_owned(), predicate.to_owned()))
                .map_or(&[][..], Vec::as_slice)
        };
        bucket.iter().chain(overflow)
    }

    /// The coherence check of a new fact (see the module docs): O(k) in the
    /// believed facts of its key.
    pub fn check(&self, new: &Proposal<'_>, verifier: &dyn Verifier, threshold: f32) -> Decision {
        let mut decision = Decision::default();
        self.check_into(new, verifier, threshold, &mut decision);
        decision
    }

    /// [`Self::check`] into a reused `decision` (cleared first), so a
    /// caller checking many facts allocates nothing.
    pub fn check_into(
        &self,
        new: &Proposal<'_>,
        verifier: &dyn Verifier,
        threshold: f32,
        decision: &mut Decision,
    ) {
        decision.supersedes.clear();
        decision.conflicts.clear();
        if new.confidence < threshold {
            return;
        }
        let cardinality = self.cardinality(new.predicate);
        for entry in self.key_facts(new.context, new.subject, new.predicate) {
            // The entry's copy of the window and confidence rules out most
            // facts without reading them.
            if entry.confidence < threshold || !overlaps(&entry.valid, &new.valid) {
                continue;
            }
            let Some(old) = self.slot(entry.id) else {
                continue;
            };
            if old.status != FactStatus::Believed {
                continue;
            }
            match verifier.verify(cardinality, old, new) {
                Verdict::Incompatible(reason) => {
                    if starts_later(&new.valid, &old.valid) {
                        decision.supersedes.push(old.id);
                    } else {
                        decision.conflicts.push((old.id, reason));
                    }
                }
                Verdict::Compatible | Verdict::Defer => {}
            }
        }
    }

    /// Folds a predicate declaration.
    pub fn declare(&mut self, predicate: &str, cardinality: Cardinality) {
        match cardinality {
            Cardinality::Single => self.predicates.remove(predicate),
            Cardinality::Multi => self.predicates.insert(predicate.to_owned(), cardinality),
        };
    }

    /// Folds an assertion (whose decisions the writer made). Returns false
    /// (and changes nothing) when its ids are not the next ones.
    pub fn apply_assert(&mut self, seq: u64, recorded: Timestamp, a: &AssertFact) -> bool {
        if a.id.0 != self.next_fact
            || a.conflicts
                .iter()
                .enumerate()
                .any(|(i, c)| c.id.0 != self.next_conflict + i as u64)
        {
            return false;
        }
        self.next_fact += 1;
        let mut fact = Fact {
            id: a.id,
            subject: a.subject.clone(),
            predicate: a.predicate.clone(),
            object: a.object.clone(),
            context: a.context.clone(),
            confidence: a.confidence,
            asserted_valid: a.valid,
            valid: a.valid,
            status: FactStatus::Believed,
            quarantine: Quarantine::None,
            asserted_evidence: a.evidence.clone(),
            evidence: a.evidence.clone(),
            superseded_by: None,
            supersedes: Vec::new(),
            conflicts: Vec::new(),
            seq,
            recorded,
            history: vec![FactChange {
                seq,
                recorded,
                event: FactEvent::Asserted,
            }],
        };
        let until = a.valid.from.unwrap_or(Timestamp::MIN);
        let hash = key_hash(&a.context, &a.subject, &a.predicate);
        for old in &a.supersedes {
            if self.change_keyed(
                *old,
                seq,
                recorded,
                FactEvent::Superseded { by: a.id, until },
                Some(hash),
            ) {
                fact.supersedes.push(*old);
            }
        }
        for c in &a.conflicts {
            self.next_conflict = c.id.0 + 1;
            let Some(other) = self.slot(c.with) else {
                continue;
            };
            if other.status != FactStatus::Believed {
                continue;
            }
            let reason = if c.reason.is_empty() {
                format!(
                    "{} {} is {:?} (fact {}) and {:?} (fact {}) at once",
                    a.subject, a.predicate, other.object, other.id, a.object, a.id
                )
            } else {
                c.reason.clone()
            };
            self.conflicts.insert(
                c.id.0,
                Conflict {
                    id: c.id,
                    context: a.context.clone(),
                    subject: a.subject.clone(),
                    predicate: a.predicate.clone(),
                    facts: [c.with, a.id],
                    reason: reason.clone(),
                    state: ConflictState::Detected,
                    seq,
                    recorded,
                    challenges: Vec::new(),
                    resolution: None,
                },
            );
            self.open += 1;
            self.change(
                c.with,
                seq,
                recorded,
                FactEvent::ConflictOpened {
                    conflict: c.id,
                    with: a.id,
                    reason: reason.clone(),
                },
            );
            let event = FactEvent::ConflictOpened {
                conflict: c.id,
                with: c.with,
                reason: reason.clone(),
            };
            fact.history.push(FactChange {
                seq,
                recorded,
                event,
            });
            fact.conflicts.push(c.id);
        }
        let state = fact.state();
        fact.set_state(&state);
        self.index(&fact);
        let evidence = fact.evidence.clone();
        self.facts.push(fact);
        for m in evidence {
            self.reassess(m);
        }
        true
    }

    fn index(&mut self, f: &Fact) {
        if f.status == FactStatus::Believed {
            let hash = key_hash(&f.context, &f.subject, &f.predicate);
            let entry = KeyEntry {
                id: f.id,
                valid: f.valid,
                confidence: f.confidence,
            };
            let bucket = self
                .by_key
                .entry(hash)
                .or_insert_with(|| KeyBucket::new(&f.context, &f.subject, &f.predicate));
            if bucket.holds(&f.context, &f.subject, &f.predicate) {
                bucket.entries.push(entry);
            } else {
                self.key_overflow
                    .entry((f.context.clone(), f.subject.clone(), f.predicate.clone()))
                    .or_default()
                    .push(entry);
            }
        }
        self.by_subject
            .entry(subject_hash(&f.subject))
            .or_default()
            .push(f.id);
        for m in &f.evidence {
            let cited = self.by_evidence.entry(m.0).or_default();
            if !cited.contains(&f.id) {
                cited.push(f.id);
            }
        }
    }

    /// Records `event` in fact `id`'s history and updates its state and
    /// the indices that depend on it. Returns false for an unknown fact.
    fn change(&mut self, id: FactId, seq: u64, recorded: Timestamp, event: FactEvent) -> bool {
        self.change_keyed(id, seq, recorded, event, None)
    }

    /// [`Self::change`] of a fact whose key hash the caller knows.
    fn change_keyed(
        &mut self,
        id: FactId,
        seq: u64,
        recorded: Timestamp,
        event: FactEvent,
        known_hash: Option<u64>,
    ) -> bool {
        let Some(fact) = self.slot_mut(id) else {
            return false;
        };
        let was_believed = fact.status == FactStatus::Believed;
        let was_valid = fact.valid;
        let mut state = fact.state();
        state.apply(&event);
        if let FactEvent::ConflictOpened { conflict, .. } = &event {
            fact.conflicts.push(*conflict);
        }
        fact.history.push(FactChange {
            seq,
            recorded,
            event,
        });
        let before: Vec<MemoryId> = fact.evidence.clone();
        fact.set_state(&state);
        let now_believed = fact.status == FactStatus::Believed;
        let valid = fact.valid;
        let evidence = fact.evidence.clone();
        let reindex = if was_believed && !now_believed {
            Some(None)
        } else if now_believed && valid != was_valid {
            Some(Some(valid))
        } else {
            None
        };
        if let Some(valid) = reindex {
            let hash = known_hash
                .unwrap_or_else(|| key_hash(&fact.context, &fact.subject, &fact.predicate));
            self.reindex_key(hash, id, valid);
        }
        for m in evidence.iter().filter(|m| !before.contains(m)) {
            let cited = self.by_evidence.entry(m.0).or_default();
            if !cited.contains(&id) {
                cited.push(id);
            }
        }
        for m in evidence {
            self.reassess(m);
        }
        true
    }

    /// Updates fact `id`'s entry in the key index: its new window, or
    /// (`None`) removes it because the fact is no longer believed.
    fn reindex_key(&mut self, hash: u64, id: FactId, valid: Option<Validity>) {
        let in_hinted = self
            .by_key
            .get(&hash)
            .is_some_and(|b| b.entries.iter().any(|e| e.id == id));
        // A hint from a log naming facts of another key is ignored.
        let hash = match self.slot(id) {
            Some(f) if !in_hinted => key_hash(&f.context, &f.subject, &f.predicate),
            _ => hash,
        };
        let in_bucket = self
            .by_key
            .get(&hash)
            .is_some_and(|b| b.entries.iter().any(|e| e.id == id));
        let key = match self.slot(id) {
            Some(f) if !in_bucket => (f.context.clone(), f.subject.clone(), f.predicate.clone()),
            _ => Default::default(),
        };
        let entries = if in_bucket {
            self.by_key.get_mut(&hash).map(|b| &mut b.entries)
        } else {
            self.key_overflow.get_mut(&key)
        };
        let Some(entries) = entries else {
            return;
        };
        match valid {
            Some(valid) => {
                if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
                    e.valid = valid;
                }
            }
            None => {
                entries.retain(|e| e.id != id);
                if entries.is_empty() {
                    if in_bucket {
                        self.by_key.remove(&hash);
                    } else {
                        self.key_overflow.remove(&key);
                    }
                }
            }
        }
    }

    /// Recomputes whether memory `m` is withheld.
    fn reassess(&mut self, m: MemoryId) {
        let level = self
            .by_evidence
            .get(&m.0)
            .into_iter()
            .flatten()
            .filter_map(|f| self.slot(*f))
            .map(|f| f.quarantine)
            .min();
        match level {
            Some(l) if l > Quarantine::None => {
                self.withheld.insert(m.0, l);
            }
            _ => {
                self.withheld.remove(&m.0);
            }
        }
    }

    /// Folds a challenge of fact `id`: its open conflicts become
    /// challenged.
    pub(crate) fn apply_challenge(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        reason: &str,
    ) {
        let Some(fact) = self.slot(id) else {
            return;
        };
        for c in fact.conflicts.clone() {
            if let Some(conflict) = self.conflicts.get_mut(&c.0)
                && conflict.is_open()
            {
                conflict.state = ConflictState::Challenged;
                conflict.challenges.push((id, reason.to_owned(), seq));
            }
        }
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Challenged {
                reason: reason.to_owned(),
            },
        );
    }

    /// Folds support of fact `id` with more evidence.
    pub(crate) fn apply_support(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        evidence: &[MemoryId],
        note: Option<&str>,
    ) {
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Supported {
                evidence: evidence.to_vec(),
                note: note.map(str::to_owned),
            },
        );
    }

    /// Folds an explicit quarantine level of fact `id`.
    pub(crate) fn apply_quarantine(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        level: Option<Quarantine>,
        reason: &str,
    ) {
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Quarantined {
                level,
                reason: reason.to_owned(),
            },
        );
    }

    /// Folds the resolution of conflict `id`.
    pub(crate) fn apply_resolve(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: ConflictId,
        accepted: &[FactId],
        deprecated: &[FactId],
        rationale: &str,
    ) {
        let Some(conflict) = self.conflicts.get_mut(&id.0) else {
            return;
        };
        if !conflict.is_open() {
            return;
        }
        conflict.state = ConflictState::Resolved;
        conflict.resolution = Some(Resolution {
            accepted: accepted.to_vec(),
            deprecated: deprecated.to_vec(),
            rationale: rationale.to_owned(),
            seq,
            recorded,
            automatic: false,
        });
        self.open -= 1;
        let facts = conflict.facts;
        for f in facts {
            if deprecated.contains(&f) {
                self.deprecate(seq, recorded, f, id, rationale);
            } else {
                self.change(f, seq, recorded, FactEvent::ConflictClosed { conflict: id });
            }
        }
    }

    /// Folds a retraction of fact `id`.
    pub(crate) fn apply_retract(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        id: FactId,
        reason: &str,
    ) {
        if self
            .slot(id)
            .is_none_or(|f| f.status != FactStatus::Believed)
        {
            return;
        }
        self.change(
            id,
            seq,
            recorded,
            FactEvent::Retracted {
                reason: reason.to_owned(),
            },
        );
        self.close_conflicts_of(seq, recorded, id, &format!("fact {id} was retracted"));
    }

    /// Deprecates fact `f` (by conflict `by`) and closes its other open
    /// conflicts.
    fn deprecate(
        &mut self,
        seq: u64,
        recorded: Timestamp,
        f: FactId,
        by: ConflictId,
        rationale: &str,
    ) {
        self.change(
            f,
            seq,
            recorded,
            FactEvent::Deprecated {
                conflict: by,
                rationale: rationale.to_owned(),
            },
        );
        self.close_conflicts_of(seq, recorded, f, &format!("fact {f} was deprecated"));
    }

    /// Resolves automatically the open conflicts of fact `f`, which is no
    /// longer believed: the other side stays believed.
    fn close_conflicts_of(&mut self, seq: u64, recorded: Timestamp, f: FactId, rationale: &str) {
        let Some(fact) = self.slot(f) else {
            return;
        };
        for c in fact.conflicts.clone() {
            let Some(conflict) = self.conflicts.get_mut(&c.0) else {
                continue;
            };
            if !conflict.is_open() {
                continue;
            }
            conflict.state = ConflictState::Resolved;
            let others: Vec<FactId> = conflict.facts.iter().copied().filter(|x| *x != f).collect();
            conflict.resolution = Some(Resolution {
                accepted: Vec::new(),
                deprecated: vec![f],
                rationale: rationale.to_owned(),
                seq,
                recorded,
                automatic: true,
            });
            self.open -= 1;
            for o in others {
                self.change(o, seq, recorded, FactEvent::ConflictClosed { conflict: c });
            }
        }
    }

    /// Facts a query admits, by id. With a subject, only that subject's
    /// facts are read; otherwise every fact is.
    pub fn query(&self, q: &FactQuery) -> Vec<Fact> {
        let pick = |f: &Fact| -> Option<Fact> {
            match q.known_at {
                Some(t) => f.known_at(t).filter(|f| q.admits(f)),
                None => q.admits(f).then(|| f.clone()),
            }
        };
        let mut out: Vec<Fact> = match &q.subject {
            Some(s) => self
                .by_subject
                .get(&subject_hash(s))
                .into_iter()
                .flatten()
                .filter_map(|id| self.slot(*id))
                .filter_map(pick)
                .collect(),
            None => self.facts.iter().filter_map(pick).collect(),
        };
        out.sort_unstable_by_key(|f| f.id);
        out
    }

    /// Every fact of `subject` and `predicate` (any context and status),
    /// oldest first.
    pub fn timeline(&self, subject: &str, predicate: &str) -> Vec<&Fact> {
        let mut out: Vec<&Fact> = self
            .by_subject
            .get(&subject_hash(subject))
            .into_iter()
            .flatten()
            .filter_map(|id| self.slot(*id))
            .filter(|f| f.subject == subject && f.predicate == predicate)
            .collect();
        out.sort_unstable_by_key(|f| f.id);
        out
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        let fact_bytes: usize = self
            .facts
            .iter()
            .map(|f| {
                std::mem::size_of::<Fact>()
                    + f.subject.len()
                    + f.predicate.len()
                    + f.object.len()
                    + f.context.len()
                    + f.evidence.len() * 8
                    + f.history.len() * std::mem::size_of::<FactChange>()
            })
            .sum();
        fact_bytes
            + self.by_key.len() * 48
            + self.by_subject.len() * 64
            + self.conflicts.len() * std::mem::size_of::<Conflict>()
    }

    /// What a snapshot keeps.
    pub(crate) fn image(&self) -> FactsImage {
        FactsImage {
            facts: self.facts.clone(),
            conflicts: self.conflicts.values().cloned().collect(),
            predicates: self.predicates(),
            next_fact: self.next_fact,
            next_conflict: self.next_conflict,
        }
    }

    /// Rebuilds a store (and its indices) from a snapshot image.
    pub(crate) fn from_image(image: FactsImage) -> Result<Self, String> {
        let mut store = FactStore {
            next_fact: image.next_fact,
            next_conflict: image.next_conflict,
            predicates: image.predicates.into_iter().collect(),
            ..FactStore::default()
        };
        for f in image.facts {
            if f.id.0 != store.facts.len() as u64 + 1 || f.id.0 >= store.next_fact {
                return Err(format!("fact {} is out of order", f.id));
            }
            store.index(&f);
            store.facts.push(f);
        }
        if store.facts.len() as u64 + 1 != store.next_fact {
            return Err("facts are missing".into());
        }
        for c in image.conflicts {
            if c.id.0 >= store.next_conflict || c.facts.iter().any(|f| store.get(*f).is_none()) {
                return Err(format!("conflict {} names unknown facts", c.id));
            }
            if c.is_open() {
                store.open += 1;
            }
            store.conflicts.insert(c.id.0, c);
        }
        let cited: Vec<u64> = store.by_evidence.keys().copied().collect();
        for m in cited {
            store.reassess(MemoryId(m));
        }
        Ok(store)
    }
}
