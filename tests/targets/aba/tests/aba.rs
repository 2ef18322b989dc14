//! The lock-free pool's ABA window, interleaved deterministically on the host: the host twin
//! of the firmware's `examples/aba.rs`.
//!
//! Built with `RUSTFLAGS="--cfg detalloc_aba_hook"`, detalloc calls `detalloc_aba_hook`
//! (defined here) inside every pop of a lock-free pool, after it read the head and the top
//! block's link and before its compare-and-swap. Armed, the hook does there what another
//! thread preempting the pop may do: it allocates the top two blocks `c` and `b`, keeps `b`,
//! and frees `c`, so `c` is on top again, now over `a`. The suspended pop read head = `c` and
//! link = `b`:
//!
//! * with the tag (every build but the demo), the head's tag moved on by three, the
//!   compare-and-swap fails, the pop retries and takes `c` over `a`: no double hand-out;
//! * with `--cfg detalloc_aba_demo` (the tag kept at 0), the compare-and-swap succeeds and
//!   installs `b`, which the hook still holds, as the head: the next allocation hands `b` out
//!   a second time.
//!
//! The test asserts whichever the build promises, so CI runs it both ways. Without the hook
//! cfg it is ignored (nothing would interleave).

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use detalloc::{Heap, detalloc};

detalloc! {
    /// Three blocks, so the stack's order is easy to follow.
    struct AbaHeap<pools: [16 x 3], sync: lock_free, stats: false, validate: false>;
}

static HEAP: AbaHeap = AbaHeap::new();
const LAYOUT: Layout = Layout::new::<[u8; 16]>();

thread_local! {
    /// Set just before the allocation whose pop the hook interleaves; the hook clears it.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// What the armed hook did: the block it kept (`b`) and the one it freed (`c`).
    static INTERLEAVED: Cell<Option<(NonNull<u8>, NonNull<u8>)>> = const { Cell::new(None) };
}

/// Called by detalloc inside each lock-free pop's window (`--cfg detalloc_aba_hook` builds).
/// Never panics: it unwinds into no Rust frame, and a failure shows as `INTERLEAVED` unset.
#[cfg(detalloc_aba_hook)]
#[unsafe(no_mangle)]
extern "C" fn detalloc_aba_hook() {
    if !ARMED.replace(false) {
        return;
    }
    let (Ok(c), Ok(b)) = (HEAP.allocate(LAYOUT), HEAP.allocate(LAYOUT)) else { return };
    // SAFETY: `c` was allocated just above with `LAYOUT` and is freed once.
    if unsafe { HEAP.deallocate(c.cast(), LAYOUT) }.is_ok() {
        INTERLEAVED.set(Some((b.cast(), c.cast())));
    }
}

#[test]
#[cfg_attr(not(detalloc_aba_hook), ignore = "needs RUSTFLAGS=\"--cfg detalloc_aba_hook\"")]
fn a_pop_interleaved_in_its_window_hands_out_no_block_twice_unless_the_tag_is_gone() {
    // Every block used and freed in order: the stack is c (top), b, a.
    let [a, b, c] = [(); 3].map(|()| HEAP.allocate(LAYOUT).unwrap().cast::<u8>());
    for block in [a, b, c] {
        // SAFETY: allocated above with `LAYOUT`, freed once.
        unsafe { HEAP.deallocate(block, LAYOUT) }.unwrap();
    }

    ARMED.set(true);
    let outer = HEAP.allocate(LAYOUT).unwrap().cast::<u8>();
    let (kept, freed) = INTERLEAVED.get().expect("the hook ran once, inside the pop");
    assert_eq!((kept, freed), (b, c), "the hook took the top two blocks");
    assert_eq!(outer, c, "the interleaved pop returns the block on top when it succeeded");

    // The allocation after it: `a` when the tag made the stale compare-and-swap fail, `b`
    // (still the hook's) when the tag is gone.
    let next = HEAP.allocate(LAYOUT).unwrap().cast::<u8>();
    if cfg!(detalloc_aba_demo) {
        assert_eq!(next, kept, "without the tag the stale pop installs the kept block");
    } else {
        assert_eq!(next, a, "with the tag the stale pop retries and takes c over a");
        assert!(HEAP.allocate(LAYOUT).is_err(), "all three blocks are out, each once");
    }
}
