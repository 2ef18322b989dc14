use detalloc::detalloc;

detalloc! {
    pub struct Borrowed<'a, pools: [16 x 8]>;
}

fn main() {}
