//! `mnemo conflicts` and `mnemo resolve`: the contradictions the engine
//! found between facts as they were asserted, and settling them by naming
//! the facts accepted and deprecated.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use mnemo::{Conflict, ConflictId, FactId, Namespace};
use serde_json::{Value as Json, json};

use crate::fact_cmd;
use crate::open::{self, Access, Global};
use crate::table::{self, Table};
use crate::time;

/// Arguments of `mnemo conflicts`.
#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Also resolved conflicts.
    #[arg(long)]
    all: bool,
}

/// Arguments of `mnemo resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The conflict's id.
    conflict: u64,
    /// A fact of the conflict to keep (repeat for both).
    #[arg(long = "accept", value_name = "FACT_ID")]
    accept: Vec<u64>,
    /// A fact of the conflict to stop believing (repeat for both).
    #[arg(long = "deprecate", value_name = "FACT_ID")]
    deprecate: Vec<u64>,
    /// Why it is settled this way.
    #[arg(long)]
    rationale: String,
}

/// Runs `mnemo conflicts`.
pub fn list(global: &Global, args: ConflictsArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let ns = &opened.ns;
    let conflicts = ns.conflicts(!args.all);
    if global.json {
        let all: Vec<Json> = conflicts.iter().map(|c| conflict_json(ns, c)).collect();
        println!("{}", json!({"count": conflicts.len(), "conflicts": all}));
    } else {
        let mut t =
            Table::new(&["id", "state", "key", "facts", "reason", "resolution"]).right(&["id"]);
        for c in &conflicts {
            t.row(vec![
                c.id.to_string(),
                c.state.as_str().to_owned(),
                table::truncate(&format!("{}/{}/{}", c.context, c.subject, c.predicate), 50),
                format!(
                    "{} vs {}",
                    fact_text(ns, c.facts[0]),
                    fact_text(ns, c.facts[1])
                ),
                table::truncate(&c.reason, 60),
                c.resolution.as_ref().map_or_else(String::new, |r| {
                    let mut parts = Vec::new();
                    if !r.accepted.is_empty() {
                        parts.push(format!("accepted {}", ids(&r.accepted)));
                    }
                    if !r.deprecated.is_empty() {
                        parts.push(format!("deprecated {}", ids(&r.deprecated)));
                    }
                    let how = if r.automatic { " (automatic)" } else { "" };
                    table::truncate(&format!("{}{how}: {}", parts.join(", "), r.rationale), 60)
                }),
            ]);
        }
        t.print();
        let open_count = conflicts.iter().filter(|c| c.is_open()).count();
        if args.all {
            println!(
                "{} {} ({open_count} open)",
                conflicts.len(),
                if conflicts.len() == 1 {
                    "conflict"
                } else {
                    "conflicts"
                }
            );
        } else {
            println!(
                "{open_count} open {}",
                if open_count == 1 {
                    "conflict"
                } else {
                    "conflicts"
                }
            );
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// `3 "Berlin"`: a fact's id and object.
fn fact_text(ns: &Namespace, id: FactId) -> String {
    match ns.fact(id) {
        Some(f) => format!("{id} {:?}", table::truncate(&f.object, 30)),
        None => id.to_string(),
    }
}

fn ids(ids: &[FactId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON form of a conflict, with its two facts.
fn conflict_json(ns: &Namespace, c: &Conflict) -> Json {
    let facts: Vec<Json> = c
        .facts
        .iter()
        .map(|id| {
            ns.fact(*id)
                .map_or_else(|| json!({"id": id.0}), |f| fact_cmd::fact_json(&f))
        })
        .collect();
    let challenges: Vec<Json> = c
        .challenges
        .iter()
        .map(|(fact, reason, seq)| json!({"fact": fact.0, "reason": reason, "seq": seq}))
        .collect();
    let resolution = c.resolution.as_ref().map(|r| {
        json!({
            "accepted": r.accepted.iter().map(|f| f.0).collect::<Vec<_>>(),
            "deprecated": r.deprecated.iter().map(|f| f.0).collect::<Vec<_>>(),
            "rationale": r.rationale,
            "automatic": r.automatic,
            "seq": r.seq,
            "recorded": time::format(r.recorded),
        })
    });
    json!({
        "id": c.id.0,
        "state": c.state.as_str(),
        "open": c.is_open(),
        "context": c.context,
        "subject": c.subject,
        "predicate": c.predicate,
        "facts": facts,
        "reason": c.reason,
        "seq": c.seq,
        "recorded": time::format(c.recorded),
        "challenges": challenges,
        "resolution": resolution,
    })
}

/// Runs `mnemo resolve`.
pub fn resolve(global: &Global, args: ResolveArgs) -> Result<ExitCode> {
    if args.accept.is_empty() && args.deprecate.is_empty() {
        bail!("name the facts to keep (--accept FACT_ID) or to drop (--deprecate FACT_ID)");
    }
    if args.rationale.trim().is_empty() {
        bail!("--rationale is empty: say why the conflict is settled this way");
    }
    let opened = open::open(global, Access::Plain)?;
    let ns = &opened.ns;
    let id = ConflictId(args.conflict);
    let conflict = ns.conflict(id).ok_or_else(|| {
        anyhow!(
            "no conflict with id {id} in namespace {} (`mnemo conflicts --all` lists them)",
            ns.name()
        )
    })?;
    let accept: Vec<FactId> = args.accept.iter().copied().map(FactId).collect();
    let deprecate: Vec<FactId> = args.deprecate.iter().copied().map(FactId).collect();
    let seq = ns
        .resolve(id, &accept, &deprecate, &args.rationale)
        .map_err(open::explain)?;
    let after = ns.conflict(id).unwrap_or(conflict);
    if global.json {
        println!("{}", conflict_json(ns, &after));
    } else {
        println!(
            "conflict {id} resolved (log seq {seq}): {}",
            [("accepted", &accept), ("deprecated", &deprecate)]
                .iter()
                .filter(|(_, f)| !f.is_empty())
                .map(|(what, f)| format!("{what} {}", ids(f)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for f in after.facts.iter().filter_map(|f| ns.fact(*f)) {
            println!(
                "  fact {}: {} {} {:?} is {}, quarantine {}",
                f.id,
                f.subject,
                f.predicate,
                f.object,
                f.status.as_str(),
                f.quarantine
            );
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
