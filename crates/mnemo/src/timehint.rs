//! Dates named in a recall query.
//!
//! "What did Melanie paint in May 2023?" is about memories whose event time
//! falls in May 2023. [`parse`] finds the most specific absolute date the
//! text names and returns the period it covers (UTC), which recall rewards
//! (see the `recall` module). Recognised, case-insensitively, with or without
//! commas and ordinal suffixes:
//!
//! - `2023-05-07` (a day), `2023-05` (a month);
//! - `7 May 2023`, `May 7, 2023`, `7th of May 2023` (a day);
//! - `May 2023` (a month);
//! - a year from 1900 to 2199 standing alone (`in 2022`).
//!
//! Month names may be abbreviated (`Sep`, `Sept`). Relative dates
//! ("yesterday", "last week") are not resolved: they need a reference time
//! the query does not carry.

use crate::calendar::{
    NANOS_PER_DAY, civil_from_days, days_from_civil, days_in_month, month_from_name,
};
use crate::model::Timestamp;
use crate::query::TimeRange;

fn day_start(year: i64, month: u32, day: u32) -> Timestamp {
    Timestamp(days_from_civil(year, month, day) * NANOS_PER_DAY)
}

/// The period `[first day, last day + 1)`.
fn period(year: i64, month: u32, day: u32, days: i64) -> TimeRange {
    let from = day_start(year, month, day);
    TimeRange::new(Some(from), Some(Timestamp(from.0 + days * NANOS_PER_DAY)))
}

fn month_of(word: &str) -> Option<u32> {
    month_from_name(word.strip_suffix('.').unwrap_or(word))
}

fn year_of(word: &str) -> Option<i64> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
        .filter(|y| (1900..2200).contains(y))
}

fn day_of(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if !matches!(suffix, "" | "st" | "nd" | "rd" | "th") || digits.is_empty() || digits.len() > 2 {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn iso(word: &str) -> Option<TimeRange> {
    let mut parts = word.split('-');
    let year = year_of(parts.next()?)?;
    let month: u32 = parts
        .next()?
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    match parts.next() {
        None => Some(period(
            year,
            month,
            1,
            i64::from(days_in_month(year, month)),
        )),
        Some(d) => {
            let day: u32 = d.parse().ok()?;
            (parts.next().is_none() && (1..=days_in_month(year, month)).contains(&day))
                .then(|| period(year, month, day, 1))
        }
    }
}

/// The `(year, month)` of a timestamp (UTC).
fn year_month(t: Timestamp) -> (i64, u32) {
    let (year, month, _) = civil_from_days(t.0.div_euclid(NANOS_PER_DAY));
    (year, month)
}

/// The period the most specific date in `text` names, if any (see the
/// module docs). A month named without a year (`in June`) is the latest
/// such month at or before `reference` (recall passes the namespace's
/// newest event time).
pub fn parse_at(text: &str, reference: Timestamp) -> Option<TimeRange> {
    if let Some(range) = parse(text) {
        return Some(range);
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let (ref_year, ref_month) = year_month(reference);
    for pair in words.windows(2) {
        if !matches!(
            pair[0],
            "in" | "during" | "since" | "last" | "this" | "early" | "late" | "mid"
        ) {
            continue;
        }
        // "may" alone is too often the verb; take it only after "in".
        if let Some(month) = month_of(pair[1])
            && (pair[1] != "may" || pair[0] == "in")
        {
            let year = if month <= ref_month {
                ref_year
            } else {
                ref_year - 1
            };
            return Some(period(
                year,
                month,
                1,
                i64::from(days_in_month(year, month)),
            ));
        }
    }
    None
}

/// The period the most specific absolute date in `text` names, if any
/// (see the module docs).
pub fn parse(text: &str) -> Option<TimeRange> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '?' | '!' | ';' | '(' | ')' | '"'))
        .map(|w| w.trim_matches(|c: char| c == '\'' || c == '.'))
        .filter(|w| !w.is_empty() && *w != "of" && *w != "the")
        .collect();
    let mut month_hint = None;
    let mut year_hint = None;
    for (i, w) in words.iter().enumerate() {
        if let Some(range) = iso(w) {
            return Some(range);
        }
        let Some(month) = month_of(w) else {
            if year_hint.is_none()
                && let Some(y) = year_of(w)
            {
                year_hint = Some(period(
                    y,
                    1,
                    1,
                    days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1),
                ));
            }
            continue;
        };
        let next = words.get(i + 1).copied();
        let after = words.get(i + 2).copied();
        let prev = i.checked_sub(1).map(|j| words[j]);
        // "7 May 2023"
        if let (Some(d), Some(y)) = (prev.and_then(day_of), next.and_then(year_of))
            && d <= days_in_month(y, month)
        {
            return Some(period(y, month, d, 1));
        }
        // "May 7, 2023"
        if let (Some(d), Some(y)) = (next.and_then(day_of), after.and_then(year_of))
            && d <= days_in_month(y, month)
        {
            return Some(period(y, month, d, 1));
        }
        // "May 2023"
        if month_hint.is_none()
            && let Some(y) = next.and_then(year_of)
        {
            month_hint = Some(period(y, month, 1, i64::from(days_in_month(y, month))));
        }
    }
    month_hint.or(year_hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i64, m: u32, d: u32) -> Timestamp {
        day_start(y, m, d)
    }

    #[test]
    fn finds_the_most_specific_date() {
        let may7 = TimeRange::new(Some(day(2023, 5, 7)), Some(day(2023, 5, 8)));
        for q in [
            "What did Caroline do on 7 May 2023?",
            "what happened on May 7, 2023",
            "the 7th of May, 2023",
            "notes from 2023-05-07",
            "In 2022 or on 7 May 2023?",
        ] {
            assert_eq!(parse(q), Some(may7), "{q}");
        }
        assert_eq!(
            parse("What did Melanie paint in May 2023?"),
            Some(TimeRange::new(Some(day(2023, 5, 1)), Some(day(2023, 6, 1))))
        );
        assert_eq!(
            parse("trips in Sept. 2024"),
            Some(TimeRange::new(
                Some(day(2024, 9, 1)),
                Some(day(2024, 10, 1))
            ))
        );
        assert_eq!(
            parse("What did I buy in 2022?"),
            Some(TimeRange::new(Some(day(2022, 1, 1)), Some(day(2023, 1, 1))))
        );
        assert_eq!(
            parse("February 2024"),
            Some(TimeRange::new(Some(day(2024, 2, 1)), Some(day(2024, 3, 1))))
        );
    }

    #[test]
    fn a_month_without_a_year_is_the_latest_before_the_reference() {
        let reference = day(2023, 8, 20);
        assert_eq!(year_month(reference), (2023, 8));
        assert_eq!(year_month(day(2024, 2, 29)), (2024, 2));
        assert_eq!(year_month(day(1969, 12, 31)), (1969, 12));
        assert_eq!(
            parse_at("When did Melanie go camping in June?", reference),
            Some(TimeRange::new(Some(day(2023, 6, 1)), Some(day(2023, 7, 1))))
        );
        assert_eq!(
            parse_at("what happened in December", reference),
            Some(TimeRange::new(
                Some(day(2022, 12, 1)),
                Some(day(2023, 1, 1))
            ))
        );
        assert_eq!(parse_at("You may go now", reference), None);
        assert_eq!(parse_at("I may in fact", reference), None);
        // An absolute date wins.
        assert_eq!(
            parse_at("in June 2021", reference),
            Some(TimeRange::new(Some(day(2021, 6, 1)), Some(day(2021, 7, 1))))
        );
    }

    #[test]
    fn ignores_what_is_not_a_date() {
        for q in [
            "",
            "When did Caroline go to the support group?",
            "may I ask about the march",
            "31 February 2023 is no day",
            "room 1234 and 99999",
            "2023-13-01",
            "2023-02-30",
        ] {
            let hint = parse(q);
            if q.starts_with("31 February") {
                // Not a day, but "February 2023" is still a month.
                assert_eq!(
                    hint,
                    Some(TimeRange::new(Some(day(2023, 2, 1)), Some(day(2023, 3, 1))))
                );
            } else {
                assert_eq!(hint, None, "{q}");
            }
        }
    }
}
