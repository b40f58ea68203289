//! A memory's strength from use: ACT-R's base-level activation
//! `B = ln Σⱼ tⱼ^(−d)` over the times `tⱼ` since each access (its write and
//! every `Touch` event), in seconds, with decay `d`.
//!
//! Only the accesses are stored (as events, so replay is deterministic);
//! the strength is computed when it is read, for the time it is read at.
//! A memory keeps its [`RECENT`] newest touch times exactly; older touches
//! count through Petrov's (2006) approximation, which spreads them evenly
//! between the write and the oldest time kept:
//! `(n − k) (t_n^(1−d) − t_k^(1−d)) / ((1 − d)(t_n − t_k))`, so a memory
//! touched a million times costs as little as one touched eight times.
//!
//! [`normalized`] maps `B` into (0, 1) on a fixed scale: `1 / (1 + e^(B_ref −
//! B))`, where `B_ref` is the strength of one access a day ago, so a memory
//! used as much as "written yesterday" scores 0.5. Recall instead compares
//! candidates with each other ([`activation`] over the strongest one's), so
//! touches count between memories written moments apart as much as between
//! ones written months apart.

use serde::{Deserialize, Serialize};

use crate::model::{MemoryId, Timestamp};

/// Touch times kept exactly per memory.
pub const RECENT: usize = 8;
/// ACT-R's customary decay.
pub const DEFAULT_DECAY: f64 = 0.5;
/// Shortest age an access counts with, in seconds (an access "now" would
/// otherwise weigh infinitely).
const MIN_AGE_S: f64 = 1.0;
/// The age of the reference access of [`normalized`], in seconds (a day).
const REFERENCE_AGE_S: f64 = 86_400.0;

/// The touches of one memory (its write is its `recorded` time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accesses {
    /// Touches in all.
    pub count: u64,
    /// The newest touch times (at most [`RECENT`]), oldest first.
    pub recent: Vec<Timestamp>,
}

impl Accesses {
    /// Adds a touch at `at` (touches may arrive out of time order: the
    /// newest [`RECENT`] are kept).
    pub fn touch(&mut self, at: Timestamp) {
        self.count += 1;
        let i = self.recent.partition_point(|t| *t <= at);
        self.recent.insert(i, at);
        if self.recent.len() > RECENT {
            self.recent.remove(0);
        }
    }
}

fn age_s(now: Timestamp, then: Timestamp) -> f64 {
    ((now.0.saturating_sub(then.0)) as f64 / 1e9).max(MIN_AGE_S)
}

/// Base-level activation at `now` of a memory written at `written` with
/// `accesses` (none: only its write), with decay `d` in (0, 1).
pub fn base_level(written: Timestamp, accesses: Option<&Accesses>, now: Timestamp, d: f64) -> f64 {
    activation(written, accesses, now, d).ln()
}

/// `e^B`: the sum `Σⱼ tⱼ^(−d)` itself, which recall compares between
/// memories (recall's strength bonus).
pub fn activation(written: Timestamp, accesses: Option<&Accesses>, now: Timestamp, d: f64) -> f64 {
    let t_write = age_s(now, written);
    let mut sum = t_write.powf(-d);
    if let Some(a) = accesses {
        for &t in &a.recent {
            sum += age_s(now, t).powf(-d);
        }
        let kept = a.recent.len() as u64;
        if a.count > kept {
            let older = (a.count - kept) as f64;
            let t_k = a.recent.first().map_or(t_write, |&t| age_s(now, t));
            let span = t_write - t_k;
            sum += if span > 1e-9 {
                older * (t_write.powf(1.0 - d) - t_k.powf(1.0 - d)) / ((1.0 - d) * span)
            } else {
                older * t_k.powf(-d)
            };
        }
    }
    sum
}

/// `B` mapped into (0, 1) (see the module docs).
pub fn normalized(b: f64, d: f64) -> f32 {
    let reference = -d * REFERENCE_AGE_S.ln();
    (1.0 / (1.0 + (reference - b).exp())) as f32
}

/// Memories recalls used, waiting to be written as one `Touch` event.
/// Bounded: past [`MAX_QUEUED_TOUCHES`] ids a recall's are not queued (and
/// are counted in [`TouchQueue::dropped`]) until the next flush.
#[derive(Debug, Default)]
pub(crate) struct TouchQueue {
    ids: parking_lot::Mutex<Vec<MemoryId>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// Ids a [`TouchQueue`] holds at most between flushes.
pub const MAX_QUEUED_TOUCHES: usize = 65_536;

impl TouchQueue {
    /// Queues the ids of one recall's hits.
    pub fn queue(&self, ids: impl Iterator<Item = MemoryId>) {
        let mut queued = self.ids.lock();
        for id in ids {
            if queued.len() >= MAX_QUEUED_TOUCHES {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                queued.push(id);
            }
        }
    }

    /// Takes every queued id, once each, in id order.
    pub fn take(&self) -> Vec<MemoryId> {
        let mut ids = std::mem::take(&mut *self.ids.lock());
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Ids not queued because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn use_strengthens_and_time_weakens() {
        let now = Timestamp(1_000_000 * S);
        let written = Timestamp(now.0 - 3600 * S);
        let alone = base_level(written, None, now, DEFAULT_DECAY);
        assert!((alone - (-0.5 * 3600f64.ln())).abs() < 1e-9);
        let mut used = Accesses::default();
        used.touch(Timestamp(now.0 - 60 * S));
        let touched = base_level(written, Some(&used), now, DEFAULT_DECAY);
        assert!(touched > alone);
        let later = Timestamp(now.0 + 30 * 86_400 * S);
        assert!(base_level(written, Some(&used), later, DEFAULT_DECAY) < touched);
        assert!((normalized(-0.5 * 86_400f64.ln(), 0.5) - 0.5).abs() < 1e-6);
        assert!(normalized(touched, 0.5) > normalized(alone, 0.5));
    }

    #[test]
    fn old_touches_are_approximated_not_forgotten() {
        let now = Timestamp(10_000_000 * S);
        let written = Timestamp(now.0 - 1_000_000 * S);
        let mut exact_sum = (1_000_000f64).powf(-0.5);
        let mut a = Accesses::default();
        // 100 touches evenly over the memory's life, oldest first.
        for i in 1..=100 {
            let t = written.0 + i * 10_000 * S - S;
            a.touch(Timestamp(t));
            exact_sum += age_s(now, Timestamp(t)).powf(-0.5);
        }
        assert_eq!(a.recent.len(), RECENT);
        assert_eq!(a.count, 100);
        let approx = base_level(written, Some(&a), now, 0.5);
        assert!(
            (approx - exact_sum.ln()).abs() < 0.2,
            "{approx} vs {}",
            exact_sum.ln()
        );
    }

    #[test]
    fn out_of_order_touches_keep_the_newest() {
        let mut a = Accesses::default();
        for t in [5, 1, 9, 3, 7, 2, 8, 6, 4, 10] {
            a.touch(Timestamp(t));
        }
        assert_eq!(a.count, 10);
        assert_eq!(
            a.recent.iter().map(|t| t.0).collect::<Vec<_>>(),
            (3..=10).collect::<Vec<_>>()
        );
    }
}
