use detalloc::detalloc;

detalloc! {
    pub struct SameSize<pools: [16 x 8, 16 x 4]>;
}

fn main() {}
