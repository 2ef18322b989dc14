// A nested scope's reference cannot be kept by the enclosing scope: the nested scope rewinds
// over it when it closes.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let mut arena = Scratch::new();
    arena.scope(|outer| {
        let mut refs: Vec<&mut u32> = Vec::new();
        refs.push(outer.alloc(1).unwrap());
        outer.scope(|inner| {
            refs.push(inner.alloc(2).unwrap());
        });
        refs.len()
    });
}
