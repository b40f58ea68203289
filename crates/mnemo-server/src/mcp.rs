//! The MCP server: mnemo's memory as tools an agent calls over the Model
//! Context Protocol, on standard input and output (`mnemo mcp`, see
//! [`serve_stdio`]) or as the streamable HTTP endpoint that `mnemo serve`
//! mounts at `/mcp` (see [`http_service`]).
//!
//! Seven tools: `remember`, `recall`, `forget`, `list_memories`, `link`,
//! `assert_fact` and `conflicts`. Each takes an optional `namespace`
//! (default: the server's), checks the caller's right on it, runs the
//! engine on tokio's blocking pool (writes may fsync, recall embeds the
//! query, the first use of a namespace replays its log) and answers with
//! one JSON text. Whatever goes wrong — an argument out of range, a right
//! the caller lacks, an unknown id, a failed write — comes back as a tool
//! error (`isError: true`) whose text is one plain sentence the model can
//! act on; a request never panics the server. A refusal for want of a
//! right starts with `forbidden:` (where the HTTP API answers 403), one
//! without a token with `unauthorized:` (401).
//!
//! ## Who is calling
//!
//! Over standard input and output the caller is the local user, who owns
//! the data directory: [`Principal::local`], every right. Over HTTP the
//! auth middleware resolves the bearer token to a [`Principal`] and stores
//! it in the request's extensions; rmcp's streamable HTTP service hands the
//! request's [`Parts`] to each handler through the request context's
//! extensions, and the tools read the principal from there. An HTTP request
//! that reaches a tool without a principal is refused: a missing middleware
//! must never turn into full access.
//!
//! ## Rights
//!
//! The tools decide exactly as the HTTP API does, through the same rules
//! in [`crate::auth`]: reads (`recall`, `list_memories`, `conflicts`) need
//! `read` on the namespace, writes (`remember`, `forget`, `link`,
//! `assert_fact`) need `write`, and the scope is checked before the
//! namespace is looked up, so names outside a token's scope are never
//! revealed.
//!
//! ## Namespaces that do not exist
//!
//! Creating a namespace needs `admin` on it, on every front door. So
//! `remember` and `assert_fact` create a missing namespace only for a
//! caller with `admin` there (the local user always has it); a `write`
//! token is refused (`forbidden: ... lacks the admin right needed to
//! create namespace ...`) and nothing is created, just as `POST
//! /v1/namespaces` answers it 403. The rule is
//! [`Principal::open_for_write`], which [`Engine::namespace_for_write`]
//! applies. Reads of a namespace that was never written return nothing
//! rather than create an empty one; `forget` and `link` there report the
//! unknown id.

use std::sync::Arc;

use axum::http::request::Parts;
use mnemo::{Kind, MemoryId, Mnemo, Namespace, NewFact, NewMemory, Query};
use rmcp::ErrorData;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, ContentBlock, Extensions};
use rmcp::service::ServerInitializeError;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Principal, Right};
use crate::error::ApiError;

/// Results `recall` returns when the caller does not say.
pub const DEFAULT_RECALL_K: u32 = 5;
/// Most results one `recall` returns.
pub const MAX_RECALL_K: u32 = 100;
/// Memories `list_memories` returns when the caller does not say.
pub const DEFAULT_LIST_LIMIT: u32 = 20;
/// Most memories one `list_memories` returns.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// The HTTP form of the server: stateless streamable HTTP (each POST is
/// answered on its own, in JSON), for [`http_service`].
pub type McpHttpService = StreamableHttpService<MnemoMcp, NeverSessionManager>;

/// What holds the engine the tools work on: a [`Mnemo`] of its own
/// (`mnemo mcp`), or the HTTP server's [`AppState`].
pub trait Engine: Send + Sync + 'static {
    /// The engine.
    fn mnemo(&self) -> &Mnemo;

    /// The namespace `name` for a write by `principal`: an existing one
    /// with the write right, a missing one created only with `admin`
    /// (403 otherwise), by [`Principal::open_for_write`].
    fn namespace_for_write(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Namespace, ApiError> {
        let mnemo = self.mnemo();
        principal.open_for_write(
            name,
            || {
                stored(mnemo, name)
                    .then(|| mnemo.namespace(name))
                    .transpose()
                    .map_err(ApiError::from)
            },
            || mnemo.namespace(name).map_err(ApiError::from),
        )
    }

    /// The bounded pool `recall` runs on, with its query length limit and
    /// the request deadline: the HTTP server's (so `/mcp` recalls share
    /// `POST .../recall`'s path); none over standard input and output,
    /// where recall runs on tokio's blocking pool.
    fn recall_pool(&self) -> Option<&crate::state::RecallPool> {
        None
    }
}

impl Engine for Mnemo {
    fn mnemo(&self) -> &Mnemo {
        self
    }
}

impl Engine for AppState {
    fn mnemo(&self) -> &Mnemo {
        AppState::mnemo(self)
    }

    /// Through the server's table of open namespaces, as the HTTP API
    /// goes (see [`AppState::namespace_for_write`]).
    fn namespace_for_write(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Namespace, ApiError> {
        AppState::namespace_for_write(self, principal, name)
    }

    fn recall_pool(&self) -> Option<&crate::state::RecallPool> {
        Some(AppState::recall_pool(self))
    }
}

/// How the server learns who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The local user over standard input and output: every right on every
    /// namespace ([`Principal::local`]).
    Local,
    /// The [`Principal`] the auth middleware stored in the HTTP request;
    /// requests without one are refused.
    Token,
}

/// Why the MCP server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The default namespace's name is not a valid namespace name.
    #[error("default namespace: {0}")]
    Namespace(#[source] mnemo::Error),
    /// The MCP session failed (the transport broke, or the client sent
    /// something other than a protocol start).
    #[error("MCP session: {0}")]
    Session(String),
    /// Closing the engine at the end (syncing logs, writing snapshots)
    /// failed.
    #[error("closing the engine: {0}")]
    Close(#[source] mnemo::Error),
}

/// The MCP server over one engine: a tool router whose tools read and write
/// the engine's namespaces (see the module docs).
#[derive(Clone)]
pub struct MnemoMcp {
    engine: Arc<dyn Engine>,
    default_namespace: Arc<str>,
    access: Access,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for MnemoMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MnemoMcp")
            .field("mnemo", self.engine.mnemo())
            .field("default_namespace", &self.default_namespace)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl MnemoMcp {
    /// A server over the engine `engine` holds, whose tools use
    /// `default_namespace` when the caller names none, learning the caller
    /// as `access` says. Refuses an invalid namespace name.
    pub fn new(
        engine: Arc<dyn Engine>,
        default_namespace: impl Into<String>,
        access: Access,
    ) -> Result<Self, McpError> {
        let default_namespace = default_namespace.into();
        mnemo::validate_namespace(&default_namespace).map_err(McpError::Namespace)?;
        Ok(Self {
            engine,
            default_namespace: default_namespace.into(),
            access,
            tool_router: Self::tool_router(),
        })
    }

    /// The namespace tools use when the caller names none.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// How the caller is learnt.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Who is calling: the local user, or the principal of the HTTP
    /// request (see [`Access`]).
    fn principal(&self, ext: &Extensions) -> Result<Principal, String> {
        match self.access {
            Access::Local => Ok(Principal::local()),
            Access::Token => ext
                .get::<Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>())
                .cloned()
                .ok_or_else(|| {
                    "unauthorized: this request carries no authenticated token \
                     (send Authorization: Bearer <token>)"
                        .to_owned()
                }),
        }
    }

    /// The arguments of a call and the namespace it addresses (the
    /// default when it names none), once the arguments fit the tool's
    /// schema, the name is valid and the caller holds `right` there.
    fn admit<A: Addressed>(
        &self,
        ext: &Extensions,
        args: Result<A, String>,
        right: Right,
    ) -> Result<(A, String), String> {
        self.admit_as(ext, args, right)
            .map(|(args, name, _)| (args, name))
    }

    /// [`Self::admit`], also giving the caller, for a write that may have
    /// to create its namespace ([`Engine::namespace_for_write`]).
    fn admit_as<A: Addressed>(
        &self,
        ext: &Extensions,
        args: Result<A, String>,
        right: Right,
    ) -> Result<(A, String, Principal), String> {
        let args = args?;
        let name = args
            .namespace()
            .unwrap_or(&self.default_namespace)
            .to_owned();
        mnemo::validate_namespace(&name).map_err(plain)?;
        let principal = self.principal(ext)?;
        principal.check(&name, right).map_err(refusal)?;
        Ok((args, name, principal))
    }

    /// Runs `work` on the engine on the blocking pool and turns its JSON
    /// or its error into the tool's answer.
    async fn run<T, F>(&self, work: F) -> CallToolResult
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Mnemo) -> Result<T, String> + Send + 'static,
    {
        self.run_engine(move |engine| work(engine.mnemo())).await
    }

    /// [`Self::run`] with the whole [`Engine`], for writes that go through
    /// [`Engine::namespace_for_write`].
    async fn run_engine<T, F>(&self, work: F) -> CallToolResult
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&dyn Engine) -> Result<T, String> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let joined = tokio::task::spawn_blocking(move || work(engine.as_ref())).await;
        let outcome = joined
            .map_err(|e| format!("internal error: the engine task failed ({e})"))
            .and_then(|r| r)
            .and_then(|value| {
                serde_json::to_string(&value)
                    .map_err(|e| format!("internal error: cannot encode the answer ({e})"))
            });
        answer(outcome)
    }
}

/// The tool's answer: JSON text, or a tool error with a plain sentence.
fn answer(outcome: Result<String, String>) -> CallToolResult {
    match outcome {
        Ok(json) => CallToolResult::success(vec![ContentBlock::text(json)]),
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

/// An engine error in the words the HTTP API uses for it.
fn plain(e: mnemo::Error) -> String {
    ApiError::from(e).message
}

/// An API error as a tool error's text; a refusal for want of a right
/// (403) says `forbidden:` first, so a client can tell it from a bad
/// argument as the HTTP status would.
fn refusal(e: ApiError) -> String {
    if e.status == axum::http::StatusCode::FORBIDDEN {
        format!("forbidden: {}", e.message)
    } else {
        e.message
    }
}

/// Whether namespace `name` holds anything (stored on disk, or open in an
/// in-memory engine).
fn stored(mnemo: &Mnemo, name: &str) -> bool {
    match mnemo.dir() {
        Some(dir) => dir.join(name).join("log").is_dir(),
        None => mnemo.namespaces().iter().any(|n| n == name),
    }
}

/// The namespace `name` if it holds anything, without creating it.
fn existing(mnemo: &Mnemo, name: &str) -> Result<Option<Namespace>, String> {
    if stored(mnemo, name) {
        mnemo.namespace(name).map(Some).map_err(plain)
    } else {
        Ok(None)
    }
}

/// "no memory with id 7 in namespace alice".
fn unknown_id(id: u64, namespace: &str) -> String {
    format!("no memory with id {id} in namespace {namespace}")
}

/// Checks that an optional count lies in `1..=max`, defaulting it.
fn count_arg(name: &str, given: Option<u32>, default: u32, max: u32) -> Result<usize, String> {
    let n = given.unwrap_or(default);
    if n == 0 || n > max {
        return Err(format!("invalid {name}: it must be 1 to {max} (got {n})"));
    }
    Ok(n as usize)
}

// ---- arguments -------------------------------------------------------------

/// A tool's arguments, or why they do not fit its schema, naming the
/// argument: the tool answers a misfit with a tool error the model can
/// correct. (rmcp's own `Parameters` says what was wrong but not where.)
/// The `#[tool]` macro takes a parameter of a type named `Parameters` for
/// the tool's input schema.
struct Parameters<T>(Result<T, String>);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = serde_json::Value::Object(context.arguments.take().unwrap_or_default());
        Ok(Self(serde_path_to_error::deserialize(arguments).map_err(
            |e| {
                let path = e.path().to_string();
                match path.as_str() {
                    "." => format!("invalid arguments: {}", e.into_inner()),
                    _ => format!("invalid argument {path}: {}", e.into_inner()),
                }
            },
        )))
    }
}

/// Arguments that may name a namespace.
trait Addressed {
    /// The namespace named, if any.
    fn namespace(&self) -> Option<&str>;
}

macro_rules! addressed {
    ($($args:ty),*) => {$(
        impl Addressed for $args {
            fn namespace(&self) -> Option<&str> {
                self.namespace.as_deref()
            }
        }
    )*};
}

addressed!(
    RememberArgs,
    RecallArgs,
    ForgetArgs,
    ListArgs,
    LinkArgs,
    AssertFactArgs,
    ConflictsArgs
);

/// What kind of memory it is.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum KindArg {
    /// Something that happened: a conversation turn, an observation.
    Episodic,
    /// Something known: a fact, a preference, a definition.
    Semantic,
    /// How to do something: a strategy, a recipe.
    Procedural,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Episodic => Kind::Episodic,
            KindArg::Semantic => Kind::Semantic,
            KindArg::Procedural => Kind::Procedural,
        }
    }
}

/// Arguments of `remember`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RememberArgs {
    /// The text to remember, in plain words (one fact, event or idea per
    /// memory recalls best).
    content: String,
    /// Labels to filter by later (for example a person, a project or a
    /// topic).
    tags: Option<Vec<String>>,
    /// Where it came from: a speaker, a tool, a session.
    source: Option<String>,
    /// episodic (default), semantic or procedural.
    kind: Option<KindArg>,
    /// How much it matters, from 0 to 1 (default 0.5); important memories
    /// rank higher in recall.
    importance: Option<f32>,
    /// A key of your own: remembering with the same key again updates that
    /// memory instead of adding one.
    key: Option<String>,
    /// Namespace to write to (default: the server's).
    namespace: Option<String>,
}

/// Arguments of `recall`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RecallArgs {
    /// What to recall: a question or a description of what is needed.
    query: String,
    /// How many memories to return, 1 to 100 (default 5).
    k: Option<u32>,
    /// Namespace to search (default: the server's).
    namespace: Option<String>,
    /// Only memories carrying every one of these tags.
    tags: Option<Vec<String>>,
}

/// Arguments of `forget`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ForgetArgs {
    /// Id of the memory to forget.
    id: u64,
    /// Namespace holding it (default: the server's).
    namespace: Option<String>,
}

/// Arguments of `list_memories`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// How many memories to return, 1 to 1000 (default 20).
    limit: Option<u32>,
    /// How many of the newest memories to skip first (default 0), to page.
    offset: Option<u64>,
    /// Only memories carrying this tag.
    tag: Option<String>,
    /// Namespace to list (default: the server's).
    namespace: Option<String>,
}

/// Arguments of `link`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LinkArgs {
    /// Id of the memory the link starts from.
    from: u64,
    /// Id of the memory it points to.
    to: u64,
    /// What the association is, in a word or two: caused, refers_to,
    /// contradicts, follows, ...
    kind: String,
    /// Strength from 0 to 1 (default 1); recall spreads more along strong
    /// links.
    weight: Option<f32>,
    /// Namespace holding both memories (default: the server's).
    namespace: Option<String>,
}

/// Arguments of `assert_fact`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AssertFactArgs {
    /// What the fact is about, for example "alice".
    subject: String,
    /// The relation, for example "lives_in".
    predicate: String,
    /// The value, for example "Lisbon".
    object: String,
    /// How sure you are, from 0 to 1 (default 1).
    confidence: Option<f32>,
    /// Ids of the memories the fact was drawn from.
    evidence: Option<Vec<u64>>,
    /// Namespace to write to (default: the server's).
    namespace: Option<String>,
}

/// Arguments of `conflicts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConflictsArgs {
    /// Namespace to look in (default: the server's).
    namespace: Option<String>,
    /// Also list resolved conflicts (default false: open ones only).
    all: Option<bool>,
}

// ---- answers ---------------------------------------------------------------

/// `remember`'s answer.
#[derive(Debug, Serialize)]
struct Remembered {
    id: u64,
    namespace: String,
}

/// One `recall` hit.
#[derive(Debug, Serialize)]
struct HitOut {
    id: u64,
    content: String,
    score: f32,
    tags: Vec<String>,
    at: String,
}

/// `recall`'s answer.
#[derive(Debug, Serialize)]
struct Recalled {
    namespace: String,
    hits: Vec<HitOut>,
}

/// `forget`'s answer.
#[derive(Debug, Serialize)]
struct Forgotten {
    id: u64,
    forgotten: bool,
}

/// One memory of `list_memories`.
#[derive(Debug, Serialize)]
struct MemoryOut {
    id: u64,
    content: String,
    kind: &'static str,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    at: String,
    importance: f32,
}

/// `list_memories`' answer.
#[derive(Debug, Serialize)]
struct Listed {
    namespace: String,
    total: u64,
    memories: Vec<MemoryOut>,
}

/// `link`'s answer.
#[derive(Debug, Serialize)]
struct Linked {
    from: u64,
    to: u64,
    kind: String,
    weight: f32,
}

/// A fact in a conflict.
#[derive(Debug, Serialize)]
struct FactBrief {
    id: u64,
    object: String,
    confidence: f32,
}

/// One conflict.
#[derive(Debug, Serialize)]
struct ConflictOut {
    id: u64,
    subject: String,
    predicate: String,
    context: String,
    state: &'static str,
    reason: String,
    facts: Vec<FactBrief>,
}

impl ConflictOut {
    fn new(ns: &Namespace, c: &mnemo::Conflict) -> Self {
        let facts = c
            .facts
            .iter()
            .filter_map(|id| ns.fact(*id))
            .map(|f| FactBrief {
                id: f.id.0,
                object: f.object,
                confidence: f.confidence,
            })
            .collect();
        Self {
            id: c.id.0,
            subject: c.subject.clone(),
            predicate: c.predicate.clone(),
            context: c.context.clone(),
            state: c.state.as_str(),
            reason: c.reason.clone(),
            facts,
        }
    }
}

/// `assert_fact`'s answer.
#[derive(Debug, Serialize)]
struct AssertedOut {
    fact: u64,
    superseded: Vec<u64>,
    conflicts: Vec<ConflictOut>,
}

/// `conflicts`' answer.
#[derive(Debug, Serialize)]
struct ConflictsOut {
    namespace: String,
    conflicts: Vec<ConflictOut>,
}

// ---- tools -----------------------------------------------------------------

#[tool_router]
impl MnemoMcp {
    /// Store a memory (a fact, an event, a preference, a how-to) so it can be recalled later. Answers {"id", "namespace"}. Remembering identical content again returns the same id; with a key, it updates the memory that has the key.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        open_world_hint = false
    ))]
    async fn remember(
        &self,
        Parameters(args): Parameters<RememberArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let (args, name, principal) = match self.admit_as(&ext, args, Right::Write) {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        self.run_engine(move |engine| {
            let ns = engine
                .namespace_for_write(&principal, &name)
                .map_err(refusal)?;
            let mut memory = NewMemory::new(args.content).tags(args.tags.unwrap_or_default());
            if let Some(source) = args.source {
                memory = memory.source(source);
            }
            if let Some(kind) = args.kind {
                memory = memory.kind(kind.into());
            }
            if let Some(importance) = args.importance {
                memory = memory.importance(importance);
            }
            if let Some(key) = args.key {
                memory = memory.key(key);
            }
            let id = ns.remember(memory).map_err(plain)?;
            Ok(Remembered {
                id: id.0,
                namespace: name,
            })
        })
        .await
    }

    /// Recall the memories most relevant to a query, best first, found by meaning, keywords and association. Answers {"namespace", "hits": [{"id", "content", "score", "tags", "at"}]} with "at" the memory's time in RFC 3339 UTC.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn recall(
        &self,
        Parameters(args): Parameters<RecallArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let checked = self
            .admit(&ext, args, Right::Read)
            .and_then(|(args, name)| {
                let k = count_arg("k", args.k, DEFAULT_RECALL_K, MAX_RECALL_K)?;
                Ok((args, name, k))
            });
        let (args, name, k) = match checked {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        let mut options = mnemo::RecallOptions::k(k);
        options.filter = args
            .tags
            .unwrap_or_default()
            .into_iter()
            .fold(Query::new(), Query::tag);
        let recalled = |name: String, result: &mnemo::Recall| Recalled {
            namespace: name,
            hits: result
                .hits
                .iter()
                .map(|h| HitOut {
                    id: h.memory.id.0,
                    content: h.memory.content.clone(),
                    score: h.score,
                    tags: h.memory.tags.clone(),
                    at: mnemo::rfc3339::format(h.memory.at),
                })
                .collect(),
        };
        let query = args.query;
        // Over HTTP, the path `POST .../recall` takes: the query length
        // limit, the bounded pool and the request's deadline as budget.
        let Some(pool) = self.engine.recall_pool() else {
            return self
                .run(move |mnemo| {
                    let Some(ns) = existing(mnemo, &name)? else {
                        return Ok(recalled(name, &mnemo::Recall::default()));
                    };
                    let result = ns.recall_with(&query, &options).map_err(plain)?;
                    Ok(recalled(name, &result))
                })
                .await;
        };
        if let Err(e) = pool.check_text("query", &query) {
            return answer(Err(e.message));
        }
        let deadline = match ext.get::<Parts>() {
            Some(parts) => crate::state::Deadline::of(&parts.extensions, pool),
            None => crate::state::Deadline::after(None, pool),
        };
        let engine = Arc::clone(&self.engine);
        let outcome = pool
            .run(deadline, "recall", move |left| {
                let Some(ns) = existing(engine.mnemo(), &name).map_err(ApiError::bad_request)?
                else {
                    return Ok(recalled(name, &mnemo::Recall::default()));
                };
                let result = crate::ops::run_recall(&ns, &query, &mut options, Some(left))?;
                Ok(recalled(name, &result))
            })
            .await
            .map_err(|e| e.message)
            .and_then(|value| {
                serde_json::to_string(&value)
                    .map_err(|e| format!("internal error: cannot encode the answer ({e})"))
            });
        answer(outcome)
    }

    /// Forget a memory by id: it is gone from recall and listings at once. Answers {"id", "forgotten": true}.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn forget(
        &self,
        Parameters(args): Parameters<ForgetArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let (args, name) = match self.admit(&ext, args, Right::Write) {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        self.run(move |mnemo| {
            let ns = existing(mnemo, &name)?.ok_or_else(|| unknown_id(args.id, &name))?;
            ns.forget(MemoryId(args.id)).map_err(plain)?;
            Ok(Forgotten {
                id: args.id,
                forgotten: true,
            })
        })
        .await
    }

    /// List stored memories, newest first, optionally only those with a tag. Answers {"namespace", "total", "memories": [{"id", "content", "kind", "tags", "source", "at", "importance"}]}; "total" counts every match, so page with offset.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_memories(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let checked = self
            .admit(&ext, args, Right::Read)
            .and_then(|(args, name)| {
                let limit = count_arg("limit", args.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
                Ok((args, name, limit))
            });
        let (args, name, limit) = match checked {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        let offset = usize::try_from(args.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        self.run(move |mnemo| {
            let Some(ns) = existing(mnemo, &name)? else {
                return Ok(Listed {
                    namespace: name,
                    total: 0,
                    memories: Vec::new(),
                });
            };
            let mut query = Query::new();
            if let Some(tag) = args.tag {
                query = query.tag(tag);
            }
            let total = ns.count(&query);
            let memories = ns
                .query(&query.descending().offset(offset).limit(limit))
                .into_iter()
                .map(|m| MemoryOut {
                    id: m.id.0,
                    content: m.content.clone(),
                    kind: m.kind.as_str(),
                    tags: m.tags.clone(),
                    source: m.source.clone(),
                    at: mnemo::rfc3339::format(m.at),
                    importance: m.importance,
                })
                .collect();
            Ok(Listed {
                namespace: name,
                total,
                memories,
            })
        })
        .await
    }

    /// Link two memories with a typed, weighted association (for example "caused" or "refers_to"); recall follows links from relevant memories to related ones. Linking the same pair and kind again updates the weight. Answers {"from", "to", "kind", "weight"}.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn link(
        &self,
        Parameters(args): Parameters<LinkArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let (args, name) = match self.admit(&ext, args, Right::Write) {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        let weight = args.weight.unwrap_or(1.0);
        self.run(move |mnemo| {
            let ns = existing(mnemo, &name)?.ok_or_else(|| unknown_id(args.from, &name))?;
            ns.link(MemoryId(args.from), MemoryId(args.to), &args.kind, weight)
                .map_err(plain)?;
            Ok(Linked {
                from: args.from,
                to: args.to,
                kind: args.kind,
                weight,
            })
        })
        .await
    }

    /// Assert a fact as subject, predicate, object (for example alice, lives_in, Lisbon), optionally citing the memories it came from. It is checked at once against what is already believed: a fact that contradicts one opens a conflict, reported here and by the conflicts tool. Answers {"fact", "superseded": [fact ids], "conflicts": [...]}.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        open_world_hint = false
    ))]
    async fn assert_fact(
        &self,
        Parameters(args): Parameters<AssertFactArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let (args, name, principal) = match self.admit_as(&ext, args, Right::Write) {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        self.run_engine(move |engine| {
            let ns = engine
                .namespace_for_write(&principal, &name)
                .map_err(refusal)?;
            let mut fact = NewFact::new(args.subject, args.predicate, args.object)
                .evidence(args.evidence.unwrap_or_default().into_iter().map(MemoryId));
            if let Some(confidence) = args.confidence {
                fact = fact.confidence(confidence);
            }
            let asserted = ns.assert_fact(fact).map_err(plain)?;
            let conflicts = asserted
                .conflicts
                .iter()
                .filter_map(|id| ns.conflict(*id))
                .map(|c| ConflictOut::new(&ns, &c))
                .collect();
            Ok(AssertedOut {
                fact: asserted.fact.0,
                superseded: asserted.superseded.iter().map(|f| f.0).collect(),
                conflicts,
            })
        })
        .await
    }

    /// List contradictions between believed facts (two objects for one subject and predicate): open ones, or all with all=true. Answers {"namespace", "conflicts": [{"id", "subject", "predicate", "context", "state", "reason", "facts": [{"id", "object", "confidence"}]}]}.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn conflicts(
        &self,
        Parameters(args): Parameters<ConflictsArgs>,
        ext: Extensions,
    ) -> CallToolResult {
        let (args, name) = match self.admit(&ext, args, Right::Read) {
            Ok(admitted) => admitted,
            Err(refused) => return answer(Err(refused)),
        };
        let open_only = !args.all.unwrap_or(false);
        self.run(move |mnemo| {
            let conflicts = match existing(mnemo, &name)? {
                Some(ns) => ns
                    .conflicts(open_only)
                    .iter()
                    .map(|c| ConflictOut::new(&ns, c))
                    .collect(),
                None => Vec::new(),
            };
            Ok(ConflictsOut {
                namespace: name,
                conflicts,
            })
        })
        .await
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "mnemo",
    instructions = "mnemo is a long-term memory. Use remember to store what is worth keeping \
                    (facts, events, preferences, how-tos), recall before answering to find what \
                    is relevant, list_memories to browse, forget to delete, link to associate two \
                    memories, assert_fact for subject-predicate-object facts, and conflicts to see \
                    contradictions between facts. Every tool takes an optional namespace."
)]
impl ServerHandler for MnemoMcp {}

/// Serves MCP on standard input and output until the client closes them,
/// then closes the engine (syncing its logs and writing snapshots). The
/// caller is the local user, with every right. Nothing but MCP messages is
/// written to standard output.
pub async fn serve_stdio(mnemo: Mnemo, default_namespace: String) -> Result<(), McpError> {
    let mnemo = Arc::new(mnemo);
    let engine: Arc<dyn Engine> = Arc::clone(&mnemo) as Arc<dyn Engine>;
    let server = MnemoMcp::new(engine, default_namespace, Access::Local)?;
    let served = match server.serve(rmcp::transport::stdio_pipes()).await {
        Ok(running) => running
            .waiting()
            .await
            .map(drop)
            .map_err(|e| McpError::Session(e.to_string())),
        // A client that leaves before starting the protocol ends the
        // session, as closing it later would.
        Err(ServerInitializeError::ConnectionClosed(_)) => Ok(()),
        Err(e) => Err(McpError::Session(e.to_string())),
    };
    let closed = tokio::task::spawn_blocking(move || mnemo.close())
        .await
        .map_err(|e| McpError::Session(format!("the closing task failed: {e}")))
        .and_then(|r| r.map_err(McpError::Close));
    served.and(closed)
}

/// The streamable HTTP form of the server, for the router to mount at
/// `/mcp` behind the auth middleware (each tool reads the request's
/// [`Principal`]; see the module docs).
///
/// It is stateless: every POST is answered on its own, in JSON, with no
/// session to keep (GET and DELETE get 405), so it works behind any load
/// balancer and with clients of both the session-less 2026-07-28 protocol
/// and the older initialize handshake. The `Host` check rmcp applies
/// against DNS rebinding is off: every request must carry a bearer token,
/// which a page served from another origin cannot send. Cancelling
/// `service.config.cancellation_token` stops answers in flight.
pub fn http_service(
    engine: impl Engine,
    default_namespace: String,
) -> Result<McpHttpService, McpError> {
    let server = MnemoMcp::new(Arc::new(engine), default_namespace, Access::Token)?;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    Ok(StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    ))
}
