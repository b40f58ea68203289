//! Choosing the embedder: `--embedder auto|minilm|minilm-q8|hash`, or the one a
//! namespace was created with.
//!
//! A namespace records its embedder in its first event (`Init`) and refuses
//! to open with another. When `--embedder` is not given, commands read that
//! event straight from the first log segment (a few bytes) and use the same
//! embedder; commands that never embed text (`get`, `query`, `stats`, ...)
//! then use [`Recorded`], which only carries the recorded id and dimension,
//! so they need no model at all.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use clap::ValueEnum;
use mnemo::{EmbedderLoader, Event};
use mnemo_embed::{Embedder, EmbedderInfo, Fallback, HashEmbedder, MiniLm, MiniLmQ8, load_default};
use mnemo_log::format;

/// Which embedder a command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// all-MiniLM-L6-v2 with int8 weights (`minilm-q8`) if the model files
    /// are found, else the hash embedder.
    Auto,
    /// all-MiniLM-L6-v2 (f32), or an error that says where it was looked
    /// for.
    Minilm,
    /// all-MiniLM-L6-v2 with int8 weights (`minilm-l6-v2-q8`): the same
    /// model files, several times faster, vectors within cosine 0.99 of the
    /// f32 model's.
    #[value(name = "minilm-q8")]
    MinilmQ8,
    /// The model-free hash embedder.
    Hash,
}

impl Choice {
    /// The choice that loads the embedder with this id, if it is one of
    /// ours.
    pub fn for_id(id: &str) -> Option<Choice> {
        if id == HashEmbedder::new().info().id {
            Some(Choice::Hash)
        } else if id == "minilm-l6-v2-q8" {
            Some(Choice::MinilmQ8)
        } else if id.starts_with("minilm") {
            Some(Choice::Minilm)
        } else {
            None
        }
    }

    /// The `--embedder` value.
    pub fn flag(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Minilm => "minilm",
            Choice::MinilmQ8 => "minilm-q8",
            Choice::Hash => "hash",
        }
    }
}

/// Loads the embedder `choice` names (`auto` falls back to the hash
/// embedder, with a note on standard error unless `quiet`).
pub fn load(choice: Choice, quiet: bool) -> Result<Arc<dyn Embedder>> {
    Ok(match choice {
        Choice::Hash => Arc::new(HashEmbedder::new()),
        Choice::Minilm => Arc::new(MiniLm::load_default()?),
        Choice::MinilmQ8 => Arc::new(MiniLmQ8::load_default()?),
        Choice::Auto => {
            let e: Arc<dyn Embedder> = Arc::from(load_default(Fallback::AllowHash)?);
            if !quiet && is_hash(e.as_ref()) {
                eprintln!(
                    "note: all-MiniLM-L6-v2 not found (run scripts/fetch-model or set \
                     MNEMO_MODEL_DIR); using the hash embedder"
                );
            }
            e
        }
    })
}

/// Where [`load_fetching`]'s embedder came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The embedder asked for by name (`--embedder`).
    Asked,
    /// The model's files were already in place.
    Found,
    /// The model was fetched now (see [`crate::fetch_model`]), taking this
    /// long.
    Fetched(std::time::Duration),
    /// The model could not be had: the hash embedder, and why.
    Fallback(String),
}

/// [`load`], except that `auto` fetches the model when its files are
/// missing (by the route `scripts/fetch-model` takes, unless
/// `MNEMO_NO_FETCH=1`), falling back to the hash embedder only when that
/// fails; says which happened.
pub fn load_fetching(choice: Choice) -> Result<(Arc<dyn Embedder>, Origin)> {
    if choice != Choice::Auto {
        return Ok((load(choice, true)?, Origin::Asked));
    }
    let missing = match load_default(Fallback::Deny) {
        Ok(e) => return Ok((Arc::from(e), Origin::Found)),
        Err(e) => e.to_string(),
    };
    let hash = |why: String| -> (Arc<dyn Embedder>, Origin) {
        (Arc::new(HashEmbedder::new()), Origin::Fallback(why))
    };
    if !crate::fetch_model::allowed() {
        return Ok(hash(format!(
            "the model is not installed and {} is set ({missing})",
            crate::fetch_model::NO_FETCH_ENV
        )));
    }
    let Some(dest) = crate::fetch_model::destination() else {
        return Ok(hash(missing));
    };
    match crate::fetch_model::fetch(&dest) {
        Ok(took) => match load_default(Fallback::Deny) {
            Ok(e) => Ok((Arc::from(e), Origin::Fetched(took))),
            Err(e) => Ok(hash(format!("fetched, but the model does not load: {e}"))),
        },
        Err(why) => Ok(hash(format!("fetching the model failed: {why}"))),
    }
}

/// What an engine serving many namespaces opens each stored one with when
/// it was built with another embedder than `default` (the one new
/// namespaces get): the built-in embedder its log records, each model
/// loaded once and shared by all its namespaces.
pub fn recorded_loader(default: Arc<dyn Embedder>) -> EmbedderLoader {
    let loaded = Mutex::new(HashMap::from([(default.info().clone(), default)]));
    Arc::new(move |info| {
        let mut loaded = loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(e) = loaded.get(info) {
            return Ok(Some(Arc::clone(e)));
        }
        let Some(e) = mnemo_embed::load_recorded(info)? else {
            return Ok(None);
        };
        let e: Arc<dyn Embedder> = Arc::from(e);
        loaded.insert(info.clone(), Arc::clone(&e));
        Ok(Some(e))
    })
}

/// Whether `e` is the hash embedder.
pub fn is_hash(e: &dyn Embedder) -> bool {
    e.info().id == HashEmbedder::new().info().id
}

/// The embedder recorded in the namespace whose log is `log_dir`, read from
/// its first record; `None` when there is no log yet or it cannot be read
/// (opening the namespace then reports the problem).
pub fn recorded(log_dir: &Path) -> Option<EmbedderInfo> {
    use std::io::Read;
    let path = log_dir.join(format::segment_file_name(0));
    let mut head = Vec::with_capacity(8192);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    format::decode_segment_header(&head).ok()?;
    let frame = head.get(format::SEGMENT_HEADER_LEN..)?;
    let header = format::decode_frame(frame, frame.len()).ok()?;
    let payload = frame.get(format::RECORD_HEADER_LEN..header.frame_len())?;
    match Event::decode(header.seq, payload).ok()? {
        Event::Init(init) => Some(EmbedderInfo::new(init.embedder, init.dimension as usize)),
        _ => None,
    }
}

/// Stands in for the embedder a namespace was built with, for commands
/// that never embed: it has the recorded id and dimension and refuses to
/// embed.
#[derive(Debug)]
pub struct Recorded(pub EmbedderInfo);

impl Embedder for Recorded {
    fn info(&self) -> &EmbedderInfo {
        &self.0
    }

    fn embed_batch(&self, _texts: &[&str]) -> Result<Vec<Vec<f32>>, mnemo_embed::Error> {
        Err(mnemo_embed::Error::Inference {
            reason: format!(
                "this command does not load the embedder {} (pass --embedder to load it)",
                self.0.id
            ),
        })
    }
}
