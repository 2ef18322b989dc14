use detalloc::detalloc;

detalloc! {
    pub struct NoSemi<pools: [16 x 8]>
}

static HEAP: NoSemi = NoSemi::new();

fn main() {}
