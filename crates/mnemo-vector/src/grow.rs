//! Bounded growth of the indices' buffers: a `Vec` that doubles holds up to
//! twice the memory its contents need, which a memory budget cannot plan
//! for. The indices grow their per-vector buffers by at least what is
//! added and at most an eighth more ([`GROWTH_SLACK`]), so the spare
//! capacity stays under an eighth of the contents while appends stay
//! amortised (each byte is copied at most nine times on its way up).

/// The share of the contents a buffer may hold as spare capacity after
/// growing.
pub const GROWTH_SLACK: f64 = 0.125;

/// Makes room in `v` for `additional` more elements, growing by at least
/// that and by an eighth of its length (not by doubling).
pub fn reserve<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() >= additional {
        return;
    }
    v.reserve_exact(additional.max(v.len() / 8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_capacity_stays_under_an_eighth_plus_the_last_append() {
        let mut v: Vec<u32> = Vec::new();
        for i in 0..100_000u32 {
            reserve(&mut v, 1);
            v.push(i);
            assert!(v.capacity() <= v.len() + v.len() / 8 + 1, "at {i}");
        }
        let mut w: Vec<u8> = Vec::new();
        reserve(&mut w, 1000);
        assert!(w.capacity() >= 1000);
    }
}
