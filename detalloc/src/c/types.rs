//! The C API's types, each with its C spelling: the opaque heap, the handle a library exports,
//! the status codes, and the statistics structs (`#[repr(C)]`, declared once by
//! [`c_struct!`] so the header's fields are the Rust fields).

use core::ffi::{CStr, c_char, c_void};

use crate::{PoolStats, Stats};

/// A heap as C sees it: an opaque type (`det_heap_t`), only ever behind a pointer.
#[repr(C)]
pub struct DetHeap {
    _opaque: [u8; 0],
}

/// What [`export_c!`](crate::export_c) exports under a heap's C name: a pointer to the heap
/// static (`extern det_heap_t *const audio_heap;` in C). The `det_*` functions compare a
/// handle with the exported ones to find the heap: a compare and branch per heap, no table.
#[repr(transparent)]
pub struct HeapHandle(*const DetHeap);

// SAFETY: the handle is an address that is never dereferenced through this type: the `det_*`
// functions only compare it with the addresses of the heap statics.
unsafe impl Sync for HeapHandle {}

impl HeapHandle {
    /// The handle of `heap`.
    pub const fn of<H>(heap: &'static H) -> Self {
        Self((heap as *const H).cast())
    }

    /// The handle's address, as the `det_*` functions receive it.
    pub const fn get(&self) -> *const DetHeap {
        self.0
    }
}

/// A status code (`det_status_t`, an `int32_t`): 0 is success, the others name what was
/// refused. Any `int32_t` is a valid `Status` (a C caller may pass anything to
/// `det_error_string`, which names the unknown ones as such).
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    /// Success.
    pub const OK: Self = Self(0);
    /// The handle is not one this library exported.
    pub const BAD_HEAP: Self = Self(1);
    /// The block is not allocated: freed twice, or never handed out (with validation).
    pub const DOUBLE_FREE: Self = Self(2);
    /// The pointer lies inside no pool of the heap.
    pub const FOREIGN: Self = Self(3);
    /// The pointer lies inside a pool but not at the start of a block.
    pub const MISALIGNED: Self = Self(4);
    /// The block belongs to another pool than the one its layout selects (the Rust API's
    /// sized free; `det_free` finds the pool by address and never reports it).
    pub const WRONG_POOL: Self = Self(5);
    /// No pool has this index.
    pub const NO_POOL: Self = Self(6);
    /// Validation found the heap's records corrupt (memory written after it was freed, or
    /// through a pointer the heap never handed out).
    pub const CORRUPT: Self = Self(7);
    /// An output pointer was null.
    pub const NULL_ARGUMENT: Self = Self(8);

    /// Every status: its value, its C name and its message (the header's enum and
    /// `det_error_string` are written from this list).
    pub const ALL: [(Status, &'static str, &'static CStr); 9] = [
        (Self::OK, "DET_OK", c"success"),
        (Self::BAD_HEAP, "DET_ERR_BAD_HEAP", c"the handle is not a heap this library exports"),
        (Self::DOUBLE_FREE, "DET_ERR_DOUBLE_FREE", c"double free: the block is not allocated"),
        (Self::FOREIGN, "DET_ERR_FOREIGN", c"foreign pointer: it lies inside no pool of this heap"),
        (
            Self::MISALIGNED,
            "DET_ERR_MISALIGNED",
            c"interior pointer: it is not the start of a block",
        ),
        (
            Self::WRONG_POOL,
            "DET_ERR_WRONG_POOL",
            c"wrong pool: the layout selects another pool than the block's",
        ),
        (Self::NO_POOL, "DET_ERR_NO_POOL", c"no pool has this index"),
        (
            Self::CORRUPT,
            "DET_ERR_CORRUPT",
            c"corrupt heap: a free list, the live bitmap or the counters disagree",
        ),
        (Self::NULL_ARGUMENT, "DET_ERR_NULL_ARGUMENT", c"an output pointer is null"),
    ];

    /// The message of a status code, as a NUL-terminated C string (`det_error_string`);
    /// "unknown detalloc status" for a value that is none of [`ALL`](Self::ALL).
    pub fn message(code: Status) -> *const c_char {
        Self::ALL
            .iter()
            .find(|(status, _, _)| *status == code)
            .map_or(c"unknown detalloc status", |(_, _, message)| message)
            .as_ptr()
    }
}

/// `det_version_string`: `"detalloc <version>"`, NUL-terminated.
pub const VERSION: &CStr = match CStr::from_bytes_with_nul(
    concat!("detalloc ", env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(version) => version,
    Err(_) => c"detalloc",
};

/// A Rust type's C spelling in the header.
pub trait CType {
    /// The C type, e.g. `size_t` or `det_heap_t *`.
    const C: &'static str;
}

macro_rules! c_types {
    ($($rust:ty => $c:literal),* $(,)?) => {
        $(impl CType for $rust {
            const C: &'static str = $c;
        })*
    };
}

c_types! {
    () => "void",
    usize => "size_t",
    u64 => "uint64_t",
    Status => "det_status_t",
    *mut c_void => "void *",
    *const c_void => "const void *",
    *mut c_char => "char *",
    *const c_char => "const char *",
    *const DetHeap => "det_heap_t *",
    *mut DetStats => "det_stats_t *",
    *mut DetPoolStats => "det_pool_stats_t *",
}

/// One field of a C struct: its C type, its name and its comment.
pub type CField = (&'static str, &'static str, &'static str);

/// Declares a `#[repr(C)]` struct and, from the same tokens, the C struct the header writes
/// (`FIELDS`, and `C_NAME`): the two cannot drift apart.
macro_rules! c_struct {
    ($(#[doc = $doc:literal])* $c_name:literal struct $name:ident {
        $($(#[doc = $field_doc:literal])* pub $field:ident: $ty:ty,)*
    }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[doc = $field_doc])* pub $field: $ty,)*
        }

        impl $name {
            /// The C struct's name in the header.
            pub const C_NAME: &'static str = $c_name;
            /// The C struct's fields, in order: type, name, comment.
            pub const FIELDS: &'static [CField] =
                &[$((<$ty as CType>::C, stringify!($field), concat!($($field_doc),*)),)*];
            /// The struct's own comment.
            pub const DOC: &'static str = concat!($($doc),*);
        }
    };
}

c_struct! {
    /// The heap's figures (`det_get_stats`), as `Stats` in Rust.
    "det_stats_t" struct DetStats {
        /// Bytes of blocks in all pools.
        pub total_bytes: usize,
        /// Bytes of allocated blocks (whole blocks, not requested sizes).
        pub in_use_bytes: usize,
        /// Sum over pools of peak x block size: the budget this run needed.
        pub peak_bytes: usize,
        /// Successful allocations.
        pub allocs: u64,
        /// Successful frees.
        pub frees: u64,
        /// Allocations answered with NULL.
        pub failures: u64,
        /// Frees refused.
        pub invalid_frees: u64,
        /// Longest measured allocation in ticks of the heap's clock (0 without one).
        pub wcet_alloc_cycles: u64,
        /// Longest measured free in ticks of the heap's clock (0 without one).
        pub wcet_free_cycles: u64,
    }
}

c_struct! {
    /// One pool's figures (`det_pool_stats`), as `PoolStats` in Rust.
    "det_pool_stats_t" struct DetPoolStats {
        /// Bytes per block.
        pub block_size: usize,
        /// Blocks in the pool.
        pub blocks: usize,
        /// Blocks allocated now.
        pub in_use: usize,
        /// Most blocks allocated at once.
        pub peak: usize,
        /// Allocations served by this pool.
        pub allocs: u64,
        /// Frees into this pool.
        pub frees: u64,
        /// Times this pool was asked for a block and was exhausted.
        pub failures: u64,
    }
}

impl From<Stats> for DetStats {
    fn from(s: Stats) -> Self {
        Self {
            total_bytes: s.total_bytes,
            in_use_bytes: s.in_use_bytes,
            peak_bytes: s.peak_bytes,
            allocs: s.allocs,
            frees: s.frees,
            failures: s.failures,
            invalid_frees: s.invalid_frees,
            wcet_alloc_cycles: s.wcet_alloc_cycles,
            wcet_free_cycles: s.wcet_free_cycles,
        }
    }
}

impl From<PoolStats> for DetPoolStats {
    fn from(p: PoolStats) -> Self {
        Self {
            block_size: p.block_size,
            blocks: p.blocks,
            in_use: p.in_use,
            peak: p.peak,
            allocs: p.allocs,
            frees: p.frees,
            failures: p.failures,
        }
    }
}

/// FreeRTOS's `HeapStats_t` (`portable.h`), filled by the `vPortGetHeapStats` of
/// [`export_freertos!`](crate::export_freertos). Its C declaration is FreeRTOS's own.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FreeRtosHeapStats {
    /// Bytes in free blocks, all pools.
    pub available_heap_space_in_bytes: usize,
    /// The largest block size among pools with a free block.
    pub size_of_largest_free_block_in_bytes: usize,
    /// The smallest block size among pools with a free block.
    pub size_of_smallest_free_block_in_bytes: usize,
    /// Free blocks, all pools.
    pub number_of_free_blocks: usize,
    /// Bytes free when every pool was at its peak at once (a lower bound of the least ever
    /// free: pools may peak at different times).
    pub minimum_ever_free_bytes_remaining: usize,
    /// Successful `pvPortMalloc` calls (the heap's `allocs`).
    pub number_of_successful_allocations: usize,
    /// Successful `vPortFree` calls (the heap's `frees`).
    pub number_of_successful_frees: usize,
}
