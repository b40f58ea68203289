//! The server's configuration file (TOML).
//!
//! ```toml
//! listen = "127.0.0.1:7373"      # loopback unless told otherwise
//!
//! [tls]                          # optional: HTTPS with rustls
//! cert = "cert.pem"
//! key = "key.pem"
//!
//! [limits]                       # every field optional; defaults shown
//! body_bytes = 8388608           # largest request body (413 above)
//! batch = 10000                  # memories per batch remember
//! requests_per_second = 2000     # per token, refilled continuously (429 above)
//! burst = 4000                   # per token, requests allowed at once
//! request_timeout_ms = 30000     # whole request (408 after)
//! header_timeout_ms = 10000      # to receive the request head (slow clients are cut off)
//! max_connections = 1024         # further connections wait to be accepted
//! max_watchers = 64              # open watch streams (503 above)
//! max_concurrent_recalls = 2     # recalls and suggestions computing at once
//!                                # (default: the number of CPUs; see below)
//! max_query_bytes = 4096         # longest recall query or suggest task (413 above)
//!
//! [checkpoints]                  # optional: signed checkpoints of every log
//! key_file = "mnemo.key"         # `mnemo key create` writes it (Ed25519 + ML-DSA)
//! every_events = 10000           # keep one when this many events were appended
//!                                # since the last kept one (0: never by count)
//! every_seconds = 300            # or when this long has passed since it
//!                                # (0: never by time); and on graceful shutdown
//!
//! [lifecycle]                    # optional: expiry, near-duplicates, tiers (LifecycleConfig)
//! duplicates = "merge"           # off (default) | flag | merge
//! ttl_seconds = 7776000          # every memory's default TTL (none by default)
//! max_resident_bytes = 268435456 # budget for vectors in memory (none by default)
//!
//! [[tokens]]                     # `mnemo token create` appends these
//! name = "agent"
//! hash = "sha256:..."
//! namespaces = ["*"]             # or a list of names
//! rights = ["read", "write"]     # read < write < admin
//! ```
//!
//! Unknown keys are refused, so a misspelt limit is an error rather than
//! a silent default.
//!
//! Recall and suggest (the requests that embed a text and rank over a
//! whole namespace) run on tokio's blocking pool, at most
//! `max_concurrent_recalls` at once, so they never occupy the async
//! workers that answer every other request. A request waits for a free
//! slot until its deadline (`request_timeout_ms` after its head arrived),
//! then gets 503; a recall that starts gets the time left as its budget.
//! Watch streams hold no thread while they wait for changes.
//!
//! With `[checkpoints]`, `GET /v1/namespaces/{ns}/checkpoint` signs the
//! log's head on request, and the server also *keeps* signed checkpoints
//! in each namespace's directory, `DATA/<ns>/checkpoints/<size>.note`
//! (the size zero-padded to 20 digits; written to a temporary file,
//! fsynced, renamed, and the directory fsynced). About once a second it
//! looks at every open namespace whose log grew since its last kept
//! checkpoint, and keeps one of the current head when `every_events`
//! events were appended since that checkpoint or `every_seconds` passed
//! since this server process kept one there (or, before it has, since it
//! first looked at the namespace, about a second after starting or after
//! the namespace was created). On graceful shutdown it keeps one for every open namespace whose
//! log grew, whatever the two settings say. `GET .../checkpoints` lists
//! the kept sizes and `GET .../checkpoint?size=N` answers a kept note.
//! Nothing is kept by a server without a data directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::{Right, hash_token};
pub use crate::limits::Limits;

/// Where the server listens when the config does not say.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7373";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// HTTPS, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Bounds on requests.
    #[serde(default)]
    pub limits: Limits,
    /// Signed checkpoints (`GET /v1/namespaces/{ns}/checkpoint`), when
    /// given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<CheckpointConfig>,
    /// Raw-event streams (`POST /v1/namespaces/{ns}/events`) and their
    /// promotion rules.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Default deadlines and near-duplicate writes, for every namespace.
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
    /// Accepted bearer tokens.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

/// How every namespace's raw-event stream behaves (`[ingest]`).
///
/// ```toml
/// [ingest]
/// shards = 2                 # per namespace stream (fixed when it is created)
/// ring_capacity = 16384      # events queued per shard
/// backpressure = "block"     # block | drop_newest | drop_oldest | sample(N) | error
/// block_timeout_ms = 5000    # how long `block` waits (503 after)
/// max_event_bytes = 65536    # largest event payload (413 above)
/// types = []                 # declared types; with open_types, others register on first use
/// open_types = true
///
/// [[ingest.rules]]           # promotion: events that become memories
/// name = "tool-errors"
/// types = ["tool_result"]
/// when = { exists = "error" }
/// content = "{tool} failed: {error}"
/// tags = ["tool-error"]
/// tag_fields = ["tool"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Shards of a new namespace stream.
    #[serde(default = "default_shards")]
    pub shards: usize,
    /// Events queued per shard at most.
    #[serde(default = "default_ring_capacity")]
    pub ring_capacity: usize,
    /// What a full shard does: `block`, `drop_newest`, `drop_oldest`,
    /// `sample(N)` or `error`.
    #[serde(default = "default_backpressure")]
    pub backpressure: String,
    /// How long `block` waits for room.
    #[serde(default = "default_block_timeout_ms")]
    pub block_timeout_ms: u64,
    /// Largest event payload in bytes.
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// Declared event types.
    #[serde(default)]
    pub types: Vec<String>,
    /// Whether undeclared types register on first use.
    #[serde(default = "default_open_types")]
    pub open_types: bool,
    /// Promotion rules, tried in order.
    #[serde(default)]
    pub rules: Vec<mnemo::ingest::PromotionRule>,
}

fn default_shards() -> usize {
    mnemo::ingest::StreamConfig::default().shards
}
fn default_ring_capacity() -> usize {
    mnemo::ingest::StreamConfig::default().ring_capacity
}
fn default_backpressure() -> String {
    "block".into()
}
fn default_block_timeout_ms() -> u64 {
    5000
}
fn default_max_event_bytes() -> usize {
    mnemo::ingest::StreamConfig::default().max_event_bytes
}
fn default_open_types() -> bool {
    true
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            shards: default_shards(),
            ring_capacity: default_ring_capacity(),
            backpressure: default_backpressure(),
            block_timeout_ms: default_block_timeout_ms(),
            max_event_bytes: default_max_event_bytes(),
            types: Vec::new(),
            open_types: default_open_types(),
            rules: Vec::new(),
        }
    }
}

impl IngestConfig {
    /// The engine options this section stands for, with `sync` (the
    /// server's durability policy) for the streams too; names the first
    /// problem.
    pub fn options(&self, sync: mnemo::SyncPolicy) -> Result<mnemo::ingest::IngestOptions, String> {
        let mut stream = mnemo::ingest::StreamConfig::default()
            .shards(self.shards)
            .ring_capacity(self.ring_capacity)
            .backpressure(
                self.backpressure
                    .parse()
                    .map_err(|e| format!("ingest.backpressure: {e}"))?,
            )
            .block_timeout(std::time::Duration::from_millis(self.block_timeout_ms))
            .sync(sync)
            .types(self.types.iter().cloned())
            .open_types(self.open_types);
        stream.max_event_bytes = self.max_event_bytes;
        let options = mnemo::ingest::IngestOptions {
            stream,
            rules: self.rules.clone(),
            ..mnemo::ingest::IngestOptions::default()
        };
        options.validate().map_err(|e| format!("ingest: {e}"))?;
        Ok(options)
    }
}

/// Expiry and near-duplicate writes in every namespace (`[lifecycle]`),
/// the engine's [`mnemo::lifecycle::Expiry`] and
/// [`mnemo::lifecycle::Duplicates`].
///
/// ```toml
/// [lifecycle]
/// duplicates = "off"                  # off | flag | merge
/// duplicate_vector_similarity = 0.9   # least cosine of the two vectors, in [0, 1]
/// duplicate_text_similarity = 0.8     # least Jaccard similarity of their words, in [0, 1]
/// ttl_seconds = 7776000               # every memory's TTL from its write (none by default)
///
/// max_resident_bytes = 268435456     # a budget for the vectors kept in memory (none by default)
///
/// [lifecycle.tag_ttl_seconds]         # TTLs by tag; the shortest that applies wins
/// session = 86400
/// ```
///
/// A write's own `expires_at` or `ttl_seconds` beats these TTLs. With
/// `flag` a near-duplicate is stored and marked as a repeat (its detail's
/// `duplicate_of`); with `merge` it is not stored: the write counts as a
/// use of the memory it repeats (outcome `merged`, that memory's id, its
/// detail's `merged`). A near-duplicate must pass both thresholds. Every
/// TTL is positive and at most about 10,000 years. With
/// `max_resident_bytes` each namespace keeps its strongest memories' vectors
/// hot, the next warm and the rest cold (only in the log) so that those in
/// memory stay within the budget: the engine rebalances once past it and
/// every minute, and `POST /v1/namespaces/{ns}/tiers/rebalance` does it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    /// What a near-duplicate write does: `off`, `flag` or `merge`.
    #[serde(default = "default_duplicates")]
    pub duplicates: String,
    /// Least cosine of two memories' vectors for them to be
    /// near-duplicates.
    #[serde(default = "default_duplicate_vector_similarity")]
    pub duplicate_vector_similarity: f32,
    /// Least Jaccard similarity of their word sets.
    #[serde(default = "default_duplicate_text_similarity")]
    pub duplicate_text_similarity: f32,
    /// Every memory's TTL in seconds, counted from its write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// TTLs in seconds by tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag_ttl_seconds: BTreeMap<String, u64>,
    /// A budget in bytes for the vectors each namespace keeps in memory:
    /// past it memories move to the warm and cold tiers (the engine's
    /// [`mnemo::Options::max_resident_bytes`]). None by default: every
    /// vector stays hot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resident_bytes: Option<u64>,
}

fn default_duplicates() -> String {
    mnemo::lifecycle::DuplicateMode::default()
        .as_str()
        .to_owned()
}
fn default_duplicate_vector_similarity() -> f32 {
    mnemo::lifecycle::Duplicates::default().vector_similarity
}
fn default_duplicate_text_similarity() -> f32 {
    mnemo::lifecycle::Duplicates::default().text_similarity
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            duplicates: default_duplicates(),
            duplicate_vector_similarity: default_duplicate_vector_similarity(),
            duplicate_text_similarity: default_duplicate_text_similarity(),
            ttl_seconds: None,
            tag_ttl_seconds: BTreeMap::new(),
            max_resident_bytes: None,
        }
    }
}

impl LifecycleConfig {
    /// The engine's default deadlines; names the first bad key.
    pub fn expiry(&self) -> Result<mnemo::lifecycle::Expiry, String> {
        let ttl = |key: &str, seconds: u64| {
            let ttl = Duration::from_secs(seconds);
            // The engine's rule, checked per key so the message names it.
            mnemo::lifecycle::Expiry {
                ttl: Some(ttl),
                ..mnemo::lifecycle::Expiry::default()
            }
            .validate()
            .map(|()| ttl)
            .map_err(|(_, why)| format!("{key} {why}"))
        };
        let mut expiry = mnemo::lifecycle::Expiry::default();
        if let Some(seconds) = self.ttl_seconds {
            expiry.ttl = Some(ttl("lifecycle.ttl_seconds", seconds)?);
        }
        for (tag, &seconds) in &self.tag_ttl_seconds {
            let key = format!("lifecycle.tag_ttl_seconds.{tag}");
            mnemo::input::validate_label("tag", tag).map_err(|e| format!("{key}: {}", e.reason))?;
            expiry.tags.insert(tag.clone(), ttl(&key, seconds)?);
        }
        Ok(expiry)
    }

    /// The engine's near-duplicate settings; names the first bad key.
    pub fn duplicates(&self) -> Result<mnemo::lifecycle::Duplicates, String> {
        let mode = mnemo::lifecycle::DuplicateMode::parse(&self.duplicates).ok_or_else(|| {
            format!(
                "lifecycle.duplicates: unknown mode {:?} (use off, flag or merge)",
                self.duplicates
            )
        })?;
        let duplicates = mnemo::lifecycle::Duplicates {
            mode,
            vector_similarity: self.duplicate_vector_similarity,
            text_similarity: self.duplicate_text_similarity,
        };
        duplicates.validate().map_err(|(field, why)| {
            let key = match field {
                "duplicates.vector_similarity" => "lifecycle.duplicate_vector_similarity",
                "duplicates.text_similarity" => "lifecycle.duplicate_text_similarity",
                other => other,
            };
            format!("{key} {why}")
        })?;
        Ok(duplicates)
    }

    /// `options` with this section's expiry, near-duplicate and memory
    /// budget settings. A budget below one vector is refused when a
    /// namespace opens (the least depends on the embedder's dimension);
    /// zero is refused here.
    pub fn apply(&self, options: mnemo::Options) -> Result<mnemo::Options, String> {
        if self.max_resident_bytes == Some(0) {
            return Err("lifecycle.max_resident_bytes must be positive".into());
        }
        let mut options = options
            .expiry(self.expiry()?)
            .duplicates(self.duplicates()?);
        options.max_resident_bytes = self.max_resident_bytes;
        Ok(options)
    }
}

/// The keys that sign every namespace's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// The private key file `mnemo key create` wrote (Ed25519 and ML-DSA
    /// keys under one key name). Namespace NS's checkpoints get the origin
    /// `<key name>/NS`.
    pub key_file: PathBuf,
    /// Keep a signed checkpoint of a namespace once this many events were
    /// appended since its last kept one (0: never because of a count).
    #[serde(default = "default_every_events")]
    pub every_events: u64,
    /// Keep a signed checkpoint of a namespace whose log grew once this
    /// many seconds passed since its last kept one (0: never because of
    /// time).
    #[serde(default = "default_every_seconds")]
    pub every_seconds: u64,
}

/// `every_events` when the config does not say.
pub const DEFAULT_CHECKPOINT_EVERY_EVENTS: u64 = 10_000;
/// `every_seconds` when the config does not say.
pub const DEFAULT_CHECKPOINT_EVERY_SECONDS: u64 = 300;

fn default_every_events() -> u64 {
    DEFAULT_CHECKPOINT_EVERY_EVENTS
}

fn default_every_seconds() -> u64 {
    DEFAULT_CHECKPOINT_EVERY_SECONDS
}

impl CheckpointConfig {
    /// Checkpoints signed with the keys in `key_file`, kept at the default
    /// intervals.
    pub fn new(key_file: impl Into<PathBuf>) -> Self {
        Self {
            key_file: key_file.into(),
            every_events: DEFAULT_CHECKPOINT_EVERY_EVENTS,
            every_seconds: DEFAULT_CHECKPOINT_EVERY_SECONDS,
        }
    }
}

/// Certificate chain and private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain (leaf first).
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// One accepted token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// A name for people and logs (never secret).
    pub name: String,
    /// `sha256:` + the hex SHA-256 of the token.
    pub hash: String,
    /// Namespaces it may use (`"*"` for all).
    pub namespaces: Vec<String>,
    /// What it may do there.
    pub rights: Vec<Right>,
}

impl TokenEntry {
    /// The entry for plaintext `token` (only its hash is kept).
    pub fn new(
        name: impl Into<String>,
        token: &str,
        namespaces: Vec<String>,
        rights: Vec<Right>,
    ) -> Self {
        Self {
            name: name.into(),
            hash: hash_token(token),
            namespaces,
            rights,
        }
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 7373)))
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            tls: None,
            limits: Limits::default(),
            checkpoints: None,
            ingest: IngestConfig::default(),
            lifecycle: LifecycleConfig::default(),
            tokens: Vec::new(),
        }
    }
}

impl Config {
    /// Parses TOML text, naming the first problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Reads `path`; a missing file is the default configuration (no
    /// tokens: every API request is refused until one is created).
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the configuration to `path` atomically (temporary file,
    /// fsync, rename), readable by the owner only.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        use std::io::Write;
        let text = toml::to_string_pretty(self).map_err(|e| e.to_string())?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = path.with_extension("toml.tmp");
        let write = || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        };
        write().map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks values serde cannot: positive limits, the ingest and
    /// lifecycle settings, readable token entries.
    pub fn check(&self) -> Result<(), String> {
        self.ingest.options(mnemo::SyncPolicy::Always)?;
        self.lifecycle.apply(mnemo::Options::default())?;
        let l = &self.limits;
        let positive = [
            ("limits.body_bytes", l.body_bytes as f64),
            ("limits.batch", l.batch as f64),
            ("limits.requests_per_second", l.requests_per_second),
            ("limits.burst", l.burst),
            ("limits.request_timeout_ms", l.request_timeout_ms as f64),
            ("limits.header_timeout_ms", l.header_timeout_ms as f64),
            ("limits.max_connections", l.max_connections as f64),
            ("limits.max_watchers", l.max_watchers as f64),
            ("limits.max_concurrent_recalls", l.recall_workers() as f64),
            ("limits.max_query_bytes", l.max_query_bytes as f64),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be a positive number"));
            }
        }
        if l.burst < 1.0 {
            return Err("limits.burst must be at least 1".into());
        }
        crate::auth::TokenTable::new(&self.tokens).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback() {
        let c = Config::parse("").expect("empty is valid");
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.listen.port(), 7373);
        assert!(c.tokens.is_empty());
        assert!(c.limits.recall_workers() >= 1, "the CPU count");
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mnemo.toml");
        let mut c = Config::default();
        c.limits.burst = 10.0;
        c.tokens.push(TokenEntry::new(
            "agent",
            "secret",
            vec!["*".into()],
            vec![Right::Read, Right::Write],
        ));
        c.save(&path).expect("save");
        assert_eq!(Config::load(&path).expect("load"), c);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("secret"));
    }

    #[test]
    fn checkpoint_intervals_default_and_zero_turns_them_off() {
        let c = Config::parse("[checkpoints]\nkey_file = \"mnemo.key\"").expect("valid");
        assert_eq!(c.checkpoints, Some(CheckpointConfig::new("mnemo.key")));
        let c = Config::parse(
            "[checkpoints]\nkey_file = \"mnemo.key\"\nevery_events = 0\nevery_seconds = 7",
        )
        .expect("valid");
        let kept = c.checkpoints.expect("checkpoints");
        assert_eq!((kept.every_events, kept.every_seconds), (0, 7));
    }

    #[test]
    fn lifecycle_becomes_the_engines_settings() {
        let c = Config::parse("").expect("empty is valid");
        assert_eq!(c.lifecycle, LifecycleConfig::default());
        assert_eq!(
            c.lifecycle.duplicates().expect("valid"),
            mnemo::lifecycle::Duplicates::default()
        );
        assert!(!c.lifecycle.expiry().expect("valid").is_set());
        let c = Config::parse(
            "[lifecycle]\nduplicates = \"merge\"\nduplicate_vector_similarity = 0.95\n\
             duplicate_text_similarity = 0.7\nttl_seconds = 3600\n\
             max_resident_bytes = 1048576\n\
             [lifecycle.tag_ttl_seconds]\nsession = 60",
        )
        .expect("valid");
        let duplicates = c.lifecycle.duplicates().expect("valid");
        assert_eq!(duplicates.mode, mnemo::lifecycle::DuplicateMode::Merge);
        assert_eq!(
            (duplicates.vector_similarity, duplicates.text_similarity),
            (0.95, 0.7)
        );
        let expiry = c.lifecycle.expiry().expect("valid");
        assert_eq!(expiry.ttl, Some(Duration::from_secs(3600)));
        assert_eq!(expiry.tags["session"], Duration::from_secs(60));
        let options = c.lifecycle.apply(mnemo::Options::default()).expect("valid");
        assert_eq!((options.expiry, options.duplicates), (expiry, duplicates));
        assert_eq!(options.max_resident_bytes, Some(1 << 20));
    }

    #[test]
    fn bad_lifecycle_values_name_their_key() {
        for (text, key) in [
            ("duplicates = \"maybe\"", "lifecycle.duplicates"),
            (
                "duplicate_vector_similarity = 1.5",
                "lifecycle.duplicate_vector_similarity",
            ),
            (
                "duplicate_text_similarity = -0.1",
                "lifecycle.duplicate_text_similarity",
            ),
            ("ttl_seconds = 0", "lifecycle.ttl_seconds"),
            ("ttl_seconds = -5", "ttl_seconds"),
            ("ttl_seconds = 999999999999", "lifecycle.ttl_seconds"),
            (
                "[lifecycle.tag_ttl_seconds]\nsession = 0",
                "lifecycle.tag_ttl_seconds.session",
            ),
            ("ttl = 60", "ttl"),
            ("max_resident_bytes = 0", "lifecycle.max_resident_bytes"),
            ("max_resident_bytes = -1", "max_resident_bytes"),
        ] {
            let err = Config::parse(&format!("[lifecycle]\n{text}")).expect_err(text);
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let err = Config::parse("listen = 5").expect_err("type");
        assert!(err.contains("listen"), "{err}");
        let err = Config::parse("[limits]\nbody_byte = 5").expect_err("unknown");
        assert!(err.contains("body_byte"), "{err}");
        let err = Config::parse("[limits]\nburst = 0").expect_err("zero");
        assert!(err.contains("burst"), "{err}");
        let err =
            Config::parse("[checkpoints]\nkey_file = \"k\"\nevery_event = 5").expect_err("unknown");
        assert!(err.contains("every_event"), "{err}");
        let err = Config::parse("[checkpoints]\nkey_file = \"k\"\nevery_seconds = -1")
            .expect_err("negative");
        assert!(err.contains("every_seconds"), "{err}");
        let err = Config::parse("[limits]\nmax_concurrent_recalls = 0").expect_err("zero");
        assert!(err.contains("max_concurrent_recalls"), "{err}");
        let err = Config::parse(
            "[[tokens]]\nname = \"a\"\nhash = \"x\"\nnamespaces = [\"*\"]\nrights = [\"read\"]",
        )
        .expect_err("hash");
        assert!(err.contains("sha256"), "{err}");
        let err = Config::parse(
            "[[tokens]]\nname = \"a\"\nhash = \"x\"\nnamespaces = [\"*\"]\nrights = [\"root\"]",
        )
        .expect_err("right");
        assert!(err.contains("root"), "{err}");
    }
}
