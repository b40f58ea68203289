//! Links between memories.

use mnemo::{MemoryId, Namespace};

use crate::dto::{LinkIn, LinkOut, UnlinkParams};
use crate::error::ApiError;

/// `link`: links two memories with a kind and a weight (default 1;
/// linking again updates the weight).
pub fn link(ns: &Namespace, body: &LinkIn) -> Result<LinkOut, ApiError> {
    let weight = body.weight.unwrap_or(1.0);
    ns.link(MemoryId(body.from), MemoryId(body.to), &body.kind, weight)?;
    Ok(LinkOut {
        from: body.from,
        to: body.to,
        kind: body.kind.clone(),
        weight,
    })
}

/// `unlink`: removes the link of this kind between two memories and
/// answers it (404 naming it when there is none).
pub fn unlink(ns: &Namespace, params: &UnlinkParams) -> Result<LinkOut, ApiError> {
    let (outgoing, _) = ns.links(MemoryId(params.from));
    let existing = outgoing
        .iter()
        .find(|l| l.to.0 == params.to && l.kind == params.kind)
        .map(LinkOut::from)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no {:?} link from {} to {} in namespace {}",
                params.kind,
                params.from,
                params.to,
                ns.name()
            ))
        })?;
    ns.unlink(MemoryId(params.from), MemoryId(params.to), &params.kind)?;
    Ok(existing)
}
