//! Times as text: RFC 3339 or Unix seconds in, RFC 3339 (UTC) out (the
//! command line and the HTTP API share these).
//!
//! The engine stores a [`Timestamp`] as nanoseconds since the Unix epoch
//! (1677 to 2262). The civil-date arithmetic is the engine's
//! [`crate::calendar`].

pub use crate::calendar::days_in_month;
use crate::calendar::{civil_from_days, days_from_civil};
use crate::model::Timestamp;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A timestamp from a UTC date and time of day, or `None` when it falls
/// outside what a [`Timestamp`] holds (years 1677 to 2262).
pub fn from_civil(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
) -> Option<Timestamp> {
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    secs.checked_mul(NANOS_PER_SEC)?
        .checked_add(i64::from(nanos))
        .map(Timestamp)
}

/// Parses `--at`, `--since`, `--until` and JSON `at` strings: Unix seconds
/// (`1700000000`, `1700000000.25`, `-5`) or RFC 3339 (`2024-05-01T13:00:00Z`,
/// `2024-05-01T15:00:00.5+02:00`; a space may replace the `T`; without an
/// offset the time is taken as UTC; a date alone means its midnight UTC).
pub fn parse(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty time (expected RFC 3339 or Unix seconds)".into());
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
        && !t[1..].contains(['-', '+'])
    {
        return parse_unix(t).ok_or_else(|| format!("{t:?} is not a number of Unix seconds"));
    }
    parse_rfc3339(t).map_err(|why| {
        format!(
            "{t:?} is not a time: {why} (expected RFC 3339 like 2024-05-01T13:00:00Z, or Unix seconds)"
        )
    })
}

/// A timestamp from Unix seconds given as a JSON number.
pub fn from_unix_f64(secs: f64) -> Option<Timestamp> {
    let nanos = secs * 1e9;
    // i64::MAX as f64 rounds up to 2^63, so compare strictly.
    if !nanos.is_finite() || nanos >= i64::MAX as f64 || nanos < i64::MIN as f64 {
        return None;
    }
    Some(Timestamp(nanos.round() as i64))
}

fn parse_unix(t: &str) -> Option<Timestamp> {
    if let Ok(secs) = t.parse::<i64>() {
        return secs.checked_mul(NANOS_PER_SEC).map(Timestamp);
    }
    // Fractional seconds: keep the digits exact instead of going through f64.
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = body.split_once('.')?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac_nanos: i64 = format!("{frac:0<9}").parse().ok()?;
    let nanos = whole.checked_mul(NANOS_PER_SEC)?.checked_add(frac_nanos)?;
    Some(Timestamp(if negative { -nanos } else { nanos }))
}

/// Reads exactly `n` ASCII digits at the front of `s`.
fn digits(s: &mut &str, n: usize, what: &str) -> Result<u32, String> {
    let head = s.get(..n).filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
    let Some(head) = head else {
        return Err(format!("expected {n} digits of the {what}"));
    };
    *s = &s[n..];
    head.parse().map_err(|_| format!("bad {what}"))
}

fn expect(s: &mut &str, c: char, where_: &str) -> Result<(), String> {
    match s.strip_prefix(c) {
        Some(rest) => {
            *s = rest;
            Ok(())
        }
        None => Err(format!("expected '{c}' {where_}")),
    }
}

fn parse_rfc3339(t: &str) -> Result<Timestamp, String> {
    let mut s = t;
    let year = digits(&mut s, 4, "year")?;
    expect(&mut s, '-', "after the year")?;
    let month = digits(&mut s, 2, "month")?;
    expect(&mut s, '-', "after the month")?;
    let day = digits(&mut s, 2, "day")?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 1 to 12"));
    }
    if day == 0 || day > days_in_month(i64::from(year), month) {
        return Err(format!("day {day} is not in month {month} of {year}"));
    }
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    let mut offset_secs = 0i64;
    if let Some(rest) = s.strip_prefix(['T', 't', ' ']) {
        s = rest;
        hour = digits(&mut s, 2, "hour")?;
        expect(&mut s, ':', "after the hour")?;
        minute = digits(&mut s, 2, "minute")?;
        if let Some(rest) = s.strip_prefix(':') {
            s = rest;
            second = digits(&mut s, 2, "second")?;
            if let Some(rest) = s.strip_prefix(['.', ',']) {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return Err("expected digits after the decimal point".into());
                }
                let frac = &rest[..n];
                let kept = &frac[..n.min(9)];
                nanos = format!("{kept:0<9}")
                    .parse()
                    .map_err(|_| "bad fraction of a second".to_owned())?;
                s = &rest[n..];
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(format!(
                "{hour:02}:{minute:02}:{second:02} is not a time of day"
            ));
        }
        // A leap second is folded into the next one.
        if let Some(rest) = s.strip_prefix(['Z', 'z']) {
            s = rest;
        } else if let Some(sign) = s.chars().next().filter(|c| matches!(c, '+' | '-')) {
            s = &s[1..];
            let oh = digits(&mut s, 2, "offset hours")?;
            expect(&mut s, ':', "in the offset")?;
            let om = digits(&mut s, 2, "offset minutes")?;
            if oh > 23 || om > 59 {
                return Err("the offset is out of range".into());
            }
            let off = i64::from(oh) * 3600 + i64::from(om) * 60;
            offset_secs = if sign == '+' { off } else { -off };
        }
    }
    if !s.is_empty() {
        return Err(format!("unexpected {s:?} at the end"));
    }
    let local = from_civil(i64::from(year), month, day, hour, minute, second, nanos)
        .ok_or("it is outside the years 1677 to 2262")?;
    local
        .0
        .checked_sub(offset_secs * NANOS_PER_SEC)
        .map(Timestamp)
        .ok_or_else(|| "it is outside the years 1677 to 2262".to_owned())
}

/// Formats a timestamp as RFC 3339 in UTC, with as many fractional digits
/// as it needs (none for whole seconds), so [`parse`] reads it back
/// exactly.
pub fn format(t: Timestamp) -> String {
    let secs = t.0.div_euclid(NANOS_PER_SEC);
    // Below 10^9 and 86,400: u32 arithmetic (a u64 division by a constant
    // is a 128-bit multiply, a library call in WebAssembly).
    let nanos = t.0.rem_euclid(NANOS_PER_SEC) as u32;
    let days = secs.div_euclid(SECS_PER_DAY);
    let tod = secs.rem_euclid(SECS_PER_DAY) as u32;
    let (y, m, d) = civil_from_days(days);
    // Written digit by digit into a byte buffer: this runs for every memory
    // of every answer, and the formatting machinery costs several times as
    // much. A Timestamp's years (1677 to 2262) have four digits.
    let mut out = Digits::default();
    out.put(u32::try_from(y).unwrap_or(0), 4);
    out.byte(b'-');
    out.put(m, 2);
    out.byte(b'-');
    out.put(d, 2);
    out.byte(b'T');
    out.put(tod / 3600, 2);
    out.byte(b':');
    out.put(tod % 3600 / 60, 2);
    out.byte(b':');
    out.put(tod % 60, 2);
    if nanos != 0 {
        let mut frac = nanos;
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.byte(b'.');
        out.put(frac, width);
    }
    out.byte(b'Z');
    out.text()
}

/// A formatted time's bytes (ASCII, at most 30).
#[derive(Default)]
struct Digits {
    bytes: [u8; 32],
    len: usize,
}

impl Digits {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// The last `width` decimal digits of `value`, zero-padded.
    fn put(&mut self, mut value: u32, width: usize) {
        let end = (self.len + width).min(self.bytes.len());
        for slot in self.bytes[self.len..end].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len = end;
    }

    fn text(&self) -> String {
        // Only ASCII digits and separators were written, so the check
        // passes (and is quick on ASCII).
        String::from_utf8(self.bytes[..self.len].to_vec()).unwrap_or_default()
    }
}

/// A short human form: `2024-05-01 13:00` (UTC).
pub fn format_short(t: Timestamp) -> String {
    let full = format(t);
    // "YYYY-MM-DDTHH:MM" is the first 16 bytes of every formatted time in
    // the range a Timestamp holds.
    full.get(..16)
        .map_or(full.clone(), |s| s.replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in (-100_000..100_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parses_rfc3339_and_unix_seconds() {
        let t = parse("2023-05-08T13:56:00Z").expect("parses");
        assert_eq!(t, Timestamp::from_secs(1_683_554_160));
        assert_eq!(parse("2023-05-08T15:56:00+02:00").expect("parses"), t);
        assert_eq!(parse("2023-05-08 13:56").expect("parses"), t);
        assert_eq!(parse("1683554160").expect("parses"), t);
        assert_eq!(parse("1.5").expect("parses"), Timestamp(1_500_000_000));
        assert_eq!(parse("-1.5").expect("parses"), Timestamp(-1_500_000_000));
        assert_eq!(
            parse("2023-05-08").expect("parses"),
            Timestamp::from_secs(1_683_504_000)
        );
        assert!(parse("2023-02-29").is_err());
        assert!(parse("2023-13-01").is_err());
        assert!(parse("yesterday").is_err());
        assert!(parse("3000-01-01").is_err());
        assert!(parse("2023-05-08T13:56:00Zjunk").is_err());
    }

    #[test]
    fn format_round_trips() {
        for t in [
            Timestamp(0),
            Timestamp(1_683_554_160_123_456_789),
            Timestamp(-1),
            Timestamp(1_500_000_000),
            Timestamp::from_secs(-5_000_000_000),
        ] {
            assert_eq!(parse(&format(t)).expect("parses"), t, "{}", format(t));
        }
        assert_eq!(
            format(Timestamp::from_secs(1_683_554_160)),
            "2023-05-08T13:56:00Z"
        );
        assert_eq!(
            format_short(Timestamp::from_secs(1_683_554_160)),
            "2023-05-08 13:56"
        );
    }

    #[test]
    fn format_writes_what_the_formatting_machinery_would() {
        let reference = |t: Timestamp| {
            let secs = t.0.div_euclid(NANOS_PER_SEC);
            let nanos = t.0.rem_euclid(NANOS_PER_SEC);
            let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
            let tod = secs.rem_euclid(SECS_PER_DAY);
            let mut out = std::format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                tod / 3600,
                tod % 3600 / 60,
                tod % 60
            );
            if nanos != 0 {
                out.push('.');
                out.push_str(std::format!("{nanos:09}").trim_end_matches('0'));
            }
            out.push('Z');
            out
        };
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut stamps = vec![Timestamp(i64::MIN), Timestamp(i64::MAX), Timestamp(0)];
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let raw = state as i64;
            // Whole seconds, whole milliseconds and any nanosecond.
            stamps.extend([raw - raw % NANOS_PER_SEC, raw - raw % 1_000_000, raw].map(Timestamp));
        }
        for t in stamps {
            assert_eq!(format(t), reference(t), "{}", t.0);
        }
    }
}
