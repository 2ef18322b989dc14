//! One RV32 instruction as the audit reads it: capstone's identification and operands
//! ([`Op`], [`Decoded`]) and the facts of its encoding ([`Fields`], [`written`]).
//! [`crate::riscv`] fills it and classifies the control flow from it; [`crate::riscv_sem`]
//! lowers it to [`crate::sem::Sem`].

use capstone::arch::riscv::RiscVInsn;

use crate::insn::Flow;
use crate::sem::{Reg, RegSet, bit};

/// Whether capstone's id `id` is `insn`.
pub(crate) fn is(id: u32, insn: RiscVInsn) -> bool {
    id == insn as u32
}

/// Whether capstone's id `id` is one of `list`.
pub(crate) fn any(id: u32, list: &[RiscVInsn]) -> bool {
    list.iter().any(|i| is(id, *i))
}

/// The fields of a 32-bit instruction, at their fixed places in the encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields(pub(crate) u32);

impl Fields {
    pub(crate) fn opcode(self) -> u32 {
        self.0 & 0x7f
    }
    pub(crate) fn rd(self) -> u8 {
        ((self.0 >> 7) & 31) as u8
    }
    pub(crate) fn funct3(self) -> u32 {
        (self.0 >> 12) & 7
    }
    pub(crate) fn rs1(self) -> u8 {
        ((self.0 >> 15) & 31) as u8
    }
    pub(crate) fn rs2(self) -> u8 {
        ((self.0 >> 20) & 31) as u8
    }
    /// The I-type immediate, sign-extended.
    pub(crate) fn i_imm(self) -> i64 {
        i64::from((self.0 as i32) >> 20)
    }
    /// The S-type immediate, sign-extended.
    pub(crate) fn s_imm(self) -> i64 {
        i64::from(((self.0 as i32) >> 25) << 5 | ((self.0 >> 7) & 31) as i32)
    }
    /// The U-type immediate (already shifted: the upper 20 bits).
    pub(crate) fn u_imm(self) -> u64 {
        u64::from(self.0 & 0xffff_f000)
    }
    /// The CSR of a `csrr*` instruction.
    pub(crate) fn csr(self) -> u32 {
        self.0 >> 20
    }
}

/// One operand as capstone gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A general-purpose register (`x0`..`x31`).
    Reg(Reg),
    /// An immediate.
    Imm(i64),
    /// `disp(base)`.
    Mem {
        /// Base register.
        base: Reg,
        /// Displacement.
        disp: i64,
    },
    /// Anything else (a floating-point register).
    Other,
}

/// What the lowering reads of one decoded instruction.
pub(crate) struct Decoded<'a> {
    /// capstone's instruction id.
    pub id: u32,
    /// Its address.
    pub addr: u64,
    /// Its length in bytes (2 or 4).
    pub len: u8,
    /// Its encoding (the low 16 bits for a compressed one).
    pub raw: u32,
    /// capstone's operands.
    pub ops: &'a [Op],
    /// Its control flow.
    pub flow: Flow,
}

/// A capstone RISC-V register id as `x0`..`x31` (capstone numbers `x0` as 1).
pub(crate) fn reg(id: u32) -> Option<Reg> {
    (1..=32).contains(&id).then(|| (id - 1) as Reg)
}

/// The registers an instruction writes, read from its encoding (`x0` left out): the backstop
/// that keeps the lowering sound whatever capstone's details say. A 32-bit instruction writes
/// its `rd` field unless it is a store, a branch or a fence (a floating-point `rd` is counted
/// too: too much is sound); a compressed one, per its quadrant and `funct3`.
pub(crate) fn written(raw: u32, len: u8) -> RegSet {
    let set = |r: u32| if r == 0 { 0 } else { bit(r as u8) };
    if len == 4 {
        let f = Fields(raw);
        return match f.opcode() {
            0x23 | 0x27 | 0x63 | 0x0f => 0, // stores, branches, fence
            _ => set(u32::from(f.rd())),
        };
    }
    let rd = (raw >> 7) & 31;
    let rd_prime = 8 + ((raw >> 2) & 7);
    let rs1_prime = 8 + ((raw >> 7) & 7);
    let rs2 = (raw >> 2) & 31;
    let funct3 = (raw >> 13) & 7;
    match (raw & 3, funct3) {
        // c.addi4spn, c.fld, c.lw, c.flw; 4..7: reserved and stores.
        (0, 0..=3) => set(rd_prime),
        (0, _) => 0,
        // c.addi, c.li, c.lui / c.addi16sp; c.jal writes ra; the c.sub/c.and/... group.
        (1, 0 | 2 | 3) => set(rd),
        (1, 1) => bit(1),
        (1, 4) => set(rs1_prime),
        (1, _) => 0, // c.j, c.beqz, c.bnez
        // c.slli, c.fldsp, c.lwsp, c.flwsp.
        (2, 0..=3) => set(rd),
        (2, 4) => match ((raw >> 12) & 1, rs2) {
            (0, 0) => 0,            // c.jr
            (0, _) => set(rd),      // c.mv
            (_, 0) if rd == 0 => 0, // c.ebreak
            (_, 0) => bit(1),       // c.jalr
            _ => set(rd),           // c.add
        },
        _ => 0, // c.fsdsp, c.swsp, c.fswsp
    }
}
