//! The architecture-neutral view of one decoded instruction: its length, its text, what it does
//! to control flow, what it does to registers and memory ([`Sem`]), and (Thumb only) its cycle
//! cost from the timing table.

use std::fmt;

use crate::sem::{Abi, Sem};

/// What an instruction does to the flow of control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// A direct branch. `conditional`: it may also fall through.
    Jump {
        /// The branch target.
        target: u64,
        /// The branch may fall through (`jcc`, `b<cc>`, `cbz`, a branch in an IT block).
        conditional: bool,
    },
    /// A branch through a register or memory: a jump table, or a tail call through a pointer.
    IndirectJump {
        /// The memory slot the target is loaded from, when it is a fixed address (a GOT slot).
        slot: Option<u64>,
        /// The branch itself indexes a table (`jmp [base + index * 8]`, `tbb`, `tbh`,
        /// `ldr pc, [rn, rm, lsl #2]`): a jump table, not a call through a pointer.
        table: bool,
    },
    /// A direct call (`call rel32`, `bl`).
    Call {
        /// The callee's entry.
        target: u64,
    },
    /// A call through a register or memory.
    IndirectCall {
        /// The memory slot the target is loaded from, when it is a fixed address (a GOT slot).
        slot: Option<u64>,
    },
    /// A return (`ret`; `bx lr`, `pop {.., pc}`, `ldr pc, [sp], #4`, `mov pc, lr`).
    Return {
        /// The return may fall through (a return in an IT block).
        conditional: bool,
    },
    /// Stops the path: `ud2`, `int3`, `hlt`, `udf`, `bkpt` (after a call: it never returns).
    Trap,
    /// Enters the kernel or an exception handler (`syscall`, `svc`): not followed, unbounded.
    System,
}

impl Flow {
    /// The instruction may fall through to the next one.
    pub fn falls_through(self) -> bool {
        match self {
            Flow::Next | Flow::Call { .. } | Flow::IndirectCall { .. } | Flow::System => true,
            Flow::Jump { conditional, .. } | Flow::Return { conditional } => conditional,
            Flow::IndirectJump { .. } | Flow::Trap => false,
        }
    }

    /// The instruction ends a basic block.
    pub fn ends_block(self) -> bool {
        !matches!(self, Flow::Next | Flow::Call { .. } | Flow::IndirectCall { .. } | Flow::System)
    }
}

/// Cycle cost of one instruction (Cortex-M timing table), upper bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycles {
    /// Cost when the instruction branches (or, for a non-branch, when it executes).
    pub taken: u32,
    /// Cost when a conditional branch or return falls through.
    pub not_taken: u32,
}

impl Cycles {
    /// The same cost either way.
    pub const fn flat(n: u32) -> Self {
        Cycles { taken: n, not_taken: n }
    }
}

/// One decoded instruction.
#[derive(Debug, Clone)]
pub struct Insn {
    /// Address of the first byte.
    pub addr: u64,
    /// Length in bytes.
    pub len: u8,
    /// Disassembly text, e.g. `pop {r7, pc}`.
    pub text: String,
    /// Control flow.
    pub flow: Flow,
    /// Cycle cost (Thumb with a timing table), or `None` (x86_64, or not in the table).
    pub cycles: Option<Cycles>,
    /// Thumb `IT`: the number of following instructions it makes conditional (0 otherwise).
    pub it_count: u8,
    /// What it does to registers, flags and memory.
    pub sem: Sem,
    /// It enables or disables interrupts: a write of RISC-V `mstatus`/`sstatus` (their
    /// interrupt-enable bits) or `mie`/`sie`; Thumb `cpsid`/`cpsie` or an `msr` to `primask`,
    /// `basepri` or `faultmask`. Bounded work (a critical section's entry and exit), analysed as
    /// any other instruction, and reported ([`crate::verdict::Masking`]).
    pub masks_interrupts: bool,
    /// An indirect jump through this register that is a return when the function never
    /// writes the register and calls nothing (so it still holds what the caller put there):
    /// RISC-V `jr t0`, the return of a function the machine outliner made, which its callers
    /// reach by `jal t0`. [`crate::cfg`] decides; `None` for any other instruction.
    pub returns_through: Option<crate::sem::Reg>,
}

impl Insn {
    /// The address just past the instruction.
    pub fn end(&self) -> u64 {
        self.addr + u64::from(self.len)
    }
}

impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}: {}", self.addr, self.text)
    }
}

/// A decoder for one instruction set.
pub trait Decoder {
    /// Decodes the instruction at `addr` from `bytes` (which start at `addr`).
    fn decode(&self, bytes: &[u8], addr: u64) -> Result<Insn, String>;

    /// A name for reports: `x86_64`, `thumbv7m (Cortex-M3)`.
    fn arch_name(&self) -> String;

    /// Whether instructions carry cycle costs.
    fn has_cycles(&self) -> bool;

    /// The calling convention the value analysis assumes at calls.
    fn abi(&self) -> Abi;

    /// Resolves `second`, the instruction right after `first` (`bytes` start at `second`), with
    /// what `first` computed, when nothing but `first` leads to `second` ([`crate::cfg`]
    /// checks that no branch lands on it, and refuses the function otherwise). `true` when it
    /// changed `second`. RISC-V: `auipc rX, hi` then `jalr rd, lo(rX)` is a direct call (or,
    /// with `rd` = `zero`, a direct jump) to `auipc`'s address + `hi << 12` + `lo`. None by
    /// default.
    fn pair(&self, first: &Insn, second: &mut Insn, bytes: &[u8]) -> bool {
        let _ = (first, second, bytes);
        false
    }
}
