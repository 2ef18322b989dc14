use detalloc::detalloc;

detalloc! { pub static HEAP: FwHeap<pools: [16 x 64, 64 x 32 in unsafe(".bss.fast")], sync: spin>; }

// A second value would share the first one's buffers: the static form's type has no `new()`.
static OTHER: FwHeap = FwHeap::new();

fn main() {}
