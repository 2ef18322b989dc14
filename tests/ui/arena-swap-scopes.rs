// Two scopes never unify (the brand is invariant): they cannot be swapped, so neither can
// hand its cursor to the other.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { struct Scratch<arena: 1 KiB>; }

fn main() {
    let (mut a, mut b) = (Scratch::new(), Scratch::new());
    a.scope(|s| {
        b.scope(|t| {
            core::mem::swap(s, t);
        });
    });
}
