//! Deterministic, constant-time memory pools for hard real-time Rust.
//!
//! A heap is declared with the [`detalloc!`] macro: a list of fixed-block pools, checked at
//! compile time and laid out as statically sized buffers. The generated type implements
//! [`Heap`] and [`core::alloc::GlobalAlloc`]; its size-class dispatch is generated code with the
//! pool sizes as immediates, so the runtime consults no configuration table.
//!
//! ```
//! use detalloc::{detalloc, Heap};
//! use core::alloc::Layout;
//!
//! detalloc! {
//!     /// Heap for the audio thread.
//!     pub struct AudioHeap<pools: [16 x 64, 64 x 32, 256 x 8], sync: spin, validate: true>;
//! }
//!
//! static HEAP: AudioHeap = AudioHeap::new();
//!
//! let layout = Layout::from_size_align(40, 8).unwrap();
//! let block = HEAP.allocate(layout).unwrap();          // served by the 64-byte pool
//! assert_eq!(HEAP.pool_stats(1).unwrap().in_use, 1);
//! // SAFETY: `block` came from `HEAP.allocate(layout)` and is freed once.
//! unsafe { HEAP.deallocate(block, layout) }.unwrap();
//! // A second free is refused (validation is on) and counted.
//! // SAFETY: with validation on, a double free is detected and refused, not undefined.
//! assert!(unsafe { HEAP.deallocate(block, layout) }.is_err());
//! assert_eq!(HEAP.stats().invalid_frees, 1);
//! assert_eq!(AudioHeap::TOTAL_BYTES, 16 * 64 + 64 * 32 + 256 * 8);
//! ```
//!
//! # Guarantees
//! * **Bounded**: `allocate` and `deallocate` run a fixed instruction sequence: a dispatch over
//!   the pool count, then one of two paths (reuse a freed block, or hand out a never-used one).
//!   No loop on the `local` and `critical_section` paths; `spin` waits in FIFO order.
//! * **Nothing lost**: exhaustion is `Err(AllocError)` (null from `GlobalAlloc`); with
//!   validation on, a double, foreign or interior free is refused and counted.
//! * **Auditable**: `POOLS`, `TOTAL_BYTES` and `SUMMARY` are constants; the heap is one value
//!   whose all-zero state is the empty heap (a `static` lands in `.bss`).
//!
//! # Where to read on
//! * [`detalloc!`]: the declaration's grammar and keys, the static form (pools in linker
//!   sections), what is generated, every compile error, the presets.
//! * [`guide`]: the reference chapters: [semantics](guide::semantics),
//!   [sync modes](guide::sync_modes), [waiting](guide::waiting), [hooks](guide::hooks),
//!   [WCET](guide::wcet), [firmware](guide::firmware), [safety and testing](guide::safety).
//! * The repository's `docs/measurements.md`: every measured figure, each table with the
//!   command that makes it; `ARCHITECTURE.md`: how the crate is built, and its glossary.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

// Lets the crate's own unit tests expand `detalloc!`, whose output names `::detalloc`.
extern crate self as detalloc;

mod api2;
mod arch;
#[cfg(not(loom))]
pub mod arena;
mod audit;
pub mod c;
pub mod clock;
mod counters;
mod dispatch;
mod error;
mod fallback;
pub mod guide;
mod heap;
mod heap_state;
mod hooks;
mod inspect;
mod pool;
mod report;
mod resize;
mod sync;
mod timing;
pub mod wait;

#[doc(hidden)]
pub mod __private;

pub use clock::Clock;
pub use counters::{PoolStats, Stats};
#[doc = include_str!("../docs/macro.md")]
pub use detalloc_macros::detalloc;
pub use error::{AllocError, Corruption, FreeError};
pub use heap::{Heap, PoolSpec};
pub use hooks::{Hooks, NoHooks};
pub use report::Report;
pub use timing::{OpTiming, Timing};

/// How `sync: lock_free` makes ABA impossible on this target: `"LL/SC (LDREX/STREX)"` on
/// ARMv7-M, ARMv7E-M and ARMv8-M mainline, `"LL/SC (LR.W/SC.W)"` on RISC-V with the A
/// extension, `"tagged CAS (32 + 32)"` where a 64-bit compare-and-swap carries a 32-bit tag. (Where neither exists, `sync: lock_free` is a compile
/// error and this constant is absent.)
#[cfg(detalloc_lock_free)]
pub const LOCK_FREE_HEAD: &str = pool::treiber::STRATEGY;

/// The `allocator-api2` crate, so users name the version `detalloc` implements `Allocator`
/// for. Its `Vec` and `Box` need this crate's `alloc` feature:
/// `detalloc::allocator_api2::vec::Vec::new_in(&HEAP)`.
#[cfg(feature = "allocator-api2")]
pub use allocator_api2;
