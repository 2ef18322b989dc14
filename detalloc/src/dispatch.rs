//! What the code `detalloc!` generates provides to the generic helpers (resizing, the
//! allocator-api2 impl): the size-class dispatch and the by-address operations, each as
//! generated code with the pool sizes as immediates (no table is read at run time).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::{AllocError, Heap};

/// Where a block lies: the pool whose buffer holds it, found by its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// The pool's index.
    pub pool: usize,
    /// The block's offset in the pool's buffer (a multiple of `block_size`).
    pub offset: usize,
    /// The pool's block size: how many bytes the block has.
    pub block_size: usize,
    /// The pool's block alignment: what every block of the pool is aligned to.
    pub align: usize,
}

impl Holder {
    /// Whether the block serves `layout` where it is: the pool's blocks hold `layout.size()`
    /// bytes and are aligned to `layout.align()` (the pool's alignment, not the address's
    /// accidental one, so the verdict does not depend on where the block happens to lie).
    #[inline]
    pub fn fits(&self, layout: Layout) -> bool {
        layout.size() <= self.block_size && layout.align() <= self.align
    }
}

/// A generated heap's dispatch. Implemented by the macro's expansion only.
pub trait Dispatch: Heap {
    /// Whether this build classifies frees with the live bitmap (`validate: true`, or
    /// `validate: debug` in a debug build of the declaring crate).
    const VALIDATES: bool;

    /// The pool a request selects: the smallest whose block size is `>= size` and whose
    /// alignment is `>= align`.
    fn select(size: usize, align: usize) -> Option<usize>;

    /// The pool holding the block that starts at `ptr`, by address; `None` when `ptr` lies in
    /// no pool, not at a block start, or (with validation) at a block that is not live.
    fn holder(&self, ptr: NonNull<u8>) -> Option<Holder>;

    /// The pool whose buffer `ptr` lies in, wherever in it (`offset` is not rounded, and the
    /// block need not be live): how the C API's free, which has no layout, names the pool to
    /// refuse a bad pointer against. `None` outside every pool.
    fn locate(&self, ptr: NonNull<u8>) -> Option<Holder>;

    /// `allocate`, with the whole block: its length is the serving pool's block size.
    ///
    /// # Errors
    /// As [`Heap::allocate`].
    fn allocate_block(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError>;

    /// An allocation from the pool `layout` selects only (never spilled), allowed to fail
    /// without being a failure: the pool's exhaustion is counted, the heap's `failures` and
    /// the `on_fail` hook are not (a shrink that then keeps its block in place). `on_alloc` is
    /// called on success. The whole block, as [`allocate_block`](Self::allocate_block).
    fn allocate_quietly(&self, layout: Layout) -> Option<NonNull<[u8]>>;

    /// Marks the live block at `at` as kept in its pool for a layout that selects a smaller
    /// one, so its free may name that layout (with validation; nothing without).
    ///
    /// # Safety
    /// `at` came from [`holder`](Self::holder) for a live block of this heap.
    unsafe fn keep(&self, at: Holder);
}
