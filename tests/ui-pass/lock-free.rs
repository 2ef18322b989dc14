use std::alloc::Layout;

use detalloc::{Heap, detalloc};

detalloc! { struct Shared<pools: [16 x 4, 64 x 2], sync: lock_free, validate: true>; }

static HEAP: Shared = Shared::new();

fn main() {
    let layout = Layout::new::<u64>();
    let a = HEAP.allocate(layout).unwrap();
    // SAFETY: allocated above; the second free is refused by validation.
    unsafe {
        HEAP.deallocate(a, layout).unwrap();
        assert!(HEAP.deallocate(a, layout).is_err());
    }
    assert_eq!(HEAP.stats().invalid_frees, 1);
    assert!(Shared::SUMMARY.contains("sync=lock_free"));
    HEAP.validate().unwrap();
}
