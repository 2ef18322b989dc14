use detalloc::{Heap, detalloc};

detalloc! {
    /// A heap whose pools name their sections.
    #[global_allocator]
    pub static HEAP: FwHeap<
        pools: [16 x 64, 64 x 32 in unsafe(".bss.detalloc.fast"), 1536 x 8 in unsafe(".bss.detalloc.frames")],
        sync: critical_section,
        validate: true,
    >;
}

detalloc! { static LOCAL: PrivateHeap<pools: [32 x 4], sync: spin>; }

fn main() {
    let layout = std::alloc::Layout::new::<u64>();
    let block = LOCAL.allocate(layout).unwrap();
    // SAFETY: `block` came from `LOCAL.allocate(layout)` and is freed once.
    unsafe { LOCAL.deallocate(block, layout) }.unwrap();
    assert_eq!(FwHeap::SECTIONS, [None, Some(".bss.detalloc.fast"), Some(".bss.detalloc.frames")]);
    let _: &PrivateHeap = &LOCAL;
    let _ = HEAP.stats();
}
