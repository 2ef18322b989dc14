// A reference allocated in a scope cannot be stored in a variable outside it.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { static ARENA: Scratch<arena: 1 KiB, sync: spin>; }

fn main() {
    let mut kept: Option<&mut u32> = None;
    let _ = ARENA.try_scope(|s| {
        kept = Some(s.alloc(1u32).unwrap());
    });
    let _ = kept;
}
