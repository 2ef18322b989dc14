//! The CLINT of QEMU's `virt` board (SiFive's core-local interruptor, as on the FE310): the
//! machine timer (`mtime`, `mtimecmp` of hart 0) and the machine software interrupt (`msip`).
//! Included by path by the crate's programs (`#[path = "../src/clint.rs"] mod clint;`).
#![allow(dead_code)]

use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x0200_0000;
const MSIP: *mut u32 = BASE as *mut u32;
const MTIMECMP_LO: *mut u32 = (BASE + 0x4000) as *mut u32;
const MTIMECMP_HI: *mut u32 = (BASE + 0x4004) as *mut u32;
const MTIME_LO: *const u32 = (BASE + 0xbff8) as *const u32;
const MTIME_HI: *const u32 = (BASE + 0xbffc) as *const u32;

/// `mtime`, read as two halves (the high half read again until it did not change).
pub fn now() -> u64 {
    loop {
        // SAFETY: the CLINT's `mtime` registers on this board: device memory, read-only here.
        let (hi, lo, again) =
            unsafe { (read_volatile(MTIME_HI), read_volatile(MTIME_LO), read_volatile(MTIME_HI)) };
        if hi == again {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Raises the machine timer interrupt once `mtime` reaches `at` (u64::MAX: never). The high
/// half is parked at its maximum while the low half changes, so no earlier value is ever
/// compared.
pub fn alarm_at(at: u64) {
    // SAFETY: hart 0's `mtimecmp` on this board; only the timer's owner (the program's one
    // timer user at a time: `main` before it enables the interrupt, then its handler) writes it.
    unsafe {
        write_volatile(MTIMECMP_HI, u32::MAX);
        write_volatile(MTIMECMP_LO, at as u32);
        write_volatile(MTIMECMP_HI, (at >> 32) as u32);
    }
}

/// Pends (`true`) or clears (`false`) hart 0's machine software interrupt.
pub fn set_software_interrupt(pending: bool) {
    // SAFETY: hart 0's `msip` on this board; a write of 1 or 0 pends or clears the interrupt.
    unsafe { write_volatile(MSIP, u32::from(pending)) };
}
