use detalloc::detalloc;

detalloc! {
    pub struct ArraySyntax<pools: [64; 16]>;
}

static HEAP: ArraySyntax = ArraySyntax::new();

fn main() {}
