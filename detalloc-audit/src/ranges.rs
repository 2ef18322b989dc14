//! Sets of unsigned integers of a given width, as a few disjoint inclusive ranges: what the
//! value analysis knows about a symbol after the branches a path took.
//!
//! Every operation over-approximates: the result contains at least every value it should, so a
//! set found empty proves that no value satisfies the conditions (the path is infeasible).

/// The most ranges a set keeps; beyond, the closest ranges are merged (more values, never fewer).
const MAX_RANGES: usize = 8;

/// The largest value of a `bits`-wide integer.
pub(crate) fn mask(bits: u8) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// A set of `bits`-wide unsigned integers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Ranges {
    bits: u8,
    /// Sorted, disjoint, non-adjacent, inclusive.
    ranges: Vec<(u64, u64)>,
}

impl Ranges {
    /// Every `bits`-wide value.
    pub(crate) fn full(bits: u8) -> Ranges {
        Ranges { bits, ranges: vec![(0, mask(bits))] }
    }

    /// No value.
    pub(crate) fn empty(bits: u8) -> Ranges {
        Ranges { bits, ranges: Vec::new() }
    }

    /// The values from `lo` to `hi` inclusive (empty when `lo > hi`).
    pub(crate) fn span(bits: u8, lo: u64, hi: u64) -> Ranges {
        let hi = hi.min(mask(bits));
        let ranges = if lo <= hi { vec![(lo, hi)] } else { Vec::new() };
        Ranges { bits, ranges }
    }

    /// One value.
    pub(crate) fn single(bits: u8, v: u64) -> Ranges {
        Ranges::span(bits, v & mask(bits), v & mask(bits))
    }

    /// Whether no value is in the set.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether every value is in the set.
    pub(crate) fn is_full(&self) -> bool {
        self.ranges == [(0, mask(self.bits))]
    }

    fn from_ranges(bits: u8, mut ranges: Vec<(u64, u64)>) -> Ranges {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        while merged.len() > MAX_RANGES {
            // Merge the two neighbours with the smallest gap between them.
            let i = (0..merged.len() - 1)
                .min_by_key(|&i| merged[i + 1].0 - merged[i].1)
                .expect("at least two ranges");
            merged[i].1 = merged[i + 1].1;
            merged.remove(i + 1);
        }
        Ranges { bits, ranges: merged }
    }

    /// The values in both sets.
    pub(crate) fn intersect(&self, other: &Ranges) -> Ranges {
        let mut out = Vec::new();
        for &(a, b) in &self.ranges {
            for &(c, d) in &other.ranges {
                let (lo, hi) = (a.max(c), b.min(d));
                if lo <= hi {
                    out.push((lo, hi));
                }
            }
        }
        Ranges::from_ranges(self.bits, out)
    }

    /// The values in either set.
    pub(crate) fn union(&self, other: &Ranges) -> Ranges {
        let ranges = self.ranges.iter().chain(&other.ranges).copied().collect();
        Ranges::from_ranges(self.bits, ranges)
    }

    /// The values not in the set.
    pub(crate) fn complement(&self) -> Ranges {
        let mut out = Vec::new();
        let mut next = 0u64;
        let mut done = false;
        for &(lo, hi) in &self.ranges {
            if lo > next {
                out.push((next, lo - 1));
            }
            if hi == mask(self.bits) {
                done = true;
                break;
            }
            next = hi + 1;
        }
        if !done {
            out.push((next, mask(self.bits)));
        }
        Ranges::from_ranges(self.bits, out)
    }

    /// Every value plus `delta`, modulo `2^bits`.
    pub(crate) fn shift(&self, delta: u64) -> Ranges {
        let m = mask(self.bits);
        let delta = delta & m;
        if delta == 0 {
            return self.clone();
        }
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let (a, b) = (lo.wrapping_add(delta) & m, hi.wrapping_add(delta) & m);
            if a <= b {
                out.push((a, b));
            } else {
                out.push((a, m));
                out.push((0, b));
            }
        }
        Ranges::from_ranges(self.bits, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a = Ranges::span(8, 10, 20);
        assert_eq!(a.intersect(&Ranges::span(8, 15, 30)), Ranges::span(8, 15, 20));
        assert!(a.intersect(&Ranges::span(8, 21, 30)).is_empty());
        assert_eq!(a.union(&Ranges::span(8, 21, 30)), Ranges::span(8, 10, 30));
        let c = a.complement();
        assert_eq!(c.ranges, [(0, 9), (21, 255)]);
        assert_eq!(c.complement(), a);
        // 250..=255 + 10 wraps to 4..=9.
        assert_eq!(Ranges::span(8, 250, 255).shift(10), Ranges::span(8, 4, 9));
        assert_eq!(Ranges::span(8, 250, 255).shift(3).ranges, [(0, 2), (253, 255)]);
        assert!(Ranges::full(64).complement().is_empty());
        assert_eq!(Ranges::single(32, 7), Ranges::span(32, 7, 7));
    }

    #[test]
    fn many_ranges_are_merged_not_lost() {
        let mut s = Ranges::empty(16);
        for i in 0..20u64 {
            s = s.union(&Ranges::single(16, i * 10));
        }
        assert!(s.ranges.len() <= MAX_RANGES);
        for i in 0..20u64 {
            assert!(!s.intersect(&Ranges::single(16, i * 10)).is_empty(), "{i}");
        }
    }
}
