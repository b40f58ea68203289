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
//! The writer makes these decisions ([`Decision`]) and records them in the
//! assert event ([`AssertFact`]), so the fold is pure and a replay rebuilds
//! the same conflicts whatever verifier the reopening process is configured
//! with.
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
//!
//! ## How the files fit
//!
//! Data flows down this list; nothing here imports the event module (which
//! re-exports the assert payload from here) or the namespace state.
//!
//! - `fact`: a fact, its status, quarantine level and history, and how its
//!   state folds from that history ([`Fact`], [`NewFact`], [`FactEvent`]).
//! - `window`: how two validity windows relate ([`overlaps`]).
//! - `verify`: the rules deciding whether two facts contradict each other
//!   ([`Verifier`] and the ones shipped).
//! - `conflict`: a contradiction and its resolution ([`Conflict`]).
//! - `decision`: what the writer decided for a new fact ([`Decision`]) and
//!   the event payload recording it ([`AssertFact`]).
//! - `key`: the index of believed facts by key that keeps the check O(k).
//! - `store`: the fold of fact events and its indices ([`FactStore`]).
//! - `query`: reads of the store ([`FactQuery`], [`Clock`]).
//! - `fixture` (tests only): a writer that checks and folds facts the way
//!   the namespace does, shared by the tests of every file.

mod conflict;
mod decision;
mod fact;
#[cfg(test)]
mod fixture;
mod key;
mod query;
mod store;
mod verify;
mod window;

pub use crate::base::{ConflictId, FactId};
pub use conflict::{Conflict, ConflictState, Resolution};
pub use decision::{AssertFact, Decision, OpenConflict};
pub use fact::{
    Cardinality, DEFAULT_CONTEXT, Fact, FactChange, FactEvent, FactStatus, NewFact, Quarantine,
};
pub use query::{Clock, FactQuery};
pub use store::FactStore;
pub(crate) use store::FactsImage;
pub use verify::{
    DefaultVerifier, MutuallyExclusive, NumericTolerance, Proposal, Verdict, Verifier, Verifiers,
};
pub use window::overlaps;
