//! The validation bitmap: two bits per block, three states besides free (`00`):
//!
//! * *live* (`10`): allocated;
//! * *live and kept* (`11`): allocated and staying in a pool its current layout does not select
//!   (a resize left it there), so its free may name that layout;
//! * *handed* (`01`, the kept bit alone): given by a free to a waiting allocation that has not
//!   collected it yet (`waiters: K`). It is allocated, but to the queue, not to whoever freed
//!   it: a second free of it finds its live bit clear and is a `DoubleFree`.
//!
//! `W` words of 32 bits cover `N` blocks (`W = ceil(N / 16)`, computed by the macro; `W = 0`
//! means validation is off and every operation here compiles to nothing). Block `k` owns bits
//! `2k` (live) and `2k + 1` (kept).

/// The blocks one word covers.
pub const BLOCKS_PER_WORD: usize = 16;
/// Every live bit of a word.
const LIVE_BITS: u32 = 0x5555_5555;

/// The word index and the live bit's mask of `block`; the kept bit is `mask << 1`.
#[inline(always)]
pub const fn position(block: usize) -> (usize, u32) {
    (block / BLOCKS_PER_WORD, 1 << (2 * (block % BLOCKS_PER_WORD)))
}

/// Words needed for `blocks` blocks.
pub const fn words_for(blocks: usize) -> usize {
    blocks.div_ceil(BLOCKS_PER_WORD)
}

/// Both bits of the block whose live bit is `mask`.
#[inline(always)]
pub const fn both(mask: u32) -> u32 {
    mask | mask << 1
}

/// Marks `block` allocated.
#[inline(always)]
pub fn mark_live<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word) {
        *word |= mask;
    }
}

/// Marks `block` free if it was allocated (clearing its kept bit too); returns whether it was.
#[inline(always)]
pub fn free<const W: usize>(bits: &mut [u32; W], block: usize) -> bool {
    let (word, mask) = position(block);
    match bits.get_mut(word) {
        Some(word) if *word & mask != 0 => {
            *word &= !both(mask);
            true
        }
        _ => false,
    }
}

/// `(live, kept)` of `block`.
#[inline]
pub fn state<const W: usize>(bits: &[u32; W], block: usize) -> (bool, bool) {
    let (word, mask) = position(block);
    bits.get(word).map_or((false, false), |w| (w & mask != 0, w & mask << 1 != 0))
}

/// Marks a free `block` handed to a waiter (`01`).
#[inline(always)]
pub fn hand<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word) {
        *word = (*word & !both(mask)) | mask << 1;
    }
}

/// Marks a handed `block` live, its waiter having collected it (`01` to `10`).
#[inline(always)]
pub fn collect<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word) {
        *word = (*word & !both(mask)) | mask;
    }
}

/// Whether `block` is handed to a waiter (`01`).
#[inline]
pub fn is_handed<const W: usize>(bits: &[u32; W], block: usize) -> bool {
    let (word, mask) = position(block);
    bits.get(word).is_some_and(|w| w & both(mask) == mask << 1)
}

/// Clears both bits of `block`.
#[inline]
pub fn clear<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word) {
        *word &= !both(mask);
    }
}

/// Marks a live `block` as kept in place after a shrink; nothing for a free block.
#[inline]
pub fn keep<const W: usize>(bits: &mut [u32; W], block: usize) {
    let (word, mask) = position(block);
    if let Some(word) = bits.get_mut(word)
        && *word & mask != 0
    {
        *word |= mask << 1;
    }
}

/// Whether either bit of `block` is set.
#[inline]
pub fn is_marked<const W: usize>(bits: &[u32; W], block: usize) -> bool {
    let (word, mask) = position(block);
    bits.get(word).is_some_and(|w| w & both(mask) != 0)
}

/// The first block at or after `from` with either bit set, if any.
pub fn first_marked_from<const W: usize>(bits: &[u32; W], from: usize) -> Option<usize> {
    (from..W * BLOCKS_PER_WORD).find(|&block| is_marked(bits, block))
}

/// Number of blocks marked allocated.
pub fn count<const W: usize>(bits: &[u32; W]) -> usize {
    bits.iter().map(|word| (word & LIVE_BITS).count_ones() as usize).sum()
}

/// Number of blocks marked handed (`01`).
pub fn count_handed<const W: usize>(bits: &[u32; W]) -> usize {
    bits.iter().map(|word| (word >> 1 & !word & LIVE_BITS).count_ones() as usize).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_free_keep_count() {
        let mut bits = [0u32; 3];
        mark_live(&mut bits, 0);
        mark_live(&mut bits, 33);
        assert_eq!(count(&bits), 2);
        assert_eq!(state(&bits, 33), (true, false));
        keep(&mut bits, 33);
        keep(&mut bits, 34);
        assert_eq!(state(&bits, 33), (true, true));
        assert_eq!(state(&bits, 34), (false, false), "a free block is never kept");
        assert_eq!(count(&bits), 2, "a kept bit is not a live block");
        assert_eq!(first_marked_from(&bits, 1), Some(33));
        assert!(free(&mut bits, 33));
        assert_eq!(state(&bits, 33), (false, false), "a free clears the kept bit too");
        assert!(!free(&mut bits, 33), "a clear bit cannot be freed twice");
        assert!(!free(&mut bits, 48), "beyond the map is never set");
        assert_eq!(count(&bits), 1);
        assert_eq!(words_for(33), 3);
        assert_eq!(words_for(32), 2);
    }

    #[test]
    fn a_handed_block_is_neither_live_nor_free() {
        let mut bits = [0u32; 1];
        hand(&mut bits, 3);
        assert!(is_handed(&bits, 3));
        assert_eq!(count_handed(&bits), 1);
        assert_eq!(count(&bits), 0, "handed is not live");
        assert!(!free(&mut bits, 3), "a free of a handed block is a double free");
        assert!(is_handed(&bits, 3), "and changes nothing");
        collect(&mut bits, 3);
        assert_eq!(state(&bits, 3), (true, false));
        assert!(!is_handed(&bits, 3));
        hand(&mut bits, 4);
        clear(&mut bits, 4);
        assert!(!is_marked(&bits, 4));
    }
}
