//! Planning consolidation: related episodic memories grouped and summarised
//! extractively into planned semantic memories. A pure function ([`plan`]):
//! no I/O, no threads, no clock, no randomness; the caller writes the plans.
//!
//! # Grouping
//!
//! Episodes are taken in id order (duplicate ids: one is kept, the same
//! whatever the input order). Two episodes are **related** when the cosine
//! of their vectors is at least [`ConsolidationParams::similarity`], or when
//! they name the same *distinctive* entity and their cosine is at least
//! `similarity −` [`ENTITY_RELIEF`] (0.15). An entity is distinctive when
//! two or more episodes name it, but at most half of them and at most
//! `max_group` (a name every memory carries, such as the user's own, links
//! nothing). A vector that is empty, zero, or holds a NaN or an infinity,
//! and two vectors of different lengths, have cosine 0.
//!
//! Groups grow from seeds, the episodes with the most relations first (ties:
//! smaller id). A seed gathers its ungrouped relations (its *star*, at most
//! `2 × max_group` of them, the most similar), then members related to
//! fewer than half of the others are dropped one at a time (fewest
//! relations first), so a group is not a chain; then ungrouped episodes
//! related to at least half of the group join it (one pass). A group larger
//! than `max_group` keeps its `max_group` most central members (cosine to
//! the group's mean vector; ties: smaller id) and the others stay free for
//! later seeds. A group smaller than `min_group` is not formed.
//!
//! # Summaries
//!
//! Sources are split into sentences (at `.`, `!`, `?` and `…` before a space,
//! at `。！？` and at line breaks; not after `Dr.`, `Mr.`, single letters or
//! month abbreviations). A sentence scores its TF-IDF cosine (stemmed,
//! stop-word-free terms from [`crate::text`], IDF over the episodes of the
//! call) with the group's centroid (the mean of its sources' unit TF-IDF
//! vectors), times 1.2 if it names one of the group's entities and 1.1 if it
//! names a date. The best `max_sentences` are taken, skipping a sentence
//! whose terms overlap a taken one's by [`NEAR_DUPLICATE`] (Jaccard) or
//! more, and are written in time order (their source's `at`). Then a line
//! `Entities: A, B. Dates: 7 May 2023, June.` follows when there are any
//! and it fits. If the sentences exceed `max_summary_bytes`, the weakest are
//! dropped, and a lone sentence is cut at a word (or character) boundary and
//! ends with `…`.
//!
//! Entities are capitalised words or phrases (`Lisbon`, `Rye Bakery`,
//! `Leonardo da Vinci`; at most six words) without leading or trailing stop
//! words and sentence openers (`The`, `Yesterday`), month or weekday names,
//! or possessive endings (`Ana's` is `Ana`). One at the start of a sentence
//! counts only if it is also written capitalised inside a sentence of the
//! call, or starts sentences in two episodes (and, for one word, never
//! appears in lower case). Dates are ISO dates (`2023-05-07`, `2023-05`),
//! `7 May 2023`, `May 7, 2023`, `7th of May`, `May 2023`, a month name
//! (not a sentence-initial `May`), a year from 1900 to 2199, a weekday and
//! clock times (`10:30`, `5am`, `3 pm`), written in one form (`7 May 2023`).
//!
//! # Cost
//!
//! Episodes are processed in chunks of [`CHUNK`] (4,096) in id order: the
//! caller should pass at most a few thousand at a time (episodes in
//! different chunks are never grouped together). Within a chunk of `n`
//! episodes of dimension `d` and `c` content bytes, time is
//! `O(n² · d + c)` plus the seeding, `O(n² / 64)` per seed that forms or
//! tries a group, and memory is `O(n · d + c)` plus an `n × n` bit matrix
//! (2 MiB at 4,096). For `n = 4,096`, `d = 384`, that is about 8 million
//! cosines: 1.8 s on one core of a shared 2-vCPU machine (opt-level 2).
//! Call it off the write path. Worst case, with `min_group` and
//! `max_group` both large, failed seeds add up to `O(n³ / 64)` bit work.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::calendar::{days_in_month, month_from_name};
use crate::model::{MemoryId, Timestamp};
use crate::rfc3339;
use crate::text::{Tokenizer, is_stop_word};

/// Episodes planned together at most; more are planned in chunks of this
/// many, in id order.
pub const CHUNK: usize = 4096;
/// How much lower the cosine of two episodes naming the same distinctive
/// entity may be than [`ConsolidationParams::similarity`].
pub const ENTITY_RELIEF: f32 = 0.15;
/// Entities in a [`Planned`] at most.
pub const MAX_ENTITIES: usize = 8;
/// Dates named in the sources a [`Planned`] keeps at most (its time span
/// comes on top).
pub const MAX_DATES: usize = 8;
/// The smallest [`ConsolidationParams::max_summary_bytes`] accepted.
pub const MIN_SUMMARY_BYTES: usize = 32;
/// Term overlap (Jaccard) at which a sentence is a near-duplicate of one
/// already in the summary.
pub const NEAR_DUPLICATE: f32 = 0.6;

/// Words in an entity phrase at most (longer capitalised runs are titles
/// or shouting, not names).
const MAX_ENTITY_WORDS: usize = 6;
/// Bytes in an entity phrase at most.
const MAX_ENTITY_BYTES: usize = 64;
/// Score factor of a sentence naming one of the group's entities.
const ENTITY_BONUS: f32 = 1.2;
/// Score factor of a sentence naming a date.
const DATE_BONUS: f32 = 1.1;

/// One candidate memory as the planner sees it.
#[derive(Debug, Clone, Copy)]
pub struct Episode<'a> {
    /// The memory's id.
    pub id: MemoryId,
    /// Its text.
    pub content: &'a str,
    /// Its tags.
    pub tags: &'a [String],
    /// Its source (a session, a channel), if any.
    pub source: Option<&'a str>,
    /// Its event time.
    pub at: Timestamp,
    /// Its embedding (compared by cosine; need not be unit length).
    pub vector: &'a [f32],
}

/// Tuning of [`plan`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsolidationParams {
    /// Cosine at or above which two episodes are related, in [0, 1]
    /// (default 0.55; see [`Default`]).
    pub similarity: f32,
    /// Members a group needs at least, 2 or more (default 3).
    pub min_group: usize,
    /// Members a group has at most, at least `min_group` (default 64).
    pub max_group: usize,
    /// Sentences in a summary at most, 1 or more (default 3).
    pub max_sentences: usize,
    /// Bytes of a summary at most, [`MIN_SUMMARY_BYTES`] or more (default
    /// 2,048).
    pub max_summary_bytes: usize,
}

impl Default for ConsolidationParams {
    /// `similarity` 0.55: with sentence embedders such as all-MiniLM-L6-v2
    /// (the engine's model), texts on one topic score about 0.5 to 0.8 and
    /// unrelated ones below 0.3, so 0.55 joins same-topic memories without
    /// joining merely same-domain ones; with the entity relief a shared
    /// distinctive name joins at 0.40. With the model-free hash embedder,
    /// cosine tracks shared words, and 0.55 asks for much overlap: lower it
    /// there. `min_group` 3: a pair is a repetition, three sessions are a
    /// pattern worth a summary. `max_group` 64: a summary of a few sentences
    /// cannot stand for more. `max_sentences` 3 and `max_summary_bytes`
    /// 2,048: a summary short enough to embed and read whole.
    fn default() -> Self {
        Self {
            similarity: 0.55,
            min_group: 3,
            max_group: 64,
            max_sentences: 3,
            max_summary_bytes: 2048,
        }
    }
}

impl ConsolidationParams {
    /// Checks every field; the message starts with the field's name.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.similarity) {
            return Err(format!(
                "similarity: {} is not a number in [0, 1]",
                self.similarity
            ));
        }
        if self.min_group < 2 {
            return Err(format!("min_group: {} is below 2", self.min_group));
        }
        if self.max_group < self.min_group {
            return Err(format!(
                "max_group: {} is below min_group ({})",
                self.max_group, self.min_group
            ));
        }
        if self.max_sentences == 0 {
            return Err("max_sentences: 0 is below 1".to_owned());
        }
        if self.max_summary_bytes < MIN_SUMMARY_BYTES {
            return Err(format!(
                "max_summary_bytes: {} is below {MIN_SUMMARY_BYTES}",
                self.max_summary_bytes
            ));
        }
        Ok(())
    }
}

/// One planned semantic memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The episodes it consolidates: ascending, distinct, `min_group` to
    /// `max_group` of them.
    pub sources: Vec<MemoryId>,
    /// The extractive summary: non-empty, at most `max_summary_bytes`.
    pub content: String,
    /// Entities named by two or more of the sources, those named by most
    /// sources first (ties: more mentions, then alphabetical), at most
    /// [`MAX_ENTITIES`].
    pub entities: Vec<String>,
    /// Dates and times the sources name (at most [`MAX_DATES`], in the order
    /// the sources name them, sources in time order), then the first and
    /// last day of the sources' `at` as RFC 3339 dates (`2023-05-07`; one
    /// if they fall on the same day).
    pub dates: Vec<String>,
    /// The earliest `at` of the sources.
    pub from: Timestamp,
    /// The latest `at` of the sources.
    pub until: Timestamp,
    /// Tags at least half of the sources carry, sorted.
    pub tags: Vec<String>,
    /// The source every episode shares, if they share one.
    pub source: Option<String>,
    /// Mean cosine of the sources' vectors to their mean vector, in
    /// [-1, 1] (0 for sources without a usable vector): how tight the
    /// group is.
    pub cohesion: f32,
}

/// Plans the consolidation of `episodes` (see the module docs): the groups
/// found, sorted by their smallest source id. Deterministic and independent
/// of the order of `episodes`. No episodes, nothing related, or `params`
/// that fail [`ConsolidationParams::validate`] give no plans.
pub fn plan(episodes: &[Episode<'_>], params: &ConsolidationParams) -> Vec<Planned> {
    if episodes.is_empty() || params.validate().is_err() {
        return Vec::new();
    }
    let mut sorted: Vec<&Episode<'_>> = episodes.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| same_id_order(a, b)));
    sorted.dedup_by_key(|e| e.id);
    let mut out = Vec::new();
    for chunk in sorted.chunks(CHUNK) {
        out.extend(plan_chunk(chunk, params));
    }
    out.sort_by_key(|p| p.sources.first().copied());
    out
}

/// A total order of episodes that share an id, so which one is kept does
/// not depend on the input order.
fn same_id_order(a: &Episode<'_>, b: &Episode<'_>) -> std::cmp::Ordering {
    a.at.cmp(&b.at)
        .then_with(|| a.content.cmp(b.content))
        .then_with(|| a.tags.cmp(b.tags))
        .then_with(|| a.source.cmp(&b.source))
        .then_with(|| {
            a.vector
                .iter()
                .zip(b.vector)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(a.vector.len().cmp(&b.vector.len()))
        })
}

// ---------------------------------------------------------------------------
// Vectors

/// `v` scaled to unit length, or `None` when it is empty, zero or not finite.
fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let mut squares = 0f64;
    for &x in v {
        if !x.is_finite() {
            return None;
        }
        squares += f64::from(x) * f64::from(x);
    }
    let norm = squares.sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    Some(v.iter().map(|&x| (f64::from(x) / norm) as f32).collect())
}

/// The dot product (0 for different lengths), in a fixed summation order.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((lane, p), q) in lanes.iter_mut().zip(x).zip(y) {
            *lane += p * q;
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for (p, q) in ra.iter().zip(rb) {
        sum += p * q;
    }
    if sum.is_finite() { sum } else { 0.0 }
}

fn cosine(a: Option<&[f32]>, b: Option<&[f32]>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => dot(a, b),
        _ => 0.0,
    }
}

/// A square bit matrix (the relation) or, with one row, a bit set.
struct Bits {
    row_words: usize,
    words: Vec<u64>,
}

impl Bits {
    fn new(rows: usize, columns: usize) -> Self {
        let row_words = columns.div_ceil(64);
        Self {
            row_words,
            words: vec![0; rows.saturating_mul(row_words)],
        }
    }

    fn set(&mut self, row: usize, column: usize, on: bool) {
        let at = row * self.row_words + column / 64;
        if let Some(word) = self.words.get_mut(at) {
            let bit = 1u64 << (column % 64);
            if on {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    fn get(&self, row: usize, column: usize) -> bool {
        self.words
            .get(row * self.row_words + column / 64)
            .is_some_and(|w| w & (1u64 << (column % 64)) != 0)
    }

    fn row(&self, row: usize) -> &[u64] {
        let start = row * self.row_words;
        self.words
            .get(start..start + self.row_words)
            .unwrap_or_default()
    }
}

/// Bits set in both.
fn common(a: &[u64], b: &[u64]) -> usize {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x & y).count_ones() as usize)
        .sum()
}

/// The indices of the bits set in both, ascending.
fn common_indices(a: &[u64], b: &[u64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (w, (x, y)) in a.iter().zip(b).enumerate() {
        let mut bits = x & y;
        while bits != 0 {
            out.push(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Text: sentences, words, entities, dates

/// Words that never start a sentence-ending `.`: titles, initials and
/// month abbreviations (compared in lower case).
const ABBREVIATIONS: [&str; 19] = [
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "mt", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept",
];

/// Capitalised words that open sentences but name nothing (lower case;
/// stop words are dropped anyway).
const OPENERS: [&str; 44] = [
    "today",
    "yesterday",
    "tomorrow",
    "tonight",
    "also",
    "yes",
    "yeah",
    "last",
    "next",
    "still",
    "maybe",
    "finally",
    "however",
    "well",
    "ok",
    "okay",
    "thanks",
    "thank",
    "please",
    "hi",
    "hello",
    "hey",
    "oh",
    "really",
    "actually",
    "anyway",
    "lately",
    "recently",
    "everyone",
    "everything",
    "something",
    "someone",
    "nothing",
    "sure",
    "great",
    "wow",
    "first",
    "later",
    "earlier",
    "sometimes",
    "usually",
    "although",
    "though",
    "since",
];

/// Lower-case words that may join capitalised words into one name
/// (`Bank of America`, `Leonardo da Vinci`).
const CONNECTORS: [&str; 12] = [
    "of", "de", "da", "di", "du", "van", "von", "der", "den", "del", "la", "le",
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Whether `summary` (a consolidated memory's text) quotes `source`: one of
/// its sentences is a sentence of `source`, or, cut short and ending with
/// `…`, begins one. The sentences are split and tidied (white space runs
/// as one space, a final `.` where none ends them) as for the summaries.
pub fn quotes(summary: &str, source: &str) -> bool {
    let sentences = |text: &'_ str| -> Vec<String> {
        split_sentences(text)
            .into_iter()
            .filter_map(|(from, to)| text.get(from..to).map(tidy))
            .collect()
    };
    let quoted = sentences(source);
    sentences(summary)
        .iter()
        .any(|s| match s.strip_suffix('…') {
            Some(cut) if !cut.trim().is_empty() => {
                quoted.iter().any(|q| q.starts_with(cut.trim_end()))
            }
            _ => quoted.iter().any(|q| q == s),
        })
}

/// The byte ranges of the sentences of `text` (trimmed, non-blank).
fn split_sentences(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let push = |from: usize, to: usize, out: &mut Vec<(usize, usize)>| {
        if let Some(s) = text.get(from..to) {
            let lead = s.len() - s.trim_start().len();
            let trail = s.len() - s.trim_end().len();
            if lead + trail < s.len() {
                out.push((from + lead, to - trail));
            }
        }
    };
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if c == '\n' || c == '\r' {
            push(start, at, &mut out);
            start = at + c.len_utf8();
            i += 1;
            continue;
        }
        let wide = matches!(c, '。' | '！' | '？');
        if !(wide || matches!(c, '.' | '!' | '?' | '…')) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while chars
            .get(j)
            .is_some_and(|&(_, d)| matches!(d, '.' | '!' | '?' | '…' | '。' | '！' | '？'))
        {
            j += 1;
        }
        while chars
            .get(j)
            .is_some_and(|&(_, d)| matches!(d, '"' | '\'' | '”' | '’' | ')' | ']'))
        {
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
        let spaced = chars.get(j).is_none_or(|&(_, d)| d.is_whitespace());
        let abbreviated = c == '.' && j == i + 1 && abbreviation_before(text, at);
        if (spaced || wide) && !abbreviated {
            push(start, end, &mut out);
            start = end;
        }
        i = j;
    }
    push(start, text.len(), &mut out);
    out
}

/// Whether the word ending at byte `dot` is an abbreviation or an initial.
fn abbreviation_before(text: &str, dot: usize) -> bool {
    let Some(before) = text.get(..dot) else {
        return false;
    };
    let word_start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !c.is_alphabetic())
        .map_or(0, |(b, c)| b + c.len_utf8());
    let word = before.get(word_start..).unwrap_or_default();
    let letters = word.chars().count();
    letters == 1 || (letters > 1 && ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word)))
}

/// A word of a sentence: letters and digits, with inner `-` or apostrophes.
struct Word<'t> {
    text: &'t str,
    /// Byte offset of its end in the sentence.
    end: usize,
    /// What separates it from the word before (empty at the start).
    gap: &'t str,
}

impl Word<'_> {
    /// Separated from the word before by white space only.
    fn spaced(&self) -> bool {
        self.gap.trim().is_empty()
    }

    /// Separated from the word before by white space and at most a comma.
    fn listed(&self) -> bool {
        matches!(self.gap.trim(), "" | ",")
    }
}

fn words(sentence: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut iter = sentence.char_indices().peekable();
    let mut last_end = 0;
    while let Some((start, c)) = iter.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(at, d)) = iter.peek() {
            if d.is_alphanumeric() {
                end = at + d.len_utf8();
                iter.next();
            } else if matches!(d, '-' | '\'' | '’')
                && sentence
                    .get(at + d.len_utf8()..)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(char::is_alphanumeric)
            {
                iter.next();
            } else {
                break;
            }
        }
        out.push(Word {
            text: sentence.get(start..end).unwrap_or_default(),
            end,
            gap: sentence.get(last_end..start).unwrap_or_default(),
        });
        last_end = end;
    }
    out
}

/// `word` without a possessive or contraction ending (`Ana's` → `Ana`), and
/// whether one was cut.
fn strip_clitic(word: &str) -> (&str, bool) {
    if let Some(at) = word.rfind(['\'', '’']) {
        let (head, tail) = word.split_at(at);
        let tail = tail.trim_start_matches(['\'', '’']);
        if ["s", "m", "d", "ll", "re", "ve", "t"]
            .iter()
            .any(|e| e.eq_ignore_ascii_case(tail))
        {
            return (head, true);
        }
    }
    (word, false)
}

fn month_index(word: &str, abbreviated: bool) -> Option<u32> {
    if !word.chars().next().is_some_and(char::is_uppercase) {
        return None;
    }
    let m = month_from_name(word)?;
    let full = MONTHS.get(m as usize - 1)?;
    (abbreviated || full.len() == word.len()).then_some(m)
}

fn weekday(word: &str) -> Option<&'static str> {
    if !word.chars().next().is_some_and(char::is_uppercase) {
        return None;
    }
    let word = word.strip_suffix('s').unwrap_or(word);
    WEEKDAYS
        .iter()
        .find(|d| d.eq_ignore_ascii_case(word))
        .copied()
}

/// Whether a capitalised word can be part of a name.
fn name_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    word.chars().next().is_some_and(char::is_uppercase)
        && !is_stop_word(&lower)
        && !OPENERS.contains(&lower.as_str())
        && month_index(word, false).is_none()
        && weekday(word).is_none()
}

/// The entity phrases of a sentence, each with whether it starts the
/// sentence.
fn entity_phrases(words: &[Word<'_>]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let Some(first) = words.get(i) else { break };
        let (head, cut) = strip_clitic(first.text);
        if !name_word(head) {
            i += 1;
            continue;
        }
        let begin = i;
        let mut parts = vec![head];
        let mut j = i + 1;
        let mut ended = cut;
        while !ended {
            let Some(next) = words.get(j) else { break };
            if !next.spaced() {
                break;
            }
            let (word, cut) = strip_clitic(next.text);
            if name_word(word) {
                parts.push(word);
                ended = cut;
                j += 1;
                continue;
            }
            let joins = CONNECTORS.contains(&next.text)
                && words
                    .get(j + 1)
                    .is_some_and(|after| after.spaced() && name_word(strip_clitic(after.text).0));
            if !joins {
                break;
            }
            parts.push(next.text);
            j += 1;
        }
        i = j.max(begin + 1);
        let phrase = parts.join(" ");
        if parts.len() <= MAX_ENTITY_WORDS && phrase.len() <= MAX_ENTITY_BYTES {
            out.push((phrase, begin == 0));
        }
    }
    out
}

fn day_number(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .unwrap_or(&lower);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year_number(word: &str) -> Option<i64> {
    if word.len() != 4 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok().filter(|y| (1900..=2199).contains(y))
}

fn day_month(day: u32, month: u32, year: Option<i64>) -> Option<String> {
    // Without a year, 29 February is allowed (2000 was a leap year).
    if day > days_in_month(year.unwrap_or(2000), month) {
        return None;
    }
    let name = MONTHS.get(month as usize - 1)?;
    Some(match year {
        Some(y) => format!("{day} {name} {y}"),
        None => format!("{day} {name}"),
    })
}

/// `2023-05-07` or `2023-05`, as `7 May 2023` or `May 2023`.
fn iso_date(word: &str) -> Option<String> {
    let mut parts = word.split('-');
    let year = year_number(parts.next()?)?;
    let month_text = parts.next()?;
    if month_text.len() != 2 {
        return None;
    }
    let month: u32 = month_text.parse().ok().filter(|m| (1..=12).contains(m))?;
    match parts.next() {
        None => Some(format!("{} {year}", MONTHS.get(month as usize - 1)?)),
        Some(day_text) if day_text.len() == 2 && parts.next().is_none() => day_month(
            day_text.parse().ok().filter(|&d| d >= 1)?,
            month,
            Some(year),
        ),
        Some(_) => None,
    }
}

fn meridiem(word: &str) -> Option<&'static str> {
    if word.eq_ignore_ascii_case("am") {
        Some("am")
    } else if word.eq_ignore_ascii_case("pm") {
        Some("pm")
    } else {
        None
    }
}

/// The dates and times a sentence names, in a canonical form.
fn dates_in(sentence: &str, words: &[Word<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let at = |k: usize| words.get(k);
    while let Some(w) = at(i) {
        if let Some(date) = iso_date(w.text) {
            out.push(date);
            i += 1;
            continue;
        }
        // 7 May 2023, 7th of May, 7 May
        if let Some(day) = day_number(w.text) {
            let mut j = i + 1;
            if at(j).is_some_and(|o| o.spaced() && o.text.eq_ignore_ascii_case("of")) {
                j += 1;
            }
            if let Some(month) = at(j)
                .filter(|m| m.spaced())
                .and_then(|m| month_index(m.text, true))
            {
                let year = at(j + 1)
                    .filter(|y| y.listed())
                    .and_then(|y| year_number(y.text));
                if let Some(date) = day_month(day, month, year) {
                    out.push(date);
                    i = j + 1 + usize::from(year.is_some());
                    continue;
                }
            }
        }
        // May 7, 2023, May 7, May 2023, May
        if let Some(month) = month_index(w.text, true) {
            if let Some(day) = at(i + 1)
                .filter(|d| d.spaced())
                .and_then(|d| day_number(d.text))
            {
                let year = at(i + 2)
                    .filter(|y| y.listed())
                    .and_then(|y| year_number(y.text));
                if let Some(date) = day_month(day, month, year) {
                    out.push(date);
                    i += 2 + usize::from(year.is_some());
                    continue;
                }
            }
            if let Some(year) = at(i + 1)
                .filter(|y| y.listed())
                .and_then(|y| year_number(y.text))
                && let Some(name) = MONTHS.get(month as usize - 1)
            {
                out.push(format!("{name} {year}"));
                i += 2;
                continue;
            }
            let modal_may = i == 0 && w.text == "May";
            if month_index(w.text, false).is_some()
                && !modal_may
                && let Some(name) = MONTHS.get(month as usize - 1)
            {
                out.push((*name).to_owned());
                i += 1;
                continue;
            }
        }
        if let Some(year) = year_number(w.text) {
            out.push(year.to_string());
            i += 1;
            continue;
        }
        if let Some(day) = weekday(w.text) {
            out.push(day.to_owned());
            i += 1;
            continue;
        }
        if let Some(time) = clock_time(sentence, words, i) {
            out.push(time.0);
            i = time.1;
            continue;
        }
        i += 1;
    }
    out
}

/// A clock time starting at word `i` (`10:30`, `10:30 pm`, `5am`, `3 pm`),
/// and the index of the word after it.
fn clock_time(sentence: &str, words: &[Word<'_>], i: usize) -> Option<(String, usize)> {
    let w = words.get(i)?;
    let digits_end = w
        .text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(w.text.len());
    if digits_end == 0 || digits_end > 2 {
        return None;
    }
    let hour: u32 = w.text.get(..digits_end)?.parse().ok()?;
    let suffix = w.text.get(digits_end..)?;
    if !suffix.is_empty() {
        let m = meridiem(suffix)?;
        return (1..=12)
            .contains(&hour)
            .then(|| (format!("{hour}{m}"), i + 1));
    }
    // H:MM, the minutes being the next word right after a colon.
    if let Some(minutes) = words.get(i + 1)
        && minutes.gap == ":"
        && minutes.text.len() == 2
        && minutes.text.bytes().all(|b| b.is_ascii_digit())
        && hour <= 23
        && sentence.get(w.end..w.end + 1) == Some(":")
    {
        let mm: u32 = minutes.text.parse().ok()?;
        if mm > 59 {
            return None;
        }
        let m = words
            .get(i + 2)
            .filter(|x| x.spaced())
            .and_then(|x| meridiem(x.text));
        return Some(match m {
            Some(m) => (format!("{hour}:{mm:02}{m}"), i + 3),
            None => (format!("{hour}:{mm:02}"), i + 2),
        });
    }
    let m = words
        .get(i + 1)
        .filter(|x| x.spaced())
        .and_then(|x| meridiem(x.text))?;
    (1..=12)
        .contains(&hour)
        .then(|| (format!("{hour}{m}"), i + 2))
}

// ---------------------------------------------------------------------------
// One chunk

/// A sentence of an episode.
struct Sentence {
    /// Byte range in the episode's content.
    start: usize,
    end: usize,
    /// Term ids, with repeats.
    terms: Vec<u32>,
    /// Entity ids (distinct).
    entities: Vec<u32>,
    /// Dates and times, in order.
    dates: Vec<String>,
}

/// An episode prepared for planning.
struct Prepared<'a> {
    id: MemoryId,
    at: Timestamp,
    content: &'a str,
    tags: &'a [String],
    source: Option<&'a str>,
    unit: Option<Vec<f32>>,
    sentences: Vec<Sentence>,
    /// Entity ids (sorted, distinct).
    entities: Vec<u32>,
}

impl Prepared<'_> {
    fn unit(&self) -> Option<&[f32]> {
        self.unit.as_deref()
    }
}

/// The texts of a chunk: prepared episodes, entity names, term IDF.
struct Corpus<'a> {
    episodes: Vec<Prepared<'a>>,
    entity_names: Vec<String>,
    /// Episodes naming each entity.
    entity_df: Vec<u32>,
    idf: Vec<f32>,
}

fn prepare<'a>(chunk: &[&Episode<'a>]) -> Corpus<'a> {
    let mut tokenizer = Tokenizer::new();
    let mut term_ids: HashMap<String, u32> = HashMap::new();
    let mut term_df: Vec<u32> = Vec::new();
    let mut mid_phrases: HashSet<String> = HashSet::new();
    let mut initial_episodes: HashMap<String, u32> = HashMap::new();
    let mut lower_words: HashSet<String> = HashSet::new();
    // Per episode, per sentence: the raw phrases, before the chunk decides
    // which sentence-initial ones count.
    let mut raw: Vec<Vec<Vec<(String, bool)>>> = Vec::with_capacity(chunk.len());
    let mut episodes = Vec::with_capacity(chunk.len());
    for e in chunk {
        let mut sentences = Vec::new();
        let mut phrases_of = Vec::new();
        let mut seen_terms: HashSet<u32> = HashSet::new();
        let mut initial_here: HashSet<String> = HashSet::new();
        for (start, end) in split_sentences(e.content) {
            let text = e.content.get(start..end).unwrap_or_default();
            let ws = words(text);
            for w in &ws {
                if w.text.chars().next().is_some_and(char::is_lowercase) {
                    let lower = w.text.to_lowercase();
                    if !lower_words.contains(&lower) {
                        lower_words.insert(lower);
                    }
                }
            }
            let phrases = entity_phrases(&ws);
            for (phrase, initial) in &phrases {
                if *initial {
                    initial_here.insert(phrase.clone());
                } else if !mid_phrases.contains(phrase) {
                    mid_phrases.insert(phrase.clone());
                }
            }
            let dates = dates_in(text, &ws);
            let mut terms = Vec::new();
            tokenizer.tokenize(text, |t| {
                let next = term_ids.len() as u32;
                let id = *term_ids.entry(t.to_owned()).or_insert(next);
                if id == next {
                    term_df.push(0);
                }
                terms.push(id);
            });
            for &t in &terms {
                if seen_terms.insert(t)
                    && let Some(df) = term_df.get_mut(t as usize)
                {
                    *df += 1;
                }
            }
            sentences.push(Sentence {
                start,
                end,
                terms,
                entities: Vec::new(),
                dates,
            });
            phrases_of.push(phrases);
        }
        for phrase in initial_here {
            *initial_episodes.entry(phrase).or_insert(0) += 1;
        }
        raw.push(phrases_of);
        episodes.push(Prepared {
            id: e.id,
            at: e.at,
            content: e.content,
            tags: e.tags,
            source: e.source,
            unit: unit(e.vector),
            sentences,
            entities: Vec::new(),
        });
    }

    let counts = |phrase: &str, initial: bool| {
        !initial
            || mid_phrases.contains(phrase)
            || (initial_episodes.get(phrase).is_some_and(|&n| n >= 2)
                && (phrase.contains(' ') || !lower_words.contains(&phrase.to_lowercase())))
    };
    let mut entity_ids: HashMap<String, u32> = HashMap::new();
    let mut entity_names = Vec::new();
    let mut entity_df: Vec<u32> = Vec::new();
    for (episode, phrases_of) in episodes.iter_mut().zip(raw) {
        let mut all = Vec::new();
        for (sentence, phrases) in episode.sentences.iter_mut().zip(phrases_of) {
            for (phrase, initial) in phrases {
                if !counts(&phrase, initial) {
                    continue;
                }
                let next = entity_names.len() as u32;
                let id = *entity_ids.entry(phrase.clone()).or_insert(next);
                if id == next {
                    entity_names.push(phrase);
                    entity_df.push(0);
                }
                if !sentence.entities.contains(&id) {
                    sentence.entities.push(id);
                }
                all.push(id);
            }
        }
        all.sort_unstable();
        all.dedup();
        for &id in &all {
            if let Some(df) = entity_df.get_mut(id as usize) {
                *df += 1;
            }
        }
        episode.entities = all;
    }
    let n = episodes.len() as f32;
    let idf = term_df
        .iter()
        .map(|&df| (1.0 + n / df.max(1) as f32).ln())
        .collect();
    Corpus {
        episodes,
        entity_names,
        entity_df,
        idf,
    }
}

fn plan_chunk(chunk: &[&Episode<'_>], params: &ConsolidationParams) -> Vec<Planned> {
    let corpus = prepare(chunk);
    let groups = group(&corpus, params);
    groups
        .iter()
        .filter_map(|members| summarise(&corpus, members, params))
        .collect()
}

/// Whether the sorted lists share an element.
fn share(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The groups of a chunk: sorted member indices (see the module docs).
fn group(corpus: &Corpus<'_>, params: &ConsolidationParams) -> Vec<Vec<usize>> {
    let eps = &corpus.episodes;
    let n = eps.len();
    let distinctive: Vec<Vec<u32>> = eps
        .iter()
        .map(|e| {
            e.entities
                .iter()
                .copied()
                .filter(|&id| {
                    corpus.entity_df.get(id as usize).is_some_and(|&df| {
                        let df = df as usize;
                        df >= 2 && df * 2 <= n && df <= params.max_group
                    })
                })
                .collect()
        })
        .collect();
    let strict = params.similarity;
    let relaxed = params.similarity - ENTITY_RELIEF;
    let mut related = Bits::new(n, n);
    for (i, a) in eps.iter().enumerate() {
        for (j, b) in eps.iter().enumerate().skip(i + 1) {
            let c = cosine(a.unit(), b.unit());
            let linked = c >= strict
                || (c >= relaxed
                    && share(
                        distinctive.get(i).map_or(&[], Vec::as_slice),
                        distinctive.get(j).map_or(&[], Vec::as_slice),
                    ));
            if linked {
                related.set(i, j, true);
                related.set(j, i, true);
            }
        }
    }

    let degree: Vec<usize> = (0..n)
        .map(|i| related.row(i).iter().map(|w| w.count_ones() as usize).sum())
        .collect();
    let mut seeds: Vec<usize> = (0..n).collect();
    seeds.sort_by(|&a, &b| degree.get(b).cmp(&degree.get(a)).then(a.cmp(&b)));

    let mut free = Bits::new(1, n);
    for i in 0..n {
        free.set(0, i, true);
    }
    let star_cap = params.max_group.saturating_mul(2).max(params.min_group);
    let mut groups = Vec::new();
    for seed in seeds {
        if !free.get(0, seed) {
            continue;
        }
        let mut star = common_indices(related.row(seed), free.row(0));
        if star.len() + 1 < params.min_group {
            continue;
        }
        if star.len() > star_cap {
            let s = eps.get(seed).and_then(Prepared::unit);
            let mut by_cos: Vec<(f32, usize)> = star
                .iter()
                .map(|&j| (cosine(s, eps.get(j).and_then(Prepared::unit)), j))
                .collect();
            by_cos.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            star = by_cos.into_iter().take(star_cap).map(|(_, j)| j).collect();
            star.sort_unstable();
        }
        let mut members = Vec::with_capacity(star.len() + 1);
        members.push(seed);
        members.extend(star);
        prune(&mut members, &related);
        extend(&mut members, &related, &free, n);
        if members.len() > params.max_group {
            keep_central(&mut members, eps, params.max_group);
        }
        if members.len() < params.min_group {
            continue;
        }
        members.sort_unstable();
        for &m in &members {
            free.set(0, m, false);
        }
        groups.push(members);
    }
    groups
}

/// Drops members (never the first, the seed) related to fewer than half
/// of the others, the one with the fewest relations first (ties: the later
/// one).
fn prune(members: &mut Vec<usize>, related: &Bits) {
    let mut links: Vec<usize> = members
        .iter()
        .map(|&a| members.iter().filter(|&&b| related.get(a, b)).count())
        .collect();
    loop {
        let len = members.len();
        let mut worst: Option<usize> = None;
        for (p, &l) in links.iter().enumerate().skip(1) {
            if worst.is_none_or(|w| links.get(w).is_none_or(|&lw| l <= lw)) {
                worst = Some(p);
            }
        }
        let Some(w) = worst else { break };
        if links.get(w).is_none_or(|&l| l * 2 >= len - 1) {
            break;
        }
        let gone = members.remove(w);
        links.remove(w);
        for (m, l) in members.iter().zip(links.iter_mut()) {
            if related.get(*m, gone) {
                *l = l.saturating_sub(1);
            }
        }
    }
}

/// Adds the free non-members related to at least half of the members.
fn extend(members: &mut Vec<usize>, related: &Bits, free: &Bits, n: usize) {
    let mut inside = Bits::new(1, n);
    let mut reach = vec![0u64; free.row(0).len()];
    for &m in members.iter() {
        inside.set(0, m, true);
        for (r, w) in reach.iter_mut().zip(related.row(m)) {
            *r |= w;
        }
    }
    for (r, w) in reach.iter_mut().zip(inside.row(0)) {
        *r &= !w;
    }
    let size = members.len();
    let joining: Vec<usize> = common_indices(&reach, free.row(0))
        .into_iter()
        .filter(|&k| common(related.row(k), inside.row(0)) * 2 >= size)
        .collect();
    members.extend(joining);
}

/// The members' mean unit vector (of the length of the first usable one).
fn centroid(members: &[usize], eps: &[Prepared<'_>]) -> Option<Vec<f32>> {
    let mut sum: Option<Vec<f32>> = None;
    for v in members
        .iter()
        .filter_map(|&m| eps.get(m).and_then(Prepared::unit))
    {
        match &mut sum {
            None => sum = Some(v.to_vec()),
            Some(s) if s.len() == v.len() => {
                for (a, b) in s.iter_mut().zip(v) {
                    *a += b;
                }
            }
            Some(_) => {}
        }
    }
    sum.and_then(|s| unit(&s))
}

/// Each member's cosine to the members' mean vector.
fn centralities(members: &[usize], eps: &[Prepared<'_>]) -> Vec<f32> {
    let c = centroid(members, eps);
    members
        .iter()
        .map(|&m| cosine(eps.get(m).and_then(Prepared::unit), c.as_deref()))
        .collect()
}

/// Keeps the `k` most central members (ties: smaller index).
fn keep_central(members: &mut Vec<usize>, eps: &[Prepared<'_>], k: usize) {
    let scores = centralities(members, eps);
    let mut ranked: Vec<(f32, usize)> = scores.into_iter().zip(members.iter().copied()).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    *members = ranked.into_iter().take(k).map(|(_, m)| m).collect();
}

// ---------------------------------------------------------------------------
// Summaries

/// Unit TF-IDF weights (`1 + ln tf` times IDF) of a bag of term ids.
fn tf_idf<'t>(terms: impl Iterator<Item = &'t u32>, idf: &[f32]) -> BTreeMap<u32, f32> {
    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
    for &t in terms {
        *counts.entry(t).or_insert(0) += 1;
    }
    let mut weights: BTreeMap<u32, f32> = counts
        .into_iter()
        .map(|(t, c)| {
            let w = (1.0 + (c as f32).ln()) * idf.get(t as usize).copied().unwrap_or(0.0);
            (t, w)
        })
        .collect();
    let norm = weights.values().map(|w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        for w in weights.values_mut() {
            *w /= norm;
        }
    } else {
        weights.clear();
    }
    weights
}

/// A candidate sentence of a group.
struct Candidate {
    score: f32,
    /// (source `at`, source id, sentence position): time order.
    order: (Timestamp, MemoryId, usize),
    text: String,
    terms: Vec<u32>,
}

/// `text` with runs of white space as one space, ending in punctuation.
fn tidy(text: &str) -> String {
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().last().is_some_and(char::is_alphanumeric) {
        out.push('.');
    }
    out
}

/// `text` cut to at most `budget` bytes, at a word boundary if one is in
/// the second half, else at a character boundary, ending in `…`.
fn truncate(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_owned();
    }
    let mut cut = budget.saturating_sub('…'.len_utf8());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = text.get(..cut).unwrap_or_default();
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space > cut / 2 => head.get(..space).unwrap_or(head),
        _ => head,
    };
    let mut out = head.trim_end().to_owned();
    out.push('…');
    out
}

/// The `Entities: …. Dates: ….` line with as many items as fit in
/// `budget` bytes (empty if none fits).
fn info_line(entities: &[String], dates: &[String], budget: usize) -> String {
    let build = |a: usize, b: usize| {
        let mut parts = Vec::new();
        if let Some(e) = entities.get(..a).filter(|e| !e.is_empty()) {
            parts.push(format!("Entities: {}.", e.join(", ")));
        }
        if let Some(d) = dates.get(..b).filter(|d| !d.is_empty()) {
            parts.push(format!("Dates: {}.", d.join(", ")));
        }
        parts.join(" ")
    };
    let mut a = 0;
    while a < entities.len() && build(a + 1, 0).len() <= budget {
        a += 1;
    }
    let mut b = 0;
    while b < dates.len() && build(a, b + 1).len() <= budget {
        b += 1;
    }
    build(a, b)
}

fn jaccard(a: &[u32], b: &[u32]) -> f32 {
    let a: HashSet<u32> = a.iter().copied().collect();
    let b: HashSet<u32> = b.iter().copied().collect();
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f32 / union as f32
}

fn summarise(
    corpus: &Corpus<'_>,
    members: &[usize],
    params: &ConsolidationParams,
) -> Option<Planned> {
    let sources: Vec<&Prepared<'_>> = members
        .iter()
        .filter_map(|&m| corpus.episodes.get(m))
        .collect();
    if sources.len() < params.min_group {
        return None;
    }
    let mut in_time: Vec<&Prepared<'_>> = sources.clone();
    in_time.sort_by_key(|p| (p.at, p.id));

    // Entities named by two or more sources.
    let mut named: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for p in &sources {
        for &e in &p.entities {
            named.entry(e).or_insert((0, 0)).0 += 1;
        }
        for s in &p.sentences {
            for &e in &s.entities {
                named.entry(e).or_insert((0, 0)).1 += 1;
            }
        }
    }
    let mut shared: Vec<(usize, usize, &str, u32)> = named
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .filter_map(|(e, (n, mentions))| {
            corpus
                .entity_names
                .get(e as usize)
                .map(|name| (n, mentions, name.as_str(), e))
        })
        .collect();
    shared.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    shared.truncate(MAX_ENTITIES);
    let entity_ids: Vec<u32> = shared.iter().map(|s| s.3).collect();
    let entities: Vec<String> = shared.iter().map(|s| s.2.to_owned()).collect();

    // Dates named, in time order, then the span.
    let mut named_dates: Vec<String> = Vec::new();
    for p in &in_time {
        for s in &p.sentences {
            for d in &s.dates {
                if named_dates.len() < MAX_DATES && !named_dates.contains(d) {
                    named_dates.push(d.clone());
                }
            }
        }
    }
    let from = in_time.first().map_or(Timestamp(0), |p| p.at);
    let until = in_time.last().map_or(Timestamp(0), |p| p.at);
    let day = |t: Timestamp| rfc3339::format(t).get(..10).unwrap_or_default().to_owned();
    let mut dates = named_dates.clone();
    dates.push(day(from));
    if day(until) != day(from) {
        dates.push(day(until));
    }

    // Sentences scored against the group's TF-IDF centroid.
    let mut centre: BTreeMap<u32, f32> = BTreeMap::new();
    for p in &sources {
        let v = tf_idf(p.sentences.iter().flat_map(|s| &s.terms), &corpus.idf);
        for (t, w) in v {
            *centre.entry(t).or_insert(0.0) += w;
        }
    }
    let centre_norm = centre.values().map(|w| w * w).sum::<f32>().sqrt();
    let mut candidates: Vec<Candidate> = Vec::new();
    for p in &sources {
        for (position, s) in p.sentences.iter().enumerate() {
            let text = tidy(p.content.get(s.start..s.end).unwrap_or_default());
            if text.is_empty() {
                continue;
            }
            let v = tf_idf(s.terms.iter(), &corpus.idf);
            let mut score = if centre_norm > 0.0 {
                v.iter()
                    .map(|(t, w)| w * centre.get(t).copied().unwrap_or(0.0))
                    .sum::<f32>()
                    / centre_norm
            } else {
                0.0
            };
            if !score.is_finite() {
                score = 0.0;
            }
            if s.entities.iter().any(|e| entity_ids.contains(e)) {
                score *= ENTITY_BONUS;
            }
            if !s.dates.is_empty() {
                score *= DATE_BONUS;
            }
            candidates.push(Candidate {
                score,
                order: (p.at, p.id, position),
                text,
                terms: s.terms.clone(),
            });
        }
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
    let mut picked: Vec<Candidate> = Vec::new();
    for c in candidates {
        if picked.len() >= params.max_sentences {
            break;
        }
        let duplicate = picked.iter().any(|p| {
            p.text.eq_ignore_ascii_case(&c.text) || jaccard(&p.terms, &c.terms) >= NEAR_DUPLICATE
        });
        if !duplicate {
            picked.push(c);
        }
    }
    if picked.is_empty() {
        return None;
    }
    // Within the byte budget: the weakest go first (ties: the later one).
    let budget = params.max_summary_bytes;
    let body_len =
        |p: &[Candidate]| p.iter().map(|c| c.text.len()).sum::<usize>() + p.len().saturating_sub(1);
    while picked.len() > 1 && body_len(&picked) > budget {
        let weakest = picked
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| a.score.total_cmp(&b.score).then(b.order.cmp(&a.order)))
            .map(|(i, _)| i);
        if let Some(i) = weakest {
            picked.remove(i);
        }
    }
    picked.sort_by_key(|a| a.order);
    let body = picked
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut content = truncate(&body, budget);
    let room = budget.saturating_sub(content.len() + 1);
    let line = info_line(&entities, &named_dates, room);
    if !line.is_empty() {
        content.push('\n');
        content.push_str(&line);
    }
    if content.trim().is_empty() {
        return None;
    }

    let mut tag_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &sources {
        let mut own: Vec<&str> = p.tags.iter().map(String::as_str).collect();
        own.sort_unstable();
        own.dedup();
        for t in own {
            *tag_counts.entry(t).or_insert(0) += 1;
        }
    }
    let tags = tag_counts
        .into_iter()
        .filter(|(_, c)| c * 2 >= sources.len())
        .map(|(t, _)| t.to_owned())
        .collect();
    let source = sources
        .first()
        .and_then(|p| p.source)
        .filter(|s| sources.iter().all(|p| p.source == Some(*s)))
        .map(str::to_owned);
    let central = centralities(members, &corpus.episodes);
    let cohesion = central.iter().sum::<f32>() / central.len().max(1) as f32;
    let mut ids: Vec<MemoryId> = sources.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    Some(Planned {
        sources: ids,
        content,
        entities,
        dates,
        from,
        until,
        tags,
        source,
        cohesion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2023-05-01T00:00:00Z.
    const MAY_1: i64 = 1_682_899_200;

    /// An owned episode, so tests can build and shuffle them.
    #[derive(Clone, Debug)]
    struct Owned {
        id: u64,
        content: String,
        tags: Vec<String>,
        source: Option<String>,
        at: Timestamp,
        vector: Vec<f32>,
    }

    impl Owned {
        fn episode(&self) -> Episode<'_> {
            Episode {
                id: MemoryId(self.id),
                content: &self.content,
                tags: &self.tags,
                source: self.source.as_deref(),
                at: self.at,
                vector: &self.vector,
            }
        }
    }

    fn episodes(owned: &[Owned]) -> Vec<Episode<'_>> {
        owned.iter().map(Owned::episode).collect()
    }

    /// Topic `t`'s axis plus a little id-dependent noise on the other axes.
    fn topic_vector(t: usize, id: u64) -> Vec<f32> {
        (0..8)
            .map(|k| {
                if k == t {
                    1.0
                } else {
                    0.05 * ((id as usize * 7 + k * 3) % 5) as f32
                }
            })
            .collect()
    }

    fn ep(id: u64, topic: usize, day: i64, content: &str, tags: &[&str]) -> Owned {
        Owned {
            id,
            content: content.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            source: Some(format!("session-{day}")),
            at: Timestamp::from_secs(MAY_1 + day * DAY),
            vector: topic_vector(topic, id),
        }
    }

    /// Twelve episodes in three topics, interleaved over sessions.
    fn corpus() -> Vec<Owned> {
        vec![
            ep(
                1,
                0,
                6,
                "I signed up for a pottery class at Clayworks on 7 May 2023. The teacher, Ana, showed us how to center clay on the wheel.",
                &["hobby", "pottery"],
            ),
            ep(
                2,
                1,
                7,
                "We are planning a trip to Lisbon in August 2023. I booked a flat in Alfama.",
                &["travel"],
            ),
            ep(
                3,
                2,
                8,
                "I started a new job at the Rye bakery in 2022. I bake sourdough bread every morning at 5am.",
                &["work"],
            ),
            ep(
                4,
                0,
                13,
                "My second pottery class at Clayworks went better. I centered the clay on the wheel without help.",
                &["hobby"],
            ),
            ep(
                5,
                1,
                14,
                "The flight to Lisbon leaves on 12 August. I want to try pastel de nata in Belem.",
                &["travel"],
            ),
            ep(
                6,
                2,
                15,
                "Work at the bakery is tiring; Marco, my boss, wants more sourdough loaves.",
                &["work"],
            ),
            ep(
                7,
                0,
                20,
                "Ana said my bowls are getting thinner. Pottery class is now my favourite part of the week.",
                &["pottery"],
            ),
            ep(
                8,
                1,
                21,
                "In Lisbon we walked up to the castle in Alfama. The trip to Lisbon was hot but lovely.",
                &["travel", "summer"],
            ),
            ep(
                9,
                2,
                22,
                "Marco promoted me to head baker at the bakery on Monday.",
                &["work"],
            ),
            ep(
                10,
                0,
                27,
                "I glazed my first bowl at Clayworks on a Saturday. The pottery class ends in June.",
                &["hobby", "pottery"],
            ),
            ep(
                11,
                1,
                28,
                "Back from Lisbon: the tram rides in Alfama were the highlight of the trip.",
                &["travel"],
            ),
            ep(
                12,
                2,
                29,
                "The bakery job pays better now. I still bake sourdough bread before dawn.",
                &["work"],
            ),
        ]
    }

    fn ids(plan: &Planned) -> Vec<u64> {
        plan.sources.iter().map(|m| m.0).collect()
    }

    #[test]
    fn a_summary_quotes_the_sources_whose_sentences_it_took() {
        let summary = "Ana moved to Lisbon in May. She paints every Sunday. \
                       Entities: Ana, Lisbon. Dates: May.";
        assert!(quotes(summary, "Big news! Ana moved to Lisbon in May."));
        assert!(quotes(summary, "She paints every Sunday. Mostly birds."));
        assert!(!quotes(summary, "Ana moved to Lisbon in June."));
        assert!(!quotes(summary, "Lisbon"));
        assert!(!quotes("", "Ana moved to Lisbon in May."));
        // A lone sentence cut at a word boundary quotes the sentence it cut.
        let cut = "Ana moved to Lisbon in May with her two cats and…";
        assert!(quotes(
            cut,
            "Ana moved to Lisbon in May with her two cats and a piano."
        ));
        assert!(!quotes("…", "Ana moved."));
        // Sentences are compared as summaries write them.
        assert!(quotes(
            "We went  hiking. Entities: Alps.",
            "It was cold.\nWe went hiking"
        ));
    }

    #[test]
    fn finds_the_three_topics() {
        let owned = corpus();
        let plans = plan(&episodes(&owned), &ConsolidationParams::default());
        let groups: Vec<Vec<u64>> = plans.iter().map(ids).collect();
        assert_eq!(
            groups,
            vec![vec![1, 4, 7, 10], vec![2, 5, 8, 11], vec![3, 6, 9, 12]]
        );
        for p in &plans {
            assert!(!p.content.is_empty());
            assert!(p.content.len() <= 2048);
            assert!(p.cohesion > 0.9, "{}", p.cohesion);
            assert_eq!(p.source, None, "sessions differ");
        }

        let pottery = &plans[0];
        assert_eq!(pottery.entities, ["Clayworks", "Ana"]);
        assert_eq!(
            pottery.dates,
            ["7 May 2023", "Saturday", "June", "2023-05-07", "2023-05-28"]
        );
        assert_eq!(pottery.tags, ["hobby", "pottery"]);
        assert_eq!(pottery.from, Timestamp::from_secs(MAY_1 + 6 * DAY));
        assert_eq!(pottery.until, Timestamp::from_secs(MAY_1 + 27 * DAY));
        assert!(pottery.content.contains("Clayworks"), "{}", pottery.content);

        let lisbon = &plans[1];
        assert_eq!(lisbon.entities.first().map(String::as_str), Some("Lisbon"));
        assert!(lisbon.entities.contains(&"Alfama".to_owned()));
        assert!(lisbon.content.contains("Lisbon"), "{}", lisbon.content);
        assert!(
            lisbon.content.contains("\nEntities: Lisbon, Alfama."),
            "{}",
            lisbon.content
        );
        assert!(lisbon.dates.contains(&"August 2023".to_owned()));
        assert!(lisbon.dates.contains(&"12 August".to_owned()));
        assert_eq!(lisbon.tags, ["travel"]);

        let bakery = &plans[2];
        assert_eq!(bakery.entities, ["Marco"]);
        assert_eq!(
            bakery.dates,
            ["2022", "5am", "Monday", "2023-05-09", "2023-05-30"]
        );
        assert_eq!(bakery.tags, ["work"]);
    }

    #[test]
    fn summary_holds_the_most_central_sentence_in_time_order() {
        let owned = corpus();
        let params = ConsolidationParams {
            max_sentences: 1,
            ..ConsolidationParams::default()
        };
        let one = plan(&episodes(&owned), &params);
        let full = plan(&episodes(&owned), &ConsolidationParams::default());
        for (one, full) in one.iter().zip(&full) {
            let best = one.content.lines().next().unwrap_or_default();
            assert!(!best.is_empty());
            // The best sentence is among the three, and the three are whole
            // sentences of the sources in time order.
            assert!(
                full.content.contains(best),
                "{best:?} in {:?}",
                full.content
            );
            let body = full.content.lines().next().unwrap_or_default();
            let positions: Vec<usize> = owned
                .iter()
                .filter(|o| full.sources.contains(&MemoryId(o.id)))
                .flat_map(|o| {
                    split_sentences(&o.content)
                        .into_iter()
                        .map(|(s, e)| tidy(&o.content[s..e]))
                        .collect::<Vec<_>>()
                })
                .filter_map(|s| body.find(&s))
                .collect();
            assert_eq!(positions.len(), 3, "{body}");
        }

        // One sentence is plainly the centre: it has every shared word.
        let central = "Pottery class, clay, wheel and glaze at Clayworks.";
        let owned = vec![
            ep(1, 0, 1, "Pottery class today. My cat slept all day.", &[]),
            ep(2, 0, 2, "The clay was cold. I bought new shoes.", &[]),
            ep(3, 0, 3, &format!("Rain again. {central}"), &[]),
            ep(
                4,
                0,
                4,
                "The wheel spun fast. Glaze takes a week to dry.",
                &[],
            ),
        ];
        let plans = plan(&episodes(&owned), &params);
        assert_eq!(plans.len(), 1);
        assert!(
            plans[0].content.starts_with(central),
            "{}",
            plans[0].content
        );
    }

    #[test]
    fn output_does_not_depend_on_input_order() {
        let owned = corpus();
        let params = ConsolidationParams::default();
        let expected = plan(&episodes(&owned), &params);
        let mut shuffled = owned.clone();
        for round in 0..6 {
            shuffled.reverse();
            let len = shuffled.len();
            shuffled.rotate_left(round * 5 % len);
            shuffled.swap(0, round + 3);
            assert_eq!(plan(&episodes(&shuffled), &params), expected);
        }
        // A duplicated id keeps the same one whichever comes first.
        let mut twice = owned.clone();
        let mut dup = owned[0].clone();
        dup.content = "A different text entirely.".to_owned();
        twice.push(dup.clone());
        let a = plan(&episodes(&twice), &params);
        twice.insert(0, dup);
        twice.pop();
        twice.push(owned[0].clone());
        assert_eq!(plan(&episodes(&twice), &params), a);
    }

    #[test]
    fn empty_and_ungroupable_inputs_give_no_plans() {
        let params = ConsolidationParams::default();
        assert!(plan(&[], &params).is_empty());
        let owned = corpus();
        let strict = ConsolidationParams {
            min_group: 5,
            ..params
        };
        assert!(plan(&episodes(&owned), &strict).is_empty());
        let loose = ConsolidationParams {
            min_group: 4,
            ..params
        };
        assert_eq!(plan(&episodes(&owned), &loose).len(), 3);
        // Invalid params: no plans (validate says why).
        let invalid = ConsolidationParams {
            min_group: 1,
            ..params
        };
        assert!(plan(&episodes(&owned), &invalid).is_empty());
        // Blank contents: no summary to write, so no plan.
        let blank: Vec<Owned> = (1..=4)
            .map(|i| Owned {
                content: " \n ".to_owned(),
                ..ep(i, 0, 1, "", &[])
            })
            .collect();
        assert!(plan(&episodes(&blank), &params).is_empty());
    }

    #[test]
    fn nan_zero_and_odd_vectors_do_not_panic() {
        let mut owned = corpus();
        owned[0].vector = vec![f32::NAN; 8];
        owned[1].vector = vec![0.0; 8];
        owned[2].vector = vec![];
        owned[3].vector = vec![1.0, f32::INFINITY];
        owned[4].vector = vec![f32::MAX; 8];
        owned[5].vector = vec![f32::MIN_POSITIVE / 4.0; 3];
        let plans = plan(&episodes(&owned), &ConsolidationParams::default());
        for p in &plans {
            assert!(!p.sources.contains(&MemoryId(1)), "NaN vector has cosine 0");
        }
        let all_nan: Vec<Owned> = (1..=5)
            .map(|i| Owned {
                vector: vec![f32::NAN; 4],
                ..ep(i, 0, 1, "Same text about Lisbon.", &[])
            })
            .collect();
        assert!(plan(&episodes(&all_nan), &ConsolidationParams::default()).is_empty());
        // similarity 0: cosine 0 counts, so even vectorless episodes group.
        let zero = ConsolidationParams {
            similarity: 0.0,
            ..ConsolidationParams::default()
        };
        assert_eq!(plan(&episodes(&all_nan), &zero).len(), 1);
    }

    #[test]
    fn a_shared_distinctive_entity_relaxes_the_threshold() {
        // Three Porto episodes at pairwise cosine 0.45 (below 0.55, above
        // 0.40), three fillers elsewhere.
        let near = |id: u64, k: usize, text: &str| {
            let mut v = vec![0.0f32; 8];
            v[0] = 0.67;
            v[k] = 0.74;
            Owned {
                vector: v,
                ..ep(id, 0, id as i64, text, &[])
            }
        };
        let far = |id: u64, k: usize| Owned {
            vector: topic_vector(k, id),
            ..ep(id, k, id as i64, "Something else entirely.", &[])
        };
        let with = |name: &str| {
            vec![
                near(1, 1, &format!("We drove to {name} for wine.")),
                near(2, 2, &format!("The bridge in {name} at night.")),
                near(3, 3, &format!("Dinner by the river in {name}.")),
                far(4, 4),
                far(5, 5),
                far(6, 6),
            ]
        };
        let params = ConsolidationParams::default();
        let cos = dot(
            &unit(&with("Porto")[0].vector).unwrap_or_default(),
            &unit(&with("Porto")[1].vector).unwrap_or_default(),
        );
        assert!((0.40..0.55).contains(&cos), "{cos}");
        let plans = plan(&episodes(&with("Porto")), &params);
        assert_eq!(plans.iter().map(ids).collect::<Vec<_>>(), [vec![1, 2, 3]]);
        assert_eq!(plans[0].entities, ["Porto"]);
        assert!(plan(&episodes(&with("the city")), &params).is_empty());
    }

    #[test]
    fn large_groups_split_by_centrality() {
        let owned: Vec<Owned> = (1..=10)
            .map(|i| ep(i, 0, i as i64, &format!("Pottery note number {i}."), &[]))
            .collect();
        let params = ConsolidationParams {
            min_group: 2,
            max_group: 4,
            ..ConsolidationParams::default()
        };
        let plans = plan(&episodes(&owned), &params);
        let mut seen = Vec::new();
        for p in &plans {
            assert!((2..=4).contains(&p.sources.len()), "{:?}", p.sources);
            seen.extend(ids(p));
        }
        let n = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), n, "an episode in two groups");
        assert!(n >= 8, "{plans:?}");
        let firsts: Vec<MemoryId> = plans
            .iter()
            .filter_map(|p| p.sources.first().copied())
            .collect();
        assert!(firsts.is_sorted());
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(ConsolidationParams::default().validate(), Ok(()));
        let d = ConsolidationParams::default();
        let cases = [
            (
                "similarity",
                ConsolidationParams {
                    similarity: 1.5,
                    ..d
                },
            ),
            (
                "similarity",
                ConsolidationParams {
                    similarity: f32::NAN,
                    ..d
                },
            ),
            (
                "similarity",
                ConsolidationParams {
                    similarity: -0.1,
                    ..d
                },
            ),
            ("min_group", ConsolidationParams { min_group: 1, ..d }),
            ("max_group", ConsolidationParams { max_group: 2, ..d }),
            (
                "max_sentences",
                ConsolidationParams {
                    max_sentences: 0,
                    ..d
                },
            ),
            (
                "max_summary_bytes",
                ConsolidationParams {
                    max_summary_bytes: MIN_SUMMARY_BYTES - 1,
                    ..d
                },
            ),
        ];
        for (field, params) in cases {
            let message = params.validate().expect_err(field);
            assert!(message.starts_with(field), "{message}");
        }
    }

    #[test]
    fn summaries_respect_the_byte_bound() {
        let owned = corpus();
        for bytes in [MIN_SUMMARY_BYTES, 40, 64, 100, 150, 300] {
            let params = ConsolidationParams {
                max_summary_bytes: bytes,
                ..ConsolidationParams::default()
            };
            let plans = plan(&episodes(&owned), &params);
            assert_eq!(plans.len(), 3);
            for p in &plans {
                assert!(!p.content.trim().is_empty());
                assert!(
                    p.content.len() <= bytes,
                    "{} > {bytes}: {:?}",
                    p.content.len(),
                    p.content
                );
            }
        }
        // One long sentence of multibyte characters is cut at a character.
        let long: Vec<Owned> = (1..=3)
            .map(|i| ep(i, 0, 1, &"é東京 ".repeat(50 + i as usize), &[]))
            .collect();
        let params = ConsolidationParams {
            max_summary_bytes: MIN_SUMMARY_BYTES,
            ..ConsolidationParams::default()
        };
        let plans = plan(&episodes(&long), &params);
        assert_eq!(plans.len(), 1);
        assert!(plans[0].content.len() <= MIN_SUMMARY_BYTES);
        assert!(plans[0].content.ends_with('…'), "{}", plans[0].content);
    }

    #[test]
    fn sentences_entities_and_dates() {
        let text = "Dr. Smith met Ana in Lisbon, e.g. at 10:30 pm. Then 3.5 km!\nNew line? Yes";
        let parts: Vec<&str> = split_sentences(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(
            parts,
            [
                "Dr. Smith met Ana in Lisbon, e.g. at 10:30 pm.",
                "Then 3.5 km!",
                "New line?",
                "Yes"
            ]
        );
        let names = |s: &str| entity_phrases(&words(s));
        assert_eq!(
            names("We met Leonardo da Vinci and Ana's sister at the Bank of America."),
            [
                ("Leonardo da Vinci".to_owned(), false),
                ("Ana".to_owned(), false),
                ("Bank of America".to_owned(), false)
            ]
        );
        assert_eq!(
            names("Yesterday Melanie painted. The Louvre on Monday in May."),
            [("Melanie".to_owned(), false), ("Louvre".to_owned(), false)]
        );
        assert_eq!(names("Lisbon was hot."), [("Lisbon".to_owned(), true)]);
        let dates = |s: &str| dates_in(s, &words(s));
        assert_eq!(
            dates("On 7th of May 2023, May 8, 2023 and 2023-06-01 then March 2024."),
            ["7 May 2023", "8 May 2023", "1 June 2023", "March 2024"]
        );
        assert_eq!(
            dates("May I come on Friday at 3 pm or 10:30, in 1999 or in June? Not 31 February."),
            // An impossible day names only its month.
            ["Friday", "3pm", "10:30", "1999", "June", "February"]
        );
        assert_eq!(
            dates("Jan and Mar came in 12345 ways."),
            Vec::<String>::new()
        );
    }

    #[test]
    fn chunks_of_many_episodes() {
        // More than one chunk: no panic, and groups never cross a chunk.
        let owned: Vec<Owned> = (1..=(CHUNK as u64 + 10))
            .map(|i| Owned {
                vector: topic_vector((i % 4) as usize, i),
                ..ep(i, 0, (i % 30) as i64, "A note on a topic.", &[])
            })
            .collect();
        let plans = plan(&episodes(&owned), &ConsolidationParams::default());
        assert!(!plans.is_empty());
        for p in &plans {
            let first = p.sources.first().map_or(0, |m| m.0);
            let last = p.sources.last().map_or(0, |m| m.0);
            assert_eq!((first - 1) / CHUNK as u64, (last - 1) / CHUNK as u64);
            assert!(p.sources.len() <= 64);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const WORDS: [&str; 16] = [
            "Lisbon", "pottery", "May", "7", "2023", "Ana", "the", ".", "!", "é", "東京", "\n",
            "10:30", "Marco's", "of", "bakery",
        ];

        fn arb_episode() -> impl Strategy<Value = Owned> {
            (
                0u64..40,
                prop::collection::vec(0..WORDS.len(), 0..20),
                prop::collection::vec(
                    prop_oneof![
                        4 => -1.0f32..1.0,
                        1 => Just(f32::NAN),
                        1 => Just(0.0f32),
                        1 => Just(f32::INFINITY),
                    ],
                    0..4,
                ),
                prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 0..3),
                any::<i64>(),
                prop::option::of(prop_oneof![Just("s1"), Just("s2")]),
            )
                .prop_map(|(id, words, vector, tags, at, source)| Owned {
                    id,
                    content: words
                        .into_iter()
                        .filter_map(|w| WORDS.get(w).copied())
                        .collect::<Vec<_>>()
                        .join(" "),
                    tags: tags.into_iter().map(str::to_owned).collect(),
                    source: source.map(str::to_owned),
                    at: Timestamp(at),
                    vector,
                })
        }

        fn arb_params() -> impl Strategy<Value = ConsolidationParams> {
            (
                0.0f32..=1.0,
                2usize..5,
                0usize..6,
                1usize..4,
                MIN_SUMMARY_BYTES..300,
            )
                .prop_map(
                    |(similarity, min_group, extra, max_sentences, max_summary_bytes)| {
                        ConsolidationParams {
                            similarity,
                            min_group,
                            max_group: min_group + extra,
                            max_sentences,
                            max_summary_bytes,
                        }
                    },
                )
        }

        proptest! {
            #[test]
            fn plans_are_sound(
                owned in prop::collection::vec(arb_episode(), 0..40),
                params in arb_params(),
            ) {
                let plans = plan(&episodes(&owned), &params);
                let mut seen = HashSet::new();
                let known: HashSet<u64> = owned.iter().map(|o| o.id).collect();
                for p in &plans {
                    prop_assert!(p.sources.len() >= params.min_group);
                    prop_assert!(p.sources.len() <= params.max_group);
                    prop_assert!(p.sources.windows(2).all(|w| w[0] < w[1]));
                    for id in &p.sources {
                        prop_assert!(known.contains(&id.0));
                        prop_assert!(seen.insert(*id), "{id} in two groups");
                    }
                    prop_assert!(!p.content.trim().is_empty());
                    prop_assert!(p.content.len() <= params.max_summary_bytes);
                    prop_assert!(p.from <= p.until);
                    prop_assert!(p.entities.len() <= MAX_ENTITIES);
                    prop_assert!(p.dates.len() <= MAX_DATES + 2);
                    prop_assert!(p.cohesion.is_finite());
                }
                let mut reversed = owned.clone();
                reversed.reverse();
                prop_assert_eq!(plan(&episodes(&reversed), &params), plans);
            }
        }
    }
}
