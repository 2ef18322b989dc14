//! One Thumb-2 instruction as capstone decoded it, reduced to what the audit reads: its
//! operands ([`Op`]) with their shifts ([`Shift`]), and the whole record ([`Decoded`]).
//! [`crate::thumb`] fills it from capstone's details and classifies the control flow from it;
//! [`crate::thumb_sem`] lowers it to [`crate::sem::Sem`].

use capstone::arch::arm::ArmCC;

use crate::insn::Flow;

/// A shift applied to a register operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shift {
    /// None.
    No,
    /// Logical shift left by a constant.
    Lsl(u32),
    /// Logical shift right by a constant.
    Lsr(u32),
    /// Any other shift (arithmetic, rotate, by a register).
    Other,
}

/// One operand, reduced to what the audit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A register (capstone's id).
    Reg(u32),
    /// An immediate.
    Imm(i64),
    /// `[base, index, lsl #lshift]` or `[base, #disp]` (capstone's register ids; 0: none).
    Mem {
        /// Base register.
        base: u32,
        /// Index register (0: none).
        index: u32,
        /// The index is subtracted.
        negative: bool,
        /// Displacement.
        disp: i32,
        /// Left shift of the index.
        lshift: u32,
    },
    /// Anything else (system registers, floating point).
    Other,
}

/// What the lowering reads of one decoded instruction.
pub(crate) struct Decoded<'a> {
    /// capstone's instruction id.
    pub id: u32,
    /// Its address.
    pub addr: u64,
    /// Its length in bytes.
    pub size: u8,
    /// Its mnemonic (for `IT`'s then/else pattern).
    pub mnemonic: &'a str,
    /// Operands.
    pub ops: &'a [Op],
    /// The shift of each operand.
    pub shifts: &'a [Shift],
    /// Whether each operand is written.
    pub op_writes: &'a [bool],
    /// Its condition (a conditional branch, or `IT`'s first condition).
    pub cc: ArmCC,
    /// It sets the flags.
    pub update_flags: bool,
    /// Its base register is written back.
    pub writeback: bool,
    /// Every register written (capstone ids).
    pub regs_write: Vec<u32>,
    /// Every register read (capstone ids).
    pub regs_read: Vec<u32>,
    /// Its control flow.
    pub flow: Flow,
}
