use detalloc::detalloc;

detalloc! { pub struct Heap<pools: [16 x 64, 64 x 32 in unsafe(".dtcm")]>; }

fn main() {}
