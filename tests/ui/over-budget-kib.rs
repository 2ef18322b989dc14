use detalloc::detalloc;

detalloc! {
    pub struct Tight<pools: [16 x 64, 64 x 16], budget: 1 KiB>;
}

static HEAP: Tight = Tight::new();

fn main() {}
