use detalloc::detalloc;

detalloc! {
    pub struct Heap3<pools: [16 x 0, 8 x 4], sync: spinlock, colour: blue>;
}

fn main() {}
