//! detalloc's sync modes against the allocators a Cortex-M firmware would use instead, on
//! QEMU's LM3S6965 (Cortex-M3, thumbv7m). `compare.sh` builds this image, runs it under QEMU
//! with an exec trace (one instruction per translation block) and `compare.py` turns the trace
//! into the README's table.
//!
//! - Every allocator sits behind a pair of `#[no_mangle]`, `#[inline(never)]` wrappers
//!   (`fw_alloc_<name>` / `fw_free_<name>`) taking the allocator and the `Layout` as arguments:
//!   the code a count measures, a code-size figure adds up and `detalloc-audit` reads is the same
//!   function. The detalloc heaps get theirs from `detalloc::audit_wrappers!`.
//! - Every allocator runs the same request sequence (a seeded xorshift; the choices depend on
//!   indices only, never on addresses, so each allocator sees the same requests as long as none
//!   fails, and a failure is printed as a `note`). Requests are of three classes, the pools of
//!   the detalloc heaps: 1-16, 17-64 and 65-256 bytes, align 8, sizes uniform in the class.
//! - Fill levels count live requests per class against the detalloc heap's blocks
//!   `[16 x 64, 64 x 32, 256 x 16]`: empty `[0, 0, 0]`, half `[32, 16, 8]`, nearly full
//!   `[60, 30, 15]` (94 %), and fragmented: `[32, 16, 8]` again, reached from nearly full by
//!   freeing down to a quarter in random order and 300 random allocations and frees.
//! - At each fill level, 12 measured rounds (4 per class, classes in turn): allocate one
//!   request of the class, then free a random live request of the class other than the new
//!   one (the new one when it is the only one), so the fill level stays put. Before each
//!   measured call `measure_next` prints its label: `compare.py` pairs the n-th `measure_next`
//!   in the trace with the n-th `call` line and measures the first wrapper call after it.
//!   Calls between labels (the filling) go through the same wrappers and are counted too, as
//!   "every call".
//! - The general-purpose peers get an 8 KiB arena each (the detalloc heap's blocks are 7 KiB);
//!   heapless's object pool has one block size and gets 112 blocks of 64 B (the detalloc
//!   heap's block count), and serves every request with one block (its cost does not depend on
//!   the request; the harness never writes to a block).
//! - detalloc's `local` lean heap also runs behind a second wrapper pair whose layout is a
//!   constant (`fw_alloc_local_lean_const64` / `fw_free_local_lean_const64`, heapless's block
//!   type, as `Box::new_in` passes it): its pool dispatch folds at compile time. Like
//!   heapless's pool it serves every request with one 64-byte block, so it gets the 17-64 B
//!   class alone (its pool has 32 blocks, heapless 112): that pool's fill levels are the other
//!   subjects', `0`, `16`, `30` and fragmented `16` of 32 (heapless: `0`, `56`, `105`, `56` of
//!   112; the same fractions).
//! - The allocators run one after another, each inside its own never-inlined function with its
//!   heap and arena on that function's stack, so the LM3S6965's 64 KiB of RAM holds one at a
//!   time (heapless's blocks are a static: its pool only takes `&'static mut` blocks).
#![no_std]
#![no_main]

use core::alloc::{GlobalAlloc, Layout};
use core::hint::black_box;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use heapless::pool::object::{Object, ObjectBlock};
use panic_semihosting as _;

// ------------------------------------------------------------------------------------------
// detalloc, one heap type per mode, each with its exported wrapper pair (`CsChecked` is the
// heap of `examples/firmware`).

#[macro_use]
#[path = "../../shared/heaps.rs"]
mod heaps;

heaps!([16 x 64, 64 x 32, 256 x 16] {
    LocalLean: local lean => fw_alloc_local_lean, fw_free_local_lean,
    LocalChecked: local checked => fw_alloc_local_checked, fw_free_local_checked,
    CsLean: critical_section lean => fw_alloc_cs_lean, fw_free_cs_lean,
    CsChecked: critical_section checked => fw_alloc_cs_checked, fw_free_cs_checked,
    LockFree: lock_free stats => fw_alloc_lock_free, fw_free_lock_free,
    LockFreeLean: lock_free lean => fw_alloc_lock_free_lean, fw_free_lock_free_lean,
    Spin: spin stats => fw_alloc_spin, fw_free_spin,
});

/// The constant layout of the `local_lean_const64` wrappers: heapless's block type
/// (`MaybeUninit<[u8; 64]>`: size 64, align 1), the layout `Box::new_in` passes for it. (The
/// harness's requests ask for align 8: the same pool, and the same code.)
const CONST64: Layout = Layout::new::<Block64>();

/// One `allocate` of `LocalLean` with the constant layout `CONST64` (as `Box::new_in` has it):
/// the pool dispatch folds at compile time.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc_local_lean_const64(heap: &LocalLean) -> Result<NonNull<u8>, detalloc::AllocError> {
    detalloc::Heap::allocate(heap, CONST64)
}

/// One `deallocate` of `LocalLean` with the constant layout `CONST64`.
///
/// # Safety
/// As `Heap::deallocate`: `ptr` is a live block of `heap` allocated with `CONST64` (by
/// `fw_alloc_local_lean_const64`).
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_local_lean_const64(
    heap: &LocalLean,
    ptr: NonNull<u8>,
) -> Result<(), detalloc::FreeError> {
    // SAFETY: forwarded: `ptr` is a live block of `heap` allocated with `CONST64` (the
    // caller's contract), `deallocate`'s.
    unsafe { detalloc::Heap::deallocate(heap, ptr, CONST64) }
}

// ------------------------------------------------------------------------------------------
// The peers, each behind the same kind of wrapper pair.

/// Bytes of arena each general-purpose peer gets.
const ARENA: usize = 8192;

/// An arena, 8-aligned (the largest alignment requested).
#[repr(C, align(8))]
struct Arena([MaybeUninit<u8>; ARENA]);

impl Arena {
    const fn new() -> Self {
        Self([MaybeUninit::uninit(); ARENA])
    }
}

/// rlsf's TLSF with the configuration of its README (blocks up to 32 KiB).
pub type Rlsf<'a> = rlsf::Tlsf<'a, u16, u16, 12, 16>;

/// One `Tlsf::allocate`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc_rlsf(tlsf: &mut Rlsf<'_>, layout: Layout) -> Option<NonNull<u8>> {
    tlsf.allocate(layout)
}

/// One `Tlsf::deallocate`.
///
/// # Safety
/// `ptr` is a live allocation of `tlsf` made with `layout`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_rlsf(tlsf: &mut Rlsf<'_>, ptr: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's contract is `Tlsf::deallocate`'s: `ptr` was allocated by `tlsf`
    // with this alignment and is not freed yet.
    unsafe { tlsf.deallocate(ptr, layout.align()) }
}

/// talc's allocator core, no lock (the arena is claimed by hand).
pub type Talc = talc::base::Talc<talc::source::Manual, talc::DefaultBinning>;

/// One `Talc::allocate`.
///
/// # Safety
/// `layout` has a non-zero size.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_alloc_talc(talc: &mut Talc, layout: Layout) -> Option<NonNull<u8>> {
    // SAFETY: the caller guarantees a non-zero size, `Talc::allocate`'s one requirement.
    unsafe { talc.allocate(layout) }
}

/// One `Talc::deallocate`.
///
/// # Safety
/// `ptr` is a live allocation of `talc` made with `layout`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_talc(talc: &mut Talc, ptr: NonNull<u8>, layout: Layout) {
    // SAFETY: forwarded: `ptr` was allocated by `talc` with `layout` and is not freed yet.
    unsafe { talc.deallocate(ptr.as_ptr(), layout) }
}

/// One `linked_list_allocator::Heap::allocate_first_fit`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc_lla(heap: &mut linked_list_allocator::Heap, layout: Layout) -> Option<NonNull<u8>> {
    heap.allocate_first_fit(layout).ok()
}

/// One `linked_list_allocator::Heap::deallocate`.
///
/// # Safety
/// `ptr` is a live allocation of `heap` made with `layout`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_lla(
    heap: &mut linked_list_allocator::Heap,
    ptr: NonNull<u8>,
    layout: Layout,
) {
    // SAFETY: forwarded: `ptr` was allocated by `heap` with `layout` and is not freed yet.
    unsafe { heap.deallocate(ptr, layout) }
}

/// One `GlobalAlloc::alloc` of embedded-alloc's TLSF heap (rlsf inside a critical section).
///
/// # Safety
/// `layout` has a non-zero size.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_alloc_emb_tlsf(heap: &embedded_alloc::TlsfHeap, layout: Layout) -> *mut u8 {
    // SAFETY: the caller guarantees a non-zero size, `GlobalAlloc::alloc`'s requirement.
    unsafe { heap.alloc(layout) }
}

/// One `GlobalAlloc::dealloc` of embedded-alloc's TLSF heap.
///
/// # Safety
/// `ptr` is a live allocation of `heap` made with `layout`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_emb_tlsf(heap: &embedded_alloc::TlsfHeap, ptr: *mut u8, layout: Layout) {
    // SAFETY: forwarded: `ptr` was allocated by `heap` with `layout` and is not freed yet.
    unsafe { heap.dealloc(ptr, layout) }
}

/// One `GlobalAlloc::alloc` of embedded-alloc's LLFF heap (linked_list_allocator inside a
/// critical section).
///
/// # Safety
/// `layout` has a non-zero size.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_alloc_emb_llff(heap: &embedded_alloc::LlffHeap, layout: Layout) -> *mut u8 {
    // SAFETY: the caller guarantees a non-zero size, `GlobalAlloc::alloc`'s requirement.
    unsafe { heap.alloc(layout) }
}

/// One `GlobalAlloc::dealloc` of embedded-alloc's LLFF heap.
///
/// # Safety
/// `ptr` is a live allocation of `heap` made with `layout`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn fw_free_emb_llff(heap: &embedded_alloc::LlffHeap, ptr: *mut u8, layout: Layout) {
    // SAFETY: forwarded: `ptr` was allocated by `heap` with `layout` and is not freed yet.
    unsafe { heap.dealloc(ptr, layout) }
}

/// heapless's pool block: 64 bytes.
type Block64 = MaybeUninit<[u8; 64]>;

heapless::object_pool!(Pool64: Block64);

/// Blocks given to heapless's pool: as many as the detalloc heap has.
const POOL_BLOCKS: usize = 64 + 32 + 16;

/// One request from heapless's object pool (an LL/SC Treiber stack on thumbv7m). The pool has
/// one block size: every request gets a 64-byte block, the layout is not looked at (the
/// harness never writes to a block). The object pool, not the box pool: `box_pool`'s `alloc`
/// also moves an initial value into the block (for a `MaybeUninit<[u8; 64]>` a `memcpy` that
/// makes the call about 126 instructions).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_alloc_heapless(_layout: Layout) -> Option<Object<Pool64>> {
    Pool64.request()
}

/// Returns an object to heapless's pool (its `Drop`).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_free_heapless(object: Object<Pool64>, _layout: Layout) {
    drop(object);
}

// ------------------------------------------------------------------------------------------
// The driver.

/// The global allocator nothing uses: talc links the `alloc` crate (through allocator-api2),
/// which needs one. Every request fails.
struct NoGlobalAlloc;

// SAFETY: `alloc` always reports failure (null), which `GlobalAlloc` allows; `dealloc` is only
// ever given a pointer `alloc` returned, and it never returned one.
unsafe impl GlobalAlloc for NoGlobalAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static NO_GLOBAL_ALLOC: NoGlobalAlloc = NoGlobalAlloc;

/// One allocator under test: a live request is `(pointer, layout)`.
trait Subject {
    /// The request classes it is given: all three, but the 17-64 B class alone for the
    /// constant 64-byte layout (its one pool has 32 blocks, the workload 105 requests live at
    /// nearly full).
    const CLASSES: [bool; 3] = [true; 3];
    /// Allocates through the wrapper; `None` when out of memory.
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>>;
    /// Frees through the wrapper.
    ///
    /// # Safety
    /// `ptr` came from `alloc` on this subject with `layout` and is not freed yet.
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout);
}

/// A detalloc heap and its wrapper pair.
macro_rules! detalloc_subject {
    ($heap:ty, $alloc:ident, $free:ident) => {
        impl Subject for &$heap {
            fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
                black_box($alloc(self, black_box(layout))).ok()
            }
            unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: `ptr` came from this heap's `allocate` (through `alloc`) with
                // `layout` and is not freed yet (the trait's contract): `deallocate`'s.
                let freed = unsafe { $free(self, black_box(ptr), black_box(layout)) };
                black_box(freed).expect("a valid free");
            }
        }
    };
}

detalloc_subject!(LocalLean, fw_alloc_local_lean, fw_free_local_lean);
detalloc_subject!(LocalChecked, fw_alloc_local_checked, fw_free_local_checked);
detalloc_subject!(CsLean, fw_alloc_cs_lean, fw_free_cs_lean);
detalloc_subject!(CsChecked, fw_alloc_cs_checked, fw_free_cs_checked);
detalloc_subject!(LockFree, fw_alloc_lock_free, fw_free_lock_free);
detalloc_subject!(LockFreeLean, fw_alloc_lock_free_lean, fw_free_lock_free_lean);
detalloc_subject!(Spin, fw_alloc_spin, fw_free_spin);

impl Subject for Rlsf<'_> {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        black_box(fw_alloc_rlsf(self, black_box(layout)))
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from this allocator's
        // wrapper, with `layout`, and is not freed yet (the trait's contract): the wrapper's.
        unsafe { fw_free_rlsf(self, black_box(ptr), black_box(layout)) };
        black_box(());
    }
}

impl Subject for Talc {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        assert_ne!(layout.size(), 0, "the wrappers' contract");
        // SAFETY: the size is not zero (asserted just above), the wrapper's one requirement.
        black_box(unsafe { fw_alloc_talc(self, black_box(layout)) })
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from this allocator's
        // wrapper, with `layout`, and is not freed yet (the trait's contract): the wrapper's.
        unsafe { fw_free_talc(self, black_box(ptr), black_box(layout)) };
        black_box(());
    }
}

impl Subject for linked_list_allocator::Heap {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        black_box(fw_alloc_lla(self, black_box(layout)))
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from this allocator's
        // wrapper, with `layout`, and is not freed yet (the trait's contract): the wrapper's.
        unsafe { fw_free_lla(self, black_box(ptr), black_box(layout)) };
        black_box(());
    }
}

impl Subject for &embedded_alloc::TlsfHeap {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        assert_ne!(layout.size(), 0, "the wrappers' contract");
        // SAFETY: the size is not zero (asserted just above), the wrapper's one requirement.
        NonNull::new(black_box(unsafe { fw_alloc_emb_tlsf(self, black_box(layout)) }))
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from this allocator's
        // wrapper, with `layout`, and is not freed yet (the trait's contract): the wrapper's.
        unsafe { fw_free_emb_tlsf(self, black_box(ptr.as_ptr()), black_box(layout)) };
        black_box(());
    }
}

impl Subject for &embedded_alloc::LlffHeap {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        assert_ne!(layout.size(), 0, "the wrappers' contract");
        // SAFETY: the size is not zero (asserted just above), the wrapper's one requirement.
        NonNull::new(black_box(unsafe { fw_alloc_emb_llff(self, black_box(layout)) }))
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from this allocator's
        // wrapper, with `layout`, and is not freed yet (the trait's contract): the wrapper's.
        unsafe { fw_free_emb_llff(self, black_box(ptr.as_ptr()), black_box(layout)) };
        black_box(());
    }
}

/// detalloc's `local` lean heap through the constant-layout wrappers: every request gets a
/// `CONST64` block, the layout is not looked at (as heapless's pool).
struct LocalLeanConst64<'h>(&'h LocalLean);

impl Subject for LocalLeanConst64<'_> {
    const CLASSES: [bool; 3] = [false, true, false];
    fn alloc(&mut self, _layout: Layout) -> Option<NonNull<u8>> {
        black_box(fw_alloc_local_lean_const64(self.0)).ok()
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: `ptr` came from this subject's `alloc`, i.e. from `allocate` with `CONST64`,
        // and is not freed yet (the trait's contract): the wrapper's.
        let freed = unsafe { fw_free_local_lean_const64(self.0, black_box(ptr)) };
        black_box(freed).expect("a valid free");
    }
}

/// heapless's pool: the objects live here, found by address when freed (outside the
/// wrappers: the driver's bookkeeping, not measured).
struct Heapless {
    objects: [Option<Object<Pool64>>; POOL_BLOCKS],
}

impl Subject for Heapless {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let object = black_box(fw_alloc_heapless(black_box(layout)))?;
        let ptr = NonNull::from(&*object).cast::<u8>();
        let slot = self.objects.iter_mut().find(|slot| slot.is_none()).expect("a free slot");
        *slot = Some(object);
        Some(ptr)
    }
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let object = self
            .objects
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|o| NonNull::from(&**o).cast::<u8>() == ptr))
            .and_then(Option::take)
            .expect("a live object");
        fw_free_heapless(black_box(object), black_box(layout));
        black_box(());
    }
}

/// Labels the next measured call: `compare.py` measures the first wrapper call after each call
/// of this function and pairs it with the `call` line printed here.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measure_next(subject: &str, case: &str, op: &str, size: usize) {
    hprintln!("call {} {} {} {}", subject, case, op, size);
}

/// The request classes: the detalloc heap's pools.
const CLASSES: [(usize, usize); 3] = [(1, 16), (17, 64), (65, 256)];
/// Live requests per class at each fill level.
const EMPTY: [usize; 3] = [0, 0, 0];
const HALF: [usize; 3] = [32, 16, 8];
const NEARLY_FULL: [usize; 3] = [60, 30, 15];
const QUARTER: [usize; 3] = [16, 8, 4];
/// Random allocations and frees between the quarter and the fragmented measurement.
const CHURN: usize = 300;
/// Measured rounds per class at each fill level.
const ROUNDS: usize = 4;
/// The workload's seed (the same for every allocator).
const SEED: u32 = 0x2545_f491;
/// At most this many live requests of one class (nearly full, plus one during a round).
const MAX_LIVE: usize = 60 + 1;

#[path = "../../shared/xorshift.rs"]
mod xorshift;

use xorshift::XorShift32 as Rng;

/// The live requests of one class.
struct Class {
    live: [(*mut u8, Layout); MAX_LIVE],
    len: usize,
}

/// The driver's state. Which request a random index names depends on the order of the lists,
/// which depends only on the sequence of operations, never on addresses: every subject frees
/// the same requests as long as no allocation fails.
struct Run<'n> {
    name: &'n str,
    rng: Rng,
    classes: [Class; 3],
    /// The classes the subject is given (`Subject::CLASSES`).
    given: [bool; 3],
    failures: usize,
}

impl<'n> Run<'n> {
    fn new(name: &'n str, given: [bool; 3]) -> Self {
        const EMPTY_CLASS: Class =
            Class { live: [(core::ptr::null_mut(), Layout::new::<u8>()); MAX_LIVE], len: 0 };
        Self { name, rng: Rng(SEED), classes: [EMPTY_CLASS; 3], given, failures: 0 }
    }

    /// `counts`, with 0 for the classes the subject is not given.
    fn restrict(&self, counts: [usize; 3]) -> [usize; 3] {
        core::array::from_fn(|class| if self.given[class] { counts[class] } else { 0 })
    }

    /// Whether the live counts per class are `target`.
    fn at(&self, target: [usize; 3]) -> bool {
        self.classes.iter().zip(target).all(|(class, n)| class.len == n)
    }

    /// Allocates a request of `class` (size uniform in the class, align 8), labelled with
    /// `case` when `case` is `Some`. Appends it to the class's list.
    fn alloc<S: Subject>(&mut self, s: &mut S, class: usize, case: Option<&str>) -> bool {
        let (lo, hi) = CLASSES[class];
        let size = lo + self.rng.below(hi - lo + 1);
        let layout = Layout::from_size_align(size, 8).expect("a valid layout");
        if let Some(case) = case {
            measure_next(self.name, case, "alloc", size);
        }
        match s.alloc(layout) {
            Some(ptr) => {
                let list = &mut self.classes[class];
                assert!(list.len < MAX_LIVE, "more live requests than planned");
                list.live[list.len] = (ptr.as_ptr(), layout);
                list.len += 1;
                true
            }
            None => {
                self.failures += 1;
                hprintln!(
                    "note {} {}: an allocation of {} B failed",
                    self.name,
                    case.unwrap_or("filling"),
                    size
                );
                false
            }
        }
    }

    /// Frees the `index`-th live request of `class` (labelled with `case` when `case` is
    /// `Some`); the last one of the list takes its place.
    fn free<S: Subject>(&mut self, s: &mut S, class: usize, index: usize, case: Option<&str>) {
        let list = &mut self.classes[class];
        let (ptr, layout) = list.live[index];
        list.len -= 1;
        list.live[index] = list.live[list.len];
        if let Some(case) = case {
            measure_next(self.name, case, "free", layout.size());
        }
        let ptr = NonNull::new(ptr).expect("a live request");
        // SAFETY: `ptr` was allocated by `s` with `layout`, and it has just left the live list,
        // so it is freed once.
        unsafe { s.free(ptr, layout) };
    }

    /// Frees a random live request of `class`.
    fn free_random<S: Subject>(&mut self, s: &mut S, class: usize) {
        let index = self.rng.below(self.classes[class].len);
        self.free(s, class, index, None);
    }

    /// Allocates and frees requests of random classes until the live counts are `target` (in
    /// the classes the subject is given).
    fn settle<S: Subject>(&mut self, s: &mut S, target: [usize; 3]) {
        let target = self.restrict(target);
        while !self.at(target) {
            let class = self.rng.below(3);
            let len = self.classes[class].len;
            if len < target[class] {
                if !self.alloc(s, class, None) {
                    return; // out of memory: noted; the measurement goes on from here
                }
            } else if len > target[class] {
                self.free_random(s, class);
            }
        }
    }

    /// `CHURN` random steps, each an allocation or a free of a random class (a step on a
    /// class the subject is not given does nothing), keeping each class between a quarter and
    /// nearly full.
    fn churn<S: Subject>(&mut self, s: &mut S) {
        let (quarter, nearly_full) = (self.restrict(QUARTER), self.restrict(NEARLY_FULL));
        for _ in 0..CHURN {
            let class = self.rng.below(3);
            let grow = self.rng.below(2) == 0;
            let len = self.classes[class].len;
            if grow && len < nearly_full[class] {
                self.alloc(s, class, None);
            } else if !grow && len > quarter[class] {
                self.free_random(s, class);
            }
        }
    }

    /// The measured rounds at the current fill level: per class the subject is given, in turn,
    /// allocate one request, then free a random live request of that class other than the new
    /// one (the new one when it is the only one).
    fn measure<S: Subject>(&mut self, s: &mut S, case: &str) {
        for _ in 0..ROUNDS {
            for class in 0..3 {
                if !self.given[class] || !self.alloc(s, class, Some(case)) {
                    continue;
                }
                let older = self.classes[class].len - 1; // the new request is the last
                let index = if older > 0 { self.rng.below(older) } else { 0 };
                self.free(s, class, index, Some(case));
            }
        }
    }

    /// Frees everything, in random order.
    fn drain<S: Subject>(&mut self, s: &mut S) {
        while !self.at(EMPTY) {
            let class = self.rng.below(3);
            if self.classes[class].len > 0 {
                self.free_random(s, class);
            }
        }
    }
}

/// The whole sequence on one allocator.
fn workload<S: Subject>(s: &mut S, name: &str) {
    let mut run = Run::new(name, S::CLASSES);
    hprintln!("subject {}", name);
    run.settle(s, EMPTY);
    run.measure(s, "empty");
    run.settle(s, HALF);
    run.measure(s, "half");
    run.settle(s, NEARLY_FULL);
    run.measure(s, "nearly-full");
    run.settle(s, QUARTER);
    run.churn(s);
    run.settle(s, HALF);
    run.measure(s, "fragmented");
    run.drain(s);
    if run.failures > 0 {
        hprintln!("note {}: {} failed allocations", name, run.failures);
    }
}

/// Runs the workload on a fresh detalloc heap of type `$heap` (on this function's stack).
macro_rules! run_detalloc {
    ($fn:ident, $heap:ty, $name:literal) => {
        #[inline(never)]
        fn $fn() {
            let heap = <$heap>::new();
            hprintln!("summary {}", <$heap>::SUMMARY);
            workload(&mut &heap, $name);
        }
    };
}

run_detalloc!(run_local_lean, LocalLean, "local_lean");
run_detalloc!(run_local_checked, LocalChecked, "local_checked");
run_detalloc!(run_cs_lean, CsLean, "cs_lean");
run_detalloc!(run_cs_checked, CsChecked, "cs_checked");
run_detalloc!(run_lock_free, LockFree, "lock_free");
run_detalloc!(run_lock_free_lean, LockFreeLean, "lock_free_lean");
run_detalloc!(run_spin, Spin, "spin");

/// `LocalLean` through the constant-layout wrappers (its summary is `run_local_lean`'s).
#[inline(never)]
fn run_local_lean_const64() {
    let heap = LocalLean::new();
    workload(&mut LocalLeanConst64(&heap), "local_lean_const64");
}

#[inline(never)]
fn run_heapless() {
    let blocks = cortex_m::singleton!(: [ObjectBlock<Block64>; POOL_BLOCKS] =
        [const { ObjectBlock::new(MaybeUninit::uninit()) }; POOL_BLOCKS])
    .expect("run once");
    for block in blocks {
        Pool64.manage(block);
    }
    workload(&mut Heapless { objects: [const { None }; POOL_BLOCKS] }, "heapless");
}

#[inline(never)]
fn run_rlsf() {
    let mut arena = Arena::new();
    let mut tlsf = Rlsf::new();
    tlsf.insert_free_block(&mut arena.0);
    workload(&mut tlsf, "rlsf");
}

#[inline(never)]
fn run_talc() {
    let mut arena = Arena::new();
    let mut talc = Talc::new(talc::source::Manual);
    // SAFETY: the arena is this function's, outlives `talc` (declared before it) and is used
    // by nothing else.
    unsafe { talc.claim(arena.0.as_mut_ptr().cast::<u8>(), ARENA) }.expect("a claimable arena");
    workload(&mut talc, "talc");
}

#[inline(never)]
fn run_lla() {
    let mut arena = Arena::new();
    let mut heap = linked_list_allocator::Heap::empty();
    // SAFETY: the arena is this function's, outlives `heap` (declared before it) and is used by
    // nothing else.
    unsafe { heap.init(arena.0.as_mut_ptr().cast::<u8>(), ARENA) };
    workload(&mut heap, "lla");
}

#[inline(never)]
fn run_emb_tlsf() {
    let mut arena = Arena::new();
    let heap = embedded_alloc::TlsfHeap::empty();
    // SAFETY: the arena is this function's, valid for `ARENA` bytes, outlives `heap` (declared
    // before it) and is used by nothing else; `init` is called once.
    unsafe { heap.init(arena.0.as_mut_ptr() as usize, ARENA) };
    workload(&mut &heap, "emb_tlsf");
}

#[inline(never)]
fn run_emb_llff() {
    let mut arena = Arena::new();
    let heap = embedded_alloc::LlffHeap::empty();
    // SAFETY: the arena is this function's, valid for `ARENA` bytes, outlives `heap` (declared
    // before it) and is used by nothing else; `init` is called once.
    unsafe { heap.init(arena.0.as_mut_ptr() as usize, ARENA) };
    workload(&mut &heap, "emb_llff");
}

#[entry]
fn main() -> ! {
    run_local_lean();
    run_local_checked();
    run_cs_lean();
    run_cs_checked();
    run_lock_free();
    run_lock_free_lean();
    run_spin();
    run_local_lean_const64();
    run_heapless();
    run_rlsf();
    run_talc();
    run_lla();
    run_emb_tlsf();
    run_emb_llff();
    hprintln!("done");
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
