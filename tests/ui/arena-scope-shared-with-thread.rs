// A scope is not `Sync`: its cursor is a plain cell, so another thread cannot allocate from it.
use detalloc::arena::Arena;
use detalloc::detalloc;

detalloc! { static ARENA: Scratch<arena: 1 KiB, sync: spin>; }

fn main() {
    let _ = ARENA.try_scope(|s| {
        let s = &*s;
        std::thread::scope(|t| {
            t.spawn(|| {
                let _ = s.alloc(1u8);
            });
        });
    });
}
