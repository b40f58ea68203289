//! Test helpers shared by the unit tests of the pattern files: building
//! trajectories, planting vectors near an axis, and checking every
//! invariant the store promises.

use super::PatternId;
use super::kmeans::SplitMix64;
use super::sketch::{quality8, sketch_into};
use super::store::PatternStore;
use super::trajectory::Trajectory;
use crate::model::Timestamp;

/// A trajectory for `store`, joining what `assign` says.
pub(super) fn trajectory(
    store: &PatternStore,
    vector: Vec<f32>,
    success: bool,
    executor: &str,
    threshold: f32,
) -> Trajectory {
    let pattern = store.assign(&vector, threshold);
    let id = store.next_trajectory_id();
    Trajectory {
        id,
        task: None,
        vector,
        success,
        score: if success { 1.0 } else { 0.0 },
        latency_ms: 10.0,
        cost: 1.0,
        executor: executor.to_owned(),
        tags: Vec::new(),
        at: Timestamp(id.0 as i64),
        pattern,
        seq: id.0 * 10,
    }
}

/// Records a trajectory joining what `assign` says at 0.8; returns
/// its pattern.
pub(super) fn add(
    store: &mut PatternStore,
    vector: Vec<f32>,
    success: bool,
    executor: &str,
) -> PatternId {
    let t = trajectory(store, vector, success, executor, 0.8);
    let p = t.pattern;
    assert!(store.record(t));
    p
}

/// Unit-ish vector near axis `axis` of `dim`, perturbed by `noise`.
pub(super) fn near(dim: usize, axis: usize, noise: f32, rng: &mut SplitMix64) -> Vec<f32> {
    (0..dim)
        .map(|i| {
            let base = if i == axis % dim { 1.0 } else { 0.0 };
            base + noise * (rng.unit() as f32 - 0.5)
        })
        .collect()
}

/// Every invariant the store promises.
pub(super) fn check_invariants(store: &PatternStore) {
    assert!(store.ids.windows(2).all(|w| w[0] < w[1]), "ids sorted");
    assert_eq!(store.ids.len(), store.core.slots.len());
    assert_eq!(store.quality8.len(), store.ids.len());
    assert_eq!(store.sketches.len(), store.ids.len() * store.words);
    let mut members = 0;
    let mut unit = Vec::new();
    for (i, slot) in store.core.slots.iter().enumerate() {
        assert_eq!(slot.pattern.id, store.ids[i]);
        assert!(slot.pattern.id < store.next_pattern_id());
        assert!(!slot.members.is_empty(), "no empty pattern");
        assert!(slot.members.windows(2).all(|w| w[0] < w[1]));
        for m in &slot.members {
            assert_eq!(
                store.trajectory(*m).map(|t| t.pattern),
                Some(slot.pattern.id)
            );
        }
        members += slot.members.len();
        let rebuilt = store.build_slot(
            slot.pattern.id,
            slot.pattern.created_seq,
            &slot.members,
            &mut unit,
        );
        assert_eq!(&rebuilt, slot, "incremental stats == recomputed");
        assert_eq!(store.quality8[i], quality8(slot.pattern.quality));
        let mut sketch = vec![0; store.words];
        sketch_into(&slot.pattern.centroid, &mut sketch);
        assert_eq!(
            &store.sketches[i * store.words..(i + 1) * store.words],
            &sketch[..]
        );
        let q = slot.pattern.quality;
        assert!((0.0..=1.0).contains(&q));
    }
    assert_eq!(members, store.trajectory_count());
}

/// The store's serialised bytes (what a snapshot holds).
pub(super) fn bytes(store: &PatternStore) -> Vec<u8> {
    postcard::to_allocvec(store).expect("serialises")
}
