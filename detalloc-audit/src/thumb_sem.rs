//! The lowering of a decoded Thumb-2 instruction to [`Sem`]. What is not modelled precisely is
//! covered soundly from capstone's own lists: every register it says the instruction writes
//! (`cs_regs_access`, implicit ones included) becomes unknown, a write of the flags makes them
//! unknown, and a memory operand of an instruction not modelled is read and written.
//!
//! Instructions an `IT` block covers are decoded one at a time, outside their block, so they
//! read as unconditional here; [`crate::cfg`] adds their guard, and drops what a 16-bit
//! encoding says about the flags there (inside an `IT` block `adds` is `add<c>`, which leaves
//! the flags alone).

use capstone::arch::arm::{ArmCC, ArmInsn, ArmReg};

use crate::insn::Flow;
use crate::sem::{Cond, Effect, Guard, MemRef, Opnd, Reg, RegSet, Sem, Value, bit};
use crate::thumb_decoded::{Decoded, Op, Shift};

/// A base register written back, and by how much (`None`: by a register).
type WriteBack = (Reg, Option<u64>);

const PC: Reg = 15;
const SP: Reg = 13;

/// A capstone register id as a register number (`r0`..`r12`, `sp`, `lr`, `pc`).
pub(crate) fn reg(id: u32) -> Option<Reg> {
    match id {
        ArmReg::ARM_REG_R0..=ArmReg::ARM_REG_R12 => Some((id - ArmReg::ARM_REG_R0) as Reg),
        ArmReg::ARM_REG_SP => Some(SP),
        ArmReg::ARM_REG_LR => Some(14),
        ArmReg::ARM_REG_PC => Some(PC),
        _ => None,
    }
}

/// An ARM condition code as a [`Cond`]; `None` for "always".
pub(crate) fn cond(cc: ArmCC) -> Option<Cond> {
    Some(match cc {
        ArmCC::ARM_CC_AL | ArmCC::ARM_CC_INVALID => return None,
        ArmCC::ARM_CC_EQ => Cond::Eq,
        ArmCC::ARM_CC_NE => Cond::Ne,
        ArmCC::ARM_CC_HS => Cond::Uge,
        ArmCC::ARM_CC_LO => Cond::Ult,
        ArmCC::ARM_CC_HI => Cond::Ugt,
        ArmCC::ARM_CC_LS => Cond::Ule,
        _ => Cond::Other,
    })
}

fn is(id: u32, insn: ArmInsn) -> bool {
    id == insn as u32
}

fn any(id: u32, list: &[ArmInsn]) -> bool {
    list.iter().any(|i| is(id, *i))
}

/// `Align(PC, 4)` as an instruction at `addr` reads it.
fn pc_aligned(addr: u64) -> u64 {
    (addr + 4) & !3
}

impl Decoded<'_> {
    fn reg_at(&self, i: usize) -> Option<Reg> {
        match self.ops.get(i)? {
            Op::Reg(r) => reg(*r),
            _ => None,
        }
    }

    /// Operand `i` without a shift.
    fn opnd(&self, i: usize) -> Option<Opnd> {
        match self.src(i)? {
            Value::Opnd(o) => Some(o),
            _ => None,
        }
    }

    /// Operand `i` as a value (a register with its shift, or an immediate).
    fn src(&self, i: usize) -> Option<Value> {
        match self.ops.get(i)? {
            Op::Reg(r) => {
                let n = reg(*r)?;
                let o = if n == PC { Opnd::Imm(self.addr + 4) } else { Opnd::Reg(n, 32) };
                Some(match self.shifts.get(i).copied().unwrap_or(Shift::No) {
                    Shift::No | Shift::Lsl(0) => Value::Opnd(o),
                    Shift::Lsl(k) if k < 32 => Value::Shl(o, k as u8),
                    Shift::Lsr(k) if (1..32).contains(&k) => Value::Shr(o, k as u8),
                    _ => Value::Unknown(bit(n)),
                })
            }
            Op::Imm(v) => Some(Value::Opnd(Opnd::Imm(u64::from(*v as u32)))),
            _ => None,
        }
    }

    /// The memory operand, `bytes` wide, and its write-back `(base, delta)`.
    fn mem(&self, bytes: u8) -> Option<(MemRef, Option<WriteBack>)> {
        let at = self.ops.iter().position(|o| matches!(o, Op::Mem { .. }))?;
        let Op::Mem { base, index, negative, disp, lshift } = self.ops[at] else { return None };
        let base = reg(base)?;
        let disp = i64::from(disp) as u64;
        let index = match index {
            0 => None,
            _ if negative || lshift > 3 => return None,
            i => Some((reg(i)?, 1u8 << lshift)),
        };
        let m = if base == PC {
            match index {
                None => MemRef::at(pc_aligned(self.addr).wrapping_add(disp), bytes),
                Some(_) => MemRef {
                    base: None,
                    index,
                    disp: self.addr + 4,
                    fixed: None,
                    opaque: false,
                    bytes,
                },
            }
        } else {
            MemRef { base: Some(base), index, disp, fixed: None, opaque: false, bytes }
        };
        if !self.writeback {
            return Some((m, None));
        }
        // Post-indexed (`[rn], #imm`): the access at `rn`, then `rn += imm`. Pre-indexed
        // (`[rn, #imm]!`): the access at `rn + imm`, which `rn` becomes.
        let delta = match self.ops.get(at + 1) {
            Some(Op::Imm(imm)) => Some(*imm as u64),
            Some(_) => None,
            None => Some(disp),
        };
        Some((m, Some((base, delta))))
    }
}

/// The effects of writing back a base register.
fn write_back(wb: Option<WriteBack>) -> Option<Effect> {
    let (base, delta) = wb?;
    let value = match delta {
        Some(d) => Value::Add(Opnd::Reg(base, 32), Opnd::Imm(d)),
        None => Value::Unknown(bit(base)),
    };
    Some(Effect::Set { dst: base, bits: 32, value })
}

/// The lowering of one instruction, completed from capstone's register lists.
pub(crate) fn lower(d: &Decoded<'_>) -> Sem {
    let mut sem = model(d).unwrap_or_else(|| fallback_memory(d));
    let reads: RegSet = d.regs_read.iter().filter_map(|r| reg(*r)).map(bit).fold(0, |a, b| a | b);
    let covered: RegSet = sem
        .effects
        .iter()
        .chain(&sem.otherwise)
        .map(|e| if let Effect::Set { dst, .. } = e { bit(*dst) } else { 0 })
        .fold(0, |a, b| a | b);
    let mut written: RegSet =
        d.regs_write.iter().filter_map(|r| reg(*r)).map(bit).fold(0, |a, b| a | b);
    for (op, w) in d.ops.iter().zip(d.op_writes) {
        if let (Op::Reg(r), true) = (op, w) {
            written |= reg(*r).map_or(0, bit);
        }
    }
    written &= !bit(PC); // control flow, not a value
    let mut extra = Vec::new();
    for r in 0..16u8 {
        if written & bit(r) != 0 && covered & bit(r) == 0 {
            extra.push(Effect::Set { dst: r, bits: 32, value: Value::Unknown(reads) });
        }
    }
    let flags_written = d.update_flags
        || d.regs_write.iter().any(|r| {
            matches!(*r, ArmReg::ARM_REG_APSR | ArmReg::ARM_REG_APSR_NZCV | ArmReg::ARM_REG_CPSR)
        });
    let flags_modelled = sem.effects.iter().any(|e| {
        matches!(
            e,
            Effect::Compare(..) | Effect::ZeroTest(..) | Effect::FlagsUnknown | Effect::Call
        )
    });
    if flags_written && !flags_modelled {
        extra.push(Effect::FlagsUnknown);
    }
    sem.effects.extend(extra);
    sem.guard = match d.flow {
        Flow::Jump { conditional: true, .. }
            if any(d.id, &[ArmInsn::ARM_INS_CBZ, ArmInsn::ARM_INS_CBNZ]) =>
        {
            d.reg_at(0).map(|r| Guard::Zero(r, is(d.id, ArmInsn::ARM_INS_CBZ)))
        }
        Flow::Jump { conditional: true, .. } => cond(d.cc).map(Guard::Flags),
        _ => None,
    };
    if is(d.id, ArmInsn::ARM_INS_IT)
        && let Some(first) = cond(d.cc)
    {
        sem.it_block = d
            .mnemonic
            .chars()
            .skip(1)
            .map(|c| if c == 'e' { first.negate() } else { first })
            .collect();
    }
    sem
}

/// An instruction not modelled: its memory operand is read and may be written.
fn fallback_memory(d: &Decoded<'_>) -> Sem {
    let mut effects = Vec::new();
    if let Some((m, _)) = d.mem(4) {
        effects.push(Effect::Read(m));
        effects.push(Effect::Store(m, None));
    } else if d.ops.iter().any(|o| matches!(o, Op::Mem { .. })) {
        let opaque =
            MemRef { base: None, index: None, disp: 0, fixed: None, opaque: true, bytes: 4 };
        effects.push(Effect::Read(opaque));
        effects.push(Effect::Store(opaque, None));
    }
    Sem::of(effects)
}

/// The instructions modelled precisely; `None` for the rest.
fn model(d: &Decoded<'_>) -> Option<Sem> {
    use ArmInsn::*;
    use Effect::*;
    let id = d.id;
    let set = |dst: Reg, value: Value| Set { dst, bits: 32, value };
    let zero = |r: Reg| ZeroTest(Value::Opnd(Opnd::Reg(r, 32)), 32);
    // `op rd, rn, op2` or the two-operand `op rd, op2` (rd is also rn).
    let binary = || -> Option<(Reg, Opnd, Value)> {
        let rd = d.reg_at(0)?;
        match d.ops.len() {
            3 => {
                let a = match d.reg_at(1)? {
                    PC => Opnd::Imm(pc_aligned(d.addr)),
                    r => Opnd::Reg(r, 32),
                };
                Some((rd, a, d.src(2)?))
            }
            2 => Some((rd, Opnd::Reg(rd, 32), d.src(1)?)),
            _ => None,
        }
    };
    let sem = if any(id, &[ARM_INS_MOV, ARM_INS_MOVS, ARM_INS_MOVW]) {
        let rd = d.reg_at(0)?;
        if rd == PC {
            return Some(Sem::none());
        }
        let mut e = vec![set(rd, d.src(1)?)];
        if d.update_flags {
            e.push(zero(rd));
        }
        Sem::of(e)
    } else if is(id, ARM_INS_MVN) {
        let rd = d.reg_at(0)?;
        let value = match d.src(1)? {
            Value::Opnd(o) => Value::Xor(o, Opnd::Imm(0xffff_ffff)),
            other => Value::Unknown(other.regs()),
        };
        let mut e = vec![set(rd, value)];
        if d.update_flags {
            e.push(zero(rd));
        }
        Sem::of(e)
    } else if is(id, ARM_INS_MOVT) {
        let rd = d.reg_at(0)?;
        let Some(Op::Imm(imm)) = d.ops.get(1) else { return None };
        Sem::of(vec![set(rd, Value::Movt(rd, u64::from(*imm as u32 & 0xffff)))])
    } else if is(id, ARM_INS_ADR) {
        let rd = d.reg_at(0)?;
        let Some(Op::Imm(imm)) = d.ops.get(1) else { return None };
        let addr = pc_aligned(d.addr).wrapping_add(*imm as u64) & 0xffff_ffff;
        Sem::of(vec![set(rd, Value::Opnd(Opnd::Imm(addr)))])
    } else if any(id, &[ARM_INS_ADD, ARM_INS_ADDW, ARM_INS_SUB, ARM_INS_SUBS, ARM_INS_SUBW]) {
        let (rd, a, b) = binary()?;
        if rd == PC {
            return Some(Sem::none());
        }
        let sub = !any(id, &[ARM_INS_ADD, ARM_INS_ADDW]);
        let value = match (b, sub) {
            (Value::Opnd(b), false) => Value::Add(a, b),
            (Value::Opnd(b), true) => Value::Sub(a, b),
            (other, _) => Value::Unknown(other.regs() | Value::Opnd(a).regs()),
        };
        let mut e = Vec::new();
        if d.update_flags && sub {
            e.push(Compare(Value::Opnd(a), b, 32));
        }
        e.push(set(rd, value));
        if d.update_flags && !sub {
            e.push(zero(rd));
        }
        Sem::of(e)
    } else if any(id, &[ARM_INS_RSB, ARM_INS_NEG]) {
        let rd = d.reg_at(0)?;
        let a = Opnd::Reg(d.reg_at(1).unwrap_or(rd), 32);
        let b = if is(id, ARM_INS_NEG) { Value::Opnd(Opnd::Imm(0)) } else { d.src(2)? };
        let value = match b {
            Value::Opnd(b) => Value::Sub(b, a),
            other => Value::Unknown(other.regs() | Value::Opnd(a).regs()),
        };
        let mut e = Vec::new();
        if d.update_flags {
            e.push(Compare(b, Value::Opnd(a), 32));
        }
        e.push(set(rd, value));
        Sem::of(e)
    } else if is(id, ARM_INS_CMP) {
        let a = d.opnd(0)?;
        Sem::of(vec![Compare(Value::Opnd(a), d.src(1)?, 32)])
    } else if any(id, &[ARM_INS_CMN, ARM_INS_TST, ARM_INS_TEQ]) {
        let a = d.opnd(0)?;
        let value = match (d.src(1)?, id) {
            (Value::Opnd(b), _) if is(id, ARM_INS_CMN) => Value::Add(a, b),
            (Value::Opnd(b), _) if is(id, ARM_INS_TST) => Value::And(a, b),
            (Value::Opnd(b), _) => Value::Xor(a, b),
            (other, _) => Value::Unknown(other.regs() | Value::Opnd(a).regs()),
        };
        Sem::of(vec![ZeroTest(value, 32)])
    } else if any(id, &[ARM_INS_AND, ARM_INS_ORR, ARM_INS_EOR, ARM_INS_BIC, ARM_INS_ORN]) {
        let (rd, a, b) = binary()?;
        let value = match b {
            Value::Opnd(b) if is(id, ARM_INS_AND) => Value::And(a, b),
            Value::Opnd(b) if is(id, ARM_INS_ORR) => Value::Or(a, b),
            Value::Opnd(b) if is(id, ARM_INS_EOR) => Value::Xor(a, b),
            Value::Opnd(Opnd::Imm(i)) if is(id, ARM_INS_BIC) => {
                Value::And(a, Opnd::Imm(!i & 0xffff_ffff))
            }
            Value::Opnd(Opnd::Imm(i)) if is(id, ARM_INS_ORN) => {
                Value::Or(a, Opnd::Imm(!i & 0xffff_ffff))
            }
            other => Value::Unknown(other.regs() | Value::Opnd(a).regs()),
        };
        let mut e = vec![set(rd, value)];
        if d.update_flags {
            e.push(zero(rd));
        }
        Sem::of(e)
    } else if any(id, &[ARM_INS_LSL, ARM_INS_LSR]) {
        let (rd, a, b) = binary()?;
        let value = match b {
            Value::Opnd(Opnd::Imm(k)) if k < 32 && is(id, ARM_INS_LSL) => Value::Shl(a, k as u8),
            Value::Opnd(Opnd::Imm(k)) if (1..32).contains(&k) => Value::Shr(a, k as u8),
            other => Value::Unknown(other.regs() | Value::Opnd(a).regs()),
        };
        let mut e = vec![set(rd, value)];
        if d.update_flags {
            e.push(zero(rd));
        }
        Sem::of(e)
    } else if any(id, &[ARM_INS_UXTB, ARM_INS_UXTH]) && d.ops.len() == 2 {
        let rd = d.reg_at(0)?;
        let mask = if is(id, ARM_INS_UXTB) { 0xff } else { 0xffff };
        Sem::of(vec![set(rd, Value::And(d.opnd(1)?, Opnd::Imm(mask)))])
    } else if any(
        id,
        &[ARM_INS_LDR, ARM_INS_LDRB, ARM_INS_LDRH, ARM_INS_LDREX, ARM_INS_LDREXB, ARM_INS_LDREXH],
    ) {
        let bytes = match () {
            _ if any(id, &[ARM_INS_LDRB, ARM_INS_LDREXB]) => 1,
            _ if any(id, &[ARM_INS_LDRH, ARM_INS_LDREXH]) => 2,
            _ => 4,
        };
        let rt = d.reg_at(0)?;
        let (m, wb) = d.mem(bytes)?;
        let mut e = vec![];
        if rt == PC {
            e.push(Read(m));
        } else {
            e.push(set(rt, Value::Load(m)));
        }
        e.extend(write_back(wb));
        Sem::of(e)
    } else if any(id, &[ARM_INS_STR, ARM_INS_STRB, ARM_INS_STRH]) {
        let bytes = match () {
            _ if is(id, ARM_INS_STRB) => 1,
            _ if is(id, ARM_INS_STRH) => 2,
            _ => 4,
        };
        let rt = d.reg_at(0)?;
        let (m, wb) = d.mem(bytes)?;
        let mut e = vec![Store(m, Some(Opnd::Reg(rt, bytes * 8)))];
        e.extend(write_back(wb));
        Sem::of(e)
    } else if any(id, &[ARM_INS_STREX, ARM_INS_STREXB, ARM_INS_STREXH]) {
        let status = d.reg_at(0)?;
        let rt = d.reg_at(1)?;
        let (m, _) = d.mem(4)?;
        Sem::of(vec![set(status, Value::Unknown(0)), Store(m, Some(Opnd::Reg(rt, 32)))])
    } else if any(id, &[ARM_INS_LDRD, ARM_INS_STRD]) {
        let (r1, r2) = (d.reg_at(0)?, d.reg_at(1)?);
        let (m, wb) = d.mem(4)?;
        let m2 = MemRef { disp: m.disp.wrapping_add(4), fixed: m.fixed.map(|f| f + 4), ..m };
        let mut e = if is(id, ARM_INS_LDRD) {
            vec![set(r1, Value::Load(m)), set(r2, Value::Load(m2))]
        } else {
            vec![Store(m, Some(Opnd::Reg(r1, 32))), Store(m2, Some(Opnd::Reg(r2, 32)))]
        };
        e.extend(write_back(wb));
        Sem::of(e)
    } else if any(id, &[ARM_INS_PUSH, ARM_INS_POP]) {
        let regs: Vec<Reg> = (0..d.ops.len()).map(|i| d.reg_at(i)).collect::<Option<_>>()?;
        multiple(SP, &regs, is(id, ARM_INS_POP), true, true)
    } else if any(id, &[ARM_INS_LDM, ARM_INS_STM, ARM_INS_STMDB, ARM_INS_LDMDB]) {
        let base = d.reg_at(0)?;
        let regs: Vec<Reg> = (1..d.ops.len()).map(|i| d.reg_at(i)).collect::<Option<_>>()?;
        let load = any(id, &[ARM_INS_LDM, ARM_INS_LDMDB]);
        let up = any(id, &[ARM_INS_LDM, ARM_INS_STM]);
        let mut sem = multiple(base, &regs, load, up, d.writeback);
        if !d.writeback {
            sem.effects.retain(|e| !matches!(e, Set { dst, .. } if *dst == base));
        }
        sem
    } else if any(id, &[ARM_INS_BL, ARM_INS_BLX]) {
        // The return address (Thumb bit set) goes to `lr` before the callee runs.
        let next = d.addr + if d.size == 2 { 2 } else { 4 };
        let ret = Set { dst: 14, bits: 32, value: Value::Opnd(Opnd::Imm(next | 1)) };
        Sem::of(vec![ret, Call])
    } else if any(id, &[ARM_INS_TBB, ARM_INS_TBH]) {
        let bytes = if is(id, ARM_INS_TBB) { 1 } else { 2 };
        Sem::of(d.mem(bytes).map(|(m, _)| Read(m)).into_iter().collect())
    } else if any(
        id,
        &[
            ARM_INS_B,
            ARM_INS_BX,
            ARM_INS_CBZ,
            ARM_INS_CBNZ,
            ARM_INS_IT,
            ARM_INS_NOP,
            ARM_INS_CPS,
            ARM_INS_ISB,
            ARM_INS_DMB,
            ARM_INS_DSB,
            ARM_INS_WFI,
            ARM_INS_WFE,
            ARM_INS_SEV,
            ARM_INS_YIELD,
            ARM_INS_CLREX,
            ARM_INS_BKPT,
            ARM_INS_UDF,
            ARM_INS_SVC,
        ],
    ) {
        Sem::none()
    } else {
        return None;
    };
    Some(sem)
}

/// `push`/`pop`/`ldm`/`stm`: the registers stored or loaded at consecutive words from `base`
/// (`up`: from `base` upwards; else the block ends at `base`), and `base` moved past them when
/// written back.
fn multiple(base: Reg, regs: &[Reg], load: bool, up: bool, writeback: bool) -> Sem {
    use Effect::*;
    let n = regs.len() as u64 * 4;
    let b = Opnd::Reg(base, 32);
    let mut effects = Vec::new();
    let offset = |i: usize| if up { i as u64 * 4 } else { (i as u64 * 4).wrapping_sub(n) };
    if load {
        for (i, &r) in regs.iter().enumerate() {
            if r != PC {
                effects.push(Set {
                    dst: r,
                    bits: 32,
                    value: Value::Load(MemRef::based(base, offset(i), 4)),
                });
            }
        }
        if writeback && !regs.contains(&base) {
            let value = if up { Value::Add(b, Opnd::Imm(n)) } else { Value::Sub(b, Opnd::Imm(n)) };
            effects.push(Set { dst: base, bits: 32, value });
        }
    } else if up {
        for (i, &r) in regs.iter().enumerate() {
            effects.push(Store(MemRef::based(base, offset(i), 4), Some(Opnd::Reg(r, 32))));
        }
        if writeback {
            effects.push(Set { dst: base, bits: 32, value: Value::Add(b, Opnd::Imm(n)) });
        }
    } else {
        // `push` / `stmdb`: the base moves down first, the registers go above it.
        if writeback {
            effects.push(Set { dst: base, bits: 32, value: Value::Sub(b, Opnd::Imm(n)) });
            for (i, &r) in regs.iter().enumerate() {
                effects.push(Store(MemRef::based(base, i as u64 * 4, 4), Some(Opnd::Reg(r, 32))));
            }
        } else {
            for (i, &r) in regs.iter().enumerate() {
                effects.push(Store(MemRef::based(base, offset(i), 4), Some(Opnd::Reg(r, 32))));
            }
        }
    }
    Sem::of(effects)
}
