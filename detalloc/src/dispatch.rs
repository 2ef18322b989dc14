//! What the code `detalloc!` generates provides to the generic helpers (resizing, the
//! allocator-api2 impl): the size-class dispatch and the by-address operations, each as
//! generated code with the pool sizes as immediates (no table is read at run time).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::{AllocError, Heap};

/// A generated heap's dispatch. Implemented by the macro's expansion only.
pub trait Dispatch: Heap {
    /// The pool a request selects: the smallest whose block size is `>= size` and whose
    /// alignment is `>= align`.
    fn select(size: usize, align: usize) -> Option<usize>;

    /// The block size of the pool a request selects (an immediate in each arm).
    fn block_size(size: usize, align: usize) -> Option<usize>;

    /// `allocate`, with the whole block: its length is the pool's block size.
    ///
    /// # Errors
    /// As [`Heap::allocate`].
    fn allocate_block(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError>;

    /// An allocation that is allowed to fail without being a failure: the pool's exhaustion
    /// is counted, the heap's `failures` and the `on_fail` hook are not (a shrink that then
    /// keeps its block in place). `on_alloc` is called on success.
    fn allocate_quietly(&self, layout: Layout) -> Option<NonNull<u8>>;

    /// Marks the live block `ptr` as kept in place after a shrink its smaller pool could not
    /// take, so its free may name the smaller layout (with validation; nothing without).
    ///
    /// # Safety
    /// `ptr` is a live block of this heap.
    unsafe fn keep(&self, ptr: NonNull<u8>);
}
