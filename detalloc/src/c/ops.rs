//! The C API's operations on one heap, generic over the heap type: what each `det_*` function
//! that [`export_c!`](crate::export_c) generates does once its handle named the heap. Each is
//! the Rust API's call with C's conventions: a null pointer or a status code instead of
//! `Result`, the block found by its address instead of a layout, C's alignment rule.

use core::alloc::Layout;
use core::ffi::{c_char, c_void};
use core::fmt::{self, Write};
use core::ptr::{self, NonNull};

use super::types::{DetPoolStats, DetStats, Status};
use crate::dispatch::Dispatch;
use crate::{FreeError, Heap};

/// The alignment C's `malloc` owes a request of `size` bytes (C17/C23's rule, N2293): that of
/// any fundamental type that fits, i.e. the largest power of two not above `size`, capped at
/// `max_align_t`'s alignment ([`MAX_ALIGN`]); 1 for 0 bytes.
pub const fn default_align(size: usize) -> usize {
    if size == 0 {
        return 1;
    }
    let power = 1 << (usize::BITS - 1 - size.leading_zeros());
    if power < MAX_ALIGN { power } else { MAX_ALIGN }
}

/// `alignof(max_align_t)` of the target's C ABI: 8 on 32-bit Arm (AAPCS), 16 elsewhere
/// (x86_64, AArch64, RISC-V, i386 System V).
pub const MAX_ALIGN: usize = if cfg!(target_arch = "arm") { 8 } else { 16 };

/// The layout of `size` bytes at `align` (0: C's default for the size); `None` when `align` is
/// not a power of two or the size is too large for it.
fn layout(size: usize, align: usize) -> Option<Layout> {
    let align = if align == 0 { default_align(size) } else { align };
    Layout::from_size_align(size, align).ok()
}

fn block_or_null(block: Result<NonNull<u8>, crate::AllocError>) -> *mut c_void {
    block.map_or(ptr::null_mut(), |b| b.as_ptr().cast())
}

/// `det_alloc`: `size` bytes at C's default alignment for the size; null when no block is
/// free.
pub fn alloc<H: Heap>(heap: &H, size: usize) -> *mut c_void {
    alloc_aligned(heap, size, 0)
}

/// `det_alloc_aligned`: `size` bytes at `align` (a power of two; 0 means C's default); null
/// when `align` is not a power of two or no block is free.
pub fn alloc_aligned<H: Heap>(heap: &H, size: usize, align: usize) -> *mut c_void {
    match layout(size, align) {
        Some(layout) => block_or_null(heap.allocate(layout)),
        None => ptr::null_mut(),
    }
}

/// `det_alloc_array`: `count` elements of `size` bytes at `align` (0: C's default for the whole
/// array), uninitialised; null when the product overflows or no block is free.
pub fn alloc_array<H: Heap>(heap: &H, count: usize, size: usize, align: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(bytes) => alloc_aligned(heap, bytes, align),
        None => ptr::null_mut(),
    }
}

/// `det_calloc`: as [`alloc_array`] at C's default alignment, the `count * size` bytes zeroed.
pub fn calloc<H: Heap>(heap: &H, count: usize, size: usize) -> *mut c_void {
    let Some(bytes) = count.checked_mul(size) else { return ptr::null_mut() };
    let block = alloc(heap, bytes);
    if !block.is_null() {
        // SAFETY: `block` was just handed out for `bytes` bytes and nobody else has it.
        unsafe { ptr::write_bytes(block.cast::<u8>(), 0, bytes) };
    }
    block
}

/// `det_free`: frees the block at `ptr`, found by its address (no size). Null is a no-op
/// (`DET_OK`). With validation, a pointer that is no live block start of this heap is refused,
/// counted in `invalid_frees` and reported by its code (`DET_ERR_DOUBLE_FREE`, `_FOREIGN`,
/// `_MISALIGNED`). Without it, a pointer outside every pool (counted) and one inside a block
/// (not counted) are refused; a second free of a block is the caller's to avoid.
///
/// # Safety
/// Without validation, `ptr` is null or a block of `heap` that is allocated (a second free of
/// the same block would hand it out twice). With validation any pointer is refused safely.
pub unsafe fn free<H: Dispatch>(heap: &H, ptr: *mut c_void) -> Status {
    let Some(ptr) = NonNull::new(ptr.cast::<u8>()) else { return Status::OK };
    // A live block start: its pool's whole-block layout, which selects exactly that pool. Else
    // the layout of the pool the address lies in (none: any), so that `deallocate` refuses the
    // pointer for what it is (double free, interior, foreign) and counts it; it frees nothing
    // `holder` rejected.
    let at = heap.holder(ptr).or_else(|| heap.locate(ptr));
    // Without validation `deallocate` takes any address inside a pool for a block (the Rust
    // API's contract makes that the caller's promise): an interior pointer, which C's free
    // promises to refuse, is refused here instead (not counted: without validation the heap
    // keeps no record to count it against).
    if !H::VALIDATES && at.is_some_and(|at| at.offset % at.block_size != 0) {
        return Status::MISALIGNED;
    }
    let layout = at.map_or(Layout::new::<u8>(), |at| {
        // SAFETY: a pool's block size and alignment form a layout (the macro checked it).
        unsafe { Layout::from_size_align_unchecked(at.block_size, at.align) }
    });
    // SAFETY: a pointer `holder` accepted is a live block start with validation, and an
    // allocated block by the caller's promise without. One it rejected is refused by
    // `deallocate` before any link is touched: with validation the bitmap classifies it;
    // without, `holder` accepts every block start and the interior case returned above, so it
    // lies outside every pool (`Foreign`).
    match unsafe { heap.deallocate(ptr, layout) } {
        Ok(()) => Status::OK,
        Err(error) => Status::from(error),
    }
}

/// `det_realloc`: C's `realloc` by the resize rule of the Rust API, the new block at C's
/// default alignment for `size`. Null `ptr`: [`alloc`]. `size` 0: frees the block, returns
/// null. No block free: null, the old block untouched. A `ptr` that is no live block start
/// of this heap: refused and counted as an invalid free, null returned, nothing freed.
///
/// # Safety
/// As [`free`]: without validation, `ptr` is null or an allocated block of `heap`.
pub unsafe fn realloc<H: Dispatch>(heap: &H, ptr: *mut c_void, size: usize) -> *mut c_void {
    let Some(block) = NonNull::new(ptr.cast::<u8>()) else { return alloc(heap, size) };
    if size == 0 {
        // SAFETY: forwarded from the caller.
        unsafe { free(heap, ptr) };
        return ptr::null_mut();
    }
    let Some(at) = heap.holder(block) else {
        // SAFETY: `holder` rejected the pointer, so `free` refuses it (and counts it, but for
        // an interior pointer without validation) and frees nothing.
        unsafe { free(heap, ptr) };
        return ptr::null_mut();
    };
    let Some(new) = layout(size, 0) else { return ptr::null_mut() };
    // SAFETY: `holder` found `block` as a block start of its pool (live, with validation; the
    // caller promises it without): its whole block's layout is a current layout of it.
    let old = unsafe { Layout::from_size_align_unchecked(at.block_size, at.align) };
    // SAFETY: as above.
    match unsafe { crate::resize::resize(heap, block, old, new) } {
        Ok(moved) => moved.as_ptr().cast(),
        Err(_) => ptr::null_mut(),
    }
}

/// `det_usable_size`: the bytes of the block at `ptr` (its pool's block size: a caller may use
/// all of them), 0 when `ptr` is no live block start of this heap (any block start without
/// validation).
pub fn usable_size<H: Dispatch>(heap: &H, ptr: *const c_void) -> usize {
    NonNull::new(ptr.cast_mut().cast::<u8>())
        .and_then(|block| heap.holder(block))
        .map_or(0, |at| at.block_size)
}

/// `det_get_stats`: the heap's figures into `*out`.
///
/// # Safety
/// `out` is null (`DET_ERR_NULL_ARGUMENT`) or valid for a write of a `DetStats`.
pub unsafe fn get_stats<H: Heap>(heap: &H, out: *mut DetStats) -> Status {
    if out.is_null() {
        return Status::NULL_ARGUMENT;
    }
    // SAFETY: `out` is non-null and valid for the write (the caller's promise).
    unsafe { out.write(DetStats::from(heap.stats())) };
    Status::OK
}

/// `det_pool_stats`: pool `pool`'s figures into `*out`; `DET_ERR_NO_POOL` past the last pool.
///
/// # Safety
/// `out` is null (`DET_ERR_NULL_ARGUMENT`) or valid for a write of a `DetPoolStats`.
pub unsafe fn pool_stats<H: Heap>(heap: &H, pool: usize, out: *mut DetPoolStats) -> Status {
    if out.is_null() {
        return Status::NULL_ARGUMENT;
    }
    match heap.pool_stats(pool) {
        Some(stats) => {
            // SAFETY: `out` is non-null and valid for the write (the caller's promise).
            unsafe { out.write(DetPoolStats::from(stats)) };
            Status::OK
        }
        None => Status::NO_POOL,
    }
}

/// `det_pool_count`: how many pools the heap has.
pub fn pool_count<H: Heap>(heap: &H) -> usize {
    (0..).take_while(|&pool| heap.pool_stats(pool).is_some()).count()
}

/// `det_validate`: `DET_OK`, or `DET_ERR_CORRUPT` when the heap's audit finds corruption.
pub fn validate<H: Heap>(heap: &H) -> Status {
    match heap.validate() {
        Ok(()) => Status::OK,
        Err(_) => Status::CORRUPT,
    }
}

/// `det_reset_stats`: counters to 0, peaks to the current use.
pub fn reset_stats<H: Heap>(heap: &H) -> Status {
    heap.reset_stats();
    Status::OK
}

/// A `fmt::Write` into a C buffer: keeps what fits (leaving room for the terminating NUL) and
/// counts everything.
struct CBuffer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for CBuffer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let kept = s.len().min(room);
        if let Some(dest) = self.buf.get_mut(self.len..self.len + kept) {
            dest.copy_from_slice(&s.as_bytes()[..kept]);
        }
        self.len += s.len();
        Ok(())
    }
}

/// `det_report`: the heap's report as text into `buf` (`len` bytes, NUL-terminated, truncated
/// to fit), `snprintf`'s way: returns the report's full length without the NUL, so a caller
/// can size its buffer with `det_report(heap, NULL, 0) + 1`.
///
/// # Safety
/// `buf` is null with `len` 0, or valid for writes of `len` bytes.
pub unsafe fn report<H: Heap>(heap: &H, buf: *mut c_char, len: usize) -> usize {
    let buf: &mut [u8] = if buf.is_null() || len == 0 {
        &mut []
    } else {
        // SAFETY: `buf` is valid for writes of `len` bytes (the caller's promise) and nothing
        // else uses it during this call.
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) }
    };
    let mut out = CBuffer { buf, len: 0 };
    let _ = write!(out, "{}", heap.report());
    let end = out.len.min(out.buf.len().saturating_sub(1));
    if let Some(nul) = out.buf.get_mut(end) {
        *nul = 0;
    }
    out.len
}

impl From<FreeError> for Status {
    fn from(error: FreeError) -> Self {
        match error {
            FreeError::DoubleFree => Status::DOUBLE_FREE,
            FreeError::Foreign => Status::FOREIGN,
            FreeError::Misaligned => Status::MISALIGNED,
            FreeError::WrongPool => Status::WRONG_POOL,
        }
    }
}

/// The free space and its blocks, as FreeRTOS's `vPortGetHeapStats` reports them (see
/// [`crate::export_freertos`]): free bytes, largest and smallest block size with a free
/// block, free blocks, and bytes free at the peak.
pub struct FreeSpace {
    /// Bytes in free blocks (all pools).
    pub free_bytes: usize,
    /// The largest block size among pools with a free block (0: none).
    pub largest: usize,
    /// The smallest block size among pools with a free block (0: none).
    pub smallest: usize,
    /// Free blocks (all pools).
    pub free_blocks: usize,
    /// `total_bytes - peak_bytes`: the free bytes when every pool was at its peak at once, a
    /// lower bound of the least ever free (pools may peak at different times).
    pub least_ever_free: usize,
}

/// The heap's free space (a walk over its pools' counters).
pub fn free_space<H: Heap>(heap: &H) -> FreeSpace {
    let stats = heap.stats();
    let mut space = FreeSpace {
        free_bytes: stats.total_bytes.saturating_sub(stats.in_use_bytes),
        largest: 0,
        smallest: 0,
        free_blocks: 0,
        least_ever_free: stats.total_bytes.saturating_sub(stats.peak_bytes),
    };
    for pool in (0..).map_while(|pool| heap.pool_stats(pool)) {
        let free = pool.blocks.saturating_sub(pool.in_use);
        if free > 0 {
            space.free_blocks += free;
            space.largest = space.largest.max(pool.block_size);
            if space.smallest == 0 {
                space.smallest = pool.block_size;
            }
        }
    }
    space
}
