//! The project's retrieval metric: for each question, where its evidence
//! landed in a ranking, and the sums over questions.
//!
//! - hit@k: the question has at least one evidence item in the top k;
//! - recall@k: the fraction of its (distinct) evidence items in the top k;
//!
//! both averaged over the questions scored. A [`Tally`] holds the sums at
//! `N` cut-offs at once (the command line reports k = 1, 5 and 10, the
//! benchmarks k = 5); the cut-offs are the caller's, passed to
//! [`Score::of`]. Items are whatever the caller ranks: memory ids, turn
//! positions.

use std::collections::HashSet;
use std::hash::Hash;

/// Where one question's evidence landed in a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score<const N: usize> {
    /// Per cut-off: evidence items among the top k.
    pub found: [usize; N],
    /// Evidence items in all (at least 1).
    pub evidence: usize,
}

impl<const N: usize> Score<N> {
    /// Scores `ranked` (best first, items distinct) against `evidence` at
    /// each of `cutoffs`; `None` when there is no evidence (such a question
    /// cannot be scored).
    pub fn of<T: Eq + Hash>(
        cutoffs: &[usize; N],
        ranked: &[T],
        evidence: &HashSet<T>,
    ) -> Option<Self> {
        (!evidence.is_empty()).then(|| Score {
            found: cutoffs.map(|k| {
                ranked
                    .iter()
                    .take(k)
                    .filter(|item| evidence.contains(item))
                    .count()
            }),
            evidence: evidence.len(),
        })
    }
}

impl<const N: usize> Score<N> {
    /// Scores a ranking of items that each cite evidence (observations
    /// citing the turns they come from): at each cut-off k, the distinct
    /// evidence items cited by the top k. `ranked` holds, best first, what
    /// each item cites. `None` when there is no evidence.
    pub fn of_citing<T: Eq + Hash>(
        cutoffs: &[usize; N],
        ranked: &[&[T]],
        evidence: &HashSet<T>,
    ) -> Option<Self> {
        (!evidence.is_empty()).then(|| Score {
            found: cutoffs.map(|k| {
                let mut seen: HashSet<&T> = HashSet::new();
                for cited in ranked.iter().take(k) {
                    seen.extend(cited.iter().filter(|item| evidence.contains(item)));
                }
                seen.len()
            }),
            evidence: evidence.len(),
        })
    }
}

/// hit@k and recall@k summed over questions, at `N` cut-offs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally<const N: usize> {
    /// Questions scored.
    pub questions: usize,
    /// Per cut-off: questions with evidence among the top k.
    pub hits: [usize; N],
    /// Per cut-off: the sum of the questions' recall@k.
    pub recall_sum: [f64; N],
}

impl<const N: usize> Default for Tally<N> {
    fn default() -> Self {
        Self {
            questions: 0,
            hits: [0; N],
            recall_sum: [0.0; N],
        }
    }
}

impl<const N: usize> Tally<N> {
    /// Adds one question's score.
    pub fn add(&mut self, s: &Score<N>) {
        self.questions += 1;
        for (i, found) in s.found.iter().enumerate() {
            self.hits[i] += usize::from(*found > 0);
            // `evidence` is at least 1 for a score made by `Score::of`.
            self.recall_sum[i] += *found as f64 / s.evidence.max(1) as f64;
        }
    }

    /// hit@k at the `i`th cut-off (`None` without questions).
    pub fn hit(&self, i: usize) -> Option<f64> {
        (self.questions > 0).then(|| self.hits[i] as f64 / self.questions as f64)
    }

    /// recall@k at the `i`th cut-off (`None` without questions).
    pub fn recall(&self, i: usize) -> Option<f64> {
        (self.questions > 0).then(|| self.recall_sum[i] / self.questions as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_count_evidence_in_each_cut_off() {
        let ranked = [7, 3, 9, 1, 2, 8, 4, 5, 6, 10];
        let evidence: HashSet<u64> = [3, 10, 42].into();
        let s = Score::of(&[1, 5, 10], &ranked, &evidence).expect("evidence");
        assert_eq!(s.found, [0, 1, 2]);
        assert_eq!(s.evidence, 3);
        let mut t = Tally::default();
        t.add(&s);
        t.add(&Score::of(&[1, 5, 10], &ranked, &[7].into()).expect("evidence"));
        assert_eq!(t.questions, 2);
        assert_eq!(t.hits, [1, 2, 2]);
        assert_eq!(t.hit(0), Some(0.5));
        assert_eq!(t.hit(2), Some(1.0));
        assert!((t.recall(1).expect("rate") - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        assert!((t.recall(2).expect("rate") - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn citing_items_count_each_evidence_item_once() {
        let evidence: HashSet<&str> = ["D1:2", "D3:4"].into();
        let first: &[&str] = &["D1:1", "D1:2"];
        let second: &[&str] = &["D1:2"];
        let third: &[&str] = &["D3:4", "D9:9"];
        let ranked = [first, second, third];
        let s = Score::of_citing(&[1, 2, 3], &ranked, &evidence).expect("evidence");
        assert_eq!(s.found, [1, 1, 2]);
        assert_eq!(s.evidence, 2);
        assert_eq!(Score::of_citing(&[1], &ranked, &HashSet::new()), None);
        // Each item citing itself alone scores as `Score::of` does.
        let ids = [7u64, 3, 9];
        let own: Vec<[u64; 1]> = ids.iter().map(|i| [*i]).collect();
        let cites: Vec<&[u64]> = own.iter().map(|c| c.as_slice()).collect();
        let evidence: HashSet<u64> = [3, 9, 42].into();
        assert_eq!(
            Score::of_citing(&[1, 3], &cites, &evidence),
            Score::of(&[1, 3], &ids, &evidence)
        );
    }

    #[test]
    fn evidence_counts_once_and_empty_evidence_is_not_scored() {
        // Evidence given twice counts once: one of two distinct items found.
        let evidence: HashSet<usize> = [2, 5, 5].into();
        let s = Score::of(&[3], &[1, 5, 7], &evidence).expect("evidence");
        assert_eq!((s.found, s.evidence), ([1], 2));
        assert_eq!(Score::of(&[3], &[1, 5], &HashSet::new()), None);
        let mut t = Tally::default();
        t.add(&s);
        t.add(&Score::of(&[3], &[0, 1], &evidence).expect("evidence"));
        assert_eq!(t.hit(0), Some(0.5));
        assert_eq!(t.recall(0), Some(0.25));
        assert_eq!(Tally::<3>::default().hit(0), None);
        assert_eq!(Tally::<3>::default().recall(2), None);
    }
}
