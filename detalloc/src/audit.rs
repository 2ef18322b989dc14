//! [`audit_wrappers!`](crate::audit_wrappers): the entry points a static audit (or an
//! instruction count) reads.

/// Exports a never-inlined `allocate` / `deallocate` pair for a heap type, under the given
/// symbol names (`#[no_mangle]`), taking the heap and the layout as arguments: the code
/// `detalloc-audit` reads (and a callgrind or QEMU count measures) is then exactly what a
/// user's call compiles to after inlining, the size-class dispatch included. The pair stays in
/// the linked binary even when nothing calls it (a `#[used]` static refers to both), so a
/// firmware can export it for the audit alone.
///
/// ```
/// use detalloc::{audit_wrappers, detalloc};
///
/// detalloc! { pub struct FwHeap<pools: [16 x 64, 64 x 32], sync: spin>; }
/// audit_wrappers!(FwHeap, audit_alloc_fw, audit_free_fw);
/// // `detalloc-audit firmware.elf --deny-loops` now audits `audit_alloc_fw` and
/// // `audit_free_fw` (the tool's default names are `audit_alloc_*`, `audit_free_*`,
/// // `fw_alloc*`, `fw_free*`).
/// # static HEAP: FwHeap = FwHeap::new();
/// # let layout = core::alloc::Layout::new::<u64>();
/// # let block = audit_alloc_fw(&HEAP, layout).unwrap();
/// # // SAFETY: allocated just above with this layout.
/// # unsafe { audit_free_fw(&HEAP, block, layout) }.unwrap();
/// ```
#[macro_export]
macro_rules! audit_wrappers {
    ($heap:ty, $alloc:ident, $free:ident) => {
        /// One `allocate` of this heap type, as an audit or a count reads it.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub fn $alloc(
            heap: &$heap,
            layout: ::core::alloc::Layout,
        ) -> ::core::result::Result<::core::ptr::NonNull<u8>, $crate::AllocError> {
            $crate::Heap::allocate(heap, layout)
        }

        /// One `deallocate` of this heap type, as an audit or a count reads it.
        ///
        /// # Safety
        /// As `Heap::deallocate`: `ptr` is a live block of `heap` allocated with `layout`.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub unsafe fn $free(
            heap: &$heap,
            ptr: ::core::ptr::NonNull<u8>,
            layout: ::core::alloc::Layout,
        ) -> ::core::result::Result<(), $crate::FreeError> {
            // SAFETY: forwarded to the caller.
            unsafe { $crate::Heap::deallocate(heap, ptr, layout) }
        }

        // Keeps both wrappers in the linked binary even when nothing calls them: a linker
        // that drops unreferenced sections (every firmware link, `--gc-sections`) would
        // otherwise remove them, and the audit would find no entry point. `#[used]` keeps this
        // static, and the static refers to both functions (8 or 16 bytes of read-only data).
        const _: () = {
            #[used]
            static KEEP: (
                fn(
                    &$heap,
                    ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<u8>, $crate::AllocError>,
                unsafe fn(
                    &$heap,
                    ::core::ptr::NonNull<u8>,
                    ::core::alloc::Layout,
                ) -> ::core::result::Result<(), $crate::FreeError>,
            ) = ($alloc, $free);
        };
    };
}
