//! `mnemo eval locomo FILE`: recall quality on LoCoMo conversations.
//!
//! Each conversation of FILE is stored in its own namespace, in a
//! temporary directory or under `--data` (a rerun then finds the memories
//! already stored, by key, and embeds nothing), at one of two
//! granularities (`--granularity`):
//!
//! - `turn` (the default), namespace `locomo-{sample_id}`: every turn is a
//!   memory, mapped as [`crate::locomo::memories`] says; a memory cites its
//!   own turn;
//! - `observation`, namespace `locomo-{sample_id}-observations`: every
//!   observation (the fact sentences the dataset gives per session and
//!   speaker) is an independent memory, written in a random order that
//!   `--seed` fixes, mapped as [`crate::locomo::observation_memories`]
//!   says; a memory cites the turns its observation names.
//!
//! Every answerable question (categories 1 to 4, with evidence) is
//! recalled, top 10, and scored against its evidence turns:
//!
//! - hit@k: a memory among the top k cites one of its evidence turns;
//! - recall@k: the fraction of its evidence turns the top k cite;
//!
//! for k = 1, 5 and 10, overall and per category. Evidence ids that no
//! stored memory cites are skipped and counted (turns: the data has a few
//! ids that name no turn, like `D:11:26`; observations: turns no
//! observation draws on); a question left without evidence is not scored.
//!
//! Latency is recall's alone: the questions of a conversation are embedded
//! up front in one batch with the namespace's embedder (timed and reported
//! apart) and recall is handed the vector. Questions are asked one at a
//! time, in file order, on one thread, against a finished vector index, so
//! a run without a time budget is repeatable.
//!
//! `--min-hit5 X` makes the command a regression guard: it exits with code
//! 1 when overall hit@5 is below X.
//!
//! Lifecycle features: `--duplicates flag|merge` sets the namespace's
//! near-duplicate mode; the memories are then written without keys (the
//! engine never merges a keyed write) and a memory cites the turns of
//! every item that landed on it (merged, or identical content). With
//! `--consolidate`, each conversation is consolidated
//! (`Namespace::consolidate`, defaults) after it is stored and before its
//! questions; a consolidated memory cites the turns of the `derived_from`
//! sources it quotes (`mnemo::consolidation::quotes`: a sentence of the
//! source is in the summary), since that is the evidence it holds. Those namespaces are named with a suffix (`-merge`,
//! `-consolidated`), so a `--data` directory never mixes settings. The
//! report then also gives the scores with consolidated memories citing
//! nothing (`overall_sources_only`), the strict reading.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::ProgressBar;
use mnemo::consolidation;
use mnemo::lifecycle::{DuplicateMode, Duplicates};
use mnemo::recall::RecallOptions;
use mnemo::spread::EdgeKind;
use mnemo::{
    CONSOLIDATED_TAG, ConsolidateOptions, MemoryId, Namespace, NewMemory, Options, Outcome, Query,
};
use mnemo_embed::Embedder;
use serde_json::{Value as Json, json};

use crate::embedder::{self, Choice};
use crate::locomo::{self, Category, Conversation, DiaId};
use crate::open::{self, Access, Global};
use crate::table::{self, Table};
use mnemo_eval::metric::{self, Score};

/// The cut-offs reported (hit@k, recall@k).
pub const KS: [usize; 3] = [1, 5, 10];

/// Hits asked for per question: the largest cut-off.
const TOP: usize = 10;

/// Turns written per batch (one log record each).
const BATCH: usize = 128;

/// Evidence ids named in the human report before the rest are counted.
const MAX_NAMED: usize = 10;

/// The default `--seed` of the observation regime's write order.
const DEFAULT_SEED: u64 = 26;

/// What one memory holds in `mnemo eval locomo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Granularity {
    /// One memory per dialogue turn (the conversation as it was said).
    #[default]
    Turn,
    /// One memory per observation: the fact sentences the dataset draws
    /// from each session, stored as independent memories in a seeded
    /// random order.
    Observation,
}

impl Granularity {
    /// Its name on the command line and in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Turn => "turn",
            Self::Observation => "observation",
        }
    }

    /// The namespace a conversation is stored in.
    fn namespace(self, sample_id: &str) -> String {
        match self {
            Self::Turn => format!("locomo-{sample_id}"),
            Self::Observation => format!("locomo-{sample_id}-observations"),
        }
    }

    /// What an evidence id no stored memory cites is, in the report.
    fn uncited(self) -> &'static str {
        match self {
            Self::Turn => "evidence ids that name no turn",
            Self::Observation => "evidence turns that no observation cites",
        }
    }
}

/// The namespace's near-duplicate mode (`--duplicates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DuplicatesArg {
    /// No near-duplicate check (the engine's default).
    #[default]
    Off,
    /// Near-duplicates are kept and flagged.
    Flag,
    /// Near-duplicates are merged into the memory they repeat.
    Merge,
}

impl DuplicatesArg {
    /// The engine's mode.
    fn mode(self) -> DuplicateMode {
        match self {
            Self::Off => DuplicateMode::Off,
            Self::Flag => DuplicateMode::Flag,
            Self::Merge => DuplicateMode::Merge,
        }
    }
}

/// `mnemo eval` benchmarks.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Recall quality on LoCoMo conversations: hit@k and recall@k (k = 1,
    /// 5, 10) overall and per category, and recall latency.
    Locomo(LocomoArgs),
}

/// Arguments of `mnemo eval locomo`.
#[derive(Debug, Args)]
#[command(after_long_help = LOCOMO_HELP)]
pub struct LocomoArgs {
    /// A LoCoMo JSON file (like ../shared/data/locomo/locomo-dev.json).
    file: PathBuf,
    /// Only these conversations (sample ids, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    conversations: Vec<String>,
    /// What a memory holds: a dialogue turn, or an observation (a fact
    /// sentence citing the turns it comes from).
    #[arg(long, value_enum, default_value_t = Granularity::Turn)]
    granularity: Granularity,
    /// Seed of the order observations are written in (`--granularity
    /// observation`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Near-duplicate writes (the namespace's `duplicates` option). With
    /// `flag` or `merge` memories are written without keys, and a memory
    /// cites the turns of every item that landed on it.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = DuplicatesArg::Off)]
    duplicates: DuplicatesArg,
    /// Consolidate each conversation (`Namespace::consolidate`, defaults)
    /// after storing it, before its questions; a consolidated memory cites
    /// the turns of the memories it was derived from.
    #[arg(long)]
    consolidate: bool,
    #[command(flatten)]
    tuning: Tuning,
    /// Exit with code 1 when overall hit@5 is below X (a regression guard).
    #[arg(long, value_name = "X", value_parser = fraction)]
    min_hit5: Option<f64>,
}

const LOCOMO_HELP: &str = "\
Each conversation is stored in its own namespace (--namespace is not used), in a temporary
directory, or under --data DIR, where the namespaces are kept and a rerun embeds nothing.
The embedder is --embedder, by default all-MiniLM-L6-v2 when it is found, else the hash
embedder.

Granularity: with `turn` (the default) every dialogue turn is a memory, in namespace
locomo-{sample_id}. With `observation` every observation (the fact sentences the dataset
gives per session and speaker, each citing the turns it comes from) is an independent
memory with no source, written in a random order fixed by --seed, in namespace
locomo-{sample_id}-observations.

Lifecycle: --duplicates flag|merge sets the namespaces' near-duplicate mode (memories are
then written without keys, as the engine never merges a keyed write; a memory cites the
turns of every item that landed on it) and --consolidate consolidates each conversation
after storing it (a consolidated memory cites its sources' turns). Such namespaces get a
suffix (-flag, -merge, -consolidated). The report adds the scores with consolidated
memories citing nothing (overall_sources_only).

Every question of categories 1 to 4 (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop)
with evidence is recalled (top 10) and scored: hit@k = a memory in the top k cites one of
its evidence turns, recall@k = the fraction of its evidence turns the top k cite. Evidence
ids no stored memory cites are skipped and counted. Latency is recall's alone: the
questions are embedded beforehand, in one batch per conversation, and that time is
reported apart.

Exit codes: 0, or 1 when --min-hit5 is given and overall hit@5 falls below it; 2 on errors.";

/// The recall options `eval` lets one change (the defaults are the
/// engine's).
#[derive(Debug, Clone, Args)]
pub struct Tuning {
    /// Leave vector search out: no query vector, no vector candidates or
    /// seeds (vector edges are still followed; see --w-vector-edge).
    #[arg(long, help_heading = "Signals")]
    no_vector: bool,
    /// Leave BM25 keyword search out.
    #[arg(long, help_heading = "Signals")]
    no_keyword: bool,
    /// Do not spread activation (plain fusion of vector and keywords).
    #[arg(long, help_heading = "Signals")]
    no_spread: bool,
    /// Ignore dates named in the questions.
    #[arg(long, help_heading = "Signals")]
    no_time_hints: bool,
    /// Fusion weight of the vector rank.
    #[arg(
        long,
        value_name = "W",
        conflicts_with = "no_vector",
        help_heading = "Weights"
    )]
    w_vector: Option<f32>,
    /// Fusion weight of the keyword rank.
    #[arg(
        long,
        value_name = "W",
        conflicts_with = "no_keyword",
        help_heading = "Weights"
    )]
    w_keyword: Option<f32>,
    /// Fusion weight of the activation rank.
    #[arg(
        long,
        value_name = "W",
        conflicts_with = "no_spread",
        help_heading = "Weights"
    )]
    w_activation: Option<f32>,
    /// Weight of the recency bonus.
    #[arg(long, value_name = "W", help_heading = "Weights")]
    w_recency: Option<f32>,
    /// Bonus for memories in a period a question names.
    #[arg(
        long,
        value_name = "W",
        conflicts_with = "no_time_hints",
        help_heading = "Weights"
    )]
    w_time: Option<f32>,
    /// Bonus for memories with a tag a question names (0 turns it off).
    #[arg(long, value_name = "W", help_heading = "Weights")]
    w_tags: Option<f32>,
    /// Bonus for memories naming the kind of thing a question asks for (a
    /// place for `where`, a time for `when`, a number for `how many`; 0
    /// turns it off).
    #[arg(long, value_name = "W", help_heading = "Weights")]
    w_answer: Option<f32>,
    /// Candidates that seed activation.
    #[arg(long, value_name = "N", help_heading = "Spreading")]
    seeds: Option<usize>,
    /// Most hops from a seed.
    #[arg(long, value_name = "N", help_heading = "Spreading")]
    hops: Option<u32>,
    /// Activation falls by e^(-decay) per hop.
    #[arg(long, value_name = "X", help_heading = "Spreading")]
    decay: Option<f32>,
    /// Smallest activation passed on.
    #[arg(long, value_name = "X", help_heading = "Spreading")]
    threshold: Option<f32>,
    /// Most edges relaxed per recall.
    #[arg(long, value_name = "N", help_heading = "Spreading")]
    visit_budget: Option<usize>,
    /// Weight of explicit links.
    #[arg(long, value_name = "W", help_heading = "Spreading")]
    w_link: Option<f32>,
    /// Weight of temporal edges (consecutive turns).
    #[arg(long, value_name = "W", help_heading = "Spreading")]
    w_temporal: Option<f32>,
    /// Weight of vector-neighbour edges.
    #[arg(long, value_name = "W", help_heading = "Spreading")]
    w_vector_edge: Option<f32>,
    /// Weight of shared-keyword edges.
    #[arg(long, value_name = "W", help_heading = "Spreading")]
    w_keyword_edge: Option<f32>,
    /// Consecutive turns at most this many seconds apart are temporal
    /// neighbours.
    #[arg(long, value_name = "SECS", help_heading = "Spreading")]
    window_secs: Option<u64>,
    /// Vector neighbours followed per memory.
    #[arg(long, value_name = "N", help_heading = "Spreading")]
    vector_neighbors: Option<usize>,
    /// Candidates ranked per signal [default: the engine's, max(4k, 50)].
    #[arg(long, value_name = "N", help_heading = "Spreading")]
    candidates: Option<usize>,
    /// Time budget per recall, in milliseconds (recall returns the best so
    /// far when it runs out; results then vary from run to run).
    #[arg(long, value_name = "MS", help_heading = "Spreading")]
    budget_ms: Option<f64>,
}

/// Parses a number in [0, 1].
fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{text:?} is not a number between 0 and 1")),
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

impl Tuning {
    /// The recall options these flags make (top [`TOP`], no filter),
    /// checked.
    pub fn options(&self) -> Result<RecallOptions> {
        if self.no_vector && self.no_keyword {
            bail!("--no-vector and --no-keyword together leave recall no candidates to start from");
        }
        let mut o = RecallOptions::k(TOP);
        let w = &mut o.weights;
        set(&mut w.vector, self.w_vector);
        set(&mut w.keyword, self.w_keyword);
        set(&mut w.activation, self.w_activation);
        set(&mut w.recency, self.w_recency);
        set(&mut w.time, self.w_time);
        set(&mut w.tags, self.w_tags);
        set(&mut w.answer_type, self.w_answer);
        if self.no_vector {
            w.vector = 0.0;
        }
        if self.no_keyword {
            w.keyword = 0.0;
        }
        o.spreading = !self.no_spread;
        o.time_hints = !self.no_time_hints;
        set(&mut o.seeds, self.seeds);
        set(&mut o.spread.hops, self.hops);
        set(&mut o.spread.decay, self.decay);
        set(&mut o.spread.threshold, self.threshold);
        set(&mut o.spread.visit_budget, self.visit_budget);
        for (kind, weight) in [
            (EdgeKind::Link, self.w_link),
            (EdgeKind::Temporal, self.w_temporal),
            (EdgeKind::Vector, self.w_vector_edge),
            (EdgeKind::Keyword, self.w_keyword_edge),
        ] {
            set(&mut o.spread.kind_weights[kind.index()], weight);
        }
        set(
            &mut o.temporal_window,
            self.window_secs.map(Duration::from_secs),
        );
        set(&mut o.vector_neighbors, self.vector_neighbors);
        set(&mut o.candidates, self.candidates);
        if let Some(ms) = self.budget_ms {
            let budget = Duration::try_from_secs_f64(ms / 1e3)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| anyhow!("--budget-ms {ms} is not a positive number"))?;
            o.budget = Some(budget);
        }
        o.validate()
            .map_err(|(field, reason)| anyhow!("invalid {}: {reason}", flag_of(field)))?;
        Ok(o)
    }
}

/// The flag that sets the engine's option `field`.
fn flag_of(field: &str) -> String {
    let flag = match field {
        "weights.vector" => "--w-vector",
        "weights.keyword" => "--w-keyword",
        "weights.activation" => "--w-activation",
        "weights.recency" => "--w-recency",
        "weights.time" => "--w-time",
        "weights.tags" => "--w-tags",
        "weights.answer_type" => "--w-answer",
        "candidates" => "--candidates",
        "seeds" => "--seeds",
        _ => return format!("recall option {field}"),
    };
    flag.to_owned()
}

/// `x` as the JSON number it reads as (`0.7`, not `0.699999988079071`).
fn num(x: f32) -> Json {
    x.to_string()
        .parse::<f64>()
        .map_or(Json::Null, |x| json!(x))
}

/// The options as JSON, for the report.
fn options_json(o: &RecallOptions, embedder: &str) -> Json {
    let w = &o.weights;
    let edge = |kind: EdgeKind| num(o.spread.weight(kind));
    json!({
        "k": o.k,
        "embedder": embedder,
        "vector": w.vector > 0.0,
        "keyword": w.keyword > 0.0,
        "spreading": o.spreading,
        "time_hints": o.time_hints,
        "weights": {
            "vector": num(w.vector),
            "keyword": num(w.keyword),
            "activation": num(w.activation),
            "recency": num(w.recency),
            "tags": num(w.tags),
            "importance": num(w.importance),
            "time": num(w.time),
            "answer_type": num(w.answer_type),
            "strength": num(w.strength),
        },
        "candidates": o.candidate_depth(),
        "seeds": o.seeds,
        "hops": o.spread.hops,
        "decay": num(o.spread.decay),
        "threshold": num(o.spread.threshold),
        "visit_budget": o.spread.visit_budget,
        "edge_weights": {
            "link": edge(EdgeKind::Link),
            "temporal": edge(EdgeKind::Temporal),
            "vector": edge(EdgeKind::Vector),
            "keyword": edge(EdgeKind::Keyword),
        },
        "window_secs": o.temporal_window.as_secs_f64(),
        "vector_neighbors": o.vector_neighbors,
        "budget_ms": o.budget.map(|b| b.as_secs_f64() * 1e3),
    })
}

/// hit@k and recall@k summed over questions, at the cut-offs of [`KS`].
pub type Tally = metric::Tally<{ KS.len() }>;

/// `{"questions": N, "hit@1": .., .., "recall@10": ..}` (null rates
/// without questions).
fn tally_json(t: &Tally) -> Json {
    let mut out = serde_json::Map::new();
    out.insert("questions".into(), json!(t.questions));
    for (i, k) in KS.iter().enumerate() {
        out.insert(format!("hit@{k}"), json!(t.hit(i)));
    }
    for (i, k) in KS.iter().enumerate() {
        out.insert(format!("recall@{k}"), json!(t.recall(i)));
    }
    Json::Object(out)
}

/// The `p`th percentile (nearest rank) of `sorted`, which must be sorted.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One conversation's line of the report.
#[derive(Debug)]
struct ConversationReport {
    sample_id: String,
    namespace: String,
    /// The conversation's turns.
    turns: usize,
    /// Its memories at the evaluated granularity (turns or observations).
    memories: usize,
    /// Memories newly stored (0 when a kept namespace already held them).
    new: usize,
    store_took: Duration,
    tally: Tally,
}

/// Everything measured.
#[derive(Debug, Default)]
struct Eval {
    overall: Tally,
    per_category: BTreeMap<Category, Tally>,
    conversations: Vec<ConversationReport>,
    latencies: Vec<Duration>,
    embed_took: Duration,
    embedded: usize,
    /// `sample_id:dia_id` of evidence ids no stored memory cites.
    skipped_evidence: Vec<String>,
    /// Questions left without evidence.
    skipped_questions: usize,
    /// Recalls whose time budget ran out.
    incomplete: usize,
    /// What the lifecycle features did.
    lifecycle: Lifecycle,
}

/// What `--duplicates` and `--consolidate` did, over all conversations.
#[derive(Debug, Default)]
struct Lifecycle {
    /// Items merged into an existing memory.
    merged: usize,
    /// Items whose content (or key) was already stored.
    unchanged: usize,
    /// Consolidated memories (written now or found in a kept namespace).
    consolidated: usize,
    /// Their sources, summed.
    sources: usize,
    /// Groups a consolidation left for a later run.
    deferred: usize,
    /// Time spent consolidating.
    took: Duration,
    /// Questions with a consolidated memory among the top 5.
    consolidated_in_top5: usize,
    /// The scores with consolidated memories citing nothing.
    sources_only: Tally,
}

/// Runs `mnemo eval`.
pub fn run(global: &Global, command: EvalCommand) -> Result<ExitCode> {
    match command {
        EvalCommand::Locomo(args) => locomo_eval(global, args),
    }
}

fn locomo_eval(global: &Global, args: LocomoArgs) -> Result<ExitCode> {
    let options = args.tuning.options()?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let convs = select(
        locomo::from_bytes(&args.file, &bytes)?,
        &args.conversations,
        &args.file,
    )?;
    let stored = Stored {
        granularity: args.granularity,
        seed: args.seed,
        duplicates: args.duplicates,
        consolidate: args.consolidate,
    };
    let mut names = HashSet::new();
    let mut namespaces = Vec::with_capacity(convs.len());
    for c in &convs {
        let name = stored.namespace(&c.sample_id);
        mnemo::validate_namespace(&name)
            .map_err(open::explain)
            .with_context(|| {
                format!(
                    "conversation {}: its sample_id cannot name a namespace",
                    c.sample_id
                )
            })?;
        if !names.insert(name.clone()) {
            bail!(
                "{} holds conversation {} twice",
                args.file.display(),
                c.sample_id
            );
        }
        namespaces.push(name);
    }

    let choice = global.embedder.unwrap_or(Choice::Auto);
    let embedder = embedder::load(choice, false)?;
    let temp;
    let dir = match &global.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let mut eval = Eval::default();
    for (conv, name) in convs.iter().zip(&namespaces) {
        evaluate(
            global, &dir, conv, name, stored, &embedder, &options, &mut eval,
        )
        .with_context(|| format!("conversation {}", conv.sample_id))?;
    }
    if eval.overall.questions == 0 {
        bail!(
            "{} holds no question to evaluate (categories 1 to 4 with evidence that a stored \
             {} cites)",
            args.file.display(),
            args.granularity.name()
        );
    }
    eval.latencies.sort_unstable();
    let embedder_id = embedder.info().id.clone();
    if global.json {
        println!(
            "{}",
            report_json(&eval, &args, &options, &embedder_id, global.data.as_deref())
        );
    } else {
        print_report(
            &eval,
            &args,
            &options,
            embedder.as_ref(),
            global.data.as_deref(),
        );
    }
    if let Some(floor) = args.min_hit5 {
        let hit5 = eval.overall.hit(1).unwrap_or(0.0);
        if hit5 < floor {
            eprintln!("eval: overall hit@5 is {hit5:.4}, below --min-hit5 {floor}");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The conversations `wanted` names (all when it is empty), in file order.
fn select(convs: Vec<Conversation>, wanted: &[String], file: &Path) -> Result<Vec<Conversation>> {
    let wanted: Vec<String> = wanted
        .iter()
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    if convs.is_empty() {
        bail!("{} holds no conversations", file.display());
    }
    if let Some(missing) = wanted
        .iter()
        .find(|w| !convs.iter().any(|c| &c.sample_id == *w))
    {
        let known: Vec<&str> = convs.iter().map(|c| c.sample_id.as_str()).collect();
        bail!(
            "no conversation {missing} in {} (it holds {})",
            file.display(),
            known.join(", ")
        );
    }
    Ok(if wanted.is_empty() {
        convs
    } else {
        convs
            .into_iter()
            .filter(|c| wanted.contains(&c.sample_id))
            .collect()
    })
}

/// How conversations are stored: the granularity, the seed of the
/// observations' order, and the lifecycle features.
#[derive(Debug, Clone, Copy)]
struct Stored {
    granularity: Granularity,
    seed: u64,
    duplicates: DuplicatesArg,
    consolidate: bool,
}

impl Stored {
    /// The namespace a conversation is stored in: the granularity's, with
    /// a suffix per lifecycle feature on.
    fn namespace(&self, sample_id: &str) -> String {
        let mut name = self.granularity.namespace(sample_id);
        if self.duplicates != DuplicatesArg::Off {
            name.push('-');
            name.push_str(self.duplicates.mode().as_str());
        }
        if self.consolidate {
            name.push_str("-consolidated");
        }
        name
    }

    /// Whether memories are written with their keys: not when
    /// near-duplicates are checked, as the engine never merges a keyed
    /// write.
    fn keyed(&self) -> bool {
        self.duplicates == DuplicatesArg::Off
    }

    /// The memories of `conv` at this granularity, each with its key and
    /// the turns it cites.
    fn memories<'c>(&self, conv: &'c Conversation) -> Vec<(NewMemory, Vec<&'c DiaId>)> {
        match self.granularity {
            Granularity::Turn => locomo::memories(conv)
                .into_iter()
                .zip(&conv.turns)
                .map(|(m, t)| (m, vec![&t.dia_id]))
                .collect(),
            Granularity::Observation => locomo::observation_memories(conv, self.seed)
                .into_iter()
                .map(|(m, cited)| (m, cited.iter().collect()))
                .collect(),
        }
    }
}

/// Stores one conversation (unless its namespace already holds it), asks
/// its questions and adds the scores to `eval`.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    global: &Global,
    dir: &Path,
    conv: &Conversation,
    namespace: &str,
    stored: Stored,
    embedder: &Arc<dyn Embedder>,
    options: &RecallOptions,
    eval: &mut Eval,
) -> Result<()> {
    let g = Global {
        data: Some(dir.to_path_buf()),
        namespace: namespace.to_owned(),
        ..global.clone()
    };
    let engine = Options::default()
        .embedder(Arc::clone(embedder))
        .duplicates(Duplicates {
            mode: stored.duplicates.mode(),
            ..Duplicates::default()
        });
    let opened = open::open_with(&g, Access::Create, engine)?;
    let ns = &opened.ns;
    let mut items = stored.memories(conv);
    if !stored.keyed() {
        for (m, _) in &mut items {
            m.key = None;
        }
    }
    let count = items.len();
    // What each stored memory cites. Keyed memories already stored with
    // the same content are not embedded again, so a kept namespace costs a
    // rerun nothing here.
    let (written, mut cites) = store(ns, items, &format!("storing {}", conv.sample_id))?;
    eval.lifecycle.merged += written.merged;
    eval.lifecycle.unchanged += written.unchanged;
    ns.flush_index();
    // Every turn some stored memory cites.
    let cited: HashSet<&DiaId> = cites.values().flatten().copied().collect();
    let consolidated = if stored.consolidate {
        consolidate(ns, &mut cites, &mut eval.lifecycle)?
    } else {
        HashSet::new()
    };

    let mut asked = Vec::new();
    for q in conv.questions.iter().filter(|q| q.answerable()) {
        let mut evidence = HashSet::new();
        for d in &q.evidence {
            if cited.contains(d) {
                evidence.insert(d);
            } else {
                eval.skipped_evidence
                    .push(format!("{}:{d}", conv.sample_id));
            }
        }
        if evidence.is_empty() {
            eval.skipped_questions += 1;
        } else {
            asked.push((q, evidence));
        }
    }

    // Without the vector signal no query vector is needed (and none is
    // made: the engine skips a signal of weight 0).
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; asked.len()];
    if options.weights.vector > 0.0 && !asked.is_empty() {
        let texts: Vec<&str> = asked.iter().map(|(q, _)| q.question.as_str()).collect();
        let started = Instant::now();
        let embedded = embedder
            .embed_batch(&texts)
            .context("embedding the questions")?;
        eval.embed_took += started.elapsed();
        eval.embedded += texts.len();
        if embedded.len() != texts.len() {
            bail!(
                "the embedder returned {} vectors for {} questions",
                embedded.len(),
                texts.len()
            );
        }
        vectors = embedded.into_iter().map(Some).collect();
    }

    let bar = ProgressBar::new(asked.len() as u64);
    bar.set_style(open::style(&format!("recalling {}", conv.sample_id)));
    let mut tally = Tally::default();
    let mut opts = options.clone();
    for ((q, evidence), vector) in asked.iter().zip(vectors) {
        opts.query_vector = vector;
        let started = Instant::now();
        let recall = ns.recall_with(&q.question, &opts).map_err(open::explain)?;
        eval.latencies.push(started.elapsed());
        eval.incomplete += usize::from(!recall.complete);
        let ranked: Vec<&[&DiaId]> = recall
            .hits
            .iter()
            .map(|h| cites.get(&h.memory.id).map_or(&[][..], Vec::as_slice))
            .collect();
        // `asked` holds only questions with evidence.
        let Some(s) = Score::of_citing(&KS, &ranked, evidence) else {
            continue;
        };
        if stored.consolidate {
            let is_consolidated = |h: &mnemo::RecallHit| consolidated.contains(&h.memory.id);
            let sources_only: Vec<&[&DiaId]> = recall
                .hits
                .iter()
                .zip(&ranked)
                .map(|(h, r)| if is_consolidated(h) { &[][..] } else { *r })
                .collect();
            if let Some(strict) = Score::of_citing(&KS, &sources_only, evidence) {
                eval.lifecycle.sources_only.add(&strict);
            }
            if recall.hits.iter().take(5).any(is_consolidated) {
                eval.lifecycle.consolidated_in_top5 += 1;
            }
        }
        tally.add(&s);
        eval.overall.add(&s);
        eval.per_category.entry(q.category).or_default().add(&s);
        bar.inc(1);
    }
    bar.finish_and_clear();
    eval.conversations.push(ConversationReport {
        sample_id: conv.sample_id.clone(),
        namespace: namespace.to_owned(),
        turns: conv.turns.len(),
        memories: count,
        new: written.new,
        store_took: written.took,
        tally,
    });
    opened.close()
}

/// What [`store`] wrote.
#[derive(Debug, Clone, Copy)]
struct Written {
    /// Memories added.
    new: usize,
    /// Items merged into an existing memory.
    merged: usize,
    /// Items already stored (same content or key, nothing changed).
    unchanged: usize,
    took: Duration,
}

/// Writes `items` in batches of [`BATCH`] (one log record each) with a
/// progress bar labelled `label`, and returns what each memory cites: an
/// item that landed on a memory (its own, or one it repeats: the same key
/// or content, or a near-duplicate merged into it) adds its turns to that
/// memory's.
fn store<'c>(
    ns: &Namespace,
    items: Vec<(NewMemory, Vec<&'c DiaId>)>,
    label: &str,
) -> Result<(Written, HashMap<MemoryId, Vec<&'c DiaId>>)> {
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(open::style(label));
    let before = ns.stats().memories;
    let started = Instant::now();
    let mut cites: HashMap<MemoryId, Vec<&DiaId>> = HashMap::with_capacity(items.len());
    let (mut merged, mut unchanged) = (0, 0);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let (batch, cited): (Vec<NewMemory>, Vec<Vec<&DiaId>>) = items.by_ref().take(BATCH).unzip();
        let done = ns.remember_batch(batch).map_err(open::explain)?;
        for (r, turns) in done.iter().zip(cited) {
            merged += usize::from(r.outcome == Outcome::Merged);
            unchanged += usize::from(r.outcome == Outcome::Unchanged);
            let entry = cites.entry(r.id).or_default();
            for t in turns {
                if !entry.contains(&t) {
                    entry.push(t);
                }
            }
        }
        bar.inc(done.len() as u64);
    }
    bar.finish_and_clear();
    let written = Written {
        new: ns.stats().memories.saturating_sub(before),
        merged,
        unchanged,
        took: started.elapsed(),
    };
    Ok((written, cites))
}

/// Consolidates `ns` (defaults) and makes every consolidated memory in it
/// cite the turns of the sources it quotes; returns the consolidated
/// memories.
fn consolidate(
    ns: &Namespace,
    cites: &mut HashMap<MemoryId, Vec<&DiaId>>,
    tally: &mut Lifecycle,
) -> Result<HashSet<MemoryId>> {
    let done = ns
        .consolidate(&ConsolidateOptions::default())
        .map_err(open::explain)?;
    tally.took += done.took;
    tally.deferred += done.deferred;
    ns.flush_index();
    let mut consolidated = HashSet::new();
    // Also those a run on a kept namespace wrote before.
    for m in ns.query(&Query::new().tag(CONSOLIDATED_TAG)) {
        let sources = ns.derived_from(m.id);
        if sources.is_empty() {
            continue;
        }
        let mut turns: Vec<&DiaId> = Vec::new();
        let quoted = sources.iter().filter(|s| {
            ns.get(**s)
                .is_some_and(|source| consolidation::quotes(&m.content, &source.content))
        });
        for s in quoted {
            for t in cites.get(s).into_iter().flatten() {
                if !turns.contains(t) {
                    turns.push(t);
                }
            }
        }
        tally.consolidated += 1;
        tally.sources += sources.len();
        consolidated.insert(m.id);
        cites.insert(m.id, turns);
    }
    Ok(consolidated)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report_json(
    eval: &Eval,
    args: &LocomoArgs,
    options: &RecallOptions,
    embedder: &str,
    data: Option<&Path>,
) -> Json {
    let per_category: serde_json::Map<String, Json> = Category::ANSWERABLE
        .iter()
        .map(|c| {
            let t = eval.per_category.get(c).copied().unwrap_or_default();
            (c.to_string(), tally_json(&t))
        })
        .collect();
    let conversations: Vec<Json> = eval
        .conversations
        .iter()
        .map(|c| {
            let mut j = tally_json(&c.tally);
            if let Json::Object(o) = &mut j {
                o.insert("sample_id".into(), json!(c.sample_id));
                o.insert("namespace".into(), json!(c.namespace));
                o.insert("turns".into(), json!(c.turns));
                o.insert("memories".into(), json!(c.memories));
                o.insert("new".into(), json!(c.new));
                o.insert("store_ms".into(), json!(ms(c.store_took)));
            }
            j
        })
        .collect();
    let l = &eval.latencies;
    let mean = |total: Duration, n: usize| {
        if n == 0 { 0.0 } else { ms(total) / n as f64 }
    };
    json!({
        "file": args.file.display().to_string(),
        "data": data.map(|d| d.display().to_string()),
        "granularity": args.granularity.name(),
        "seed": (args.granularity == Granularity::Observation).then_some(args.seed),
        "duplicates": args.duplicates.mode().as_str(),
        "consolidate": args.consolidate,
        "lifecycle": {
            "merged": eval.lifecycle.merged,
            "unchanged": eval.lifecycle.unchanged,
            "consolidated_memories": eval.lifecycle.consolidated,
            "consolidated_sources": eval.lifecycle.sources,
            "consolidate_ms": ms(eval.lifecycle.took),
            "deferred": eval.lifecycle.deferred,
            "questions_with_consolidated_in_top5": eval.lifecycle.consolidated_in_top5,
            "overall_sources_only": args.consolidate.then(|| tally_json(&eval.lifecycle.sources_only)),
        },
        "overall": tally_json(&eval.overall),
        "per_category": per_category,
        "latency_ms": {
            "recalls": l.len(),
            "p50": ms(percentile(l, 50.0)),
            "p95": ms(percentile(l, 95.0)),
            "p99": ms(percentile(l, 99.0)),
            "mean": mean(l.iter().sum(), l.len()),
            "max": ms(l.last().copied().unwrap_or_default()),
        },
        "embed_ms": {
            "questions": eval.embedded,
            "total": ms(eval.embed_took),
            "per_question": mean(eval.embed_took, eval.embedded),
        },
        "conversations": conversations,
        "skipped": {
            "evidence": eval.skipped_evidence.len(),
            "evidence_ids": eval.skipped_evidence,
            "questions": eval.skipped_questions,
        },
        "incomplete": eval.incomplete,
        "options": options_json(options, embedder),
    })
}

fn rate(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"))
}

/// The metric cells of a table row: hit@k then recall@k.
fn rates(t: &Tally) -> Vec<String> {
    (0..KS.len())
        .map(|i| rate(t.hit(i)))
        .chain((0..KS.len()).map(|i| rate(t.recall(i))))
        .collect()
}

fn print_report(
    eval: &Eval,
    args: &LocomoArgs,
    options: &RecallOptions,
    embedder: &dyn Embedder,
    data: Option<&Path>,
) {
    let info = embedder.info();
    println!(
        "LoCoMo recall on {} ({}): {} {}, {} questions; embedder {} (dimension {}); {}",
        args.file.display(),
        match args.granularity {
            Granularity::Turn => "a memory per turn".to_owned(),
            Granularity::Observation =>
                format!("a memory per observation, order seed {}", args.seed),
        },
        eval.conversations.len(),
        if eval.conversations.len() == 1 {
            "conversation"
        } else {
            "conversations"
        },
        eval.overall.questions,
        info.id,
        info.dimension,
        match data {
            Some(d) => format!("namespaces kept in {}", d.display()),
            None => "in a temporary directory".to_owned(),
        }
    );
    println!("{}", describe(options));
    let l = &eval.lifecycle;
    if args.duplicates != DuplicatesArg::Off {
        println!(
            "duplicates {}: {} items merged into a memory they repeat, {} already stored",
            args.duplicates.mode().as_str(),
            l.merged,
            l.unchanged
        );
    }
    if args.consolidate {
        println!(
            "consolidated: {} memories from {} sources in {}{}; with consolidated memories citing \
             nothing, hit@5 {} (a consolidated memory was among the top 5 for {} questions)",
            l.consolidated,
            l.sources,
            table::duration(l.took),
            if l.deferred > 0 {
                format!(" ({} groups deferred)", l.deferred)
            } else {
                String::new()
            },
            rate(l.sources_only.hit(1)),
            l.consolidated_in_top5
        );
    }
    println!();

    let metrics = [
        "hit@1",
        "hit@5",
        "hit@10",
        "recall@1",
        "recall@5",
        "recall@10",
    ];
    let mut header = vec!["category", "questions"];
    header.extend(metrics);
    let mut right = vec!["questions"];
    right.extend(metrics);
    let mut t = Table::new(&header).right(&right);
    for c in Category::ANSWERABLE {
        let tally = eval.per_category.get(&c).copied().unwrap_or_default();
        let mut row = vec![format!("{c} {}", c.name()), tally.questions.to_string()];
        row.extend(rates(&tally));
        t.row(row);
    }
    let mut row = vec!["overall".to_owned(), eval.overall.questions.to_string()];
    row.extend(rates(&eval.overall));
    t.row(row);
    t.print();

    let mut t = Table::new(&[
        "conversation",
        "namespace",
        "turns",
        "memories",
        "stored",
        "questions",
        "hit@5",
        "recall@5",
    ])
    .right(&["turns", "memories", "questions", "hit@5", "recall@5"]);
    for c in &eval.conversations {
        t.row(vec![
            c.sample_id.clone(),
            c.namespace.clone(),
            c.turns.to_string(),
            c.memories.to_string(),
            if c.new == 0 {
                "already there".to_owned()
            } else {
                format!("{} new in {}", c.new, table::duration(c.store_took))
            },
            c.tally.questions.to_string(),
            rate(c.tally.hit(1)),
            rate(c.tally.recall(1)),
        ]);
    }
    println!();
    t.print();

    let l = &eval.latencies;
    println!(
        "\nrecall latency (top {}, {}): p50 {}, p95 {}, p99 {}, max {} over {} recalls",
        options.k,
        if eval.embedded > 0 {
            "query vector given"
        } else {
            "no query vector"
        },
        table::duration(percentile(l, 50.0)),
        table::duration(percentile(l, 95.0)),
        table::duration(percentile(l, 99.0)),
        table::duration(l.last().copied().unwrap_or_default()),
        l.len()
    );
    if eval.embedded > 0 {
        println!(
            "query embedding (batched per conversation, not in the latency): {} questions in {} ({} each)",
            eval.embedded,
            table::duration(eval.embed_took),
            table::duration(eval.embed_took / eval.embedded as u32)
        );
    }
    if !eval.skipped_evidence.is_empty() || eval.skipped_questions > 0 {
        let named: Vec<&str> = eval
            .skipped_evidence
            .iter()
            .take(MAX_NAMED)
            .map(String::as_str)
            .collect();
        let more = eval.skipped_evidence.len().saturating_sub(named.len());
        println!(
            "skipped: {} {}{}{}; {} {} left without evidence",
            eval.skipped_evidence.len(),
            args.granularity.uncited(),
            if named.is_empty() {
                String::new()
            } else {
                format!(" ({})", named.join(", "))
            },
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            eval.skipped_questions,
            if eval.skipped_questions == 1 {
                "question"
            } else {
                "questions"
            }
        );
    }
    if eval.incomplete > 0 {
        println!(
            "the time budget ran out in {} of {} recalls (their hits are the best found by then)",
            eval.incomplete,
            l.len()
        );
    }
}

/// The options in one line, like `signals: vector 1, keyword 1, activation
/// 1 (3 hops, decay 0.7, ...), time hints 0.01`.
fn describe(o: &RecallOptions) -> String {
    let w = &o.weights;
    let mut parts = Vec::new();
    if w.vector > 0.0 {
        parts.push(format!("vector {}", w.vector));
    }
    if w.keyword > 0.0 {
        parts.push(format!("keyword {}", w.keyword));
    }
    if o.spreading {
        let s = &o.spread;
        parts.push(format!(
            "activation {} ({} seeds, {} hops, decay {}, threshold {}, edges link {} temporal {} \
             vector {} keyword {}, window {}s)",
            w.activation,
            o.seeds,
            s.hops,
            s.decay,
            s.threshold,
            s.weight(EdgeKind::Link),
            s.weight(EdgeKind::Temporal),
            s.weight(EdgeKind::Vector),
            s.weight(EdgeKind::Keyword),
            o.temporal_window.as_secs()
        ));
    }
    if o.time_hints && w.time > 0.0 {
        parts.push(format!("time hints {}", w.time));
    }
    if w.recency > 0.0 {
        parts.push(format!("recency {}", w.recency));
    }
    if w.tags > 0.0 {
        parts.push(format!("named tags {}", w.tags));
    }
    if w.answer_type > 0.0 {
        parts.push(format!("answer type {}", w.answer_type));
    }
    let mut line = format!(
        "signals: {}; {} candidates per signal",
        parts.join(", "),
        o.candidate_depth()
    );
    if let Some(b) = o.budget {
        line.push_str(&format!("; budget {} per recall", table::duration(b)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_report_every_cut_off() {
        let ranked = [MemoryId(7), MemoryId(3)];
        let mut t = Tally::default();
        assert_eq!(tally_json(&t)["hit@1"], Json::Null);
        let evidence = [MemoryId(3)].into();
        t.add(&Score::of(&KS, &ranked, &evidence).expect("evidence"));
        let j = tally_json(&t);
        assert_eq!(j["questions"], 1);
        assert_eq!(
            (j["hit@1"].clone(), j["hit@5"].clone()),
            (json!(0.0), json!(1.0))
        );
        assert_eq!(j["recall@10"], 1.0);
        let keys: Vec<&String> = j.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 1 + 2 * KS.len());
    }

    fn with_duplicates(mode: DuplicateMode) -> mnemo::Mnemo {
        mnemo::Mnemo::in_memory_with(Options::default().duplicates(Duplicates {
            mode,
            ..Duplicates::default()
        }))
    }

    #[test]
    fn merged_memories_cite_their_sources_turns_and_summaries_those_they_quote() {
        let turns: Vec<DiaId> = ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"]
            .into_iter()
            .map(DiaId::new)
            .collect();
        let mnemo = with_duplicates(DuplicateMode::Merge);
        let ns = mnemo.namespace("merge").expect("namespace");
        let items = vec![
            (
                NewMemory::new(
                    "Caroline: I went to the support group yesterday and it was powerful.",
                ),
                vec![&turns[0]],
            ),
            (
                NewMemory::new(
                    "Caroline: I went to the support group yesterday and it was powerful!",
                ),
                vec![&turns[1]],
            ),
            (
                NewMemory::new("Melanie: I painted a lake at sunrise last week."),
                vec![&turns[2]],
            ),
        ];
        let (written, cites) = store(&ns, items, "test").expect("store");
        assert_eq!((written.new, written.merged), (2, 1));
        let mut cited: Vec<Vec<&str>> = cites
            .values()
            .map(|c| c.iter().map(|d| d.as_str()).collect())
            .collect();
        cited.sort();
        assert_eq!(cited, vec![vec!["D1:1", "D1:2"], vec!["D1:3"]]);

        let mnemo = with_duplicates(DuplicateMode::Off);
        let ns = mnemo.namespace("consolidate").expect("namespace");
        let items = (3..6)
            .map(|i| {
                let text = format!(
                    "Caroline: we went hiking in the Alps with the dog, day {i} of the trip"
                );
                (NewMemory::new(text), vec![&turns[i]])
            })
            .collect();
        let (_, mut cites) = store(&ns, items, "test").expect("store");
        let mut tally = Lifecycle::default();
        let consolidated = consolidate(&ns, &mut cites, &mut tally).expect("consolidate");
        assert_eq!(consolidated.len(), 1, "{tally:?}");
        assert_eq!((tally.consolidated, tally.sources), (1, 3));
        let id = consolidated.iter().next().copied().expect("one");
        let mut cited: Vec<&str> = cites[&id].iter().map(|d| d.as_str()).collect();
        cited.sort_unstable();
        // It cites the turns whose sentence it quotes (near-duplicate
        // sentences are quoted once), not every source's.
        let summary = ns.get(id).expect("the summary").content.clone();
        let quoted: Vec<&str> = (3..6)
            .filter(|i| summary.contains(&format!("day {i} of the trip")))
            .map(|i| turns[i].as_str())
            .collect();
        assert!(!quoted.is_empty(), "{summary}");
        assert_eq!(cited, quoted, "{summary}");
        // A second run finds the consolidated memory again, writes none.
        let again = consolidate(&ns, &mut cites, &mut tally).expect("again");
        assert_eq!(again, consolidated);
    }

    #[test]
    fn lifecycle_namespaces_are_named_apart() {
        let mut stored = Stored {
            granularity: Granularity::Turn,
            seed: 1,
            duplicates: DuplicatesArg::Off,
            consolidate: false,
        };
        assert_eq!(stored.namespace("conv-26"), "locomo-conv-26");
        assert!(stored.keyed());
        stored.duplicates = DuplicatesArg::Merge;
        stored.consolidate = true;
        assert_eq!(
            stored.namespace("conv-26"),
            "locomo-conv-26-merge-consolidated"
        );
        assert!(!stored.keyed());
        stored.granularity = Granularity::Observation;
        assert!(mnemo::validate_namespace(&stored.namespace("conv-26")).is_ok());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&d, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&d[..1], 95.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn flags_make_checked_options() {
        let mut t = Tuning {
            no_vector: true,
            no_keyword: false,
            no_spread: false,
            no_time_hints: true,
            w_vector: None,
            w_keyword: Some(2.0),
            w_activation: None,
            w_recency: None,
            w_time: None,
            w_tags: None,
            w_answer: None,
            seeds: Some(5),
            hops: Some(2),
            decay: None,
            threshold: None,
            visit_budget: None,
            w_link: None,
            w_temporal: Some(0.25),
            w_vector_edge: None,
            w_keyword_edge: None,
            window_secs: Some(60),
            vector_neighbors: None,
            candidates: None,
            budget_ms: Some(2.5),
        };
        let o = t.options().expect("valid");
        assert_eq!(o.weights.vector, 0.0);
        assert_eq!(o.weights.keyword, 2.0);
        assert!(!o.time_hints && o.spreading);
        assert_eq!((o.seeds, o.spread.hops), (5, 2));
        assert_eq!(o.spread.weight(EdgeKind::Temporal), 0.25);
        assert_eq!(o.temporal_window, Duration::from_secs(60));
        assert_eq!(o.budget, Some(Duration::from_micros(2500)));
        t.w_keyword = Some(-1.0);
        let err = t.options().expect_err("negative weight").to_string();
        assert!(err.contains("--w-keyword"), "{err}");
        t.w_keyword = None;
        t.no_keyword = true;
        assert!(t.options().is_err());
        t.no_keyword = false;
        t.budget_ms = Some(-1.0);
        assert!(t.options().is_err());
    }
}
