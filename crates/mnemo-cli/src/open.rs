//! The options every engine command shares (`--data`, `--namespace`,
//! `--embedder`, `--json`) and opening a namespace with them: the embedder
//! chosen, a progress bar while the log is replayed, and plain-word errors
//! for the mistakes people make (a misspelt namespace, the wrong embedder).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mnemo::{MemoryId, Mnemo, Namespace, Options};
use mnemo_embed::Embedder;

use crate::embedder::{self, Choice, Recorded};

/// Where the data lives when `--data` is not given.
pub const DEFAULT_DATA: &str = "./mnemo-data";

/// Options shared by every command (they may come before or after the
/// command name).
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Directory holding the namespaces [default: ./mnemo-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Namespace to use (one user, agent or tenant).
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub namespace: String,
    /// Embedder [default: the namespace's own; hash for a new namespace;
    /// auto for `serve`, `embed`, `demo` and `eval`]. A namespace refuses any
    /// embedder but the one it was created with; `serve` gives this one to
    /// new namespaces and opens stored ones with their own.
    #[arg(long, global = true, value_enum)]
    pub embedder: Option<Choice>,
    /// Print JSON (one object, or one line per event) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The data key file (from `mnemo data-key new`) that encrypts the
    /// namespaces; else the environment's MNEMO_DATA_KEY_FILE, or
    /// MNEMO_DATA_KEY holding the key itself; else each namespace's key
    /// generated beside it.
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

impl Global {
    /// The data key given: `--key-file`, else `MNEMO_DATA_KEY_FILE`, else
    /// `MNEMO_DATA_KEY`; `None` when none is (namespaces then use the key
    /// generated beside them).
    pub fn data_key(&self) -> Result<Option<mnemo::DataKey>> {
        let file = self
            .key_file
            .clone()
            .or_else(|| std::env::var_os("MNEMO_DATA_KEY_FILE").map(PathBuf::from));
        if let Some(file) = file {
            return mnemo::DataKey::load(&file)
                .map(Some)
                .map_err(|e| anyhow!(e));
        }
        match std::env::var("MNEMO_DATA_KEY") {
            Ok(text) => mnemo::DataKey::parse(&text)
                .map(Some)
                .map_err(|e| anyhow!("MNEMO_DATA_KEY: {e}")),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(e) => bail!("MNEMO_DATA_KEY: {e}"),
        }
    }

    /// `options` with the data key given, if any.
    pub fn with_data_key(&self, mut options: Options) -> Result<Options> {
        if let Some(key) = self.data_key()? {
            options.data_key = mnemo::DataKeySource::Given(key);
        }
        Ok(options)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
    }
}

/// Whether namespace `name` exists under `data`.
pub fn exists(data: &Path, name: &str) -> bool {
    data.join(name).join("log").is_dir()
}

/// What a command does with its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Writes new content (`remember`, `import`): creates the namespace if
    /// needed and loads its embedder.
    Create,
    /// Embeds queries (`recall`): the namespace must exist; its embedder is
    /// loaded.
    Embed,
    /// Never embeds (`get`, `query`, `forget`, `link`, `stats`, ...): the
    /// namespace must exist; no model is loaded.
    Plain,
}

/// An open engine and namespace; [`Self::close`] writes the snapshot and
/// syncs the log.
pub struct Opened {
    /// The engine (the data directory).
    pub mnemo: Mnemo,
    /// The namespace.
    pub ns: Namespace,
}

impl Opened {
    /// Closes the namespace (snapshot written if events were replayed or
    /// written, log synced), reporting any error.
    pub fn close(self) -> Result<()> {
        self.mnemo.close()?;
        Ok(())
    }

    /// The memory `id`, or the plain error naming it.
    pub fn memory(&self, id: u64) -> Result<Arc<mnemo::Memory>> {
        self.ns
            .get(MemoryId(id))
            .ok_or_else(|| unknown_id(id, self.ns.name()))
    }
}

/// "no memory with id 42 in namespace default".
pub fn unknown_id(id: u64, namespace: &str) -> anyhow::Error {
    anyhow!("no memory with id {id} in namespace {namespace}")
}

/// Rewrites engine errors people cause into plain words.
pub fn explain(e: mnemo::Error) -> anyhow::Error {
    match e {
        mnemo::Error::UnknownId { namespace, id } => unknown_id(id, &namespace),
        mnemo::Error::Embed {
            namespace,
            source: mnemo_embed::Error::Mismatch { expected, found },
        } => {
            let hint = match Choice::for_id(&expected.id) {
                Some(c) => format!("run the command again with --embedder {}", c.flag()),
                None => format!("use an embedder with id {}", expected.id),
            };
            anyhow!(
                "namespace {namespace} was created with the embedder {} (dimension {}), \
                 but this command uses {} (dimension {}): {hint}",
                expected.id,
                expected.dimension,
                found.id,
                found.dimension
            )
        }
        mnemo::Error::Invalid {
            namespace,
            field,
            reason,
        } => anyhow!("invalid {field} in namespace {namespace}: {reason}"),
        other => anyhow::Error::new(other),
    }
}

/// Opens the namespace `global` names with `options` (their embedder
/// already chosen), showing a progress bar while the log is replayed.
pub fn open_with(global: &Global, access: Access, options: Options) -> Result<Opened> {
    mnemo::validate_namespace(&global.namespace).map_err(explain)?;
    let data = global.data_dir();
    if access != Access::Create && !exists(&data, &global.namespace) {
        let mnemo = (data.is_dir()).then(|| Mnemo::open(&data).ok()).flatten();
        let known = mnemo.map(|m| m.namespaces()).unwrap_or_default();
        let there = if known.is_empty() {
            format!("{} holds no namespaces yet", data.display())
        } else {
            format!("namespaces in {}: {}", data.display(), known.join(", "))
        };
        bail!(
            "no namespace {} in {} ({there}; `mnemo remember` or `mnemo import` creates one)",
            global.namespace,
            data.display()
        );
    }
    let mnemo = Mnemo::open_with(&data, global.with_data_key(options)?).map_err(explain)?;
    let bar: OnceCell<ProgressBar> = OnceCell::new();
    let progress = |done: u64, total: u64| {
        // A replay that finishes before the first report needs no bar.
        if bar.get().is_none() && done >= total {
            return;
        }
        let bar = bar.get_or_init(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(style("replaying the log"));
            bar
        });
        bar.set_position(done);
    };
    let opened = mnemo.namespace_with_progress(&global.namespace, Some(&progress));
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    let ns = opened.map_err(explain)?;
    for warning in &ns.open_report().warnings {
        eprintln!("warning: {warning}");
    }
    Ok(Opened { mnemo, ns })
}

/// Opens the namespace `global` names: with the embedder `--embedder`
/// names, else the one the namespace was created with (see
/// [`crate::embedder`]), else the hash embedder.
pub fn open(global: &Global, access: Access) -> Result<Opened> {
    open_tuned(global, access, |o| o)
}

/// [`open`], with the namespace's options adjusted by `tune` (a budget,
/// say) after the embedder is chosen.
pub fn open_tuned(
    global: &Global,
    access: Access,
    tune: impl FnOnce(Options) -> Options,
) -> Result<Opened> {
    let log_dir = global.data_dir().join(&global.namespace).join("log");
    let recorded = match global.embedder {
        Some(_) => None,
        None if mnemo::validate_namespace(&global.namespace).is_ok() => {
            embedder::recorded(&log_dir)
        }
        None => None,
    };
    let embedder: Arc<dyn Embedder> = match (global.embedder, recorded) {
        (Some(choice), _) => embedder::load(choice, false)?,
        (None, Some(info)) if access == Access::Plain => Arc::new(Recorded(info)),
        (None, Some(info)) => match Choice::for_id(&info.id) {
            Some(choice) => embedder::load(choice, false)?,
            None => bail!(
                "namespace {} was created with the embedder {}, which this build cannot load",
                global.namespace,
                info.id
            ),
        },
        (None, None) => embedder::load(Choice::Hash, false)?,
    };
    open_with(global, access, tune(Options::default().embedder(embedder)))
}

/// The progress bar style: `label [=====>   ] 1234/5000 (12s)`.
pub fn style(label: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{label} [{{bar:30}}] {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}
