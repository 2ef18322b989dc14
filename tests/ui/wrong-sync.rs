use detalloc::detalloc;

detalloc! {
    pub struct Locked<pools: [16 x 8], sync: mutex>;
}

static HEAP: Locked = Locked::new();

fn main() {}
