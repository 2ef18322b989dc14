use detalloc::detalloc;

detalloc! {
    pub struct Overflow<pools: [16 x 8, 4294967296 x 4294967296]>;
}

fn main() {}
