//! Times on the command line: the engine's [`mnemo::rfc3339`] (RFC 3339 or
//! Unix seconds in, RFC 3339 UTC out).

pub use mnemo::rfc3339::{days_in_month, format, format_short, from_civil, from_unix_f64, parse};
