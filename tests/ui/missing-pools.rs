use detalloc::detalloc;

detalloc! {
    pub struct NoPools<sync: spin>;
}

static HEAP: NoPools = NoPools::new();

fn main() {}
