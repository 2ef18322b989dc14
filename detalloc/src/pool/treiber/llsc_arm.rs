//! The head of a Treiber stack on ARMv7-M, ARMv7E-M and ARMv8-M mainline: `index + 1` in one
//! word (0 = empty), updated with LDREX/STREX.
//!
//! A pop is one exclusive window: `LDREX head`, read the link of the top block, `STREX head`.
//! The STREX succeeds only if the exclusive monitor is still set, and the architecture clears
//! it on any store to the head by another core (the global monitor) and on every exception
//! entry and return (the local monitor). So a pop that another operation overtook, in a
//! handler or on another core, cannot store: it retries with the new head, whatever values the
//! head took meanwhile. ABA is impossible by construction, with no tag, so a pool may hold up
//! to 2^32 − 2 blocks (the 4 GiB pool limit binds first).
//!
//! The window is straight-line code (the empty case is an IT block, not a branch), so nothing
//! but an exception or another core can come between the LDREX and the STREX. A push needs no
//! window: it writes its link first, then swaps the head in only if the head still is the
//! value the link names (LDREX, compare, STREX); a push is never confused by ABA.
//!
//! Ordering: `dmb` after a pop (acquire: the new owner's accesses come after) and before a
//! push's STREX (release: the old owner's accesses and the link come first), as for the
//! `Acquire`/`Release` atomics of `core` on these targets.

use core::arch::asm;

use crate::sync::shim::AtomicU32;

/// What this target's head is, for the docs and the report.
pub const STRATEGY: &str = "LL/SC (LDREX/STREX)";

/// The largest pool the head can index (`index + 1` must fit the word, 0 meaning empty).
pub const MAX_BLOCKS: usize = u32::MAX as usize - 1;

/// The test hook inside the pop window, after the link is read and before the STREX
/// (`--cfg detalloc_aba_hook` only): a call to a trampoline that keeps every register but `lr`
/// (and the flags, which the window does not use after it) and calls the test's
/// `detalloc_aba_hook`. The hook must not itself use LDREX/STREX (an atomic read-modify-write):
/// its STREX would clear the monitor and make every pop retry forever.
#[cfg(detalloc_aba_hook)]
macro_rules! window_hook {
    () => {
        "bl {hook}"
    };
}
#[cfg(not(detalloc_aba_hook))]
macro_rules! window_hook {
    () => {
        ""
    };
}

#[cfg(detalloc_aba_hook)]
core::arch::global_asm!(
    ".section .text.detalloc_aba_trampoline,\"ax\",%progbits",
    ".global detalloc_aba_trampoline",
    ".type detalloc_aba_trampoline,%function",
    ".thumb_func",
    "detalloc_aba_trampoline:",
    "push {{r0, r1, r2, r3, r4, r12, lr}}",
    "mov r4, sp",
    "bic r0, r4, #7",
    "mov sp, r0",
    "bl detalloc_aba_hook",
    "mov sp, r4",
    "pop {{r0, r1, r2, r3, r4, r12, pc}}",
    ".size detalloc_aba_trampoline, . - detalloc_aba_trampoline",
);

#[cfg(detalloc_aba_hook)]
unsafe extern "C" {
    fn detalloc_aba_trampoline();
}

/// The stack's head: `index + 1` of the top block, 0 when empty.
pub struct Head(AtomicU32);

impl Head {
    /// The empty stack.
    pub const fn new() -> Self {
        Self(AtomicU32::new(0))
    }

    /// Pops the top block's index, `None` when the stack is empty. `next` holds the links:
    /// `next[i]` is `index + 1` of the block below block `i`.
    #[inline(always)]
    pub fn pop(&self, next: &[AtomicU32]) -> Option<usize> {
        let top: u32;
        // SAFETY: `head` is this head's word and `links` the start of `next`. The head only
        // ever holds 0 or `index + 1` with `index < next.len()` (written by `push`, which
        // checks the index, or by this pop, which stores a link `push` wrote), so the link
        // read `links[top - 1]` is in bounds, and it is only made when `top != 0` (IT block).
        // Every access is an aligned word; the atomics are only otherwise touched as atomics.
        // The asm is no `nomem` block, so the compiler orders the pool's accesses around it.
        unsafe {
            asm!(
                "2:",
                "ldrex {top}, [{head}]",
                "mov {link}, #0",
                "cmp {top}, #0",
                "itt ne",
                "addne {link}, {links}, {top}, lsl #2",
                "ldrne {link}, [{link}, #-4]",
                window_hook!(),
                "strex {status}, {link}, [{head}]",
                "cmp {status}, #0",
                "bne 2b",
                "dmb",
                head = in(reg) self.0.as_ptr(),
                links = in(reg) next.as_ptr(),
                top = out(reg) top,
                link = out(reg) _,
                status = out(reg) _,
                #[cfg(detalloc_aba_hook)]
                hook = sym detalloc_aba_trampoline,
                #[cfg(detalloc_aba_hook)]
                out("lr") _,
                options(nostack),
            );
        }
        (top as usize).checked_sub(1)
    }

    /// Pushes block `index` (ignored when `index` is not below `next.len()`).
    #[inline(always)]
    pub fn push(&self, next: &[AtomicU32], index: usize) {
        let Some(link) = next.get(index) else { return };
        // SAFETY: `head` is this head's word and `link` block `index`'s link, both aligned
        // words; the block is owned by the caller (it is being freed), so nobody else writes
        // its link. The STREX stores only while the head still equals the value the link was
        // set to, so the stack stays well linked.
        unsafe {
            asm!(
                "2:",
                "ldr {top}, [{head}]",
                "str {top}, [{link}]",
                "dmb",
                "ldrex {current}, [{head}]",
                "cmp {current}, {top}",
                "bne 2b",
                "strex {status}, {new}, [{head}]",
                "cmp {status}, #0",
                "bne 2b",
                head = in(reg) self.0.as_ptr(),
                link = in(reg) link.as_ptr(),
                new = in(reg) index as u32 + 1,
                top = out(reg) _,
                current = out(reg) _,
                status = out(reg) _,
                options(nostack),
            );
        }
    }

    /// The top block's index, if any (a plain look, for `prefetch` and validation).
    pub fn top(&self) -> Option<usize> {
        (self.0.load(core::sync::atomic::Ordering::Acquire) as usize).checked_sub(1)
    }
}
