//! Cycle costs of ARMv7-M instructions on a Cortex-M3, as upper bounds.
//!
//! Source: *ARM Cortex-M3 Technical Reference Manual*, r2p1, ARM DDI 0337I (the r2p0 edition,
//! DDI 0337H, has the same table):
//! - §3.3.1 "Cortex-M3 instructions", Table 3-1 "Cortex-M3 instruction set summary": the
//!   `Cycles` column, for "a system with zero wait states". Its abbreviations: **P** "the number
//!   of cycles required for a pipeline refill. This ranges from 1 to 3"; **N** "the number of
//!   registers in the register list to be loaded or stored, including PC or LR"; **B** the
//!   cycles "to perform the barrier operation"; **W** the cycles "spent waiting for an
//!   appropriate event". Footnote: a conditional branch (and CBZ/CBNZ) "completes in a single
//!   cycle if not taken".
//! - §3.3.2 "Load/store timings": "any load or store that generates an address dependent on the
//!   result of a preceding data processing operation will stall the pipeline for an additional
//!   cycle"; "`LDR Rx,[PC,#imm]` might add a cycle because of contention with the fetch unit";
//!   neighbouring loads and stores may pipeline (which only removes cycles).
//!
//! How the table is turned into bounds ([`ASSUMPTIONS`] is printed with every report):
//! - P is taken as 3 for every taken branch, call, return and write to PC.
//! - Every load and store is charged one extra cycle for the §3.3.2 address-dependency stall
//!   (a literal load, which has no such dependency, is charged its fetch-contention cycle instead);
//!   pipelining is ignored.
//! - Multiply and divide are charged their maximum (early termination ignored): long multiply
//!   5, long multiply-accumulate 7, SDIV/UDIV 12.
//! - CPSID/CPSIE/MRS/MSR ("1 or 2") are charged 2. IT is charged 1 (folding ignored).
//! - ISB is 1 + B with B = P = 3 (§3.3.1: "for ISB, the minimum number of cycles is equivalent
//!   to the number required for a pipeline refill"). DMB/DSB are 1 + B with **B = 2 assumed**
//!   (not a TRM figure: the time to drain at most one buffered store at zero wait states).
//! - An instruction in an IT block whose condition fails is charged as if it executed.
//! - WFI/WFE (1 + W), SVC, BKPT, UDF and every instruction not in Table 3-1 (floating point,
//!   DSP) have no bound: a path through one gets no cycle figure.
//!
//! Cortex-M4 (ARM DDI 0439B §3.3.1 Table 3-1): the integer instructions cost the same or less
//! (its single-cycle multiply-accumulate only lowers the multiply rows), so these figures are
//! also upper bounds for Cortex-M4 integer code.

use crate::insn::Cycles;

/// Pipeline refill, upper bound (Table 3-1 note: "ranges from 1 to 3").
pub const P: u32 = 3;
/// The §3.3.2 address-dependency stall charged to every load and store.
pub const STALL: u32 = 1;
/// Assumed DMB/DSB completion (see the module docs: an assumption, not a TRM figure).
pub const BARRIER_B: u32 = 2;

/// The assumptions behind every cycle figure, one per line, for reports.
pub const ASSUMPTIONS: &[&str] = &[
    "Cortex-M3 TRM (ARM DDI 0337I) §3.3.1 Table 3-1 cycle counts, §3.3.2 load/store timings",
    "zero-wait-state memory for code and data; no interrupt or exception during the path",
    "P = 3 for every taken branch, call, return and PC write; a branch not taken costs 1",
    "every load/store +1 (the §3.3.2 address-dependency stall); pipelining ignored",
    "multiply/divide at their maxima; CPSID/CPSIE/MRS/MSR 2; ISB 1 + P; DMB/DSB 1 + 2 (assumed)",
    "conditional instructions in an IT block charged as executed",
];

/// What the table needs to know about one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// MOV, MOVW, MOVT, ADD, ADC, ADR, SUB, SBC, RSB, CMP, CMN, AND, EOR, ORR, ORN, BIC, MVN,
    /// TST, TEQ, shifts, rotates, SSAT/USAT, CLZ, RBIT, REV*, extends, bit fields, NOP, SEV,
    /// YIELD, PLD/PLI (hints, one cycle as NOP): 1.
    Alu,
    /// MUL: 1.
    Mul,
    /// MLA, MLS: 2.
    MulAcc,
    /// SMULL, UMULL: 3 to 5.
    LongMul,
    /// SMLAL, UMLAL: 4 to 7.
    LongMulAcc,
    /// SDIV, UDIV: 2 to 12.
    Div,
    /// A data-processing instruction writing PC (MOV PC, Rm / ADD PC, PC, Rm): 1 + P.
    AluPc,
    /// LDR, LDRB, LDRH, LDRSB, LDRSH, LDRT..., STR, STRB, STRH, STRT..., LDREX*, STREX*: 2.
    LoadStore,
    /// `LDR Rx, [PC, #imm]` (literal): 2, + 1 for fetch contention.
    LoadLiteral,
    /// LDR PC, [...]: 2 + P.
    LoadPc,
    /// LDRD, STRD: 1 + N with N = 2.
    Double,
    /// LDM, STM, PUSH, POP with `n` registers (PC included): 1 + N, and + P when PC is loaded.
    Multiple {
        /// Registers in the list.
        n: u32,
        /// PC is in the list (a return or a branch).
        pc: bool,
    },
    /// CLREX: 1.
    Clrex,
    /// `B<cc>`, CBZ, CBNZ: 1 not taken, 1 + P taken.
    CondBranch,
    /// B, BL, BX, BLX: 1 + P.
    Branch,
    /// TBB, TBH: 2 + P.
    TableBranch,
    /// IT: 1.
    It,
    /// CPSID, CPSIE, MRS, MSR: 1 or 2.
    StateChange,
    /// ISB: 1 + B, B = P.
    Isb,
    /// DMB, DSB: 1 + B.
    Barrier,
    /// WFI, WFE (1 + W), SVC, BKPT, UDF: no bound.
    Unbounded,
    /// Not in Table 3-1 (floating point, DSP, coprocessor): no bound.
    NotInTable,
}

/// The cycle bound of one instruction of class `class`, or `None` when the table gives none.
pub fn cycles(class: Class) -> Option<Cycles> {
    let flat = |n| Some(Cycles::flat(n));
    match class {
        Class::Alu | Class::Mul | Class::Clrex | Class::It => flat(1),
        Class::MulAcc => flat(2),
        Class::LongMul => flat(5),
        Class::LongMulAcc => flat(7),
        Class::Div => flat(12),
        // Taken: 1 + P. Not taken (a conditional one in an IT block): 1 (Table 3-1, note c).
        Class::AluPc | Class::Branch | Class::CondBranch => {
            Some(Cycles { taken: 1 + P, not_taken: 1 })
        }
        Class::LoadStore => flat(2 + STALL),
        Class::LoadLiteral => flat(2 + 1),
        // A conditional load to PC (in an IT block) that does not execute costs no refill.
        Class::LoadPc => Some(Cycles { taken: 2 + STALL + P, not_taken: 2 + STALL }),
        Class::Double => flat(1 + 2 + STALL),
        Class::Multiple { n, pc: false } => flat(1 + n + STALL),
        Class::Multiple { n, pc: true } => {
            Some(Cycles { taken: 1 + n + STALL + P, not_taken: 1 + n + STALL })
        }
        Class::TableBranch => flat(2 + STALL + P),
        Class::StateChange => flat(2),
        Class::Isb => flat(1 + P),
        Class::Barrier => flat(1 + BARRIER_B),
        Class::Unbounded | Class::NotInTable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        assert_eq!(cycles(Class::Alu), Some(Cycles::flat(1)));
        assert_eq!(cycles(Class::CondBranch), Some(Cycles { taken: 4, not_taken: 1 }));
        // pop {r4, r6, r7, pc}: 1 + 4 + stall, + P when it returns.
        assert_eq!(
            cycles(Class::Multiple { n: 4, pc: true }),
            Some(Cycles { taken: 9, not_taken: 6 })
        );
        assert_eq!(cycles(Class::LoadStore), Some(Cycles::flat(3)));
        assert_eq!(cycles(Class::NotInTable), None);
    }
}
