use detalloc::detalloc;

detalloc! {
    pub struct Both<pools: [16 x 8], arena: 4 KiB>;
}

fn main() {}
