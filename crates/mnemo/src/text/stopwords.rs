//! The English stop words the tokenizer drops, and a compile-time hash table that
//! tests a token against them in a multiply and a probe or two.

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

/// [`is_stop_word`] over bytes, as the tokenizer holds them.
pub(super) fn is_stop_bytes(word: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
