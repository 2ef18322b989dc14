use detalloc::detalloc;

detalloc! {
    pub struct Generic<T, pools: [16 x 8]>;
}

fn main() {}
