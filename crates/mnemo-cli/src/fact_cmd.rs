//! `mnemo fact ...`: asserting facts and reading them back, one fact's
//! life at a time (challenge, support, retract, quarantine), and a
//! subject's timeline with the Merkle proof of every assertion.
//!
//! Facts are `(subject, predicate, object)` triples the engine checks for
//! coherence as they are written (see `mnemo::facts`): a fact whose
//! validity starts later closes an older one's window (a knowledge
//! update), a contradicting one opens a conflict (`mnemo conflicts`,
//! `mnemo resolve`). The JSON and text forms of a fact defined here are
//! shared with those commands.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use mnemo::facts::FactEvent;
use mnemo::{
    Cardinality, Fact, FactId, FactQuery, FactRecord, MemoryId, NewFact, Quarantine, Timestamp,
    Validity,
};
use serde_json::{Value as Json, json};

use crate::open::{self, Access, Global, Opened};
use crate::table::{self, Table};
use crate::time;

/// The `mnemo fact` commands.
#[derive(Debug, Subcommand)]
pub enum FactCommand {
    /// Assert a fact; prints its id, the facts it superseded and the
    /// conflicts it opened.
    Add(AddArgs),
    /// List facts (believed ones, valid at any time, unless told otherwise).
    List(ListArgs),
    /// Every fact of a subject's predicate, with its changes and the
    /// provenance of its assertion.
    History(HistoryArgs),
    /// Declare a predicate single-valued (different objects contradict
    /// each other, the default) or multi-valued.
    Declare(DeclareArgs),
    /// Challenge a believed fact: it needs a witness (`fact support`)
    /// before it is trusted again.
    Challenge(NoteArgs),
    /// Support a believed fact with evidence (memory ids); lifts a
    /// challenge.
    Support(SupportArgs),
    /// Retract a believed fact: it is no longer believed.
    Retract(NoteArgs),
    /// Set a fact's quarantine level explicitly, or `clear` it (back to
    /// the level its history gives it).
    Quarantine(QuarantineArgs),
}

/// Arguments of `mnemo fact add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// What the fact is about (`alice`).
    subject: String,
    /// The relation (`lives_in`).
    predicate: String,
    /// The value (`Paris`).
    object: String,
    /// Where it holds (a conversation, a source, a world).
    #[arg(long, default_value = mnemo::facts::DEFAULT_CONTEXT)]
    context: String,
    /// How sure the writer is, in [0, 1].
    #[arg(long, default_value_t = 1.0)]
    confidence: f32,
    /// When it starts to hold (RFC 3339 or Unix seconds) [default: always].
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    from: Option<Timestamp>,
    /// When it stops holding (RFC 3339 or Unix seconds) [default: never].
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    until: Option<Timestamp>,
    /// A memory it was drawn from (repeat for several).
    #[arg(long = "evidence", value_name = "MEMORY_ID")]
    evidence: Vec<u64>,
}

/// Arguments of `mnemo fact list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only facts about this subject.
    #[arg(long)]
    subject: Option<String>,
    /// Only facts of this predicate.
    #[arg(long)]
    predicate: Option<String>,
    /// Only facts in this context.
    #[arg(long)]
    context: Option<String>,
    /// Only facts valid at this time (RFC 3339 or Unix seconds).
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    at: Option<Timestamp>,
    /// As the namespace held them at this (recorded) time.
    #[arg(long, value_parser = time::parse, value_name = "TIME")]
    known_at: Option<Timestamp>,
    /// The least trusted level listed: none, conservative,
    /// requires-witness or blocked.
    #[arg(long, value_parser = parse_level, value_name = "LEVEL", default_value = "conservative")]
    max_quarantine: Quarantine,
    /// Every fact: also deprecated and retracted ones, at any level.
    #[arg(long)]
    all: bool,
}

/// Arguments of `mnemo fact history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The subject.
    subject: String,
    /// The predicate.
    predicate: String,
    /// Check each assertion's Merkle proof against the current root (exit
    /// code 1 when one fails).
    #[arg(long)]
    verify: bool,
}

/// Arguments of `mnemo fact declare`.
#[derive(Debug, Args)]
pub struct DeclareArgs {
    /// The predicate.
    predicate: String,
    /// `single` (one object at a time) or `multi` (any number).
    #[arg(value_parser = parse_cardinality, value_name = "single|multi")]
    cardinality: Cardinality,
}

/// Arguments of `mnemo fact challenge` and `mnemo fact retract`.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The fact's id.
    id: u64,
    /// Why.
    #[arg(long)]
    reason: String,
}

/// Arguments of `mnemo fact support`.
#[derive(Debug, Args)]
pub struct SupportArgs {
    /// The fact's id.
    id: u64,
    /// A memory that supports it (repeat for several).
    #[arg(long = "evidence", value_name = "MEMORY_ID", required = true)]
    evidence: Vec<u64>,
    /// A note on the support.
    #[arg(long)]
    note: Option<String>,
}

/// Arguments of `mnemo fact quarantine`.
#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// The fact's id.
    id: u64,
    /// none, conservative, requires-witness, blocked, or clear.
    #[arg(value_parser = parse_level_or_clear, value_name = "LEVEL|clear")]
    level: LevelOrClear,
    /// Why.
    #[arg(long)]
    reason: String,
}

/// A quarantine level, or `clear` (back to the derived level).
#[derive(Debug, Clone, Copy)]
pub struct LevelOrClear(Option<Quarantine>);

/// Parses a quarantine level name (`requires_witness` is accepted too).
pub fn parse_level(s: &str) -> Result<Quarantine, String> {
    Quarantine::parse(s).ok_or_else(|| {
        format!("{s:?} is not a quarantine level (none, conservative, requires-witness, blocked)")
    })
}

fn parse_level_or_clear(s: &str) -> Result<LevelOrClear, String> {
    if s.eq_ignore_ascii_case("clear") {
        return Ok(LevelOrClear(None));
    }
    Quarantine::parse(s)
        .map(|q| LevelOrClear(Some(q)))
        .ok_or_else(|| {
            format!(
                "{s:?} is not a quarantine level (none, conservative, requires-witness, blocked, \
             or clear)"
            )
        })
}

fn parse_cardinality(s: &str) -> Result<Cardinality, String> {
    Cardinality::parse(s).ok_or_else(|| format!("{s:?} is neither single nor multi"))
}

/// Runs a `mnemo fact` command.
pub fn run(global: &Global, cmd: FactCommand) -> Result<ExitCode> {
    match cmd {
        FactCommand::Add(args) => add(global, args),
        FactCommand::List(args) => list(global, args),
        FactCommand::History(args) => history(global, args),
        FactCommand::Declare(args) => declare(global, args),
        FactCommand::Challenge(args) => note(global, args, Note::Challenge),
        FactCommand::Retract(args) => note(global, args, Note::Retract),
        FactCommand::Support(args) => support(global, args),
        FactCommand::Quarantine(args) => quarantine(global, args),
    }
}

/// Opens the namespace for a write that embeds nothing: creates it (with
/// the chosen embedder) when it does not exist yet, otherwise opens it
/// without loading a model.
pub fn open_for_write(global: &Global) -> Result<Opened> {
    let access = if open::exists(&global.data_dir(), &global.namespace) {
        Access::Plain
    } else {
        Access::Create
    };
    open::open(global, access)
}

/// Checks that `x` is a number in [0, 1], naming the flag when not.
pub fn check_unit(flag: &str, x: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&x) {
        bail!("{flag} {x} is not a number in [0, 1]");
    }
    Ok(())
}

/// The fact `id` of the open namespace, or the plain error naming it.
pub fn known_fact(opened: &Opened, id: u64) -> Result<Fact> {
    opened.ns.fact(FactId(id)).ok_or_else(|| {
        anyhow!(
            "no fact with id {id} in namespace {} (`mnemo fact list --all` lists them)",
            opened.ns.name()
        )
    })
}

fn add(global: &Global, args: AddArgs) -> Result<ExitCode> {
    check_unit("--confidence", args.confidence)?;
    if let (Some(from), Some(until)) = (args.from, args.until)
        && until <= from
    {
        bail!(
            "--until {} is not after --from {}",
            time::format(until),
            time::format(from)
        );
    }
    let opened = open_for_write(global)?;
    let mut fact = NewFact::new(&args.subject, &args.predicate, &args.object)
        .context(&args.context)
        .confidence(args.confidence)
        .evidence(args.evidence.iter().copied().map(MemoryId));
    fact.valid = Validity {
        from: args.from,
        until: args.until,
    };
    let asserted = opened.ns.assert_fact(fact).map_err(open::explain)?;
    let ns = &opened.ns;
    let superseded: Vec<Fact> = asserted
        .superseded
        .iter()
        .filter_map(|id| ns.fact(*id))
        .collect();
    let conflicts: Vec<mnemo::Conflict> = asserted
        .conflicts
        .iter()
        .filter_map(|id| ns.conflict(*id))
        .collect();
    let other = |c: &mnemo::Conflict| {
        c.facts
            .into_iter()
            .find(|f| *f != asserted.fact)
            .unwrap_or(c.facts[0])
    };
    if global.json {
        let superseded: Vec<Json> = superseded.iter().map(fact_json).collect();
        let conflicts: Vec<Json> = conflicts
            .iter()
            .map(|c| json!({"id": c.id.0, "with": other(c).0, "reason": c.reason}))
            .collect();
        println!(
            "{}",
            json!({"id": asserted.fact.0, "seq": asserted.seq,
                   "superseded": superseded, "conflicts": conflicts})
        );
    } else {
        println!("fact {} added (log seq {})", asserted.fact, asserted.seq);
        for f in &superseded {
            println!(
                "  supersedes fact {}: {} {} {:?}, now valid {}",
                f.id,
                f.subject,
                f.predicate,
                f.object,
                validity(&f.valid, time::format)
            );
        }
        for c in &conflicts {
            println!(
                "  conflict {} opened with fact {}: {} (both flagged conservative until \
                 `mnemo resolve {}`)",
                c.id,
                other(c),
                c.reason,
                c.id
            );
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn list(global: &Global, args: ListArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let mut q = FactQuery::new().max_quarantine(args.max_quarantine);
    q.subject = args.subject;
    q.predicate = args.predicate;
    q.context = args.context;
    q.valid_at = args.at;
    q.known_at = args.known_at;
    q.include_inactive = args.all;
    let facts = opened.ns.facts(&q);
    if global.json {
        let all: Vec<Json> = facts.iter().map(fact_json).collect();
        println!("{}", json!({"count": facts.len(), "facts": all}));
    } else {
        facts_table(&facts).print();
        println!(
            "{} {}",
            facts.len(),
            if facts.len() == 1 { "fact" } else { "facts" }
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Facts as a table: id, context, subject, predicate, object, confidence,
/// validity, status and quarantine.
pub fn facts_table(facts: &[Fact]) -> Table {
    let mut t = Table::new(&[
        "id",
        "context",
        "subject",
        "predicate",
        "object",
        "confidence",
        "valid",
        "status",
        "quarantine",
    ])
    .right(&["id", "confidence"]);
    for f in facts {
        t.row(vec![
            f.id.to_string(),
            table::truncate(&f.context, 20),
            table::truncate(&f.subject, 24),
            table::truncate(&f.predicate, 24),
            table::truncate(&f.object, 40),
            format!("{:.2}", f.confidence),
            validity(&f.valid, time::format_short),
            f.status.as_str().to_owned(),
            f.quarantine.to_string(),
        ]);
    }
    t
}

/// A validity window as text: `FROM .. UNTIL`, `always` when it has no
/// bounds, `open` for a missing bound.
pub fn validity(v: &Validity, format: fn(Timestamp) -> String) -> String {
    match (v.from, v.until) {
        (None, None) => "always".to_owned(),
        (from, until) => {
            let end = |t: Option<Timestamp>| t.map_or_else(|| "open".to_owned(), format);
            format!("{} .. {}", end(from), end(until))
        }
    }
}

fn time_json(t: Option<Timestamp>) -> Json {
    t.map_or(Json::Null, |t| json!(time::format(t)))
}

fn ids_json<T: Copy>(ids: &[T], id: fn(T) -> u64) -> Json {
    ids.iter().map(|x| json!(id(*x))).collect()
}

/// The JSON form of a fact (without its history).
pub fn fact_json(f: &Fact) -> Json {
    json!({
        "id": f.id.0,
        "context": f.context,
        "subject": f.subject,
        "predicate": f.predicate,
        "object": f.object,
        "confidence": f.confidence,
        "valid_from": time_json(f.valid.from),
        "valid_until": time_json(f.valid.until),
        "asserted_valid_from": time_json(f.asserted_valid.from),
        "asserted_valid_until": time_json(f.asserted_valid.until),
        "status": f.status.as_str(),
        "quarantine": f.quarantine.as_str(),
        "evidence": ids_json(&f.evidence, |m| m.0),
        "asserted_evidence": ids_json(&f.asserted_evidence, |m| m.0),
        "erased_evidence": ids_json(&f.erased_evidence, |m| m.0),
        "superseded_by": f.superseded_by.map(|id| id.0),
        "supersedes": ids_json(&f.supersedes, |id| id.0),
        "conflicts": ids_json(&f.conflicts, |id| id.0),
        "seq": f.seq,
        "recorded": time::format(f.recorded),
    })
}

/// The JSON form of one change of a fact's history.
fn change_json(c: &mnemo::facts::FactChange) -> Json {
    let mut v = match &c.event {
        FactEvent::Asserted => json!({"change": "asserted"}),
        FactEvent::Superseded { by, until } => {
            json!({"change": "superseded", "by": by.0, "until": time::format(*until)})
        }
        FactEvent::ConflictOpened {
            conflict,
            with,
            reason,
        } => json!({"change": "conflict_opened", "conflict": conflict.0, "with": with.0,
                   "reason": reason}),
        FactEvent::ConflictClosed { conflict } => {
            json!({"change": "conflict_closed", "conflict": conflict.0})
        }
        FactEvent::Deprecated {
            conflict,
            rationale,
        } => json!({"change": "deprecated", "conflict": conflict.0, "rationale": rationale}),
        FactEvent::Challenged { reason } => json!({"change": "challenged", "reason": reason}),
        FactEvent::Supported { evidence, note } => json!({"change": "supported",
            "evidence": ids_json(evidence, |m| m.0), "note": note}),
        FactEvent::Quarantined { level, reason } => json!({"change": "quarantined",
            "level": level.map(Quarantine::as_str), "reason": reason}),
        FactEvent::Retracted { reason } => json!({"change": "retracted", "reason": reason}),
    };
    if let Json::Object(obj) = &mut v {
        obj.insert("seq".into(), json!(c.seq));
        obj.insert("recorded".into(), json!(time::format(c.recorded)));
    }
    v
}

/// One change of a fact's history in words.
fn change_text(event: &FactEvent) -> String {
    match event {
        FactEvent::Asserted => "asserted".to_owned(),
        FactEvent::Superseded { by, until } => format!(
            "superseded by fact {by}: its window closed at {}",
            time::format(*until)
        ),
        FactEvent::ConflictOpened {
            conflict,
            with,
            reason,
        } => format!("conflict {conflict} opened with fact {with}: {reason}"),
        FactEvent::ConflictClosed { conflict } => {
            format!("conflict {conflict} resolved, this fact kept")
        }
        FactEvent::Deprecated {
            conflict,
            rationale,
        } => format!("deprecated (conflict {conflict}): {rationale}"),
        FactEvent::Challenged { reason } => format!("challenged: {reason}"),
        FactEvent::Supported { evidence, note } => {
            let ids: Vec<String> = evidence.iter().map(ToString::to_string).collect();
            let note = note.as_deref().map_or(String::new(), |n| format!(": {n}"));
            format!("supported by memories {}{note}", ids.join(", "))
        }
        FactEvent::Quarantined { level, reason } => match level {
            Some(level) => format!("quarantine set to {level}: {reason}"),
            None => format!("quarantine cleared: {reason}"),
        },
        FactEvent::Retracted { reason } => format!("retracted: {reason}"),
    }
}

/// A time to the second (the history's recorded times), RFC 3339.
fn to_second(t: Timestamp) -> String {
    time::format(Timestamp(t.0 - t.0.rem_euclid(1_000_000_000)))
}

fn history(global: &Global, args: HistoryArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let records = opened
        .ns
        .history(&args.subject, &args.predicate)
        .map_err(open::explain)?;
    let (root, size) = opened.ns.root().map_err(open::explain)?;
    // Each proof is checked against the root read now, not the one it
    // carries: a proof that leads elsewhere fails.
    let verdicts: Vec<Option<Result<(), String>>> = records
        .iter()
        .map(|r| {
            args.verify
                .then(|| r.proof.verify(Some(&root)).map_err(|e| e.to_string()))
        })
        .collect();
    let failed = verdicts.iter().flatten().filter(|v| v.is_err()).count();
    if global.json {
        let facts: Vec<Json> = records
            .iter()
            .zip(&verdicts)
            .map(|(r, verdict)| record_json(r, verdict.as_ref()))
            .collect();
        println!(
            "{}",
            json!({"subject": args.subject, "predicate": args.predicate,
                   "root": table::hex(&root), "tree_size": size,
                   "verified": args.verify.then_some(failed == 0),
                   "facts": facts})
        );
    } else if records.is_empty() {
        println!(
            "no facts of {} {} in namespace {}",
            args.subject,
            args.predicate,
            opened.ns.name()
        );
    } else {
        for (i, (r, verdict)) in records.iter().zip(&verdicts).enumerate() {
            if i > 0 {
                println!();
            }
            print_record(r, verdict.as_ref(), size);
        }
        if args.verify {
            println!();
            if failed == 0 {
                println!(
                    "all {} assertion proofs verified against root {} ({size} events)",
                    records.len(),
                    table::hex(&root)
                );
            } else {
                println!(
                    "{failed} of {} assertion proofs FAILED against root {}",
                    records.len(),
                    table::hex(&root)
                );
            }
        }
    }
    opened.close()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn record_json(r: &FactRecord, verdict: Option<&Result<(), String>>) -> Json {
    let mut v = fact_json(&r.fact);
    let changes: Vec<Json> = r.fact.history.iter().map(change_json).collect();
    let proof = json!({
        "seq": r.proof.seq,
        "root": table::hex(&r.proof.root),
        "tree_size": r.proof.proof.tree_size,
        "audit_path_len": r.proof.proof.path.len(),
        "verified": verdict.map(Result::is_ok),
        "error": verdict.and_then(|v| v.as_ref().err()),
    });
    if let Json::Object(obj) = &mut v {
        obj.insert("history".into(), Json::Array(changes));
        obj.insert("proof".into(), proof);
    }
    v
}

fn print_record(r: &FactRecord, verdict: Option<&Result<(), String>>, size: u64) {
    let f = &r.fact;
    println!(
        "fact {}  {} {} {:?}  (context {})",
        f.id, f.subject, f.predicate, f.object, f.context
    );
    println!(
        "  {}, quarantine {}, confidence {}",
        f.status.as_str(),
        f.quarantine,
        f.confidence
    );
    let mut valid = format!("  valid {}", validity(&f.valid, time::format));
    if f.valid != f.asserted_valid {
        valid.push_str(&format!(
            " (asserted {})",
            validity(&f.asserted_valid, time::format)
        ));
    }
    println!("{valid}");
    let ids = |ids: &[MemoryId]| {
        if ids.is_empty() {
            "none".to_owned()
        } else {
            let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
            format!("memories {}", list.join(", "))
        }
    };
    println!(
        "  evidence: {} (at assertion: {})",
        ids(&f.evidence),
        ids(&f.asserted_evidence)
    );
    if !f.erased_evidence.is_empty() {
        println!(
            "  erased evidence: {} (forgotten since; their content is gone)",
            ids(&f.erased_evidence)
        );
    }
    let proof = &r.proof;
    let state = match verdict {
        None => "not checked (--verify checks it)".to_owned(),
        Some(Ok(())) => "verified".to_owned(),
        Some(Err(e)) => format!("FAILED: {e}"),
    };
    println!(
        "  asserted by event {}, recorded {}",
        proof.seq,
        to_second(f.recorded)
    );
    println!(
        "  proof: audit path of {} hashes from event {} to root {} ({size} events): {state}",
        proof.proof.path.len(),
        proof.seq,
        table::hex(&proof.root),
    );
    let mut t = Table::new(&["seq", "recorded", "change"]).right(&["seq"]);
    for c in &f.history {
        t.row(vec![
            c.seq.to_string(),
            to_second(c.recorded),
            change_text(&c.event),
        ]);
    }
    t.print_indented(2);
}

fn declare(global: &Global, args: DeclareArgs) -> Result<ExitCode> {
    let opened = open_for_write(global)?;
    let seq = opened
        .ns
        .declare_predicate(&args.predicate, args.cardinality)
        .map_err(open::explain)?;
    if global.json {
        println!(
            "{}",
            json!({"predicate": args.predicate, "cardinality": args.cardinality.as_str(),
                   "seq": seq})
        );
    } else {
        println!(
            "predicate {} is {}-valued from now on (log seq {seq})",
            args.predicate,
            args.cardinality.as_str()
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy)]
enum Note {
    Challenge,
    Retract,
}

fn note(global: &Global, args: NoteArgs, what: Note) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    known_fact(&opened, args.id)?;
    let id = FactId(args.id);
    let (seq, verb) = match what {
        Note::Challenge => (opened.ns.challenge(id, &args.reason), "challenged"),
        Note::Retract => (opened.ns.retract(id, &args.reason), "retracted"),
    };
    let seq = seq.map_err(open::explain)?;
    let after = known_fact(&opened, args.id)?;
    if global.json {
        println!(
            "{}",
            json!({"fact": args.id, "action": verb, "seq": seq,
                   "status": after.status.as_str(), "quarantine": after.quarantine.as_str()})
        );
    } else {
        println!(
            "{verb} fact {} (log seq {seq}): now {}, quarantine {}",
            args.id,
            after.status.as_str(),
            after.quarantine
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn support(global: &Global, args: SupportArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    known_fact(&opened, args.id)?;
    let evidence: Vec<MemoryId> = args.evidence.iter().copied().map(MemoryId).collect();
    let seq = opened
        .ns
        .support(FactId(args.id), &evidence, args.note.as_deref())
        .map_err(open::explain)?;
    let after = known_fact(&opened, args.id)?;
    if global.json {
        println!(
            "{}",
            json!({"fact": args.id, "seq": seq, "evidence": ids_json(&after.evidence, |m| m.0),
                   "quarantine": after.quarantine.as_str()})
        );
    } else {
        println!(
            "supported fact {} (log seq {seq}): evidence now memories {}, quarantine {}",
            args.id,
            after
                .evidence
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            after.quarantine
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

fn quarantine(global: &Global, args: QuarantineArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    known_fact(&opened, args.id)?;
    let LevelOrClear(level) = args.level;
    let seq = opened
        .ns
        .quarantine(FactId(args.id), level, &args.reason)
        .map_err(open::explain)?;
    let after = known_fact(&opened, args.id)?;
    if global.json {
        println!(
            "{}",
            json!({"fact": args.id, "seq": seq, "set": level.map(Quarantine::as_str),
                   "quarantine": after.quarantine.as_str()})
        );
    } else {
        match level {
            Some(level) => println!("fact {} quarantined at {level} (log seq {seq})", args.id),
            None => println!(
                "fact {} quarantine cleared (log seq {seq}): now {}",
                args.id, after.quarantine
            ),
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
