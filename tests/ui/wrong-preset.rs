use detalloc::detalloc;

detalloc! {
    pub struct Gaming<preset: gaming>;
}

fn main() {}
