//! The rules deciding whether two facts of one key contradict each other:
//! the [`Verifier`] trait, what it sees of a new fact ([`Proposal`]), what
//! it answers ([`Verdict`]), the default rule and the rules shipped with
//! it, and [`Verifiers`], a chain of them.

use std::fmt;
use std::sync::Arc;

use super::fact::{Cardinality, Fact, NewFact};
use crate::model::Validity;

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
