//! `mnemo demo`: the engine at work on built-in defaults.
//!
//! In a temporary directory (or `--data`), it imports a real conversation
//! (the first of the LoCoMo development split, found by searching upward
//! from the current directory and from the executable for
//! `shared/data/locomo/locomo-dev.json`) or, without it, forty built-in
//! sentences; asks five questions and shows the top three hits of each with
//! the signals that found them (vector kNN, BM25 keywords, spreading
//! activation over the association graph) and how long recall took; runs a
//! filtered query;
//! watches a query while a memory is added and forgotten; prints the stats
//! and the Merkle root; and proves one memory's event against that root.

mod builtin;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use mnemo::{
    Kind, Mnemo, Namespace, NewMemory, Options, OrderBy, Query, RecallHit, SignalHit, Value,
};

use crate::embedder::{self, Choice};
use crate::locomo::{self, Conversation};
use crate::open::{self, Global};
use crate::table::{self, Table};
use crate::{import, query_cmd, stats_cmd, watch_cmd};

/// Where the LoCoMo development split sits relative to an ancestor
/// directory.
const LOCOMO_REL: &str = "shared/data/locomo/locomo-dev.json";

/// Hits shown per question.
const TOP: usize = 3;

/// Arguments of `mnemo demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The LoCoMo file to take the conversation from [default: searched
    /// upward for shared/data/locomo/locomo-dev.json].
    #[arg(long, value_name = "FILE")]
    locomo: Option<PathBuf>,
    /// Use the built-in sentences even when LoCoMo is found.
    #[arg(long)]
    builtin: bool,
    /// Which LoCoMo conversation to use (0 = the first).
    #[arg(long, default_value_t = 0)]
    conversation: usize,
    /// How many questions to ask.
    #[arg(long, default_value_t = 5)]
    questions: usize,
}

/// The data the demo runs on.
enum Data {
    Locomo {
        path: PathBuf,
        conversation: Conversation,
    },
    Builtin,
}

/// A demo question: its text, the expected answer, the ids of the memories
/// that answer it, and how to name them.
struct Asked {
    text: String,
    answer: String,
    label: String,
    evidence: HashSet<u64>,
}

/// Runs `mnemo demo`.
pub fn run(global: &Global, args: DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let data = choose_data(&args)?;
    let temp;
    let dir = match &global.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let choice = global.embedder.unwrap_or(Choice::Auto);
    let embed_started = Instant::now();
    let (embedder, origin) = embedder::load_fetching(choice)?;
    let load_took = embed_started.elapsed();

    println!("mnemo demo");
    println!(
        "  data directory  {}{}",
        dir.display(),
        if global.data.is_none() {
            " (temporary, removed at exit)"
        } else {
            ""
        }
    );
    match (&origin, embedder::is_hash(embedder.as_ref())) {
        (embedder::Origin::Fallback(why), _) => println!(
            "  embedder        {} (feature hashing, no model: {why})",
            embedder.info().id
        ),
        (_, true) => println!(
            "  embedder        {} (feature hashing, as asked)",
            embedder.info().id
        ),
        (origin, false) => println!(
            "  embedder        {} (all-MiniLM-L6-v2, dimension {}, {})",
            embedder.info().id,
            embedder.info().dimension,
            match origin {
                embedder::Origin::Fetched(took) => format!(
                    "fetched from PyPI in {} and loaded in {}",
                    table::duration(*took),
                    table::duration(load_took.saturating_sub(*took))
                ),
                _ => format!("loaded in {}", table::duration(load_took)),
            }
        ),
    }
    let records = match &data {
        Data::Locomo { path, conversation } => {
            let sessions: HashSet<u32> = conversation.turns.iter().map(|t| t.session).collect();
            println!(
                "  conversation    LoCoMo {} ({} turns in {} sessions) from {}",
                conversation.sample_id,
                conversation.turns.len(),
                sessions.len(),
                path.display()
            );
            locomo::memories(conversation)
        }
        Data::Builtin => {
            println!("  conversation    built-in: 40 things four fictional people said or did");
            builtin::memories()
        }
    };

    let options = global.with_data_key(Options::default().embedder(Arc::clone(&embedder)))?;
    let mnemo = Mnemo::open_with(&dir, options).map_err(open::explain)?;
    let ns = mnemo.namespace(&global.namespace).map_err(open::explain)?;

    // 1. Import.
    println!("\n1. remember every turn (batches of 64, each one durable log record)");
    let n = records.len();
    let done = import::write(&ns, records, 64, "remembering")?;
    println!(
        "   {n} memories ({} new) in {} = {:.0} per second, embedding included",
        done.new,
        table::duration(done.took),
        n as f64 / done.took.as_secs_f64().max(1e-9)
    );
    let index_started = Instant::now();
    ns.flush_index();
    println!(
        "   vector index ready in {} more",
        table::duration(index_started.elapsed())
    );

    // 2. Questions.
    let questions = questions(&data, &ns, args.questions);
    println!(
        "\n2. recall: {} questions, top {TOP} hits each (vector kNN + BM25 + spreading activation over \
         the association graph, fused by weighted, scaled scores)",
        questions.len()
    );
    let mut hit_count = 0;
    // Evidence in the top hits that only spreading activation found.
    let mut by_activation_alone = 0;
    let mut latencies = Vec::new();
    let mut proof_id = None;
    for (i, q) in questions.iter().enumerate() {
        // Recall embeds the question itself; embedding it once more here
        // shows how much of the latency is the model's.
        let t = Instant::now();
        embedder.embed(&q.text)?;
        let embed_took = t.elapsed();
        let t = Instant::now();
        let hits = ns
            .recall(&q.text, TOP, &Query::new())
            .map_err(open::explain)?;
        let took = t.elapsed();
        latencies.push((took, embed_took));
        println!("\n   Q{}: {}", i + 1, q.text);
        println!("   expected: {} ({})", q.answer, q.label);
        print_hits(&hits, &q.evidence);
        if hits.is_empty() {
            println!("   (no hits)");
        }
        let found = hits
            .iter()
            .position(|h| q.evidence.contains(&h.memory.id.0));
        if let Some(rank) = found {
            hit_count += 1;
            by_activation_alone += hits
                .iter()
                .filter(|h| {
                    q.evidence.contains(&h.memory.id.0)
                        && h.vector.is_none()
                        && h.keyword.is_none()
                        && h.activation.is_some()
                })
                .count();
            proof_id.get_or_insert(hits[rank].memory.id);
        }
        println!(
            "   {}; recall took {} (embedding the question: {})",
            match found {
                Some(rank) => format!("evidence found at rank {}", rank + 1),
                None => format!("no evidence in the top {TOP}"),
            },
            table::duration(took),
            table::duration(embed_took)
        );
    }
    if !latencies.is_empty() {
        let n = latencies.len() as u32;
        let recall: Duration = latencies.iter().map(|l| l.0).sum();
        let embed: Duration = latencies.iter().map(|l| l.1).sum();
        let search: Duration = latencies.iter().map(|l| l.0.saturating_sub(l.1)).sum();
        println!(
            "\n   evidence in the top {TOP} for {hit_count} of {} questions{}; mean recall {} = embedding the question {} + search, spreading and fusion {}",
            questions.len(),
            match by_activation_alone {
                0 => String::new(),
                1 => " (one evidence hit found by spreading activation alone)".to_owned(),
                n => format!(" ({n} evidence hits found by spreading activation alone)"),
            },
            table::duration(recall / n),
            table::duration(embed / n),
            table::duration(search / n),
        );
    }

    // 3. A filtered query.
    let (label, query) = filtered_query(&data);
    println!("\n3. filtered query: {label}");
    let t = Instant::now();
    let found = ns.query(&query);
    let took = t.elapsed();
    let t = Instant::now();
    let total = ns.count(&Query {
        limit: None,
        offset: 0,
        ..query.clone()
    });
    let count_took = t.elapsed();
    query_cmd::memories_table(&found).print_indented(3);
    println!(
        "   {} shown of {total} matching, query in {}, count in {}",
        found.len(),
        table::duration(took),
        table::duration(count_took)
    );

    // 4. A watcher.
    println!("\n4. watch: a query on tag demo-note sees a memory arrive and be forgotten");
    let mut watch = ns
        .watch(Query::new().tag("demo-note"))
        .map_err(open::explain)?;
    let note = ns
        .remember(
            NewMemory::new("The demo wrote this note to show a watcher at work.")
                .tag("demo-note")
                .kind(Kind::Semantic),
        )
        .map_err(open::explain)?;
    ns.forget(note).map_err(open::explain)?;
    while let Some(event) = watch.try_recv() {
        print!("   ");
        watch_cmd::print_event(&event, false);
    }
    drop(watch);

    // 5. Stats and the Merkle root.
    println!("\n5. stats");
    stats_cmd::stats_table(&ns)?.print_indented(3);

    // 6. A proof.
    let proof_id = match proof_id {
        Some(id) => id,
        None => ns
            .query(&Query::new().limit(1))
            .first()
            .map(|m| m.id)
            .context("the namespace is empty")?,
    };
    let t = Instant::now();
    let proof = ns.prove(proof_id).map_err(open::explain)?;
    let (root, size) = ns.root().map_err(open::explain)?;
    let checked = proof.verify(Some(&root));
    let took = t.elapsed();
    println!(
        "\n6. proof: memory {proof_id} was written by event {} of {size}; its inclusion proof ({} hashes) leads to root {}: {} ({})",
        proof.seq,
        proof.proof.path.len(),
        table::hex(&root),
        if checked.is_ok() { "OK" } else { "FAILED" },
        table::duration(took)
    );
    ns.close().map_err(open::explain)?;
    mnemo.close().map_err(open::explain)?;
    println!("\ndemo finished in {}", table::duration(started.elapsed()));
    if let Err(e) = checked {
        anyhow::bail!("the proof of memory {proof_id} did not verify: {e}");
    }
    Ok(ExitCode::SUCCESS)
}

/// LoCoMo if found (or given), else the built-in set.
fn choose_data(args: &DemoArgs) -> Result<Data> {
    if args.builtin {
        return Ok(Data::Builtin);
    }
    let path = match &args.locomo {
        Some(p) if p.is_file() => Some(p.clone()),
        Some(p) => {
            println!(
                "note: {} not found; using the built-in sentences",
                p.display()
            );
            None
        }
        None => find_locomo(),
    };
    let Some(path) = path else {
        return Ok(Data::Builtin);
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut convs = locomo::from_bytes(&path, &bytes)?;
    if args.conversation >= convs.len() {
        anyhow::bail!(
            "{} holds {} conversations; --conversation {} is past the end",
            path.display(),
            convs.len(),
            args.conversation
        );
    }
    let conversation = convs.swap_remove(args.conversation);
    Ok(Data::Locomo { path, conversation })
}

/// Searches upward from the current directory and from the executable's
/// directory for the LoCoMo development split.
fn find_locomo() -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        starts.push(dir);
    }
    starts
        .iter()
        .flat_map(|s| s.ancestors())
        .map(|dir| dir.join(LOCOMO_REL))
        .find(|p| p.is_file())
}

/// The questions to ask, with their evidence as memory ids.
fn questions(data: &Data, ns: &Namespace, n: usize) -> Vec<Asked> {
    match data {
        Data::Builtin => builtin::QUESTIONS
            .iter()
            .take(n)
            .map(|q| Asked {
                text: q.text.to_owned(),
                answer: q.answer.to_owned(),
                label: "evidence: built-in fact".to_owned(),
                evidence: q
                    .evidence
                    .iter()
                    .filter_map(|i| ns.get_by_key(&format!("builtin-{i}")).map(|m| m.id.0))
                    .collect(),
            })
            .collect(),
        Data::Locomo { conversation, .. } => conversation
            .questions
            .iter()
            .filter(|q| q.answerable())
            .take(n)
            .map(|q| Asked {
                text: q.question.clone(),
                answer: q
                    .answer
                    .clone()
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "-".to_owned()),
                label: format!(
                    "{}; evidence: {}",
                    q.category.name(),
                    q.evidence
                        .iter()
                        .map(locomo::DiaId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence: q
                    .evidence
                    .iter()
                    .filter_map(|d| ns.get_by_key(&locomo::key(conversation, d)).map(|m| m.id.0))
                    .collect(),
            })
            .collect(),
    }
}

/// The filtered query the demo runs, and how to say it.
fn filtered_query(data: &Data) -> (String, Query) {
    match data {
        Data::Builtin => (
            "Bruno's semantic memories, newest first, at most 3 \
             (mnemo query --source Bruno --kind semantic --order at --desc --limit 3)"
                .to_owned(),
            Query::new()
                .source("Bruno")
                .kind(Kind::Semantic)
                .order_by(OrderBy::At)
                .descending()
                .limit(3),
        ),
        Data::Locomo { conversation, .. } => {
            let speaker = conversation
                .turns
                .first()
                .map_or_else(String::new, |t| t.speaker.clone());
            (
                format!(
                    "what {speaker} said in session 2 containing \"you\", at most 3 \
                     (mnemo query --tag session_2 --tag {speaker} --contains you --limit 3)"
                ),
                Query::new()
                    .tag(conversation.sample_id.clone())
                    .tag("session_2")
                    .tag(speaker)
                    .contains("you")
                    .order_by(OrderBy::At)
                    .limit(3),
            )
        }
    }
}

/// The signals that found a hit, with its rank in each: `vector#2
/// keyword#1 activation#4`.
fn found_by(h: &RecallHit) -> String {
    let found: Vec<String> = [
        ("vector", h.vector.as_ref()),
        ("keyword", h.keyword.as_ref()),
        ("activation", h.activation.as_ref()),
    ]
    .into_iter()
    .filter_map(|(name, s)| s.map(|s: &SignalHit| format!("{name}#{}", s.rank)))
    .collect();
    if found.is_empty() {
        "-".to_owned()
    } else {
        found.join(" ")
    }
}

/// Prints hits with a `*` on evidence, the LoCoMo turn id when there is
/// one, and the signals that found each.
fn print_hits(hits: &[RecallHit], evidence: &HashSet<u64>) {
    let turn = |h: &RecallHit| match h.memory.metadata.get("dia_id") {
        Some(Value::Text(d)) => Some(d.clone()),
        _ => None,
    };
    let with_turns = hits.iter().any(|h| turn(h).is_some());
    let mut header = vec!["rank", "id"];
    if with_turns {
        header.push("turn");
    }
    header.extend(["score", "found by", "content"]);
    let mut t = Table::new(&header).right(&["id", "score"]);
    for (i, h) in hits.iter().enumerate() {
        let star = if evidence.contains(&h.memory.id.0) {
            '*'
        } else {
            ' '
        };
        let mut row = vec![format!("{star} {}", i + 1), h.memory.id.to_string()];
        if with_turns {
            row.push(turn(h).unwrap_or_default());
        }
        row.extend([
            format!("{:.4}", h.score),
            found_by(h),
            table::truncate(&h.memory.content, 56),
        ]);
        t.row(row);
    }
    t.print_indented(3);
}
