use detalloc::detalloc;

detalloc! {
    pub struct Float<pools: [16.5 x 64]>;
}

fn main() {}
