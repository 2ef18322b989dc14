//! The allocators a real-time Rust engineer would pick instead of detalloc, behind one small
//! trait, for the comparison bench (`detalloc/benches/compare.rs`) and the latency example.
//! Shared by path (`#[path = ...] mod peers;`); every subject gets a generous arena and is
//! used from one thread.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use detalloc::{Heap, detalloc};

/// The seeded generators (also the determinism example's, which includes this file).
#[path = "shared/xorshift.rs"]
pub mod xorshift;

use xorshift::XorShift64Star;

/// One allocator under test. `Handle` is what a live allocation is: a pointer and layout for
/// the general allocators, a `Box` for heapless's pool.
pub trait Subject {
    /// What a live allocation is.
    type Handle;
    /// The name in tables.
    fn name(&self) -> &'static str;
    /// Whether this subject can serve `layout` at all (heapless's pool has one block size).
    fn supports(&self, layout: Layout) -> bool;
    /// Allocates, `None` when out of memory.
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle>;
    /// Frees an allocation of this subject.
    fn free(&mut self, handle: Self::Handle);
}

/// Bytes of arena every general-purpose peer gets.
pub const ARENA: usize = 8 << 20;

fn arena() -> &'static mut [MaybeUninit<u8>] {
    Box::leak(vec![MaybeUninit::<u8>::uninit(); ARENA].into_boxed_slice())
}

detalloc! {
    /// 5 classes for the mixed workload (16..256 B, up to 1 000 live), lean.
    pub struct MixedLean<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], stats: false, validate: false>;
}
detalloc! {
    /// The same, statistics and validation on.
    pub struct MixedChecked<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], validate: true>;
}
detalloc! {
    /// The same, a ticket lock per pool, statistics on.
    pub struct MixedSpin<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], sync: spin, validate: false>;
}
detalloc! {
    /// The same, lock-free pools, statistics on.
    pub struct MixedLockFree<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], sync: lock_free, validate: false>;
}
detalloc! {
    /// The same, lock-free pools, statistics off (what the statistics cost, beside the above).
    pub struct MixedLockFreeLean<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], sync: lock_free, stats: false, validate: false>;
}
#[cfg(feature = "critical-section")]
detalloc! {
    /// The same, one critical section per operation (host implementation: a global mutex).
    pub struct MixedCritical<pools: [16 x 1024, 32 x 1024, 64 x 1024, 128 x 1024, 256 x 1024], sync: critical_section, validate: false>;
}

/// A detalloc heap (boxed: the heaps are large).
pub struct Detalloc<H: Heap> {
    name: &'static str,
    heap: Box<H>,
}

impl<H: Heap> Detalloc<H> {
    /// Wraps a fresh heap. The all-zero state is the empty heap, so a zeroed box is one.
    pub fn new(name: &'static str) -> Self {
        // SAFETY: the all-zero bytes of a detalloc heap are its documented empty state.
        let heap = unsafe { Box::<H>::new_zeroed().assume_init() };
        Self { name, heap }
    }

    /// The heap itself.
    pub fn heap(&self) -> &H {
        &self.heap
    }
}

impl<H: Heap> Subject for Detalloc<H> {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        self.name
    }
    fn supports(&self, layout: Layout) -> bool {
        layout.size() <= 256
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        self.heap.allocate(layout).ok().map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: the handle came from this heap's `allocate` with this layout.
        let _ = unsafe { self.heap.deallocate(ptr, layout) };
    }
}

/// The physical limit of a pool: one block size (256 B), an intrusive list of raw pointers,
/// no dispatch, no checks, no counters.
pub struct BareFreeList {
    head: *mut u8,
    _blocks: Box<[[u64; 32]]>,
}

impl BareFreeList {
    /// `count` blocks of 256 bytes, threaded.
    pub fn new(count: usize) -> Self {
        let mut blocks = vec![[0u64; 32]; count].into_boxed_slice();
        let mut head: *mut u8 = std::ptr::null_mut();
        for block in blocks.iter_mut().rev() {
            let p = block.as_mut_ptr().cast::<u8>();
            // SAFETY: `p` is a 256-byte, 8-aligned block owned by the list.
            unsafe { p.cast::<*mut u8>().write(head) };
            head = p;
        }
        Self { head, _blocks: blocks }
    }
}

impl Subject for BareFreeList {
    type Handle = NonNull<u8>;
    fn name(&self) -> &'static str {
        "bare free list"
    }
    fn supports(&self, layout: Layout) -> bool {
        layout.size() <= 256 && layout.align() <= 8
    }
    #[inline(always)]
    fn alloc(&mut self, _layout: Layout) -> Option<NonNull<u8>> {
        let head = NonNull::new(self.head)?;
        // SAFETY: a free block holds the next pointer.
        self.head = unsafe { head.as_ptr().cast::<*mut u8>().read() };
        Some(head)
    }
    #[inline(always)]
    fn free(&mut self, block: NonNull<u8>) {
        // SAFETY: `block` came from this list and is free again.
        unsafe { block.as_ptr().cast::<*mut u8>().write(self.head) };
        self.head = block.as_ptr();
    }
}

heapless::box_pool!(HeaplessPool64: MaybeUninit<[u8; 64]>);

/// heapless's lock-free box pool, 64-byte blocks only.
pub struct Heapless;

impl Heapless {
    /// Gives the pool `count` blocks (call once per process).
    pub fn new(count: usize) -> Self {
        use heapless::pool::boxed::BoxBlock;
        for _ in 0..count {
            let block: &'static mut BoxBlock<MaybeUninit<[u8; 64]>> =
                Box::leak(Box::new(BoxBlock::new()));
            HeaplessPool64.manage(block);
        }
        Heapless
    }
}

impl Subject for Heapless {
    type Handle = heapless::pool::boxed::Box<HeaplessPool64>;
    fn name(&self) -> &'static str {
        "heapless pool"
    }
    fn supports(&self, layout: Layout) -> bool {
        layout.size() <= 64 && layout.align() <= 8
    }
    #[inline(always)]
    fn alloc(&mut self, _layout: Layout) -> Option<Self::Handle> {
        HeaplessPool64.alloc(MaybeUninit::uninit()).ok()
    }
    #[inline(always)]
    fn free(&mut self, handle: Self::Handle) {
        drop(handle);
    }
}

/// rlsf's TLSF.
pub struct Rlsf(rlsf::Tlsf<'static, u32, u32, 24, 8>);

impl Rlsf {
    /// A TLSF over an 8 MiB arena.
    pub fn new() -> Self {
        let mut tlsf = rlsf::Tlsf::new();
        tlsf.insert_free_block(arena());
        Self(tlsf)
    }
}

impl Subject for Rlsf {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        "rlsf (TLSF)"
    }
    fn supports(&self, _: Layout) -> bool {
        true
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        self.0.allocate(layout).map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: allocated by this TLSF with this alignment.
        unsafe { self.0.deallocate(ptr, layout.align()) };
    }
}

/// talc.
pub struct Talc(talc::base::Talc<talc::source::Manual, talc::DefaultBinning>);

impl Talc {
    /// talc over an 8 MiB arena.
    pub fn new() -> Self {
        let mut talc = talc::base::Talc::new(talc::source::Manual);
        let arena = arena();
        // SAFETY: the arena is leaked, so it outlives the allocator, and is used by nothing else.
        unsafe { talc.claim(arena.as_mut_ptr().cast(), arena.len()) };
        Self(talc)
    }
}

impl Subject for Talc {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        "talc"
    }
    fn supports(&self, _: Layout) -> bool {
        true
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        // SAFETY: non-zero sizes only are requested by the workloads.
        unsafe { self.0.allocate(layout) }.map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: allocated by this talc with this layout.
        unsafe { self.0.deallocate(ptr.as_ptr(), layout) };
    }
}

/// linked_list_allocator's first-fit heap.
pub struct LinkedList(linked_list_allocator::Heap);

impl LinkedList {
    /// A heap over an 8 MiB arena.
    pub fn new() -> Self {
        let mut heap = linked_list_allocator::Heap::empty();
        let arena = arena();
        // SAFETY: the arena is leaked and used by nothing else.
        unsafe { heap.init(arena.as_mut_ptr().cast(), arena.len()) };
        Self(heap)
    }
}

impl Subject for LinkedList {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        "linked_list_allocator"
    }
    fn supports(&self, _: Layout) -> bool {
        true
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        self.0.allocate_first_fit(layout).ok().map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: allocated by this heap with this layout.
        unsafe { self.0.deallocate(ptr, layout) };
    }
}

/// buddy_system_allocator.
pub struct Buddy(buddy_system_allocator::Heap<32>);

impl Buddy {
    /// A buddy heap over an 8 MiB arena.
    pub fn new() -> Self {
        let mut heap = buddy_system_allocator::Heap::<32>::new();
        let arena = arena();
        // SAFETY: the arena is leaked and used by nothing else.
        unsafe { heap.init(arena.as_mut_ptr() as usize, arena.len()) };
        Self(heap)
    }
}

impl Subject for Buddy {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        "buddy_system_allocator"
    }
    fn supports(&self, _: Layout) -> bool {
        true
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        self.0.alloc(layout).ok().map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: allocated by this heap with this layout.
        unsafe { self.0.dealloc(ptr, layout) };
    }
}

/// The system allocator (glibc malloc here).
pub struct Sys;

impl Subject for Sys {
    type Handle = (NonNull<u8>, Layout);
    fn name(&self) -> &'static str {
        "std System"
    }
    fn supports(&self, _: Layout) -> bool {
        true
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Option<Self::Handle> {
        // SAFETY: non-zero sizes only are requested by the workloads.
        NonNull::new(unsafe { System.alloc(layout) }).map(|p| (p, layout))
    }
    #[inline(always)]
    fn free(&mut self, (ptr, layout): Self::Handle) {
        // SAFETY: allocated by `System` with this layout.
        unsafe { System.dealloc(ptr.as_ptr(), layout) };
    }
}

/// One step of a recorded workload.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Allocate `size` bytes (align 8) into slot `slot`.
    Alloc { slot: usize, size: usize },
    /// Free the allocation in slot `slot`.
    Free { slot: usize },
}

/// The mixed workload: random sizes 16..=256 (align 8), up to `max_live` live, `len` steps,
/// seeded so every subject sees the same sequence. Ends with everything freed.
pub fn mixed_workload(seed: u64, len: usize, max_live: usize) -> Vec<Op> {
    let mut rng = XorShift64Star(seed | 1);
    let mut free_slots: Vec<usize> = (0..max_live).rev().collect();
    let mut live: Vec<usize> = Vec::new();
    let mut ops = Vec::with_capacity(len + max_live);
    for _ in 0..len {
        let grow = live.is_empty() || (!free_slots.is_empty() && rng.below(100) < 52);
        if grow {
            let slot = free_slots.pop().unwrap_or(0);
            let size = 16 + rng.below(241);
            live.push(slot);
            ops.push(Op::Alloc { slot, size });
        } else {
            let slot = live.swap_remove(rng.below(live.len()));
            free_slots.push(slot);
            ops.push(Op::Free { slot });
        }
    }
    for slot in live {
        ops.push(Op::Free { slot });
    }
    ops
}

/// The layout of a workload allocation.
pub fn layout_of(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>())
}
