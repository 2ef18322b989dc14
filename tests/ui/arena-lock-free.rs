use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 4 KiB, sync: lock_free>;
}

fn main() {}
