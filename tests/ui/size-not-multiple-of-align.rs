use detalloc::detalloc;

detalloc! {
    pub struct Aligned<pools: [32 x 8, 48 x 4, 64 x 4], align: 32>;
}

fn main() {}
