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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::fixture::Writer;

    const SINGLE: Cardinality = Cardinality::Single;
    const MULTI: Cardinality = Cardinality::Multi;

    /// One question to a verifier: the cardinality, the predicate, the
    /// believed object, the new object, and the expected verdict's
    /// rendering (`compatible`, `defer`, or the reason of an
    /// incompatibility).
    type Case = (
        Cardinality,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    /// The verdict of `v` on `alice <predicate> <new>` given the believed
    /// `alice <predicate> <old>` (fact 1).
    fn verdict(
        v: &dyn Verifier,
        cardinality: Cardinality,
        predicate: &str,
        old: &str,
        new: &str,
    ) -> Verdict {
        let mut w = Writer::new();
        let a = w.assert(NewFact::new("alice", predicate, old));
        let new = NewFact::new("alice", predicate, new);
        v.verify(cardinality, w.fact(a.id), &Proposal::from(&new))
    }

    /// Asks `v` every case and compares the verdicts.
    fn check(v: &dyn Verifier, cases: &[Case]) {
        for &(cardinality, predicate, old, new, expected) in cases {
            let expected = match expected {
                "compatible" => Verdict::Compatible,
                "defer" => Verdict::Defer,
                reason => Verdict::Incompatible(reason.to_owned()),
            };
            let got = verdict(v, cardinality, predicate, old, new);
            assert_eq!(
                got, expected,
                "{cardinality:?} {predicate}: {old} then {new}"
            );
        }
    }

    #[test]
    fn the_default_rule_contradicts_only_two_objects_of_a_single_predicate() {
        // No reason: the fold words it (see `FactStore::apply_assert`).
        check(
            &DefaultVerifier,
            &[
                (SINGLE, "lives_in", "Paris", "London", ""),
                (SINGLE, "lives_in", "Paris", "Paris", "compatible"),
                (MULTI, "likes", "tea", "coffee", "compatible"),
            ],
        );
        assert_eq!(DefaultVerifier.name(), "default");
    }

    #[test]
    fn numbers_within_the_tolerance_agree_and_the_rest_is_deferred() {
        let v = NumericTolerance {
            predicates: vec!["age".into()],
            tolerance: 1.0,
        };
        check(
            &v,
            &[
                (SINGLE, "age", "41", "41.5", "compatible"),
                (SINGLE, "age", "41", "42", "compatible"),
                (SINGLE, "age", " 41 ", "41", "compatible"),
                (
                    SINGLE,
                    "age",
                    "41",
                    "43.5",
                    "alice age differs by 2.5 (more than 1) from fact 1",
                ),
                // Whatever the cardinality: the predicate is named.
                (
                    MULTI,
                    "age",
                    "41",
                    "50",
                    "alice age differs by 9 (more than 1) from fact 1",
                ),
                (SINGLE, "height", "41", "90", "defer"),
                (SINGLE, "age", "41", "forty", "defer"),
                (SINGLE, "age", "inf", "41", "defer"),
                (SINGLE, "age", "41", "NaN", "defer"),
            ],
        );
        assert_eq!(v.name(), "numeric-tolerance");
    }

    fn exclusive() -> MutuallyExclusive {
        MutuallyExclusive {
            predicate: "status".into(),
            groups: vec![
                vec!["alive".into(), "dead".into()],
                vec!["vegan".into(), "carnivore".into()],
            ],
        }
    }

    #[test]
    fn values_of_one_group_exclude_each_other_even_when_multi_valued() {
        check(
            &exclusive(),
            &[
                (
                    MULTI,
                    "status",
                    "alive",
                    "dead",
                    r#"alice status: "alive" (fact 1) and "dead" exclude each other"#,
                ),
                (MULTI, "status", "dead", "dead", "compatible"),
                (SINGLE, "status", "alive", "vegan", "defer"),
                (SINGLE, "status", "alive", "asleep", "defer"),
                (SINGLE, "diet", "alive", "dead", "defer"),
            ],
        );
        assert_eq!(exclusive().name(), "mutually-exclusive");
    }

    #[test]
    fn a_chain_asks_in_order_and_falls_back_to_the_default_rule() {
        let chain = Verifiers(vec![
            Arc::new(NumericTolerance {
                predicates: vec!["age".into(), "status".into()],
                tolerance: 1.0,
            }),
            Arc::new(exclusive()),
        ]);
        let excluded = r#"alice status: "alive" (fact 1) and "dead" exclude each other"#;
        check(
            &chain,
            &[
                // The first verifier's opinion wins over the default's.
                (SINGLE, "age", "41", "41.5", "compatible"),
                // The first defers (not numbers), the second decides.
                (MULTI, "status", "alive", "dead", excluded),
                // Both defer: the default rule decides, by cardinality.
                (SINGLE, "status", "alive", "vegan", ""),
                (MULTI, "status", "alive", "vegan", "compatible"),
                (SINGLE, "lives_in", "Paris", "Rome", ""),
            ],
        );
        // An empty chain is the default rule.
        check(&Verifiers::default(), &[(SINGLE, "age", "41", "41.5", "")]);
        assert_eq!(chain.name(), "chain");
        assert_eq!(
            format!("{chain:?}"),
            r#"["numeric-tolerance", "mutually-exclusive"]"#
        );
        let dynamic: &dyn Verifier = &DefaultVerifier;
        assert_eq!(format!("{dynamic:?}"), "Verifier(default)");
    }

    #[test]
    fn a_proposal_reads_the_new_fact() {
        let new = NewFact::new("bob", "age", "7")
            .context("school")
            .confidence(0.25)
            .valid_from(crate::model::Timestamp(3));
        let p = Proposal::from(&new);
        assert_eq!(
            (p.subject, p.predicate, p.object, p.context, p.confidence),
            ("bob", "age", "7", "school", 0.25)
        );
        assert_eq!(p.valid, new.valid);
    }
}
