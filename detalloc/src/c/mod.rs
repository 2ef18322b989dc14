//! detalloc from C: the seed's API (`det_alloc`, `det_free` without a size, stats, validation,
//! error strings, `DET_NEW_ARRAY`) over heaps declared with `detalloc!`, plus drop-in
//! `malloc` and FreeRTOS heap ports.
//!
//! * [`export_c!`](crate::export_c)`(AUDIO as audio_heap, ...)` exports each heap static as a
//!   handle and defines the `det_*` functions of `detalloc/include/detalloc.h` in the invoking
//!   crate (once per image).
//! * [`export_malloc!`](crate::export_malloc)`(HEAP)`: `malloc`, `free`, ... on one heap.
//! * [`export_freertos!`](crate::export_freertos)`(HEAP)`: `pvPortMalloc`, `vPortFree`, ...
//! * [`write_header`]: the header, from the Rust signatures.
//!
//! A C team builds a static library and its header with the `detalloc-c` tool, writing no
//! Rust: `cargo run -p detalloc-c -- --pools "[16 x 64, 64 x 32]" --sync critical_section
//! --target thumbv7m-none-eabi --out build/` (see its README for the link line and the
//! pitfalls of Rust static libraries).
//!
//! The conventions, where C's differ from the Rust API's: a failed allocation is NULL; a free
//! finds the block by its address ([`Dispatch::holder`](crate::__private::Dispatch)), and a
//! refused free returns its code (the Rust `FreeError`s, with validation as the catalogue
//! says); `det_alloc(size)` aligns as C's `malloc` must (the largest power of two not above
//! the size, up to `alignof(max_align_t)`), `det_alloc_aligned` as asked.

mod export;
mod header;
pub mod ops;
mod types;

pub use header::{CFn, CFunction, write_header};
pub use types::{
    CField, CType, DetHeap, DetPoolStats, DetStats, FreeRtosHeapStats, HeapHandle, Status, VERSION,
};
