use detalloc::detalloc;

detalloc! {
    pub struct Checked<pools: [16 x 8], validate: always>;
}

fn main() {}
