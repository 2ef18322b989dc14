use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 4 KiB, waiters: 2>;
}

fn main() {}
