//! Thumb-2 (ARMv7-M) decoding with capstone in Thumb + M-class mode, and the mapping of each
//! instruction to its control flow and its row of the Cortex-M3 timing table.

use capstone::arch::arm::{ArmCC, ArmInsn, ArmOperandType, ArmReg, ArmShift};
use capstone::arch::{ArchOperand, BuildsCapstone, BuildsCapstoneExtraMode};
use capstone::{AccessType, Capstone, arch};

use crate::insn::{Decoder, Flow, Insn};
use crate::sem::{Abi, bit};
use crate::thumb_decoded::{Decoded, Op, Shift};
use crate::thumb_sem;
use crate::timing::{self, Class};

/// The Thumb-2 decoder.
pub struct Thumb {
    cs: Capstone,
}

impl std::fmt::Debug for Thumb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Thumb")
    }
}

impl Thumb {
    /// A Thumb-2, M-profile decoder with instruction details on.
    pub fn new() -> Result<Self, String> {
        let cs = Capstone::new()
            .arm()
            .mode(arch::arm::ArchMode::Thumb)
            .extra_mode([arch::arm::ArchExtraMode::MClass].into_iter())
            .detail(true)
            .build()
            .map_err(|e| format!("capstone: {e}"))?;
        Ok(Thumb { cs })
    }
}

fn is(id: u32, insn: ArmInsn) -> bool {
    id == insn as u32
}

const PC: u32 = ArmReg::ARM_REG_PC;
const LR: u32 = ArmReg::ARM_REG_LR;
const SP: u32 = ArmReg::ARM_REG_SP;

impl Decoder for Thumb {
    fn decode(&self, bytes: &[u8], addr: u64) -> Result<Insn, String> {
        let window = &bytes[..bytes.len().min(4)];
        let insns = self.cs.disasm_count(window, addr, 1).map_err(|e| format!("{addr:#x}: {e}"))?;
        let insn = insns.iter().next().ok_or_else(|| format!("undecodable Thumb at {addr:#x}"))?;
        let detail = self.cs.insn_detail(insn).map_err(|e| format!("{addr:#x}: {e}"))?;
        let arch_detail = detail.arch_detail();
        let arm = arch_detail.arm().ok_or("capstone returned no ARM detail")?;
        let mut ops = Vec::new();
        let mut shifts = Vec::new();
        let mut writes = Vec::new();
        for op in arch_detail.operands() {
            // Only ARM operands come from an ARM decoder.
            #[allow(irrefutable_let_patterns)]
            let ArchOperand::ArmOperand(op) = op else { continue };
            let (o, shift) = match op.op_type {
                ArmOperandType::Reg(r) => {
                    let shift = match op.shift {
                        ArmShift::Invalid => Shift::No,
                        ArmShift::Lsl(n) => Shift::Lsl(n),
                        ArmShift::Lsr(n) => Shift::Lsr(n),
                        _ => Shift::Other,
                    };
                    (Op::Reg(u32::from(r.0)), shift)
                }
                ArmOperandType::Imm(i) => (Op::Imm(i64::from(i)), Shift::No),
                ArmOperandType::Mem(m) => (
                    Op::Mem {
                        base: u32::from(m.base().0),
                        index: u32::from(m.index().0),
                        negative: m.scale() < 0 || op.subtracted,
                        disp: m.disp(),
                        // The index's shift is the operand's (`[r1, r2, lsl #2]`); any other
                        // kind of shift is not followed.
                        lshift: match op.shift {
                            ArmShift::Invalid => 0,
                            ArmShift::Lsl(n) => n,
                            _ => u32::MAX,
                        },
                    },
                    Shift::No,
                ),
                _ => (Op::Other, Shift::No),
            };
            writes.push(matches!(op.access, Some(AccessType::WriteOnly | AccessType::ReadWrite)));
            ops.push(o);
            shifts.push(shift);
        }
        let conditional = !matches!(arm.cc(), ArmCC::ARM_CC_AL | ArmCC::ARM_CC_INVALID);
        let mnemonic = insn.mnemonic().unwrap_or("?").to_string();
        let text = match insn.op_str() {
            Some(s) if !s.is_empty() => format!("{mnemonic} {s}"),
            _ => mnemonic.clone(),
        };
        let id = insn.id().0;
        let (flow, class) = classify(id, &ops, conditional, addr);
        let it_count = if is(id, ArmInsn::ARM_INS_IT) {
            // `it`, `itt`, `ite`, `ittee`, ...: one conditional instruction per letter after `i`.
            u8::try_from(mnemonic.len() - 1).unwrap_or(0)
        } else {
            0
        };
        let len = u8::try_from(insn.len()).map_err(|_| "instruction longer than 255 bytes")?;
        let ids = |regs: &[capstone::RegId]| regs.iter().map(|r| u32::from(r.0)).collect();
        let sem = thumb_sem::lower(&Decoded {
            id,
            addr,
            size: len,
            mnemonic: &mnemonic,
            ops: &ops,
            shifts: &shifts,
            op_writes: &writes,
            cc: arm.cc(),
            update_flags: arm.update_flags(),
            writeback: arm.writeback(),
            regs_write: ids(detail.regs_write()),
            regs_read: ids(detail.regs_read()),
            flow,
        });
        let masks_interrupts = is(id, ArmInsn::ARM_INS_CPS)
            || (is(id, ArmInsn::ARM_INS_MSR)
                && ["primask", "basepri", "faultmask"].iter().any(|r| text.contains(r)));
        Ok(Insn {
            addr,
            len,
            text,
            flow,
            cycles: timing::cycles(class),
            it_count,
            sem,
            masks_interrupts,
            returns_through: None,
        })
    }

    fn arch_name(&self) -> String {
        "thumbv7m (Cortex-M3 timing)".into()
    }

    fn has_cycles(&self) -> bool {
        true
    }

    fn abi(&self) -> Abi {
        // AAPCS: r4-r11 and sp are preserved by a callee.
        let callee_saved = (4..=11).map(bit).fold(bit(13), |a, b| a | b);
        let args = bit(0) | bit(1) | bit(2) | bit(3);
        Abi { sp: 13, fp: 7, callee_saved, args, returns: bit(0) | bit(1), bits: 32 }
    }
}

/// Control flow and timing class of one instruction.
fn classify(id: u32, ops: &[Op], conditional: bool, addr: u64) -> (Flow, Class) {
    use ArmInsn::*;
    let imm = ops.iter().find_map(|op| match op {
        Op::Imm(i) => Some(*i as u64 & 0xffff_ffff),
        _ => None,
    });
    let regs = || ops.iter().filter(|op| matches!(op, Op::Reg(_))).count() as u32;
    let has_pc = ops.contains(&Op::Reg(PC));
    let first_reg = ops.first().copied();
    let any = |list: &[ArmInsn]| list.iter().any(|i| is(id, *i));

    if any(&[ARM_INS_B]) {
        let target = imm.unwrap_or(addr);
        let class = if conditional { Class::CondBranch } else { Class::Branch };
        return (Flow::Jump { target, conditional }, class);
    }
    if any(&[ARM_INS_CBZ, ARM_INS_CBNZ]) {
        return (Flow::Jump { target: imm.unwrap_or(addr), conditional: true }, Class::CondBranch);
    }
    if any(&[ARM_INS_BL]) {
        return (Flow::Call { target: imm.unwrap_or(addr) }, Class::Branch);
    }
    if any(&[ARM_INS_BLX]) {
        return match imm {
            Some(target) => (Flow::Call { target }, Class::Branch),
            None => (Flow::IndirectCall { slot: None }, Class::Branch),
        };
    }
    if any(&[ARM_INS_BX]) {
        let flow = if first_reg == Some(Op::Reg(LR)) {
            Flow::Return { conditional }
        } else {
            Flow::IndirectJump { slot: None, table: false }
        };
        return (flow, if conditional { Class::CondBranch } else { Class::Branch });
    }
    if any(&[ARM_INS_TBB, ARM_INS_TBH]) {
        return (Flow::IndirectJump { slot: None, table: true }, Class::TableBranch);
    }
    if any(&[ARM_INS_POP]) {
        let flow = if has_pc { Flow::Return { conditional } } else { Flow::Next };
        return (flow, Class::Multiple { n: regs(), pc: has_pc });
    }
    if any(&[ARM_INS_PUSH, ARM_INS_STM, ARM_INS_STMDB]) {
        // The base register of STM is not transferred.
        let n = if is(id, ARM_INS_PUSH) { regs() } else { regs().saturating_sub(1) };
        return (Flow::Next, Class::Multiple { n, pc: false });
    }
    if any(&[ARM_INS_LDM, ARM_INS_LDMDB]) {
        let n = regs().saturating_sub(1);
        let flow = match (has_pc, first_reg) {
            (false, _) => Flow::Next,
            (true, Some(Op::Reg(SP))) => Flow::Return { conditional },
            (true, _) => Flow::IndirectJump { slot: None, table: false },
        };
        return (flow, Class::Multiple { n, pc: has_pc });
    }
    let loads = [
        ARM_INS_LDR,
        ARM_INS_LDRB,
        ARM_INS_LDRH,
        ARM_INS_LDRSB,
        ARM_INS_LDRSH,
        ARM_INS_LDRT,
        ARM_INS_LDRBT,
        ARM_INS_LDRHT,
        ARM_INS_LDRSBT,
        ARM_INS_LDRSHT,
        ARM_INS_LDREX,
        ARM_INS_LDREXB,
        ARM_INS_LDREXH,
    ];
    if any(&loads) {
        let base = ops.iter().find_map(|op| match op {
            Op::Mem { base, .. } => Some(*base),
            _ => None,
        });
        let indexed = ops.iter().any(|op| matches!(op, Op::Mem { index, .. } if *index != 0));
        if first_reg == Some(Op::Reg(PC)) {
            let flow = if base == Some(SP) {
                Flow::Return { conditional }
            } else {
                Flow::IndirectJump { slot: None, table: indexed }
            };
            return (flow, Class::LoadPc);
        }
        let class = if base == Some(PC) { Class::LoadLiteral } else { Class::LoadStore };
        return (Flow::Next, class);
    }
    let stores = [
        ARM_INS_STR,
        ARM_INS_STRB,
        ARM_INS_STRH,
        ARM_INS_STRT,
        ARM_INS_STRBT,
        ARM_INS_STRHT,
        ARM_INS_STREX,
        ARM_INS_STREXB,
        ARM_INS_STREXH,
    ];
    if any(&stores) {
        return (Flow::Next, Class::LoadStore);
    }
    if any(&[ARM_INS_LDRD, ARM_INS_STRD, ARM_INS_LDREXD, ARM_INS_STREXD]) {
        return (Flow::Next, Class::Double);
    }
    let alu = [
        ARM_INS_MOV,
        ARM_INS_MOVS,
        ARM_INS_MOVW,
        ARM_INS_MOVT,
        ARM_INS_ADD,
        ARM_INS_ADDW,
        ARM_INS_ADC,
        ARM_INS_ADR,
        ARM_INS_SUB,
        ARM_INS_SUBS,
        ARM_INS_SUBW,
        ARM_INS_SBC,
        ARM_INS_RSB,
        ARM_INS_NEG,
        ARM_INS_CMP,
        ARM_INS_CMN,
        ARM_INS_AND,
        ARM_INS_EOR,
        ARM_INS_ORR,
        ARM_INS_ORN,
        ARM_INS_BIC,
        ARM_INS_MVN,
        ARM_INS_TST,
        ARM_INS_TEQ,
        ARM_INS_LSL,
        ARM_INS_LSR,
        ARM_INS_ASR,
        ARM_INS_ROR,
        ARM_INS_RRX,
        ARM_INS_SSAT,
        ARM_INS_USAT,
        ARM_INS_CLZ,
        ARM_INS_RBIT,
        ARM_INS_REV,
        ARM_INS_REV16,
        ARM_INS_REVSH,
        ARM_INS_SXTB,
        ARM_INS_SXTH,
        ARM_INS_UXTB,
        ARM_INS_UXTH,
        ARM_INS_BFC,
        ARM_INS_BFI,
        ARM_INS_SBFX,
        ARM_INS_UBFX,
        ARM_INS_NOP,
        ARM_INS_SEV,
        ARM_INS_YIELD,
        ARM_INS_HINT,
        ARM_INS_PLD,
        ARM_INS_PLI,
    ];
    if any(&alu) {
        if first_reg == Some(Op::Reg(PC)) {
            let returns = is(id, ARM_INS_MOV) && ops.get(1) == Some(&Op::Reg(LR));
            // `mov pc, rm` / `add pc, rm`: a computed jump, as a jump table's.
            let flow = if returns {
                Flow::Return { conditional }
            } else {
                Flow::IndirectJump { slot: None, table: true }
            };
            return (flow, Class::AluPc);
        }
        return (Flow::Next, Class::Alu);
    }
    let class = match () {
        _ if is(id, ARM_INS_MUL) => Class::Mul,
        _ if any(&[ARM_INS_MLA, ARM_INS_MLS]) => Class::MulAcc,
        _ if any(&[ARM_INS_SMULL, ARM_INS_UMULL]) => Class::LongMul,
        _ if any(&[ARM_INS_SMLAL, ARM_INS_UMLAL]) => Class::LongMulAcc,
        _ if any(&[ARM_INS_SDIV, ARM_INS_UDIV]) => Class::Div,
        _ if is(id, ARM_INS_CLREX) => Class::Clrex,
        _ if is(id, ARM_INS_IT) => Class::It,
        _ if any(&[ARM_INS_CPS, ARM_INS_MRS, ARM_INS_MSR]) => Class::StateChange,
        _ if is(id, ARM_INS_ISB) => Class::Isb,
        _ if any(&[ARM_INS_DMB, ARM_INS_DSB]) => Class::Barrier,
        _ if any(&[ARM_INS_WFI, ARM_INS_WFE]) => Class::Unbounded,
        _ if any(&[ARM_INS_UDF, ARM_INS_BKPT, ARM_INS_TRAP]) => {
            return (Flow::Trap, Class::Unbounded);
        }
        _ if is(id, ARM_INS_SVC) => return (Flow::System, Class::Unbounded),
        _ => Class::NotInTable,
    };
    (Flow::Next, class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], addr: u64) -> Insn {
        Thumb::new().expect("capstone").decode(bytes, addr).expect("decodes")
    }

    #[test]
    fn returns_and_branches() {
        // pop {r7, pc}
        let pop = decode(&[0x80, 0xbd], 0x100);
        assert_eq!(pop.flow, Flow::Return { conditional: false });
        assert_eq!(pop.cycles.map(|c| c.taken), Some(1 + 2 + 1 + 3));
        // bx lr
        assert_eq!(decode(&[0x70, 0x47], 0x100).flow, Flow::Return { conditional: false });
        // beq .+4 (0xd000: target = pc + 4)
        let beq = decode(&[0x00, 0xd0], 0x100);
        assert_eq!(beq.flow, Flow::Jump { target: 0x104, conditional: true });
        // bl .+4 (f000 f800)
        assert_eq!(decode(&[0x00, 0xf0, 0x00, 0xf8], 0x100).flow, Flow::Call { target: 0x104 });
        // ittt ne
        assert_eq!(decode(&[0x1e, 0xbf], 0x100).it_count, 3);
    }
}
