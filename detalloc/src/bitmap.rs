//! The validation bitmap: one bit per block, set while the block is allocated.
//!
//! `W` words of 32 bits cover `N` blocks (`W = ceil(N / 32)`, computed by the macro; `W = 0`
//! means validation is off and every operation here compiles to nothing).

/// The word index and bit mask of `block`.
#[inline(always)]
pub const fn position(block: usize) -> (usize, u32) {
    (block / 32, 1 << (block % 32))
}

/// Words needed for `blocks` bits.
pub const fn words_for(blocks: usize) -> usize {
    blocks.div_ceil(32)
}

/// Marks `block` allocated.
#[inline(always)]
pub fn set<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word) {
        *word |= mask;
    }
}

/// Marks `block` free if it was allocated; returns whether it was.
#[inline(always)]
pub fn take<const W: usize>(bits: &mut [u32; W], block: usize) -> bool {
    let (word, mask) = position(block);
    match bits.get_mut(word) {
        Some(word) if *word & mask != 0 => {
            *word &= !mask;
            true
        }
        _ => false,
    }
}

/// Whether `block` is marked allocated.
#[inline]
pub fn is_set<const W: usize>(bits: &[u32; W], block: usize) -> bool {
    let (word, mask) = position(block);
    bits.get(word).is_some_and(|word| word & mask != 0)
}

/// The first block at or after `from` that is marked allocated, if any.
pub fn first_set_from<const W: usize>(bits: &[u32; W], from: usize) -> Option<usize> {
    (from..W * 32).find(|&block| is_set(bits, block))
}

/// Number of blocks marked allocated.
pub fn count<const W: usize>(bits: &[u32; W]) -> usize {
    bits.iter().map(|word| word.count_ones() as usize).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_take_count() {
        let mut bits = [0u32; 2];
        set(&mut bits, 0);
        set(&mut bits, 33);
        assert_eq!(count(&bits), 2);
        assert!(is_set(&bits, 33));
        assert_eq!(first_set_from(&bits, 1), Some(33));
        assert!(take(&mut bits, 33));
        assert!(!take(&mut bits, 33), "a clear bit cannot be taken twice");
        assert!(!take(&mut bits, 64), "beyond the map is never set");
        assert_eq!(count(&bits), 1);
        assert_eq!(words_for(33), 2);
    }
}
