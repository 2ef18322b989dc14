use detalloc::detalloc;

detalloc! {
    pub struct Big<pools: [99999999999999999999999 x 4]>;
}

fn main() {}
