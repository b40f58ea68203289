//! The kind of answer a question asks for, and whether a memory holds one.
//!
//! "Where does Alice live?" asks for a place: of "Alice moved to Lisbon in
//! May" and "Alice started a pottery class", only the first names one.
//! Question-answering systems have long typed the expected answer from the
//! question's wh-word and preferred passages holding an expression of that
//! type (Moldovan et al., "The structure and performance of an open-domain
//! question answering system", ACL 2000). Recall does the same, cheaply and
//! only for English question words, as a bonus on top of the signals
//! ([`crate::recall::SignalWeights::answer_type`]):
//!
//! - **place** (`where`): a capitalised word after a word of place or
//!   motion (`in`, `at`, `to`, `from`, `near`, `visited`, ...), other than
//!   a month or weekday name;
//! - **time** (`when`, `what year`, `how long ago`, ...): a month or
//!   weekday name (capitalised: "in May", not "I may"), a year, a clock
//!   time, or a relative date (`yesterday`, `last week`, `ago`, ...);
//! - **number** (`how many`, `how much`, `how old`, `how long`): a numeral
//!   or a number word.
//!
//! A question that asks none of these (or is not in English) gets no bonus.

use crate::calendar::month_from_name;

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerType {
    /// A place (`where`).
    Place,
    /// A date or time (`when`).
    Time,
    /// A quantity (`how many`).
    Number,
    /// A duration (`how long`): a quantity or a time.
    Duration,
}

/// Words before a place name.
const PLACE_WORDS: &[&str] = &[
    "in", "at", "to", "from", "near", "into", "visited", "visit", "visiting", "around", "across",
    "through", "toward", "towards", "outside", "inside",
];

/// Weekday names, lower-case (months are [`month_from_name`]'s).
const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Words that date something relative to when it was said.
const RELATIVE_TIME_WORDS: &[&str] = &[
    "yesterday",
    "today",
    "tonight",
    "tomorrow",
    "ago",
    "recently",
    "weekend",
    "morning",
    "evening",
    "afternoon",
    "noon",
    "midnight",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
];

/// Words that with a following unit date something (`last week`).
const RELATIVE_TIME_LEADS: &[&str] = &["last", "next", "this", "past", "coming", "previous"];

/// Calendar units after [`RELATIVE_TIME_LEADS`].
const TIME_UNITS: &[&str] = &[
    "day", "days", "week", "weeks", "month", "months", "year", "years", "weekend", "night",
    "summer", "winter", "spring", "fall", "autumn",
];

/// Number words.
const NUMBER_WORDS: &[&str] = &[
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "dozen",
    "couple",
    "once",
    "twice",
    "half",
];

/// The words of `text` (letters, digits, `'` and `:` inside a word), in
/// order, as written.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == ':'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == ':'))
        .filter(|w| !w.is_empty())
}

/// What `question` asks for, from its first question word (`None` for
/// none of the kinds above).
pub(crate) fn asked(question: &str) -> Option<AnswerType> {
    let lower: Vec<String> = words(question).map(str::to_lowercase).collect();
    for (i, w) in lower.iter().enumerate() {
        let next = lower.get(i + 1).map(String::as_str);
        let kind = match (w.as_str(), next) {
            ("where", _) => Some(AnswerType::Place),
            ("when", _) => Some(AnswerType::Time),
            ("what" | "which", Some("year" | "month" | "day" | "date" | "time" | "week")) => {
                Some(AnswerType::Time)
            }
            ("how", Some("many" | "much" | "old")) => Some(AnswerType::Number),
            ("how", Some("long")) => {
                if lower.get(i + 2).is_some_and(|w| w == "ago") {
                    Some(AnswerType::Time)
                } else {
                    Some(AnswerType::Duration)
                }
            }
            ("how" | "what" | "which" | "who" | "whom" | "whose" | "why", _) => return None,
            _ => None,
        };
        if kind.is_some() {
            return kind;
        }
    }
    None
}

/// Whether `content` holds an expression of the kind `kind`.
pub(crate) fn offers(kind: AnswerType, content: &str) -> bool {
    match kind {
        AnswerType::Place => names_place(content),
        AnswerType::Time => names_time(content),
        AnswerType::Number => names_number(content),
        AnswerType::Duration => names_number(content) || names_time(content),
    }
}

/// Whether `word` is one of `list`'s (lower-case) words, in any case (no
/// allocation: this runs over every candidate's words).
fn listed(list: &[&str], word: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(word))
}

/// Whether `word` names a month or a weekday (any case).
fn is_calendar(word: &str) -> bool {
    month_from_name(word).is_some() || listed(WEEKDAYS, word)
}

fn names_place(content: &str) -> bool {
    let mut previous: Option<&str> = None;
    for w in words(content) {
        let capitalised = w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().count() >= 2
            && w.chars().skip(1).all(char::is_lowercase);
        if capitalised
            && previous.is_some_and(|p| listed(PLACE_WORDS, p))
            && !is_calendar(w)
            && !listed(RELATIVE_TIME_WORDS, w)
        {
            return true;
        }
        previous = Some(w);
    }
    false
}

fn names_time(content: &str) -> bool {
    let mut previous = "";
    for w in words(content) {
        let b = w.as_bytes();
        let year = b.len() == 4
            && b.iter().all(u8::is_ascii_digit)
            && (b.starts_with(b"19") || b.starts_with(b"20"));
        let (digits, suffix) = b.split_at(b.len().saturating_sub(2));
        let clock = !digits.is_empty()
            && (suffix.eq_ignore_ascii_case(b"am") || suffix.eq_ignore_ascii_case(b"pm"))
            && digits.iter().all(|c| c.is_ascii_digit() || *c == b':');
        if year
            || clock
            // Capitalised: "in May", not "I may".
            || (w.starts_with(char::is_uppercase) && is_calendar(w))
            || listed(RELATIVE_TIME_WORDS, w)
            || (listed(RELATIVE_TIME_LEADS, previous) && listed(TIME_UNITS, w))
        {
            return true;
        }
        previous = w;
    }
    false
}

fn names_number(content: &str) -> bool {
    words(content).any(|w| w.bytes().any(|b| b.is_ascii_digit()) || listed(NUMBER_WORDS, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_typed_by_their_question_word() {
        assert_eq!(asked("where does alice live"), Some(AnswerType::Place));
        assert_eq!(
            asked("So, when did Bo adopt the dog?"),
            Some(AnswerType::Time)
        );
        assert_eq!(asked("What year did she graduate?"), Some(AnswerType::Time));
        assert_eq!(asked("How long ago was the trip?"), Some(AnswerType::Time));
        assert_eq!(
            asked("how many kids does Ann have"),
            Some(AnswerType::Number)
        );
        assert_eq!(asked("How long has he played?"), Some(AnswerType::Duration));
        assert_eq!(asked("What did Ann paint, and where?"), None);
        assert_eq!(asked("Who moved to Lisbon?"), None);
        assert_eq!(asked("dark mode"), None);
        assert_eq!(asked(""), None);
    }

    #[test]
    fn memories_offer_places_times_and_numbers() {
        assert!(offers(AnswerType::Place, "Alice moved to Lisbon in May"));
        assert!(!offers(AnswerType::Place, "Alice started a pottery class"));
        assert!(!offers(AnswerType::Place, "We met in May, at Noon said I"));
        assert!(offers(AnswerType::Place, "I visited Tokyo"));
        assert!(offers(AnswerType::Time, "Alice moved to Lisbon in May"));
        assert!(offers(AnswerType::Time, "we went hiking last week"));
        assert!(offers(AnswerType::Time, "back in 2019"));
        assert!(offers(AnswerType::Time, "the call is at 9:30am"));
        assert!(!offers(AnswerType::Time, "Alice started a pottery class"));
        assert!(!offers(AnswerType::Time, "I may join the class"));
        assert!(offers(AnswerType::Time, "see you on Friday"));
        assert!(offers(AnswerType::Number, "I have three kids"));
        assert!(offers(AnswerType::Number, "it cost 40 euros"));
        assert!(!offers(AnswerType::Number, "I have kids"));
        assert!(offers(AnswerType::Duration, "for two years now"));
        assert!(!offers(AnswerType::Place, ""));
    }
}
