//! A fact and its life: what a writer asserts ([`NewFact`]), how the
//! namespace holds it ([`Fact`]), the changes it goes through
//! ([`FactEvent`]) and the status and quarantine level those changes fold
//! into.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::base::{ConflictId, FactId};
use crate::input::{Invalid, Limits, validate_label, validate_text, validate_unit};
use crate::model::{MemoryId, Timestamp, Validity};

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
    /// Checks every field against `limits`, naming the first bad one: the
    /// check [`crate::Namespace::assert_fact`] runs (which also checks that
    /// the evidence is live and within [`crate::MAX_EVIDENCE`]).
    pub fn validate(&self, limits: &Limits) -> Result<(), Invalid> {
        validate_label("subject", self.subject.trim())?;
        validate_label("predicate", self.predicate.trim())?;
        validate_label("context", self.context.trim())?;
        if self.object.trim().is_empty() {
            return Err(Invalid::new("object", "it is empty"));
        }
        validate_text("object", &self.object, limits)?;
        validate_unit("confidence", self.confidence)?;
        if let (Some(from), Some(until)) = (self.valid.from, self.valid.until)
            && until <= from
        {
            return Err(Invalid::new(
                "validity",
                format!("it ends ({}) before it starts ({})", until.0, from.0),
            ));
        }
        Ok(())
    }
}

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
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FactState {
    valid: Validity,
    status: FactStatus,
    open_conflicts: u32,
    challenged: bool,
    explicit: Option<Quarantine>,
    evidence: Vec<MemoryId>,
    superseded_by: Option<FactId>,
}

impl FactState {
    /// Folds one change.
    pub(super) fn apply(&mut self, event: &FactEvent) {
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

    /// The level the state derives (an explicit level wins unless the
    /// fact is no longer believed).
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
    /// The memories of `evidence` forgotten since, in increasing order:
    /// their content is erased, while their ids stay in `evidence` and in
    /// the history. Derived from the memories' liveness (a snapshot does
    /// not store it).
    #[serde(skip)]
    pub erased_evidence: Vec<MemoryId>,
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

    /// The state before any change: as asserted.
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

    /// Copies a folded state into the fact's public fields.
    pub(super) fn set_state(&mut self, s: &FactState) {
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

    /// The state folded from the whole history.
    pub(super) fn state(&self) -> FactState {
        let mut state = self.initial_state();
        for c in &self.history {
            state.apply(&c.event);
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::fixture::{Writer, at, window};

    #[test]
    fn names_parse_back() {
        for c in [Cardinality::Single, Cardinality::Multi] {
            assert_eq!(Cardinality::parse(c.as_str()), Some(c));
        }
        assert_eq!(Cardinality::parse("MULTI"), Some(Cardinality::Multi));
        assert_eq!(Cardinality::parse("many"), None);
        for q in Quarantine::ALL {
            assert_eq!(Quarantine::parse(q.as_str()), Some(q));
            assert_eq!(q.to_string(), q.as_str());
        }
        assert_eq!(
            Quarantine::parse("Requires_Witness"),
            Some(Quarantine::RequiresWitness)
        );
        assert_eq!(Quarantine::parse("quarantined"), None);
        assert!(
            Quarantine::ALL.windows(2).all(|w| w[0] < w[1]),
            "least first"
        );
        assert_eq!(FactStatus::Retracted.as_str(), "retracted");
    }

    #[test]
    fn a_new_fact_is_certain_always_valid_and_in_the_default_context() {
        let f = NewFact::new("alice", "lives_in", "Paris");
        assert_eq!(f.context, DEFAULT_CONTEXT);
        assert_eq!(f.confidence, 1.0);
        assert_eq!(f.valid, window(None, None));
        assert!(f.evidence.is_empty());
        let f = f
            .context("work")
            .valid_from(at(1))
            .valid_until(at(5))
            .evidence([MemoryId(2)])
            .evidence([MemoryId(3)]);
        assert_eq!(f.context, "work");
        assert_eq!(f.valid, window(Some(1), Some(5)));
        assert_eq!(f.evidence, [MemoryId(2), MemoryId(3)]);
    }

    /// The state of a fresh fact of `evidence` (fact 1 of a new store).
    fn fresh(evidence: &[u64]) -> (Fact, FactState) {
        let mut w = Writer::new();
        let a = w.assert(
            NewFact::new("alice", "lives_in", "Paris")
                .valid_from(at(10))
                .evidence(evidence.iter().map(|m| MemoryId(*m))),
        );
        let fact = w.fact(a.id).clone();
        let state = fact.state();
        (fact, state)
    }

    fn opened(conflict: u64) -> FactEvent {
        FactEvent::ConflictOpened {
            conflict: ConflictId(conflict),
            with: FactId(9),
            reason: String::new(),
        }
    }

    #[test]
    fn quarantine_follows_from_the_history() {
        let (_, mut s) = fresh(&[]);
        assert_eq!(s.quarantine(), Quarantine::None);
        s.apply(&opened(1));
        s.apply(&opened(2));
        assert_eq!(s.quarantine(), Quarantine::Conservative);
        s.apply(&FactEvent::ConflictClosed {
            conflict: ConflictId(1),
        });
        assert_eq!(s.quarantine(), Quarantine::Conservative, "one still open");
        s.apply(&FactEvent::Challenged {
            reason: "doubt".into(),
        });
        assert_eq!(s.quarantine(), Quarantine::RequiresWitness);
        s.apply(&FactEvent::Supported {
            evidence: vec![],
            note: None,
        });
        assert_eq!(
            s.quarantine(),
            Quarantine::Conservative,
            "the witness lifts it"
        );
        s.apply(&FactEvent::ConflictClosed {
            conflict: ConflictId(2),
        });
        s.apply(&FactEvent::ConflictClosed {
            conflict: ConflictId(2),
        });
        assert_eq!(s.open_conflicts, 0, "saturates");
        assert_eq!(s.quarantine(), Quarantine::None);
    }

    #[test]
    fn an_explicit_level_wins_until_the_fact_is_no_longer_believed() {
        let (_, mut s) = fresh(&[]);
        s.apply(&FactEvent::Challenged {
            reason: "doubt".into(),
        });
        s.apply(&FactEvent::Quarantined {
            level: Some(Quarantine::None),
            reason: "vouched".into(),
        });
        assert_eq!(s.quarantine(), Quarantine::None);
        s.apply(&FactEvent::Quarantined {
            level: None,
            reason: "back".into(),
        });
        assert_eq!(s.quarantine(), Quarantine::RequiresWitness, "derived again");
        s.apply(&FactEvent::Quarantined {
            level: Some(Quarantine::Conservative),
            reason: "care".into(),
        });
        s.apply(&FactEvent::Retracted {
            reason: "wrong".into(),
        });
        assert_eq!(s.status, FactStatus::Retracted);
        assert_eq!(s.quarantine(), Quarantine::Blocked);

        let (_, mut s) = fresh(&[]);
        s.apply(&opened(1));
        s.apply(&FactEvent::Deprecated {
            conflict: ConflictId(1),
            rationale: "lost".into(),
        });
        assert_eq!((s.status, s.open_conflicts), (FactStatus::Deprecated, 0));
        assert_eq!(s.quarantine(), Quarantine::Blocked);
    }

    #[test]
    fn support_adds_new_evidence_once_and_supersession_only_shortens() {
        let (_, mut s) = fresh(&[1, 2]);
        s.apply(&FactEvent::Supported {
            evidence: vec![MemoryId(2), MemoryId(3), MemoryId(3)],
            note: Some("seen".into()),
        });
        assert_eq!(s.evidence, [MemoryId(1), MemoryId(2), MemoryId(3)]);
        s.apply(&FactEvent::Superseded {
            by: FactId(4),
            until: at(30),
        });
        s.apply(&FactEvent::Superseded {
            by: FactId(5),
            until: at(20),
        });
        s.apply(&FactEvent::Superseded {
            by: FactId(6),
            until: at(25),
        });
        assert_eq!(s.valid, window(Some(10), Some(20)), "the earliest end");
        assert_eq!(s.superseded_by, Some(FactId(6)), "the latest");
    }

    #[test]
    fn a_fact_holds_while_believed_and_valid() {
        let (mut fact, mut s) = fresh(&[]);
        assert!(!fact.holds_at(at(9)));
        assert!(fact.holds_at(at(10)));
        assert!(fact.holds_at(at(i64::MAX)));
        s.apply(&FactEvent::Retracted {
            reason: "no".into(),
        });
        fact.set_state(&s);
        assert!(!fact.holds_at(at(10)));
        assert_eq!(fact.quarantine, Quarantine::Blocked);
    }

    #[test]
    fn known_at_folds_the_history_up_to_then() {
        let mut w = Writer::new();
        // Fact 1 at t=1; fact 2 at t=2 opens conflict 1; fact 1 is
        // challenged at t=3 and retracted at t=4.
        let paris = w.assert(NewFact::new("alice", "lives_in", "Paris")).id;
        let london = w.assert(NewFact::new("alice", "lives_in", "London")).id;
        let (seq, t) = w.tick();
        w.store.apply_challenge(seq, t, paris, "unsure");
        let (seq, t) = w.tick();
        w.store.apply_retract(seq, t, paris, "moved");
        let fact = w.fact(paris);
        assert_eq!(fact.known_at(at(0)), None, "not yet recorded");

        let then = fact.known_at(at(1)).expect("recorded");
        assert_eq!(then.history.len(), 1);
        assert_eq!(
            (then.status, then.quarantine),
            (FactStatus::Believed, Quarantine::None)
        );
        assert!(then.conflicts.is_empty());

        let then = fact.known_at(at(2)).expect("recorded");
        assert_eq!(then.quarantine, Quarantine::Conservative);
        assert_eq!(then.conflicts, [ConflictId(1)]);

        let then = fact.known_at(at(3)).expect("recorded");
        assert_eq!(then.quarantine, Quarantine::RequiresWitness);

        let now = fact.known_at(at(4)).expect("recorded");
        assert_eq!(now.status, FactStatus::Retracted);
        assert_eq!(&now, fact, "the whole history is the present");
        assert_eq!(w.fact(london).known_at(at(1)), None);
    }
}
