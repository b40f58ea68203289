//! Memories: batch remember, list and query, get (with links and facts),
//! revise, retag and forget.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use mnemo::MemoryId;

use super::{ApiJson, ApiPath, ApiQuery, Caller, blocking};
use crate::api::{Api, Doc};
use crate::auth::Right;
use crate::dto::{
    FactOut, ForgetOut, LinkOut, LinksOut, ListOut, ListParams, MemoryDetailOut, MemoryOut,
    QueryIn, RememberIn, RememberOut, RememberedOut, RetagIn, RevisionIn,
};
use crate::error::ApiError;
use crate::state::AppState;

const TAG: &str = "memories";

pub(crate) fn routes(api: Api) -> Api {
    api.op(
        Method::POST,
        "/v1/namespaces/{ns}/memories",
        post(remember),
        Doc::new(
            "remember",
            TAG,
            Some(Right::Write),
            "Remembers a batch of memories in one atomic, durable log append; answers their ids.",
        )
        .body::<RememberIn>()
        .ok::<RememberOut>(201),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/memories",
        get(list),
        Doc::new(
            "listMemories",
            TAG,
            Some(Right::Read),
            "Lists memories, filtered by tag, source, kind or text, in pages.",
        )
        .query::<ListParams>()
        .ok::<ListOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/memories/query",
        post(query),
        Doc::new(
            "queryMemories",
            TAG,
            Some(Right::Read),
            "Queries memories with every filter (tags, times, metadata, ...), an order and a page.",
        )
        .body::<QueryIn>()
        .ok::<ListOut>(200),
    )
    .op(
        Method::GET,
        "/v1/namespaces/{ns}/memories/{id}",
        get(get_one),
        Doc::new(
            "getMemory",
            TAG,
            Some(Right::Read),
            "One memory with its links and the facts citing it.",
        )
        .ok::<MemoryDetailOut>(200),
    )
    .op(
        Method::PATCH,
        "/v1/namespaces/{ns}/memories/{id}",
        patch(revise),
        Doc::new(
            "reviseMemory",
            TAG,
            Some(Right::Write),
            "Changes a memory's content, kind, importance, confidence, metadata, time or source.",
        )
        .body::<RevisionIn>()
        .ok::<MemoryOut>(200),
    )
    .op(
        Method::DELETE,
        "/v1/namespaces/{ns}/memories/{id}",
        delete(forget),
        Doc::new(
            "forgetMemory",
            TAG,
            Some(Right::Write),
            "Forgets a memory (its links go with it; the log keeps the history).",
        )
        .ok::<ForgetOut>(200),
    )
    .op(
        Method::POST,
        "/v1/namespaces/{ns}/memories/{id}/tags",
        post(retag),
        Doc::new(
            "retagMemory",
            TAG,
            Some(Right::Write),
            "Adds and removes tags of a memory.",
        )
        .body::<RetagIn>()
        .ok::<MemoryOut>(200),
    )
}

async fn remember(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<RememberIn>,
) -> Result<(StatusCode, ApiJson<RememberOut>), ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    let max = state.config().limits.batch;
    if body.memories.is_empty() {
        return Err(ApiError::bad_request("memories: send at least one"));
    }
    if body.memories.len() > max {
        return Err(ApiError::bad_request(format!(
            "memories: at most {max} per request (limits.batch); send {} in several",
            body.memories.len()
        )));
    }
    let memories = body
        .memories
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.to_new_memory()
                .map_err(|e| ApiError::bad_request(format!("memories[{i}]: {}", e.message)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let done = blocking(move || ns.remember_batch(memories).map_err(ApiError::from)).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(RememberOut {
            ids: done.iter().map(|r| r.id.0).collect(),
            results: done
                .iter()
                .map(|r| RememberedOut {
                    id: r.id.0,
                    outcome: r.outcome.as_str().to_owned(),
                    seq: r.seq.0,
                })
                .collect(),
        }),
    ))
}

fn run_query(ns: &mnemo::Namespace, q: &QueryIn) -> Result<ListOut, ApiError> {
    let (page, all) = q.to_query()?;
    let memories = ns
        .query(&page)
        .iter()
        .map(|m| MemoryOut::from(&**m))
        .collect();
    let total = ns.count(&all);
    Ok(ListOut { memories, total })
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<ApiJson<ListOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    run_query(&ns, &params.to_query_in()).map(ApiJson)
}

async fn query(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<QueryIn>,
) -> Result<ApiJson<ListOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    run_query(&ns, &body).map(ApiJson)
}

fn unknown(ns: &mnemo::Namespace, id: u64) -> ApiError {
    ApiError::not_found(format!("no memory with id {id} in namespace {}", ns.name()))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<MemoryDetailOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Read)?;
    let memory = ns.get(MemoryId(id)).ok_or_else(|| unknown(&ns, id))?;
    let (outgoing, incoming) = ns.links(MemoryId(id));
    let facts = ns.facts_citing(MemoryId(id));
    Ok(ApiJson(MemoryDetailOut {
        memory: MemoryOut::from(&*memory),
        links: LinksOut {
            outgoing: outgoing.iter().map(LinkOut::from).collect(),
            incoming: incoming.iter().map(LinkOut::from).collect(),
        },
        facts: facts.iter().map(FactOut::from).collect(),
    }))
}

/// The memory after a write, or 404 if it vanished in between.
fn current(ns: &mnemo::Namespace, id: u64) -> Result<ApiJson<MemoryOut>, ApiError> {
    ns.get(MemoryId(id))
        .map(|m| ApiJson(MemoryOut::from(&*m)))
        .ok_or_else(|| unknown(ns, id))
}

async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<RevisionIn>,
) -> Result<ApiJson<MemoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: give content, kind, importance, confidence, metadata, at or source",
        ));
    }
    let revision = body.to_revision()?;
    blocking(move || {
        ns.revise(MemoryId(id), revision)?;
        current(&ns, id)
    })
    .await
}

async fn retag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<RetagIn>,
) -> Result<ApiJson<MemoryOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    if body.add.is_empty() && body.remove.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: give add and/or remove",
        ));
    }
    blocking(move || {
        let add: Vec<&str> = body.add.iter().map(String::as_str).collect();
        let remove: Vec<&str> = body.remove.iter().map(String::as_str).collect();
        ns.retag(MemoryId(id), &add, &remove)?;
        current(&ns, id)
    })
    .await
}

async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> Result<ApiJson<ForgetOut>, ApiError> {
    let ns = caller.namespace(&state, &ns, Right::Write)?;
    blocking(move || {
        ns.forget(MemoryId(id))?;
        Ok(ApiJson(ForgetOut {
            id,
            forgotten: true,
        }))
    })
    .await
}
