//! Facts and conflicts: asserting facts (checked for contradictions as
//! they are written), reading them on both clocks, each fact's life
//! (challenge, support, retract, quarantine), a timeline with the Merkle
//! proof of every assertion, predicate declarations, and settling
//! conflicts.

use mnemo::{ConflictId, Fact, FactId, FactStatus, MemoryId, Namespace};

use crate::dto::FactOut;
use crate::dto_facts::{
    AssertIn, AssertedOut, CardinalityIo, ConflictOut, ConflictParams, ConflictsOut,
    FactChangedOut, FactDetailOut, FactParams, FactsOut, HistoryOut, HistoryParams,
    HistoryRecordOut, PredicateIn, PredicateOut, PredicatesOut, QuarantineIn, ReasonIn, ResolveIn,
    SupportIn, check_not_blank, page,
};
use crate::error::ApiError;

/// The fact `id`, or 404 naming it.
fn known_fact(ns: &Namespace, id: u64) -> Result<Fact, ApiError> {
    ns.fact(FactId(id)).ok_or_else(|| {
        ApiError::not_found(format!("no fact with id {id} in namespace {}", ns.name()))
    })
}

/// The fact `id`, which must be believed: 404 when unknown, 409 when
/// deprecated or retracted.
fn believed_fact(ns: &Namespace, id: u64, action: &str) -> Result<Fact, ApiError> {
    let fact = known_fact(ns, id)?;
    if fact.status != FactStatus::Believed {
        return Err(ApiError::conflict(format!(
            "fact {id} is {}: only believed facts can be {action}",
            fact.status.as_str()
        )));
    }
    Ok(fact)
}

/// An engine error of a write citing memories: an unknown memory there is
/// a bad `evidence` entry (400), not a missing resource.
fn evidence_error(e: mnemo::Error) -> ApiError {
    match e {
        mnemo::Error::UnknownId { id, .. } => ApiError::bad_request(format!(
            "evidence: no memory with id {id} (evidence must name live memories)"
        )),
        other => ApiError::from(other),
    }
}

fn conflict_out(ns: &Namespace, c: &mnemo::Conflict) -> ConflictOut {
    ConflictOut::new(c, |id| ns.fact(id))
}

/// The fact after a write to it.
fn changed(ns: &Namespace, id: u64, seq: u64) -> Result<FactChangedOut, ApiError> {
    let fact = known_fact(ns, id)?;
    Ok(FactChangedOut {
        seq,
        fact: FactOut::from(&fact),
    })
}

/// `assertFact`: asserts a fact, checked at once against the believed
/// facts of its context, subject and predicate; answers the fact, the
/// facts it superseded and the conflicts it opened.
pub fn assert_fact(ns: &Namespace, body: &AssertIn) -> Result<AssertedOut, ApiError> {
    let fact = body.to_new_fact()?;
    let asserted = ns.assert_fact(fact).map_err(evidence_error)?;
    let fact = ns.fact(asserted.fact).ok_or_else(|| {
        ApiError::internal(format!(
            "fact {} vanished after its assertion",
            asserted.fact
        ))
    })?;
    let superseded = asserted
        .superseded
        .iter()
        .filter_map(|id| ns.fact(*id))
        .map(|f| FactOut::from(&f))
        .collect();
    let conflicts = asserted
        .conflicts
        .iter()
        .filter_map(|id| ns.conflict(*id))
        .map(|c| conflict_out(ns, &c))
        .collect();
    Ok(AssertedOut {
        fact: FactOut::from(&fact),
        seq: asserted.seq,
        superseded,
        conflicts,
    })
}

/// `listFacts`: facts by subject, predicate and context, on either clock,
/// up to a quarantine level, in pages.
pub fn list_facts(ns: &Namespace, params: &FactParams) -> Result<FactsOut, ApiError> {
    let query = params.to_query()?;
    let facts = ns.facts(&query);
    let total = facts.len();
    let facts = page(facts, params.offset, params.limit)?
        .iter()
        .map(FactOut::from)
        .collect();
    Ok(FactsOut { facts, total })
}

/// `getFact`: one fact (any status) with what it was asserted as and its
/// whole history.
pub fn get_fact(ns: &Namespace, id: u64) -> Result<FactDetailOut, ApiError> {
    let fact = known_fact(ns, id)?;
    Ok(FactDetailOut::from(&fact))
}

/// `factHistory`: the whole timeline of a subject's predicate in every
/// context, each fact with the Merkle inclusion proof of the event that
/// asserted it, checked. Reads log segments: a blocking call.
pub fn fact_history(ns: &Namespace, params: &HistoryParams) -> Result<HistoryOut, ApiError> {
    check_not_blank("subject", &params.subject)?;
    check_not_blank("predicate", &params.predicate)?;
    let records: Vec<HistoryRecordOut> = ns
        .history(&params.subject, &params.predicate)?
        .iter()
        .map(|r| HistoryRecordOut {
            detail: FactDetailOut::from(&r.fact),
            proof: (&r.proof).into(),
            // Each proof is checked against the root it was built for,
            // which was the log's root at that moment.
            verified: r.proof.verify(None).is_ok(),
        })
        .collect();
    Ok(HistoryOut {
        verified: records.iter().all(|r| r.verified),
        subject: params.subject.clone(),
        predicate: params.predicate.clone(),
        records,
    })
}

/// A challenge or a retraction of believed fact `id`: the engine's
/// `write` (past participle `done` for the 409 naming it) with the reason.
fn note(
    ns: &Namespace,
    id: u64,
    body: &ReasonIn,
    done: &str,
    write: fn(&Namespace, FactId, &str) -> mnemo::Result<u64>,
) -> Result<FactChangedOut, ApiError> {
    check_not_blank("reason", &body.reason)?;
    believed_fact(ns, id, done)?;
    let seq = write(ns, FactId(id), &body.reason)?;
    changed(ns, id, seq)
}

/// `challengeFact`: challenges a believed fact (it needs a witness before
/// it is trusted again; its open conflicts become challenged).
pub fn challenge_fact(
    ns: &Namespace,
    id: u64,
    body: &ReasonIn,
) -> Result<FactChangedOut, ApiError> {
    note(ns, id, body, "challenged", Namespace::challenge)
}

/// `retractFact`: retracts a believed fact (no longer believed; its open
/// conflicts close).
pub fn retract_fact(ns: &Namespace, id: u64, body: &ReasonIn) -> Result<FactChangedOut, ApiError> {
    note(ns, id, body, "retracted", Namespace::retract)
}

/// `supportFact`: adds evidence (live memories, at least one, at most
/// [`mnemo::MAX_EVIDENCE`]) to a believed fact; this witnesses a
/// challenged fact.
pub fn support_fact(ns: &Namespace, id: u64, body: &SupportIn) -> Result<FactChangedOut, ApiError> {
    if body.evidence.is_empty() {
        return Err(ApiError::bad_request(
            "evidence: name at least one memory that supports the fact",
        ));
    }
    if body.evidence.len() > mnemo::MAX_EVIDENCE {
        return Err(ApiError::bad_request(format!(
            "evidence: {} ids exceed the limit of {}",
            body.evidence.len(),
            mnemo::MAX_EVIDENCE
        )));
    }
    believed_fact(ns, id, "supported")?;
    let evidence: Vec<MemoryId> = body.evidence.iter().copied().map(MemoryId).collect();
    let seq = ns
        .support(FactId(id), &evidence, body.note.as_deref())
        .map_err(evidence_error)?;
    changed(ns, id, seq)
}

/// `quarantineFact`: sets a fact's quarantine level, or clears it (no
/// level: back to the level its history gives it).
pub fn quarantine_fact(
    ns: &Namespace,
    id: u64,
    body: &QuarantineIn,
) -> Result<FactChangedOut, ApiError> {
    check_not_blank("reason", &body.reason)?;
    let level = body.level.map(|l| l.to_engine());
    known_fact(ns, id)?;
    let seq = ns.quarantine(FactId(id), level, &body.reason)?;
    changed(ns, id, seq)
}

/// `declarePredicate`: declares a predicate single-valued or
/// multi-valued for facts asserted from now on.
pub fn declare_predicate(ns: &Namespace, body: &PredicateIn) -> Result<PredicateOut, ApiError> {
    check_not_blank("predicate", &body.predicate)?;
    let seq = ns.declare_predicate(&body.predicate, body.cardinality.to_engine())?;
    Ok(PredicateOut {
        predicate: body.predicate.clone(),
        cardinality: body.cardinality,
        seq: Some(seq),
    })
}

/// `listPredicates`: the declared predicates and their cardinality.
pub fn list_predicates(ns: &Namespace) -> PredicatesOut {
    let predicates = ns
        .predicates()
        .into_iter()
        .map(|(predicate, c)| PredicateOut {
            predicate,
            cardinality: CardinalityIo::from_engine(c),
            seq: None,
        })
        .collect();
    PredicatesOut { predicates }
}

/// `listConflicts`: open conflicts (all with `all`), with their two
/// facts, in pages.
pub fn list_conflicts(ns: &Namespace, params: &ConflictParams) -> Result<ConflictsOut, ApiError> {
    let all = ns.conflicts(!params.all.unwrap_or(false));
    let total = all.len();
    let conflicts = page(all, params.offset, params.limit)?
        .iter()
        .map(|c| conflict_out(ns, c))
        .collect();
    Ok(ConflictsOut { conflicts, total })
}

fn known_conflict(ns: &Namespace, id: u64) -> Result<mnemo::Conflict, ApiError> {
    ns.conflict(ConflictId(id)).ok_or_else(|| {
        ApiError::not_found(format!(
            "no conflict with id {id} in namespace {}",
            ns.name()
        ))
    })
}

/// `getConflict`: one conflict with its facts, challenges and resolution.
pub fn get_conflict(ns: &Namespace, id: u64) -> Result<ConflictOut, ApiError> {
    let c = known_conflict(ns, id)?;
    Ok(conflict_out(ns, &c))
}

/// `resolveConflict`: resolves an open conflict (409 when it already is).
pub fn resolve_conflict(
    ns: &Namespace,
    id: u64,
    body: &ResolveIn,
) -> Result<ConflictOut, ApiError> {
    body.check()?;
    let c = known_conflict(ns, id)?;
    if !c.is_open() {
        return Err(ApiError::conflict(format!(
            "conflict {id} is already resolved"
        )));
    }
    let ids = |v: &[u64]| v.iter().copied().map(FactId).collect::<Vec<_>>();
    ns.resolve(
        ConflictId(id),
        &ids(&body.accepted),
        &ids(&body.deprecated),
        &body.rationale,
    )?;
    let after = known_conflict(ns, id)?;
    Ok(conflict_out(ns, &after))
}
