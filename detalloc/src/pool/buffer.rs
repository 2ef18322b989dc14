//! The storage of one pool: `N` blocks of `S` bytes, aligned by a zero-sized marker type.
//!
//! On stable Rust `#[repr(align(..))]` needs a literal, so alignment cannot be a const
//! generic. A zero-length array of a marker type (`[Align64; 0]`) gives the buffer the
//! marker's alignment at no size cost. The macro picks the marker from the block size.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::heap::block_align;

/// A zero-sized type whose alignment is [`Align::ALIGN`].
///
/// # Safety
/// `ALIGN` must equal `core::mem::align_of::<Self>()` and `Self` must be zero-sized.
pub unsafe trait Align: Copy {
    /// The alignment this marker gives.
    const ALIGN: usize;
}

macro_rules! align_markers {
    ($($name:ident = $align:literal),* $(,)?) => {$(
        #[doc = concat!("Zero-sized marker aligned to ", stringify!($align), " bytes.")]
        #[derive(Debug, Clone, Copy)]
        #[repr(align($align))]
        pub struct $name;
        // SAFETY: `repr(align)` gives the type exactly this alignment, and it has no fields.
        unsafe impl Align for $name {
            const ALIGN: usize = $align;
        }
    )*};
}

align_markers! {
    Align1 = 1, Align2 = 2, Align4 = 4, Align8 = 8, Align16 = 16, Align32 = 32, Align64 = 64,
    Align128 = 128, Align256 = 256, Align512 = 512, Align1024 = 1024, Align2048 = 2048,
    Align4096 = 4096,
}

/// `N` blocks of `S` bytes, each aligned to `A::ALIGN`. Uninitialised until handed out; the
/// allocator only ever writes a free-list link into a freed block.
///
/// `repr(C)`: the zero-sized marker comes first and the bytes start at offset 0, so the
/// buffer's first byte has the type's alignment (`A::ALIGN`): the block alignment and the
/// aligned link reads rely on it.
#[repr(C)]
pub struct Buffer<const S: usize, const N: usize, A: Align> {
    _align: [A; 0],
    bytes: UnsafeCell<MaybeUninit<[[u8; S]; N]>>,
}

impl<const S: usize, const N: usize, A: Align> Buffer<S, N, A> {
    /// Checked when the type is used: the marker must give exactly the block alignment rule's
    /// value (so a block start is `A`-aligned), and the pool must be addressable by 32-bit
    /// offsets (the free-list link width). The macro reports both as spanned errors first.
    const GEOMETRY: () = {
        assert!(A::ALIGN == block_align(S), "alignment marker does not match the block size");
        assert!(S >= 4, "a block must hold a 4-byte free-list link");
        assert!(N >= 1, "a pool needs at least one block");
        assert!((S as u128) * (N as u128) <= u32::MAX as u128, "a pool is limited to 4 GiB");
    };

    /// Uninitialised storage; writes nothing.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        let () = Self::GEOMETRY;
        Self { _align: [], bytes: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// The first byte of the first block. Every pointer the pool hands out is derived from it
    /// (so it carries the whole buffer's provenance).
    #[inline(always)]
    pub fn base(&self) -> NonNull<u8> {
        // SAFETY: `UnsafeCell::get` never returns null.
        unsafe { NonNull::new_unchecked(self.bytes.get().cast::<u8>()) }
    }

    /// The byte offset of `ptr` from the start of the pool, when `ptr` lies inside it.
    #[inline(always)]
    pub fn offset_of(&self, ptr: NonNull<u8>) -> Option<usize> {
        let offset = self.raw_offset(ptr);
        if offset < S * N { Some(offset) } else { None }
    }

    /// `ptr - base`, wrapping: the offset of a block this pool handed out.
    #[inline(always)]
    pub fn raw_offset(&self, ptr: NonNull<u8>) -> usize {
        ptr.as_ptr().addr().wrapping_sub(self.base().as_ptr().addr())
    }

    /// The offset of the block `ptr` starts, or why `ptr` is no block start of this pool,
    /// as far as this pool can tell: `Foreign` outside it, `Misaligned` inside but not at a
    /// block start (the heap reclassifies a `Foreign` against its other pools).
    #[inline(always)]
    pub fn block_offset(&self, ptr: NonNull<u8>) -> Result<usize, crate::FreeError> {
        let offset = self.raw_offset(ptr);
        if offset >= S * N {
            Err(crate::FreeError::Foreign)
        } else if !offset.is_multiple_of(S) {
            Err(crate::FreeError::Misaligned)
        } else {
            Ok(offset)
        }
    }
}

// SAFETY: the bytes are only reached through pointers the owning pool hands out under its
// synchronisation; the buffer itself holds no thread-affine state.
unsafe impl<const S: usize, const N: usize, A: Align> Sync for Buffer<S, N, A> {}
