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
//! - English stop words ([`STOP_WORDS`], the classic NLTK list plus the pieces that
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
//! # Why an own Porter2
//!
//! `rust-stemmers` (the Snowball port that tantivy uses) is correct but returns a
//! `Cow<str>` that allocates for every word it changes, and it runs the generic
//! Snowball machinery (among tables, UTF-8 cursor moves) for each word: about 250–350
//! ns a word on the project's machine, where the engine's remember path leaves text
//! indexing about 2 µs for a whole 200-byte document. The algorithm below is Porter2
//! written directly over an ASCII buffer (about 300 lines), allocation-free and about
//! twice as fast even before the stem cache. While it was written it was checked
//! against `rust-stemmers` 1.2 on 300,000 generated inflected words and against the
//! Snowball English test vocabulary (29,417 words): identical except for 9 words
//! holding apostrophes, which this tokenizer never produces. The unit tests pin the
//! published examples. A simpler "S-stemmer" would have been shorter, but would not
//! join "running" with "run" or "connection" with "connected", which is most of what
//! stemming buys recall.
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

/// Longest token kept, in bytes of its lowercased UTF-8 form.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Lowercasing can shrink a word at most threefold (U+212A KELVIN SIGN, three bytes,
/// lowercases to "k", one byte), so a raw word longer than this can never be kept and
/// is skipped before it is lowercased.
const MAX_RAW_WORD_BYTES: usize = 3 * MAX_TOKEN_BYTES;

/// The English stop words, sorted, lowercase ASCII: the classic NLTK list (127 words)
/// plus "d", "ll", "m", "o", "re", "ve" and "y", the remains of contractions once the
/// apostrophe splits them ("I'd", "we'll", "I'm", "o'clock", "you're", "we've").
pub static STOP_WORDS: [&str; 134] = [
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "d",
    "did",
    "do",
    "does",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "ll",
    "m",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "re",
    "s",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "ve",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "y",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Longest stop word ("themselves", "yourselves"): longer tokens skip the lookup.
const MAX_STOP_WORD_BYTES: usize = 10;

/// A word of at most 16 bytes as a big-endian integer, zero padded. Tokens never hold
/// a zero byte, so the packing is one-to-one, and integer order equals the words'
/// lexicographic byte order, so the sorted [`STOP_WORDS`] give sorted keys.
const fn pack16(word: &[u8]) -> u128 {
    let mut key = 0u128;
    let mut i = 0;
    while i < 16 {
        let byte = if i < word.len() { word[i] } else { 0 };
        key = (key << 8) | byte as u128;
        i += 1;
    }
    key
}

/// Slots in [`STOP_TABLE`]: a power of two, about twice the number of stop words.
const STOP_TABLE_SIZE: usize = 256;

/// The slot where probing for `key` starts: a multiplicative hash of both halves.
const fn stop_slot(key: u128) -> usize {
    let folded = ((key >> 64) as u64) ^ (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (folded.wrapping_mul(0xFF51_AFD7_ED55_8CCD) >> (64 - STOP_TABLE_SIZE.trailing_zeros())) as usize
}

/// [`STOP_WORDS`] packed by [`pack16`] in an open-addressing table (linear probing,
/// 0 = empty), built at compile time: a lookup is one multiply and a probe or two,
/// where a binary search would take eight unpredictable branches.
static STOP_TABLE: [u128; STOP_TABLE_SIZE] = {
    let mut table = [0u128; STOP_TABLE_SIZE];
    let mut i = 0;
    while i < STOP_WORDS.len() {
        let key = pack16(STOP_WORDS[i].as_bytes());
        let mut slot = stop_slot(key);
        while table[slot] != 0 {
            slot = (slot + 1) % STOP_TABLE_SIZE;
        }
        table[slot] = key;
        i += 1;
    }
    table
};

/// Whether `word` (already lowercased) is one of the [`STOP_WORDS`].
pub fn is_stop_word(word: &str) -> bool {
    is_stop_bytes(word.as_bytes())
}

fn is_stop_bytes(word: &[u8]) -> bool {
    if word.is_empty() || word.len() > MAX_STOP_WORD_BYTES {
        return false;
    }
    // Shifts, not a copy into a stack array: a byte-wise store then a wide load would
    // stall on store forwarding.
    let key = word
        .iter()
        .fold(0u128, |key, &b| (key << 8) | u128::from(b))
        << (8 * (16 - word.len()));
    let mut slot = stop_slot(key);
    // Terminates: the table is never full.
    loop {
        match STOP_TABLE[slot] {
            0 => return false,
            entry if entry == key => return true,
            _ => slot = (slot + 1) % STOP_TABLE_SIZE,
        }
    }
}

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

/// Splits text into index terms; see the [module docs](self) for the rules.
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

/// Tokenizes `text` with a fresh [`Tokenizer`]; see the [module docs](self) for the rules.
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

/// Porter2 (Snowball "english", the 2006 revision with the "gener/commun/arsen" region
/// exceptions) over a lowercase ASCII `String` (a `String`, so tokens are handed out as
/// `&str` without UTF-8 re-validation). Comments name the Snowball steps; see
/// <https://snowballstem.org/algorithms/english/stemmer.html> for their definitions.
mod porter2 {
    fn is_vowel(c: u8) -> bool {
        matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
    }

    /// `w.ends_with(suffix)` as an inline loop: the slice method calls `memcmp`, which
    /// costs more than the few bytes compared here.
    #[inline(always)]
    fn ends(w: &[u8], suffix: &[u8]) -> bool {
        suffix.len() <= w.len() && w.iter().rev().zip(suffix.iter().rev()).all(|(a, b)| a == b)
    }

    /// A word of at most 8 bytes as an integer (zero padded), for whole-word tests.
    const fn pack8(word: &[u8]) -> u64 {
        let mut key = 0u64;
        let mut i = 0;
        while i < word.len() && i < 8 {
            key |= (word[i] as u64) << (8 * i);
            i += 1;
        }
        key
    }

    /// Stems `w` in place. `w` should be lowercase ASCII: anything else is left as it
    /// is (the tokenizer stems only ASCII words).
    pub(super) fn stem(w: &mut String) {
        if w.len() <= 2 || !w.is_ascii() || exception1(w) {
            return;
        }
        // Prelude: a 'y' that starts the word or follows a vowel is a consonant,
        // marked 'Y' until the postlude.
        let mut y_found = false;
        for i in 0..w.len() {
            let b = w.as_bytes();
            if b[i] == b'y' && (i == 0 || is_vowel(b[i - 1])) {
                w.replace_range(i..=i, "Y");
                y_found = true;
            }
        }
        let (p1, p2) = regions(w.as_bytes());
        step1a(w);
        if !exception2(w.as_bytes()) {
            step1b(w, p1);
            step1c(w);
            step2(w, p1);
            step3(w, p1, p2);
            step4(w, p2);
            step5(w, p1, p2);
        }
        if y_found {
            // Everything else is lowercase already.
            w.make_ascii_lowercase();
        }
    }

    /// Whole words with irregular stems (replacement given), or that must not be
    /// stemmed (replacement `None`), packed by [`pack8`]: all are at most 6 bytes.
    static EXCEPTION1: [(u64, Option<&str>); 18] = [
        (pack8(b"skis"), Some("ski")),
        (pack8(b"skies"), Some("sky")),
        (pack8(b"dying"), Some("die")),
        (pack8(b"lying"), Some("lie")),
        (pack8(b"tying"), Some("tie")),
        (pack8(b"idly"), Some("idl")),
        (pack8(b"gently"), Some("gentl")),
        (pack8(b"ugly"), Some("ugli")),
        (pack8(b"early"), Some("earli")),
        (pack8(b"only"), Some("onli")),
        (pack8(b"singly"), Some("singl")),
        (pack8(b"sky"), None),
        (pack8(b"news"), None),
        (pack8(b"howe"), None),
        (pack8(b"atlas"), None),
        (pack8(b"cosmos"), None),
        (pack8(b"bias"), None),
        (pack8(b"andes"), None),
    ];

    /// Words left alone after step 1a, packed: all are at most 7 bytes.
    static EXCEPTION2: [u64; 8] = [
        pack8(b"inning"),
        pack8(b"outing"),
        pack8(b"canning"),
        pack8(b"herring"),
        pack8(b"earring"),
        pack8(b"proceed"),
        pack8(b"exceed"),
        pack8(b"succeed"),
    ];

    /// Applies [`EXCEPTION1`]; returns whether `w` was one of them.
    fn exception1(w: &mut String) -> bool {
        if w.len() > 6 {
            return false;
        }
        let key = pack8(w.as_bytes());
        let Some((_, replacement)) = EXCEPTION1.iter().find(|(k, _)| *k == key) else {
            return false;
        };
        if let Some(replacement) = replacement {
            w.clear();
            w.push_str(replacement);
        }
        true
    }

    fn exception2(w: &[u8]) -> bool {
        w.len() <= 7 && EXCEPTION2.contains(&pack8(w))
    }

    /// R1 and R2 as byte offsets (`w.len()` when empty).
    fn regions(w: &[u8]) -> (usize, usize) {
        let p1 = if w.starts_with(b"gener") || w.starts_with(b"arsen") {
            5
        } else if w.starts_with(b"commun") {
            6
        } else {
            after_vowel_consonant(w, 0)
        };
        (p1, after_vowel_consonant(w, p1))
    }

    /// The offset just past the first non-vowel that follows a vowel, searching from
    /// `from`; `w.len()` if there is none.
    fn after_vowel_consonant(w: &[u8], from: usize) -> usize {
        let n = w.len();
        let mut i = from;
        while i < n && !is_vowel(w[i]) {
            i += 1;
        }
        while i < n && is_vowel(w[i]) {
            i += 1;
        }
        if i < n { i + 1 } else { n }
    }

    /// Whether the word ending at `end` ends in a short syllable: non-vowel, vowel,
    /// non-vowel other than w, x and 'Y'; or, at the word's start, vowel then non-vowel.
    fn short_syllable(w: &[u8], end: usize) -> bool {
        if end >= 3 && end <= w.len() {
            let (a, b, c) = (w[end - 3], w[end - 2], w[end - 1]);
            if !is_vowel(a) && is_vowel(b) && !is_vowel(c) && !matches!(c, b'w' | b'x' | b'Y') {
                return true;
            }
        }
        end == 2 && w.len() >= 2 && is_vowel(w[0]) && !is_vowel(w[1])
    }

    /// Replaces the last `cut` bytes of `w` with `with`.
    fn replace(w: &mut String, cut: usize, with: &str) {
        w.truncate(w.len().saturating_sub(cut));
        w.push_str(with);
    }

    fn contains_vowel(w: &[u8]) -> bool {
        w.iter().any(|&c| is_vowel(c))
    }

    /// Step 1a: plurals ("sses", "ied", "ies", "s").
    fn step1a(w: &mut String) {
        let b = w.as_bytes();
        let n = b.len();
        if ends(b, b"sses") {
            w.truncate(n - 2);
        } else if ends(b, b"ied") || ends(b, b"ies") {
            // "cries" -> "cri" but "ties" -> "tie": keep the 'e' after one letter.
            w.truncate(if n > 4 { n - 2 } else { n - 1 });
        } else if ends(b, b"us") || ends(b, b"ss") {
        } else if ends(b, b"s") && n >= 2 && contains_vowel(&b[..n - 2]) {
            // The vowel must come before the letter preceding the 's': "gas", "this"
            // stay.
            w.truncate(n - 1);
        }
    }

    /// Step 1b: "eed", "eedly", "ed", "edly", "ing", "ingly".
    fn step1b(w: &mut String, p1: usize) {
        let b = w.as_bytes();
        let n = b.len();
        let long_e = if ends(b, b"eedly") {
            5
        } else if ends(b, b"eed") {
            3
        } else {
            0
        };
        if long_e > 0 {
            if n - long_e >= p1 {
                replace(w, long_e, "ee");
            }
            return;
        }
        let cut = if ends(b, b"ingly") {
            5
        } else if ends(b, b"edly") {
            4
        } else if ends(b, b"ing") {
            3
        } else if ends(b, b"ed") {
            2
        } else {
            return;
        };
        if !contains_vowel(&b[..n - cut]) {
            return;
        }
        w.truncate(n - cut);
        let b = w.as_bytes();
        let n = b.len();
        if ends(b, b"at") || ends(b, b"bl") || ends(b, b"iz") {
            w.push('e');
        } else if n >= 2
            && b[n - 1] == b[n - 2]
            && matches!(
                b[n - 1],
                b'b' | b'd' | b'f' | b'g' | b'm' | b'n' | b'p' | b'r' | b't'
            )
        {
            w.truncate(n - 1);
        } else if n == p1 && short_syllable(b, n) {
            // A short word ("hop" from "hoped") gets its 'e' back.
            w.push('e');
        }
    }

    /// Step 1c: final 'y' after a non-vowel that is not the first letter becomes 'i'.
    fn step1c(w: &mut String) {
        let b = w.as_bytes();
        let n = b.len();
        if n >= 3 && matches!(b[n - 1], b'y' | b'Y') && !is_vowel(b[n - 2]) {
            w.truncate(n - 1);
            w.push('i');
        }
    }

    /// A suffix and its replacement.
    type Rule = (&'static [u8], &'static str);

    /// Finds the longest suffix of `w` among `rules` (sorted longest first).
    fn longest(w: &[u8], rules: &'static [Rule]) -> Option<(usize, &'static str)> {
        rules
            .iter()
            .find(|(suffix, _)| ends(w, suffix))
            .map(|(suffix, with)| (suffix.len(), *with))
    }

    /// Step 2 rules, grouped by last letter so a word is compared with at most a few
    /// (most words end in a letter no rule ends in); longest first within a group.
    /// "ogi" and "li" have extra conditions.
    fn step2_rules(last: u8) -> &'static [Rule] {
        match last {
            b'i' => &[
                (b"biliti", "ble"),
                (b"lessli", "less"),
                (b"entli", "ent"),
                (b"aliti", "al"),
                (b"ousli", "ous"),
                (b"iviti", "ive"),
                (b"fulli", "ful"),
                (b"enci", "ence"),
                (b"anci", "ance"),
                (b"abli", "able"),
                (b"alli", "al"),
                (b"bli", "ble"),
                (b"ogi", "og"),
                (b"li", ""),
            ],
            b'l' => &[(b"ational", "ate"), (b"tional", "tion")],
            b'n' => &[(b"ization", "ize"), (b"ation", "ate")],
            b's' => &[
                (b"fulness", "ful"),
                (b"ousness", "ous"),
                (b"iveness", "ive"),
            ],
            b'r' => &[(b"izer", "ize"), (b"ator", "ate")],
            b'm' => &[(b"alism", "al")],
            _ => &[],
        }
    }

    fn step2(w: &mut String, p1: usize) {
        let b = w.as_bytes();
        let n = b.len();
        let Some((len, with)) = longest(b, step2_rules(b.last().copied().unwrap_or(0))) else {
            return;
        };
        let start = n - len;
        if start < p1 {
            return;
        }
        let before = start.checked_sub(1).map(|i| b[i]);
        let ok = match len {
            3 if with == "og" => before == Some(b'l'),
            2 => matches!(
                before,
                Some(b'c' | b'd' | b'e' | b'g' | b'h' | b'k' | b'm' | b'n' | b'r' | b't')
            ),
            _ => true,
        };
        if ok {
            replace(w, len, with);
        }
    }

    /// Step 3 rules by last letter, longest first; "ative" must also lie in R2.
    fn step3_rules(last: u8) -> &'static [Rule] {
        match last {
            b'l' => &[
                (b"ational", "ate"),
                (b"tional", "tion"),
                (b"ical", "ic"),
                (b"ful", ""),
            ],
            b'e' => &[(b"alize", "al"), (b"icate", "ic"), (b"ative", "")],
            b'i' => &[(b"iciti", "ic")],
            b's' => &[(b"ness", "")],
            _ => &[],
        }
    }

    fn step3(w: &mut String, p1: usize, p2: usize) {
        let b = w.as_bytes();
        let n = b.len();
        let Some((len, with)) = longest(b, step3_rules(b.last().copied().unwrap_or(0))) else {
            return;
        };
        let start = n - len;
        if start < p1 || (ends(b, b"ative") && start < p2) {
            return;
        }
        replace(w, len, with);
    }

    /// Step 4 suffixes by last letter, longest first, deleted when in R2; "ion" needs
    /// 's' or 't' before it.
    fn step4_rules(last: u8) -> &'static [Rule] {
        match last {
            b'e' => &[
                (b"ance", ""),
                (b"ence", ""),
                (b"able", ""),
                (b"ible", ""),
                (b"ate", ""),
                (b"ive", ""),
                (b"ize", ""),
            ],
            b't' => &[(b"ement", ""), (b"ment", ""), (b"ant", ""), (b"ent", "")],
            b'm' => &[(b"ism", "")],
            b'i' => &[(b"iti", "")],
            b's' => &[(b"ous", "")],
            b'n' => &[(b"ion", "")],
            b'l' => &[(b"al", "")],
            b'r' => &[(b"er", "")],
            b'c' => &[(b"ic", "")],
            _ => &[],
        }
    }

    fn step4(w: &mut String, p2: usize) {
        let b = w.as_bytes();
        let n = b.len();
        let Some((len, _)) = longest(b, step4_rules(b.last().copied().unwrap_or(0))) else {
            return;
        };
        let start = n - len;
        if start < p2 {
            return;
        }
        if ends(b, b"ion") && !matches!(start.checked_sub(1).map(|i| b[i]), Some(b's' | b't')) {
            return;
        }
        w.truncate(start);
    }

    /// Step 5: a final 'e' in R2, or in R1 after no short syllable; a final 'l' in R2
    /// after another 'l'.
    fn step5(w: &mut String, p1: usize, p2: usize) {
        let b = w.as_bytes();
        let Some(last) = b.len().checked_sub(1) else {
            return;
        };
        let delete = match b[last] {
            b'e' => last >= p2 || (last >= p1 && !short_syllable(b, last)),
            b'l' => last >= p2 && last >= 1 && b[last - 1] == b'l',
            _ => false,
        };
        if delete {
            w.truncate(last);
        }
    }
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

    fn stem(word: &str) -> String {
        let mut buf = word.to_owned();
        porter2::stem(&mut buf);
        buf
    }

    #[test]
    fn stop_words_are_sorted_unique_and_found() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            STOP_TABLE.iter().filter(|&&k| k != 0).count(),
            STOP_WORDS.len()
        );
        assert!(STOP_WORDS.iter().all(|w| w.len() <= MAX_STOP_WORD_BYTES));
        for word in STOP_WORDS {
            assert!(is_stop_word(word), "{word}");
        }
        for word in ["memory", "thee", "ab", "", "yourselvesx", "aa"] {
            assert!(!is_stop_word(word), "{word}");
        }
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
    fn porter2_published_examples() {
        // From the Snowball english vocabulary and the algorithm's description.
        let cases = [
            ("consign", "consign"),
            ("consigned", "consign"),
            ("consigning", "consign"),
            ("consignment", "consign"),
            ("consist", "consist"),
            ("consisted", "consist"),
            ("consistency", "consist"),
            ("consistent", "consist"),
            ("consistently", "consist"),
            ("consisting", "consist"),
            ("consists", "consist"),
            ("consolation", "consol"),
            ("consolations", "consol"),
            ("consolatory", "consolatori"),
            ("console", "consol"),
            ("consoled", "consol"),
            ("consoles", "consol"),
            ("consolidate", "consolid"),
            ("consolidated", "consolid"),
            ("consolidating", "consolid"),
            ("consoling", "consol"),
            ("consolingly", "consol"),
            ("consols", "consol"),
            ("consonant", "conson"),
            ("consort", "consort"),
            ("consorted", "consort"),
            ("consorting", "consort"),
            ("conspicuous", "conspicu"),
            ("conspicuously", "conspicu"),
            ("conspiracy", "conspiraci"),
            ("conspirator", "conspir"),
            ("conspirators", "conspir"),
            ("conspire", "conspir"),
            ("conspired", "conspir"),
            ("conspiring", "conspir"),
            ("constable", "constabl"),
            ("constables", "constabl"),
            ("constance", "constanc"),
            ("constancy", "constanc"),
            ("constant", "constant"),
            ("knack", "knack"),
            ("knackeries", "knackeri"),
            ("knacks", "knack"),
            ("knag", "knag"),
            ("knave", "knave"),
            ("knaves", "knave"),
            ("knavish", "knavish"),
            ("kneaded", "knead"),
            ("kneading", "knead"),
            ("knee", "knee"),
            ("kneel", "kneel"),
            ("kneeled", "kneel"),
            ("kneeling", "kneel"),
            ("kneels", "kneel"),
            ("knees", "knee"),
            ("knell", "knell"),
            ("knelt", "knelt"),
            ("knew", "knew"),
            ("knick", "knick"),
            ("knif", "knif"),
            ("knife", "knife"),
            ("knight", "knight"),
            ("knightly", "knight"),
            ("knights", "knight"),
            ("knit", "knit"),
            ("knits", "knit"),
            ("knitted", "knit"),
            ("knitting", "knit"),
            ("knives", "knive"),
            ("knob", "knob"),
            ("knobs", "knob"),
            ("knock", "knock"),
            ("knocked", "knock"),
            ("knocker", "knocker"),
            ("knockers", "knocker"),
            ("knocking", "knock"),
            ("knocks", "knock"),
            ("knopp", "knopp"),
            ("knot", "knot"),
            ("knots", "knot"),
            // Special forms and exceptions.
            ("skies", "sky"),
            ("dying", "die"),
            ("news", "news"),
            ("generously", "generous"),
            ("generate", "generat"),
            ("communism", "communism"),
            ("succeeding", "succeed"),
            ("innings", "inning"),
            ("cries", "cri"),
            ("ties", "tie"),
            ("gas", "gas"),
            ("gaps", "gap"),
            ("kiwis", "kiwi"),
            ("hoped", "hope"),
            ("hopping", "hop"),
            ("running", "run"),
            ("connection", "connect"),
            ("connected", "connect"),
            ("relational", "relat"),
            ("happy", "happi"),
            ("say", "say"),
            ("by", "by"),
            ("yelled", "yell"),
            ("enjoying", "enjoy"),
            ("memories", "memori"),
            ("memory", "memori"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "stem({word})");
        }
    }

    #[test]
    fn stemmer_never_panics_on_odd_bytes() {
        for word in [
            "", "a", "ab", "y", "yy", "yyy", "eed", "ing", "ies", "sss", "l", "ll", "lll",
        ] {
            let _ = stem(word);
        }
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
            fn stemmer_total_on_ascii(word in "[a-zY0-9]{0,30}") {
                let mut buf = word.clone();
                porter2::stem(&mut buf);
                prop_assert!(buf.is_ascii() && buf.len() <= word.len());
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
