//! The longest *feasible* path: the CFG walked in topological order (back edges removed), each
//! block entered with the abstract states ([`State`]) of the paths reaching it, each edge
//! followed only when its branch condition can hold in that state. Direct calls and tail calls
//! are followed *into* the callee with the caller's state, and the callee's states at its
//! returns continue in the caller, so a value the caller tested and the callee re-tests (the
//! layout's size class, an offset's range, a result flag stored through a pointer) is the same
//! value on both sides.
//!
//! This is what correlates branch outcomes: a shared exit that re-tests a result the path
//! already decided (`xor ecx, ecx; jmp tail` ... `tail: test ecx, ecx; jne ok`), a bounds check
//! of an offset the dispatch already bounded, a flag set by `setcc` or `cmov` and tested later,
//! `max(size, align)` computed again in an out-of-line free. Paths are never dropped for any
//! other reason, so the result is still an upper bound over every execution: it only leaves
//! out paths that no input (and no memory content) can take.
//!
//! At each block's entry the registers no path from there reads before replacing them are
//! forgotten ([`live_in`]: a carry computed and stored, a scratch register), so states reaching
//! a block with the same facts are merged (keeping the larger cost); when more
//! than [`MAX_STATES`] differ, they are joined into one ([`State::join`]: what they agree on),
//! which loses precision but never a path. Calls nest at most [`MAX_DEPTH`] deep (deeper, a
//! callee counts its own bound, as a call not followed does). If the whole walk exceeds
//! [`MAX_WORK`] block visits, it gives up and the caller keeps the path-insensitive bound.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::cfg::{Callee, Cfg, Target};
use crate::elf::Image;
use crate::graph::block_cost;
use crate::insn::{Flow, Insn};
use crate::sem::{Abi, Effect, Guard, Opnd, REGS, RegSet, Value, bit};
use crate::values::{Ctx, DataRead, State, Symbols};
use crate::verdict::{Cost, Exit};

/// The most distinct states kept at a block before they are joined.
pub(crate) const MAX_STATES: usize = 64;
/// The most (block, state) visits of one walk, callees included.
pub(crate) const MAX_WORK: usize = 200_000;
/// The deepest nesting of followed calls.
pub(crate) const MAX_DEPTH: usize = 12;

/// What the walk does at a call or tail call.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// Walks the callee (at this address) with the caller's state; its bound is what a call
    /// too deep to follow counts.
    Follow(u64, Option<Cost>),
    /// Does not follow it: it costs `cost` (`None`: it never returns), and its exits (for the
    /// report of a tail call) are `exits`.
    Opaque {
        /// The cost of the call.
        cost: Option<Cost>,
        /// The callee's exits, costed from its entry.
        exits: Vec<Exit>,
    },
}

/// One function as the walk needs it.
#[derive(Debug)]
pub(crate) struct FnData {
    /// Display name.
    pub(crate) name: String,
    /// Entry address.
    pub(crate) addr: u64,
    /// Its CFG.
    pub(crate) cfg: Cfg,
    /// Back edges `(latch, header)`.
    pub(crate) back: HashSet<(usize, usize)>,
    /// A post-order of the blocks.
    pub(crate) order: Vec<usize>,
    /// What each call instruction (by address) does.
    pub(crate) calls: HashMap<u64, Plan>,
    /// What each block's tail call does.
    pub(crate) tails: HashMap<usize, Plan>,
    /// The registers live at each block's entry ([`live_in`]).
    pub(crate) live: Vec<RegSet>,
}

/// The result of the walk.
#[derive(Debug)]
pub(crate) struct Feasible {
    /// The longest feasible path to a return (or tail call), `None` when none returns.
    pub(crate) bound: Option<Cost>,
    /// Its blocks (indices in the walked function), entry first.
    pub(crate) path: Vec<usize>,
    /// The longest feasible path to each exit.
    pub(crate) exits: Vec<Exit>,
    /// Edges of the walked function found infeasible in every state that reached them.
    pub(crate) infeasible: usize,
    /// Branch outcomes excluded in some state (an edge not followed from one block entry),
    /// in the walked function and the callees followed.
    pub(crate) pruned: usize,
    /// Reads of read-only data on feasible paths, callees included.
    pub(crate) reads: Vec<DataRead>,
}

/// An entry of a block: (block, index among its entries).
type Link = (usize, usize);

/// A state and the longest cost of the paths it stands for.
struct Item {
    state: State,
    cost: Cost,
}

/// A way out of a walked function.
struct Out {
    exit: Exit,
    item: Item,
    /// A return: its state is exact. Otherwise (a jump table, a tail call not followed) the
    /// code that returns was not seen.
    returns: bool,
    link: Option<Link>,
}

/// Block entries and edges of the top-level function, for its path and infeasible edges.
#[derive(Default)]
struct Top {
    done: Vec<Vec<(Cost, Option<Link>)>>,
    infeasible: HashSet<(usize, usize)>,
    feasible: HashSet<(usize, usize)>,
}

struct Overflow;

/// Walks functions.
pub(crate) struct Walker<'a> {
    image: &'a Image,
    abi: Abi,
    has_cycles: bool,
    fns: &'a HashMap<u64, Rc<FnData>>,
    syms: Symbols,
    reads: Vec<DataRead>,
    work: usize,
    /// The functions being walked, outermost first.
    stack: Vec<u64>,
    /// The current walk's frame ([`Ctx::frame`]) and the last one handed out.
    frame: u32,
    frames: u32,
    /// Branch outcomes excluded so far.
    pruned: usize,
}

impl<'a> Walker<'a> {
    /// A walker over the functions `fns` (every function a walk may follow must be there).
    pub(crate) fn new(
        image: &'a Image,
        abi: Abi,
        has_cycles: bool,
        fns: &'a HashMap<u64, Rc<FnData>>,
    ) -> Self {
        Walker {
            image,
            abi,
            has_cycles,
            fns,
            syms: Symbols::default(),
            reads: Vec::new(),
            work: 0,
            stack: Vec::new(),
            frame: 0,
            frames: 0,
            pruned: 0,
        }
    }

    fn ctx(&mut self) -> Ctx<'_> {
        let sp0 = State::sp_symbol(&mut self.syms, self.abi);
        let function = self.stack.last().copied().unwrap_or(0);
        Ctx {
            image: self.image,
            abi: self.abi,
            syms: &mut self.syms,
            sp0,
            frame: self.frame,
            function,
            reads: &mut self.reads,
        }
    }

    /// The longest feasible path of `f` from its entry; `None` when the walk is too large.
    pub(crate) fn run(mut self, f: &FnData) -> Option<Feasible> {
        let entry = State::entry(&mut self.ctx());
        let zero = Cost { insns: 0, cycles: Some(0) };
        let mut top = Top::default();
        let outs = self.walk(f, vec![Item { state: entry, cost: zero }], Some(&mut top)).ok()?;
        let bound = outs.iter().map(|o| o.exit.cost).reduce(Cost::max);
        let path = match outs.iter().max_by_key(|o| o.exit.cost.insns).and_then(|o| o.link) {
            Some((b, i)) => {
                let mut path = vec![b];
                let mut at = top.done[b].get(i).and_then(|(_, p)| *p);
                while let Some((pb, pi)) = at {
                    path.push(pb);
                    at = top.done[pb].get(pi).and_then(|(_, p)| *p);
                }
                path.reverse();
                path
            }
            None => vec![0],
        };
        let mut exits: Vec<Exit> = Vec::new();
        for o in outs {
            let e = o.exit;
            match exits.iter_mut().find(|m| m.function == e.function && m.at == e.at) {
                Some(m) => m.cost = m.cost.max(e.cost),
                None => exits.push(e),
            }
        }
        exits.sort_by_key(|e| (e.function != f.name, e.at));
        let mut reads = self.reads;
        reads.sort_by_key(|r| (r.at, r.addr));
        reads.dedup();
        let infeasible = top.infeasible.difference(&top.feasible).count();
        Some(Feasible { bound, path, exits, infeasible, pruned: self.pruned, reads })
    }

    /// Walks `f` from the states `entries` (at its entry) to its exits.
    fn walk(
        &mut self,
        f: &FnData,
        entries: Vec<Item>,
        mut top: Option<&mut Top>,
    ) -> Result<Vec<Out>, Overflow> {
        let cfg = &f.cfg;
        self.stack.push(f.addr);
        let caller_frame = self.frame;
        self.frames += 1;
        self.frame = self.frames;
        let mut incoming: Vec<Vec<(Item, Option<Link>)>> =
            (0..cfg.blocks.len()).map(|_| Vec::new()).collect();
        incoming[0] = entries.into_iter().map(|i| (i, None)).collect();
        if let Some(t) = top.as_deref_mut() {
            t.done = vec![Vec::new(); cfg.blocks.len()];
        }
        let mut outs = Vec::new();
        for &b in f.order.iter().rev() {
            let entries = self.merge(std::mem::take(&mut incoming[b]), b, f.live[b]);
            if let Some(t) = top.as_deref_mut() {
                t.done[b] = entries.iter().map(|(i, l)| (i.cost, *l)).collect();
            }
            for (i, (entry, _)) in entries.into_iter().enumerate() {
                self.work += 1;
                if self.work > MAX_WORK {
                    return Err(Overflow);
                }
                self.block(f, b, i, entry, &mut incoming, &mut outs, top.as_deref_mut())?;
            }
        }
        self.stack.pop();
        self.frame = caller_frame;
        Ok(outs)
    }

    /// One entry of block `b`: its instructions (calls followed), then its edges.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        f: &FnData,
        b: usize,
        i: usize,
        entry: Item,
        incoming: &mut [Vec<(Item, Option<Link>)>],
        outs: &mut Vec<Out>,
        mut top: Option<&mut Top>,
    ) -> Result<(), Overflow> {
        let block = &f.cfg.blocks[b];
        let (body, last) = block.insns.split_at(block.insns.len() - 1);
        let last = &last[0];
        let branches = matches!(
            last.flow,
            Flow::Jump { conditional: true, .. } | Flow::Return { conditional: true }
        ) || (matches!(last.flow, Flow::IndirectJump { .. })
            && block.succs.len() > 1);
        let mut items = vec![entry];
        for insn in body.iter().chain((!branches).then_some(last)) {
            items = match f.calls.get(&insn.addr) {
                Some(plan)
                    if matches!(insn.flow, Flow::Call { .. } | Flow::IndirectCall { .. }) =>
                {
                    self.call(items, insn, plan)?
                }
                _ => self.step(items, insn, b),
            };
        }
        let link = Some((b, i));
        let at = block.last();
        let mut tail: Vec<Item> = Vec::new();
        for item in items {
            for (e, succ) in block.succs.iter().enumerate() {
                let mut s = item.state.clone();
                if branches && !take(&mut s, last, succ.taken, &mut self.ctx()) {
                    self.pruned += 1;
                    if let Some(t) = top.as_deref_mut() {
                        t.infeasible.insert((b, e));
                    }
                    continue;
                }
                if let Some(t) = top.as_deref_mut() {
                    t.feasible.insert((b, e));
                }
                let cost = item.cost.add(block_cost(block, succ.taken, self.has_cycles));
                let item = Item { state: s, cost };
                match &succ.to {
                    Target::Block(t) if f.back.contains(&(b, *t)) => {}
                    Target::Block(t) => incoming[*t].push((item, link)),
                    Target::Return | Target::Unknown => {
                        let exit = Exit { function: f.name.clone(), at, cost };
                        outs.push(Out { exit, item, returns: succ.to == Target::Return, link });
                    }
                    Target::TailCall(_) => tail.push(item),
                    Target::Stop => {}
                }
            }
        }
        if tail.is_empty() {
            return Ok(());
        }
        match f.tails.get(&b) {
            Some(Plan::Follow(callee, _)) if self.can_follow(*callee) => {
                let g = self.fns[callee].clone();
                for mut o in self.walk(&g, tail, None)? {
                    o.link = link;
                    outs.push(o);
                }
            }
            plan => {
                let (cost, exits) = match plan {
                    Some(Plan::Opaque { cost, exits }) => (*cost, exits.clone()),
                    Some(Plan::Follow(_, cost)) => (*cost, Vec::new()),
                    None => (None, Vec::new()),
                };
                let Some(cost) = cost else { return Ok(()) };
                let exits = if exits.is_empty() {
                    let function = format!("{} (tail call, not followed)", f.name);
                    vec![Exit { function, at, cost }]
                } else {
                    exits
                };
                for item in tail {
                    for x in &exits {
                        let exit = Exit { cost: item.cost.add(x.cost), ..x.clone() };
                        let item = Item { state: item.state.clone(), cost: exit.cost };
                        outs.push(Out { exit, item, returns: false, link });
                    }
                }
            }
        }
        Ok(())
    }

    fn can_follow(&self, callee: u64) -> bool {
        self.fns.contains_key(&callee)
            && !self.stack.contains(&callee)
            && self.stack.len() < MAX_DEPTH
    }

    /// A call: followed into the callee, or applied as an opaque call with its cost.
    fn call(&mut self, items: Vec<Item>, insn: &Insn, plan: &Plan) -> Result<Vec<Item>, Overflow> {
        let effects = &insn.sem.effects;
        let call_at = effects.iter().position(|e| *e == Effect::Call).unwrap_or(effects.len());
        let (before, after) = effects.split_at(call_at);
        let apply = |w: &mut Self, items: &mut Vec<Item>, list: &[Effect], base: usize| {
            let mut ctx = w.ctx();
            for item in items.iter_mut() {
                for (k, e) in list.iter().enumerate() {
                    item.state.apply(e, insn.addr, (base + k) as u16, &mut ctx);
                }
            }
        };
        let mut items = items;
        match plan {
            Plan::Follow(callee, _) if self.can_follow(*callee) => {
                apply(self, &mut items, before, 0);
                let g = self.fns[callee].clone();
                let mut back = Vec::new();
                for o in self.walk(&g, items, None)? {
                    let mut item = o.item;
                    if !o.returns {
                        // The code that returns was not seen: as after a call not followed.
                        let mut ctx = self.ctx();
                        for (k, e) in after.iter().enumerate() {
                            item.state.apply(e, insn.addr, (call_at + k) as u16, &mut ctx);
                        }
                    }
                    back.push(item);
                }
                Ok(back)
            }
            Plan::Follow(_, cost) | Plan::Opaque { cost, .. } => {
                let Some(cost) = *cost else { return Ok(Vec::new()) };
                apply(self, &mut items, effects, 0);
                for item in &mut items {
                    item.cost = item.cost.add(cost);
                }
                Ok(items)
            }
        }
    }

    /// Merges identical states of one block and joins them when too many differ.
    fn merge(
        &mut self,
        entries: Vec<(Item, Option<Link>)>,
        block: usize,
        live: RegSet,
    ) -> Vec<(Item, Option<Link>)> {
        let mut out: Vec<(Item, Option<Link>)> = Vec::new();
        let mut index: HashMap<State, usize> = HashMap::new();
        for (mut e, link) in entries {
            e.state.forget_registers(!live);
            e.state.forget_dead(&self.syms);
            match index.get(&e.state) {
                Some(&i) => {
                    let kept = &mut out[i];
                    if e.cost.insns > kept.0.cost.insns {
                        kept.1 = link;
                    }
                    kept.0.cost = kept.0.cost.max(e.cost);
                }
                None => {
                    index.insert(e.state.clone(), out.len());
                    out.push((e, link));
                }
            }
        }
        if out.len() <= MAX_STATES {
            return out;
        }
        let mut ctx = self.ctx();
        let mut all = out.into_iter();
        let first = all.next().expect("more than MAX_STATES entries");
        let joined = all.fold(first, |(acc, l1), (e, l2)| {
            let link = if e.cost.insns > acc.cost.insns { l2 } else { l1 };
            let state = acc.state.join(&e.state, block, &mut ctx);
            (Item { state, cost: acc.cost.max(e.cost) }, link)
        });
        vec![joined]
    }

    /// Applies one instruction to every state; a predicated one splits each state into the one
    /// where it executes and the one where it does not (each kept when feasible).
    fn step(&mut self, items: Vec<Item>, insn: &Insn, block: usize) -> Vec<Item> {
        let mut ctx = self.ctx();
        let mut out = Vec::with_capacity(items.len());
        for Item { mut state, cost } in items {
            match insn.sem.guard {
                Some(guard) => {
                    let mut other = state.clone();
                    if state.assume(guard, true, &mut ctx) {
                        for (k, e) in insn.sem.effects.iter().enumerate() {
                            state.apply(e, insn.addr, k as u16, &mut ctx);
                        }
                        out.push(Item { state, cost });
                    }
                    if other.assume(guard, false, &mut ctx) {
                        for (k, e) in insn.sem.otherwise.iter().enumerate() {
                            other.apply(e, insn.addr, 0x80 + k as u16, &mut ctx);
                        }
                        out.push(Item { state: other, cost });
                    }
                }
                None => {
                    for (k, e) in insn.sem.effects.iter().enumerate() {
                        state.apply(e, insn.addr, k as u16, &mut ctx);
                    }
                    out.push(Item { state, cost });
                }
            }
        }
        if out.len() > MAX_STATES {
            let mut all = out.into_iter();
            let first = all.next().expect("states");
            return vec![all.fold(first, |acc, s| Item {
                state: acc.state.join(&s.state, block, &mut ctx),
                cost: acc.cost.max(s.cost),
            })];
        }
        out
    }
}

/// Follows a conditional branch (or return) one way: `taken` when it branches. `false` when
/// the state proves it cannot go that way.
fn take(s: &mut State, insn: &Insn, taken: bool, ctx: &mut Ctx<'_>) -> bool {
    if let Some(guard) = insn.sem.guard
        && !s.assume(guard, taken, ctx)
    {
        return false;
    }
    if taken || insn.sem.guard.is_none() {
        for (k, e) in insn.sem.effects.iter().enumerate() {
            s.apply(e, insn.addr, k as u16, ctx);
        }
    } else {
        for (k, e) in insn.sem.otherwise.iter().enumerate() {
            s.apply(e, insn.addr, 0x80 + k as u16, ctx);
        }
    }
    true
}

/// Every register.
const ALL: RegSet = if REGS >= RegSet::BITS as usize { RegSet::MAX } else { (1 << REGS) - 1 };

/// The registers an operand reads.
fn opnd_regs(o: &Opnd) -> RegSet {
    if let Opnd::Reg(r, _) = o { bit(*r) } else { 0 }
}

/// The registers a value reads, its memory operand's included.
fn value_regs(v: &Value) -> RegSet {
    match v {
        Value::Load(m) => m.regs(),
        other => other.regs(),
    }
}

/// The registers an effect reads, and those it replaces whole (`abi`: what a call reads).
fn uses_defs(e: &Effect, abi: &Abi) -> (RegSet, RegSet) {
    match e {
        // A write of the low 8 or 16 bits keeps the others: it reads the register.
        Effect::Set { dst, bits: 8 | 16, value } => (value_regs(value) | bit(*dst), 0),
        Effect::Set { dst, value, .. } => (value_regs(value), bit(*dst)),
        Effect::Compare(a, b, _) => (value_regs(a) | value_regs(b), 0),
        Effect::ZeroTest(v, _) => (value_regs(v), 0),
        Effect::FlagsUnknown => (0, 0),
        Effect::Read(m) => (m.regs(), 0),
        Effect::Store(m, src) => (m.regs() | src.as_ref().map_or(0, opnd_regs), 0),
        // A callee reads its arguments and the stack pointer; what else it reads (a register
        // saved and restored) is read back unchanged, and is live after the call if the
        // caller needs it. A call replaces nothing here: a call not followed clobbers its
        // registers itself.
        Effect::Call => (abi.args | bit(abi.sp), 0),
    }
}

/// The registers live at each block's entry: read on some path from there before being
/// replaced, with the calling convention's reads at the ways out (a return: the results and
/// the registers a callee preserves; a tail call: the arguments too; a jump table: all) and at
/// calls (what the callee reads at its entry, `entry_live`, when it was analysed; else the
/// arguments and the stack pointer). Only the walk's precision rests on it: a
/// register taken for dead is forgotten (unknown), which is always sound, whatever the code
/// really reads; forgetting the dead ones lets states that differ only in them (a carry
/// computed and stored, a scratch register) merge instead of being joined.
pub(crate) fn live_in(
    cfg: &Cfg,
    abi: &Abi,
    entry_live: &dyn Fn(u64) -> Option<RegSet>,
) -> Vec<RegSet> {
    let sp = bit(abi.sp);
    // What a callee reads: its own live registers at entry when it was analysed.
    let callee = |c: &Callee, fallback: RegSet| match c {
        Callee::Direct(t) => entry_live(*t).unwrap_or(fallback) | sp,
        _ => fallback | sp,
    };
    let n = cfg.blocks.len();
    let mut live = vec![0 as RegSet; n];
    loop {
        let mut changed = false;
        for b in (0..n).rev() {
            let block = &cfg.blocks[b];
            let mut now: RegSet = 0;
            for succ in &block.succs {
                now |= match &succ.to {
                    Target::Block(t) => live[*t],
                    // The caller reads the results and the registers a callee preserves.
                    Target::Return => abi.returns | abi.callee_saved | sp,
                    // The tail-called function reads its arguments, and returns to our caller.
                    Target::TailCall(c) => callee(c, abi.args | abi.callee_saved),
                    Target::Unknown => ALL,
                    Target::Stop => 0,
                };
            }
            for insn in block.insns.iter().rev() {
                let sem = &insn.sem;
                let mut uses = 0;
                let mut defs = 0;
                for e in &sem.effects {
                    let (u, d) = match e {
                        Effect::Call => {
                            let site = block.calls.iter().find(|c| c.at == insn.addr);
                            (site.map_or(abi.args | sp, |c| callee(&c.callee, abi.args)), 0)
                        }
                        other => uses_defs(other, abi),
                    };
                    uses |= u;
                    defs |= d;
                }
                for e in &sem.otherwise {
                    uses |= uses_defs(e, abi).0;
                }
                uses |= match sem.guard {
                    Some(Guard::Zero(r, _)) => bit(r),
                    Some(Guard::Compare(a, b, _)) => opnd_regs(&a) | opnd_regs(&b),
                    Some(Guard::Flags(_)) | None => 0,
                };
                // A predicated write may not happen: it replaces nothing. (A guarded branch's
                // effects happen when it is taken, its `otherwise` when not: each write is
                // conditional too.)
                if sem.guard.is_some() {
                    defs = 0;
                }
                now = (now & !defs) | uses;
            }
            if now != live[b] {
                live[b] = now;
                changed = true;
            }
        }
        if !changed {
            return live;
        }
    }
}
