use detalloc::detalloc;

detalloc! {
    pub struct Both<pools: [16 x 8], preset: audio>;
}

static HEAP: Both = Both::new();

fn main() {}
