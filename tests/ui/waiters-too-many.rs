use detalloc::detalloc;

detalloc! { pub struct Heap<pools: [16 x 64], sync: spin, waiters: 33>; }

fn main() {}
