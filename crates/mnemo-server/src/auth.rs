//! Bearer tokens: each a random secret the server knows only by its
//! SHA-256 hash, scoped to namespaces and rights.
//!
//! A token is `mnemo_` followed by 43 URL-safe base64 characters (32
//! random bytes). Because it is random and long, a fast hash is the right
//! one to store (there is nothing to brute-force); lookups compare hashes
//! in constant time. `mnemo token create` makes one, adds its hash to the
//! config file and prints the token once.
//!
//! ## The same rights on every front door
//!
//! The HTTP API, MCP over HTTP and any front end added later decide who
//! may do what through the methods here, never with rules of their own:
//!
//! - [`Principal::check`] is the right a request needs on a namespace.
//!   The scope is checked first, before anything looks the namespace up,
//!   so a name outside a token's scope is refused (403) without
//!   revealing whether it exists; only then does a read of a missing
//!   namespace get its 404 (the API) or an empty answer (MCP tools).
//! - [`Principal::check_create`]: creating a namespace needs `admin` on
//!   it, whether the caller asks for it (`POST /v1/namespaces`) or a
//!   write implies it (MCP `remember` and `assert_fact` into a namespace
//!   that does not exist yet). A `write` token is refused with 403 naming
//!   the missing right, and nothing is created: each namespace opens a
//!   log and an indexer thread, which a mere writer must not be able to
//!   multiply.
//! - [`Principal::open_for_write`] and [`AppState::namespace_for_write`]
//!   give a write its namespace by those two rules: an existing one with
//!   `write`, a missing one created only with `admin`.
//!
//! Unauthenticated requests never reach a handler or the rate limiter:
//! [`require_token`] answers them 401 first, and the limiter keeps one
//! bucket per configured token, so no request can add state by inventing
//! tokens.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mnemo::Namespace;

use crate::AppState;
use crate::config::TokenEntry;
use crate::error::ApiError;

/// What a token may do in a namespace. Each right includes the ones
/// before it: `admin` can write, `write` can read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    /// Get, list, query, recall, watch, stats, proofs, suggestions.
    Read,
    /// Remember, revise, retag, forget, link, facts, trajectories.
    Write,
    /// Create namespaces, maintain patterns, read server metrics.
    Admin,
}

impl Right {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Write => "write",
            Right::Admin => "admin",
        }
    }
}

/// Who is calling: the token's name, its namespaces and its highest
/// right. Inserted into each authenticated request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (from the config file).
    pub name: String,
    /// Namespaces it may use; `None` means all.
    namespaces: Option<Vec<String>>,
    /// Its highest right.
    right: Right,
}

impl Principal {
    /// Every right on every namespace: the local user of `mnemo mcp` over
    /// standard input and output, who owns the data directory anyway.
    pub fn local() -> Self {
        Self {
            name: "local".to_owned(),
            namespaces: None,
            right: Right::Admin,
        }
    }

    /// The principal a config entry describes.
    pub fn from_entry(entry: &TokenEntry) -> Self {
        let all = entry.namespaces.iter().any(|n| n == "*");
        Self {
            name: entry.name.clone(),
            namespaces: (!all).then(|| entry.namespaces.clone()),
            right: entry.rights.iter().copied().max().unwrap_or(Right::Read),
        }
    }

    /// Whether it may use namespace `ns` at all.
    pub fn sees(&self, ns: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == ns))
    }

    /// Whether it has `right` on every namespace (for server-wide routes).
    pub fn is_global(&self, right: Right) -> bool {
        self.namespaces.is_none() && self.right >= right
    }

    /// `Ok` when it may do what `right` covers in `ns`; 403 naming what is
    /// missing otherwise.
    pub fn check(&self, ns: &str, right: Right) -> Result<(), ApiError> {
        if !self.sees(ns) {
            return Err(ApiError::forbidden(format!(
                "token {:?} has no access to namespace {ns:?}",
                self.name
            )));
        }
        if self.right < right {
            return Err(ApiError::forbidden(format!(
                "token {:?} lacks the {} right on namespace {ns:?}",
                self.name,
                right.as_str()
            )));
        }
        Ok(())
    }

    /// `Ok` when it may create namespace `ns`: the `admin` right there.
    /// Every way of creating one (an explicit create, or a write that
    /// would create it) asks this, so a `write` token creates nothing on
    /// any front door. Scope first, as in [`Self::check`].
    pub fn check_create(&self, ns: &str) -> Result<(), ApiError> {
        self.check(ns, Right::Read)?;
        if self.right < Right::Admin {
            return Err(ApiError::forbidden(format!(
                "token {:?} lacks the admin right needed to create namespace {ns:?} \
                 (a token with admin creates it, e.g. with POST /v1/namespaces)",
                self.name
            )));
        }
        Ok(())
    }

    /// The namespace a write by this principal goes to: `existing` looks
    /// it up (`None` when it does not exist), `create` makes it. The write
    /// right is checked before either runs; a missing namespace is created
    /// only when [`Self::check_create`] allows it, so with `write` alone
    /// the answer is 403 and `create` never runs.
    pub fn open_for_write<N>(
        &self,
        ns: &str,
        existing: impl FnOnce() -> Result<Option<N>, ApiError>,
        create: impl FnOnce() -> Result<N, ApiError>,
    ) -> Result<N, ApiError> {
        self.check(ns, Right::Write)?;
        if let Some(found) = existing()? {
            return Ok(found);
        }
        self.check_create(ns)?;
        create()
    }

    /// `Ok` when it has `right` on every namespace.
    pub fn check_global(&self, right: Right) -> Result<(), ApiError> {
        if self.is_global(right) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "token {:?} needs the {} right on every namespace (\"*\") for this",
                self.name,
                right.as_str()
            )))
        }
    }
}

impl AppState {
    /// The namespace `name` for a write by `principal`, by the rule every
    /// front door shares ([`Principal::open_for_write`]): 400 for an
    /// invalid name, 403 outside the token's scope or without `write`, the
    /// namespace when it exists, and a new one only when `principal` holds
    /// `admin` on it (403 naming the admin right otherwise).
    pub fn namespace_for_write(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Namespace, ApiError> {
        mnemo::validate_namespace(name).map_err(ApiError::from)?;
        principal.open_for_write(
            name,
            || match self.namespace(name) {
                Ok(ns) => Ok(Some(ns)),
                Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
                Err(e) => Err(e),
            },
            || self.namespace_or_create(name),
        )
    }
}

/// A new random token (`mnemo_` + 43 URL-safe base64 characters).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("mnemo_{}", base64_url(&bytes))
}

/// The stored form of a token: `sha256:` + 64 hex digits.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The tokens the server accepts, by hash.
#[derive(Debug, Default)]
pub struct TokenTable {
    by_hash: HashMap<String, Principal>,
}

impl TokenTable {
    /// The table of `entries`; refuses malformed hashes and unknown
    /// namespaces patterns with a message naming the entry.
    pub fn new(entries: &[TokenEntry]) -> Result<Self, String> {
        let mut by_hash = HashMap::new();
        for e in entries {
            let hex = e.hash.strip_prefix("sha256:").ok_or_else(|| {
                format!(
                    "token {:?}: hash must look like sha256:<64 hex digits>",
                    e.name
                )
            })?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "token {:?}: hash must look like sha256:<64 hex digits>",
                    e.name
                ));
            }
            if e.namespaces.is_empty() {
                return Err(format!(
                    "token {:?}: give at least one namespace (\"*\" for all)",
                    e.name
                ));
            }
            for ns in &e.namespaces {
                if ns != "*" {
                    mnemo::validate_namespace(ns)
                        .map_err(|err| format!("token {:?}: {err}", e.name))?;
                }
            }
            if e.rights.is_empty() {
                return Err(format!(
                    "token {:?}: give at least one right (read, write or admin)",
                    e.name
                ));
            }
            if by_hash
                .insert(hex.to_ascii_lowercase(), Principal::from_entry(e))
                .is_some()
            {
                return Err(format!(
                    "token {:?}: the same token is listed twice",
                    e.name
                ));
            }
        }
        Ok(Self { by_hash })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether there are none (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The principal holding `token`, if any.
    pub fn lookup(&self, token: &str) -> Option<&Principal> {
        let hash = hash_token(token);
        let hex = &hash[7..];
        // The map finds the candidate; the constant-time comparison keeps
        // the final check from leaking how much of a guess matched.
        self.by_hash
            .get_key_value(hex)
            .filter(|(k, _)| constant_time_eq(k.as_bytes(), hex.as_bytes()))
            .map(|(_, p)| p)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// URL-safe base64 without padding.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The bearer token of a request, if it has a well-formed one.
fn bearer(req: &Request) -> Result<&str, ApiError> {
    let value = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("send a token: Authorization: Bearer <token> (mnemo token create)")
    })?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("use Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("use Authorization: Bearer <token>"));
    }
    Ok(token.trim())
}

/// Middleware: resolves the bearer token to a [`Principal`] (401 when
/// missing or unknown), applies the token's rate limit (429) and stores
/// the principal in the request's extensions.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match bearer(&req).and_then(|token| {
        state
            .tokens()
            .lookup(token)
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("unknown token"))
    }) {
        Ok(p) => p,
        Err(e) => {
            let mut response = e.into_response();
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    };
    if let Err(retry_after) = state.rate_limiter().admit(&principal.name) {
        let mut response = ApiError::rate_limited(format!(
            "token {:?} is over its rate limit (limits.requests_per_second); retry in {} ms",
            principal.name,
            retry_after.as_millis().max(1)
        ))
        .into_response();
        let secs = retry_after.as_secs().max(1).to_string();
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        return response;
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, token: &str, ns: &[&str], rights: &[Right]) -> TokenEntry {
        TokenEntry::new(
            name,
            token,
            ns.iter().map(|s| s.to_string()).collect(),
            rights.to_vec(),
        )
    }

    #[test]
    fn tokens_are_random_and_hash_to_the_stored_form() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with("mnemo_"));
        assert_eq!(a.len(), 6 + 43);
        let h = hash_token(&a);
        assert_eq!(h.len(), 7 + 64);
        assert_eq!(h, hash_token(&a));
    }

    #[test]
    fn lookup_finds_only_known_tokens() {
        let t = generate_token();
        let table = TokenTable::new(&[entry("a", &t, &["alice"], &[Right::Read])]).expect("valid");
        assert_eq!(table.lookup(&t).map(|p| p.name.as_str()), Some("a"));
        assert!(table.lookup("mnemo_guess").is_none());
        assert!(table.lookup("").is_none());
    }

    #[test]
    fn rights_nest_and_scopes_hold() {
        let t = generate_token();
        let p = Principal::from_entry(&entry("w", &t, &["alice"], &[Right::Write]));
        assert!(p.check("alice", Right::Read).is_ok());
        assert!(p.check("alice", Right::Write).is_ok());
        assert_eq!(
            p.check("alice", Right::Admin)
                .map_err(|e| e.status.as_u16()),
            Err(403)
        );
        assert_eq!(
            p.check("bob", Right::Read).map_err(|e| e.status.as_u16()),
            Err(403)
        );
        assert!(p.check_global(Right::Read).is_err());
        let all = Principal::from_entry(&entry("r", &t, &["*"], &[Right::Read]));
        assert!(all.check("anyone", Right::Read).is_ok());
        assert!(all.check_global(Right::Read).is_ok());
        assert!(all.check_global(Right::Write).is_err());
    }

    #[test]
    fn only_admin_creates_and_scope_is_checked_first() {
        let t = generate_token();
        let writer = Principal::from_entry(&entry("w", &t, &["*"], &[Right::Write]));
        let admin = Principal::from_entry(&entry("a", &t, &["*"], &[Right::Admin]));
        let elsewhere = Principal::from_entry(&entry("o", &t, &["other"], &[Right::Admin]));
        let refused = writer
            .check_create("alice")
            .expect_err("write cannot create");
        assert_eq!(refused.status.as_u16(), 403);
        assert!(
            refused.message.contains("admin right"),
            "{}",
            refused.message
        );
        assert!(admin.check_create("alice").is_ok());
        let hidden = elsewhere.check_create("alice").expect_err("out of scope");
        assert!(hidden.message.contains("no access"), "{}", hidden.message);

        // A missing namespace: created only with admin; `create` never
        // runs otherwise.
        let missing = || Ok::<Option<&str>, ApiError>(None);
        let mut created = Vec::new();
        for p in [&writer, &admin, &elsewhere] {
            let got = p.open_for_write("alice", missing, || {
                created.push(p.name.clone());
                Ok("new")
            });
            assert_eq!(got.is_ok(), p.name == "a", "{}: {got:?}", p.name);
        }
        assert_eq!(created, ["a"]);
        // An existing one opens with write; the scope still holds, and
        // the lookup does not run for a token that may not see it.
        let found = writer.open_for_write("alice", || Ok(Some("old")), || Ok("new"));
        assert_eq!(found, Ok("old"));
        let looked = std::cell::Cell::new(false);
        let outside = elsewhere.open_for_write(
            "alice",
            || {
                looked.set(true);
                Ok(Some("old"))
            },
            || Ok("new"),
        );
        assert_eq!(outside.map_err(|e| e.status.as_u16()), Err(403));
        assert!(!looked.get(), "the scope is checked before the lookup");
        let reader = Principal::from_entry(&entry("r", &t, &["*"], &[Right::Read]));
        let read_only = reader.open_for_write("alice", || Ok(Some("old")), || Ok("new"));
        assert_eq!(read_only.map_err(|e| e.status.as_u16()), Err(403));
    }

    #[test]
    fn malformed_entries_are_refused_by_name() {
        let mut bad = entry("x", "t", &["alice"], &[Right::Read]);
        bad.hash = "md5:abc".into();
        assert!(
            TokenTable::new(&[bad])
                .expect_err("bad hash")
                .contains("\"x\"")
        );
        let none = entry("y", "t", &[], &[Right::Read]);
        assert!(TokenTable::new(&[none]).is_err());
        let traversal = entry("z", "t", &["../etc"], &[Right::Read]);
        assert!(TokenTable::new(&[traversal]).is_err());
        let twice = [
            entry("a", "same", &["*"], &[Right::Read]),
            entry("b", "same", &["*"], &[Right::Read]),
        ];
        assert!(TokenTable::new(&twice).expect_err("dup").contains("twice"));
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg");
        assert_eq!(base64_url(b"fo"), "Zm8");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(b"foob"), "Zm9vYg");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }
}
