//! The graph algorithms behind [`crate::analysis`]: block costs, back edges by depth-first
//! search, natural loops with the cost of one iteration, and the longest path to each exit.

use std::collections::{HashMap, HashSet};

use crate::cfg::{Block, Cfg, Target};
use crate::verdict::{Cost, Exit, Loop};

/// A block's cost, by how its last instruction goes.
#[derive(Clone, Copy)]
pub(crate) struct Weights {
    pub(crate) taken: Cost,
    pub(crate) not_taken: Cost,
    /// A call in the block never returns: no path continues.
    pub(crate) stops: bool,
}

impl Weights {
    pub(crate) fn get(&self, taken: bool) -> Cost {
        if taken { self.taken } else { self.not_taken }
    }
}

/// The block's own instructions and cycles (calls excluded).
pub(crate) fn block_cost(block: &Block, taken: bool, has_cycles: bool) -> Cost {
    let last = block.insns.len() - 1;
    let cycles = if has_cycles {
        block.insns.iter().enumerate().try_fold(0u64, |sum, (i, insn)| {
            let c = insn.cycles?;
            // Only a branch or return that falls through costs its `not_taken` figure.
            let falls = i == last && !taken && insn.flow.ends_block();
            Some(sum + u64::from(if falls { c.not_taken } else { c.taken }))
        })
    } else {
        None
    };
    Cost { insns: block.insns.len() as u64, cycles }
}

/// The longest path from the entry to each exit: a forward pass in topological order.
pub(crate) fn exits(
    cfg: &Cfg,
    weights: &[Weights],
    back: &HashSet<(usize, usize)>,
    order: &[usize],
    tail_exits: &HashMap<usize, Vec<Exit>>,
    name: &str,
) -> Vec<Exit> {
    let mut reach: Vec<Option<Cost>> = vec![None; cfg.blocks.len()];
    reach[0] = Some(Cost { insns: 0, cycles: Some(0) });
    let mut found: Vec<Exit> = Vec::new();
    for &b in order.iter().rev() {
        let Some(r) = reach[b] else { continue };
        if weights[b].stops {
            continue;
        }
        for succ in &cfg.blocks[b].succs {
            let here = r.add(weights[b].get(succ.taken));
            let at = cfg.blocks[b].last();
            match &succ.to {
                Target::Block(t) if !back.contains(&(b, *t)) => {
                    reach[*t] = Some(reach[*t].map_or(here, |old| old.max(here)));
                }
                Target::Return | Target::Unknown => {
                    found.push(Exit { function: name.to_string(), at, cost: here })
                }
                Target::TailCall(_) => {
                    for e in tail_exits.get(&b).into_iter().flatten() {
                        found.push(Exit { cost: here.add(e.cost), ..e.clone() });
                    }
                }
                Target::Block(_) | Target::Stop => {}
            }
        }
    }
    let mut merged: Vec<Exit> = Vec::new();
    for e in found {
        match merged.iter_mut().find(|m| m.function == e.function && m.at == e.at) {
            Some(m) => m.cost = m.cost.max(e.cost),
            None => merged.push(e),
        }
    }
    merged.sort_by_key(|e| (e.function != name, e.at));
    merged
}

/// Back edges `(latch, header)` and a post-order of the blocks reachable from the entry.
pub(crate) fn back_edges(cfg: &Cfg) -> (HashSet<(usize, usize)>, Vec<usize>) {
    let n = cfg.blocks.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut back = HashSet::new();
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![(0usize, 0usize)];
    state[0] = 1;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        let succs: Vec<usize> = cfg.blocks[b]
            .succs
            .iter()
            .filter_map(|s| if let Target::Block(t) = s.to { Some(t) } else { None })
            .collect();
        if let Some(&t) = succs.get(*next) {
            *next += 1;
            match state[t] {
                0 => {
                    state[t] = 1;
                    stack.push((t, 0));
                }
                1 => {
                    back.insert((b, t));
                }
                _ => {}
            }
        } else {
            state[b] = 2;
            order.push(b);
            stack.pop();
        }
    }
    (back, order)
}

/// The natural loop of the back edge `latch -> header` and the cost of one iteration.
pub(crate) fn natural_loop(
    cfg: &Cfg,
    weights: &[Weights],
    back: &HashSet<(usize, usize)>,
    order: &[usize],
    latch: usize,
    header: usize,
    function: &str,
) -> Loop {
    // Body: the header and every block that reaches the latch without passing the header.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); cfg.blocks.len()];
    for (b, block) in cfg.blocks.iter().enumerate() {
        for s in &block.succs {
            if let Target::Block(t) = s.to {
                preds[t].push(b);
            }
        }
    }
    let mut body: HashSet<usize> = HashSet::from([header, latch]);
    let mut work = vec![latch];
    while let Some(b) = work.pop() {
        if b == header {
            continue;
        }
        for &p in &preds[b] {
            if body.insert(p) {
                work.push(p);
            }
        }
    }
    // Longest header -> latch path inside the body (reverse post-order is topological).
    let mut dist: HashMap<usize, Cost> =
        HashMap::from([(header, Cost { insns: 0, cycles: Some(0) })]);
    for &b in order.iter().rev() {
        let Some(&d) = dist.get(&b) else { continue };
        for s in &cfg.blocks[b].succs {
            if let Target::Block(t) = s.to
                && body.contains(&t)
                && !back.contains(&(b, t))
            {
                let cost = d.add(weights[b].get(s.taken));
                dist.entry(t).and_modify(|old| *old = old.max(cost)).or_insert(cost);
            }
        }
    }
    let closing = cfg.blocks[latch]
        .succs
        .iter()
        .find(|s| s.to == Target::Block(header))
        .is_some_and(|s| s.taken);
    let iteration = dist.get(&latch).copied().unwrap_or_default().add(weights[latch].get(closing));
    let blocks: Vec<&Block> = body.iter().map(|&b| &cfg.blocks[b]).collect();
    let text: Vec<&str> =
        blocks.iter().flat_map(|b| b.insns.iter().map(|i| i.text.as_str())).collect();
    let kind = if blocks.len() == 1 && text.len() == 1 && text[0].starts_with("rep") {
        "rep string"
    } else if text.iter().any(|t| {
        ["cmpxchg"].iter().any(|m| t.contains(m))
            || ["strex", "ldrex", "lr.w", "sc.w"].iter().any(|m| t.starts_with(m))
    }) {
        "CAS retry"
    } else if text
        .iter()
        .any(|t| t.starts_with("pause") || t.starts_with("wfe") || t.starts_with("yield"))
    {
        "spin wait"
    } else {
        "loop"
    };
    Loop {
        function: function.to_string(),
        header: cfg.blocks[header].start(),
        latch: cfg.blocks[latch].last(),
        range: (
            blocks.iter().map(|b| b.start()).min().unwrap_or(0),
            blocks.iter().map(|b| b.end()).max().unwrap_or(0),
        ),
        iteration,
        kind,
    }
}
