use detalloc::detalloc;

detalloc! {
    pub struct Descending<pools: [16 x 8, 64 x 4, 32 x 4]>;
}

static HEAP: Descending = Descending::new();

fn main() {}
