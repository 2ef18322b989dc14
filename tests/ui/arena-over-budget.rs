use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 8 KiB, budget: 4 KiB>;
}

fn main() {}
