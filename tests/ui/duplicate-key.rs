use detalloc::detalloc;

detalloc! {
    pub struct Twice<pools: [16 x 8], sync: spin, sync: local>;
}

static HEAP: Twice = Twice::new();

fn main() {}
