use detalloc::detalloc;

detalloc! { pub static HEAP: Heap<pools: [16 x 64 in ".a" in ".b"], sync: spin>; }

fn main() {}
