// A `Box` allocated in a scope cannot leave it.
use detalloc::allocator_api2::boxed::Box;
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let mut arena = Scratch::new();
    let escaped = arena.scope(|s| Box::new_in(5u32, &*s));
    let _ = *escaped;
}
