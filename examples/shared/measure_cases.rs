//! The firmware measurements' wrappers and cases, the same on every core (included by path:
//! `#[path = ".../shared/measure_cases.rs"] mod measure;` in a crate root that declares
//! `HEAP: FirmwareHeap` and `LEAN: LeanHeap`, and, before the module, a `say!` macro that
//! prints a line as `println!` would, with positional arguments only).
//!
//! - `fw_alloc` / `fw_free` wrap `Heap::allocate` / `Heap::deallocate` of `FirmwareHeap`,
//!   `fw_alloc_lean` / `fw_free_lean` those of `LeanHeap`. Each is `#[inline(never)]` and
//!   `#[no_mangle]`, takes the layout as an argument (so the size-class dispatch is measured)
//!   and is called once per measured case, in the order of the `case` lines [`run`] prints,
//!   with interrupts enabled and no interrupt source running. Filling calls go through
//!   `Heap::allocate` inlined into the caller, so every call of a wrapper is a measured case.
//! - `fw_validate` / `fw_validate_pool` wrap the audits, run with every free list as long as
//!   its pool: their longest run with interrupts masked is the walk of one pool.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::hint::black_box;
use core::ptr::NonNull;

use detalloc::allocator_api2::alloc::Allocator;
use detalloc::{AllocError, Corruption, FreeError, Heap};

use crate::{FirmwareHeap, HEAP, LEAN};

/// One measured `FirmwareHeap::allocate`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc(layout: Layout) -> Result<NonNull<u8>, AllocError> {
    HEAP.allocate(layout)
}

/// One measured `FirmwareHeap::deallocate`.
///
/// # Safety
/// As `Heap::deallocate` (validation is on: a bad free is refused).
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free(ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
    // SAFETY: forwarded.
    unsafe { HEAP.deallocate(ptr, layout) }
}

/// One measured `LeanHeap::allocate`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc_lean(layout: Layout) -> Result<NonNull<u8>, AllocError> {
    LEAN.allocate(layout)
}

/// One measured `LeanHeap::deallocate`.
///
/// # Safety
/// `ptr` is a live block of `LEAN` for `layout` (validation is off).
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_lean(ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
    // SAFETY: forwarded.
    unsafe { LEAN.deallocate(ptr, layout) }
}

/// One measured `FirmwareHeap::validate` (every pool, one after another).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_validate() -> Result<(), Corruption> {
    HEAP.validate()
}

/// One measured `FirmwareHeap::validate_pool`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_validate_pool(pool: usize) -> Option<Result<(), Corruption>> {
    HEAP.validate_pool(pool)
}

/// The audits, with every block of every pool handed out once and freed again (each free list
/// as long as its pool): `validate()`, then `validate_pool` of each pool. Their longest run with
/// interrupts masked is one pool's walk.
fn audits() {
    for spec in FirmwareHeap::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 4).expect("layout");
        let blocks: Vec<NonNull<u8>> =
            (0..spec.blocks).map(|_| HEAP.allocate(layout).expect("a block")).collect();
        for block in blocks {
            // SAFETY: each block is live and freed once.
            unsafe { HEAP.deallocate(block, layout) }.expect("a valid free");
        }
    }
    say!("audit checked validate full-free-lists");
    black_box(fw_validate()).expect("a clean audit");
    for (pool, spec) in FirmwareHeap::POOLS.iter().enumerate() {
        say!("audit checked validate_pool pool{} ({} blocks)", spec.block_size, spec.blocks);
        black_box(fw_validate_pool(black_box(pool))).expect("a pool").expect("a clean audit");
    }
}

/// The measured calls, in order (`case` lines; the audits print `audit` lines): `measure.sh`
/// and the ratio test pair the n-th wrapper call in the QEMU trace with the n-th `case` line
/// printed here.
fn cases<H: Heap>(
    heap: &H,
    name: &str,
    alloc: fn(Layout) -> Result<NonNull<u8>, AllocError>,
    free: unsafe fn(NonNull<u8>, Layout) -> Result<(), FreeError>,
    checked: bool,
) where
    for<'x> &'x H: Allocator,
{
    for spec in [16usize, 64, 256] {
        let layout = Layout::from_size_align(spec, 4).expect("layout");
        say!("case {} alloc pool{} bump", name, spec);
        let a = black_box(alloc(black_box(layout))).expect("a fresh block");
        say!("case {} free pool{}", name, spec);
        // SAFETY: `a` is live and freed once.
        unsafe { free(black_box(a), black_box(layout)) }.expect("a valid free");
        say!("case {} alloc pool{} reuse", name, spec);
        let b = black_box(alloc(black_box(layout))).expect("the freed block");
        assert_eq!(a, b, "reuse path");
        // Not measured: inlined `Heap::deallocate`.
        // SAFETY: `b` is live and freed once.
        unsafe { heap.deallocate(b, layout) }.expect("a valid free");
    }

    // The 16-byte pool half full (32 of 64 blocks handed out, 16 of them freed again): the
    // same paths must take the same counts as in the empty pool.
    let layout = Layout::from_size_align(16, 4).expect("layout");
    let mut half: [Option<NonNull<u8>>; 32] = [None; 32];
    for slot in &mut half {
        *slot = Some(heap.allocate(layout).expect("a block"));
    }
    for slot in half.iter_mut().step_by(2) {
        // SAFETY: each block is live and freed once (its slot is emptied).
        unsafe { heap.deallocate(slot.take().expect("held"), layout) }.expect("a valid free");
    }
    say!("case {} alloc pool16 reuse half-full", name);
    let a = black_box(alloc(black_box(layout))).expect("a freed block");
    say!("case {} free pool16 half-full", name);
    // SAFETY: `a` is live and freed once.
    unsafe { free(black_box(a), black_box(layout)) }.expect("a valid free");
    for block in half.iter().flatten() {
        // SAFETY: the blocks still held, each freed once.
        unsafe { heap.deallocate(*block, layout) }.expect("a valid free");
    }

    // Exhaustion of the 256-byte pool (filled through the inlined `Heap::allocate`).
    let layout = Layout::from_size_align(256, 4).expect("layout");
    let mut held: Vec<NonNull<u8>> = Vec::with_capacity(16);
    while let Ok(block) = heap.allocate(layout) {
        held.push(block);
    }
    say!("case {} alloc pool256 exhausted", name);
    assert!(black_box(alloc(black_box(layout))).is_err());
    for block in held {
        // SAFETY: each block is live and freed once.
        unsafe { heap.deallocate(block, layout) }.expect("a valid free");
    }

    say!("case {} alloc no-pool-fits", name);
    assert!(black_box(alloc(black_box(Layout::from_size_align(512, 4).expect("layout")))).is_err());

    if checked {
        let layout = Layout::from_size_align(16, 4).expect("layout");
        let block = heap.allocate(layout).expect("a block");
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(block, layout) }.expect("a valid free");
        say!("case {} free pool16 double-free-refused", name);
        // SAFETY: with validation on, a double free is detected and refused.
        let refused = unsafe { free(black_box(block), black_box(layout)) };
        assert_eq!(refused, Err(FreeError::DoubleFree));
    }

    // The frees that reach the longest paths (found by address): a live block freed with the
    // layout of another pool, and with a layout no pool fits.
    let no_pool = Layout::from_size_align(512, 4).expect("layout");
    for spec in [16usize, 64, 256] {
        let layout = Layout::from_size_align(spec, 4).expect("layout");
        let other = Layout::from_size_align(if spec == 16 { 64 } else { 16 }, 4).expect("layout");
        for (case, wrong) in [("wrong-pool-layout", other), ("no-pool-layout", no_pool)] {
            let block = heap.allocate(layout).expect("a block");
            say!("case {} free pool{} {}", name, spec, case);
            // SAFETY: `block` is live; a free it refuses touches nothing, and then it is freed
            // with its own layout.
            if unsafe { free(black_box(block), black_box(wrong)) }.is_err() {
                // SAFETY: the refused free touched nothing: `block` is still live.
                unsafe { heap.deallocate(block, layout) }.expect("a valid free");
            }
        }
    }

    // A block shrunk in place (the 16-byte pool is full, so the shrink cannot move it), freed
    // with its smaller layout.
    let small = Layout::from_size_align(16, 4).expect("layout");
    let mut full: Vec<NonNull<u8>> = Vec::with_capacity(64);
    while let Ok(block) = heap.allocate(small) {
        full.push(block);
    }
    for spec in [64usize, 256] {
        let layout = Layout::from_size_align(spec, 4).expect("layout");
        let block = heap.allocate(layout).expect("a block");
        // SAFETY: `block` is live with `layout`.
        let kept = unsafe { heap.shrink(block, layout, small) }.expect("a shrink never fails");
        assert_eq!(kept.cast::<u8>(), block, "kept in place");
        say!("case {} free pool{} kept-shrunk", name, spec);
        // SAFETY: live, freed once with its current layout.
        unsafe { free(black_box(block), black_box(small)) }.expect("a valid free");
    }
    for block in full {
        // SAFETY: each block is live and freed once.
        unsafe { heap.deallocate(block, small) }.expect("a valid free");
    }

    // Refused frees: a foreign pointer (refused with validation or without: the lean free
    // finds no pool at its address); with validation also an interior pointer (with its
    // layout and with one no pool fits) and a double free with a layout no pool fits.
    let mut outside = [0u32; 16];
    let foreign = NonNull::from(&mut outside).cast::<u8>();
    for spec in [16usize, 64, 256] {
        let layout = Layout::from_size_align(spec, 4).expect("layout");
        say!("case {} free pool{} foreign-refused", name, spec);
        // SAFETY: refused: `foreign` lies in no pool of the heap.
        assert!(unsafe { free(black_box(foreign), black_box(layout)) }.is_err());
        if !checked {
            continue;
        }
        let block = heap.allocate(layout).expect("a block");
        for (case, at, l) in
            [("interior-refused", 1, layout), ("interior-no-pool-refused", spec / 2, no_pool)]
        {
            say!("case {} free pool{} {}", name, spec, case);
            // SAFETY: refused (validation on).
            assert!(unsafe { free(black_box(block.add(at)), black_box(l)) }.is_err());
        }
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(block, layout) }.expect("a valid free");
        say!("case {} free pool{} double-no-pool-refused", name, spec);
        // SAFETY: refused (validation on).
        assert!(unsafe { free(black_box(block), black_box(no_pool)) }.is_err());
    }
    say!("case {} free foreign-no-pool-refused", name);
    // SAFETY: refused: `foreign` lies in no pool of the heap.
    assert!(unsafe { free(black_box(foreign), black_box(no_pool)) }.is_err());
}

/// Every measured case (the checked heap first, so every pool is fresh: the first allocation
/// of each takes the bump path), the audits, and the global allocator's paths, so that
/// `__rust_alloc`, `__rust_dealloc` and `__rust_realloc` are linked as in a firmware.
pub fn run() {
    cases(&HEAP, "checked", fw_alloc, fw_free, true);
    cases(&LEAN, "lean", fw_alloc_lean, fw_free_lean, false);
    audits();
    let mut v: Vec<u32> = Vec::new();
    for i in 0..40 {
        v.push(black_box(i));
    }
    let b = Box::new(black_box(7u64));
    say!("global allocator: {} {}", v.iter().sum::<u32>(), b);
    drop((v, b));
    say!("done");
}
