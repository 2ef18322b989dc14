use detalloc::detalloc;

detalloc! {
    pub struct Heap<pools: [16 x 8], poison: true>;
}

fn main() {}
