use detalloc::detalloc;

detalloc! {
    pub struct Empty<pools: []>;
}

static HEAP: Empty = Empty::new();

fn main() {}
