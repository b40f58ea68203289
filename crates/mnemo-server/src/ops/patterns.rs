//! Procedural memory: recording trajectories (how a task went, by which
//! executor), suggesting an executor for a new task from the patterns
//! learned so far, and maintaining those patterns (prune, consolidate,
//! refine; the admin right over HTTP).

use mnemo::Namespace;
use mnemo::patterns::PatternId;

use crate::dto_facts::{
    ConsolidateIn, ConsolidatedOut, MergeOut, PatternOut, PatternParams, PatternsOut, PruneIn,
    PrunedOut, RecordedOut, RefinedOut, SuggestIn, SuggestOut, TrajectoryIn, page,
};
use crate::error::ApiError;

/// `recordTrajectory`: records how a task went; it joins the most similar
/// pattern or starts one. Embeds the task and syncs the log: a blocking
/// call.
pub fn record_trajectory(ns: &Namespace, body: &TrajectoryIn) -> Result<RecordedOut, ApiError> {
    let trajectory = body.to_trajectory()?;
    let r = ns.record_trajectory(trajectory)?;
    Ok(RecordedOut {
        trajectory: r.trajectory.0,
        pattern: r.pattern.0,
        new_pattern: r.new_pattern,
        refined: r.refined,
        seq: r.seq,
    })
}

/// `suggest`: an executor for a task (its text or its vector) from the
/// learned patterns most similar to it.
///
/// Like [`super::recall`], this applies no `limits.max_query_bytes` to the
/// task's text; [`super::call`] does, as HTTP does.
pub fn suggest(ns: &Namespace, body: &SuggestIn) -> Result<SuggestOut, ApiError> {
    let k = body.check()?;
    let found = match (&body.task, &body.vector) {
        (_, Some(v)) => ns.suggest_vector(v, k)?,
        (Some(task), None) => ns.suggest(task, k)?,
        (None, None) => return Err(ApiError::bad_request("task: give the task")),
    };
    Ok(SuggestOut::from(&found))
}

/// `listPatterns`: the learned patterns with their statistics per
/// executor, in pages.
pub fn list_patterns(ns: &Namespace, params: &PatternParams) -> Result<PatternsOut, ApiError> {
    let all = ns.patterns();
    let total = all.len();
    let patterns = page(all, params.offset, params.limit)?
        .iter()
        .map(PatternOut::from)
        .collect();
    Ok(PatternsOut { patterns, total })
}

/// `getPattern`: one learned pattern with its statistics per executor.
pub fn get_pattern(ns: &Namespace, id: u64) -> Result<PatternOut, ApiError> {
    let pattern = ns.pattern(PatternId(id)).ok_or_else(|| {
        ApiError::not_found(format!(
            "no pattern with id {id} in namespace {}",
            ns.name()
        ))
    })?;
    Ok(PatternOut::from(&pattern))
}

/// `prunePatterns`: removes the patterns (and their trajectories) that
/// any given condition names.
pub fn prune_patterns(ns: &Namespace, body: &PruneIn) -> Result<PrunedOut, ApiError> {
    let policy = body.to_policy()?;
    let pruned = ns.prune_patterns(&policy)?;
    Ok(PrunedOut {
        pruned: pruned.iter().map(|p| p.0).collect(),
        patterns: ns.patterns().len(),
    })
}

/// `consolidatePatterns`: merges patterns whose centroids have become
/// near-duplicates.
pub fn consolidate_patterns(
    ns: &Namespace,
    body: &ConsolidateIn,
) -> Result<ConsolidatedOut, ApiError> {
    body.check()?;
    let merges = ns.consolidate_patterns(body.threshold)?;
    Ok(ConsolidatedOut {
        merges: merges
            .iter()
            .map(|(kept, absorbed)| MergeOut {
                kept: kept.0,
                absorbed: absorbed.0,
            })
            .collect(),
        patterns: ns.patterns().len(),
    })
}

/// `refinePatterns`: re-clusters every trajectory now.
pub fn refine_patterns(ns: &Namespace) -> Result<RefinedOut, ApiError> {
    let before = ns.patterns().len();
    let seq = ns.refine_patterns()?;
    Ok(RefinedOut {
        seq,
        patterns_before: before,
        patterns_after: ns.patterns().len(),
    })
}
