use detalloc::{Heap, detalloc};

detalloc! {
    /// Every key at once, in both pool spellings, hex and underscores.
    #[allow(dead_code)]
    pub(crate) struct Everything<
        pools: [0x10 x 64, 64x32, 2_56 x 8,],
        sync: spin,
        stats: false,
        validate: true,
        budget: 8 KiB,
        align: 16,
        spill: true,
    >;
}

static HEAP: Everything = Everything::new();

fn main() {
    assert_eq!(Everything::TOTAL_BYTES, 16 * 64 + 64 * 32 + 256 * 8);
    assert_eq!(HEAP.stats().allocs, 0);
}
