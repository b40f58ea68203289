//! Case-insensitive substring match, for "content contains" filters.
//!
//! [`ContainsNeedle`] answers whether a haystack, lowercased character by character
//! (`char::to_lowercase`, no final-sigma or locale rules), contains the needle
//! lowercased the same way. The empty needle matches everything. A call allocates
//! nothing; the needle is prepared once.
//!
//! # How
//!
//! - **ASCII needle** (after lowercasing): search bytes. The two needle bytes rarest
//!   in English text (a frequency table, memchr's "rare byte" heuristic) and its last
//!   byte are looked for at their offsets, in both cases, 32 candidate positions at a
//!   time with branch-free comparisons that the compiler turns into SIMD compares
//!   (SSE2 on x86-64, simd128 on wasm when enabled, plain words elsewhere); only
//!   positions where all three match are verified with `eq_ignore_ascii_case`. The
//!   last byte costs little and tells "meetings" from the "meeting" a text is full
//!   of, which rare bytes cannot (that case ran 3× slower without it). No `unsafe`
//!   and no run-time CPU detection is needed.
//! - Byte search is exact because an ASCII needle can only match ASCII bytes, and
//!   non-ASCII characters lowercase to non-ASCII ones — except two: U+212A KELVIN SIGN
//!   lowercases to "k" and U+0130 'İ' to "i" + U+0307. So when the needle holds a 'k'
//!   or an 'i' and the haystack holds one of those two characters (checked only when
//!   the haystack is not pure ASCII), the general path below answers instead.
//! - **Other needles**: Knuth–Morris–Pratt over the haystack's lowercase character
//!   stream, linear in the haystack, without allocating. A needle with a non-ASCII
//!   character cannot occur in a pure-ASCII haystack, which is checked first.
//!
//! # Speed
//!
//! Release mode, x86-64 (SSE2 code only), the project's shared 2-vCPU machine, 1 KiB
//! English texts, absent 5–10 letter ASCII needles: 4–8 GB/s (best of several runs;
//! the ignored test `throughput` measures it). Non-ASCII needles take the character
//! path, about 0.9 GB/s over non-ASCII texts and a single `is_ascii` pass over ASCII
//! ones.

/// A prepared case-insensitive substring search; see the [module docs](self).
///
/// ```
/// use mnemo::contains::ContainsNeedle;
///
/// let needle = ContainsNeedle::new("Database");
/// assert!(needle.matches("the DATABASE migration"));
/// assert!(!needle.matches("data base"));
/// assert!(ContainsNeedle::new("straße").matches("STRAßE 5"));
/// assert!(ContainsNeedle::new("").matches("anything"));
/// ```
#[derive(Debug, Clone)]
pub struct ContainsNeedle {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Empty,
    Ascii(AsciiNeedle),
    General(CharNeedle),
}

impl ContainsNeedle {
    /// Prepares `needle` (lowercased here, once).
    pub fn new(needle: &str) -> Self {
        let lower: String = needle.chars().flat_map(char::to_lowercase).collect();
        let kind = if lower.is_empty() {
            Kind::Empty
        } else if lower.is_ascii() {
            Kind::Ascii(AsciiNeedle::new(&lower))
        } else {
            Kind::General(CharNeedle::new(&lower))
        };
        Self { kind }
    }

    /// Whether the lowercased `haystack` contains the lowercased needle.
    pub fn matches(&self, haystack: &str) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Ascii(needle) => needle.matches(haystack),
            Kind::General(needle) => !haystack.is_ascii() && needle.matches(haystack),
        }
    }
}

/// How common a byte is in English text, case folded (0 = not listed, rarest). Used
/// only to choose which needle bytes to scan for, so rough is fine.
static BYTE_RANK: [u8; 256] = {
    // Most common first, roughly by frequency in English prose.
    let order = b" etaoinsrhldcumfpgwyb,.v\nk0-'\"1)(2:x/9j3q5z8476;?!_&%$#*@[]+=<>|~^`{}\\\t";
    let mut rank = [0u8; 256];
    let mut i = 0;
    while i < order.len() {
        let value = (255 - i) as u8;
        let byte = order[i];
        rank[byte as usize] = value;
        rank[byte.to_ascii_uppercase() as usize] = value;
        i += 1;
    }
    rank
};

/// A needle byte to scan for: its offset in the needle and its two cases.
#[derive(Debug, Clone, Copy)]
struct RareByte {
    offset: usize,
    lower: u8,
    upper: u8,
}

impl RareByte {
    fn at(needle: &[u8], offset: usize) -> Self {
        let byte = needle.get(offset).copied().unwrap_or(0);
        Self {
            offset,
            lower: byte,
            upper: byte.to_ascii_uppercase(),
        }
    }

    #[inline(always)]
    fn is(self, byte: u8) -> bool {
        (byte == self.lower) | (byte == self.upper)
    }
}

/// A needle that is ASCII after lowercasing.
#[derive(Debug, Clone)]
struct AsciiNeedle {
    lower: Box<[u8]>,
    /// The two rarest bytes, then the last byte (or another): the last byte tells
    /// "meetings" from "meeting", which the rarest bytes cannot.
    probes: [RareByte; 3],
    /// The needle holds 'k' or 'i', which U+212A and U+0130 lowercase to.
    exotic_letters: bool,
    /// Answers when the haystack holds U+212A or U+0130 and `exotic_letters` is set.
    fallback: CharNeedle,
}

impl AsciiNeedle {
    fn new(lower: &str) -> Self {
        let bytes = lower.as_bytes();
        let mut by_rarity: Vec<usize> = (0..bytes.len()).collect();
        by_rarity.sort_unstable_by_key(|&i| (BYTE_RANK[bytes[i] as usize], i));
        let first = by_rarity.first().copied().unwrap_or(0);
        let second = by_rarity.get(1).copied().unwrap_or(first);
        let last = bytes.len().saturating_sub(1);
        let third = [last, 0]
            .into_iter()
            .chain(by_rarity.iter().copied())
            .find(|&i| i != first && i != second)
            .unwrap_or(first);
        Self {
            lower: bytes.into(),
            probes: [
                RareByte::at(bytes, first),
                RareByte::at(bytes, second),
                RareByte::at(bytes, third),
            ],
            exotic_letters: bytes.iter().any(|&b| b == b'k' || b == b'i'),
            fallback: CharNeedle::new(lower),
        }
    }

    fn matches(&self, haystack: &str) -> bool {
        let h = haystack.as_bytes();
        if self.exotic_letters && !haystack.is_ascii() && has_exotic_char(h) {
            return self.fallback.matches(haystack);
        }
        let needle = &self.lower[..];
        scan(h, needle.len(), self.probes, |start| {
            h.get(start..start + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        })
    }
}

/// Whether `h` holds U+0130 (C4 B0) or U+212A (E2 84 AA).
fn has_exotic_char(h: &[u8]) -> bool {
    let lead = RareByte {
        offset: 0,
        lower: 0xC4,
        upper: 0x84,
    };
    let next = RareByte {
        offset: 1,
        lower: 0xB0,
        upper: 0xAA,
    };
    scan(h, 2, [lead, next, next], |at| {
        match (h.get(at), h.get(at + 1)) {
            (Some(0xC4), Some(0xB0)) => true,
            (Some(0x84), Some(0xAA)) => at > 0 && h.get(at - 1) == Some(&0xE2),
            _ => false,
        }
    })
}

/// Candidate positions examined per step of the fast loop.
const CHUNK: usize = 32;

/// Calls `verify(start)` for each `start` in `0..=h.len() - len` where all three
/// `probes` bytes sit at their offsets from `start`, until one returns true. Offsets
/// must be below `len`.
#[inline(always)]
fn scan(
    h: &[u8],
    len: usize,
    probes: [RareByte; 3],
    mut verify: impl FnMut(usize) -> bool,
) -> bool {
    let [p1, p2, p3] = probes;
    let Some(starts) = (h.len() + 1).checked_sub(len) else {
        return false;
    };
    // Byte i of `a` (`b`, `c`) is the first (second, third) probe's byte for start i.
    let (Some(a), Some(b), Some(c)) = (
        h.get(p1.offset..p1.offset + starts),
        h.get(p2.offset..p2.offset + starts),
        h.get(p3.offset..p3.offset + starts),
    ) else {
        return false;
    };
    let hit = |x: u8, y: u8, z: u8| p1.is(x) & p2.is(y) & p3.is(z);
    let mut base = 0;
    for ((ca, cb), cc) in a
        .chunks_exact(CHUNK)
        .zip(b.chunks_exact(CHUNK))
        .zip(c.chunks_exact(CHUNK))
    {
        // Branch-free over the chunk so it compiles to vector compares and one test.
        let mut any = false;
        for ((&x, &y), &z) in ca.iter().zip(cb).zip(cc) {
            any |= hit(x, y, z);
        }
        if any {
            for (j, ((&x, &y), &z)) in ca.iter().zip(cb).zip(cc).enumerate() {
                if hit(x, y, z) && verify(base + j) {
                    return true;
                }
            }
        }
        base += CHUNK;
    }
    for j in base..starts {
        if hit(a[j], b[j], c[j]) && verify(j) {
            return true;
        }
    }
    false
}

/// Knuth–Morris–Pratt over lowercase characters.
#[derive(Debug, Clone)]
struct CharNeedle {
    chars: Box<[char]>,
    /// `fail[i]`: length of the longest proper prefix of `chars[..=i]` that is also
    /// its suffix.
    fail: Box<[usize]>,
}

impl CharNeedle {
    fn new(lower: &str) -> Self {
        let chars: Box<[char]> = lower.chars().collect();
        let mut fail = vec![0usize; chars.len()];
        let mut k = 0;
        for i in 1..chars.len() {
            while k > 0 && chars[i] != chars[k] {
                k = fail[k - 1];
            }
            if chars[i] == chars[k] {
                k += 1;
            }
            fail[i] = k;
        }
        Self {
            chars,
            fail: fail.into(),
        }
    }

    fn matches(&self, haystack: &str) -> bool {
        let m = self.chars.len();
        if m == 0 {
            return true;
        }
        // A match may start inside one character's expansion ("İ" is two characters
        // lowercased), so the automaton runs over the expanded stream.
        let mut q = 0;
        for c in haystack.chars().flat_map(char::to_lowercase) {
            while q > 0 && self.chars[q] != c {
                q = self.fail[q - 1];
            }
            if self.chars[q] == c {
                q += 1;
                if q == m {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lower(s: &str) -> String {
        s.chars().flat_map(char::to_lowercase).collect()
    }

    fn reference(haystack: &str, needle: &str) -> bool {
        lower(haystack).contains(&lower(needle))
    }

    #[test]
    fn only_two_non_ascii_chars_lowercase_to_ascii() {
        let found: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
            .collect();
        assert_eq!(found, ['\u{130}', '\u{212A}']);
    }

    #[test]
    fn ascii_cases() {
        let n = ContainsNeedle::new("Kubernetes");
        assert!(n.matches("we run KUBERNETES in prod"));
        assert!(n.matches("kubernetes"));
        assert!(!n.matches("kubernete"));
        assert!(!n.matches(""));
        assert!(n.matches(&format!("{}kubernetes", "x".repeat(100))));
        assert!(n.matches(&format!("{}kuBernetes{}", "y".repeat(31), "z".repeat(40))));
        assert!(ContainsNeedle::new("a").matches("bbbA"));
        assert!(!ContainsNeedle::new("a").matches("bbbb"));
        assert!(ContainsNeedle::new("3.14").matches("pi is 3.14159"));
        assert!(ContainsNeedle::new("").matches(""));
    }

    #[test]
    fn every_position_and_length() {
        let text = "The quick brown fox jumps over the lazy dog while Kubernetes pods restart; 42!";
        for start in 0..text.len() {
            for end in start + 1..=text.len() {
                let needle = &text[start..end];
                let upper = needle.to_ascii_uppercase();
                assert!(ContainsNeedle::new(&upper).matches(text), "{upper:?}");
            }
        }
        assert!(!ContainsNeedle::new("dogs").matches(text));
    }

    #[test]
    fn kelvin_sign_and_dotted_i() {
        // U+212A lowercases to 'k'.
        assert!(ContainsNeedle::new("kelvin").matches("\u{212A}ELVIN scale"));
        assert!(ContainsNeedle::new("\u{212A}elvin").matches("kelvin"));
        assert!(ContainsNeedle::new("ok").matches("O\u{212A}"));
        // U+0130 lowercases to "i\u{307}": "i" then a combining dot.
        assert!(ContainsNeedle::new("i").matches("\u{130}"));
        assert!(ContainsNeedle::new("stanbul").matches("\u{130}STANBUL"));
        assert!(!ContainsNeedle::new("istanbul").matches("\u{130}STANBUL"));
        assert!(ContainsNeedle::new("i\u{307}stanbul").matches("\u{130}STANBUL"));
        assert!(ContainsNeedle::new("\u{307}s").matches("\u{130}S"));
        // Non-ASCII haystacks without those two keep the fast path.
        assert!(ContainsNeedle::new("kiwi").matches("— KIWI — “fruit”"));
    }

    #[test]
    fn non_ascii_needles() {
        assert!(ContainsNeedle::new("ÉCOLE").matches("une école"));
        assert!(ContainsNeedle::new("école").matches("UNE ÉCOLE"));
        assert!(!ContainsNeedle::new("école").matches("une ecole"));
        assert!(ContainsNeedle::new("ΣΟΦΙΑ").matches("σοφια"));
        // No final-sigma rule: 'Σ' lowercases to 'σ', never 'ς'.
        assert!(!ContainsNeedle::new("ς").matches("ΟΔΟΣ"));
        assert!(ContainsNeedle::new("🦀").matches("rust 🦀!"));
        assert!(!ContainsNeedle::new("🦀").matches("rust"));
        assert!(ContainsNeedle::new("東京").matches("東京タワー"));
        assert!(ContainsNeedle::new("abab\u{e9}").matches("ababab\u{c9}"));
    }

    fn mixed_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            'a', 'b', 'k', 'i', 'K', 'I', 'A', 'B', 's', 'S', ' ', '1', 'ß', 'é', 'É', 'ÿ', 'Ÿ',
            'Σ', 'σ', 'ς', 'Ω', '\u{2126}', '\u{212A}', '\u{130}', 'ı', '\u{307}', '😀', '東',
        ])
    }

    fn mixed_string(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(mixed_char(), 0..max).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn matches_reference(haystack in mixed_string(80), needle in mixed_string(5)) {
            prop_assert_eq!(
                ContainsNeedle::new(&needle).matches(&haystack),
                reference(&haystack, &needle)
            );
        }

        #[test]
        fn finds_flipped_case_substrings(
            haystack in mixed_string(100),
            range in (0usize..100, 0usize..8),
            flip in any::<bool>(),
        ) {
            let chars: Vec<char> = haystack.chars().collect();
            let start = range.0.min(chars.len());
            let end = (start + range.1).min(chars.len());
            let piece: String = chars[start..end].iter().collect();
            let needle = if flip { piece.to_uppercase() } else { piece };
            prop_assert_eq!(
                ContainsNeedle::new(&needle).matches(&haystack),
                reference(&haystack, &needle)
            );
        }

        #[test]
        fn ascii_matches_reference(haystack in "[a-cA-C .]{0,200}", needle in "[a-cA-C .]{1,6}") {
            prop_assert_eq!(
                ContainsNeedle::new(&needle).matches(&haystack),
                reference(&haystack, &needle)
            );
        }

        #[test]
        fn any_text_matches_reference(haystack in "\\PC{0,60}", needle in "\\PC{0,4}") {
            prop_assert_eq!(
                ContainsNeedle::new(&needle).matches(&haystack),
                reference(&haystack, &needle)
            );
        }
    }

    /// `cargo test --release -p mnemo contains::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore = "measures speed; run by hand in release mode"]
    fn throughput() {
        use std::time::Instant;
        let words = [
            "the", "memory", "agent", "stored", "a", "note", "about", "meeting", "with", "team",
            "project", "deadline", "was", "moved", "to", "friday", "because", "of", "review",
            "and", "feedback", "from", "users", "on", "search", "results", "quality", "latency",
            "improved", "after", "index", "changes", "we", "should", "check", "logs", "again",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut texts = Vec::new();
        for _ in 0..4000 {
            let mut text = String::new();
            while text.len() < 1024 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(words[(seed % words.len() as u64) as usize]);
                text.push(if seed.is_multiple_of(11) { '.' } else { ' ' });
            }
            texts.push(text);
        }
        let bytes: usize = texts.iter().map(String::len).sum();
        // "Meetings" and "feedbacks" extend words the texts are full of: their rare
        // bytes match often and each candidate is verified, the slow case.
        for word in [
            "kubernetes",
            "zeppelin",
            "database",
            "Meetings",
            "feedbacks",
        ] {
            let needle = ContainsNeedle::new(word);
            // Best of several trials: the machine may be shared.
            let mut best = 0.0f64;
            let mut found = 0;
            for _ in 0..7 {
                let start = Instant::now();
                for text in &texts {
                    found += usize::from(needle.matches(std::hint::black_box(text)));
                }
                best = best.max(bytes as f64 / start.elapsed().as_secs_f64() / 1e9);
            }
            println!("{word:?}: {best:.2} GB/s ({found} matches)");
        }
    }
}
