use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 0 KiB>;
}

fn main() {}
