//! The head of a Treiber stack for targets with a 64-bit compare-and-swap and no LL/SC head
//! (x86_64, aarch64, ARMv7-A/R): `index + 1` in the low 32 bits, a tag in the high 32 bits
//! that every push and pop increments. A pop is load head → read the link → compare-and-swap;
//! the tag makes a stale compare-and-swap fail unless 2^32 operations on this pool ran while
//! one thread sat between its load and its compare-and-swap.
//!
//! Two test-only builds exist: `--cfg detalloc_cas16` packs 16-bit index + 16-bit tag into a
//! 32-bit word (the scheme this crate used on 32-bit targets before LL/SC, kept to show on the
//! firmware that its ABA is real), and `--cfg detalloc_aba_demo` keeps the tag at 0 (the loom
//! model and `tests/targets/aba/tests/aba.rs` must then find corruption).

use crate::sync::shim::AtomicU32;
use crate::sync::shim::Ordering::{Acquire, Relaxed, Release};

#[cfg(not(detalloc_cas16))]
use crate::sync::shim::AtomicU64 as Word;
#[cfg(not(detalloc_cas16))]
type HeadWord = u64;
#[cfg(not(detalloc_cas16))]
const INDEX_BITS: u32 = 32;

#[cfg(detalloc_cas16)]
use crate::sync::shim::AtomicU32 as Word;
#[cfg(detalloc_cas16)]
type HeadWord = u32;
#[cfg(detalloc_cas16)]
const INDEX_BITS: u32 = 16;

/// What this target's head is, for the docs and the report.
pub const STRATEGY: &str =
    if INDEX_BITS == 32 { "tagged CAS (32 + 32)" } else { "tagged CAS (16 + 16)" };

/// The largest pool the head can index.
pub const MAX_BLOCKS: usize = ((1u64 << INDEX_BITS) - 1) as usize;
const INDEX_MASK: HeadWord = (1 << INDEX_BITS) - 1;

/// The next tag: incremented on every push and pop. Under `--cfg detalloc_aba_demo` (a test
/// build only) the tag stays 0, which reopens the ABA window the tests show failing.
#[inline(always)]
fn next_tag(head: HeadWord) -> HeadWord {
    if cfg!(detalloc_aba_demo) { 0 } else { (head >> INDEX_BITS).wrapping_add(1) }
}

/// The test hook between reading the link and the compare-and-swap (`--cfg detalloc_aba_hook`
/// only): the firmware's ABA test pends an interrupt there.
#[inline(always)]
fn window_hook() {
    #[cfg(detalloc_aba_hook)]
    {
        unsafe extern "C" {
            fn detalloc_aba_hook();
        }
        // SAFETY: a test build's hook, defined by the test program with this C signature.
        unsafe { detalloc_aba_hook() };
    }
}

/// The stack's head: `index + 1` of the top block (0 = empty) and a tag.
pub struct Head(Word);

impl Head {
    crate::sync::shim::loom_const_fn! {
        /// The empty stack.
        pub fn new() -> Self {
            Self(Word::new(0))
        }
    }

    /// Pops the top block's index, `None` when the stack is empty. `next` holds the links.
    #[inline(always)]
    pub fn pop(&self, next: &[AtomicU32]) -> Option<usize> {
        let mut current = self.0.load(Acquire);
        loop {
            let top = (current & INDEX_MASK) as usize;
            let link = next.get(top.checked_sub(1)?)?;
            let link = HeadWord::from(link.load(Relaxed));
            window_hook();
            let new = (next_tag(current) << INDEX_BITS) | link;
            match self.0.compare_exchange_weak(current, new, Acquire, Acquire) {
                Ok(_) => return Some(top - 1),
                Err(actual) => current = actual,
            }
        }
    }

    /// Pushes block `index` (ignored when `index` is not below `next.len()`).
    #[inline(always)]
    pub fn push(&self, next: &[AtomicU32], index: usize) {
        let Some(link) = next.get(index) else { return };
        let mut current = self.0.load(Relaxed);
        loop {
            link.store((current & INDEX_MASK) as u32, Relaxed);
            let new = (next_tag(current) << INDEX_BITS) | (index as HeadWord + 1);
            match self.0.compare_exchange_weak(current, new, Release, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The top block's index, if any (a relaxed look, for `prefetch` and validation).
    pub fn top(&self) -> Option<usize> {
        ((self.0.load(Acquire) & INDEX_MASK) as usize).checked_sub(1)
    }
}
