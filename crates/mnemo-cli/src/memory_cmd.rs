//! `remember`, `get`, `touch`, `forget` and `link`: one memory at a
//! time; `purge` and `expire`: the memories a filter or their deadlines
//! pick.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use mnemo::{MemoryId, NewMemory, Outcome, Remembered};
use mnemo_server::dto::LifecycleOut;
use serde_json::json;

use crate::jsonl::{self, Limits};
use crate::open::{self, Access, Global};
use crate::table::Table;
use crate::time;

/// Arguments of `mnemo remember`.
#[derive(Debug, Args)]
pub struct RememberArgs {
    /// The text to remember.
    text: String,
    /// A tag (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Where it came from (a speaker, a tool, a session).
    #[arg(long)]
    source: Option<String>,
    /// episodic, semantic or procedural.
    #[arg(long, default_value = "episodic", value_parser = jsonl::parse_kind)]
    kind: mnemo::Kind,
    /// A client key: remembering the same key again updates that memory.
    #[arg(long)]
    key: Option<String>,
    /// When it happened: RFC 3339 (2024-05-01T13:00:00Z) or Unix seconds
    /// [default: now].
    #[arg(long, value_parser = time::parse)]
    at: Option<mnemo::Timestamp>,
    /// How much it matters, in [0, 1].
    #[arg(long, default_value_t = 0.5)]
    importance: f32,
    /// How sure the writer is, in [0, 1].
    #[arg(long, default_value_t = 1.0)]
    confidence: f32,
    /// A metadata field, name=value (repeat for several; true/false/null,
    /// numbers and text are typed as such).
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = jsonl::parse_meta_arg)]
    meta: Vec<(String, mnemo::Value)>,
    /// When it expires: RFC 3339 or Unix seconds. From then on it leaves
    /// every read, and the next sweep erases it.
    #[arg(long, value_name = "TIME", value_parser = time::parse, conflicts_with = "ttl")]
    expires: Option<mnemo::Timestamp>,
    /// How long it lives from now: seconds, or a number with s, m, h, d or
    /// w (`30d`, `12h`).
    #[arg(long, value_name = "DURATION", value_parser = time::parse_ttl)]
    ttl: Option<std::time::Duration>,
}

/// Runs `mnemo remember`: prints the memory's id.
pub fn remember(global: &Global, args: RememberArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Create)?;
    let limits = Limits::new(opened.mnemo.options().max_content_bytes);
    mnemo::input::validate_content(&args.text, &limits)
        .map_err(|e| anyhow!("the text: {}", e.reason))?;
    let mut m = NewMemory::new(args.text)
        .kind(args.kind)
        .tags(args.tags)
        .importance(args.importance)
        .confidence(args.confidence);
    m.source = args.source;
    m.key = args.key.clone();
    m.at = args.at;
    m.metadata.extend(args.meta);
    m.expires = match (args.expires, args.ttl) {
        (Some(at), _) => Some(at),
        (None, Some(ttl)) => mnemo::lifecycle::Expiry {
            ttl: Some(ttl),
            ..mnemo::lifecycle::Expiry::default()
        }
        .deadline(mnemo::Timestamp::now(), &[]),
        (None, None) => None,
    };
    let ns = &opened.ns;
    let done = ns.remember_batch(vec![m]).map_err(open::explain)?;
    let Some(&Remembered { id, outcome, seq }) = done.first() else {
        bail!("the namespace returned no result for the memory");
    };
    // `existing`: the content was already stored (no key); a keyed memory
    // is `updated` or `unchanged`.
    let outcome = match outcome {
        Outcome::Unchanged if args.key.is_none() => "existing",
        other => other.as_str(),
    };
    if global.json {
        println!("{}", json!({"id": id.0, "outcome": outcome, "seq": seq.0}));
    } else {
        println!("{id}");
        match outcome {
            "updated" => eprintln!("updated memory {id} (same key)"),
            "unchanged" => eprintln!("memory {id} (same key) already holds exactly this"),
            "existing" => eprintln!("memory {id} already holds this content; nothing new stored"),
            "merged" => eprintln!(
                "merged into memory {id}, a near-duplicate (counted as a use; nothing new stored)"
            ),
            _ => {}
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mnemo get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The memory's id.
    id: u64,
}

/// Arguments of `mnemo touch`.
#[derive(Debug, Args)]
pub struct TouchArgs {
    /// The memories used now.
    #[arg(required = true)]
    ids: Vec<u64>,
}

/// Runs `mnemo touch`: records a use of each memory now (one durable
/// event), which raises its strength.
pub fn touch(global: &Global, args: TouchArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let ids: Vec<mnemo::MemoryId> = args.ids.iter().map(|&id| mnemo::MemoryId(id)).collect();
    opened.ns.touch(&ids).map_err(open::explain)?;
    for id in &ids {
        let strength = opened.ns.strength(*id).unwrap_or(f64::NEG_INFINITY);
        let touches = opened.ns.touches(*id).unwrap_or(0);
        if global.json {
            println!(
                "{}",
                json!({"id": id.0, "strength": strength, "touches": touches})
            );
        } else {
            println!("{id}: strength {strength:.3}, touched {touches} times");
        }
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `mnemo expire`: expires every memory of the namespace past its
/// deadline now (each erased as `forget` erases) and prints their ids.
pub fn expire(global: &Global) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let expired = opened.ns.expire_due().map_err(open::explain)?;
    if global.json {
        let ids: Vec<u64> = expired.iter().map(|id| id.0).collect();
        println!("{}", json!({ "expired": ids }));
    } else if expired.is_empty() {
        println!("nothing to expire");
    } else {
        for id in &expired {
            println!("{id}");
        }
        eprintln!("expired {} memories", expired.len());
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `mnemo get`: every field of one memory and its links.
pub fn get(global: &Global, args: GetArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let m = opened.memory(args.id)?;
    let (out, incoming) = opened.ns.links(m.id);
    let lifecycle = LifecycleOut::from(&opened.ns.lifecycle(m.id).unwrap_or_default());
    if global.json {
        let mut v = jsonl::memory_to_json_full(&m);
        let link = |l: &mnemo::Link| json!({"from": l.from.0, "to": l.to.0, "kind": l.kind, "weight": l.weight});
        if let serde_json::Value::Object(obj) = &mut v {
            obj.insert("links_out".into(), out.iter().map(link).collect());
            obj.insert("links_in".into(), incoming.iter().map(link).collect());
            obj.insert("strength".into(), json!(opened.ns.strength(m.id)));
            obj.insert("touches".into(), json!(opened.ns.touches(m.id)));
            // The HTTP detail's `expires_at`, `duplicate_of` and `merged`.
            if let serde_json::Value::Object(fields) = json!(lifecycle) {
                obj.extend(fields);
            }
        }
        println!("{v}");
    } else {
        let mut t = Table::new(&["field", "value"]);
        let mut put = |k: &str, v: String| t.row(vec![k.to_owned(), v]);
        put("id", m.id.to_string());
        put("content", m.content.clone());
        put("kind", m.kind.to_string());
        put("tags", m.tags.join(", "));
        put("source", m.source.clone().unwrap_or_default());
        put("key", m.key.clone().unwrap_or_default());
        put("at", time::format(m.at));
        put("recorded", time::format(m.recorded));
        put("importance", m.importance.to_string());
        put("confidence", m.confidence.to_string());
        if let Some(s) = opened.ns.strength(m.id) {
            put("strength", format!("{s:.3}"));
        }
        put("touches", opened.ns.touches(m.id).unwrap_or(0).to_string());
        if let Some(at) = &lifecycle.expires_at {
            put("expires", at.clone());
        }
        if let Some(d) = &lifecycle.duplicate_of {
            put(
                "duplicate of",
                format!(
                    "{} (vector {:.3}, text {:.3})",
                    d.id, d.vector_similarity, d.text_similarity
                ),
            );
        }
        if lifecycle.merged.count > 0 {
            let recent: Vec<String> = lifecycle
                .merged
                .recent
                .iter()
                .map(|w| format!("{} at {}", w.source.as_deref().unwrap_or("-"), w.at))
                .collect();
            put(
                "merged",
                format!(
                    "{} writes (latest: {})",
                    lifecycle.merged.count,
                    recent.join(", ")
                ),
            );
        }
        for (name, value) in &m.metadata {
            put(&format!("meta.{name}"), value.to_string());
        }
        if let Some(v) = &m.valid {
            let end =
                |t: Option<mnemo::Timestamp>| t.map_or_else(|| "open".to_owned(), time::format);
            put("valid", format!("{} .. {}", end(v.from), end(v.until)));
        }
        put(
            "log seqs",
            format!("created {}, updated {}", m.created_seq, m.updated_seq),
        );
        for l in &out {
            put(
                "link out",
                format!("-> {} ({}, weight {})", l.to, l.kind, l.weight),
            );
        }
        for l in &incoming {
            put(
                "link in",
                format!("<- {} ({}, weight {})", l.from, l.kind, l.weight),
            );
        }
        t.print();
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mnemo forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The memory's id.
    id: u64,
}

/// Runs `mnemo forget`.
pub fn forget(global: &Global, args: ForgetArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let delta = opened.ns.forget(MemoryId(args.id)).map_err(open::explain)?;
    if global.json {
        println!("{}", json!({"forgot": args.id, "seq": delta.seq}));
    } else {
        println!("forgot memory {} (log seq {})", args.id, delta.seq);
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mnemo purge` (exactly one of them).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PurgeArgs {
    /// Every memory with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Every memory from this source.
    #[arg(long)]
    source: Option<String>,
    /// Every memory of the namespace.
    #[arg(long)]
    all: bool,
}

/// Runs `mnemo purge`: forgets the memories and destroys their keys, so
/// what the log holds of them can no longer be read.
pub fn purge(global: &Global, args: PurgeArgs) -> Result<ExitCode> {
    let filter = match (args.tag, args.source) {
        (Some(tag), _) => mnemo::Query::new().tag(tag),
        (None, Some(source)) => mnemo::Query::new().source(source),
        (None, None) => mnemo::Query::new(),
    };
    let opened = open::open(global, Access::Plain)?;
    let ids = opened.ns.purge(&filter).map_err(open::explain)?;
    if global.json {
        let ids: Vec<u64> = ids.iter().map(|id| id.0).collect();
        println!("{}", json!({"purged": ids}));
    } else {
        println!("forgot and erased {} memories", ids.len());
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mnemo link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The memory the link starts from.
    from: u64,
    /// The memory it points to.
    to: u64,
    /// What kind of association (`caused`, `refers_to`, ...).
    #[arg(long, default_value = "related")]
    kind: String,
    /// Strength in [0, 1] (linking again with the same kind replaces it).
    #[arg(long, default_value_t = 1.0)]
    weight: f32,
}

/// Runs `mnemo link`.
pub fn link(global: &Global, args: LinkArgs) -> Result<ExitCode> {
    let opened = open::open(global, Access::Plain)?;
    let delta = opened
        .ns
        .link(
            MemoryId(args.from),
            MemoryId(args.to),
            &args.kind,
            args.weight,
        )
        .map_err(open::explain)?;
    if global.json {
        println!(
            "{}",
            json!({"from": args.from, "to": args.to, "kind": args.kind,
                   "weight": args.weight, "seq": delta.seq})
        );
    } else {
        println!(
            "linked {} -> {} ({}, weight {}; log seq {})",
            args.from, args.to, args.kind, args.weight, delta.seq
        );
    }
    opened.close()?;
    Ok(ExitCode::SUCCESS)
}
