//! The `rustdocs-minilm` dataset: real English sentences from the Rust
//! documentation that ships with the toolchain
//! (`$(rustc --print sysroot)/share/doc/rust/html`), embedded with
//! all-MiniLM-L6-v2.
//!
//! The sentences come from two rustup components that install there:
//!
//! - `rust-docs` (installed by default): the book, the reference, the
//!   standard library, Rust by Example (English pages only), the Cargo,
//!   rustc, rustdoc, edition, embedded, unstable and style books, the error
//!   index and the release notes: the prose of every page, the comments of
//!   its code examples, and the comments of the rendered standard library
//!   sources (`html/src`). This gives about 80,000 distinct sentences with
//!   rustc 1.95, short of the 101,000 the dataset needs;
//! - `rustc-docs` (into `html/rustc-docs`; the tool runs
//!   `rustup component add rustc-docs` when it is missing):
//!   the API documentation of the compiler, Cargo and the other tools, with
//!   their rendered sources, read the same way (about 95,000 more).
//!
//! Every sentence of `rust-docs` is taken, then sentences of `rustc-docs` in
//! a seeded random order until there are [`BASE_TARGET`] + [`QUERIES`]; those
//! are shuffled and the first [`QUERIES`] become the held-out queries. How
//! sentences are cut and which are kept is in [`sentences`]; how text is read
//! from pages and code in [`doc_text`]. `mnemo-bench dataset --extract-only`
//! prints the counts by origin and random samples without embedding anything.
//!
//! `mnemo-bench dataset` writes, to
//! `${XDG_CACHE_HOME:-~/.cache}/mnemo/datasets/rustdocs-minilm/` (outside the
//! repository):
//!
//! - `base.txt` and `base.vec`: the base set, one sentence per line and one
//!   vector per row (the format of [`crate::vecfile`]);
//! - `queries.txt` and `queries.vec`: [`QUERIES`] held-out sentences, none of
//!   which is in the base set;
//! - `manifest.json`: the counts (by origin too), embedder, toolchain and
//!   seed.
//!
//! [`ensure()`] returns the dataset and regenerates it when a file is missing,
//! does not match the manifest, or holds fewer than [`BASE_TARGET`] base
//! sentences (a dataset built by an older version of this tool).

mod doc_text;
mod sentences;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use mnemo_embed::{Embedder, MiniLm};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::vecfile::{self, Vectors};
use doc_text::{code_comments, element_texts, is_english, is_source_page, page_texts};
use sentences::{dedup_key, sentences_of};

/// Held-out query sentences.
pub const QUERIES: usize = 1_000;
/// Base sentences the vector benchmarks want at least.
pub const BASE_TARGET: usize = 100_000;
/// Seed of the shuffle that picks the queries.
const SEED: u64 = 0x5275_7374_446f_6373;
/// Sentences handed to the embedder at once (it sorts each batch by length).
const EMBED_BATCH: usize = 512;
/// What `manifest.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Dataset name.
    pub name: String,
    /// Embedder id and dimension.
    pub embedder: String,
    /// Vector dimension.
    pub dimension: usize,
    /// Rows of `base.vec` and lines of `base.txt`.
    pub base: usize,
    /// Rows of `queries.vec` and lines of `queries.txt`.
    pub queries: usize,
    /// The documentation directory read.
    pub source: String,
    /// Distinct sentences found there (the dataset holds `base + queries`
    /// of them; 0 in datasets built before this was recorded).
    #[serde(default)]
    pub found: usize,
    /// How many sentences of the dataset came from each origin (see
    /// [`Origin`]).
    #[serde(default)]
    pub origins: BTreeMap<String, usize>,
    /// `rustc --version` of that toolchain.
    pub rustc: String,
    /// Seed of the query shuffle.
    pub seed: u64,
    /// Seconds taken to build the dataset.
    pub build_seconds: f64,
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where it lives.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Base sentences.
    pub base_text: Vec<String>,
    /// Base vectors, row `i` for `base_text[i]`.
    pub base: Vectors,
    /// Query sentences.
    pub query_text: Vec<String>,
    /// Query vectors.
    pub queries: Vectors,
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/mnemo/datasets/rustdocs-minilm`.
pub fn default_dir() -> Result<PathBuf> {
    Ok(cache_dir()?.join("datasets/rustdocs-minilm"))
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/mnemo`: where datasets, models and the
/// Python peers' virtual environments live, outside the repository.
pub fn cache_dir() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(cache.join("mnemo"))
}

/// The dataset in `dir`, built first if it is missing or damaged (or if
/// `rebuild`).
pub fn ensure(dir: &Path, rebuild: bool) -> Result<Dataset> {
    if !rebuild {
        match load(dir) {
            Ok(d) if d.manifest.base >= BASE_TARGET => return Ok(d),
            Ok(d) => eprintln!(
                "rustdocs dataset in {}: {} base sentences, fewer than {BASE_TARGET}; building it again",
                dir.display(),
                d.manifest.base
            ),
            Err(e) => eprintln!("rustdocs dataset in {}: {e:#}; building it", dir.display()),
        }
    }
    build(dir)?;
    load(dir)
}

/// Loads the dataset from `dir`, checking every file against the manifest.
pub fn load(dir: &Path) -> Result<Dataset> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).context("reading manifest.json")?,
    )
    .context("parsing manifest.json")?;
    let lines = |name: &str| -> Result<Vec<String>> {
        let text =
            std::fs::read_to_string(dir.join(name)).with_context(|| format!("reading {name}"))?;
        Ok(text.lines().map(str::to_owned).collect())
    };
    let base_text = lines("base.txt")?;
    let query_text = lines("queries.txt")?;
    let base = vecfile::read(&dir.join("base.vec"))?;
    let queries = vecfile::read(&dir.join("queries.vec"))?;
    for (what, texts, vectors, count) in [
        ("base", &base_text, &base, manifest.base),
        ("queries", &query_text, &queries, manifest.queries),
    ] {
        ensure!(
            texts.len() == count
                && vectors.len() == count
                && vectors.dimension == manifest.dimension,
            "{what}: {} sentences and {} vectors of dimension {}, but the manifest says {count} of {}",
            texts.len(),
            vectors.len(),
            vectors.dimension,
            manifest.dimension
        );
    }
    Ok(Dataset {
        dir: dir.to_path_buf(),
        manifest,
        base_text,
        base,
        query_text,
        queries,
    })
}

/// Extracts, embeds and writes the dataset to `dir`.
pub fn build(dir: &Path) -> Result<Manifest> {
    let started = Instant::now();
    let sources = Sources::of_toolchain()?;
    sources.install_compiler_docs();
    eprintln!("reading sentences from {}", sources.docs.display());
    let extracted = extract(&sources)?;
    let found = extracted.sentences.len();
    eprintln!(
        "  {found} distinct sentences in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (mut sentences, origins) = select(extracted, &sources)?;
    let origins = Origin::ALL
        .iter()
        .map(|&o| {
            let n = origins.iter().filter(|&&x| x == o).count();
            (o.name().to_owned(), n)
        })
        .collect();
    let base_text = sentences.split_off(QUERIES);
    let query_text = sentences;

    let model = MiniLm::load_default()?;
    let info = model.info().clone();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, texts) in [("queries", &query_text), ("base", &base_text)] {
        let vectors = embed_all(&model, texts, name)?;
        vecfile::write(&dir.join(format!("{name}.vec")), info.dimension, &vectors)?;
        let mut text = texts.join("\n");
        text.push('\n');
        std::fs::write(dir.join(format!("{name}.txt")), text)
            .with_context(|| format!("writing {name}.txt"))?;
    }
    let manifest = Manifest {
        name: "rustdocs-minilm".to_owned(),
        embedder: info.to_string(),
        dimension: info.dimension,
        base: base_text.len(),
        queries: query_text.len(),
        source: sources.docs.display().to_string(),
        found,
        origins,
        rustc: sources.rustc,
        seed: SEED,
        build_seconds: started.elapsed().as_secs_f64(),
    };
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    std::fs::write(dir.join("manifest.json"), json).context("writing manifest.json")?;
    Ok(manifest)
}

/// The dataset's [`BASE_TARGET`] + [`QUERIES`] sentences, in the order that
/// puts the queries first, with their origins: every sentence of the
/// user documentation, then compiler documentation in a seeded random order
/// (see the module documentation). Fails, saying what to install, when there
/// are not enough.
fn select(extracted: Extracted, sources: &Sources) -> Result<(Vec<String>, Vec<Origin>)> {
    let needed = BASE_TARGET + QUERIES;
    let found = extracted.sentences.len();
    if found < needed {
        let hint = if sources.docs.join(COMPILER_DOCS).is_dir() {
            "this toolchain's documentation is smaller than expected".to_owned()
        } else {
            format!(
                "install the compiler's documentation with `rustup component add rustc-docs` \
                 (it goes to {})",
                sources.docs.join(COMPILER_DOCS).display()
            )
        };
        bail!(
            "only {found} distinct sentences found in {} ({}), but the dataset needs {needed} \
             ({BASE_TARGET} base sentences and {QUERIES} queries): {hint}; \
             `mnemo-bench dataset --extract-only` shows where they come from",
            sources.docs.display(),
            sources.rustc,
        );
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut order: Vec<usize> = (0..found).collect();
    order.shuffle(&mut rng);
    // Stable: the shuffled order stays within each tier.
    order.sort_by_key(|&i| extracted.origins[i].is_compiler());
    order.truncate(needed);
    order.shuffle(&mut rng);
    let origins = order.iter().map(|&i| extracted.origins[i]).collect();
    let mut sentences: Vec<Option<String>> = extracted.sentences.into_iter().map(Some).collect();
    let chosen = order
        .iter()
        .map(|&i| sentences[i].take().unwrap_or_default())
        .collect();
    Ok((chosen, origins))
}

/// Extracts the sentences without embedding them and prints how many there
/// are, where they came from and `samples` of them picked at random (only
/// from `origin` if given): a quick way to judge the extraction.
pub fn extract_report(samples: usize, origin: Option<Origin>, seed: u64) -> Result<()> {
    let started = Instant::now();
    let sources = Sources::of_toolchain()?;
    let extracted = extract(&sources)?;
    let total = extracted.sentences.len();
    println!(
        "{total} distinct sentences in {} ({}), extracted in {:.1} s",
        sources.docs.display(),
        sources.rustc,
        started.elapsed().as_secs_f64()
    );
    for o in Origin::ALL {
        println!("  {:>7}  {}", extracted.count(o), o.name());
    }
    let needed = BASE_TARGET + QUERIES;
    if total >= needed {
        println!("enough for the dataset ({needed} needed)");
    } else {
        println!("NOT enough for the dataset: {needed} needed");
    }
    let mut pool: Vec<usize> = (0..total)
        .filter(|&i| origin.is_none_or(|o| extracted.origins[i] == o))
        .collect();
    pool.shuffle(&mut StdRng::seed_from_u64(seed));
    for &i in pool.iter().take(samples) {
        println!(
            "[{}] {}",
            extracted.origins[i].name(),
            extracted.sentences[i]
        );
    }
    Ok(())
}

/// Where the sentences come from: the documentation of the active toolchain.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The HTML documentation, `share/doc/rust/html` of the sysroot.
    pub docs: PathBuf,
    /// `rustc --version` of that toolchain.
    pub rustc: String,
}

impl Sources {
    /// The documentation of the toolchain that `rustc` runs (the one the
    /// workspace's `rust-toolchain.toml` selects when run from it).
    pub fn of_toolchain() -> Result<Self> {
        let run = |arg: &str| -> Result<String> {
            let out = Command::new("rustc")
                .arg(arg)
                .output()
                .context("running rustc")?;
            ensure!(out.status.success(), "rustc {arg} failed");
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let docs = PathBuf::from(run("--print=sysroot")?).join("share/doc/rust/html");
        if !docs.is_dir() {
            bail!(
                "{} does not exist: install the documentation with `rustup component add rust-docs`",
                docs.display()
            );
        }
        Ok(Self {
            docs,
            rustc: run("--version")?,
        })
    }

    /// Installs the `rustc-docs` component with rustup when its pages are
    /// missing (the default toolchain profile leaves it out). A failure is
    /// reported and not fatal: [`select`] then says what is short.
    pub fn install_compiler_docs(&self) {
        if self.docs.join(COMPILER_DOCS).is_dir() {
            return;
        }
        eprintln!("  {COMPILER_DOCS} is not installed: running `rustup component add rustc-docs`");
        match Command::new("rustup")
            .args(["component", "add", "rustc-docs"])
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("  rustup component add rustc-docs failed ({status})"),
            Err(e) => eprintln!("  could not run rustup: {e}"),
        }
    }
}

fn embed_all(model: &MiniLm, texts: &[String], what: &str) -> Result<Vec<Vec<f32>>> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(texts.len());
    for (i, chunk) in texts.chunks(EMBED_BATCH).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(model.embed_batch(&refs)?);
        if i % 20 == 19 {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  {what}: {} / {} embedded, {:.0} sentences/s",
                out.len(),
                texts.len(),
                out.len() as f64 / secs
            );
        }
    }
    Ok(out)
}

/// Where a sentence was found (what `dataset --extract-only` counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Origin {
    /// Paragraphs, list items, table cells and the like of the user
    /// documentation's pages (`rust-docs`).
    Prose,
    /// Comments in the code examples of those pages.
    ExampleComment,
    /// Comments of the rendered standard library sources (`html/src`).
    SourceComment,
    /// The prose and example comments of the compiler's API documentation
    /// (`rustc-docs`).
    CompilerDocs,
    /// Comments of the compiler's rendered sources (`rustc-docs`).
    CompilerSource,
}

impl Origin {
    /// Every origin, in the order of the counts.
    pub const ALL: [Origin; 5] = [
        Origin::Prose,
        Origin::ExampleComment,
        Origin::SourceComment,
        Origin::CompilerDocs,
        Origin::CompilerSource,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Prose => "page prose",
            Origin::ExampleComment => "example comments",
            Origin::SourceComment => "std source comments",
            Origin::CompilerDocs => "compiler docs (rustc-docs)",
            Origin::CompilerSource => "compiler source comments (rustc-docs)",
        }
    }

    /// Whether it is the compiler's documentation, which only tops the
    /// dataset up.
    fn is_compiler(self) -> bool {
        matches!(self, Origin::CompilerDocs | Origin::CompilerSource)
    }
}

/// Where the `rustc-docs` component installs, below the HTML documentation.
const COMPILER_DOCS: &str = "rustc-docs";

/// The sentences of a documentation tree, each with where it was found.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Distinct sentences, in file order (files sorted by path).
    pub sentences: Vec<String>,
    /// `origins[i]` is where `sentences[i]` was first found.
    pub origins: Vec<Origin>,
    seen: HashSet<String>,
}

impl Extracted {
    fn add(&mut self, origin: Origin, text: &str) {
        for s in sentences_of(text) {
            if self.seen.insert(dedup_key(&s)) {
                self.sentences.push(s);
                self.origins.push(origin);
            }
        }
    }

    /// How many sentences came from `origin`.
    pub fn count(&self, origin: Origin) -> usize {
        self.origins.iter().filter(|&&o| o == origin).count()
    }
}

/// The HTML files below `dir`, sorted by path.
fn html_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every distinct sentence of the HTML pages below `sources.docs`, in file
/// order (files sorted by path): the user documentation, then the compiler's
/// if installed.
pub fn extract(sources: &Sources) -> Result<Extracted> {
    let compiler = sources.docs.join(COMPILER_DOCS);
    let mut files = html_files(&sources.docs)?;
    files.sort_by_key(|f| f.starts_with(&compiler));
    let mut out = Extracted::default();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let html = String::from_utf8_lossy(&bytes);
        if !is_english(&html) {
            continue;
        }
        let of_compiler = file.starts_with(&compiler);
        if is_source_page(&html) {
            let origin = if of_compiler {
                Origin::CompilerSource
            } else {
                Origin::SourceComment
            };
            element_texts(&html, "pre", &mut |t| {
                code_comments(t, true, &mut |c| out.add(origin, c));
            });
        } else {
            let (prose, examples) = if of_compiler {
                (Origin::CompilerDocs, Origin::CompilerDocs)
            } else {
                (Origin::Prose, Origin::ExampleComment)
            };
            page_texts(&html, &mut |t| out.add(prose, t));
            element_texts(&html, "pre", &mut |t| {
                code_comments(t, false, &mut |c| out.add(examples, c));
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extracted(user: usize, compiler: usize) -> Extracted {
        let mut e = Extracted::default();
        for i in 0..user + compiler {
            let origin = if i < user {
                Origin::Prose
            } else {
                Origin::CompilerSource
            };
            e.add(origin, &format!("Sentence number {i} is here."));
        }
        e
    }

    #[test]
    fn selection_takes_user_docs_first_and_fails_when_short() {
        let sources = Sources {
            docs: PathBuf::from("/nonexistent"),
            rustc: "rustc test".to_owned(),
        };
        let needed = BASE_TARGET + QUERIES;
        let (chosen, origins) =
            select(extracted(needed - 10, 50), &sources).expect("enough sentences");
        assert_eq!(chosen.len(), needed);
        let compiler = origins.iter().filter(|o| o.is_compiler()).count();
        assert_eq!(compiler, 10, "every user sentence, then the top-up");
        let distinct: HashSet<&String> = chosen.iter().collect();
        assert_eq!(distinct.len(), needed);

        let err = select(extracted(needed - 10, 5), &sources).expect_err("too few");
        let message = format!("{err:#}");
        assert!(
            message.contains("rustup component add rustc-docs"),
            "{message}"
        );
    }
}
