//! The longest *feasible* path: the CFG walked in topological order (back edges removed), each
//! block entered with the abstract states ([`State`]) of the paths reaching it, each edge
//! followed only when its branch condition can hold in that state.
//!
//! This is what correlates branch outcomes: a shared exit that re-tests a result the path
//! already decided (`xor ecx, ecx; jmp tail` ... `tail: test ecx, ecx; jne ok`), a bounds check
//! of an offset the dispatch already bounded, a flag set by `setcc` or `cmov` and tested later.
//! Paths are never dropped for any other reason, so the result is still an upper bound over
//! every execution: it only leaves out paths that no input (and no memory content) can take.
//!
//! States reaching a block with the same facts are merged (keeping the larger cost); when more
//! than [`MAX_STATES`] differ, they are joined into one ([`State::join`]: what they agree on),
//! which loses precision but never a path. If the whole walk exceeds [`MAX_WORK`] block visits,
//! it gives up and the caller keeps the path-insensitive bound.

use std::collections::{HashMap, HashSet};

use crate::analysis::{Cost, Exit};
use crate::cfg::{Cfg, Target};
use crate::elf::Image;
use crate::graph::Weights;
use crate::insn::{Flow, Insn};
use crate::sem::Abi;
use crate::values::{Ctx, DataRead, State, Symbols};

/// The most distinct states kept at a block before they are joined.
pub(crate) const MAX_STATES: usize = 24;
/// The most (block, state) visits of one function's walk.
pub(crate) const MAX_WORK: usize = 40_000;

/// The result of the walk.
#[derive(Debug)]
pub(crate) struct Feasible {
    /// The longest feasible path to a return (or tail call), `None` when none returns.
    pub(crate) bound: Option<Cost>,
    /// Its blocks (indices), entry first, along the longest path in instructions.
    pub(crate) path: Vec<usize>,
    /// The longest feasible path to each exit.
    pub(crate) exits: Vec<Exit>,
    /// Edges found infeasible in some state (each counted once).
    pub(crate) infeasible: usize,
    /// Reads of read-only data on feasible paths.
    pub(crate) reads: Vec<DataRead>,
}

/// An entry of a block: (block, index among its entries).
type Link = (usize, usize);

/// A state at a block's entry, the longest cost to get there, and where it came from.
struct Entry {
    state: State,
    cost: Cost,
    pred: Option<Link>,
}

/// What the walk needs from the caller.
pub(crate) struct Walk<'a> {
    pub(crate) cfg: &'a Cfg,
    pub(crate) weights: &'a [Weights],
    pub(crate) back: &'a HashSet<(usize, usize)>,
    /// A post-order of the blocks (its reverse is topological once back edges are removed).
    pub(crate) order: &'a [usize],
    /// The exits reached through each block's tail call, with their cost from the callee's
    /// entry.
    pub(crate) tail_exits: &'a HashMap<usize, Vec<Exit>>,
    pub(crate) image: &'a Image,
    pub(crate) abi: Abi,
    /// The function's display name.
    pub(crate) name: &'a str,
}

/// Runs the walk; `None` when it exceeds [`MAX_WORK`].
pub(crate) fn feasible(w: &Walk<'_>) -> Option<Feasible> {
    let cfg = w.cfg;
    let mut syms = Symbols::default();
    let mut reads = Vec::new();
    let sp0 = State::sp_symbol(&mut syms, w.abi);
    let mut ctx = Ctx {
        image: w.image,
        abi: w.abi,
        syms: &mut syms,
        sp0,
        args: w.abi.args,
        reads: &mut reads,
    };
    let mut incoming: Vec<Vec<Entry>> = (0..cfg.blocks.len()).map(|_| Vec::new()).collect();
    let zero = Cost { insns: 0, cycles: Some(0) };
    incoming[0].push(Entry { state: State::entry(&mut ctx), cost: zero, pred: None });
    let mut done: Vec<Vec<(Cost, Option<Link>)>> = vec![Vec::new(); cfg.blocks.len()];
    let mut exits: Vec<(Exit, (usize, usize))> = Vec::new();
    let mut infeasible: HashSet<(usize, usize)> = HashSet::new();
    let mut feasible_edges: HashSet<(usize, usize)> = HashSet::new();
    let mut work = 0usize;

    for &b in w.order.iter().rev() {
        let entries = merge(std::mem::take(&mut incoming[b]), b, &mut ctx);
        done[b] = entries.iter().map(|e| (e.cost, e.pred)).collect();
        if w.weights[b].stops {
            continue;
        }
        let block = &cfg.blocks[b];
        let (body, last) = block.insns.split_at(block.insns.len() - 1);
        let last = &last[0];
        let branches = matches!(
            last.flow,
            Flow::Jump { conditional: true, .. } | Flow::Return { conditional: true }
        ) || (matches!(last.flow, Flow::IndirectJump { .. })
            && block.succs.len() > 1);
        for (i, entry) in entries.into_iter().enumerate() {
            work += 1;
            if work > MAX_WORK {
                return None;
            }
            let mut states = vec![entry.state];
            for insn in body {
                states = step(states, insn, &mut ctx, b);
            }
            if !branches {
                states = step(states, last, &mut ctx, b);
            }
            for state in states {
                for (e, succ) in block.succs.iter().enumerate() {
                    let mut s = state.clone();
                    if branches && !take(&mut s, last, succ.taken, &mut ctx) {
                        infeasible.insert((b, e));
                        continue;
                    }
                    feasible_edges.insert((b, e));
                    let cost = entry.cost.add(w.weights[b].get(succ.taken));
                    let at = block.last();
                    match &succ.to {
                        Target::Block(t) if w.back.contains(&(b, *t)) => {}
                        Target::Block(t) => {
                            incoming[*t].push(Entry { state: s, cost, pred: Some((b, i)) })
                        }
                        Target::Return | Target::Unknown => {
                            let exit = Exit { function: w.name.to_string(), at, cost };
                            exits.push((exit, (b, i)));
                        }
                        Target::TailCall(_) => {
                            for x in w.tail_exits.get(&b).into_iter().flatten() {
                                exits.push((Exit { cost: cost.add(x.cost), ..x.clone() }, (b, i)));
                            }
                        }
                        Target::Stop => {}
                    }
                }
            }
        }
    }

    let bound = exits.iter().map(|(e, _)| e.cost).reduce(Cost::max);
    let path = match exits.iter().max_by_key(|(e, _)| e.cost.insns) {
        Some((_, (b, i))) => {
            let mut path = vec![*b];
            let mut at = done[*b].get(*i).and_then(|(_, p)| *p);
            while let Some((pb, pi)) = at {
                path.push(pb);
                at = done[pb].get(pi).and_then(|(_, p)| *p);
            }
            path.reverse();
            path
        }
        None => vec![0],
    };
    let mut merged: Vec<Exit> = Vec::new();
    for (e, _) in exits {
        match merged.iter_mut().find(|m| m.function == e.function && m.at == e.at) {
            Some(m) => m.cost = m.cost.max(e.cost),
            None => merged.push(e),
        }
    }
    merged.sort_by_key(|e| (e.function != w.name, e.at));
    reads.sort_by_key(|r| (r.at, r.addr));
    reads.dedup();
    let infeasible = infeasible.difference(&feasible_edges).count();
    Some(Feasible { bound, path, exits: merged, infeasible, reads })
}

/// The entries of one block: identical states merged, too many joined.
fn merge(entries: Vec<Entry>, block: usize, ctx: &mut Ctx<'_>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut index: HashMap<State, usize> = HashMap::new();
    for mut e in entries {
        e.state.forget_dead();
        match index.get(&e.state) {
            Some(&i) => {
                let kept = &mut out[i];
                if e.cost.insns > kept.cost.insns {
                    kept.pred = e.pred;
                }
                kept.cost = kept.cost.max(e.cost);
            }
            None => {
                index.insert(e.state.clone(), out.len());
                out.push(e);
            }
        }
    }
    if out.len() <= MAX_STATES {
        return out;
    }
    let mut all = out.into_iter();
    let first = all.next().expect("more than MAX_STATES entries");
    let joined = all.fold(first, |acc, e| {
        let pred = if e.cost.insns > acc.cost.insns { e.pred } else { acc.pred };
        Entry { state: acc.state.join(&e.state, block, ctx), cost: acc.cost.max(e.cost), pred }
    });
    vec![joined]
}

/// Applies one instruction to every state; a predicated one splits each state into the one
/// where it executes and the one where it does not (each kept when feasible).
fn step(states: Vec<State>, insn: &Insn, ctx: &mut Ctx<'_>, block: usize) -> Vec<State> {
    let mut out = Vec::with_capacity(states.len());
    for mut s in states {
        match insn.sem.guard {
            Some(guard) => {
                let mut other = s.clone();
                if s.assume(guard, true, ctx) {
                    for (k, e) in insn.sem.effects.iter().enumerate() {
                        s.apply(e, insn.addr, k as u16, ctx);
                    }
                    out.push(s);
                }
                if other.assume(guard, false, ctx) {
                    for (k, e) in insn.sem.otherwise.iter().enumerate() {
                        other.apply(e, insn.addr, 0x80 + k as u16, ctx);
                    }
                    out.push(other);
                }
            }
            None => {
                for (k, e) in insn.sem.effects.iter().enumerate() {
                    s.apply(e, insn.addr, k as u16, ctx);
                }
                out.push(s);
            }
        }
    }
    if out.len() > MAX_STATES {
        let mut all = out.into_iter();
        let first = all.next().expect("states");
        return vec![all.fold(first, |acc, s| acc.join(&s, block, ctx))];
    }
    out
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
