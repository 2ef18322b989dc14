// A `Vec` allocating through the enclosing scope keeps it borrowed: no nested scope can open
// while the vector could still grow into the nested scope's bytes.
use detalloc::allocator_api2::vec::Vec;
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let mut arena = Scratch::new();
    arena.scope(|outer| {
        let mut v: Vec<u32, _> = Vec::new_in(&*outer);
        outer.scope(|_inner| {
            v.push(1);
        });
    });
}
