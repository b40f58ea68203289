//! Facts and conflicts: asserting facts (checked for contradictions as
//! they are written), reading them on both clocks, each fact's life
//! (challenge, support, retract, quarantine), a timeline with the Merkle
//! proof of every assertion, predicate declarations, and settling
//! conflicts.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use mnemo::{ConflictId, Fact, FactId, FactStatus, MemoryId, Namespace};

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::FactOut;
use crate::dto_facts::{
    AssertIn, AssertedOut, CardinalityIo, ConflictOut, ConflictParams, ConflictsOut,
    FactChangedOut, FactDetailOut, FactParams, FactsOut, HistoryOut, HistoryParams,
    HistoryRecordOut, PredicateIn, PredicateOut, PredicatesOut, QuarantineIn, ReasonIn, ResolveIn,
    SupportIn, check_not_blank, page,
};
use crate::error::ApiError;
use crate::state::AppState;

const FACTS: &str = "facts";
const CONFLICTS: &str = "conflicts";

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/facts",
        post(assert_fact),
        Doc::new(
            "assertFact",
            FACTS,
            Some(Right::Write),
            "Asserts a fact (subject, predicate, object). It is checked at once against the \
             believed facts of its context, subject and predicate: a contradicting fact whose \
             validity starts later supersedes the older one (closes its window); otherwise a \
             conflict opens. Answers the fact, the facts it superseded and the conflicts it \
             opened.",
        )
        .body::<AssertIn>()
        .ok::<AssertedOut>(201),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/facts",
        get(list_facts),
        Doc::new(
            "listFacts",
            FACTS,
            Some(Right::Read),
            "Lists facts by subject, predicate and context: those valid at a time (validity \
             clock), as the namespace held them at a time (recorded clock), up to a \
             quarantine level; in pages.",
        )
        .query::<FactParams>()
        .ok::<FactsOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/facts/history",
        get(history),
        Doc::new(
            "factHistory",
            FACTS,
            Some(Right::Read),
            "The whole timeline of a subject's predicate in every context: every fact (any \
             status) with its changes and the Merkle inclusion proof of the event that \
             asserted it, checked by the server.",
        )
        .query::<HistoryParams>()
        .ok::<HistoryOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/facts/{id}",
        get(get_fact),
        Doc::new(
            "getFact",
            FACTS,
            Some(Right::Read),
            "One fact (any status) with what it was asserted as and its whole history.",
        )
        .ok::<FactDetailOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/facts/{id}/challenge",
        post(challenge),
        Doc::new(
            "challengeFact",
            FACTS,
            Some(Right::Write),
            "Challenges a believed fact: it requires a witness (support) before it is trusted \
             again; its open conflicts become challenged.",
        )
        .body::<ReasonIn>()
        .ok::<FactChangedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/facts/{id}/support",
        post(support),
        Doc::new(
            "supportFact",
            FACTS,
            Some(Right::Write),
            "Adds evidence (live memories) to a believed fact; this witnesses a challenged \
             fact.",
        )
        .body::<SupportIn>()
        .ok::<FactChangedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/facts/{id}/retract",
        post(retract),
        Doc::new(
            "retractFact",
            FACTS,
            Some(Right::Write),
            "Retracts a believed fact: it is no longer believed and its open conflicts close.",
        )
        .body::<ReasonIn>()
        .ok::<FactChangedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/facts/{id}/quarantine",
        post(quarantine),
        Doc::new(
            "quarantineFact",
            FACTS,
            Some(Right::Write),
            "Sets a fact's quarantine level explicitly, or clears it (no level: back to the \
             level its history gives it).",
        )
        .body::<QuarantineIn>()
        .ok::<FactChangedOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/predicates",
        post(declare),
        Doc::new(
            "declarePredicate",
            FACTS,
            Some(Right::Write),
            "Declares a predicate single-valued (different objects contradict, the default) \
             or multi-valued, for facts asserted from now on.",
        )
        .body::<PredicateIn>()
        .ok::<PredicateOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/predicates",
        get(predicates),
        Doc::new(
            "listPredicates",
            FACTS,
            Some(Right::Read),
            "The declared predicates and their cardinality.",
        )
        .ok::<PredicatesOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/conflicts",
        get(list_conflicts),
        Doc::new(
            "listConflicts",
            CONFLICTS,
            Some(Right::Read),
            "Conflicts between facts, with their two facts: open ones, or all with all=true.",
        )
        .query::<ConflictParams>()
        .ok::<ConflictsOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/conflicts/{id}",
        get(get_conflict),
        Doc::new(
            "getConflict",
            CONFLICTS,
            Some(Right::Read),
            "One conflict with its facts, challenges and resolution.",
        )
        .ok::<ConflictOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/conflicts/{id}/resolve",
        post(resolve),
        Doc::new(
            "resolveConflict",
            CONFLICTS,
            Some(Right::Write),
            "Resolves an open conflict: deprecated facts stop being believed, accepted ones \
             lose the conflict's quarantine. 409 when it is already resolved.",
        )
        .body::<ResolveIn>()
        .ok::<ConflictOut>(200),
    )
}

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
fn changed(ns: &Namespace, id: u64, seq: u64) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let fact = known_fact(ns, id)?;
    Ok(ApiJson(FactChangedOut {
        seq,
        fact: FactOut::from(&fact),
    }))
}

async fn assert_fact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<AssertIn>,
) -> Result<(StatusCode, ApiJson<AssertedOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let fact = body.to_new_fact()?;
    blocking(move || {
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
            .map(|c| conflict_out(&ns, &c))
            .collect();
        Ok((
            StatusCode::CREATED,
            ApiJson(AssertedOut {
                fact: FactOut::from(&fact),
                seq: asserted.seq,
                superseded,
                conflicts,
            }),
        ))
    })
    .await
}

async fn list_facts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<FactParams>,
) -> Result<ApiJson<FactsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let query = params.to_query()?;
    let facts = ns.facts(&query);
    let total = facts.len();
    let facts = page(facts, params.offset, params.limit)?
        .iter()
        .map(FactOut::from)
        .collect();
    Ok(ApiJson(FactsOut { facts, total }))
}

async fn get_fact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<FactDetailOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let fact = known_fact(&ns, id)?;
    Ok(ApiJson(FactDetailOut::from(&fact)))
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<ApiJson<HistoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    check_not_blank("subject", &params.subject)?;
    check_not_blank("predicate", &params.predicate)?;
    // Proofs are built from the log (reads of its segments): off the
    // request's worker thread.
    blocking(move || {
        let records: Vec<HistoryRecordOut> = ns
            .history(&params.subject, &params.predicate)?
            .iter()
            .map(|r| HistoryRecordOut {
                detail: FactDetailOut::from(&r.fact),
                proof: (&r.proof).into(),
                // Each proof is checked against the root it was built
                // for, which was the log's root at that moment.
                verified: r.proof.verify(None).is_ok(),
            })
            .collect();
        Ok(ApiJson(HistoryOut {
            verified: records.iter().all(|r| r.verified),
            subject: params.subject,
            predicate: params.predicate,
            records,
        }))
    })
    .await
}

/// A challenge or a retraction.
#[derive(Debug, Clone, Copy)]
enum Note {
    Challenge,
    Retract,
}

async fn note(
    state: AppState,
    caller: Caller,
    ns: String,
    id: u64,
    body: ReasonIn,
    what: Note,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    check_not_blank("reason", &body.reason)?;
    blocking(move || {
        let seq = match what {
            Note::Challenge => {
                believed_fact(&ns, id, "challenged")?;
                ns.challenge(FactId(id), &body.reason)?
            }
            Note::Retract => {
                believed_fact(&ns, id, "retracted")?;
                ns.retract(FactId(id), &body.reason)?
            }
        };
        changed(&ns, id, seq)
    })
    .await
}

async fn challenge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    note(state, caller, ns, id, body, Note::Challenge).await
}

async fn retract(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    note(state, caller, ns, id, body, Note::Retract).await
}

async fn support(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<SupportIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
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
    blocking(move || {
        believed_fact(&ns, id, "supported")?;
        let evidence: Vec<MemoryId> = body.evidence.iter().copied().map(MemoryId).collect();
        let seq = ns
            .support(FactId(id), &evidence, body.note.as_deref())
            .map_err(evidence_error)?;
        changed(&ns, id, seq)
    })
    .await
}

async fn quarantine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<QuarantineIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    check_not_blank("reason", &body.reason)?;
    let level = body.level.map(|l| l.to_engine());
    blocking(move || {
        known_fact(&ns, id)?;
        let seq = ns.quarantine(FactId(id), level, &body.reason)?;
        changed(&ns, id, seq)
    })
    .await
}

async fn declare(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<PredicateIn>,
) -> Result<ApiJson<PredicateOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    check_not_blank("predicate", &body.predicate)?;
    blocking(move || {
        let seq = ns.declare_predicate(&body.predicate, body.cardinality.to_engine())?;
        Ok(ApiJson(PredicateOut {
            predicate: body.predicate,
            cardinality: body.cardinality,
            seq: Some(seq),
        }))
    })
    .await
}

async fn predicates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<PredicatesOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let predicates = ns
        .predicates()
        .into_iter()
        .map(|(predicate, c)| PredicateOut {
            predicate,
            cardinality: CardinalityIo::from_engine(c),
            seq: None,
        })
        .collect();
    Ok(ApiJson(PredicatesOut { predicates }))
}

async fn list_conflicts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<ConflictParams>,
) -> Result<ApiJson<ConflictsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let all = ns.conflicts(!params.all.unwrap_or(false));
    let total = all.len();
    let conflicts = page(all, params.offset, params.limit)?
        .iter()
        .map(|c| conflict_out(&ns, c))
        .collect();
    Ok(ApiJson(ConflictsOut { conflicts, total }))
}

fn known_conflict(ns: &Namespace, id: u64) -> Result<mnemo::Conflict, ApiError> {
    ns.conflict(ConflictId(id)).ok_or_else(|| {
        ApiError::not_found(format!(
            "no conflict with id {id} in namespace {}",
            ns.name()
        ))
    })
}

async fn get_conflict(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<ConflictOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let c = known_conflict(&ns, id)?;
    Ok(ApiJson(conflict_out(&ns, &c)))
}

async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ResolveIn>,
) -> Result<ApiJson<ConflictOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    body.check()?;
    blocking(move || {
        let c = known_conflict(&ns, id)?;
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
        let after = known_conflict(&ns, id)?;
        Ok(ApiJson(conflict_out(&ns, &after)))
    })
    .await
}
