//! Facts and conflicts: asserting facts (checked for contradictions as
//! they are written), reading them on both clocks, each fact's life
//! (challenge, support, retract, quarantine), a timeline with the Merkle
//! proof of every assertion, predicate declarations, and settling
//! conflicts ([`crate::ops`] does the work).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto_facts::{
    AssertIn, AssertedOut, ConflictOut, ConflictParams, ConflictsOut, FactChangedOut,
    FactDetailOut, FactParams, FactsOut, HistoryOut, HistoryParams, PredicateIn, PredicateOut,
    PredicatesOut, QuarantineIn, ReasonIn, ResolveIn, SupportIn,
};
use crate::error::ApiError;
use crate::ops;
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

async fn assert_fact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<AssertIn>,
) -> Result<(StatusCode, ApiJson<AssertedOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let out = blocking(move || ops::assert_fact(&ns, &body)).await?;
    Ok((StatusCode::CREATED, ApiJson(out)))
}

async fn list_facts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<FactParams>,
) -> Result<ApiJson<FactsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::list_facts(&ns, &params).map(ApiJson)
}

async fn get_fact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<FactDetailOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::get_fact(&ns, id).map(ApiJson)
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<ApiJson<HistoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    // Proofs are built from the log (reads of its segments): off the
    // request's worker thread.
    blocking(move || ops::fact_history(&ns, &params))
        .await
        .map(ApiJson)
}

async fn challenge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::challenge_fact(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn retract(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::retract_fact(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn support(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<SupportIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::support_fact(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn quarantine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<QuarantineIn>,
) -> Result<ApiJson<FactChangedOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::quarantine_fact(&ns, id, &body))
        .await
        .map(ApiJson)
}

async fn declare(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<PredicateIn>,
) -> Result<ApiJson<PredicateOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::declare_predicate(&ns, &body))
        .await
        .map(ApiJson)
}

async fn predicates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
) -> Result<ApiJson<PredicatesOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    Ok(ApiJson(ops::list_predicates(&ns)))
}

async fn list_conflicts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<ConflictParams>,
) -> Result<ApiJson<ConflictsOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::list_conflicts(&ns, &params).map(ApiJson)
}

async fn get_conflict(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<ConflictOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    ops::get_conflict(&ns, id).map(ApiJson)
}

async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<ResolveIn>,
) -> Result<ApiJson<ConflictOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || ops::resolve_conflict(&ns, id, &body))
        .await
        .map(ApiJson)
}
