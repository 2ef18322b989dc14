use detalloc::{Heap, detalloc};

detalloc! {
    struct Packets<preset: networking, sync: critical_section>;
}

static HEAP: Packets = Packets::new();

fn main() {
    let pools: Vec<(usize, usize)> =
        Packets::POOLS.iter().map(|p| (p.block_size, p.blocks)).collect();
    assert_eq!(pools, [(64, 512), (256, 256), (1536, 128)]);
    assert_eq!(Packets::TOTAL_BYTES, 64 * 512 + 256 * 256 + 1536 * 128);
    assert!(Packets::SUMMARY.contains("preset=networking"), "{}", Packets::SUMMARY);
    let layout = std::alloc::Layout::from_size_align(100, 8).unwrap();
    let block = HEAP.allocate(layout).unwrap();
    assert_eq!(HEAP.stats().in_use_bytes, 256);
    // SAFETY: `block` came from `HEAP.allocate(layout)` and is freed once.
    unsafe { HEAP.deallocate(block, layout) }.unwrap();
    assert_eq!(HEAP.stats().in_use_bytes, 0);
}
