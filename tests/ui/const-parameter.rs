use detalloc::detalloc;

detalloc! {
    pub struct Sized<const N: usize, pools: [16 x 8]>;
}

fn main() {}
