use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 4 KiB align 48>;
}

fn main() {}
