//! Cutting paragraphs into sentences and keeping the ones that read as
//! English prose.
//!
//! A sentence ends at a word ending in `.`, `!`, `?` or `:` (not an
//! abbreviation such as "e.g.", not a macro name such as "`println!` macro")
//! followed by a word that can start one. It is kept when it is 3 to 80 words
//! long, starts with a letter or digit, is mostly letters, at least half its
//! words are plain lower-case words (so prose mentioning `Vec<T>` passes and
//! code does not), and either ends like a sentence or is a clause of at least
//! five words, four in five plain, with a verb form among a small list of
//! auxiliaries (so titles, captions and cut-off fragments are left out).
//! Backticks go, typographic quotes become plain, and the issue numbers that
//! end release-note items are dropped.

/// Words that make an unpunctuated group of words a clause rather than a
/// title or a fragment: auxiliary and modal verbs.
const CLAUSE_VERBS: [&str; 40] = [
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "can",
    "cannot",
    "could",
    "will",
    "would",
    "must",
    "should",
    "may",
    "might",
    "shall",
    "does",
    "do",
    "did",
    "has",
    "have",
    "had",
    "isn't",
    "aren't",
    "wasn't",
    "can't",
    "couldn't",
    "won't",
    "wouldn't",
    "shouldn't",
    "doesn't",
    "don't",
    "didn't",
    "hasn't",
    "haven't",
    "it's",
    "that's",
    "there's",
];
/// Words an unpunctuated clause cannot end with: it was cut off.
const DANGLING: [&str; 30] = [
    "a", "an", "the", "of", "to", "and", "or", "for", "with", "in", "on", "at", "by", "from", "as",
    "that", "than", "into", "via", "if", "when", "which", "whose", "but", "so", "this", "its",
    "their", "is", "are",
];

/// The sentences of `text` that pass the filter (see the module
/// documentation), in order.
pub fn sentences_of(text: &str) -> Vec<String> {
    // A trailing backslash is a markdown line break, not part of the word.
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_end_matches('\\'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..words.len() {
        let w = words[i];
        let ends = w.ends_with(['.', '!', '?', ':'])
            && !is_abbreviation(w)
            && words.get(i + 1).is_none_or(|next| starts_sentence(w, next));
        if ends || i + 1 == words.len() {
            let sentence: String = without_issue_refs(&words[start..=i])
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

/// What two sentences must differ in to count as distinct: their letters and
/// digits, ignoring case, so that sentences differing only in quotes,
/// punctuation or markup count once.
pub fn dedup_key(sentence: &str) -> String {
    sentence
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `words` without the issue and pull-request numbers that end items of
/// release notes (`#1234`, `(#1234)`, `[#1234]`, `#1234,`).
fn without_issue_refs<'a>(words: &'a [&'a str]) -> &'a [&'a str] {
    let is_ref = |w: &&&str| {
        let w = w
            .trim_start_matches(['(', '['])
            .trim_end_matches([')', ']', ',', '.']);
        w.strip_prefix('#')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let keep = words.len() - words.iter().rev().take_while(is_ref).count();
    &words[..keep]
}

/// Abbreviations whose full stop does not end a sentence.
fn is_abbreviation(word: &str) -> bool {
    let word = word.trim_start_matches(['(', '"', '\'', '`', '[']);
    matches!(
        word.to_ascii_lowercase().as_str(),
        "e.g." | "i.e." | "etc." | "vs." | "cf." | "approx." | "resp." | "incl." | "no." | "fig."
    )
}

/// Whether `next` can start a sentence after `word`, which ends with `.`,
/// `!`, `?` or `:`: it starts with a letter, a digit, a quote, a bracket or
/// code (a backtick); after `!` (which also ends macro names: "the
/// `offset_of!` macro") it must not be a lower-case word.
fn starts_sentence(word: &str, next: &str) -> bool {
    let Some(c) = next.chars().next() else {
        return false;
    };
    if word.ends_with('!') && c.is_lowercase() {
        return false;
    }
    c.is_alphanumeric() || matches!(c, '"' | '\'' | '(' | '[' | '`' | '“' | '‘' | '*')
}

/// Whether `s` reads as an English sentence (see the module documentation).
fn is_sentence(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    if !(3..=80).contains(&words.len())
        || s.contains("Copy item path")
        || s.starts_with("Redirecting to")
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
    if s.ends_with(['.', '!', '?', ':']) {
        return true;
    }
    let bare = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_ascii_lowercase()
    };
    let title_case = words
        .iter()
        .all(|w| !w.starts_with(char::is_alphabetic) || w.starts_with(char::is_uppercase));
    let has_verb = words
        .iter()
        .any(|w| CLAUSE_VERBS.contains(&bare(w).as_str()));
    let dangling = words
        .last()
        .is_some_and(|w| DANGLING.contains(&bare(w).as_str()));
    words.len() >= 5
        && first.is_alphabetic()
        && plain * 5 >= words.len() * 4
        && !title_case
        && has_verb
        && !dangling
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
    }

    #[test]
    fn splits_before_code_digits_and_links() {
        assert_eq!(
            sentences_of("Returns the first item. `None` is returned when it is empty."),
            [
                "Returns the first item.",
                "None is returned when it is empty."
            ]
        );
        assert_eq!(
            sentences_of("The buffer holds bytes. 4 of them are reserved for the header."),
            [
                "The buffer holds bytes.",
                "4 of them are reserved for the header."
            ]
        );
        assert_eq!(
            sentences_of("When enabled, the `offset_of!` macro also accepts enums."),
            ["When enabled, the offset_of! macro also accepts enums."]
        );
        assert_eq!(
            sentences_of("A target (e.g. a board) is described here."),
            ["A target (e.g. a board) is described here."]
        );
    }

    #[test]
    fn unpunctuated_text_must_be_a_clause() {
        assert_eq!(
            sentences_of("The stabilized version of this intrinsic is log2"),
            ["The stabilized version of this intrinsic is log2"]
        );
        assert_eq!(
            sentences_of("the stream is closed here and cannot be reused"),
            ["the stream is closed here and cannot be reused"]
        );
        for not_a_sentence in [
            "Vector Find Any Element",
            "A Message enum whose variants each store different values",
            "Returns the 8-bit signed saturated equivalent of",
            "raw lifetimes and loop labels of every kind",
        ] {
            assert!(
                sentences_of(not_a_sentence).is_empty(),
                "{not_a_sentence:?} is not a sentence"
            );
        }
    }

    #[test]
    fn release_note_issue_numbers_are_dropped() {
        assert_eq!(
            sentences_of("Emit a warning when the edition field is missing. #13499 #13504"),
            ["Emit a warning when the edition field is missing."]
        );
        assert_eq!(
            sentences_of("The lint now accepts let chains. (#9561)"),
            ["The lint now accepts let chains."]
        );
    }
}
