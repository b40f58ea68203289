//! The tokenizer shared by documents and queries.
//!
//! A token is a maximal run of alphanumeric characters (`char::is_alphanumeric`, so
//! letters and digits of every script), lowercased with Unicode's per-character rules.
//! Then:
//!
//! - Han ideographs and Hiragana become one token per character, because those scripts
//!   put no spaces between words and a whole sentence would otherwise be one long token
//!   that no query matches (Lucene's standard tokenizer does the same). Katakana, Hangul
//!   and every other script keep whole runs.
//! - English stop words ([`STOP_WORDS`](super::STOP_WORDS), the classic NLTK list plus the pieces that
//!   apostrophes leave behind: "don't" gives "don" and "t") are dropped.
//! - Tokens longer than [`MAX_TOKEN_BYTES`] after lowercasing are dropped: they are
//!   hashes, base64 or run-together junk, not words a person searches for.
//! - Pure-ASCII tokens are stemmed with Porter2 (the Snowball "english" stemmer), so
//!   "connected", "connecting" and "connection" all index as "connect". Numbers stay
//!   numbers ("2024", "1990s"). Tokens with other letters ("straße", "école", "東")
//!   are kept lowercased, unstemmed.
//!
//! There is no Unicode normalisation: "é" precomposed and "e" + U+0301 are different
//! (the combining accent is not alphanumeric and splits the word). Documents and
//! queries typed the same way match.
//!
//! The stop words live in [`stopwords`](super::stopwords), the stemmer in
//! [`porter2`]; this file holds the scanning loop and the stem cache.
//!
//! # Cost
//!
//! [`Tokenizer`] keeps one reusable buffer, so a call allocates nothing once the buffer
//! has grown to the longest token (at most 64 bytes). ASCII words are found with one
//! table load per byte, without decoding characters; the stop-word test is a probe
//! into a compile-time hash table of 16-byte integer keys; a long-lived tokenizer
//! remembers the stems of frequent words (see [`Tokenizer`]). Measured on English
//! sentences (the Rust documentation corpus the benchmarks use), in release mode on a
//! shared 2-vCPU machine: about 1.8 µs per 260-byte document, 75 ns per token.

use super::porter2;
use super::stopwords::is_stop_bytes;

/// Longest token kept, in bytes of its lowercased UTF-8 form.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Lowercasing can shrink a word at most threefold (U+212A KELVIN SIGN, three bytes,
/// lowercases to "k", one byte), so a raw word longer than this can never be kept and
/// is skipped before it is lowercased.
const MAX_RAW_WORD_BYTES: usize = 3 * MAX_TOKEN_BYTES;

/// Characters that form a token on their own: Han ideographs (CJK Unified Ideographs
/// and extensions, compatibility ideographs) and Hiragana.
fn is_single_char_token(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{309F}'       // Hiragana
        | '\u{3400}'..='\u{4DBF}'     // CJK Extension A
        | '\u{4E00}'..='\u{9FFF}'     // CJK Unified Ideographs
        | '\u{F900}'..='\u{FAFF}'     // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{3FFFF}') // CJK Extensions B.. (planes 2 and 3)
}

/// Entries in a tokenizer's stem cache (a power of two): 24 bytes each plus 16 bytes
/// of stem text, 320 KiB in all, which fits a core's L2 cache. Measured on English
/// sentences: 84% hits with 4096 entries, and indexing a document 15% faster with
/// 8192; 16384 gained nothing more.
const STEM_CACHE_SLOTS: usize = 8192;
/// Words a tokenizer stems before it sets up its stem cache, so short-lived tokenizers
/// (one per query) and small indices (a namespace with a few thousand memories, whose
/// whole index is about this size) never pay for it.
const STEM_CACHE_AFTER: u32 = 65_536;
/// Longest word the stem cache holds; Porter2 never lengthens a word, so its stem
/// fits too.
const CACHED_WORD_BYTES: usize = 16;
/// `stem_len` of a cached stop word.
const STOP_MARK: u8 = u8::MAX;

/// Byte classes of the scanning loop: one table load decides a byte's fate.
const SEPARATOR: u8 = 0;
const ASCII_WORD: u8 = 1;
const NON_ASCII: u8 = 2;
static BYTE_CLASS: [u8; 256] = {
    let mut class = [SEPARATOR; 256];
    let mut b = 0;
    while b < 256 {
        if b >= 0x80 {
            class[b] = NON_ASCII;
        } else if (b as u8).is_ascii_alphanumeric() {
            class[b] = ASCII_WORD;
        }
        b += 1;
    }
    class
};

/// One remembered stop-word test and stem of a lowercase ASCII word; the stem's text
/// sits in `Tokenizer::cache_text` at the entry's index × 16.
#[derive(Debug, Clone, Copy, Default)]
struct CachedWord {
    /// The word, lowercased and packed by [`word_key`]; `[0, 0]` marks an empty
    /// entry (words hold no NUL byte).
    word: [u64; 2],
    /// The stem's length, or [`STOP_MARK`].
    stem_len: u8,
}

/// Lowercases eight ASCII bytes at once (bytes below 0x80 only): a byte in 'A'..='Z'
/// gets bit 5 set.
fn lower8(x: u64) -> u64 {
    const ALL: u64 = 0x0101_0101_0101_0101;
    let upper = x.wrapping_add(0x3F * ALL) & !x.wrapping_add(0x25 * ALL) & (0x80 * ALL);
    x | (upper >> 2)
}

/// `n` (0..=8) ASCII bytes of `bytes` from `at`, lowercased, packed little-endian and
/// zero padded. Reads a whole unaligned word when the text has eight bytes there.
fn packed_lower(bytes: &[u8], at: usize, n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    let raw = match bytes
        .get(at..at + 8)
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
    {
        Some(chunk) => u64::from_le_bytes(chunk),
        None => bytes.get(at..at + n).map_or(0, |tail| {
            tail.iter().rev().fold(0, |x, &b| (x << 8) | u64::from(b))
        }),
    };
    let masked = if n >= 8 {
        raw
    } else {
        raw & ((1 << (8 * n)) - 1)
    };
    lower8(masked)
}

/// The stem cache key of the ASCII word `bytes[start..start + len]` (`len` ≤ 16): its
/// lowercase, packed. Built from the text with two word loads rather than byte by
/// byte.
fn word_key(bytes: &[u8], start: usize, len: usize) -> [u64; 2] {
    [
        packed_lower(bytes, start, len.min(8)),
        packed_lower(bytes, start + 8, len.saturating_sub(8)),
    ]
}

fn cache_slot(word: [u64; 2]) -> usize {
    let mixed = (word[0] ^ word[1].rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - STEM_CACHE_SLOTS.trailing_zeros())) as usize
}

/// Splits text into index terms; see [`text`](crate::text) for the rules.
///
/// Holds one reusable buffer: keep a `Tokenizer` around to tokenize many texts
/// without allocating. A tokenizer that has stemmed 65,536 words also sets up a stem
/// cache (320 KiB, direct-mapped, never larger): in English text most words are
/// frequent ones, and a cache hit replaces lowercasing, the stop-word test and Porter2
/// with one probe. The cache changes no output.
///
/// ```
/// use mnemo::text::Tokenizer;
///
/// let mut tokenizer = Tokenizer::new();
/// let mut tokens = Vec::new();
/// tokenizer.tokenize("The cats were RUNNING in 2024!", |t| tokens.push(t.to_owned()));
/// assert_eq!(tokens, ["cat", "run", "2024"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Tokenizer {
    /// The current token, lowercased and stemmed.
    buf: String,
    /// Empty, or [`STEM_CACHE_SLOTS`] entries.
    cache: Vec<CachedWord>,
    /// The cached stems, 16 bytes per entry (ASCII, so any slice is a `&str`).
    cache_text: String,
    /// Words stemmed while the cache is not set up.
    uncached: u32,
}

impl Tokenizer {
    /// A tokenizer with an empty buffer and no stem cache yet.
    pub fn new() -> Self {
        Self {
            buf: String::with_capacity(MAX_TOKEN_BYTES + 8),
            cache: Vec::new(),
            cache_text: String::new(),
            uncached: 0,
        }
    }

    /// Heap bytes held (buffer and stem cache).
    pub(super) fn memory_bytes(&self) -> usize {
        self.buf.capacity()
            + self.cache.capacity() * std::mem::size_of::<CachedWord>()
            + self.cache_text.capacity()
    }

    /// Sets up the stem cache now.
    fn warm_up(&mut self) {
        if self.cache.is_empty() {
            self.cache = vec![CachedWord::default(); STEM_CACHE_SLOTS];
            self.cache_text = " ".repeat(STEM_CACHE_SLOTS * CACHED_WORD_BYTES);
        }
    }

    /// Calls `emit` with each token of `text`, in order. The `&str` lives only for the
    /// call: copy it if you keep it.
    pub fn tokenize(&mut self, text: &str, mut emit: impl FnMut(&str)) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match BYTE_CLASS[usize::from(bytes[i])] {
                SEPARATOR => i += 1,
                ASCII_WORD => {
                    // Most words are pure ASCII: find the run of ASCII alphanumerics
                    // and take the general path only if a non-ASCII character
                    // continues it.
                    let start = i;
                    let mut end = i + 1;
                    while end < bytes.len() && BYTE_CLASS[usize::from(bytes[end])] == ASCII_WORD {
                        end += 1;
                    }
                    if end < bytes.len() && bytes[end] >= 0x80 {
                        i = self.general_word(text, start, &mut emit);
                    } else {
                        self.ascii_word(text, start, end, &mut emit);
                        i = end;
                    }
                }
                _ => i = self.general_word(text, i, &mut emit),
            }
        }
    }

    /// Handles the word `text[start..end]` of ASCII letters and digits.
    fn ascii_word(&mut self, text: &str, start: usize, end: usize, emit: &mut impl FnMut(&str)) {
        let len = end - start;
        if len > MAX_TOKEN_BYTES {
            return;
        }
        if self.cache.is_empty() || len > CACHED_WORD_BYTES {
            self.load_lowercase(text, start, end);
            if self.stop_or_stem() {
                emit(&self.buf);
            }
            if self.cache.is_empty() {
                self.uncached += 1;
                if self.uncached >= STEM_CACHE_AFTER {
                    self.warm_up();
                }
            }
            return;
        }
        let word = word_key(text.as_bytes(), start, len);
        let slot = cache_slot(word);
        let Some(&cached) = self.cache.get(slot) else {
            return;
        };
        let text_at = slot * CACHED_WORD_BYTES;
        // Two scalar compares: comparing the arrays whole would load them as one
        // vector, which stalls on the two scalar stores that just wrote `word`.
        if cached.word[0] == word[0] && cached.word[1] == word[1] {
            if cached.stem_len != STOP_MARK
                && let Some(stem) = self
                    .cache_text
                    .get(text_at..text_at + usize::from(cached.stem_len))
            {
                emit(stem);
            }
            return;
        }
        self.load_lowercase(text, start, end);
        let keep = self.stop_or_stem();
        if keep {
            emit(&self.buf);
        }
        let stem_len = self.buf.len();
        if let Some(entry) = self.cache.get_mut(slot) {
            *entry = CachedWord {
                word,
                stem_len: if keep { stem_len as u8 } else { STOP_MARK },
            };
            // Same length in and out, so the other entries' text stays in place. A
            // stem is never longer than its word.
            if keep && stem_len <= CACHED_WORD_BYTES {
                self.cache_text
                    .replace_range(text_at..text_at + stem_len, &self.buf);
            }
        }
    }

    /// Puts `text[start..end]`, lowercased, in `buf`.
    fn load_lowercase(&mut self, text: &str, start: usize, end: usize) {
        self.buf.clear();
        if let Some(word) = text.get(start..end) {
            self.buf.push_str(word);
        }
        self.buf.make_ascii_lowercase();
    }

    /// Drops the lowercase ASCII word in `buf` if it is a stop word (returns false),
    /// else stems it (returns true).
    fn stop_or_stem(&mut self) -> bool {
        if is_stop_bytes(self.buf.as_bytes()) {
            return false;
        }
        porter2::stem(&mut self.buf);
        true
    }

    /// Handles the word starting at byte `start` (a character boundary) that may hold
    /// non-ASCII characters; returns the byte offset where scanning resumes.
    fn general_word(&mut self, text: &str, start: usize, emit: &mut impl FnMut(&str)) -> usize {
        let Some(rest) = text.get(start..) else {
            return text.len();
        };
        let mut end = start;
        for c in rest.chars() {
            if !c.is_alphanumeric() {
                if end == start {
                    return start + c.len_utf8();
                }
                break;
            }
            // Checked after the alphanumeric test: the Hiragana block also holds
            // combining marks (U+3099..U+309C), which separate like punctuation.
            if is_single_char_token(c) {
                if end == start {
                    let mut utf8 = [0u8; 4];
                    emit(c.encode_utf8(&mut utf8));
                    return start + c.len_utf8();
                }
                break;
            }
            end += c.len_utf8();
        }
        if let Some(word) = text.get(start..end) {
            self.unicode_word(word, emit);
        }
        end
    }

    /// Lowercases a word that may hold non-ASCII characters, then filters and emits it.
    fn unicode_word(&mut self, word: &str, emit: &mut impl FnMut(&str)) {
        if word.len() > MAX_RAW_WORD_BYTES {
            return;
        }
        self.buf.clear();
        for c in word.chars().flat_map(char::to_lowercase) {
            self.buf.push(c);
            if self.buf.len() > MAX_TOKEN_BYTES {
                return;
            }
        }
        // "\u{212A}ING" (Kelvin sign) lowercases to plain ASCII: treat it as the ASCII
        // word it became, so it indexes like "king".
        if !self.buf.is_ascii() || self.stop_or_stem() {
            emit(&self.buf);
        }
    }
}

/// Tokenizes `text` with a fresh [`Tokenizer`]; see [`text`](crate::text) for the rules.
///
/// Allocates one small buffer per call: on hot paths keep a [`Tokenizer`] instead.
///
/// ```
/// let mut tokens = Vec::new();
/// mnemo::text::tokenize("Straße, ÉCOLE and 東京", |t| tokens.push(t.to_owned()));
/// assert_eq!(tokens, ["straße", "école", "東", "京"]);
/// ```
pub fn tokenize(text: &str, emit: impl FnMut(&str)) {
    Tokenizer::new().tokenize(text, emit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize(text, |t| out.push(t.to_owned()));
        out
    }

    /// Bytewise reference for [`word_key`].
    fn pack_word(bytes: &[u8]) -> [u64; 2] {
        let mut packed = [0u64; 2];
        for (i, &b) in bytes.iter().take(CACHED_WORD_BYTES).enumerate() {
            packed[i / 8] |= u64::from(b) << (8 * (i % 8));
        }
        packed
    }

    #[test]
    fn splits_lowercases_and_drops_stop_words() {
        assert_eq!(tokens("The quick, brown FOX!"), ["quick", "brown", "fox"]);
        assert_eq!(tokens("don't stop-words: the, a, an"), ["stop", "word"]);
        assert_eq!(tokens(""), Vec::<String>::new());
        assert_eq!(tokens("  ,,, ;; "), Vec::<String>::new());
        assert_eq!(tokens("the and of"), Vec::<String>::new());
    }

    #[test]
    fn numbers_stay_tokens() {
        assert_eq!(
            tokens("port 8080, v2 and 3.14"),
            ["port", "8080", "v2", "3", "14"]
        );
        assert_eq!(tokens("the 1990s"), ["1990s"]);
    }

    #[test]
    fn unicode_words() {
        assert_eq!(tokens("Straße STRASSE"), ["straße", "strass"]);
        assert_eq!(tokens("ÉCOLE école École"), ["école", "école", "école"]);
        assert_eq!(tokens("Ωμέγα ΣΟΦΙΑ"), ["ωμέγα", "σοφια"]);
        assert_eq!(tokens("naïve café"), ["naïve", "café"]);
        // Kelvin sign lowercases to ASCII 'k' and is then an ordinary English word.
        assert_eq!(tokens("\u{212A}INGS"), ["king"]);
        assert_eq!(tokens("İstanbul"), ["i\u{307}stanbul"]);
        // Emoji are not alphanumeric: separators.
        assert_eq!(tokens("rust🦀crab"), ["rust", "crab"]);
    }

    #[test]
    fn cjk_ideographs_are_single_tokens() {
        assert_eq!(
            tokens("東京タワーに行く"),
            ["東", "京", "タワー", "に", "行", "く"]
        );
        assert_eq!(tokens("한국어 텍스트"), ["한국어", "텍스트"]);
        assert_eq!(tokens("abc東def"), ["abc", "東", "def"]);
    }

    #[test]
    fn long_tokens_are_dropped() {
        let long = "a".repeat(65);
        let ok = "b".repeat(64);
        assert_eq!(tokens(&format!("{long} {ok} x")), [ok.as_str(), "x"]);
        let long_unicode = "é".repeat(33); // 66 bytes
        assert_eq!(tokens(&long_unicode), Vec::<String>::new());
        let kelvins = "\u{212A}".repeat(64); // 192 raw bytes, 64 after lowercasing
        assert_eq!(tokens(&kelvins), ["k".repeat(64)]);
    }

    #[test]
    fn stem_cache_changes_nothing() {
        let text = "The Connected connections were RUNNING, running and runs; it's the \
                    generously communal news of 1990s skies, dying skis and ugly yelling \
                    supercalifragilisticexpialidocious internationalization \u{212A}ING";
        let mut cold = Tokenizer::new();
        let mut warm = Tokenizer::new();
        warm.warm_up();
        for _ in 0..3 {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            cold.tokenize(text, |t| a.push(t.to_owned()));
            warm.tokenize(text, |t| b.push(t.to_owned()));
            assert_eq!(a, b);
        }
        // Warming up by use.
        let mut used = Tokenizer::new();
        let mut words = String::new();
        for i in 0..STEM_CACHE_AFTER {
            words.push_str(&format!("word{i} "));
        }
        used.tokenize(&words, |_| {});
        assert!(!used.cache.is_empty());
    }

    #[test]
    fn reuse_gives_same_tokens() {
        let mut tokenizer = Tokenizer::new();
        let text = "Memories of running databases: Straße, 東京, ÉCOLE 42";
        let mut first = Vec::new();
        tokenizer.tokenize(text, |t| first.push(t.to_owned()));
        let mut second = Vec::new();
        tokenizer.tokenize(text, |t| second.push(t.to_owned()));
        assert_eq!(first, second);
        assert_eq!(first, tokens(text));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn tokens_are_bounded_nonempty_lowercase(text in "\\PC{0,200}") {
                let mut tokenizer = Tokenizer::new();
                tokenizer.tokenize(&text, |t| {
                    assert!(!t.is_empty());
                    assert!(t.len() <= MAX_TOKEN_BYTES);
                    assert!(t.chars().all(char::is_alphanumeric) || t.contains('\u{307}'));
                });
            }

            #[test]
            fn warm_and_cold_tokenizers_agree(text in "[a-zA-Z ,.']{0,300}") {
                let mut cold = Tokenizer::new();
                let mut warm = Tokenizer::new();
                warm.warm_up();
                for _ in 0..2 {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    cold.tokenize(&text, |t| a.push(t.to_owned()));
                    warm.tokenize(&text, |t| b.push(t.to_owned()));
                    prop_assert_eq!(a, b);
                }
            }

            #[test]
            fn swar_lowercase_matches_bytewise(word in "[a-zA-Z0-9]{1,16}", pad in "[ -~]{0,9}") {
                let text = format!("{word}{pad}");
                let key = word_key(text.as_bytes(), 0, word.len());
                prop_assert_eq!(key, pack_word(word.to_ascii_lowercase().as_bytes()));
            }
        }
    }
}
