//! The `rustdocs-minilm` dataset: real English sentences from the Rust
//! documentation that ships with the toolchain
//! (`$(rustc --print sysroot)/share/doc/rust/html`: the book, the reference,
//! the standard library and every other book there, plus the comments of
//! the rendered standard library sources), embedded with all-MiniLM-L6-v2.
//!
//! `mnemo-bench dataset` writes, to
//! `${XDG_CACHE_HOME:-~/.cache}/mnemo/datasets/rustdocs-minilm/` (outside the
//! repository):
//!
//! - `base.txt` and `base.vec`: the base set, one sentence per line and one
//!   vector per row (the format of [`crate::vecfile`]);
//! - `queries.txt` and `queries.vec`: [`QUERIES`] held-out sentences, none of
//!   which is in the base set;
//! - `manifest.json`: the counts, embedder, toolchain and seed.
//!
//! [`ensure`] returns the dataset and regenerates it when a file is missing or
//! does not match the manifest. Sentences are distinct, whitespace-normalised,
//! 3 to 80 words long (typographic quotes made plain; two sentences that
//! differ only in case, punctuation or markup count once), start with a letter or digit, and either end like a
//! sentence (`.`, `!`, `?`, `:`) or read as a plain clause of at least five
//! words; lines that are mostly code are left out.

use std::collections::HashSet;
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

/// Held-out query sentences.
pub const QUERIES: usize = 1_000;
/// Base sentences the vector benchmarks want at least.
pub const BASE_TARGET: usize = 100_000;
/// Seed of the shuffle that picks the queries.
const SEED: u64 = 0x5275_7374_446f_6373;
/// Sentences handed to the embedder at once (it sorts each batch by length).
const EMBED_BATCH: usize = 512;
/// Elements whose text is read from the documentation pages.
const TEXT_ELEMENTS: [&str; 5] = ["p", "li", "td", "dd", "blockquote"];

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
            Ok(d) => return Ok(d),
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
    let (docs, rustc) = docs_dir()?;
    eprintln!("reading sentences from {}", docs.display());
    let mut sentences = extract_dir(&docs)?;
    eprintln!(
        "  {} distinct sentences in {:.1} s",
        sentences.len(),
        started.elapsed().as_secs_f64()
    );
    ensure!(
        sentences.len() > QUERIES,
        "only {} sentences found in {}",
        sentences.len(),
        docs.display()
    );
    if sentences.len() < BASE_TARGET + QUERIES {
        eprintln!(
            "  warning: fewer than {} sentences: the base set will hold {}",
            BASE_TARGET + QUERIES,
            sentences.len() - QUERIES
        );
    }
    sentences.shuffle(&mut StdRng::seed_from_u64(SEED));
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
        source: docs.display().to_string(),
        rustc,
        seed: SEED,
        build_seconds: started.elapsed().as_secs_f64(),
    };
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    std::fs::write(dir.join("manifest.json"), json).context("writing manifest.json")?;
    Ok(manifest)
}

/// The toolchain's HTML documentation and its `rustc --version`.
fn docs_dir() -> Result<(PathBuf, String)> {
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
    Ok((docs, run("--version")?))
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

/// Every distinct sentence of the HTML files below `docs`, in file order
/// (files sorted by path).
pub fn extract_dir(docs: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![docs.to_path_buf()];
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
    let src = docs.join("src");
    let mut seen = HashSet::new();
    let mut sentences = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let html = String::from_utf8_lossy(&bytes);
        let mut add = |text: &str| {
            for s in sentences_of(text) {
                if seen.insert(dedup_key(&s)) {
                    sentences.push(s);
                }
            }
        };
        if file.starts_with(&src) {
            source_comments(&html, &mut add);
        } else {
            for element in TEXT_ELEMENTS {
                element_texts(&html, element, &mut add);
            }
        }
    }
    Ok(sentences)
}

/// What two sentences must differ in to count as distinct: their letters and
/// digits, ignoring case, so that sentences differing only in quotes,
/// punctuation or markup count once.
fn dedup_key(sentence: &str) -> String {
    sentence
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Calls `f` with the text (tags removed, entities decoded) inside every
/// `<name ...>...</name>` of `html`.
fn element_texts(html: &str, name: &str, f: &mut impl FnMut(&str)) {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<p>` or `<p class=...>`, not `<pre>`.
        if !after.starts_with(['>', ' ', '\n']) {
            rest = after;
            continue;
        }
        let Some(body_at) = after.find('>') else {
            break;
        };
        let body = &after[body_at + 1..];
        let Some(end) = body.find(&close) else { break };
        f(&plain_text(&body[..end]));
        rest = &body[end + close.len()..];
    }
}

/// Calls `f` with every run of consecutive `//` comment lines of a rendered
/// source file, joined into one text.
fn source_comments(html: &str, f: &mut impl FnMut(&str)) {
    let text = plain_text(html);
    let mut run = String::new();
    for line in text.lines() {
        // Rendered sources start each line with its number.
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim();
        if let Some(comment) = line.strip_prefix("//") {
            let comment = comment.trim_start_matches(['/', '!']).trim();
            if !comment.is_empty() {
                run.push_str(comment);
                run.push(' ');
                continue;
            }
        }
        if !run.is_empty() {
            f(&run);
            run.clear();
        }
    }
    if !run.is_empty() {
        f(&run);
    }
}

/// `html` without tags, with the usual entities decoded.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        decode_entities(&rest[..lt], &mut out);
        match rest[lt..].find('>') {
            Some(gt) => rest = &rest[lt + gt + 1..],
            None => {
                rest = "";
            }
        }
    }
    decode_entities(rest, &mut out);
    out
}

fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let entity = tail
            .find(';')
            .filter(|&semi| semi <= 10)
            .map(|semi| &tail[1..semi]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &tail[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The sentences of a text that pass the dataset's filter (see the module
/// documentation).
fn sentences_of(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..words.len() {
        let w = words[i];
        let ends = w.ends_with(['.', '!', '?', ':'])
            && !matches!(w, "e.g." | "i.e." | "etc." | "vs." | "cf.")
            && words.get(i + 1).is_none_or(|next| {
                next.starts_with(|c: char| c.is_ascii_alphabetic() || c == '"' || c == '(')
            });
        if ends || i + 1 == words.len() {
            let sentence: String = words[start..=i]
                .join(" ")
                .chars()
                .filter(|&c| c != '`')
                .map(|c| match c {
                    '‘' | '’' => '\'',
                    '“' | '”' => '"',
                    c => c,
                })
                .collect();
            if is_sentence(&sentence) {
                out.push(sentence);
            }
            start = i + 1;
        }
    }
    out
}

fn is_sentence(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    if !(3..=80).contains(&words.len()) || s.contains("Copy item path") || s.contains("Redirecting")
    {
        return false;
    }
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !first.is_alphanumeric() {
        return false;
    }
    let chars = s.chars().count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    let plain = words.iter().filter(|w| is_plain_word(w)).count();
    if letters * 2 <= chars || plain * 2 < words.len() {
        return false;
    }
    let title_case = words
        .iter()
        .all(|w| !w.starts_with(char::is_alphabetic) || w.starts_with(char::is_uppercase));
    s.ends_with(['.', '!', '?', ':'])
        || (words.len() >= 5 && first.is_uppercase() && plain * 5 >= words.len() * 4 && !title_case)
}

/// A word of prose: optional opening bracket or quote, a letter, then
/// lower-case letters, apostrophes or hyphens, then closing punctuation.
fn is_plain_word(w: &str) -> bool {
    let w = w.trim_start_matches(['(', '"', '\'']);
    let w = w.trim_end_matches([',', '.', ';', ':', '!', '?', ')', '"', '\'']);
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_lowercase() || matches!(c, '\'' | '’' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_filters_sentences() {
        let text = "Returns the length of the vector. It never panics, e.g. on empty input. \
                    fn len(&self) -> usize Some(x) = foo(); ok";
        assert_eq!(
            sentences_of(text),
            [
                "Returns the length of the vector.",
                "It never panics, e.g. on empty input."
            ]
        );
        assert!(sentences_of("Function _mm_foo Copy item path").is_empty());
        assert_eq!(
            sentences_of("It prints “Aborted” here."),
            ["It prints \"Aborted\" here."]
        );
        assert_eq!(dedup_key("It's `Vec`: fine."), dedup_key("its vec fine"));
        assert!(
            sentences_of("Vector Find Any Element").is_empty(),
            "title, not a sentence"
        );
        assert_eq!(
            sentences_of("The stabilized version of this intrinsic is log2"),
            ["The stabilized version of this intrinsic is log2"]
        );
    }

    #[test]
    fn reads_elements_and_source_comments() {
        let html = "<pre>x</pre><p class=\"a\">A <code>Vec</code> grows &amp; shrinks as needed.</p>\
                    <li>Lists hold items in order.</li>";
        let mut got = Vec::new();
        for e in TEXT_ELEMENTS {
            element_texts(html, e, &mut |t| got.extend(sentences_of(t)));
        }
        assert_eq!(
            got,
            [
                "A Vec grows & shrinks as needed.",
                "Lists hold items in order."
            ]
        );

        let src = "<a href=#1 id=1 data-nosnippet>1</a>//! Buffers bytes until the writer\n\
                   <a href=#2 id=2 data-nosnippet>2</a>//! is flushed by its owner.\n\
                   <a href=#3 id=3 data-nosnippet>3</a>fn main() {}\n";
        let mut got = Vec::new();
        source_comments(src, &mut |t| got.extend(sentences_of(t)));
        assert_eq!(
            got,
            ["Buffers bytes until the writer is flushed by its owner."]
        );
        assert_eq!(
            plain_text("a &lt;b&gt; &#39;c&#x27; &bogus; &"),
            "a <b> 'c' &bogus; &"
        );
    }
}
