use detalloc::detalloc;

detalloc! {
    pub struct Suffix<pools: [16y64]>;
}

fn main() {}
