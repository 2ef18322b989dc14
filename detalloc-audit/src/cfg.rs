//! The control-flow graph of one function, built by recursive descent from its entry: only
//! reachable bytes are decoded, so literal pools and padding are never taken for code.
//!
//! - A block ends at a branch, a return, a trap, an indirect branch, a call that never returns
//!   (followed by a trap such as `ud2`/`udf`, or by the end of the function), or where another
//!   block begins.
//! - A branch to an address outside the function is a tail call. A call or jump through a GOT
//!   slot is resolved through the binary's dynamic relocations.
//! - Thumb `IT` blocks: the instructions an `IT` covers are conditional, so a return or branch
//!   among them (`pophi {r7, pc}`) also falls through, and each gets its `IT` condition as its
//!   guard. A 16-bit encoding that sets the flags outside an `IT` block does not inside one,
//!   so what such an instruction says about the flags is dropped there.
//! - An indirect jump that indexes a table (`jmp [.. + rax * 8]`, `tbb`, or a `jmp rax` whose
//!   block loads through an index) is a jump table: its targets are not resolved. Any other
//!   (`jmp rax`, `bx r3`, `jmp [rip + slot]` through a writable slot) is a tail call through a
//!   pointer.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::elf::{Image, Slot};
use crate::insn::{Decoder, Flow, Insn};
use crate::sem::{Cond, Effect, Guard};

/// What a call or a tail call reaches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Callee {
    /// A function in this binary.
    Direct(u64),
    /// A symbol the dynamic linker binds, or a PLT stub: not in this binary.
    External(String),
    /// A target computed at run time.
    Unknown,
}

/// Where an edge out of a block goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Another block of this function (an index into [`Cfg::blocks`]).
    Block(usize),
    /// The function returns.
    Return,
    /// The function ends in a jump to another function.
    TailCall(Callee),
    /// A jump table: an indirect branch whose successors are not resolved.
    Unknown,
    /// The path stops without returning: a trap, or a call that never returns.
    Stop,
}

/// An edge out of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Succ {
    /// Where it goes.
    pub to: Target,
    /// Whether the block's last instruction branches (costs differ on Cortex-M).
    pub taken: bool,
}

/// A call made inside a block (not a tail call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// Address of the call instruction.
    pub at: u64,
    /// What it calls.
    pub callee: Callee,
    /// The callee never returns here (a trap follows the call).
    pub diverges: bool,
}

/// A basic block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its instructions, in address order.
    pub insns: Vec<Insn>,
    /// Its successors.
    pub succs: Vec<Succ>,
    /// The calls it makes.
    pub calls: Vec<CallSite>,
}

impl Block {
    /// Address of the first instruction.
    pub fn start(&self) -> u64 {
        self.insns[0].addr
    }

    /// Address of the last instruction.
    pub fn last(&self) -> u64 {
        self.insns[self.insns.len() - 1].addr
    }

    /// Address just past the last instruction.
    pub fn end(&self) -> u64 {
        self.insns[self.insns.len() - 1].end()
    }
}

/// The CFG of one function. `blocks[0]` is the entry.
#[derive(Debug, Clone)]
pub struct Cfg {
    /// Entry address.
    pub entry: u64,
    /// End of the function's address range (exclusive).
    pub end: u64,
    /// Basic blocks, entry first, then in address order.
    pub blocks: Vec<Block>,
}

impl Cfg {
    /// Number of edges between blocks.
    pub fn edge_count(&self) -> usize {
        self.blocks
            .iter()
            .flat_map(|b| &b.succs)
            .filter(|s| matches!(s.to, Target::Block(_)))
            .count()
    }
}

/// Resolves a call or jump target that is loaded from memory.
fn resolve_slot(image: &Image, slot: Option<u64>) -> Callee {
    match slot.map(|s| image.slot(s)) {
        Some(Slot::Code(target)) => Callee::Direct(target),
        Some(Slot::External(name)) => Callee::External(name),
        Some(Slot::Unknown) | None => Callee::Unknown,
    }
}

fn resolve_direct(image: &Image, target: u64) -> Callee {
    if image.in_plt(target) {
        Callee::External(format!("PLT stub at {target:#x}"))
    } else {
        Callee::Direct(target)
    }
}

/// Makes `insn`, covered by an `IT` block, conditional on `cond`.
fn in_it_block(insn: &mut Insn, cond: Cond) {
    insn.sem.guard = Some(Guard::Flags(cond));
    let compares = ["cmp", "cmn", "tst", "teq"].iter().any(|m| insn.text.starts_with(m));
    if !compares {
        for e in &mut insn.sem.effects {
            if matches!(e, Effect::Compare(..) | Effect::ZeroTest(..)) {
                *e = Effect::FlagsUnknown;
            }
        }
    }
}

/// Builds the CFG of the function at `entry`, whose code ends at `end`.
pub fn build(image: &Image, decoder: &dyn Decoder, entry: u64, end: u64) -> Result<Cfg, String> {
    let decode = |addr: u64| -> Result<Insn, String> {
        let bytes = image.code_at(addr).ok_or_else(|| format!("no code at {addr:#x}"))?;
        decoder.decode(bytes, addr)
    };
    let in_range = |addr: u64| (entry..end).contains(&addr);

    // Pass 1: decode every reachable instruction, collect block leaders.
    let mut insns: BTreeMap<u64, Insn> = BTreeMap::new();
    let mut leaders: BTreeSet<u64> = BTreeSet::from([entry]);
    let mut diverging: HashSet<u64> = HashSet::new();
    // Indirect branches inside an IT block: they may also fall through.
    let mut cond_indirect: HashSet<u64> = HashSet::new();
    // Instructions resolved with the one before them (`Decoder::pair`): none may be a leader.
    let mut paired: BTreeSet<u64> = BTreeSet::new();
    let mut work = vec![entry];
    while let Some(start) = work.pop() {
        let mut addr = start;
        let mut prev: Option<u64> = None;
        let mut it_left = 0u8;
        let mut it_conds: Vec<Cond> = Vec::new();
        loop {
            if insns.contains_key(&addr) {
                leaders.insert(addr);
                break;
            }
            if !in_range(addr) {
                return Err(format!(
                    "{}: the code at {addr:#x} runs past the function's end",
                    image.describe(entry)
                ));
            }
            let mut insn = decode(addr)?;
            if let Some(first) = prev.and_then(|p| insns.get(&p))
                && let Some(bytes) = image.code_at(addr)
                && decoder.pair(first, &mut insn, bytes)
            {
                paired.insert(addr);
            }
            prev = Some(addr);
            if it_left > 0 {
                it_left -= 1;
                let cond = it_conds.get(it_conds.len() - 1 - usize::from(it_left)).copied();
                in_it_block(&mut insn, cond.unwrap_or(Cond::Other));
                if matches!(insn.flow, Flow::IndirectJump { .. }) {
                    cond_indirect.insert(addr);
                    leaders.insert(insn.end());
                    work.push(insn.end());
                }
                insn.flow = match insn.flow {
                    Flow::Jump { target, .. } => Flow::Jump { target, conditional: true },
                    Flow::Return { .. } => Flow::Return { conditional: true },
                    other => other,
                };
            }
            if insn.it_count > 0 {
                it_left = insn.it_count;
                it_conds = insn.sem.it_block.clone();
                it_conds.resize(usize::from(it_left), Cond::Other);
            }
            let next = insn.end();
            let flow = insn.flow;
            insns.insert(addr, insn);
            match flow {
                Flow::Jump { target, conditional } => {
                    if in_range(target) {
                        leaders.insert(target);
                        work.push(target);
                    }
                    if conditional {
                        leaders.insert(next);
                        work.push(next);
                    }
                    break;
                }
                Flow::Return { conditional: true } => {
                    leaders.insert(next);
                    work.push(next);
                    break;
                }
                Flow::Call { .. } | Flow::IndirectCall { .. } => {
                    // A call followed by a trap (or by the end of the function) never returns.
                    let returns =
                        in_range(next) && decode(next).is_ok_and(|i| i.flow != Flow::Trap);
                    if !returns {
                        diverging.insert(addr);
                        break;
                    }
                }
                Flow::Return { conditional: false } | Flow::IndirectJump { .. } | Flow::Trap => {
                    break;
                }
                Flow::Next | Flow::System => {}
            }
            addr = next;
        }
    }
    for &leader in &leaders {
        if !insns.contains_key(&leader) {
            return Err(format!("a branch lands inside an instruction at {leader:#x}"));
        }
        if paired.contains(&leader) {
            return Err(format!(
                "a branch lands at {leader:#x}, which was resolved with the instruction before it"
            ));
        }
    }

    // A jump through a register that still holds the caller's value (nothing in the function
    // writes it, and it calls nothing) is a return: RISC-V `jr t0` in an outlined function.
    let writes = |r| {
        insns.values().any(|i| {
            i.sem.effects.iter().any(|e| match e {
                Effect::Set { dst, .. } => *dst == r,
                Effect::Call => true,
                _ => false,
            })
        })
    };
    let returns: Vec<u64> = insns
        .values()
        .filter(|i| matches!(i.flow, Flow::IndirectJump { .. }))
        .filter(|i| i.returns_through.is_some_and(|r| !writes(r)))
        .map(|i| i.addr)
        .collect();
    for addr in returns {
        if let Some(insn) = insns.get_mut(&addr) {
            insn.flow = Flow::Return { conditional: false };
        }
    }

    // Pass 2: cut the instructions into blocks.
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Vec<Insn> = Vec::new();
    let cut = |current: &mut Vec<Insn>, blocks: &mut Vec<Block>| {
        if !current.is_empty() {
            blocks.push(Block { insns: std::mem::take(current), succs: vec![], calls: vec![] });
        }
    };
    let mut expected_next = None;
    for (addr, insn) in &insns {
        if leaders.contains(addr) || expected_next != Some(*addr) {
            cut(&mut current, &mut blocks);
        }
        let ends = insn.flow.ends_block() || diverging.contains(addr);
        expected_next = Some(insn.end());
        current.push(insn.clone());
        if ends {
            cut(&mut current, &mut blocks);
            expected_next = None;
        }
    }
    cut(&mut current, &mut blocks);
    // Entry first (it need not be the lowest address when the symbol is odd), then by address.
    blocks.sort_by_key(|b| (b.start() != entry, b.start()));
    let index: BTreeMap<u64, usize> =
        blocks.iter().enumerate().map(|(i, b)| (b.start(), i)).collect();
    let block_of = |addr: u64| -> Result<usize, String> {
        index.get(&addr).copied().ok_or_else(|| format!("no block starts at {addr:#x}"))
    };

    // Pass 3: edges and calls.
    for block in &mut blocks {
        let mut calls = Vec::new();
        for insn in &block.insns {
            let callee = match insn.flow {
                Flow::Call { target } => resolve_direct(image, target),
                Flow::IndirectCall { slot } => resolve_slot(image, slot),
                _ => continue,
            };
            calls.push(CallSite {
                at: insn.addr,
                callee,
                diverges: diverging.contains(&insn.addr),
            });
        }
        let last = block.insns.last().expect("blocks are not empty").clone();
        let fall = |taken| -> Result<Succ, String> {
            Ok(Succ { to: Target::Block(block_of(last.end())?), taken })
        };
        let mut succs = Vec::new();
        match last.flow {
            _ if diverging.contains(&last.addr) => {
                succs.push(Succ { to: Target::Stop, taken: true })
            }
            Flow::Jump { target, conditional } => {
                let to = if in_range(target) {
                    Target::Block(block_of(target)?)
                } else {
                    Target::TailCall(resolve_direct(image, target))
                };
                succs.push(Succ { to, taken: true });
                if conditional {
                    succs.push(fall(false)?);
                }
            }
            Flow::Return { conditional } => {
                succs.push(Succ { to: Target::Return, taken: true });
                if conditional {
                    succs.push(fall(false)?);
                }
            }
            Flow::IndirectJump { slot, table } => {
                let indexed = block.insns.iter().any(|i| i.sem.indexed_read());
                let to = match resolve_slot(image, slot) {
                    Callee::Unknown if table || indexed => Target::Unknown,
                    callee => Target::TailCall(callee),
                };
                succs.push(Succ { to, taken: true });
                if cond_indirect.contains(&last.addr) {
                    succs.push(fall(false)?);
                }
            }
            Flow::Trap => succs.push(Succ { to: Target::Stop, taken: true }),
            Flow::Next | Flow::Call { .. } | Flow::IndirectCall { .. } | Flow::System => {
                succs.push(fall(false)?);
            }
        }
        block.succs = succs;
        block.calls = calls;
    }
    Ok(Cfg { entry, end, blocks })
}
