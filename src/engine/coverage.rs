//! Where each scheduled sweep starts, so that successive sweeps cover the whole registry with
//! nothing stored between them, however many repositories each one gets through.
//!
//! Sweep number `n` starts at the fraction `b(n)` of the sorted listing, where `b` reverses the
//! bits of `n` (the van der Corput sequence), and carries on in order until its time is up. In
//! any block of `2^k` consecutive sweep numbers aligned on a multiple of `2^k`, the low `k` bits
//! take every value once, so the starts are `2^k` points spaced exactly `1/2^k` of the listing
//! apart. If every sweep checks at least `m` repositories and `2^k ≥ N/m`, each sweep reaches the
//! next start, and the block covers all `N`. Any `2^(k+1)` consecutive sweeps contain such a
//! block: that is the bound a sweep reports, under 4·N/m.

/// The index in a listing of `len` names at which sweep number `n` starts.
pub(crate) fn start(n: u64, len: usize) -> usize {
    ((u128::from(n.reverse_bits()) * len as u128) >> 64) as usize
}

/// How many consecutive sweeps check every one of `len` names when each checks at least
/// `checked`; `None` when a sweep checks nothing.
pub(crate) fn bound(len: usize, checked: usize) -> Option<u64> {
    if checked == 0 {
        return (len == 0).then_some(1);
    }
    if checked >= len {
        return Some(1);
    }
    // The smallest k with 2^k * checked >= len.
    let k = len.div_ceil(checked).next_power_of_two().trailing_zeros();
    Some(1u64 << (k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sweeps `count` consecutive sweep numbers from `first`, each checking `m` names in order
    /// from its start; returns whether every name was checked.
    fn covers(len: usize, m: usize, first: u64, count: u64) -> bool {
        let mut seen = vec![false; len];
        for n in first..first + count {
            let s = start(n, len);
            for i in 0..m.min(len) {
                seen[(s + i) % len] = true;
            }
        }
        seen.iter().all(|&s| s)
    }

    #[test]
    fn any_window_of_the_stated_length_covers_every_name() {
        for len in [1, 2, 3, 7, 64, 100, 300, 1000, 1023] {
            for m in [1, 2, 3, 5, 17, 64, 99, 300] {
                let b = bound(len, m).unwrap();
                for first in [0, 1, 5, 1_000_003, 487_000] {
                    assert!(
                        covers(len, m, first, b),
                        "len {len}, m {m}, first {first}, bound {b}"
                    );
                }
                assert!(
                    b <= (4 * len).div_ceil(m.min(len)) as u64 + 1,
                    "len {len}, m {m}: {b}"
                );
            }
        }
    }

    #[test]
    fn a_sweep_that_checks_everything_needs_no_other() {
        assert_eq!(bound(300, 300), Some(1));
        assert_eq!(bound(0, 0), Some(1));
        assert_eq!(bound(300, 0), None);
    }

    #[test]
    fn starts_stay_inside_the_listing() {
        for n in [0, 1, 2, u64::MAX, 12345] {
            assert!(start(n, 10) < 10);
        }
        assert_eq!(start(0, 10), 0);
        assert_eq!(start(1, 10), 5);
    }
}
