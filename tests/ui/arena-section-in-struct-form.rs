use detalloc::detalloc;

detalloc! {
    pub struct Scratch<arena: 4 KiB in unsafe(".sram2")>;
}

fn main() {}
