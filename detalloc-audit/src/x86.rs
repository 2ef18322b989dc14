//! x86_64 decoding with `iced-x86`: its `FlowControl` classifies every instruction (branch,
//! conditional branch, indirect branch, call, indirect call, return, exception, interrupt), and
//! its instruction info lists every register and memory operand an instruction reads or
//! writes, implicit ones included, which is what keeps the lowering to [`Sem`] sound: an
//! instruction not modelled below writes "unknown" to everything iced says it writes.
//! No cycle table: x86 timing depends on the microarchitecture, so only instruction counts
//! are reported.
//!
//! A `rep`-prefixed string instruction (`rep stosb`, `rep movsq`, `repe cmpsb`, ...) is a loop:
//! it is given as a conditional branch to itself, so the CFG has a back edge there and one
//! iteration costs one instruction (as valgrind counts it).

use iced_x86::{
    ConditionCode, FlowControl, Formatter, Instruction, InstructionInfoFactory, IntelFormatter,
    Mnemonic, OpAccess, OpKind, Register,
};

use crate::insn::{Decoder, Flow, Insn};
use crate::sem::{Abi, Cond, Effect, Guard, MemRef, Opnd, Reg, RegSet, Sem, Value, bit};

/// The x86_64 decoder.
#[derive(Debug, Default)]
pub struct X86;

const RSP: Reg = 4;
const RBP: Reg = 5;

impl Decoder for X86 {
    fn decode(&self, bytes: &[u8], addr: u64) -> Result<Insn, String> {
        let mut decoder =
            iced_x86::Decoder::with_ip(64, bytes, addr, iced_x86::DecoderOptions::NONE);
        let instr = decoder.decode();
        if instr.is_invalid() {
            return Err(format!("invalid x86_64 instruction at {addr:#x}"));
        }
        let slot = || instr.is_ip_rel_memory_operand().then(|| instr.ip_rel_memory_address());
        let indexed = (0..instr.op_count()).any(|i| instr.op_kind(i) == OpKind::Memory)
            && instr.memory_index() != Register::None;
        let flow = match instr.flow_control() {
            FlowControl::Next | FlowControl::XbeginXabortXend => Flow::Next,
            FlowControl::UnconditionalBranch => {
                Flow::Jump { target: instr.near_branch_target(), conditional: false }
            }
            FlowControl::ConditionalBranch => {
                Flow::Jump { target: instr.near_branch_target(), conditional: true }
            }
            FlowControl::IndirectBranch => Flow::IndirectJump { slot: slot(), table: indexed },
            FlowControl::Call => Flow::Call { target: instr.near_branch_target() },
            FlowControl::IndirectCall => Flow::IndirectCall { slot: slot() },
            FlowControl::Return => Flow::Return { conditional: false },
            FlowControl::Exception => Flow::Trap,
            FlowControl::Interrupt => match instr.mnemonic() {
                Mnemonic::Int3 | Mnemonic::Int1 => Flow::Trap,
                _ => Flow::System,
            },
        };
        let flow = match instr.mnemonic() {
            Mnemonic::Hlt => Flow::Trap,
            Mnemonic::Syscall | Mnemonic::Sysenter => Flow::System,
            // One iteration, then again while the count (and condition) says so.
            _ if is_rep_string(&instr) => Flow::Jump { target: addr, conditional: true },
            _ => flow,
        };
        let mut text = String::new();
        IntelFormatter::new().format(&instr, &mut text);
        let len = u8::try_from(instr.len()).map_err(|_| "instruction longer than 255 bytes")?;
        let sem = lower(&instr);
        Ok(Insn {
            addr,
            len,
            text,
            flow,
            cycles: None,
            it_count: 0,
            sem,
            masks_interrupts: false,
            returns_through: None,
        })
    }

    fn arch_name(&self) -> String {
        "x86_64".into()
    }

    fn has_cycles(&self) -> bool {
        false
    }

    fn abi(&self) -> Abi {
        // System V: rbx, rsp, rbp, r12-r15 are preserved by a callee.
        let callee_saved = bit(3) | bit(RSP) | bit(RBP) | bit(12) | bit(13) | bit(14) | bit(15);
        // Arguments: rdi, rsi, rdx, rcx, r8, r9.
        let args = bit(7) | bit(6) | bit(2) | bit(1) | bit(8) | bit(9);
        // rax and rdx return results.
        Abi { sp: RSP, fp: RBP, callee_saved, args, returns: bit(0) | bit(2), bits: 64 }
    }
}

/// A string instruction (its operands are `[rsi]`/`[rdi]`) with a `rep`/`repe`/`repne` prefix.
fn is_rep_string(instr: &Instruction) -> bool {
    let string = (0..instr.op_count()).any(|i| {
        matches!(
            instr.op_kind(i),
            OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemoryESDI
                | OpKind::MemoryESEDI
                | OpKind::MemoryESRDI
        )
    });
    string && (instr.has_rep_prefix() || instr.has_repne_prefix())
}

/// A general-purpose register as a number and a width; `None` for anything else and for the
/// high-byte registers (`ah`..`bh`), which the analysis does not follow.
fn gpr(r: Register) -> Option<(Reg, u8)> {
    if !r.is_gpr() || matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) {
        return None;
    }
    Some((r.full_register().number() as Reg, (r.size() * 8) as u8))
}

/// The explicit memory operand of `instr`.
fn mem(instr: &Instruction) -> MemRef {
    let bytes = instr.memory_size().size() as u8;
    let opaque = matches!(instr.memory_segment(), Register::FS | Register::GS);
    let base = instr.memory_base();
    let index = instr.memory_index();
    let disp = instr.memory_displacement64();
    if base == Register::RIP && !opaque {
        return MemRef::at(disp, bytes);
    }
    let as_reg = |r: Register| gpr(r).filter(|&(_, bits)| bits == 64).map(|(n, _)| n);
    let base_reg = as_reg(base);
    let index_reg = as_reg(index).map(|n| (n, instr.memory_index_scale() as u8));
    let opaque = opaque
        || (base != Register::None && base_reg.is_none())
        || (index != Register::None && index_reg.is_none());
    let fixed = (base == Register::None && index == Register::None && !opaque).then_some(disp);
    MemRef { base: base_reg, index: index_reg, disp, fixed, opaque, bytes }
}

/// Operand `i` as a register or immediate; `None` for memory and other kinds.
fn opnd(instr: &Instruction, i: u32) -> Option<Opnd> {
    match instr.op_kind(i) {
        OpKind::Register => gpr(instr.op_register(i)).map(|(r, bits)| Opnd::Reg(r, bits)),
        OpKind::Immediate8
        | OpKind::Immediate16
        | OpKind::Immediate32
        | OpKind::Immediate64
        | OpKind::Immediate8to16
        | OpKind::Immediate8to32
        | OpKind::Immediate8to64
        | OpKind::Immediate32to64 => Some(Opnd::Imm(instr.immediate(i))),
        _ => None,
    }
}

fn cond(cc: ConditionCode) -> Cond {
    match cc {
        ConditionCode::e => Cond::Eq,
        ConditionCode::ne => Cond::Ne,
        ConditionCode::b => Cond::Ult,
        ConditionCode::ae => Cond::Uge,
        ConditionCode::be => Cond::Ule,
        ConditionCode::a => Cond::Ugt,
        _ => Cond::Other,
    }
}

/// The lowering of one instruction, completed with whatever iced says it writes that the
/// modelled effects do not cover.
fn lower(instr: &Instruction) -> Sem {
    let mut sem = model(instr).unwrap_or_default();
    let info = InstructionInfoFactory::new().info(instr).clone();
    let reads: RegSet = info
        .used_registers()
        .iter()
        .filter(|u| matches!(u.access(), OpAccess::Read | OpAccess::CondRead | OpAccess::ReadWrite))
        .filter_map(|u| gpr(u.register().full_register()).map(|(r, _)| bit(r)))
        .fold(0, |a, b| a | b);
    let written = |effects: &[Effect]| -> RegSet {
        effects
            .iter()
            .map(|e| if let Effect::Set { dst, .. } = e { bit(*dst) } else { 0 })
            .fold(0, |a, b| a | b)
    };
    // Registers the model writes (a predicated instruction's on either outcome: the model is
    // trusted for the registers it names); iced's other written registers become unknown.
    let covered = written(&sem.effects) | written(&sem.otherwise);
    let mut extra = Vec::new();
    for used in info.used_registers() {
        let writes = matches!(
            used.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        let full = used.register().full_register();
        let Some(n) = full.is_gpr64().then(|| full.number() as Reg) else { continue };
        if writes && covered & bit(n) == 0 {
            extra.push(Effect::Set { dst: n, bits: 64, value: Value::Unknown(reads) });
        }
    }
    let modelled = !sem.effects.is_empty() || sem.guard.is_some();
    if !modelled {
        for used in info.used_memory() {
            let m = MemRef {
                base: gpr(used.base()).map(|(r, _)| r),
                index: gpr(used.index()).map(|(r, _)| (r, used.scale() as u8)),
                disp: used.displacement(),
                fixed: None,
                opaque: matches!(used.segment(), Register::FS | Register::GS),
                bytes: used.memory_size().size() as u8,
            };
            let m = match (used.base(), used.index(), m.opaque) {
                (Register::None, Register::None, false) => MemRef::at(used.displacement(), m.bytes),
                _ => m,
            };
            match used.access() {
                OpAccess::Read | OpAccess::CondRead => extra.push(Effect::Read(m)),
                OpAccess::NoMemAccess | OpAccess::None => {}
                _ => {
                    extra.push(Effect::Read(m));
                    extra.push(Effect::Store(m, None));
                }
            }
        }
    }
    let flags_modelled = sem.effects.iter().any(|e| {
        matches!(
            e,
            Effect::Compare(..) | Effect::ZeroTest(..) | Effect::FlagsUnknown | Effect::Call
        )
    });
    if instr.rflags_modified() != 0 && !flags_modelled {
        extra.push(Effect::FlagsUnknown);
    }
    if sem.guard.is_some() {
        // A predicated instruction: what iced adds may happen either way.
        sem.otherwise.extend(extra.iter().cloned());
    }
    sem.effects.extend(extra);
    sem
}

/// The instructions modelled precisely; `None` for the rest.
fn model(instr: &Instruction) -> Option<Sem> {
    use Effect::*;
    let kind = |i| instr.op_kind(i);
    let is_mem = |i| kind(i) == OpKind::Memory;
    let dst =
        || opnd(instr, 0).and_then(|o| if let Opnd::Reg(r, b) = o { Some((r, b)) } else { None });
    let rsp = Opnd::Reg(RSP, 64);
    let sem = match instr.mnemonic() {
        Mnemonic::Mov if is_mem(0) => Sem::of(vec![Store(mem(instr), opnd(instr, 1))]),
        Mnemonic::Mov => {
            let (r, bits) = dst()?;
            let value =
                if is_mem(1) { Value::Load(mem(instr)) } else { Value::Opnd(opnd(instr, 1)?) };
            Sem::of(vec![Set { dst: r, bits, value }])
        }
        Mnemonic::Movzx => {
            let (r, bits) = dst()?;
            let value =
                if is_mem(1) { Value::Load(mem(instr)) } else { Value::Opnd(opnd(instr, 1)?) };
            Sem::of(vec![Set { dst: r, bits, value }])
        }
        Mnemonic::Lea => {
            let (r, bits) = dst()?;
            Sem::of(vec![Set {
                dst: r,
                bits,
                value: Value::Addr(MemRef { bytes: 0, ..mem(instr) }),
            }])
        }
        Mnemonic::Add | Mnemonic::Sub | Mnemonic::And | Mnemonic::Or | Mnemonic::Xor => {
            if is_mem(0) {
                let m = mem(instr);
                return Some(Sem::of(vec![Read(m), Store(m, None), FlagsUnknown]));
            }
            let (r, bits) = dst()?;
            let a = Opnd::Reg(r, bits);
            if is_mem(1) {
                let unknown = Value::Unknown(bit(r));
                return Some(Sem::of(vec![
                    Read(mem(instr)),
                    Set { dst: r, bits, value: unknown },
                    ZeroTest(Value::Opnd(a), bits),
                ]));
            }
            let b = opnd(instr, 1)?;
            if instr.mnemonic() == Mnemonic::Xor && b == a {
                return Some(Sem::of(vec![
                    Set { dst: r, bits, value: Value::Opnd(Opnd::Imm(0)) },
                    ZeroTest(Value::Opnd(Opnd::Imm(0)), bits),
                ]));
            }
            let value = match instr.mnemonic() {
                Mnemonic::Add => Value::Add(a, b),
                Mnemonic::Sub => Value::Sub(a, b),
                Mnemonic::And => Value::And(a, b),
                Mnemonic::Or => Value::Or(a, b),
                _ => Value::Xor(a, b),
            };
            let mut effects = Vec::new();
            if instr.mnemonic() == Mnemonic::Sub {
                effects.push(Compare(Value::Opnd(a), Value::Opnd(b), bits));
            }
            effects.push(Set { dst: r, bits, value });
            if instr.mnemonic() != Mnemonic::Sub {
                effects.push(ZeroTest(Value::Opnd(a), bits));
            }
            Sem::of(effects)
        }
        Mnemonic::Cmp | Mnemonic::Test => {
            let bits = (instr.op0_register().size() * 8) as u8;
            let side = |i| {
                if is_mem(i) {
                    Some(Value::Load(mem(instr)))
                } else {
                    opnd(instr, i).map(Value::Opnd)
                }
            };
            let (a, b) = (side(0)?, side(1)?);
            let bits = if bits == 0 { instr.memory_size().size() as u8 * 8 } else { bits };
            if instr.mnemonic() == Mnemonic::Cmp {
                Sem::of(vec![Compare(a, b, bits)])
            } else if a == b {
                Sem::of(vec![ZeroTest(a, bits)])
            } else {
                match (a, b) {
                    (Value::Opnd(x), Value::Opnd(y)) => {
                        Sem::of(vec![ZeroTest(Value::And(x, y), bits)])
                    }
                    _ => Sem::of(vec![Read(mem(instr)), FlagsUnknown]),
                }
            }
        }
        Mnemonic::Inc | Mnemonic::Dec if !is_mem(0) => {
            let (r, bits) = dst()?;
            let a = Opnd::Reg(r, bits);
            let value = if instr.mnemonic() == Mnemonic::Inc {
                Value::Add(a, Opnd::Imm(1))
            } else {
                Value::Sub(a, Opnd::Imm(1))
            };
            // The carry flag is left as it was: only "zero" is known afterwards.
            Sem::of(vec![Set { dst: r, bits, value }, ZeroTest(Value::Opnd(a), bits)])
        }
        Mnemonic::Shl | Mnemonic::Shr if !is_mem(0) && kind(1) == OpKind::Immediate8 => {
            let (r, bits) = dst()?;
            let n = instr.immediate8() & (bits - 1);
            let a = Opnd::Reg(r, bits);
            let value =
                if instr.mnemonic() == Mnemonic::Shl { Value::Shl(a, n) } else { Value::Shr(a, n) };
            Sem::of(vec![Set { dst: r, bits, value }, FlagsUnknown])
        }
        Mnemonic::Push if !is_mem(0) => Sem::of(vec![
            Set { dst: RSP, bits: 64, value: Value::Sub(rsp, Opnd::Imm(8)) },
            Store(MemRef::based(RSP, 0, 8), opnd(instr, 0)),
        ]),
        Mnemonic::Pop if !is_mem(0) => {
            let (r, _) = dst()?;
            Sem::of(vec![
                Set { dst: r, bits: 64, value: Value::Load(MemRef::based(RSP, 0, 8)) },
                Set { dst: RSP, bits: 64, value: Value::Add(rsp, Opnd::Imm(8)) },
            ])
        }
        Mnemonic::Leave => Sem::of(vec![
            Set { dst: RSP, bits: 64, value: Value::Opnd(Opnd::Reg(RBP, 64)) },
            Set { dst: RBP, bits: 64, value: Value::Load(MemRef::based(RSP, 0, 8)) },
            Set { dst: RSP, bits: 64, value: Value::Add(rsp, Opnd::Imm(8)) },
        ]),
        Mnemonic::Call => {
            // The return address is pushed before the callee runs (a callee the analysis
            // follows pops it with its `ret`); a callee it does not follow is a `Call`, after
            // which the stack pointer is back.
            let mut effects = Vec::new();
            if is_mem(0) {
                effects.push(Read(mem(instr)));
            }
            effects.push(Set { dst: RSP, bits: 64, value: Value::Sub(rsp, Opnd::Imm(8)) });
            effects.push(Store(MemRef::based(RSP, 0, 8), Some(Opnd::Imm(instr.next_ip()))));
            effects.push(Call);
            effects.push(Set { dst: RSP, bits: 64, value: Value::Add(rsp, Opnd::Imm(8)) });
            Sem::of(effects)
        }
        Mnemonic::Ret => {
            let pop = 8 + if instr.op_count() == 1 { instr.immediate(0) } else { 0 };
            Sem::of(vec![Set { dst: RSP, bits: 64, value: Value::Add(rsp, Opnd::Imm(pop)) }])
        }
        Mnemonic::Jmp if is_mem(0) => Sem::of(vec![Read(mem(instr))]),
        Mnemonic::Jmp | Mnemonic::Nop | Mnemonic::Endbr64 | Mnemonic::Pause => Sem::none(),
        _ if instr.flow_control() == FlowControl::ConditionalBranch => {
            let c = cond(instr.condition_code());
            let guard = (instr.condition_code() != ConditionCode::None).then_some(Guard::Flags(c));
            Sem { guard, ..Sem::none() }
        }
        m if is_cmov(m) => {
            let (r, bits) = dst()?;
            let value =
                if is_mem(1) { Value::Load(mem(instr)) } else { Value::Opnd(opnd(instr, 1)?) };
            let mut otherwise = Vec::new();
            if is_mem(1) {
                otherwise.push(Read(mem(instr)));
            }
            if bits == 32 {
                // A 32-bit cmov zero-extends its destination even when it does not move.
                otherwise.push(Set { dst: r, bits, value: Value::Opnd(Opnd::Reg(r, 32)) });
            }
            Sem {
                effects: vec![Set { dst: r, bits, value }],
                guard: Some(Guard::Flags(cond(instr.condition_code()))),
                otherwise,
                it_block: Vec::new(),
            }
        }
        m if is_setcc(m) && !is_mem(0) => {
            let (r, bits) = dst()?;
            let set = |v| vec![Set { dst: r, bits, value: Value::Opnd(Opnd::Imm(v)) }];
            Sem {
                effects: set(1),
                guard: Some(Guard::Flags(cond(instr.condition_code()))),
                otherwise: set(0),
                it_block: Vec::new(),
            }
        }
        _ => return None,
    };
    Some(sem)
}

fn is_cmov(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Cmova
            | Cmovae
            | Cmovb
            | Cmovbe
            | Cmove
            | Cmovne
            | Cmovg
            | Cmovge
            | Cmovl
            | Cmovle
            | Cmovo
            | Cmovno
            | Cmovp
            | Cmovnp
            | Cmovs
            | Cmovns
    )
}

fn is_setcc(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Seta | Setae
            | Setb
            | Setbe
            | Sete
            | Setne
            | Setg
            | Setge
            | Setl
            | Setle
            | Seto
            | Setno
            | Setp
            | Setnp
            | Sets
            | Setns
    )
}
