// A reference allocated in a scope cannot be the scope's result.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let mut arena = Scratch::new();
    let escaped = arena.scope(|s| s.alloc(1u32).unwrap());
    *escaped += 1;
}
