use detalloc::detalloc;

detalloc! {
    pub struct Unclosed<pools: [16 x 8], sync: spin;
}

static HEAP: Unclosed = Unclosed::new();

fn main() {}
