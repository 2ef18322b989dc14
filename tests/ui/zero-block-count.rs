use detalloc::detalloc;

detalloc! {
    pub struct ZeroCount<pools: [16 x 8, 32 x 0]>;
}

static HEAP: ZeroCount = ZeroCount::new();

fn main() {}
