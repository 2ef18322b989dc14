use detalloc::detalloc;

detalloc! { pub static HEAP: Heap<pools: [16 x 64 in unsafe(".a") in unsafe(".b")], sync: spin>; }

fn main() {}
