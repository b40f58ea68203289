//! [`HashEmbedder`]: embeddings without a model, by feature hashing.
//!
//! The text is normalised (lower case; letters and digits form words; every
//! other symbol that is not punctuation or white space, such as an emoji, is
//! a word of its own). Each word contributes three kinds of feature:
//!
//! - the word itself (weight 1, or [`STOP_WORD_WEIGHT`] for a short list of
//!   English function words),
//! - the pair it forms with the previous word (weight [`BIGRAM_WEIGHT`]),
//! - its character 3-grams and 4-grams with `^`/`$` word boundaries (weight
//!   [`CHAR_NGRAM_WEIGHT`] each), so spelling variants and inflections
//!   ("painting", "paintings", "painted") still meet.
//!
//! A feature's 64-bit hash picks a coordinate and a sign (signed feature
//! hashing keeps collisions unbiased). Each coordinate's summed weight `x`
//! then becomes `sign(x)·ln(1 + |x|)`: sublinear term weighting, so a word
//! repeated ten times counts for about three, not ten. The vector is finally
//! L2-normalised.
//!
//! Text with no feature at all (empty, white space or punctuation only) gets
//! the unit vector of one reserved feature, so every output is a unit vector
//! and all such texts embed identically. Only the first [`MAX_INPUT_BYTES`]
//! bytes of a text are read.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::{Embedder, EmbedderInfo, Error, l2_normalize};

/// Dimension of [`HashEmbedder::new`] (the same as all-MiniLM-L6-v2's, so
/// either can back an index of that size).
pub const DEFAULT_DIMENSION: usize = 384;
/// The largest dimension [`HashEmbedder::with_dimension`] accepts.
pub const MAX_DIMENSION: usize = 1 << 16;
/// Bytes of a text that are read; the rest is ignored (cut at a character
/// boundary), which bounds the time per text.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Weight of a word pair relative to a word.
pub const BIGRAM_WEIGHT: f32 = 0.7;
/// Weight of each character n-gram relative to a word.
pub const CHAR_NGRAM_WEIGHT: f32 = 0.25;
/// Weight of a stop word (a, the, of, ...) relative to other words.
pub const STOP_WORD_WEIGHT: f32 = 0.2;

/// Version of the hashing scheme, part of the embedder id: bump it whenever
/// any vector would change.
const SCHEME: &str = "hash-v1";

const SEED_WORD: u64 = 0x6d6e_656d_6f5f_7731;
const SEED_BIGRAM: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_CHAR3: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED_CHAR4: u64 = 0x1656_67b1_9e37_79f9;
/// The feature of a text that has no other.
const EMPTY_FEATURE: u64 = 0x5eed_0000_e111_7700;
/// Marks word boundaries in character n-grams (outside Unicode's range).
const BOUNDARY: u64 = 0x11_0000;

/// The model-free embedder: deterministic feature hashing (see the module
/// documentation for the features and weighting).
///
/// ```
/// use mnemo_embed::{Embedder, HashEmbedder, cosine};
///
/// let e = HashEmbedder::new();
/// let a = e.embed("I painted a lake at sunrise")?;
/// let b = e.embed("She paints lakes at sunrise")?;
/// let c = e.embed("The quarterly tax report is due")?;
/// assert!(cosine(&a, &b) > cosine(&a, &c));
/// # Ok::<(), mnemo_embed::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    info: EmbedderInfo,
}

impl Default for HashEmbedder {
    fn default() -> Self {
        Self::new()
    }
}

impl HashEmbedder {
    /// A hash embedder of [`DEFAULT_DIMENSION`].
    pub fn new() -> Self {
        Self {
            info: EmbedderInfo::new(SCHEME, DEFAULT_DIMENSION),
        }
    }

    /// A hash embedder of `dimension` (1 to [`MAX_DIMENSION`]).
    pub fn with_dimension(dimension: usize) -> Result<Self, Error> {
        if dimension == 0 || dimension > MAX_DIMENSION {
            return Err(Error::InvalidDimension {
                dimension,
                max: MAX_DIMENSION,
            });
        }
        Ok(Self {
            info: EmbedderInfo::new(SCHEME, dimension),
        })
    }

    /// Embeds one text into `out` (cleared and resized to the dimension),
    /// reusing `word` as scratch space: the allocation-free form of
    /// [`Embedder::embed`].
    pub fn embed_into(&self, text: &str, word: &mut String, out: &mut Vec<f32>) {
        self.embed_with(text, word, &mut Ln1pCache::new(), out);
    }

    /// [`HashEmbedder::embed_into`] with a cache of the weighting's
    /// logarithms that a batch shares.
    fn embed_with(&self, text: &str, word: &mut String, logs: &mut Ln1pCache, out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.info.dimension, 0.0);
        let mut sink = Sink {
            acc: out,
            any: false,
        };
        let mut prev_word: Option<u64> = None;
        word.clear();
        for c in truncate(text, MAX_INPUT_BYTES).chars() {
            if c.is_alphanumeric() {
                if c.is_ascii() {
                    word.push(c.to_ascii_lowercase());
                } else {
                    word.extend(c.to_lowercase());
                }
                continue;
            }
            flush_word(word, &mut prev_word, &mut sink);
            if !(c.is_whitespace() || c.is_ascii_punctuation() || c.is_control()) {
                word.push(c);
                flush_word(word, &mut prev_word, &mut sink);
            }
        }
        flush_word(word, &mut prev_word, &mut sink);
        if !sink.any {
            sink.add(EMPTY_FEATURE, 1.0);
        }
        for x in out.iter_mut() {
            *x = logs.signed_ln_1p(*x);
        }
        l2_normalize(out);
    }
}

impl Embedder for HashEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        let mut word = String::new();
        let mut logs = Ln1pCache::new();
        Ok(texts
            .iter()
            .map(|text| {
                let mut out = Vec::with_capacity(self.info.dimension);
                self.embed_with(text, &mut word, &mut logs, &mut out);
                out
            })
            .collect())
    }
}

/// Slots of [`Ln1pCache`].
const LN1P_SLOTS: usize = 256;

/// A direct-mapped cache of the weighting `sign(x)·ln(1 + |x|)` by the
/// exact bits of `x`. A coordinate's sum is made of a few weights (1, 0.7,
/// 0.25, 0.2 and their negatives), so the same handful of values recurs in
/// every vector, and a lookup is several times cheaper than the logarithm.
/// It returns exactly what the formula returns: the same function of the
/// same bits, computed once.
struct Ln1pCache {
    /// The bits of each slot's `x`; `u32::MAX` (a NaN, which no sum of
    /// finite weights is) marks an empty slot.
    keys: [u32; LN1P_SLOTS],
    values: [f32; LN1P_SLOTS],
}

impl Ln1pCache {
    fn new() -> Self {
        Self {
            keys: [u32::MAX; LN1P_SLOTS],
            values: [0.0; LN1P_SLOTS],
        }
    }

    /// `sign(x)·ln(1 + |x|)`.
    #[inline]
    fn signed_ln_1p(&mut self, x: f32) -> f32 {
        let bits = x.to_bits();
        // Fibonacci hashing: the top 8 bits of the product pick the slot.
        let slot = (bits.wrapping_mul(0x9e37_79b1) >> 24) as usize % LN1P_SLOTS;
        if self.keys[slot] == bits {
            return self.values[slot];
        }
        let y = x.signum() * x.abs().ln_1p();
        self.keys[slot] = bits;
        self.values[slot] = y;
        y
    }
}

/// The accumulating vector.
struct Sink<'a> {
    acc: &'a mut [f32],
    /// Whether any feature was added.
    any: bool,
}

impl Sink<'_> {
    /// Adds `weight` with the sign and at the coordinate that `hash` picks.
    #[inline]
    fn add(&mut self, hash: u64, weight: f32) {
        // Multiply-shift maps the high 32 bits uniformly onto 0..len; the
        // lowest bit, independent of them, picks the sign.
        let index = ((hash >> 32) * self.acc.len() as u64) >> 32;
        let signed = if hash & 1 == 0 { weight } else { -weight };
        if let Some(x) = self.acc.get_mut(index as usize) {
            *x += signed;
        }
        self.any = true;
    }
}

/// Adds the features of the word in `word` (if any) and clears it.
fn flush_word(word: &mut String, prev_word: &mut Option<u64>, sink: &mut Sink<'_>) {
    if word.is_empty() {
        return;
    }
    let h = xxh3_64_with_seed(word.as_bytes(), SEED_WORD);
    let weight = if is_stop_word(word) {
        STOP_WORD_WEIGHT
    } else {
        1.0
    };
    sink.add(h, weight);
    if let Some(p) = *prev_word {
        sink.add(mix(p.rotate_left(23) ^ h ^ SEED_BIGRAM), BIGRAM_WEIGHT);
    }
    *prev_word = Some(h);
    char_ngrams(word, sink);
    word.clear();
}

/// Adds the character 3- and 4-grams of `^word$`.
fn char_ngrams(word: &str, sink: &mut Sink<'_>) {
    // The last three characters seen, newest in c1; BOUNDARY before the word.
    let (mut c3, mut c2, mut c1) = (u64::MAX, u64::MAX, BOUNDARY);
    for c in word.chars().map(u64::from).chain(std::iter::once(BOUNDARY)) {
        if c2 != u64::MAX {
            sink.add(mix(pack3(c2, c1, c) ^ SEED_CHAR3), CHAR_NGRAM_WEIGHT);
        }
        if c3 != u64::MAX {
            sink.add(
                mix(mix(pack3(c3, c2, c1) ^ SEED_CHAR4) ^ c),
                CHAR_NGRAM_WEIGHT,
            );
        }
        (c3, c2, c1) = (c2, c1, c);
    }
}

/// Three code points (21 bits each, or [`BOUNDARY`]) in one integer.
#[inline]
fn pack3(a: u64, b: u64, c: u64) -> u64 {
    (a << 42) | (b << 21) | c
}

/// The murmur3 64-bit finaliser: a bijective mix of all input bits.
#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// English function words that carry little meaning on their own.
fn is_stop_word(word: &str) -> bool {
    matches!(
        word,
        "a" | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "but"
            | "by"
            | "do"
            | "for"
            | "from"
            | "has"
            | "have"
            | "i"
            | "in"
            | "is"
            | "it"
            | "its"
            | "me"
            | "my"
            | "of"
            | "on"
            | "or"
            | "s"
            | "so"
            | "that"
            | "the"
            | "this"
            | "to"
            | "was"
            | "we"
            | "were"
            | "with"
            | "you"
            | "your"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    /// Texts covering every path of the embedder: empty, punctuation,
    /// ASCII, accents, CJK, emoji, stop words, short words, repetition,
    /// control characters, and generated sentences.
    fn golden_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "",
            "   ",
            "?!.",
            "Hello, World!",
            "I painted a lake at sunrise",
            "The quarterly tax report is due",
            "naïve café Ünïcödé straße",
            "東京で寿司を食べた 🍣🍣",
            "a a a a a a a a a a the the of",
            "x",
            "ab",
            "abc",
            "user-42 asked about ticket #9981 at 10:45",
            "\u{0}\t\n tabs\tand\nnewlines",
            "ÀÉÎÕÜ ǅ ﬁ İstanbul",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let words = [
            "the", "meeting", "moved", "to", "Friday", "café", "naïve", "🍣", "東京", "x",
            "budget", "Q3", "42", "e-mail", "don't", "ok", "AND", "of",
        ];
        let mut state = 7u64;
        for _ in 0..100 {
            let mut text = String::new();
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..1 + (state >> 59) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(words[(state >> 33) as usize % words.len()]);
                text.push(if state & 3 == 0 { ',' } else { ' ' });
            }
            texts.push(text);
        }
        texts.push("word ".repeat(20_000));
        texts
    }

    /// XXH3-64 of the bits of every golden text's vector at dimensions
    /// 384, 64 and 1000.
    fn golden_digest() -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for text in golden_texts() {
            for d in [384usize, 64, 1000] {
                let e = HashEmbedder::with_dimension(d).expect("dimension");
                for x in e.embed(&text).expect("embed") {
                    h.update(&x.to_bits().to_le_bytes());
                }
            }
        }
        h.digest()
    }

    #[test]
    fn vectors_are_bit_identical_to_the_first_hash_v1() {
        // Namespaces store these vectors under the id `hash-v1`: a change
        // to any bit needs a new scheme id. The digest was taken from the
        // first implementation, before the logarithm cache.
        assert_eq!(golden_digest(), 0xe4df_ae84_4d28_13f3);
    }

    #[test]
    fn the_logarithm_cache_returns_the_formula_for_every_value() {
        let mut logs = Ln1pCache::new();
        let mut x = -40.0f32;
        while x <= 40.0 {
            for _ in 0..2 {
                let want = x.signum() * x.abs().ln_1p();
                assert_eq!(logs.signed_ln_1p(x).to_bits(), want.to_bits(), "{x}");
            }
            x += 0.05;
        }
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn deterministic_unit_vectors_of_the_right_dimension() {
        let e = HashEmbedder::with_dimension(64).expect("dimension 64");
        let a = e.embed("Hello, world!").expect("embed");
        assert_eq!(a.len(), 64);
        assert!((norm(&a) - 1.0).abs() < 1e-5);
        assert_eq!(a, e.embed("Hello, world!").expect("embed"));
        assert_eq!(
            a,
            HashEmbedder::with_dimension(64)
                .expect("dimension 64")
                .embed("hello world")
                .expect("embed")
        );
    }

    #[test]
    fn empty_and_punctuation_share_the_reserved_unit_vector() {
        let e = HashEmbedder::new();
        let empty = e.embed("").expect("embed");
        assert!((norm(&empty) - 1.0).abs() < 1e-5);
        assert_eq!(empty.iter().filter(|x| **x != 0.0).count(), 1);
        assert_eq!(empty, e.embed("  \t\n ").expect("embed"));
        assert_eq!(empty, e.embed("?!...,;").expect("embed"));
        assert_ne!(empty, e.embed("a").expect("embed"));
    }

    #[test]
    fn related_texts_are_closer_than_unrelated_ones() {
        let e = HashEmbedder::new();
        let q = e
            .embed("When did Jon start going to the gym?")
            .expect("embed");
        let hit = e
            .embed("Jon: I started going to the gym last week")
            .expect("embed");
        let miss = e
            .embed("Gina: my store launched a new ad campaign")
            .expect("embed");
        assert!(cosine(&q, &hit) > cosine(&q, &miss) + 0.1);
    }

    #[test]
    fn repetition_is_sublinear() {
        let e = HashEmbedder::new();
        let once = e.embed("cat dog").expect("embed");
        let many = e
            .embed("cat cat cat cat cat cat cat cat dog")
            .expect("embed");
        // With linear weights "dog" would nearly vanish; sublinear keeps it.
        let dog = e.embed("dog").expect("embed");
        assert!(cosine(&many, &dog) > 0.2, "{}", cosine(&many, &dog));
        assert!(cosine(&once, &many) > 0.6);
    }

    #[test]
    fn non_latin_and_symbols_make_features() {
        let e = HashEmbedder::new();
        let empty = e.embed("").expect("embed");
        for text in [
            "東京は日本の首都です。",
            "🙂🚀",
            "Ünïcödé",
            "\u{200d}\u{fffd}\u{202e}x",
        ] {
            let v = e.embed(text).expect("embed");
            assert!((norm(&v) - 1.0).abs() < 1e-5, "{text}");
            assert_ne!(v, empty, "{text}");
        }
    }

    #[test]
    fn a_megabyte_is_truncated_not_refused() {
        let e = HashEmbedder::new();
        let big = "é".repeat(600_000);
        let v = e.embed(&big).expect("embed");
        assert!((norm(&v) - 1.0).abs() < 1e-5);
        assert_eq!(truncate(&big, 5).len(), 4);
    }

    #[test]
    fn dimension_bounds() {
        assert!(HashEmbedder::with_dimension(0).is_err());
        assert!(HashEmbedder::with_dimension(MAX_DIMENSION + 1).is_err());
        let one = HashEmbedder::with_dimension(1).expect("dimension 1");
        assert_eq!(one.embed("x y").expect("embed")[0].abs(), 1.0);
    }
}
