//! The ground floor: the ids, sequence numbers, integer-keyed maps,
//! top-K selection and the monotonic clock that every other module of the engine imports.
//!
//! Nothing here imports from the rest of the crate, so no feature module
//! has to reach into another to share a type.

mod clock;
mod ids;
mod topk;

pub use clock::Tick;
pub use ids::{ConflictId, FactId, IdHasher, IdMap, IdSet, MemoryId, PatternId, Seq, TrajectoryId};
pub use topk::{Scored, TopK};
