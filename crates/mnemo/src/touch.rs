//! Use and strength: [`Namespace::touch`], [`Namespace::strength`], and
//! writing the touches recalls queue (`reinforce_on_recall`) — by
//! [`Namespace::flush_touches`], the namespace's maintenance thread about
//! once a second (native), and on close. See [`crate::strength`] for the
//! model.

use crate::error::Result;
use crate::event::{Event, Touch};
use crate::model::{MemoryId, Timestamp};
use crate::namespace::Namespace;
use crate::strength;

impl Namespace {
    /// Records a use of each memory now (one `Touch` event; repeats in
    /// `ids` count once). An id that is not a live memory fails the call
    /// with [`crate::Error::UnknownId`] and nothing is written.
    pub fn touch(&self, ids: &[MemoryId]) -> Result<()> {
        self.check_open()?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let _writer = self.inner.writer.lock();
        for &id in &ids {
            self.live(id)?;
        }
        self.commit(vec![Event::Touch(Touch {
            ids,
            at: Timestamp::now(),
        })])?;
        Ok(())
    }

    /// A memory's strength from use now: ACT-R's base-level activation
    /// over its write and its touches (see [`crate::strength`]); `None` for
    /// an id that is not a live memory.
    pub fn strength(&self, id: MemoryId) -> Option<f64> {
        self.strength_at(id, Timestamp::now())
    }

    /// [`Self::strength`] at time `at`.
    pub fn strength_at(&self, id: MemoryId, at: Timestamp) -> Option<f64> {
        let state = self.inner.state.read();
        let memory = state.memories.get(&id.0)?;
        Some(strength::base_level(
            memory.recorded,
            state.accesses.get(&id.0),
            at,
            self.inner.options.strength_decay,
        ))
    }

    /// Touches recorded for a memory (not counting its write), or `None`
    /// for an id that is not a live memory.
    pub fn touches(&self, id: MemoryId) -> Option<u64> {
        let state = self.inner.state.read();
        state.memories.get(&id.0)?;
        Some(state.accesses.get(&id.0).map_or(0, |a| a.count))
    }

    /// Writes the touches recalls queued (`reinforce_on_recall`) as one
    /// `Touch` event; memories forgotten meanwhile are left out. Returns
    /// how many memories it touched.
    pub fn flush_touches(&self) -> Result<usize> {
        self.check_open()?;
        let ids = self.inner.touches.take();
        if ids.is_empty() {
            return Ok(0);
        }
        let _writer = self.inner.writer.lock();
        let live: Vec<MemoryId> = {
            let state = self.inner.state.read();
            ids.into_iter()
                .filter(|id| state.memories.contains_key(&id.0))
                .collect()
        };
        if live.is_empty() {
            return Ok(0);
        }
        let n = live.len();
        self.commit(vec![Event::Touch(Touch {
            ids: live,
            at: Timestamp::now(),
        })])?;
        Ok(n)
    }

    /// Recall touches not queued because the queue was full (see
    /// [`strength::MAX_QUEUED_TOUCHES`]).
    pub fn touches_dropped(&self) -> u64 {
        self.inner.touches.dropped()
    }
}
