//! A learned pattern ([`Pattern`], with its [`ExecutorStats`]) and the
//! running sums its statistics derive from ([`Slot`]): adding a member
//! costs `O(d + executors)`, and the statistics are a pure function of the
//! sums.

use serde::{Deserialize, Serialize};

use super::arith::normalize_into;
use super::trajectory::Trajectory;
use super::{PatternId, TrajectoryId};
use crate::model::Timestamp;

/// Trajectory ids kept per executor and pattern as evidence.
pub const EVIDENCE: usize = 5;
/// Share of the Laplace-smoothed success rate in a pattern's quality (the
/// rest is the mean score).
pub const QUALITY_SUCCESS_WEIGHT: f64 = 0.75;

/// Per-executor statistics inside a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorStats {
    /// The executor's name.
    pub executor: String,
    /// Trajectories it carried out in the pattern.
    pub count: u64,
    /// How many of them succeeded.
    pub successes: u64,
    /// Their mean score.
    pub mean_score: f32,
    /// Their mean latency in milliseconds.
    pub mean_latency_ms: f32,
    /// Their mean cost.
    pub mean_cost: f32,
}

impl ExecutorStats {
    /// Laplace-smoothed success rate `(successes + 1) / (count + 2)`.
    pub fn smoothed_success(&self) -> f32 {
        laplace(self.successes, self.count) as f32
    }
}

/// A learned pattern: a cluster of trajectories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// Its id.
    pub id: PatternId,
    /// Unit-length mean direction of its members' normalised vectors (all
    /// zeros in the degenerate case where they cancel out).
    pub centroid: Vec<f32>,
    /// Members.
    pub count: u64,
    /// `successes / count`.
    pub success_rate: f32,
    /// Mean score of the members.
    pub mean_score: f32,
    /// Mean latency of the members, in milliseconds.
    pub mean_latency_ms: f32,
    /// Mean cost of the members.
    pub mean_cost: f32,
    /// Statistics per executor, sorted by executor name.
    pub executors: Vec<ExecutorStats>,
    /// The executor with the highest Laplace-smoothed success rate (ties:
    /// lower mean latency, then lower mean cost, then name).
    pub best_executor: Option<String>,
    /// `0.75 · (s + 1)/(n + 2) + 0.25 · mean_score`, in `[0, 1]` (see the
    /// [module docs](crate::patterns)).
    pub quality: f32,
    /// The newest member's `at`.
    pub last_used: Timestamp,
    /// Log sequence number of the event that created it (for a pattern a
    /// refinement created: its oldest member's).
    pub created_seq: u64,
}

/// Running sums of one executor inside a pattern.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct ExecutorSums {
    /// Σ of its trajectories' scores, latencies and costs.
    score_sum: f64,
    latency_sum: f64,
    cost_sum: f64,
    /// The newest (highest) member ids of this executor, ascending, at most
    /// [`EVIDENCE`].
    pub(super) recent: Vec<TrajectoryId>,
}

/// A pattern with the sums its statistics derive from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Slot {
    /// The pattern as readers see it, derived from the sums below.
    pub(super) pattern: Pattern,
    /// Σ of the members' normalised vectors, in member id order.
    pub(super) sum: Vec<f32>,
    /// Member ids, ascending.
    pub(super) members: Vec<TrajectoryId>,
    /// Members that succeeded.
    successes: u64,
    /// Σ of the members' scores, latencies and costs.
    score_sum: f64,
    latency_sum: f64,
    cost_sum: f64,
    /// Parallel to `pattern.executors`.
    pub(super) executor_sums: Vec<ExecutorSums>,
}

impl Slot {
    pub(super) fn new(id: PatternId, dimension: usize, created_seq: u64) -> Self {
        Self {
            pattern: Pattern {
                id,
                centroid: vec![0.0; dimension],
                count: 0,
                success_rate: 0.0,
                mean_score: 0.0,
                mean_latency_ms: 0.0,
                mean_cost: 0.0,
                executors: Vec::new(),
                best_executor: None,
                quality: 0.0,
                last_used: Timestamp::MIN,
                created_seq,
            },
            sum: vec![0.0; dimension],
            members: Vec::new(),
            successes: 0,
            score_sum: 0.0,
            latency_sum: 0.0,
            cost_sum: 0.0,
            executor_sums: Vec::new(),
        }
    }

    /// Adds a member whose id is above every current member's, without
    /// refreshing the derived statistics.
    pub(super) fn add(&mut self, t: &Trajectory, unit: &[f32]) {
        debug_assert_eq!(unit.len(), self.sum.len(), "unit vector of the dimension");
        debug_assert!(
            self.members.last().is_none_or(|&m| m < t.id),
            "members are added in ascending id order"
        );
        for (s, &x) in self.sum.iter_mut().zip(unit) {
            *s += x;
        }
        self.members.push(t.id);
        let p = &mut self.pattern;
        p.count += 1;
        p.last_used = p.last_used.max(t.at);
        self.successes += u64::from(t.success);
        self.score_sum += f64::from(t.score);
        self.latency_sum += f64::from(t.latency_ms);
        self.cost_sum += f64::from(t.cost);
        let at = match p
            .executors
            .binary_search_by(|e| e.executor.as_str().cmp(&t.executor))
        {
            Ok(at) => at,
            Err(at) => {
                p.executors.insert(
                    at,
                    ExecutorStats {
                        executor: t.executor.clone(),
                        count: 0,
                        successes: 0,
                        mean_score: 0.0,
                        mean_latency_ms: 0.0,
                        mean_cost: 0.0,
                    },
                );
                self.executor_sums.insert(at, ExecutorSums::default());
                at
            }
        };
        if let (Some(stats), Some(sums)) = (p.executors.get_mut(at), self.executor_sums.get_mut(at))
        {
            stats.count += 1;
            stats.successes += u64::from(t.success);
            sums.score_sum += f64::from(t.score);
            sums.latency_sum += f64::from(t.latency_ms);
            sums.cost_sum += f64::from(t.cost);
            if sums.recent.len() == EVIDENCE {
                sums.recent.remove(0);
            }
            sums.recent.push(t.id);
        }
    }

    /// Recomputes every derived field from the sums: a pure function of
    /// them, so refreshing after each add or once after many gives the same
    /// bits.
    pub(super) fn refresh(&mut self) {
        let p = &mut self.pattern;
        debug_assert_eq!(p.count, self.members.len() as u64, "count is the members");
        debug_assert!(self.successes <= p.count, "successes within count");
        debug_assert_eq!(
            self.executor_sums.len(),
            p.executors.len(),
            "executor sums parallel to the statistics"
        );
        debug_assert_eq!(
            p.executors.iter().map(|e| e.count).sum::<u64>(),
            p.count,
            "executor counts add up to the pattern's"
        );
        normalize_into(&self.sum, &mut p.centroid);
        let n = p.count.max(1) as f64;
        p.success_rate = (self.successes as f64 / n) as f32;
        p.mean_score = (self.score_sum / n) as f32;
        p.mean_latency_ms = (self.latency_sum / n) as f32;
        p.mean_cost = (self.cost_sum / n) as f32;
        let rate = laplace(self.successes, p.count);
        let quality = QUALITY_SUCCESS_WEIGHT * rate
            + (1.0 - QUALITY_SUCCESS_WEIGHT) * f64::from(p.mean_score);
        p.quality = quality.clamp(0.0, 1.0) as f32;
        for (stats, sums) in p.executors.iter_mut().zip(&self.executor_sums) {
            let n = stats.count.max(1) as f64;
            stats.mean_score = (sums.score_sum / n) as f32;
            stats.mean_latency_ms = (sums.latency_sum / n) as f32;
            stats.mean_cost = (sums.cost_sum / n) as f32;
        }
        let mut best: Option<&ExecutorStats> = None;
        for stats in &p.executors {
            if best.is_none_or(|b| executor_better(stats, b)) {
                best = Some(stats);
            }
        }
        p.best_executor = best.map(|b| b.executor.clone());
    }
}

/// Laplace's rule of succession `(s + 1) / (n + 2)`.
fn laplace(successes: u64, count: u64) -> f64 {
    (successes as f64 + 1.0) / (count as f64 + 2.0)
}

/// Whether `a` is a better executor than `b`: higher smoothed success rate
/// (compared exactly as fractions), then lower mean latency, then lower
/// mean cost. Equal on all three is not better (the caller walks names in
/// order, so the first name wins).
fn executor_better(a: &ExecutorStats, b: &ExecutorStats) -> bool {
    let lhs = u128::from(a.successes.saturating_add(1)) * u128::from(b.count.saturating_add(2));
    let rhs = u128::from(b.successes.saturating_add(1)) * u128::from(a.count.saturating_add(2));
    if lhs != rhs {
        return lhs > rhs;
    }
    match a.mean_latency_ms.total_cmp(&b.mean_latency_ms) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => a.mean_cost.total_cmp(&b.mean_cost).is_lt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::arith::dot;
    use crate::patterns::store::PatternStore;
    use crate::patterns::testkit::{check_invariants, trajectory};

    #[test]
    fn statistics_and_best_executor() {
        let mut store = PatternStore::new(3);
        // a: 3 of 4 succeed -> 4/6; b: 1 of 1 -> 2/3: equal smoothed rates,
        // so the lower mean latency wins.
        for (ok, exec, latency) in [
            (true, "a", 10.0),
            (true, "a", 10.0),
            (true, "a", 10.0),
            (false, "a", 10.0),
            (true, "b", 5.0),
        ] {
            let mut t = trajectory(&store, vec![1.0, 0.1, 0.0], ok, exec, 0.5);
            t.latency_ms = latency;
            t.score = if ok { 0.9 } else { 0.2 };
            assert!(store.record(t));
        }
        let p = store.get(PatternId(1)).expect("pattern");
        assert_eq!(p.count, 5);
        assert_eq!(p.success_rate, 0.8);
        assert_eq!(p.executors.len(), 2);
        assert_eq!(p.executors[0].executor, "a");
        assert_eq!(p.executors[0].count, 4);
        assert_eq!(p.executors[0].successes, 3);
        assert_eq!(p.best_executor.as_deref(), Some("b"));
        let mean_score = (0.9f64 * 4.0 + 0.2) / 5.0;
        let expected = 0.75 * (5.0 / 7.0) + 0.25 * f64::from(mean_score as f32);
        assert!((f64::from(p.quality) - expected).abs() < 1e-6);
        assert_eq!(p.mean_latency_ms, 9.0);
        assert_eq!(p.last_used, Timestamp(5));
        assert_eq!(p.created_seq, 10);
        let norm = dot(&p.centroid, &p.centroid).sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        // One more failure for b: a now leads on smoothed success.
        let t = trajectory(&store, vec![1.0, 0.1, 0.0], false, "b", 0.5);
        assert!(store.record(t));
        assert_eq!(
            store
                .get(PatternId(1))
                .and_then(|p| p.best_executor.clone())
                .as_deref(),
            Some("a")
        );
        check_invariants(&store);
    }
}
