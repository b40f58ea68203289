//! How two validity windows relate: whether they share an instant and
//! which starts later. Windows are half-open, `[from, until)`, and an open
//! end is unbounded.

use crate::model::{Timestamp, Validity};

/// Whether two windows share an instant.
pub fn overlaps(a: &Validity, b: &Validity) -> bool {
    let starts_before_end = |from: Option<Timestamp>, until: Option<Timestamp>| match (from, until)
    {
        (Some(f), Some(u)) => f < u,
        _ => true,
    };
    starts_before_end(a.from, b.until) && starts_before_end(b.from, a.until)
}

/// Whether `new` starts strictly after `old` (an open start is the
/// earliest).
pub(super) fn starts_later(new: &Validity, old: &Validity) -> bool {
    match (new.from, old.from) {
        (Some(n), Some(o)) => n > o,
        (Some(_), None) => true,
        (None, _) => false,
    }
}
