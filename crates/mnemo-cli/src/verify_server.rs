//! `mnemo verify --checkpoint OLD --key PUB --server URL`: checks that a
//! server's namespace only grew since a signed checkpoint, trusting
//! nothing the server says but what the keys in PUB sign.
//!
//! 1. **checkpoint**: OLD has both valid signatures (Ed25519 and ML-DSA)
//!    and names the namespace (`<key name>/<namespace>`).
//! 2. **server checkpoint**: the server's current signed checkpoint
//!    (`GET /v1/namespaces/{ns}/checkpoint`) has both valid signatures of
//!    the same keys and the same origin.
//! 3. **consistency**: the server's tree is no smaller, and the RFC 9162
//!    consistency proof it serves
//!    (`GET /v1/namespaces/{ns}/consistency?from=OLD&to=NEW`) leads from
//!    OLD's root to the new checkpoint's root, both taken from the signed
//!    notes.
//!
//! A server that cannot be reached, or refuses a request (a missing token,
//! no such namespace, no signing key), is an error (exit code 2), not a
//! failed check: it proves nothing either way.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use mnemo_trust::{Hash, SignedCheckpoint, Verifier, namespace_origin};

use crate::table;
use crate::verify_cmd::{Checks, Status};

/// The longest a request to the server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read from the server (a note is at most 1 MiB; a
/// consistency proof is a few kilobytes).
const MAX_ANSWER_BYTES: u64 = 2 << 20;

/// Runs the checks against the server at `url` (a base URL: scheme, host
/// and port) for namespace `ns`.
pub(crate) fn verify(
    ns: &str,
    url: &str,
    token: Option<&str>,
    old_note: &str,
    verifier: &Verifier,
) -> Result<Checks> {
    let base = base_url(url)?;
    let client = Client::new(base, token);
    let mut checks = Checks::default();
    let origin = namespace_origin(verifier.name(), ns);

    let old = match checked(verifier, old_note, &origin) {
        Ok(old) => {
            checks.add(
                "checkpoint",
                Status::Ok,
                format!(
                    "{origin} over {} events, signed at {} (Ed25519 + ML-DSA)",
                    old.checkpoint.size, old.timestamp
                ),
            );
            old
        }
        Err(why) => {
            checks.add("checkpoint", Status::Failed, why);
            checks.add(
                "server checkpoint",
                Status::Skipped,
                "no trusted checkpoint",
            );
            checks.add("consistency", Status::Skipped, "no trusted checkpoint");
            return Ok(checks);
        }
    };

    let note = client.get(&format!("/v1/namespaces/{ns}/checkpoint"))?;
    let new = match checked(verifier, &note, &origin) {
        Ok(new) => {
            checks.add(
                "server checkpoint",
                Status::Ok,
                format!(
                    "{} events, root {}, signed at {} (Ed25519 + ML-DSA)",
                    new.checkpoint.size,
                    table::hex(&new.checkpoint.root),
                    new.timestamp
                ),
            );
            new
        }
        Err(why) => {
            checks.add(
                "server checkpoint",
                Status::Failed,
                format!("the server's {why}"),
            );
            checks.add(
                "consistency",
                Status::Skipped,
                "no checkpoint from the server",
            );
            return Ok(checks);
        }
    };

    let (old, new) = (old.checkpoint, new.checkpoint);
    if new.size < old.size {
        checks.add(
            "consistency",
            Status::Failed,
            format!(
                "the server's log holds {} events, fewer than the checkpoint's {}: it was cut \
                 back or replaced",
                new.size, old.size
            ),
        );
        return Ok(checks);
    }
    let path = if old.size == new.size || old.size == 0 {
        Vec::new()
    } else {
        let answer = client.get(&format!(
            "/v1/namespaces/{ns}/consistency?from={}&to={}",
            old.size, new.size
        ))?;
        match proof_path(&answer) {
            Ok(path) => path,
            Err(why) => {
                checks.add(
                    "consistency",
                    Status::Failed,
                    format!("the server's consistency proof is unreadable: {why}"),
                );
                return Ok(checks);
            }
        }
    };
    match mnemo_trust::verify_consistency(&old, &new, &path) {
        Ok(()) => checks.add(
            "consistency",
            Status::Ok,
            format!(
                "the server's {} events extend the checkpoint's {} (consistency proof of {} \
                 hashes, checked against both signed roots)",
                new.size,
                old.size,
                path.len()
            ),
        ),
        Err(e) => checks.add(
            "consistency",
            Status::Failed,
            format!("the server's log does not extend the checkpoint: {e}"),
        ),
    }
    Ok(checks)
}

/// `note` verified with `verifier` and checked to have origin `origin`, or
/// why not.
fn checked(verifier: &Verifier, note: &str, origin: &str) -> Result<SignedCheckpoint, String> {
    let signed = verifier
        .verify(note)
        .map_err(|e| format!("checkpoint does not verify: {e}"))?;
    if signed.checkpoint.origin != origin {
        return Err(format!(
            "checkpoint is for {:?}, not this namespace ({origin:?})",
            signed.checkpoint.origin
        ));
    }
    Ok(signed)
}

/// The hashes of a `consistency` answer's `path`, naming what is wrong.
fn proof_path(answer: &str) -> Result<Vec<Hash>, String> {
    let json: serde_json::Value =
        serde_json::from_str(answer).map_err(|e| format!("not JSON ({e})"))?;
    let Some(path) = json.get("path").and_then(|p| p.as_array()) else {
        return Err("no `path` list".to_owned());
    };
    path.iter()
        .enumerate()
        .map(|(i, h)| {
            h.as_str()
                .and_then(unhex32)
                .ok_or_else(|| format!("path[{i}] is not 64 hex digits"))
        })
        .collect()
}

/// 32 bytes from 64 hex digits (either case).
fn unhex32(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        // Two hex digits: at most 0xff, so the cast cannot truncate.
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// `url` without a trailing slash, refused unless it is `http://HOST...`.
fn base_url(url: &str) -> Result<String> {
    let trimmed = url.trim_end_matches('/');
    if trimmed.starts_with("https://") {
        bail!(
            "--server {url}: this mnemo fetches over plain HTTP only (it has no TLS client); \
             use an http:// address"
        );
    }
    let Some(host) = trimmed.strip_prefix("http://") else {
        bail!("--server {url}: not an http:// URL (e.g. http://127.0.0.1:7373)");
    };
    if host.is_empty() || host.contains(['?', '#', ' ']) {
        bail!("--server {url}: no host, or a query or fragment in the URL");
    }
    Ok(trimmed.to_owned())
}

/// A blocking HTTP client for one server.
struct Client {
    agent: ureq::Agent,
    base: String,
    auth: Option<String>,
}

impl Client {
    fn new(base: String, token: Option<&str>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .build()
            .into();
        Self {
            agent,
            base,
            auth: token.map(|t| format!("Bearer {t}")),
        }
    }

    /// The body of a 200 answer to `GET path`; anything else is an error
    /// naming the URL and what the server said.
    fn get(&self, path: &str) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(auth) = &self.auth {
            request = request.header("authorization", auth);
        }
        let mut response = request.call().map_err(|e| anyhow!("GET {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .with_context(|| format!("GET {url}: reading the answer"))?;
        if status != 200 {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|j| j["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.chars().take(300).collect());
            let hint = if status == 401 {
                " (give a token with --token or MNEMO_TOKEN)"
            } else {
                ""
            };
            bail!("GET {url}: the server answered {status}: {message}{hint}");
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hex_are_checked() {
        assert_eq!(
            base_url("http://127.0.0.1:7373/").expect("ok"),
            "http://127.0.0.1:7373"
        );
        for bad in [
            "https://x",
            "ftp://x",
            "127.0.0.1:7373",
            "http://",
            "http://x?y=1",
        ] {
            let e = base_url(bad).expect_err(bad).to_string();
            assert!(e.contains("--server"), "{e}");
        }
        assert_eq!(unhex32(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(unhex32(&"AB".repeat(32)), Some([0xab; 32]));
        assert_eq!(unhex32(&"zz".repeat(32)), None);
        assert_eq!(unhex32("ab"), None);
        let e = proof_path(r#"{"path": ["00"]}"#).expect_err("short");
        assert!(e.contains("path[0]"), "{e}");
        assert!(proof_path("[").is_err());
        assert_eq!(
            proof_path(&format!(r#"{{"path": ["{}"]}}"#, "01".repeat(32))),
            Ok(vec![[1; 32]])
        );
    }
}
