//! Static WCET audit of compiled detalloc alloc/free paths.
//!
//! `cargo run -p detalloc-audit -- <elf> [--symbol NAME[=BUDGET] ...] [--budget N]
//! [--deny-loops] [--deny-table-reads] [--assume NAME=N ...] [--summary]` reads a linked binary
//! (x86_64, 32-bit ARM/Thumb-2, or RV32: RV32IMAC, compressed instructions included), finds
//! the named functions (by default every `audit_alloc_*` /
//! `audit_free_*` of `examples/audit_targets.rs` and every `fw_alloc*` / `fw_free*` of the
//! firmware's `examples/measure.rs`) and prints, per function: the instruction count of the
//! longest feasible path (and of the longest path when every branch is taken to be
//! independent); the proof that no loop exists (no back edge in the CFG of the function or of
//! any function it calls) or each loop with its header, latch, address range and the cost of
//! one iteration; every call (followed into the callee when it is a direct call into the
//! binary, or a call through a slot the program cannot write; reported as unbounded when it
//! goes through a pointer or leaves the binary); every read of read-only data; every
//! instruction that masks or unmasks interrupts (RISC-V CSR writes to `mstatus`/`mie`, Thumb
//! `cpsid`/`cpsie`/`msr primask`: a critical section's entry and exit, bounded work analysed as
//! any other instruction, and reported); and on Thumb a cycle bound from the Cortex-M3 timing
//! table ([`timing`]). On RV32 the bound is in instructions only ([`riscv`]: no core documents
//! the timing a bound needs).
//!
//! A verdict is "bounded" only when nothing can hide unbounded work: a loop (a `rep`-prefixed
//! string instruction included), a call or tail call through a pointer, a jump table, a call out
//! of the binary, a system instruction (`syscall`, `sysenter`, `int n`, `svc`; RISC-V `ecall`,
//! `ebreak`, `wfi`, `mret`) or recursion each make it
//! **unbounded**, make `--deny-loops` fail (unless the callee is `--assume`d) and fail any
//! `--budget`. A name that designates several functions is an error listing them.
//!
//! # How it works
//! 1. [`elf`]: sections, function symbols (Thumb bit cleared), which memory is constant once
//!    the program runs (non-writable sections and the `PT_GNU_RELRO` segment), and the value of
//!    each word there (its dynamic relocation, or the file's bytes). `call [rip + slot]`
//!    resolves to the slot's value only in constant memory: a slot in `.data` (a `static mut`
//!    hook or table) may be rewritten, so the call is indirect.
//! 2. [`x86`], [`thumb`] and [`riscv`]: decoding, control flow, and each instruction's effects on
//!    registers, flags and memory ([`sem`]), completed soundly for what is not modelled from
//!    iced's and capstone's lists of written registers (x86_64, Thumb) or from the register
//!    the encoding writes (RV32: capstone gives no such list there). RISC-V branches compare
//!    two registers themselves ([`sem::Guard::Compare`]); `auipc rX` + `jalr rd, lo(rX)` is a
//!    direct call or tail call ([`insn::Decoder::pair`]); `jr t0` in a function that never
//!    writes `t0` is the return of a machine-outlined function (called by `jal t0`).
//! 3. [`cfg`](mod@cfg): recursive-descent decoding from the entry, so data in code (Thumb literal
//!    pools, padding) is never decoded; basic blocks; edges for branches, conditional branches,
//!    returns (`ret`; `bx lr`, `pop {.., pc}`, `ldr pc, [sp], #4`, `mov pc, lr`, including
//!    conditional ones inside Thumb `IT` blocks, each given its `IT` condition), tail calls (a
//!    branch out of the function, or an indirect jump that is not a table lookup) and calls that
//!    never return (a trap after the call: Rust's panics).
//! 4. [`analysis`]: back edges by depth-first search, natural loops, the path-insensitive
//!    longest path over the remaining DAG, following direct calls (memoised; recursion is
//!    reported); then the longest *feasible* path: the CFG walked with abstract states
//!    (symbolic register values with the value ranges and comparisons the path's branches
//!    imply, and the frame's stack slots), following direct calls and tail calls into the
//!    callee with the caller's state, taking an edge only when its condition can hold. Reads of
//!    `.rodata*` / `.data.rel.ro*` on feasible paths are collected on the way. The result is a
//!    [`verdict::FnAudit`] per function.
//! 5. [`report`]: Markdown tables.
//!
//! **Jump tables** (an indirect branch through a table lookup: `jmp [.. + rax * 8]`, a `jmp rax`
//! after an indexed load, `tbb`/`tbh`) are reported as unbounded, not resolved: detalloc's
//! dispatch compiles to compare-and-branch chains. Any other indirect jump is a tail call
//! through a pointer.
//!
//! # Disassemblers
//! - **x86_64: `iced-x86`** (pure Rust, actively maintained, no C code, decoder-only features
//!   built). Its `FlowControl` classifies every instruction (conditional/unconditional/
//!   indirect branch, call, indirect call, return, exception), which is exactly the CFG input.
//! - **Thumb-2: `capstone`** (capstone-rs 0.14 with the C library v5.0.6 vendored in
//!   `capstone-sys` and built by the `cc` crate: a C compiler is needed, no system package).
//!   It is the most widely used disassembly engine, its ARM tables are generated from LLVM's,
//!   it decodes the whole ARMv7-M / ARMv7E-M set (DSP and FP included, for
//!   thumbv7em), and reports condition codes and operands (register lists, branch targets) that
//!   the timing table needs. The pure-Rust alternative `yaxpeax-arm` 0.5 decoded all 5 736
//!   instructions of the firmware's `measure` binary with the same lengths as llvm-objdump too,
//!   but its own README states that its Thumb test suite is incomplete, and its latest release
//!   fixed over a dozen Thumb-2 decoding errors; for a tool whose output goes into a safety case
//!   the decoder with the longer record was preferred.
//! - **RV32: `capstone`** too (its RISC-V module, RV32 with the C extension): one C decoder for
//!   both embedded instruction sets, its tables generated from LLVM's like the ARM ones.
//!   Checked against `llvm-objdump -M no-aliases` by a linear sweep of `.text`: the
//!   riscv-heaps fixture (3 395 instructions on riscv32imac, 2 220 on riscv32imc) and the RISC-V
//!   firmware's `measure` binary (15 181 each, 6 356 of them compressed): every instruction,
//!   16- and 32-bit, decoded at the same address with the same length, mnemonic and operands,
//!   up to spelling (capstone prints aliases, `beqz`, `bltz`, `seqz`, `sgtz`, `not`, `neg`,
//!   `mv`, `j`, `csrs`, `csrwi`, where `-M no-aliases` prints the base instruction, and
//!   `jalr rd, rs, imm` for `jalr rd, imm(rs)`; branch offsets relative, targets equal). Its
//!   details are thin on RISC-V, though: an alias drops operands from the detail (`beqz a0,
//!   L` has no `zero`, `not`/`seqz` no immediate), CSR numbers are not given, and there is no
//!   register-access list. So capstone identifies the instruction and gives the compressed forms' operands,
//!   and [`riscv`] reads a 32-bit instruction's operands, its CSR and the register any
//!   instruction writes from the encoding's fixed fields; the last is the lowering's soundness
//!   backstop. Only capstone's ARM and RISC-V modules are built.
//!
//! # Limits
//! The figures are those of the binary given, as linked (not relocatable objects): an
//! instruction count is exact for a path, and the bound is an upper bound over every path that
//! takes no back edge and whose branch conditions can all hold together given what the path
//! computed. What the analysis cannot relate (memory contents other than the frame's stack
//! slots and constant memory, values combined non-linearly) it takes as unknown, so the bound
//! may still belong to a path no input takes; it never leaves out one that some input (or
//! some memory content) can take. Each function's walk visits at most a bounded number of
//! block states (`paths::MAX_WORK`); beyond, the bound is the path-insensitive one and the
//! report says so. Cycle bounds hold only under the stated assumptions
//! ([`timing::ASSUMPTIONS`]). Loops are reported, not bounded: a retry or wait loop's iteration
//! count depends on other threads. A call through a register (x86 `call r15`, Thumb `blx r3`)
//! is not resolved, even when the register was loaded from a constant slot: it is reported as
//! unbounded. `--assume NAME=N` (or [`Auditor::assume`]) replaces a callee the audit should not
//! enter by a stated cost.
//!
//! **Reads of read-only data** (`--deny-table-reads`): a load whose address is in `.rodata*` or
//! `.data.rel.ro*` (x86_64 `rip`-relative or absolute; through a register loaded with such an
//! address by `lea`, a GOT word, a Thumb literal-pool word, `adr` or `movw`/`movt`), and such an
//! address passed to a callee in an argument register or stored to memory. On Thumb a
//! literal-pool load reads `.text`: it is a constant, not a table read; a load through the
//! address it yields, when that address is in `.rodata`, is one. An address computed from a
//! plain integer constant is taken for a number (on Cortex-M, flash addresses and small
//! integers overlap). Jump tables in `.rodata` are table reads.

pub mod analysis;
pub mod cfg;
pub mod elf;
mod graph;
pub mod insn;
mod paths;
mod ranges;
pub mod report;
pub mod riscv;
mod riscv_decoded;
mod riscv_sem;
pub mod sem;
mod symbols;
pub mod thumb;
mod thumb_decoded;
mod thumb_sem;
pub mod timing;
mod values;
pub mod verdict;
pub mod x86;

use std::rc::Rc;

use analysis::Auditor;
use elf::{Arch, Image};
use insn::Decoder;
use verdict::FnAudit;

/// The prefixes of the default entry points (`examples/audit_targets.rs`, firmware
/// `examples/measure.rs`).
pub const DEFAULT_PREFIXES: &[&str] = &["audit_alloc_", "audit_free_", "fw_alloc", "fw_free"];

/// What to check, per function.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// A budget of instructions on the longest path (`None`: no budget).
    pub budget: Option<u64>,
    /// Fail when the function or a callee has a loop, or anything that may hide one.
    pub deny_loops: bool,
    /// Fail when the function or a callee reads read-only data (`.rodata*`, `.data.rel.ro*`):
    /// a configuration table, a jump table, a constant pool ([`verdict::DataRead`]).
    pub deny_table_reads: bool,
}

/// The audit of a binary.
#[derive(Debug)]
pub struct Audit {
    /// The instruction set's name for reports.
    pub arch: String,
    /// Whether cycle bounds are given.
    pub with_cycles: bool,
    /// One entry per requested function, in request order.
    pub functions: Vec<Rc<FnAudit>>,
}

/// The decoder for an image's architecture.
pub fn decoder_for(image: &Image) -> Result<Box<dyn Decoder>, String> {
    Ok(match image.arch {
        Arch::X86_64 => Box::new(x86::X86),
        Arch::Thumb => Box::new(thumb::Thumb::new()?),
        Arch::Riscv32 => Box::new(riscv::Riscv::new()?),
    })
}

/// The default entry points present in `image`, alloc before free per heap.
pub fn default_symbols(image: &Image) -> Vec<String> {
    let mut names: Vec<String> = image
        .functions()
        .map(|f| f.name.clone())
        .filter(|n| DEFAULT_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    // By mode (lean, checked, critical_section, spin, lock_free; the firmware's `fw_alloc` is
    // its checked critical_section heap), alloc before free.
    let modes = ["lean", "checked", "critical_section", "spin", "lock_free"];
    let key = |n: &String| {
        let rank = modes.iter().position(|m| n.ends_with(m)).unwrap_or(modes.len());
        (rank, n.replace("alloc", "").replace("free", ""), n.contains("free"))
    };
    names.sort_by_key(key);
    names
}

/// Audits the functions `names` of the ELF file `bytes`.
pub fn audit(bytes: &[u8], names: &[String]) -> Result<Audit, String> {
    audit_assuming(bytes, names, &[])
}

/// Audits the functions `names`, taking each function of `assumed` to cost the given number of
/// instructions instead of analysing it ([`Auditor::assume`]).
pub fn audit_assuming(
    bytes: &[u8],
    names: &[String],
    assumed: &[(String, u64)],
) -> Result<Audit, String> {
    let image = Image::parse(bytes)?;
    let decoder = decoder_for(&image)?;
    let mut auditor = Auditor::new(&image, decoder.as_ref());
    for (name, insns) in assumed {
        // Every function the name designates is assumed (each instance of a generic one).
        if image.functions_named(name).is_empty() {
            return Err(format!("--assume: no function `{name}` in the binary"));
        }
        auditor.assume(name, *insns);
    }
    let mut functions = Vec::new();
    for name in names {
        let f = image.function_named(name)?;
        functions.push(auditor.function(f.addr)?);
    }
    Ok(Audit { arch: decoder.arch_name(), with_cycles: decoder.has_cycles(), functions })
}

/// The checks a function fails, as sentences (empty: it passes).
///
/// - `deny_loops`: fails on every loop, and on anything that makes the verdict unbounded
///   (a call through a pointer, recursion, a jump table, a call leaving the binary, a system
///   call): what the audit cannot see may loop, so loop freedom is not proven. A callee the
///   user `--assume`s is the user's statement and passes.
/// - `budget`: fails when the function is not bounded (a loop, or any reason above) or its
///   longest path exceeds the budget.
pub fn check(f: &FnAudit, checks: &Checks) -> Vec<String> {
    let mut failures = Vec::new();
    if checks.deny_loops {
        if !f.unbounded.is_empty() {
            failures.push(format!(
                "{}: loop freedom not proven: {}",
                f.name,
                f.unbounded.join("; ")
            ));
        }
        for l in &f.loops {
            failures.push(format!(
                "{}: {} in {} (header {:#x}, latch {:#x})",
                f.name, l.kind, l.function, l.header, l.latch
            ));
        }
    }
    if checks.deny_table_reads {
        for r in &f.data_reads {
            let addr = r.addr.map_or("an address held in a register".into(), |a| format!("{a:#x}"));
            let section = r.section.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            failures.push(format!(
                "{}: read-only data read in {} at {:#x}: {}, {addr}{section}",
                f.name, r.function, r.at, r.what
            ));
        }
    }
    if let Some(budget) = checks.budget {
        match f.bound {
            _ if !f.unbounded.is_empty() => {
                failures.push(format!("{}: unbounded ({})", f.name, f.unbounded.join("; ")))
            }
            _ if !f.loops.is_empty() => failures.push(format!(
                "{}: unbounded ({} loop(s): no bound on their iterations)",
                f.name,
                f.loops.len()
            )),
            None => failures.push(format!("{}: no path returns", f.name)),
            Some(b) if b.insns > budget => failures.push(format!(
                "{}: longest path {} instructions exceeds the budget of {budget}",
                f.name, b.insns
            )),
            Some(_) => {}
        }
    }
    failures
}
