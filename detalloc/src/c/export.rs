//! The macros that export heaps to C: [`export_c!`](crate::export_c) (the `det_*` API and a
//! handle per heap), [`export_malloc!`](crate::export_malloc) (the `malloc` family, newlib's
//! reentrant `_r` entry points included) and [`export_freertos!`](crate::export_freertos)
//! (FreeRTOS's heap port). Each generates `#[no_mangle]` functions in the crate that invokes
//! it: once per linked image.

/// The body of a `det_*` function: runs `$body` with `$h` bound to the heap whose handle
/// `$handle` is (a compare and branch per exported heap, each a link-time constant), else
/// `$otherwise`.
#[doc(hidden)]
#[macro_export]
macro_rules! __c_dispatch {
    ($handle:expr, [$($heap:path),+], $h:ident => $body:expr, $otherwise:expr) => {{
        let __det_dispatch_handle: *const $crate::c::DetHeap = $handle;
        $(
            if ::core::ptr::eq(__det_dispatch_handle, $crate::c::HeapHandle::of(&$heap).get()) {
                let $h = &$heap;
                return $body;
            }
        )+
        $otherwise
    }};
}

/// Exports heaps to C: `detalloc::export_c!(AUDIO as audio_heap, NET as net_heap);` makes
/// each heap static a handle C declares with `DET_HEAP(audio_heap);` (`detalloc.h`), and
/// defines the `det_*` functions of the header for them. Invoke it once per linked image,
/// listing every heap (a second invocation defines the `det_*` symbols twice: a link error).
///
/// A `det_*` function finds its heap by comparing the handle with each exported heap's
/// address (a link-time constant): no table, no indirect call, so the static audit follows
/// `det_alloc` and `det_free` into the heap's code. A handle that is none of them gets NULL,
/// 0 or `DET_ERR_BAD_HEAP`. Thread safety is each heap's declared `sync`.
///
/// ```
/// detalloc::detalloc! { pub struct AudioHeap<pools: [16 x 8, 64 x 4], sync: spin>; }
/// static AUDIO: AudioHeap = AudioHeap::new();
/// detalloc::export_c!(AUDIO as audio_heap);
///
/// // What a C caller does: `void *p = det_alloc(audio_heap, 24); det_free(audio_heap, p);`
/// // SAFETY: `audio_heap` is a handle this crate exported; `p` is its block, freed once.
/// unsafe {
///     let p = det_alloc(audio_heap.get(), 24);
///     assert!(!p.is_null());
///     assert_eq!(det_usable_size(audio_heap.get(), p), 64);
///     assert_eq!(det_free(audio_heap.get(), p), detalloc::c::Status::OK);
/// }
/// ```
#[macro_export]
macro_rules! export_c {
    ($($heap:path as $name:ident),+ $(,)?) => {
        $(
            #[doc = concat!("The C handle of `", stringify!($heap), "` (`DET_HEAP(", stringify!($name), ");`).")]
            #[allow(non_upper_case_globals)]
            #[unsafe(no_mangle)]
            pub static $name: $crate::c::HeapHandle = $crate::c::HeapHandle::of(&$heap);
        )+

        /// `det_alloc` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle and size are accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_alloc(
            __det_heap: *const $crate::c::DetHeap,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::__c_dispatch!(__det_heap, [$($heap),+], __det_h => $crate::c::ops::alloc(__det_h, __det_size),
                ::core::ptr::null_mut())
        }

        /// `det_alloc_aligned` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle, size and alignment are accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_alloc_aligned(
            __det_heap: *const $crate::c::DetHeap,
            __det_size: usize,
            __det_align: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => $crate::c::ops::alloc_aligned(__det_h, __det_size, __det_align), ::core::ptr::null_mut())
        }

        /// `det_alloc_array` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle and sizes are accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_alloc_array(
            __det_heap: *const $crate::c::DetHeap,
            __det_count: usize,
            __det_size: usize,
            __det_align: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => $crate::c::ops::alloc_array(__det_h, __det_count, __det_size, __det_align), ::core::ptr::null_mut())
        }

        /// `det_calloc` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle and sizes are accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_calloc(
            __det_heap: *const $crate::c::DetHeap,
            __det_count: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => $crate::c::ops::calloc(__det_h, __det_count, __det_size), ::core::ptr::null_mut())
        }

        /// `det_realloc` (detalloc.h).
        ///
        /// # Safety
        /// As `detalloc::c::ops::realloc`: `ptr` is null or a block of the heap (any pointer
        /// with validation on).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_realloc(
            __det_heap: *const $crate::c::DetHeap,
            __det_ptr: *mut ::core::ffi::c_void,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: forwarded from the caller.
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => unsafe { $crate::c::ops::realloc(__det_h, __det_ptr, __det_size) }, ::core::ptr::null_mut())
        }

        /// `det_free` (detalloc.h).
        ///
        /// # Safety
        /// As `detalloc::c::ops::free`: `ptr` is null or an allocated block of the heap (any
        /// pointer with validation on).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_free(
            __det_heap: *const $crate::c::DetHeap,
            __det_ptr: *mut ::core::ffi::c_void,
        ) -> $crate::c::Status {
            // SAFETY: forwarded from the caller.
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => unsafe { $crate::c::ops::free(__det_h, __det_ptr) }, $crate::c::Status::BAD_HEAP)
        }

        /// `det_usable_size` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle and pointer are accepted (the pointer is only compared).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_usable_size(
            __det_heap: *const $crate::c::DetHeap,
            __det_ptr: *const ::core::ffi::c_void,
        ) -> usize {
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => $crate::c::ops::usable_size(__det_h, __det_ptr), 0)
        }

        /// `det_get_stats` (detalloc.h).
        ///
        /// # Safety
        /// `stats` is null or valid for a write of a `det_stats_t`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_get_stats(
            __det_heap: *const $crate::c::DetHeap,
            __det_stats: *mut $crate::c::DetStats,
        ) -> $crate::c::Status {
            // SAFETY: forwarded from the caller.
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => unsafe { $crate::c::ops::get_stats(__det_h, __det_stats) }, $crate::c::Status::BAD_HEAP)
        }

        /// `det_pool_stats` (detalloc.h).
        ///
        /// # Safety
        /// `stats` is null or valid for a write of a `det_pool_stats_t`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_pool_stats(
            __det_heap: *const $crate::c::DetHeap,
            __det_pool: usize,
            __det_stats: *mut $crate::c::DetPoolStats,
        ) -> $crate::c::Status {
            // SAFETY: forwarded from the caller.
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => unsafe { $crate::c::ops::pool_stats(__det_h, __det_pool, __det_stats) },
                $crate::c::Status::BAD_HEAP)
        }

        /// `det_pool_count` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle is accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_pool_count(__det_heap: *const $crate::c::DetHeap) -> usize {
            $crate::__c_dispatch!(__det_heap, [$($heap),+], __det_h => $crate::c::ops::pool_count(__det_h), 0)
        }

        /// `det_validate` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle is accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_validate(
            __det_heap: *const $crate::c::DetHeap,
        ) -> $crate::c::Status {
            $crate::__c_dispatch!(__det_heap, [$($heap),+], __det_h => $crate::c::ops::validate(__det_h),
                $crate::c::Status::BAD_HEAP)
        }

        /// `det_reset_stats` (detalloc.h).
        ///
        /// # Safety
        /// None beyond C's: any handle is accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_reset_stats(
            __det_heap: *const $crate::c::DetHeap,
        ) -> $crate::c::Status {
            $crate::__c_dispatch!(__det_heap, [$($heap),+], __det_h => $crate::c::ops::reset_stats(__det_h),
                $crate::c::Status::BAD_HEAP)
        }

        /// `det_report` (detalloc.h).
        ///
        /// # Safety
        /// `buf` is null with `len` 0, or valid for writes of `len` bytes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_report(
            __det_heap: *const $crate::c::DetHeap,
            __det_buf: *mut ::core::ffi::c_char,
            __det_len: usize,
        ) -> usize {
            // SAFETY: forwarded from the caller.
            $crate::__c_dispatch!(__det_heap, [$($heap),+],
                __det_h => unsafe { $crate::c::ops::report(__det_h, __det_buf, __det_len) }, 0)
        }

        /// `det_error_string` (detalloc.h).
        ///
        /// # Safety
        /// None: any code is accepted.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_error_string(
            __det_status: $crate::c::Status,
        ) -> *const ::core::ffi::c_char {
            $crate::c::Status::message(__det_status)
        }

        /// `det_version_string` (detalloc.h).
        ///
        /// # Safety
        /// None.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn det_version_string() -> *const ::core::ffi::c_char {
            $crate::c::VERSION.as_ptr()
        }

        /// The exported functions, for `detalloc::c::write_header`.
        #[doc(hidden)]
        pub const __DETALLOC_C_FUNCTIONS: [$crate::c::CFunction; 15] = [
            $crate::c::CFunction::new("det_alloc", det_alloc as unsafe extern "C" fn(_, _) -> _),
            $crate::c::CFunction::new("det_alloc_aligned", det_alloc_aligned as unsafe extern "C" fn(_, _, _) -> _),
            $crate::c::CFunction::new("det_alloc_array", det_alloc_array as unsafe extern "C" fn(_, _, _, _) -> _),
            $crate::c::CFunction::new("det_calloc", det_calloc as unsafe extern "C" fn(_, _, _) -> _),
            $crate::c::CFunction::new("det_realloc", det_realloc as unsafe extern "C" fn(_, _, _) -> _),
            $crate::c::CFunction::new("det_free", det_free as unsafe extern "C" fn(_, _) -> _),
            $crate::c::CFunction::new("det_usable_size", det_usable_size as unsafe extern "C" fn(_, _) -> _),
            $crate::c::CFunction::new("det_get_stats", det_get_stats as unsafe extern "C" fn(_, _) -> _),
            $crate::c::CFunction::new("det_pool_stats", det_pool_stats as unsafe extern "C" fn(_, _, _) -> _),
            $crate::c::CFunction::new("det_pool_count", det_pool_count as unsafe extern "C" fn(_) -> _),
            $crate::c::CFunction::new("det_validate", det_validate as unsafe extern "C" fn(_) -> _),
            $crate::c::CFunction::new("det_reset_stats", det_reset_stats as unsafe extern "C" fn(_) -> _),
            $crate::c::CFunction::new("det_report", det_report as unsafe extern "C" fn(_, _, _) -> _),
            $crate::c::CFunction::new("det_error_string", det_error_string as unsafe extern "C" fn(_) -> _),
            $crate::c::CFunction::new("det_version_string", det_version_string as unsafe extern "C" fn() -> _),
        ];
    };
}

/// Routes C's `malloc` family to one heap, for newlib, newlib-nano and picolibc firmware:
/// `malloc`, `free`, `calloc`, `realloc`, `aligned_alloc`, `memalign`, `posix_memalign`,
/// `malloc_usable_size`, and newlib's reentrant `_malloc_r`, `_free_r`, `_calloc_r`,
/// `_realloc_r`, `_memalign_r` (so the C library's own calls, e.g. `printf`'s buffer, come
/// here too and libc's allocator is never linked). `malloc` aligns as C's default for the
/// size; a bad `free` is refused and counted (with validation), never a crash.
///
/// (A crate of its own, not run: a `malloc` exported from a test binary would become that
/// binary's own allocator.)
///
/// ```no_run,standalone_crate
/// detalloc::detalloc! {
///     pub struct CHeap<pools: [16 x 64, 256 x 16, 1024 x 4], sync: spin>;
/// }
/// static HEAP: CHeap = CHeap::new();
/// detalloc::export_malloc!(HEAP);
/// ```
#[macro_export]
macro_rules! export_malloc {
    ($heap:path) => {
        /// C's `malloc` on the heap.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn malloc(__det_size: usize) -> *mut ::core::ffi::c_void {
            $crate::c::ops::alloc(&$heap, __det_size)
        }

        /// C's `free` on the heap.
        ///
        /// # Safety
        /// As `detalloc::c::ops::free`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn free(__det_ptr: *mut ::core::ffi::c_void) {
            // SAFETY: forwarded from the caller.
            let _ = unsafe { $crate::c::ops::free(&$heap, __det_ptr) };
        }

        /// C's `calloc` on the heap.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn calloc(
            __det_count: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::c::ops::calloc(&$heap, __det_count, __det_size)
        }

        /// C's `realloc` on the heap.
        ///
        /// # Safety
        /// As `detalloc::c::ops::realloc`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn realloc(
            __det_ptr: *mut ::core::ffi::c_void,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: forwarded from the caller.
            unsafe { $crate::c::ops::realloc(&$heap, __det_ptr, __det_size) }
        }

        /// C11's `aligned_alloc` on the heap (NULL for an alignment that is no power of two).
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn aligned_alloc(
            __det_align: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            if __det_align == 0 {
                return ::core::ptr::null_mut();
            }
            $crate::c::ops::alloc_aligned(&$heap, __det_size, __det_align)
        }

        /// `memalign` on the heap.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn memalign(
            __det_align: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: no precondition.
            unsafe { aligned_alloc(__det_align, __det_size) }
        }

        /// POSIX's `posix_memalign` on the heap: 0, or `ENOMEM` (12) / `EINVAL` (22).
        ///
        /// # Safety
        /// `out` is valid for a write of a pointer.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn posix_memalign(
            __det_out: *mut *mut ::core::ffi::c_void,
            __det_align: usize,
            __det_size: usize,
        ) -> i32 {
            if !__det_align.is_power_of_two() || __det_align % ::core::mem::size_of::<usize>() != 0
            {
                return 22;
            }
            let __det_block = $crate::c::ops::alloc_aligned(&$heap, __det_size, __det_align);
            if __det_block.is_null() {
                return 12;
            }
            // SAFETY: `out` is valid for the write (the caller's promise).
            unsafe { __det_out.write(__det_block) };
            0
        }

        /// `malloc_usable_size` on the heap.
        ///
        /// # Safety
        /// None: the pointer is only compared.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn malloc_usable_size(__det_ptr: *mut ::core::ffi::c_void) -> usize {
            $crate::c::ops::usable_size(&$heap, __det_ptr)
        }

        /// newlib's reentrant `malloc`.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn _malloc_r(
            __det_reent: *mut ::core::ffi::c_void,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::c::ops::alloc(&$heap, __det_size)
        }

        /// newlib's reentrant `free`.
        ///
        /// # Safety
        /// As `free`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn _free_r(
            __det_reent: *mut ::core::ffi::c_void,
            __det_ptr: *mut ::core::ffi::c_void,
        ) {
            // SAFETY: forwarded from the caller.
            unsafe { free(__det_ptr) }
        }

        /// newlib's reentrant `calloc`.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn _calloc_r(
            __det_reent: *mut ::core::ffi::c_void,
            __det_count: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            $crate::c::ops::calloc(&$heap, __det_count, __det_size)
        }

        /// newlib's reentrant `realloc`.
        ///
        /// # Safety
        /// As `realloc`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn _realloc_r(
            __det_reent: *mut ::core::ffi::c_void,
            __det_ptr: *mut ::core::ffi::c_void,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: forwarded from the caller.
            unsafe { realloc(__det_ptr, __det_size) }
        }

        /// newlib's reentrant `memalign`.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn _memalign_r(
            __det_reent: *mut ::core::ffi::c_void,
            __det_align: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: no precondition.
            unsafe { aligned_alloc(__det_align, __det_size) }
        }
    };
}

/// FreeRTOS's heap port on one heap, in place of `heap_4.c`: `pvPortMalloc`, `vPortFree`,
/// `pvPortCalloc`, `xPortGetFreeHeapSize`, `xPortGetMinimumEverFreeHeapSize`,
/// `vPortGetHeapStats` (FreeRTOS's `HeapStats_t`: [`FreeRtosHeapStats`](crate::c::FreeRtosHeapStats)) and
/// `vPortInitialiseBlocks`. Blocks are aligned to 8 bytes on 32-bit Arm and 16 elsewhere (the
/// ports' `portBYTE_ALIGNMENT`, at least). Thread safety is the heap's `sync` (declare it
/// `critical_section`: FreeRTOS's port implements it by masking interrupts), not
/// `vTaskSuspendAll`. The figures need `stats: true` (the default); the least-ever-free figure
/// is the total minus the sum of the pools' peaks, a lower bound (pools peak at different
/// times). `configUSE_MALLOC_FAILED_HOOK` is FreeRTOS's to call; this port does not.
///
/// ```no_run
/// detalloc::detalloc! {
///     pub struct RtosHeap<pools: [32 x 64, 128 x 16, 1024 x 8], sync: spin>;
/// }
/// static HEAP: RtosHeap = RtosHeap::new();
/// detalloc::export_freertos!(HEAP);
/// ```
#[macro_export]
macro_rules! export_freertos {
    ($heap:path) => {
        /// FreeRTOS's `pvPortMalloc`.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn pvPortMalloc(__det_size: usize) -> *mut ::core::ffi::c_void {
            $crate::c::ops::alloc_aligned(&$heap, __det_size, $crate::c::ops::MAX_ALIGN)
        }

        /// FreeRTOS's `vPortFree` (a bad pointer is refused and counted with validation).
        ///
        /// # Safety
        /// As `detalloc::c::ops::free`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vPortFree(__det_ptr: *mut ::core::ffi::c_void) {
            // SAFETY: forwarded from the caller.
            let _ = unsafe { $crate::c::ops::free(&$heap, __det_ptr) };
        }

        /// FreeRTOS's `pvPortCalloc`.
        ///
        /// # Safety
        /// None beyond C's.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn pvPortCalloc(
            __det_count: usize,
            __det_size: usize,
        ) -> *mut ::core::ffi::c_void {
            let Some(__det_bytes) = __det_count.checked_mul(__det_size) else {
                return ::core::ptr::null_mut();
            };
            // SAFETY: no precondition.
            let __det_block = unsafe { pvPortMalloc(__det_bytes) };
            if !__det_block.is_null() {
                // SAFETY: `block` was just handed out for `bytes` bytes.
                unsafe { ::core::ptr::write_bytes(__det_block.cast::<u8>(), 0, __det_bytes) };
            }
            __det_block
        }

        /// FreeRTOS's `xPortGetFreeHeapSize`: bytes in free blocks.
        ///
        /// # Safety
        /// None.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn xPortGetFreeHeapSize() -> usize {
            $crate::c::ops::free_space(&$heap).free_bytes
        }

        /// FreeRTOS's `xPortGetMinimumEverFreeHeapSize` (see the macro's docs).
        ///
        /// # Safety
        /// None.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn xPortGetMinimumEverFreeHeapSize() -> usize {
            $crate::c::ops::free_space(&$heap).least_ever_free
        }

        /// FreeRTOS's `vPortGetHeapStats`.
        ///
        /// # Safety
        /// `stats` is null (ignored) or valid for a write of a `HeapStats_t`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vPortGetHeapStats(__det_stats: *mut $crate::c::FreeRtosHeapStats) {
            if __det_stats.is_null() {
                return;
            }
            let __det_space = $crate::c::ops::free_space(&$heap);
            let __det_counts = $crate::Heap::stats(&$heap);
            // SAFETY: `stats` is non-null and valid for the write (the caller's promise).
            unsafe {
                __det_stats.write($crate::c::FreeRtosHeapStats {
                    available_heap_space_in_bytes: __det_space.free_bytes,
                    size_of_largest_free_block_in_bytes: __det_space.largest,
                    size_of_smallest_free_block_in_bytes: __det_space.smallest,
                    number_of_free_blocks: __det_space.free_blocks,
                    minimum_ever_free_bytes_remaining: __det_space.least_ever_free,
                    number_of_successful_allocations: __det_counts.allocs as usize,
                    number_of_successful_frees: __det_counts.frees as usize,
                })
            };
        }

        /// FreeRTOS's `vPortInitialiseBlocks`: nothing to do (the heap is a zeroed static).
        ///
        /// # Safety
        /// None.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vPortInitialiseBlocks() {}
    };
}
