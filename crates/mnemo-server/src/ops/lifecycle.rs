//! The lifecycle jobs of a namespace: consolidation (related episodic
//! memories summarised into semantic ones linked `derived_from` to their
//! sources) and the tiers that keep the vectors in memory within a
//! budget.

use mnemo::Namespace;

use crate::dto::{ConsolidateMemoriesIn, ConsolidatedOut, TiersOut};
use crate::error::ApiError;

/// `consolidateMemories`: groups related episodic memories and writes, per
/// group, a semantic summary tagged `consolidated` and linked
/// `derived_from` to each source (one durable `derive` event; the sources
/// stay). Memories an earlier consolidation used are not considered again.
/// An empty namespace, or nothing groupable, writes nothing. A bad setting
/// is a 400 naming its field, and writes nothing.
pub fn consolidate_memories(
    ns: &Namespace,
    body: &ConsolidateMemoriesIn,
) -> Result<ConsolidatedOut, ApiError> {
    let options = body.to_options()?;
    let done = ns.consolidate(&options)?;
    Ok(ConsolidatedOut::new(&done, options.dry_run))
}

/// `getTiers`: how many memories are hot, warm and cold, the bytes their
/// vectors keep in memory and the budget (moves nothing).
pub fn get_tiers(ns: &Namespace) -> TiersOut {
    TiersOut::from(ns.tiers())
}

/// `rebalanceTiers`: places every memory in its tier under the
/// namespace's budget (the strongest from use hot, the next warm, the rest
/// cold; each move a durable `tier` event) and answers where they are now.
/// Without a budget nothing moves.
pub fn rebalance_tiers(ns: &Namespace) -> Result<TiersOut, ApiError> {
    Ok(TiersOut::from(ns.rebalance_tiers()?))
}
