use detalloc::detalloc;

detalloc! {
    pub struct ZeroSize<pools: [0 x 8, 16 x 8]>;
}

fn main() {}
