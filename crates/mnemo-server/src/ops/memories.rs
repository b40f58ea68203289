//! Memories: batch remember, list and query, get (with links and facts),
//! revise, retag, touch, deadlines (set one, sweep the expired) and
//! forget.

use mnemo::{MemoryId, Namespace};

use super::Limits;
use crate::dto::{
    ExpireOut, ExpiryIn, ExpiryOut, FactOut, ForgetOut, LifecycleOut, LinkOut, LinksOut, ListOut,
    ListParams, MemoryDetailOut, MemoryOut, PurgeIn, PurgeOut, QueryIn, RememberIn, RememberOut,
    RememberedOut, RetagIn, RevisionIn, TouchIn, TouchOut, parse_time,
};
use crate::error::ApiError;

/// `remember`: remembers a batch of memories in one atomic, durable log
/// append and answers their ids. At least one memory and at most
/// `limits.batch`; a refused batch writes nothing (errors name the
/// memory, `memories[i]`, and its field).
pub fn remember(
    ns: &Namespace,
    body: &RememberIn,
    limits: &Limits,
) -> Result<RememberOut, ApiError> {
    let max = limits.batch;
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
    let done = ns.remember_batch(memories)?;
    Ok(RememberOut {
        ids: done.iter().map(|r| r.id.0).collect(),
        results: done
            .iter()
            .map(|r| RememberedOut {
                id: r.id.0,
                outcome: r.outcome.as_str().to_owned(),
                seq: r.seq.0,
            })
            .collect(),
    })
}

/// `listMemories`: memories filtered by tag, source, kind or text, in
/// pages.
pub fn list_memories(ns: &Namespace, params: &ListParams) -> Result<ListOut, ApiError> {
    query_memories(ns, &params.to_query_in())
}

/// `queryMemories`: memories by every filter, in an order, in pages.
pub fn query_memories(ns: &Namespace, body: &QueryIn) -> Result<ListOut, ApiError> {
    let (page, all) = body.to_query()?;
    let memories = ns
        .query(&page)
        .iter()
        .map(|m| MemoryOut::from(&**m))
        .collect();
    let total = ns.count(&all);
    Ok(ListOut { memories, total })
}

fn unknown(ns: &Namespace, id: u64) -> ApiError {
    ApiError::not_found(format!("no memory with id {id} in namespace {}", ns.name()))
}

fn ids(ids: Vec<MemoryId>) -> Vec<u64> {
    ids.into_iter().map(|id| id.0).collect()
}

/// `getMemory`: one memory with its links, the facts citing it, its
/// strength, lifecycle, tier and provenance (the memories it was
/// consolidated from, and those consolidated from it).
pub fn get_memory(ns: &Namespace, id: u64) -> Result<MemoryDetailOut, ApiError> {
    let memory = ns.get(MemoryId(id)).ok_or_else(|| unknown(ns, id))?;
    let (outgoing, incoming) = ns.links(MemoryId(id));
    let facts = ns.facts_citing(MemoryId(id));
    let info = ns.lifecycle(MemoryId(id));
    Ok(MemoryDetailOut {
        memory: MemoryOut::from(&*memory),
        links: LinksOut {
            outgoing: outgoing.iter().map(LinkOut::from).collect(),
            incoming: incoming.iter().map(LinkOut::from).collect(),
        },
        facts: facts.iter().map(FactOut::from).collect(),
        strength: ns.strength(MemoryId(id)).unwrap_or(f64::NEG_INFINITY),
        touches: ns.touches(MemoryId(id)).unwrap_or(0),
        lifecycle: info.as_ref().map(LifecycleOut::from).unwrap_or_default(),
        tier: info.map(|i| i.tier).unwrap_or_default().as_str().to_owned(),
        derived_from: ids(ns.derived_from(MemoryId(id))),
        consolidated_into: ids(ns.consolidated_into(MemoryId(id))),
    })
}

/// Records a use of each memory now (`POST .../memories/touch`).
pub fn touch_memories(ns: &Namespace, body: &TouchIn) -> Result<TouchOut, ApiError> {
    let ids: Vec<MemoryId> = body.ids.iter().map(|&id| MemoryId(id)).collect();
    ns.touch(&ids)?;
    let mut distinct = body.ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    Ok(TouchOut {
        touched: distinct.len(),
    })
}

/// `setExpiry`: sets memory `id`'s deadline, or clears it with null (one
/// durable `expiry` event). A deadline already past takes the memory out
/// of every read at once; the next sweep erases it.
pub fn set_expiry(ns: &Namespace, id: u64, body: &ExpiryIn) -> Result<ExpiryOut, ApiError> {
    let deadline = body
        .expires_at
        .as_deref()
        .map(|t| parse_time("expires_at", t))
        .transpose()?;
    let delta = ns.set_expiry(MemoryId(id), deadline)?;
    Ok(ExpiryOut {
        id,
        expires_at: deadline.map(mnemo::rfc3339::format),
        seq: delta.seq,
    })
}

/// `expireDue`: expires every memory past its deadline now (their
/// `expire` events written, their keys destroyed, as forgetting does).
/// The server also does this about once a second and before each write.
pub fn expire_due(ns: &Namespace) -> Result<ExpireOut, ApiError> {
    Ok(ExpireOut {
        expired: ns.expire_due()?.into_iter().map(|id| id.0).collect(),
    })
}

/// The memory after a write, or 404 if it vanished in between.
fn current(ns: &Namespace, id: u64) -> Result<MemoryOut, ApiError> {
    ns.get(MemoryId(id))
        .map(|m| MemoryOut::from(&*m))
        .ok_or_else(|| unknown(ns, id))
}

/// `reviseMemory`: changes a memory's content, kind, importance,
/// confidence, metadata, time or source; answers it as it is now.
pub fn revise_memory(ns: &Namespace, id: u64, body: &RevisionIn) -> Result<MemoryOut, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: give content, kind, importance, confidence, metadata, at or source",
        ));
    }
    let revision = body.to_revision()?;
    ns.revise(MemoryId(id), revision)?;
    current(ns, id)
}

/// `retagMemory`: adds and removes tags of a memory; answers it as it is
/// now.
pub fn retag_memory(ns: &Namespace, id: u64, body: &RetagIn) -> Result<MemoryOut, ApiError> {
    if body.add.is_empty() && body.remove.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: give add and/or remove",
        ));
    }
    let add: Vec<&str> = body.add.iter().map(String::as_str).collect();
    let remove: Vec<&str> = body.remove.iter().map(String::as_str).collect();
    ns.retag(MemoryId(id), &add, &remove)?;
    current(ns, id)
}

/// `purgeMemories`: forgets and erases every memory with a tag, from a
/// source, or of the whole namespace (exactly one of them, else 400).
pub fn purge_memories(ns: &Namespace, body: &PurgeIn) -> Result<PurgeOut, ApiError> {
    let filter = match (&body.tag, &body.source, body.all) {
        (Some(tag), None, false) => mnemo::Query::new().tag(tag.clone()),
        (None, Some(source), false) => mnemo::Query::new().source(source.clone()),
        (None, None, true) => mnemo::Query::new(),
        _ => {
            return Err(ApiError::bad_request(
                "purge: give exactly one of tag, source, or all: true",
            ));
        }
    };
    let purged: Vec<u64> = ns.purge(&filter)?.into_iter().map(|id| id.0).collect();
    Ok(PurgeOut {
        count: purged.len(),
        purged,
    })
}

/// `forgetMemory`: forgets a memory and erases it (its key is destroyed,
/// so what the log holds of it can no longer be read; its links go with
/// it).
pub fn forget_memory(ns: &Namespace, id: u64) -> Result<ForgetOut, ApiError> {
    ns.forget(MemoryId(id))?;
    Ok(ForgetOut {
        id,
        forgotten: true,
    })
}
