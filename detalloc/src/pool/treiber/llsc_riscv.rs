//! The head of a Treiber stack on RISC-V with the A extension (`riscv32imac`, `riscv32imafc`,
//! `riscv64gc`, ...): `index + 1` in one 32-bit word (0 = empty), updated with LR.W/SC.W. The
//! high-water mark of never-used blocks is advanced by LR.W/SC.W too ([`bump`]).
//!
//! A pop is one reservation window: `lr.w head`, read the link of the top block, `sc.w head`.
//! The SC stores only while this hart's reservation on the head is valid, and the reservation
//! is lost when another hart stores to the head and when this hart executes **any** SC,
//! successful or not. So a pop that another operation on the head overtook (every write of
//! the head is an SC: pops and pushes, on any hart or in any handler) cannot store: it retries
//! with the new head. ABA is impossible with no tag, as with LDREX/STREX on ARMv7-M.
//!
//! # Every LR is paired with an SC, the empty pool included
//! RISC-V differs from ARMv7-M in one way that matters here: exception entry and return clear
//! the exclusive monitor on ARMv7-M, while on RISC-V a trap (and `mret`) is allowed but not
//! required to clear a reservation; only an SC is. If a pop that finds the pool empty left
//! its window without an SC, its reservation would outlive it. Concretely: an interrupt
//! handler pops A, pops B, then tries a pop on the now-empty pool (an `lr.w` that sees 0); the
//! pop it interrupted, which had read A and A's link B, resumes, and its `sc.w` succeeds on the
//! handler's dangling reservation (it names the same address, and nothing cleared it),
//! installing B, which the handler owns: B is handed out twice. So the empty case is not a
//! branch out of the window but a branch to the same `sc.w`, which stores the 0 it read back
//! (a no-op when it succeeds) and always ends the reservation. The push's window ends with an
//! SC on every way out too (a head that moved sends it back to a fresh LR).
//! `examples/riscv-firmware/examples/aba.rs` reproduces the failure deterministically under
//! QEMU with a build that skips the SC on empty (`--cfg detalloc_aba_demo`) and shows none
//! with this code.
//!
//! # Forward progress
//! The pop's window loads the link between the `lr.w` and the `sc.w`, so it is not a
//! *constrained* LR/SC loop (which the ISA allows only base integer instructions without
//! loads or stores, at most 16 of them): the architecture does not guarantee that its SC
//! eventually succeeds. It fails only when the reservation is lost; on a single hart that
//! takes an interrupt or an SC in between, and the retry reads the new head. A core that lost
//! every reservation spuriously, forever, would livelock; no implementation we know of does
//! (the SiFive and GigaDevice cores keep a reservation until a store to its granule, an SC or
//! a trap), and QEMU never does. This is the same promise ARMv7-M's LDREX/STREX loop gives.
//!
//! Ordering: `lr.w.aq` (acquire: the new owner's accesses come after the pop) and `sc.w.rl` in
//! the push (release: the old owner's accesses and the link come before), as `core`'s
//! `Acquire`/`Release` atomics map on RISC-V.

use core::arch::asm;

use crate::sync::shim::AtomicU32;

/// What this target's head is, for the docs and the report.
pub const STRATEGY: &str = "LL/SC (LR.W/SC.W)";

/// The largest pool the head can index (`index + 1` must fit the word, 0 meaning empty; on
/// RV64, where `lr.w` sign-extends, it must stay below 2^31 to index the links unsigned).
#[cfg(target_arch = "riscv32")]
pub const MAX_BLOCKS: usize = u32::MAX as usize - 1;
/// The largest pool the head can index (`index + 1` must fit the word, 0 meaning empty; on
/// RV64, where `lr.w` sign-extends, it must stay below 2^31 to index the links unsigned).
#[cfg(target_arch = "riscv64")]
pub const MAX_BLOCKS: usize = i32::MAX as usize - 1;

/// The test hook inside the pop window, after the link is read and before the SC
/// (`--cfg detalloc_aba_hook` only): a call to a trampoline that keeps every register but `ra`
/// and calls the test's `detalloc_aba_hook`. The hook must not itself execute an SC (an
/// atomic read-modify-write other than an AMO): its SC would end the reservation and make
/// every pop retry forever.
#[cfg(detalloc_aba_hook)]
macro_rules! window_hook {
    () => {
        "call {hook}"
    };
}
#[cfg(not(detalloc_aba_hook))]
macro_rules! window_hook {
    () => {
        ""
    };
}

/// Where a pop that found the pool empty goes: the SC (`3f`), or, in the test build that
/// shows why, out of the window without one (`4f`).
#[cfg(not(detalloc_aba_demo))]
macro_rules! empty_exit {
    () => {
        "beqz {top}, 3f"
    };
}
#[cfg(detalloc_aba_demo)]
macro_rules! empty_exit {
    () => {
        "beqz {top}, 4f"
    };
}

// The trampoline saves the caller-saved registers (the window's registers may be any of
// them), keeps the stack 16-byte aligned, and calls the hook.
#[cfg(detalloc_aba_hook)]
core::arch::global_asm!(
    ".section .text.detalloc_aba_trampoline,\"ax\",@progbits",
    ".global detalloc_aba_trampoline",
    ".type detalloc_aba_trampoline,@function",
    "detalloc_aba_trampoline:",
    "addi sp, sp, -64",
    "sw ra, 60(sp)",
    "sw t0, 56(sp)",
    "sw t1, 52(sp)",
    "sw t2, 48(sp)",
    "sw t3, 44(sp)",
    "sw t4, 40(sp)",
    "sw t5, 36(sp)",
    "sw t6, 32(sp)",
    "sw a0, 28(sp)",
    "sw a1, 24(sp)",
    "sw a2, 20(sp)",
    "sw a3, 16(sp)",
    "sw a4, 12(sp)",
    "sw a5, 8(sp)",
    "sw a6, 4(sp)",
    "sw a7, 0(sp)",
    "call detalloc_aba_hook",
    "lw ra, 60(sp)",
    "lw t0, 56(sp)",
    "lw t1, 52(sp)",
    "lw t2, 48(sp)",
    "lw t3, 44(sp)",
    "lw t4, 40(sp)",
    "lw t5, 36(sp)",
    "lw t6, 32(sp)",
    "lw a0, 28(sp)",
    "lw a1, 24(sp)",
    "lw a2, 20(sp)",
    "lw a3, 16(sp)",
    "lw a4, 12(sp)",
    "lw a5, 8(sp)",
    "lw a6, 4(sp)",
    "lw a7, 0(sp)",
    "addi sp, sp, 64",
    "ret",
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
        let top: usize;
        // SAFETY: `head` is this head's word and `links` the start of `next`. The head only
        // ever holds 0 or `index + 1` with `index < next.len()` (written by `push`, which
        // checks the index, or by this pop, which stores a link `push` wrote), so the link
        // read `links[top - 1]` is in bounds, and it is only made when `top != 0`. Every path
        // from the `lr.w` reaches the `sc.w` (the empty case stores back the 0 it read), so
        // no reservation outlives the window (module docs); only the test build
        // `detalloc_aba_demo` skips it on empty, to show the failure. Every access is an aligned word;
        // the atomics are only otherwise touched as atomics. The asm is no `nomem` block, so
        // the compiler orders the pool's accesses around it.
        unsafe {
            asm!(
                "2:",
                "lr.w.aq {top}, ({head})",
                "mv {link}, zero",
                empty_exit!(),
                "slli {link}, {top}, 2",
                "add {link}, {link}, {links}",
                "lw {link}, -4({link})",
                "3:",
                window_hook!(),
                "sc.w {status}, {link}, ({head})",
                "bnez {status}, 2b",
                "4:",
                head = in(reg) self.0.as_ptr(),
                links = in(reg) next.as_ptr(),
                top = out(reg) top,
                link = out(reg) _,
                status = out(reg) _,
                #[cfg(detalloc_aba_hook)]
                hook = sym detalloc_aba_trampoline,
                #[cfg(detalloc_aba_hook)]
                out("ra") _,
                options(nostack),
            );
        }
        top.checked_sub(1)
    }

    /// Pushes block `index` (ignored when `index` is not below `next.len()`).
    #[inline(always)]
    pub fn push(&self, next: &[AtomicU32], index: usize) {
        let Some(link) = next.get(index) else { return };
        // SAFETY: `head` is this head's word and `link` block `index`'s link, both aligned
        // words; the block is owned by the caller (it is being freed), so nobody else writes
        // its link. The SC stores only while the head still equals the value the link was
        // set to, so the stack stays well linked; a head that moved sends the push back to a
        // fresh `lr.w`, so the only way out of the loop is a successful `sc.w`.
        unsafe {
            asm!(
                "2:",
                "lw {top}, 0({head})",
                "sw {top}, 0({link})",
                "lr.w {current}, ({head})",
                "bne {current}, {top}, 2b",
                "sc.w.rl {status}, {new}, ({head})",
                "bnez {status}, 2b",
                head = in(reg) self.0.as_ptr(),
                link = in(reg) link.as_ptr(),
                new = in(reg) index + 1,
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

/// Advances `fresh` by one unless it reached `limit`; returns the value it had when it did.
/// Every LR ends in an SC (a full pool stores back the value it read), so no reservation is
/// left behind (module docs). `compare_exchange` would leave one on its failure path. The loop
/// is a constrained LR/SC loop (no load or store between the two, five base instructions), so
/// the ISA guarantees it eventually succeeds.
#[inline(always)]
pub fn bump(fresh: &AtomicU32, limit: u32) -> Option<u32> {
    let old: usize;
    // SAFETY: `fresh` is an aligned word touched only as an atomic. `limit` is at most
    // `MAX_BLOCKS` (the pool's geometry check), so on RV64 the sign-extended `lr.w` value and
    // the zero-extended limit compare as the unsigned 32-bit values they are.
    unsafe {
        asm!(
            "2:",
            "lr.w {old}, ({fresh})",
            "sltu {more}, {old}, {limit}",
            "add {more}, {old}, {more}",
            "sc.w {status}, {more}, ({fresh})",
            "bnez {status}, 2b",
            fresh = in(reg) fresh.as_ptr(),
            limit = in(reg) limit as usize,
            old = out(reg) old,
            more = out(reg) _,
            status = out(reg) _,
            options(nostack),
        );
    }
    let old = old as u32;
    (old < limit).then_some(old)
}
