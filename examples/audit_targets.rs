//! The entry points of the static audit (`detalloc-audit`): the 3-class heap
//! `[16 x 64, 64 x 32, 256 x 16]` in every sync mode, each behind an exported, never-inlined
//! `audit_alloc_<mode>` / `audit_free_<mode>` wrapper that takes the heap and the layout as
//! arguments, so the audited code is the allocate/deallocate a user gets after inlining (size
//! class dispatch included).
//!
//! Build and audit:
//!
//! ```text
//! cargo build --release -p detalloc-examples --example audit_targets
//! cargo run -p detalloc-audit -- target/release/examples/audit_targets
//! ```
//!
//! Modes: `lean` (`local`, stats and validation off), `checked` (`local`, stats and validation
//! on), `spin`, `lock_free` and `critical_section` (each with stats and validation on; on the
//! host `critical_section` is the `critical-section` crate's `std` implementation, a global
//! mutex).

use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;

use detalloc::{AllocError, FreeError, Heap};

#[macro_use]
#[path = "shared/heaps.rs"]
mod heaps;

// `LeanHeap`, `CheckedHeap`, `SpinHeap`, `LockFreeHeap` and `CsHeap`, with their wrappers.
audit_heaps!();

/// One allocator-api2 `Allocator::allocate` of the checked heap: the block with its length,
/// which must come from the generated dispatch as an immediate (the audit's
/// `--deny-table-reads` fails if this path reads a table in read-only data).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn audit_api2_allocate_checked(
    heap: &CheckedHeap,
    layout: Layout,
) -> Result<NonNull<[u8]>, detalloc::allocator_api2::alloc::AllocError> {
    detalloc::allocator_api2::alloc::Allocator::allocate(&heap, layout)
}

detalloc::detalloc! {
    /// The arena of `audit_arena_alloc` (issue 26): allocation in a scope is the same code in
    /// every sync mode (the lock is taken only to open and close a scope).
    pub struct AuditArena<arena: 64 KiB>;
}

/// One allocation in an open scope of an arena: align-up and one bounds check, which the
/// audit must find loop-free and table-free.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn audit_arena_alloc(
    scope: &detalloc::arena::Scope<'_, AuditArena>,
    layout: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    scope.allocate(layout)
}

/// One alloc/free pair per size class through the wrappers, so each wrapper is called (and
/// therefore kept) and exercised once.
fn exercise<H: Heap>(
    heap: &H,
    alloc: fn(&H, Layout) -> Result<NonNull<u8>, AllocError>,
    free: unsafe fn(&H, NonNull<u8>, Layout) -> Result<(), FreeError>,
) -> usize {
    let mut served = 0;
    for size in [16usize, 64, 256] {
        let layout = Layout::from_size_align(size, 8).expect("a valid layout");
        let block = black_box(alloc)(heap, black_box(layout)).expect("a fresh heap has room");
        // SAFETY: `block` is live, from `heap`, with `layout`, and freed once.
        unsafe { black_box(free)(heap, block, layout) }.expect("a valid free");
        served += 1;
    }
    served
}

/// The `Sync` heaps (also driven by the audit's `host-heaps` fixture, which includes this file).
pub static SPIN: SpinHeap = SpinHeap::new();
/// See `SPIN`.
pub static LOCK_FREE: LockFreeHeap = LockFreeHeap::new();
/// See `SPIN`.
pub static CS: CsHeap = CsHeap::new();

fn main() {
    // `local` heaps are `!Sync`: not statics, but owned values (boxed: they hold every block).
    let lean = Box::new(LeanHeap::new());
    let checked = Box::new(CheckedHeap::new());
    let layout = Layout::new::<u64>();
    let block = black_box(audit_api2_allocate_checked)(&checked, black_box(layout))
        .expect("a fresh heap has room");
    assert_eq!(block.len(), 16, "the whole block of the 16-byte pool");
    // SAFETY: allocated just above with this layout, freed once.
    unsafe { checked.deallocate(block.cast(), layout) }.expect("a valid free");
    let served = exercise(&*lean, audit_alloc_lean, audit_free_lean)
        + exercise(&*checked, audit_alloc_checked, audit_free_checked)
        + exercise(&SPIN, audit_alloc_spin, audit_free_spin)
        + exercise(&LOCK_FREE, audit_alloc_lock_free, audit_free_lock_free)
        + exercise(&CS, audit_alloc_critical_section, audit_free_critical_section);
    let mut arena = Box::new(AuditArena::new());
    let bytes = detalloc::arena::Arena::scope(&mut *arena, |s| {
        black_box(audit_arena_alloc)(s, black_box(layout)).map_or(0, |b| b.len())
    });
    assert_eq!(bytes, 8);
    println!("{served} alloc/free pairs and one arena allocation through the audit entry points");
    println!("audit: cargo run -p detalloc-audit -- target/release/examples/audit_targets");
}
