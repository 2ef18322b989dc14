//! The lowering of a decoded RV32 instruction to [`Sem`].
//!
//! A 32-bit instruction is lowered from its encoding's fields ([`Fields`]: opcode, `funct3`,
//! `funct7`, registers, immediates), which capstone identified as a valid instruction; a
//! compressed one from capstone's operands (which it gives in full for the `c.*` forms). RISC-V
//! has no flags: a conditional branch compares two registers itself ([`Guard::Compare`]).
//! `x0` reads as 0 and its writes are dropped.
//!
//! Modelled: `lui`, `auipc`, `addi` (`li`, `mv`, `nop`), `add`, `sub`, `and(i)`, `or(i)`,
//! `xor(i)` (`not`), `slli`, `srli`, the zero-extending loads `lw`/`lhu`/`lbu` and the stores
//! (so the frame's stack slots are followed: `sw ra, 12(sp)` .. `lw ra, 12(sp)`), `lr.w`/`sc.w`,
//! the branches `beq`/`bne`/`bltu`/`bgeu` and their aliases (`beqz`, `bnez`, ...; the signed
//! `blt`/`bge` branch on a condition the analysis does not follow), `jal`/`jalr` (the return
//! address they write), `slt`/`sltu`/`slti`/`sltiu` (`seqz`, `snez`: a 0 or a 1 decided by
//! the comparison, as a predicated write), and the compressed forms of all of these.
//! Everything else (`sra*`, shifts by a register, `mul`/`div`, the sign-extending loads, the CSR instructions,
//! the AMOs) writes an unknown value to its destination; and whatever the lowering does, every
//! register the encoding writes ([`crate::riscv_decoded::written`]) and it did not set becomes unknown.

use capstone::arch::riscv::RiscVInsn;

use crate::insn::Flow;
use crate::riscv_decoded::{Decoded, Fields, Op, any, is, written};
use crate::sem::{self, Cond, Effect, Guard, MemRef, Opnd, Reg, RegSet, Sem, Value, bit};

const MASK: u64 = 0xffff_ffff;

/// A register read: `x0` is the constant 0.
fn r(x: Reg) -> Opnd {
    if x == 0 { Opnd::Imm(0) } else { Opnd::Reg(x, 32) }
}

fn imm(i: i64) -> Opnd {
    Opnd::Imm(i as u64 & MASK)
}

/// `[base + disp]`, `bytes` wide (`x0` as base: the fixed address `disp`).
fn mem(base: Reg, disp: i64, bytes: u8) -> MemRef {
    if base == 0 {
        MemRef::at(disp as u64 & MASK, bytes)
    } else {
        MemRef::based(base, disp as u64 & MASK, bytes)
    }
}

/// `dst := value` (nothing for `x0`).
fn set(dst: Reg, value: Value) -> Vec<Effect> {
    if dst == 0 { Vec::new() } else { vec![Effect::Set { dst, bits: 32, value }] }
}

/// The lowering of one instruction, completed from the registers its encoding writes.
pub(crate) fn lower(d: &Decoded<'_>) -> Sem {
    let mut sem = if d.len == 4 { wide(d) } else { compressed(d) }.unwrap_or_default();
    if matches!(d.flow, Flow::Call { .. } | Flow::IndirectCall { .. })
        && !sem.effects.contains(&Effect::Call)
    {
        sem.effects.push(Effect::Call);
    }
    let reads: RegSet = d
        .ops
        .iter()
        .map(|o| match o {
            Op::Reg(x) | Op::Mem { base: x, .. } if *x != 0 => bit(*x),
            _ => 0,
        })
        .fold(0, |a, b| a | b);
    let covered: RegSet = sem
        .effects
        .iter()
        .map(|e| if let Effect::Set { dst, .. } = e { bit(*dst) } else { 0 })
        .fold(0, |a, b| a | b);
    let missing = written(d.raw, d.len) & !covered;
    // Before a call: the written register (the return address) is set before the callee runs.
    let at = sem.effects.iter().position(|e| *e == Effect::Call).unwrap_or(sem.effects.len());
    for x in (1..32u8).filter(|x| missing & bit(*x) != 0) {
        sem.effects.insert(at, Effect::Set { dst: x, bits: 32, value: Value::Unknown(reads) });
    }
    sem
}

/// `slt`/`sltu` and their immediate forms (`seqz` is `sltiu rd, rs, 1`, `snez` is `sltu rd,
/// zero, rs`): `rd := a <cond> b ? 1 : 0`, as a predicated pair of writes, so a path that
/// decided the comparison knows the result, and one that tests the result knows the
/// comparison. A signed comparison (`Cond::Other`) is not followed: both writes stay possible.
fn set_if(rd: Reg, a: Opnd, b: Opnd, cond: Cond) -> Sem {
    let one = |v: u64| set(rd, Value::Opnd(Opnd::Imm(v)));
    Sem {
        effects: one(1),
        guard: Some(Guard::Compare(a, b, cond)),
        otherwise: one(0),
        ..Sem::none()
    }
}

/// The return address a `jal`/`jalr` writes.
fn link(d: &Decoded<'_>, rd: Reg) -> Vec<Effect> {
    let mut e = set(rd, Value::Opnd(Opnd::Imm(d.addr + u64::from(d.len))));
    if matches!(d.flow, Flow::Call { .. } | Flow::IndirectCall { .. }) {
        e.push(Effect::Call);
    }
    e
}

/// A 32-bit instruction, from its fields.
fn wide(d: &Decoded<'_>) -> Option<Sem> {
    use Value::*;
    let f = Fields(d.raw);
    let (rd, rs1, rs2) = (f.rd(), f.rs1(), f.rs2());
    let funct7 = d.raw >> 25;
    let shamt = (d.raw >> 20) & 31;
    let effects = match f.opcode() {
        0x37 => set(rd, Opnd(sem::Opnd::Imm(f.u_imm()))),
        0x17 => set(rd, Opnd(sem::Opnd::Imm(d.addr.wrapping_add(f.u_imm()) & MASK))),
        // OP-IMM
        0x13 => {
            let i = f.i_imm();
            let value = match f.funct3() {
                0 if i == 0 => Opnd(r(rs1)),
                0 => Add(r(rs1), imm(i)),
                4 => Xor(r(rs1), imm(i)),
                6 => Or(r(rs1), imm(i)),
                7 => And(r(rs1), imm(i)),
                1 if funct7 == 0 => Shl(r(rs1), shamt as u8),
                5 if funct7 == 0 && shamt > 0 => Shr(r(rs1), shamt as u8),
                5 if funct7 == 0 => Opnd(r(rs1)),
                2 => return Some(set_if(rd, r(rs1), imm(i), Cond::Other)),
                3 => return Some(set_if(rd, r(rs1), imm(i), Cond::Ult)),
                _ => return None, // srai
            };
            set(rd, value)
        }
        // OP (the M extension's funct7 is 1: not modelled)
        0x33 => {
            let value = match (funct7, f.funct3()) {
                (0, 0) => Add(r(rs1), r(rs2)),
                (0x20, 0) => Sub(r(rs1), r(rs2)),
                (0, 4) => Xor(r(rs1), r(rs2)),
                (0, 6) => Or(r(rs1), r(rs2)),
                (0, 7) => And(r(rs1), r(rs2)),
                (0, 2) => return Some(set_if(rd, r(rs1), r(rs2), Cond::Other)),
                (0, 3) => return Some(set_if(rd, r(rs1), r(rs2), Cond::Ult)),
                _ => return None,
            };
            set(rd, value)
        }
        // LOAD: lw, lbu, lhu zero-extend; lb, lh sign-extend (the read is kept, the value not).
        0x03 => {
            let bytes = match f.funct3() & 3 {
                0 => 1,
                1 => 2,
                _ => 4,
            };
            let m = mem(rs1, f.i_imm(), bytes);
            match f.funct3() {
                2 | 4 | 5 => set(rd, Load(m)),
                _ => {
                    let mut e = vec![Effect::Read(m)];
                    e.extend(set(rd, Unknown(0)));
                    e
                }
            }
        }
        // STORE
        0x23 => {
            let bytes = 1u8 << (f.funct3() & 3).min(2);
            let src = match r(rs2) {
                sem::Opnd::Reg(x, _) => sem::Opnd::Reg(x, bytes * 8),
                zero => zero,
            };
            vec![Effect::Store(mem(rs1, f.s_imm(), bytes), Some(src))]
        }
        // AMO: lr.w, sc.w, amo*.w
        0x2f => {
            let m = mem(rs1, 0, 4);
            match funct7 >> 2 {
                0b00010 => set(rd, Load(m)),
                0b00011 => {
                    let mut e = vec![Effect::Store(m, Some(r(rs2)))];
                    e.extend(set(rd, Unknown(0)));
                    e
                }
                _ => {
                    let mut e = vec![Effect::Read(m), Effect::Store(m, None)];
                    e.extend(set(rd, Unknown(0)));
                    e
                }
            }
        }
        0x6f | 0x67 => link(d, rd),
        // BRANCH
        0x63 => {
            let cond = match f.funct3() {
                0 => Cond::Eq,
                1 => Cond::Ne,
                6 => Cond::Ult,
                7 => Cond::Uge,
                _ => Cond::Other, // blt, bge
            };
            return Some(Sem { guard: Some(Guard::Compare(r(rs1), r(rs2), cond)), ..Sem::none() });
        }
        // MISC-MEM (fence, fence.i); SYSTEM: `ecall`, `ebreak`, `wfi`, `mret` change no
        // register, a CSR instruction its `rd` (completed by `lower`).
        0x0f | 0x73 => Vec::new(),
        _ => return None,
    };
    Some(Sem::of(effects))
}

/// A compressed instruction, from capstone's operands.
fn compressed(d: &Decoded<'_>) -> Option<Sem> {
    use RiscVInsn::*;
    use Value::*;
    let id = d.id;
    let reg = |i: usize| match d.ops.get(i) {
        Some(Op::Reg(x)) => Some(*x),
        _ => None,
    };
    let num = |i: usize| match d.ops.get(i) {
        Some(Op::Imm(v)) => Some(*v),
        _ => None,
    };
    let effects = if is(id, RISCV_INS_C_NOP) {
        Vec::new()
    } else if any(id, &[RISCV_INS_C_ADDI, RISCV_INS_C_ADDI16SP]) {
        let rd = reg(0)?;
        set(rd, Add(r(rd), imm(num(1)?)))
    } else if is(id, RISCV_INS_C_ADDI4SPN) {
        set(reg(0)?, Add(r(reg(1)?), imm(num(2)?)))
    } else if is(id, RISCV_INS_C_LI) {
        set(reg(0)?, Opnd(imm(num(1)?)))
    } else if is(id, RISCV_INS_C_LUI) {
        set(reg(0)?, Opnd(sem::Opnd::Imm(((num(1)? as u64) << 12) & MASK)))
    } else if is(id, RISCV_INS_C_MV) {
        set(reg(0)?, Opnd(r(reg(1)?)))
    } else if any(id, &[RISCV_INS_C_ADD, RISCV_INS_C_SUB, RISCV_INS_C_AND, RISCV_INS_C_OR])
        || is(id, RISCV_INS_C_XOR)
    {
        let (rd, rs) = (reg(0)?, reg(1)?);
        let value = match () {
            _ if is(id, RISCV_INS_C_ADD) => Add(r(rd), r(rs)),
            _ if is(id, RISCV_INS_C_SUB) => Sub(r(rd), r(rs)),
            _ if is(id, RISCV_INS_C_AND) => And(r(rd), r(rs)),
            _ if is(id, RISCV_INS_C_OR) => Or(r(rd), r(rs)),
            _ => Xor(r(rd), r(rs)),
        };
        set(rd, value)
    } else if is(id, RISCV_INS_C_ANDI) {
        let rd = reg(0)?;
        set(rd, And(r(rd), imm(num(1)?)))
    } else if any(id, &[RISCV_INS_C_SLLI, RISCV_INS_C_SRLI]) {
        let rd = reg(0)?;
        let n = u8::try_from(num(1)?).ok().filter(|n| *n < 32)?;
        let value = if is(id, RISCV_INS_C_SLLI) { Shl(r(rd), n) } else { Shr(r(rd), n) };
        set(rd, value)
    } else if any(id, &[RISCV_INS_C_LW, RISCV_INS_C_LWSP]) {
        set(reg(0)?, Load(mem(reg(2)?, num(1)?, 4)))
    } else if any(id, &[RISCV_INS_C_SW, RISCV_INS_C_SWSP]) {
        vec![Effect::Store(mem(reg(2)?, num(1)?, 4), Some(r(reg(0)?)))]
    } else if any(id, &[RISCV_INS_C_JAL, RISCV_INS_C_JALR]) {
        link(d, 1)
    } else if any(id, &[RISCV_INS_C_J, RISCV_INS_C_JR, RISCV_INS_C_EBREAK]) {
        Vec::new()
    } else if any(id, &[RISCV_INS_C_BEQZ, RISCV_INS_C_BNEZ]) {
        let cond = if is(id, RISCV_INS_C_BEQZ) { Cond::Eq } else { Cond::Ne };
        return Some(Sem {
            guard: Some(Guard::Compare(r(reg(0)?), sem::Opnd::Imm(0), cond)),
            ..Sem::none()
        });
    } else {
        // c.srai, floating-point loads and stores: the register written is completed by
        // `lower`; a floating-point store writes memory the frame may hold.
        let stores = [RISCV_INS_C_FSW, RISCV_INS_C_FSWSP, RISCV_INS_C_FSD, RISCV_INS_C_FSDSP];
        if any(id, &stores) {
            let base = reg(2)?;
            let m = mem(base, num(1)?, 8);
            return Some(Sem::of(vec![Effect::Store(m, None)]));
        }
        return None;
    };
    Some(Sem::of(effects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::Decoder;
    use crate::riscv::Riscv;

    fn sem(bytes: &[u8]) -> Sem {
        Riscv::new().expect("capstone").decode(bytes, 0x1000).expect("decodes").sem
    }

    fn sets(s: &Sem) -> Vec<(Reg, Value)> {
        s.effects
            .iter()
            .filter_map(|e| {
                if let Effect::Set { dst, value, .. } = e { Some((*dst, *value)) } else { None }
            })
            .collect()
    }

    #[test]
    fn arithmetic_and_memory() {
        // addi a6, a0, 256
        assert_eq!(
            sets(&sem(&[0x13, 0x08, 0x05, 0x10])),
            [(16, Value::Add(Opnd::Reg(10, 32), Opnd::Imm(256)))]
        );
        // addi a1, zero, 256 (li)
        assert_eq!(
            sets(&sem(&[0x93, 0x05, 0x00, 0x10])),
            [(11, Value::Add(Opnd::Imm(0), Opnd::Imm(256)))]
        );
        // c.li a5, 3
        assert_eq!(sets(&sem(&[0x8d, 0x47])), [(15, Value::Opnd(Opnd::Imm(3)))]);
        // c.lw a5, 112(a0)
        assert_eq!(sets(&sem(&[0x3c, 0x59])), [(15, Value::Load(MemRef::based(10, 112, 4)))]);
        // sw a4, 0(a6)
        assert_eq!(
            sem(&[0x23, 0x20, 0xe8, 0x00]).effects,
            [Effect::Store(MemRef::based(16, 0, 4), Some(Opnd::Reg(14, 32)))]
        );
        // c.swsp ra, 12(sp)
        assert_eq!(
            sem(&[0x06, 0xc6]).effects,
            [Effect::Store(MemRef::based(2, 12, 4), Some(Opnd::Reg(1, 32)))]
        );
        // sll a4, a3, a1: not modelled, a4 unknown
        assert!(matches!(sets(&sem(&[0x33, 0x97, 0xb6, 0x00]))[..], [(14, Value::Unknown(_))]));
        // auipc ra, 2 at 0x1000
        assert_eq!(sets(&sem(&[0x97, 0x20, 0x00, 0x00])), [(1, Value::Opnd(Opnd::Imm(0x3000)))]);
        // sltiu s1, s0, 1024: 1 where s0 < 1024, else 0
        let slt = sem(&[0x93, 0x34, 0x04, 0x40]);
        let one = Effect::Set { dst: 9, bits: 32, value: Value::Opnd(Opnd::Imm(1)) };
        let zero = Effect::Set { dst: 9, bits: 32, value: Value::Opnd(Opnd::Imm(0)) };
        assert_eq!(slt.guard, Some(Guard::Compare(Opnd::Reg(8, 32), Opnd::Imm(1024), Cond::Ult)));
        assert_eq!((slt.effects, slt.otherwise), (vec![one], vec![zero]));
        // c.jalr a3: ra written before the call
        let call = sem(&[0x82, 0x96]);
        assert_eq!(call.effects.last(), Some(&Effect::Call));
        assert_eq!(sets(&call), [(1, Value::Opnd(Opnd::Imm(0x1002)))]);
    }
}
