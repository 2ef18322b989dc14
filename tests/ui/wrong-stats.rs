use detalloc::detalloc;

detalloc! {
    pub struct Counted<pools: [16 x 8], stats: yes>;
}

fn main() {}
