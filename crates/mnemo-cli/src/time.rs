//! Times on the command line: the engine's [`mnemo::rfc3339`] (RFC 3339 or
//! Unix seconds in, RFC 3339 UTC out).

pub use mnemo::rfc3339::{format, format_short, from_unix_f64, parse};
