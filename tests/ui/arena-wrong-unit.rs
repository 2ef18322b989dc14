use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 8 KB>;
}

fn main() {}
