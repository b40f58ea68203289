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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::fixture::{at, window};

    /// Every window with ends in `0..4` (or open), empty ones left out.
    fn windows() -> Vec<Validity> {
        let ends = [None, Some(0), Some(1), Some(2), Some(3)];
        let mut out = Vec::new();
        for from in ends {
            for until in ends {
                let w = window(from, until);
                if let (Some(f), Some(u)) = (w.from, w.until)
                    && u <= f
                {
                    continue;
                }
                out.push(w);
            }
        }
        out
    }

    #[test]
    fn overlapping_means_sharing_an_instant() {
        // -1 and 4 stand for the far past and future of the open ends.
        for a in windows() {
            for b in windows() {
                let shared = (-1..=4).any(|t| a.contains(at(t)) && b.contains(at(t)));
                assert_eq!(overlaps(&a, &b), shared, "{a:?} and {b:?}");
                assert_eq!(overlaps(&a, &b), overlaps(&b, &a), "symmetric");
            }
        }
    }

    #[test]
    fn touching_windows_do_not_overlap() {
        assert!(!overlaps(
            &window(Some(1), Some(2)),
            &window(Some(2), Some(3))
        ));
        assert!(!overlaps(&window(None, Some(2)), &window(Some(2), None)));
        assert!(overlaps(&window(None, Some(3)), &window(Some(2), None)));
    }

    #[test]
    fn open_windows_overlap_every_window() {
        let always = window(None, None);
        for w in windows() {
            assert!(overlaps(&always, &w), "{w:?}");
        }
    }

    #[test]
    fn an_open_start_is_the_earliest() {
        let from = |t: Option<i64>| window(t, None);
        assert!(starts_later(&from(Some(2)), &from(Some(1))));
        assert!(!starts_later(&from(Some(1)), &from(Some(2))));
        assert!(!starts_later(&from(Some(1)), &from(Some(1))), "strictly");
        assert!(starts_later(&from(Some(i64::MIN)), &from(None)));
        assert!(!starts_later(&from(None), &from(Some(1))));
        assert!(!starts_later(&from(None), &from(None)));
    }

    #[test]
    fn starting_later_ignores_where_windows_end() {
        assert!(starts_later(
            &window(Some(2), Some(3)),
            &window(Some(1), None)
        ));
        assert!(!starts_later(
            &window(Some(1), None),
            &window(Some(1), Some(2))
        ));
    }
}
