//! Static WCET audit of compiled detalloc alloc/free paths.
//!
//! `cargo run -p detalloc-audit -- <elf> [--symbol NAME[=BUDGET] ...] [--budget N] [--deny-loops]`
//! reads a linked binary (x86_64 or 32-bit ARM/Thumb-2), finds the named functions (by
//! default every `audit_alloc_*` / `audit_free_*` of `examples/audit_targets.rs` and every
//! `fw_alloc*` / `fw_free*` of the firmware's `examples/measure.rs`) and prints, per function:
//! the instruction count of the longest path; the proof that no loop exists (no back edge in
//! the CFG of the function or of any function it calls) or each loop with its header, latch,
//! address range and the cost of one iteration; every call (followed into the callee when it
//! is a direct call into the binary, reported as unbounded when it is indirect or leaves the
//! binary); and on Thumb a cycle bound from the Cortex-M3 timing table ([`timing`]).
//!
//! # How it works
//! 1. [`elf`]: sections, function symbols (Thumb bit cleared) and the GOT slots named by
//!    dynamic relocations (`call [rip + slot]` in a PIE resolves to the function the slot's
//!    `R_X86_64_RELATIVE` relocation names).
//! 2. [`cfg`](mod@cfg): recursive-descent decoding from the entry, so data in code (Thumb literal pools,
//!    padding) is never decoded; basic blocks; edges for branches, conditional branches,
//!    returns (`ret`; `bx lr`, `pop {.., pc}`, `ldr pc, [sp], #4`, `mov pc, lr`, including
//!    conditional ones inside Thumb `IT` blocks), tail calls (a branch out of the function) and
//!    calls that never return (a trap after the call: Rust's panics).
//! 3. [`analysis`]: back edges by depth-first search, natural loops, and the longest path over
//!    the remaining DAG, following direct calls (memoised; recursion is reported).
//! 4. [`report`]: Markdown tables.
//!
//! **Jump tables** (an indirect branch: `jmp rax`, `tbb`/`tbh`) are reported as
//! "indirect branch: unbounded", not resolved: detalloc's dispatch compiles to compare-and-branch
//! chains, and resolving a table soundly needs a value-range analysis of the index.
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
//!   the decoder with the longer record was preferred. Only capstone's ARM module is built.
//!
//! # Limits
//! The figures are those of the binary given, as linked (not relocatable objects): an
//! instruction count is exact for a path, and the longest path is an upper bound over all
//! paths that take no back edge. The analysis is path-insensitive, so that bound may belong to
//! a path no input takes (two branches testing the same value). Cycle bounds hold only under
//! the stated assumptions ([`timing::ASSUMPTIONS`]). Loops are reported, not bounded: a retry or
//! wait loop's iteration count depends on other threads. A call through a register (x86
//! `call r15`, Thumb `blx r3`) is not resolved even when the register was loaded from a GOT
//! slot or a literal pool: it is reported as unbounded. `--assume NAME=N` (or
//! [`Auditor::assume`]) replaces a callee the audit should not enter by a stated cost.

pub mod analysis;
pub mod cfg;
pub mod elf;
mod graph;
pub mod insn;
mod paths;
mod ranges;
pub mod report;
pub mod sem;
mod symbols;
pub mod thumb;
mod thumb_sem;
pub mod timing;
mod values;
pub mod x86;

use std::rc::Rc;

use analysis::{Auditor, FnAudit};
use elf::{Arch, Image};
use insn::Decoder;

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
    /// a configuration table, a jump table, a constant pool ([`analysis::DataRead`]).
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
