use detalloc::detalloc;

detalloc! {
    pub struct Huge<pools: [4096 x 1_048_576]>;
}

static HEAP: Huge = Huge::new();

fn main() {}
