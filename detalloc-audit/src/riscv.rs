//! RV32IMAC decoding, compressed instructions included, with capstone's RISC-V module (RV32 +
//! C), and the mapping of each instruction to its control flow.
//!
//! capstone decodes the instruction (its identity, length, text and, for the compressed forms,
//! its operands). Three things it leaves out are read from the encoding itself, whose fields
//! sit at fixed places (`Fields`): the operands of a 32-bit instruction (capstone drops some
//! when it prints an alias: `beqz a0, L` loses `zero`, `not`/`seqz` their immediate, `csrs` its
//! CSR), the CSR number, and which register an instruction writes (capstone 5 gives no
//! register-access lists for RISC-V). The last is the soundness backstop of the lowering
//! (`written`): whatever the lowering does not model, the register the encoding writes
//! becomes unknown.
//!
//! **No cycle figures: instructions only.** RISC-V leaves timing to each core. The best
//! documented candidate, the SiFive E31 (the FE310's core), has a manual that gives its
//! pipeline's latencies, but the core predicts branches dynamically (branch history and target
//! buffers, a return-address stack) and fetches through an instruction cache from memories the
//! SoC chooses, so the cost of a branch or a fetch depends on state and wait states the core's
//! manual leaves to the chip; and a table for the E31 would not hold for the other RV32 parts
//! (the GD32VF103's Bumblebee, the ESP32-C3), which are other cores. A cycle figure would rest
//! on numbers no document gives for the part at hand (the Cortex-M3's rests on its TRM's Table
//! 3-1, [`crate::timing`]), and QEMU, on which the bound is checked, counts instructions, not
//! cycles. So on RV32 the report has no cycle column and says so in its title.

use capstone::Capstone;
use capstone::arch::riscv::{ArchExtraMode, ArchMode, RiscVInsn, RiscVOperand};
use capstone::arch::{ArchOperand, BuildsCapstone, BuildsCapstoneExtraMode};

use crate::insn::{Decoder, Flow, Insn};
use crate::riscv_decoded::{self, Decoded, Fields, Op, any, is};
use crate::riscv_sem;
use crate::sem::{Abi, Effect, Opnd, Value, bit};

/// The RV32 decoder.
pub struct Riscv {
    cs: Capstone,
}

impl std::fmt::Debug for Riscv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Riscv")
    }
}

impl Riscv {
    /// An RV32GC decoder (the compressed extension on) with instruction details on.
    pub fn new() -> Result<Self, String> {
        let cs = Capstone::new()
            .riscv()
            .mode(ArchMode::RiscV32)
            .extra_mode([ArchExtraMode::RiscVC].into_iter())
            .detail(true)
            .build()
            .map_err(|e| format!("capstone: {e}"))?;
        Ok(Riscv { cs })
    }
}

/// The `SYSTEM` opcode (`ecall`, `ebreak`, `wfi`, `mret`, the CSR instructions).
const SYSTEM: u32 = 0x73;

/// The CSRs whose write enables or disables interrupts: `mstatus` (MIE, MPIE), `mie`, and their
/// supervisor views `sstatus` (SIE), `sie`.
const INTERRUPT_CSRS: [u32; 4] = [0x300, 0x304, 0x100, 0x104];

/// Whether the instruction (`raw`, 32 bits) writes a CSR that enables or disables interrupts:
/// `csrrw`/`csrrwi` always write it, `csrrs`/`csrrc` (and their immediate forms) unless their
/// source is `x0` / 0 (then they only read it).
pub(crate) fn masks_interrupts(raw: u32, len: u8) -> bool {
    let f = Fields(raw);
    if len != 4 || f.opcode() != SYSTEM || !INTERRUPT_CSRS.contains(&f.csr()) {
        return false;
    }
    match f.funct3() {
        1 | 5 => true,
        2 | 3 | 6 | 7 => f.rs1() != 0,
        _ => false,
    }
}

/// `t0` (`x5`): the machine outliner's link register.
const T0: u8 = 5;

/// `jr t0` (`jalr zero, 0(t0)` or `c.jr t0`): the return of an outlined function, which LLVM's
/// machine outliner calls by `jal t0, OUTLINED_FUNCTION_n` (at opt-level "z").
fn outliner_return(id: u32, raw: u32, len: u8) -> bool {
    let f = Fields(raw);
    match len {
        4 => is(id, RiscVInsn::RISCV_INS_JALR) && f.rd() == 0 && f.rs1() == T0 && f.i_imm() == 0,
        _ => is(id, RiscVInsn::RISCV_INS_C_JR) && (raw >> 7) & 31 == u32::from(T0),
    }
}

/// The encoding's length: 4 bytes when its low two bits are `11`, else 2 (RV32GC has no
/// longer instruction).
fn encoded_len(bytes: &[u8]) -> Option<u8> {
    let lo = *bytes.first()?;
    Some(if lo & 3 == 3 { 4 } else { 2 })
}

impl Decoder for Riscv {
    fn decode(&self, bytes: &[u8], addr: u64) -> Result<Insn, String> {
        let len = encoded_len(bytes).ok_or_else(|| format!("no code at {addr:#x}"))?;
        let window = bytes.get(..usize::from(len)).ok_or_else(|| format!("{addr:#x}: cut off"))?;
        let mut word = [0u8; 4];
        word[..window.len()].copy_from_slice(window);
        let raw = u32::from_le_bytes(word);
        // `c.unimp` (all zeros) and `unimp` (`csrrw x0, cycle, x0`): the trap `unreachable`
        // compiles to. capstone refuses the first.
        if (len == 2 && raw == 0) || (len == 4 && raw == 0xc000_1073) {
            let text = "unimp".to_string();
            let sem = crate::sem::Sem::none();
            return Ok(Insn {
                addr,
                len,
                text,
                flow: Flow::Trap,
                cycles: None,
                it_count: 0,
                sem,
                masks_interrupts: false,
                returns_through: None,
            });
        }
        let insns = self.cs.disasm_count(window, addr, 1).map_err(|e| format!("{addr:#x}: {e}"))?;
        let insn = insns.iter().next().ok_or_else(|| format!("undecodable RISC-V at {addr:#x}"))?;
        if insn.len() != usize::from(len) {
            return Err(format!(
                "{addr:#x}: capstone decoded {} bytes where the encoding says {len}",
                insn.len()
            ));
        }
        let detail = self.cs.insn_detail(insn).map_err(|e| format!("{addr:#x}: {e}"))?;
        let arch_detail = detail.arch_detail();
        let mut ops = Vec::new();
        for op in arch_detail.operands() {
            // Only RISC-V operands come from a RISC-V decoder.
            #[allow(irrefutable_let_patterns)]
            let ArchOperand::RiscVOperand(op) = op else { continue };
            ops.push(match op {
                RiscVOperand::Reg(r) => {
                    riscv_decoded::reg(u32::from(r.0)).map_or(Op::Other, Op::Reg)
                }
                RiscVOperand::Imm(i) => Op::Imm(i),
                RiscVOperand::Mem(m) => match riscv_decoded::reg(u32::from(m.base().0)) {
                    Some(base) => Op::Mem { base, disp: m.disp() },
                    None => Op::Other,
                },
                RiscVOperand::Invalid => Op::Other,
            });
        }
        let mnemonic = insn.mnemonic().unwrap_or("?").to_string();
        let text = match insn.op_str() {
            Some(s) if !s.is_empty() => format!("{mnemonic} {s}"),
            _ => mnemonic,
        };
        let id = insn.id().0;
        let flow = classify(id, raw, len, &ops, addr);
        let sem = riscv_sem::lower(&Decoded { id, addr, len, raw, ops: &ops, flow });
        let masks_interrupts = masks_interrupts(raw, len);
        let returns_through = outliner_return(id, raw, len).then_some(T0);
        Ok(Insn {
            addr,
            len,
            text,
            flow,
            cycles: None,
            it_count: 0,
            sem,
            masks_interrupts,
            returns_through,
        })
    }

    fn arch_name(&self) -> String {
        "riscv32 (instructions only, no cycle table)".into()
    }

    fn has_cycles(&self) -> bool {
        false
    }

    fn abi(&self) -> Abi {
        // RISC-V psABI: sp, s0-s1 (x8, x9) and s2-s11 (x18-x27) are preserved by a callee;
        // a0-a7 (x10-x17) pass arguments. `gp`/`tp` are not allocated by the compiler, but
        // nothing here relies on them: they count as clobbered.
        let saved = [2u8, 8, 9].into_iter().chain(18..=27);
        let callee_saved = saved.map(bit).fold(0, |a, b| a | b);
        let args = (10..=17).map(bit).fold(0, |a, b| a | b);
        Abi { sp: 2, fp: 8, callee_saved, args, returns: bit(10) | bit(11), bits: 32 }
    }

    fn pair(&self, first: &Insn, second: &mut Insn, bytes: &[u8]) -> bool {
        // `auipc rX, hi` (its value is a constant: the lowering computed it) ...
        let Some(Effect::Set { dst, value: Value::Opnd(Opnd::Imm(base)), .. }) =
            first.sem.effects.first()
        else {
            return false;
        };
        if first.len != 4 || !first.text.starts_with("auipc") || bytes.len() < 4 {
            return false;
        }
        // ... then `jalr rd, lo(rX)`.
        let f = Fields(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        if second.len != 4 || f.opcode() != 0x67 || f.funct3() != 0 || f.rs1() != *dst {
            return false;
        }
        let target = base.wrapping_add(f.i_imm() as u64) & 0xffff_fffe;
        second.flow = match second.flow {
            Flow::IndirectCall { .. } => Flow::Call { target },
            Flow::IndirectJump { .. } => Flow::Jump { target, conditional: false },
            _ => return false,
        };
        true
    }
}

/// The control flow of one instruction.
fn classify(id: u32, raw: u32, len: u8, ops: &[Op], addr: u64) -> Flow {
    use RiscVInsn::*;
    // A branch's or jump's offset is its last immediate operand (capstone gives it relative).
    let target = || {
        let off = ops.iter().rev().find_map(|o| if let Op::Imm(i) = o { Some(*i) } else { None });
        addr.wrapping_add(off.unwrap_or(0) as u64) & 0xffff_ffff
    };
    let f = Fields(raw);
    if is(id, RISCV_INS_JAL) {
        return match f.rd() {
            0 => Flow::Jump { target: target(), conditional: false },
            _ => Flow::Call { target: target() },
        };
    }
    if is(id, RISCV_INS_C_J) {
        return Flow::Jump { target: target(), conditional: false };
    }
    if is(id, RISCV_INS_C_JAL) {
        return Flow::Call { target: target() };
    }
    if is(id, RISCV_INS_JALR) && len == 4 {
        return match (f.rd(), f.rs1(), f.i_imm()) {
            (0, 1, 0) => Flow::Return { conditional: false },
            (0, _, _) => Flow::IndirectJump { slot: None, table: false },
            _ => Flow::IndirectCall { slot: None },
        };
    }
    if is(id, RISCV_INS_C_JR) {
        return match (raw >> 7) & 31 {
            1 => Flow::Return { conditional: false },
            _ => Flow::IndirectJump { slot: None, table: false },
        };
    }
    if is(id, RISCV_INS_C_JALR) {
        return Flow::IndirectCall { slot: None };
    }
    let branches = [
        RISCV_INS_BEQ,
        RISCV_INS_BNE,
        RISCV_INS_BLT,
        RISCV_INS_BGE,
        RISCV_INS_BLTU,
        RISCV_INS_BGEU,
        RISCV_INS_C_BEQZ,
        RISCV_INS_C_BNEZ,
    ];
    if any(id, &branches) {
        return Flow::Jump { target: target(), conditional: true };
    }
    // Traps into the environment or a debugger, a wait for an interrupt, a return from a trap
    // handler: not followed.
    let system = [
        RISCV_INS_ECALL,
        RISCV_INS_EBREAK,
        RISCV_INS_C_EBREAK,
        RISCV_INS_WFI,
        RISCV_INS_MRET,
        RISCV_INS_SRET,
        RISCV_INS_URET,
    ];
    if any(id, &system) {
        return Flow::System;
    }
    Flow::Next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::riscv_decoded::written;
    use crate::sem::{Cond, Guard};

    fn decode(bytes: &[u8], addr: u64) -> Insn {
        Riscv::new().expect("capstone").decode(bytes, addr).expect("decodes")
    }

    #[test]
    fn returns_calls_and_branches() {
        // c.jr ra (ret)
        assert_eq!(decode(&[0x82, 0x80], 0x100).flow, Flow::Return { conditional: false });
        // jalr zero, 0(ra) (ret)
        assert_eq!(
            decode(&[0x67, 0x80, 0x00, 0x00], 0x100).flow,
            Flow::Return { conditional: false }
        );
        // c.jr a5: a jump through a register
        assert_eq!(
            decode(&[0x82, 0x87], 0x100).flow,
            Flow::IndirectJump { slot: None, table: false }
        );
        // c.jalr a3
        assert_eq!(decode(&[0x82, 0x96], 0x100).flow, Flow::IndirectCall { slot: None });
        // jal ra, .+8
        assert_eq!(decode(&[0xef, 0x00, 0x80, 0x00], 0x100).flow, Flow::Call { target: 0x108 });
        // c.j .-2
        assert_eq!(
            decode(&[0xfd, 0xbf], 0x100).flow,
            Flow::Jump { target: 0xfe, conditional: false }
        );
        // bltu a2, a3, .+6 (0x00d66363)
        let b = decode(&[0x63, 0x63, 0xd6, 0x00], 0x100);
        assert_eq!(b.flow, Flow::Jump { target: 0x106, conditional: true });
        assert_eq!(
            b.sem.guard,
            Some(Guard::Compare(Opnd::Reg(12, 32), Opnd::Reg(13, 32), Cond::Ult))
        );
        // beqz a2, .+0x130 (beq a2, zero): the alias's dropped `zero` is read from the encoding
        let b = decode(&[0x63, 0x08, 0x06, 0x12], 0x100);
        assert_eq!(b.flow, Flow::Jump { target: 0x230, conditional: true });
        assert_eq!(b.sem.guard, Some(Guard::Compare(Opnd::Reg(12, 32), Opnd::Imm(0), Cond::Eq)));
        // c.bnez a4, .+0xfc
        let b = decode(&[0x75, 0xef], 0x100);
        assert_eq!(b.flow, Flow::Jump { target: 0x1fc, conditional: true });
        assert_eq!(b.sem.guard, Some(Guard::Compare(Opnd::Reg(14, 32), Opnd::Imm(0), Cond::Ne)));
    }

    #[test]
    fn system_instructions_and_masking() {
        // ecall, ebreak, c.ebreak, wfi
        for bytes in
            [&[0x73, 0, 0, 0][..], &[0x73, 0, 0x10, 0], &[0x02, 0x90], &[0x73, 0, 0x50, 0x10]]
        {
            assert_eq!(decode(bytes, 0x100).flow, Flow::System, "{bytes:x?}");
        }
        // csrrci a2, mstatus, 8: masks; csrs mstatus, a0 (csrrs zero, mstatus, a0): restores
        let clear = decode(&[0x73, 0x76, 0x04, 0x30], 0x100);
        assert!(clear.masks_interrupts && clear.flow == Flow::Next, "{clear:?}");
        assert!(clear.sem.effects.iter().any(|e| matches!(e, Effect::Set { dst: 12, .. })));
        assert!(decode(&[0x73, 0x20, 0x05, 0x30], 0x100).masks_interrupts);
        // csrr a0, mstatus (csrrs a0, mstatus, zero) reads only; csrw mie, a0 writes
        assert!(!decode(&[0x73, 0x25, 0x00, 0x30], 0x100).masks_interrupts);
        assert!(decode(&[0x73, 0x10, 0x45, 0x30], 0x100).masks_interrupts);
        // csrw mscratch, a0: another CSR
        assert!(!decode(&[0x73, 0x10, 0x05, 0x34], 0x100).masks_interrupts);
        // c.unimp: a trap
        assert_eq!(decode(&[0, 0], 0x100).flow, Flow::Trap);
    }

    #[test]
    fn written_registers_from_the_encoding() {
        // sw a4, 0(a6); bltu; fence: none
        assert_eq!(written(0x00e8_2023, 4), 0);
        assert_eq!(written(0x00d6_6363, 4), 0);
        assert_eq!(written(0x0230_000f, 4), 0);
        // amoadd.w a1, a2, (a1): a1
        assert_eq!(written(0x00c5_a5af, 4), bit(11));
        // c.lw a5, 112(a0): a5; c.swsp ra, 12(sp): none; c.jalr a3: ra; c.mv a3, a2: a3
        assert_eq!(written(0x593c, 2), bit(15));
        assert_eq!(written(0xc606, 2), 0);
        assert_eq!(written(0x9682, 2), bit(1));
        assert_eq!(written(0x86b2, 2), bit(13));
        // c.or a4, a5 (the c.sub group): a4
        assert_eq!(written(0x8f5d, 2), bit(14));
    }

    #[test]
    fn auipc_jalr_is_a_direct_call() {
        let rv = Riscv::new().expect("capstone");
        // auipc ra, 2; jalr ra, -1060(ra) at 0x116e8
        let bytes = [0x97, 0x20, 0x00, 0x00, 0xe7, 0x80, 0xc0, 0xbd];
        let auipc = rv.decode(&bytes, 0x116e8).expect("auipc");
        let mut jalr = rv.decode(&bytes[4..], 0x116ec).expect("jalr");
        assert_eq!(jalr.flow, Flow::IndirectCall { slot: None });
        assert!(rv.pair(&auipc, &mut jalr, &bytes[4..]));
        assert_eq!(jalr.flow, Flow::Call { target: 0x116e8 + 0x2000 - 1060 });
        // auipc t1, 0; jalr zero, 1508(t1): a tail call
        let bytes = [0x17, 0x03, 0x00, 0x00, 0x67, 0x00, 0x43, 0x5e];
        let auipc = rv.decode(&bytes, 0x1000).expect("auipc");
        let mut jr = rv.decode(&bytes[4..], 0x1004).expect("jalr");
        assert!(rv.pair(&auipc, &mut jr, &bytes[4..]));
        assert_eq!(jr.flow, Flow::Jump { target: 0x1000 + 1508, conditional: false });
    }
}
