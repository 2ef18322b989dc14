// While a nested scope is open, the enclosing scope cannot allocate: the nested scope would
// rewind over that allocation.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let mut arena = Scratch::new();
    arena.scope(|outer| {
        outer.scope(|_inner| {
            let _ = outer.alloc(1u32);
        });
    });
}
