use detalloc::detalloc;

detalloc! {
    pub struct Star<pools: [16 * 64]>;
}

fn main() {}
