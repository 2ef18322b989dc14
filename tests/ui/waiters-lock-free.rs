use detalloc::detalloc;

detalloc! { pub struct Heap<pools: [16 x 64], sync: lock_free, waiters: 4>; }

fn main() {}
