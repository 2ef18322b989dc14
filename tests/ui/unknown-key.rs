use detalloc::detalloc;

detalloc! {
    pub struct Colourful<pools: [16 x 8], colour: blue>;
}

fn main() {}
