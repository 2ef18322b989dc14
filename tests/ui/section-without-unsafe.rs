use detalloc::detalloc;

detalloc! { pub static HEAP: Heap<pools: [16 x 64, 64 x 32 in ".dtcm"], sync: spin>; }

fn main() {}
