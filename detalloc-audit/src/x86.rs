//! x86_64 decoding with `iced-x86`: its `FlowControl` classifies every instruction (branch,
//! conditional branch, indirect branch, call, indirect call, return, exception, interrupt).
//! No cycle table: x86 timing depends on the microarchitecture, so only instruction counts
//! are reported.

use iced_x86::{FlowControl, Formatter, IntelFormatter, Mnemonic};

use crate::insn::{Decoder, Flow, Insn};

/// The x86_64 decoder.
#[derive(Debug, Default)]
pub struct X86;

impl Decoder for X86 {
    fn decode(&self, bytes: &[u8], addr: u64) -> Result<Insn, String> {
        let mut decoder =
            iced_x86::Decoder::with_ip(64, bytes, addr, iced_x86::DecoderOptions::NONE);
        let instr = decoder.decode();
        if instr.is_invalid() {
            return Err(format!("invalid x86_64 instruction at {addr:#x}"));
        }
        let slot = || instr.is_ip_rel_memory_operand().then(|| instr.ip_rel_memory_address());
        let flow = match instr.flow_control() {
            FlowControl::Next | FlowControl::XbeginXabortXend => Flow::Next,
            FlowControl::UnconditionalBranch => {
                Flow::Jump { target: instr.near_branch_target(), conditional: false }
            }
            FlowControl::ConditionalBranch => {
                Flow::Jump { target: instr.near_branch_target(), conditional: true }
            }
            FlowControl::IndirectBranch => Flow::IndirectJump { slot: slot() },
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
            _ => flow,
        };
        let mut text = String::new();
        IntelFormatter::new().format(&instr, &mut text);
        let len = u8::try_from(instr.len()).map_err(|_| "instruction longer than 255 bytes")?;
        Ok(Insn { addr, len, text, flow, cycles: None, it_count: 0 })
    }

    fn arch_name(&self) -> String {
        "x86_64".into()
    }

    fn has_cycles(&self) -> bool {
        false
    }
}
