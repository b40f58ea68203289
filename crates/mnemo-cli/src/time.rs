//! Times on the command line: the engine's [`mnemo::rfc3339`] (RFC 3339 or
//! Unix seconds in, RFC 3339 UTC out), and lifetimes (`--ttl`).

use std::time::Duration;

pub use mnemo::rfc3339::{format, format_short, from_unix_f64, parse};

/// Parses a lifetime: whole seconds (`3600`) or a whole number with a
/// unit, `s`, `m` (minutes), `h`, `d` or `w` (`90m`, `12h`, `30d`).
/// Positive and at most the engine's longest TTL.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_seconds: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{text:?}: give seconds or a number with s, m, h, d or w (30d, 12h)"
            ));
        }
    };
    let number: u64 = number.parse().map_err(|_| {
        format!("{text:?}: not a whole number of seconds, minutes, hours, days or weeks")
    })?;
    let ttl = Duration::from_secs(number.saturating_mul(unit_seconds));
    mnemo::lifecycle::Expiry {
        ttl: Some(ttl),
        ..mnemo::lifecycle::Expiry::default()
    }
    .validate()
    .map_err(|(_, why)| format!("{text:?}: the lifetime {why}"))?;
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_take_seconds_or_a_unit() {
        let secs = |t: &str| parse_ttl(t).map(|d| d.as_secs());
        assert_eq!(secs("3600"), Ok(3600));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("45m"), Ok(2700));
        assert_eq!(secs("12h"), Ok(43_200));
        assert_eq!(secs("30d"), Ok(2_592_000));
        assert_eq!(secs("2w"), Ok(1_209_600));
        for bad in ["", "0", "0d", "-5", "1.5h", "3y", "d", "99999999999w"] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }
}
