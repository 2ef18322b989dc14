use detalloc::{Heap, detalloc};

detalloc! {
    struct Spellings<
        pools: [8x16, 0x40 x 8, 0x100x4, 1_024 x 0b10,],
        budget: 4096,
        validate: true,
    >;
}

fn main() {
    let heap = Spellings::new();
    let pools: Vec<(usize, usize, usize)> =
        Spellings::POOLS.iter().map(|p| (p.block_size, p.blocks, p.align)).collect();
    assert_eq!(pools, [(8, 16, 8), (64, 8, 64), (256, 4, 256), (1024, 2, 1024)]);
    assert_eq!(Spellings::TOTAL_BYTES, 8 * 16 + 64 * 8 + 256 * 4 + 1024 * 2);
    let small = std::alloc::Layout::from_size_align(5, 1).unwrap();
    let block = heap.allocate(small).unwrap();
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 1);
    // SAFETY: `block` came from `heap.allocate(small)` and is freed once.
    unsafe { heap.deallocate(block, small) }.unwrap();
    assert!(heap.validate().is_ok());
}
