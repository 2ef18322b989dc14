use detalloc::detalloc;

detalloc! {
    pub struct Bounded<pools: [16 x 8]> where u8: Copy;
}

static HEAP: Bounded = Bounded::new();

fn main() {}
