use detalloc::detalloc;

detalloc! {
    pub struct Tiny<pools: [2 x 8]>;
}

fn main() {}
