use detalloc::detalloc;

detalloc! {
    pub struct Aligned<pools: [24 x 8], align: 24>;
}

fn main() {}
