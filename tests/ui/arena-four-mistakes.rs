// Four mistakes, four errors; the use of the arena adds none.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! {
    pub static SCRATCH: Scratch<arena: 0 align 3, sync: lock_free, spill: true>;
}

fn main() {
    let _ = SCRATCH.try_scope(|s| s.used());
}
