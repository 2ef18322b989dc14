//! What an instruction does to registers, flags and memory, in the small vocabulary the value
//! analysis (modules `values` and `paths`) reads. Each decoder lowers its instructions to
//! these effects; anything it does not model precisely it must still report soundly: every
//! register it may write as [`Value::Unknown`], flags it may change as
//! [`Effect::FlagsUnknown`], memory it may write as a [`Effect::Store`], and a call as
//! [`Effect::Call`].
//!
//! Registers are numbered per architecture: x86_64 `rax`=0, `rcx`, `rdx`, `rbx`, `rsp`=4,
//! `rbp`, `rsi`, `rdi`, `r8`..`r15`; Thumb `r0`..`r12`, `sp`=13, `lr`=14, `pc`=15; RV32 `x0`..`x31`
//! (`ra`=1, `sp`=2, `s0`=8, `a0`=10).

/// A general-purpose register number (below [`REGS`]).
pub type Reg = u8;

/// A set of registers, one bit per register number.
pub type RegSet = u32;

/// The most general-purpose registers of an architecture (RV32's 32).
pub const REGS: usize = 32;

/// The bit of one register.
pub const fn bit(reg: Reg) -> RegSet {
    1 << reg
}

/// An operand: a register read at a width in bits (its low bits), or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opnd {
    /// A register's low `bits` bits (8, 16, 32 or 64).
    Reg(Reg, u8),
    /// A constant.
    Imm(u64),
}

/// A memory operand: `base + index * scale + disp`, or a fixed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemRef {
    /// Base register.
    pub base: Option<Reg>,
    /// Index register and its scale (1, 2, 4, 8; Thumb: `1 << lsl`).
    pub index: Option<(Reg, u8)>,
    /// Displacement (two's complement).
    pub disp: u64,
    /// The address when it is fixed: x86 `rip`-relative or absolute, Thumb `[pc, #imm]`.
    pub fixed: Option<u64>,
    /// The address is not computed from registers the analysis knows (an `fs:`/`gs:`
    /// segment, a gather): nothing is known about it.
    pub opaque: bool,
    /// Bytes accessed (0 for an address computation that reads nothing: `lea`, `adr`).
    pub bytes: u8,
}

impl MemRef {
    /// A memory operand `[base + disp]`.
    pub fn based(base: Reg, disp: u64, bytes: u8) -> MemRef {
        MemRef { base: Some(base), index: None, disp, fixed: None, opaque: false, bytes }
    }

    /// A memory operand at a fixed address.
    pub fn at(addr: u64, bytes: u8) -> MemRef {
        MemRef { base: None, index: None, disp: 0, fixed: Some(addr), opaque: false, bytes }
    }

    /// The registers the address is computed from.
    pub fn regs(&self) -> RegSet {
        self.base.map_or(0, bit) | self.index.map_or(0, |(r, _)| bit(r))
    }
}

/// A value written to a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A copy (`mov`), zero-extended from the operand's width.
    Opnd(Opnd),
    /// `a + b`.
    Add(Opnd, Opnd),
    /// `a - b`.
    Sub(Opnd, Opnd),
    /// `a & b`.
    And(Opnd, Opnd),
    /// `a | b`.
    Or(Opnd, Opnd),
    /// `a ^ b`.
    Xor(Opnd, Opnd),
    /// `a << n`.
    Shl(Opnd, u8),
    /// `a >> n` (logical).
    Shr(Opnd, u8),
    /// Thumb `movt`: the register's low half kept, `imm << 16` as the high half.
    Movt(Reg, u64),
    /// The address of a memory operand (`lea`, `adr`).
    Addr(MemRef),
    /// A zero-extending load.
    Load(MemRef),
    /// Anything else: a value the analysis does not compute, from the registers given.
    Unknown(RegSet),
}

impl Value {
    /// The registers the value is computed from (a load: none; its address is not its value).
    pub fn regs(&self) -> RegSet {
        let o = |o: &Opnd| if let Opnd::Reg(r, _) = o { bit(*r) } else { 0 };
        match self {
            Value::Opnd(a) | Value::Shl(a, _) | Value::Shr(a, _) => o(a),
            Value::Add(a, b)
            | Value::Sub(a, b)
            | Value::And(a, b)
            | Value::Or(a, b)
            | Value::Xor(a, b) => o(a) | o(b),
            Value::Movt(r, _) => bit(*r),
            Value::Addr(m) => m.regs(),
            Value::Load(_) => 0,
            Value::Unknown(regs) => *regs,
        }
    }
}

/// One effect, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `dst := value`, written at `bits`: 64 replaces the register, 32 zero-extends into it
    /// (x86_64; Thumb registers are 32 bits), 8 and 16 replace the low bits only.
    Set {
        /// The register written.
        dst: Reg,
        /// Width of the write.
        bits: u8,
        /// What is written.
        value: Value,
    },
    /// The flags of `a - b` at `bits` (`cmp`, `sub`; Thumb `cmp`, `subs`): equality and
    /// unsigned order are known.
    Compare(Value, Value, u8),
    /// Flags of which only "zero" is known: set when `value` (at `bits`) is 0 (`test r, r`,
    /// `and`, `inc`; Thumb `movs`, `ands`, `tst`).
    ZeroTest(Value, u8),
    /// The flags change in a way the analysis does not follow.
    FlagsUnknown,
    /// Memory is read without the value going to a register the analysis follows (`cmp [m],
    /// 1`, the read of a read-modify-write, a load into a vector register).
    Read(MemRef),
    /// Memory is written: `Some` operand when the stored value is a register or constant.
    Store(MemRef, Option<Opnd>),
    /// A call: caller-saved registers and the flags change, memory may change.
    Call,
}

/// A condition on the flags (or on a register for `cbz`/`cbnz`): when a conditional branch is
/// taken, or when a predicated instruction (`cmov`, `setcc`, an instruction in a Thumb `IT`
/// block) executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cond {
    /// Equal / zero.
    Eq,
    /// Not equal / not zero.
    Ne,
    /// Unsigned below (x86 `b`, ARM `lo`/`cc`).
    Ult,
    /// Unsigned above or equal (x86 `ae`, ARM `hs`/`cs`).
    Uge,
    /// Unsigned below or equal (x86 `be`, ARM `ls`).
    Ule,
    /// Unsigned above (x86 `a`, ARM `hi`).
    Ugt,
    /// Any other condition (signed, sign, overflow, parity): not followed.
    Other,
}

impl Cond {
    /// The opposite condition.
    pub fn negate(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Ult => Cond::Uge,
            Cond::Uge => Cond::Ult,
            Cond::Ule => Cond::Ugt,
            Cond::Ugt => Cond::Ule,
            Cond::Other => Cond::Other,
        }
    }

    /// Whether `a <self> b` implies `a <wanted> b` (`Some(true)`), implies its negation
    /// (`Some(false)`), or neither.
    pub fn implies(self, wanted: Cond) -> Option<bool> {
        use Cond::*;
        if self == Other || wanted == Other {
            return None;
        }
        if self == wanted {
            return Some(true);
        }
        if self == wanted.negate() {
            return Some(false);
        }
        match (self, wanted) {
            (Eq, Uge | Ule) | (Ult, Ule | Ne) | (Ugt, Uge | Ne) => Some(true),
            (Eq, Ult | Ugt) | (Ult, Ugt | Eq) | (Ugt, Ult | Eq) => Some(false),
            _ => None,
        }
    }

    /// The condition with the operands swapped: `a < b` is `b > a`.
    pub fn swap(self) -> Cond {
        match self {
            Cond::Ult => Cond::Ugt,
            Cond::Ugt => Cond::Ult,
            Cond::Ule => Cond::Uge,
            Cond::Uge => Cond::Ule,
            other => other,
        }
    }
}

/// What decides a conditional branch or a predicated instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guard {
    /// A condition on the flags.
    Flags(Cond),
    /// Thumb `cbz` (`true`: taken when the register is zero) / `cbnz` (`false`).
    Zero(Reg, bool),
    /// A comparison of two operands at the register width, with no flags: RISC-V `beq`,
    /// `bltu`, ... (`a <cond> b`).
    Compare(Opnd, Opnd, Cond),
}

/// The semantics of one instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sem {
    /// The effects, in order; for a predicated instruction, when its guard holds.
    pub effects: Vec<Effect>,
    /// The guard of a conditional branch (taken when it holds) or of a predicated instruction.
    pub guard: Option<Guard>,
    /// A predicated instruction's effects when its guard fails (x86 `setcc` writes 0, a 32-bit
    /// `cmov` still zero-extends its destination).
    pub otherwise: Vec<Effect>,
    /// Thumb `IT`: the conditions of the instructions it covers, in order.
    pub it_block: Vec<Cond>,
}

impl Sem {
    /// No effect at all (a branch, `nop`).
    pub fn none() -> Sem {
        Sem::default()
    }

    /// The given effects, unconditionally.
    pub fn of(effects: Vec<Effect>) -> Sem {
        Sem { effects, ..Sem::default() }
    }

    /// Whether any effect reads memory through an index register (a table lookup).
    pub fn indexed_read(&self) -> bool {
        self.effects.iter().any(|e| match e {
            Effect::Set { value: Value::Load(m), .. } | Effect::Read(m) => m.index.is_some(),
            _ => false,
        })
    }
}

/// What the value analysis needs to know about an architecture's calling convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abi {
    /// The stack pointer.
    pub sp: Reg,
    /// The frame pointer, when the compiler may keep one (`rbp`; Thumb `r7`).
    pub fp: Reg,
    /// Registers a callee preserves (stack pointer included).
    pub callee_saved: RegSet,
    /// Registers that pass arguments to a callee.
    pub args: RegSet,
    /// Registers that return a callee's results.
    pub returns: RegSet,
    /// Register width in bits.
    pub bits: u8,
}
