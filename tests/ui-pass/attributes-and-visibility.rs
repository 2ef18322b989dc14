mod heaps {
    use detalloc::detalloc;

    detalloc! {
        /// A documented heap, visible to the rest of the crate only.
        #[doc = "Attributes are forwarded."]
        #[must_use]
        pub(crate) struct Scratch<pools: [16 x 4], sync: spin, stats: true,>;
    }
}

use detalloc::Heap;
use heaps::Scratch;

static HEAP: Scratch = Scratch::new();

fn main() {
    assert_eq!(HEAP.name(), "Scratch");
    assert!(
        Scratch::SUMMARY.starts_with("Scratch: 1 pool [16 x 4], 64 B of blocks"),
        "{}",
        Scratch::SUMMARY
    );
    let layout = std::alloc::Layout::new::<u64>();
    let blocks: Vec<_> = (0..4).map(|_| HEAP.allocate(layout).unwrap()).collect();
    assert!(HEAP.allocate(layout).is_err());
    assert_eq!(HEAP.stats().failures, 1);
    for block in blocks {
        // SAFETY: each block came from `HEAP.allocate(layout)` and is freed once.
        unsafe { HEAP.deallocate(block, layout) }.unwrap();
    }
    assert_eq!(HEAP.stats().peak_bytes, 64);
}
