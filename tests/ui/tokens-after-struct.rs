use detalloc::detalloc;

detalloc! {
    pub struct First<pools: [16 x 8]>;
    pub struct Second<pools: [16 x 8]>;
}

static HEAP: First = First::new();

fn main() {}
