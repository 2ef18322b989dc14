//! Loops and longest paths, per function and across direct calls.
//!
//! - **Back edges**: a depth-first search from the entry; an edge to a block still on the DFS
//!   stack is a back edge (its target is the loop header, its source the latch). Removing the
//!   back edges leaves a DAG, so "no back edge" is the proof that a function has no loop.
//! - **Longest path**: over that DAG, from the entry to a return or a tail call, counting the
//!   instructions (and, on Thumb, the cycles of the timing table) of every block on the path plus
//!   the longest path of every function called on it. First path-insensitively (every edge),
//!   then along feasible paths only (`paths`): an edge whose branch condition the
//!   path's earlier branches and computations decide the other way is not followed. The
//!   feasible figure is the bound; the path-insensitive one is kept for the report. A loop's
//!   body is counted once: the figure is the path taking no back edge, and a function with a
//!   loop has **no bound** (each loop's one-iteration cost is reported beside it). Paths that
//!   end in a trap or a call that never returns (panics) are not returns and are left out.
//! - **Calls**: direct calls and tail calls into this binary are followed (memoised). Recursion,
//!   calls and tail calls through a pointer, jump tables, calls leaving the binary and system
//!   calls (`syscall`, `int`, `sysenter`, `svc`) make the bound **unbounded**; the figure
//!   printed is then the part that is known.
//! - **Reads of read-only data** (`.rodata*`, `.data.rel.ro*`) on feasible paths, here and in
//!   callees: loads from a fixed address there, loads through a register holding such an
//!   address (`lea rcx, [rip + table]` then `mov eax, [rcx + rdi * 4]`; a Thumb literal-pool
//!   word pointing there, then a load through it), and such an address passed to a callee or
//!   stored. Thumb literal-pool loads themselves read `.text`: constants, not tables.
//! - **Interrupt masking** (RISC-V CSR writes to `mstatus`/`mie`, Thumb `cpsid`/`cpsie`/`msr
//!   primask`), here and in callees: reported, and analysed as ordinary instructions (a
//!   critical section's entry and exit are bounded work).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::cfg::{self, Callee, Target};
use crate::elf::Image;
use crate::graph::{Weights, back_edges, block_cost, exits, natural_loop};
use crate::insn::{Decoder, Flow};
use crate::paths::{FnData, Plan, Walker};
use crate::values::ReadKind;

// The verdict's types, also at the path where 0.1.0 published them.
pub use crate::verdict::{Call, CallKind, Cost, DataRead, Exit, FnAudit, Loop, Masking};

/// Audits functions of one image, memoising callees.
pub struct Auditor<'a> {
    image: &'a Image,
    decoder: &'a dyn Decoder,
    done: HashMap<u64, Rc<FnAudit>>,
    /// What the feasible-path walk needs of each analysed function.
    data: HashMap<u64, Rc<FnData>>,
    active: HashSet<u64>,
    assumed: HashMap<String, u64>,
}

impl<'a> Auditor<'a> {
    /// An auditor over `image`, decoding with `decoder`.
    pub fn new(image: &'a Image, decoder: &'a dyn Decoder) -> Self {
        Auditor {
            image,
            decoder,
            done: HashMap::new(),
            data: HashMap::new(),
            active: HashSet::new(),
            assumed: HashMap::new(),
        }
    }

    /// Callees not to analyse: each named function (mangled or demangled) is taken to cost the
    /// given number of instructions, with no loop and no cycle figure. For code outside the
    /// audit's scope, such as the host's `critical-section` implementation (a std mutex).
    pub fn assume(&mut self, name: &str, insns: u64) {
        self.assumed.insert(name.to_string(), insns);
    }

    fn assumption(&self, target: u64) -> Option<u64> {
        let f = self.image.function_at(target)?;
        self.assumed.get(&f.name).or_else(|| self.assumed.get(&f.display_name())).copied()
    }

    /// The audit of the function at `addr`.
    pub fn function(&mut self, addr: u64) -> Result<Rc<FnAudit>, String> {
        if let Some(done) = self.done.get(&addr) {
            return Ok(done.clone());
        }
        self.active.insert(addr);
        let result = self.analyse(addr);
        self.active.remove(&addr);
        let audit = Rc::new(result?);
        self.done.insert(addr, audit.clone());
        Ok(audit)
    }

    /// What `callee` is and the cost of reaching it (its bound), recording the call.
    fn callee(
        &mut self,
        caller: &str,
        at: u64,
        callee: &Callee,
        tail: bool,
        acc: &mut Acc,
    ) -> (CallKind, Option<Cost>) {
        let (kind, name, bound) = match callee {
            Callee::Direct(target) if self.assumption(*target).is_some() => {
                let insns = self.assumption(*target).unwrap_or(0);
                let bound = Some(Cost { insns, cycles: None });
                (CallKind::Assumed, self.image.describe(*target), bound)
            }
            Callee::Direct(target) if self.active.contains(target) => {
                acc.unbounded.push(format!(
                    "recursion: {} calls {}",
                    caller,
                    self.image.describe(*target)
                ));
                (CallKind::Recursive, self.image.describe(*target), Some(Cost::default()))
            }
            Callee::Direct(target) => match self.function(*target) {
                Ok(f) => {
                    acc.loops.extend(f.loops.iter().cloned());
                    acc.calls.extend(f.calls.iter().cloned());
                    acc.unbounded.extend(f.unbounded.iter().cloned());
                    acc.data_reads.extend(f.data_reads.iter().cloned());
                    acc.masking.extend(f.masking.iter().cloned());
                    (
                        if tail { CallKind::TailCall } else { CallKind::Call },
                        f.name.clone(),
                        f.bound,
                    )
                }
                Err(e) => {
                    acc.unbounded
                        .push(format!("{} not analysable: {e}", self.image.describe(*target)));
                    (CallKind::Call, self.image.describe(*target), Some(Cost::default()))
                }
            },
            Callee::External(name) => {
                acc.unbounded.push(format!("external call at {at:#x}: {name}"));
                (CallKind::External, name.clone(), Some(Cost::default()))
            }
            Callee::Unknown if tail => {
                acc.unbounded.push(format!("tail call through a pointer at {at:#x} in {caller}"));
                (CallKind::Indirect, "(through a pointer)".into(), Some(Cost::default()))
            }
            Callee::Unknown => {
                acc.unbounded
                    .push(format!("indirect call at {at:#x} in {caller}: through a pointer"));
                (CallKind::Indirect, "(through a pointer)".into(), Some(Cost::default()))
            }
        };
        let shown = match kind {
            CallKind::Call | CallKind::TailCall | CallKind::Assumed => bound,
            _ => None,
        };
        acc.own_calls.push(Call {
            caller: caller.into(),
            at,
            kind,
            callee: name,
            bound: shown,
            on_path: false,
        });
        (kind, bound)
    }

    fn analyse(&mut self, addr: u64) -> Result<FnAudit, String> {
        let image = self.image;
        let end = image.function_end(addr);
        let cfg = cfg::build(image, self.decoder, addr, end)?;
        let name = image.describe(addr);
        let has_cycles = self.decoder.has_cycles();
        let mut acc = Acc::default();
        let mut calls_plan: HashMap<u64, Plan> = HashMap::new();
        let mut tails_plan: HashMap<usize, Plan> = HashMap::new();

        // Per block: the cost with its last instruction taken / not taken (calls included).
        let mut weights = Vec::with_capacity(cfg.blocks.len());
        for block in &cfg.blocks {
            let mut extra = Cost { insns: 0, cycles: Some(0) };
            let mut stops = false;
            for site in &block.calls {
                if site.diverges {
                    let callee = match &site.callee {
                        Callee::Direct(t) => image.describe(*t),
                        Callee::External(n) => n.clone(),
                        Callee::Unknown => "(through a pointer)".into(),
                    };
                    acc.own_calls.push(Call {
                        caller: name.clone(),
                        at: site.at,
                        kind: CallKind::Diverging,
                        callee,
                        bound: None,
                        on_path: false,
                    });
                    calls_plan.insert(site.at, Plan::Opaque { cost: None, exits: Vec::new() });
                    continue;
                }
                let (kind, cost) = self.callee(&name, site.at, &site.callee, false, &mut acc);
                calls_plan.insert(site.at, plan(kind, &site.callee, cost, Vec::new()));
                match cost {
                    Some(c) => extra = extra.add(c),
                    None => stops = true, // the callee never returns
                }
            }
            weights.push(Weights {
                taken: block_cost(block, true, has_cycles).add(extra),
                not_taken: block_cost(block, false, has_cycles).add(extra),
                stops,
            });
        }

        let (back, order) = back_edges(&cfg);
        let mut tail_exits: HashMap<usize, Vec<Exit>> = HashMap::new();
        // Longest path to an exit, successors before predecessors (post-order), every edge
        // taken: the path-insensitive bound.
        let mut best: Vec<Option<(Cost, Option<usize>)>> = vec![None; cfg.blocks.len()];
        for &b in &order {
            let block = &cfg.blocks[b];
            if weights[b].stops {
                continue;
            }
            let mut best_here: Option<(Cost, Option<usize>)> = None;
            for succ in &block.succs {
                let w = weights[b].get(succ.taken);
                let value = match &succ.to {
                    Target::Block(s) if back.contains(&(b, *s)) => None,
                    Target::Block(s) => best[*s].map(|(c, _)| (w.add(c), Some(*s))),
                    Target::Return => Some((w, None)),
                    Target::TailCall(callee) => {
                        let at = block.last();
                        let (kind, cost) = self.callee(&name, at, callee, true, &mut acc);
                        let exits = match callee {
                            Callee::Direct(t) => self.done.get(t).map(|f| f.exits.clone()),
                            _ => None,
                        };
                        // Not analysed (assumed, external, through a pointer): its cost as given.
                        let fallback = || {
                            let function = format!("{name} (tail call, not followed)");
                            let cost = cost.unwrap_or(Cost { insns: 0, cycles: Some(0) });
                            vec![Exit { function, at, cost }]
                        };
                        let exits = exits.unwrap_or_else(fallback);
                        tails_plan.insert(b, plan(kind, callee, cost, exits.clone()));
                        tail_exits.insert(b, exits);
                        cost.map(|c| (w.add(c), None))
                    }
                    Target::Unknown => {
                        acc.unbounded.push(format!(
                            "jump table (indirect branch) at {:#x} in {name}: targets not resolved",
                            block.last()
                        ));
                        Some((w, None))
                    }
                    Target::Stop => None,
                };
                if let Some((cost, next)) = value {
                    best_here = Some(match best_here {
                        None => (cost, next),
                        Some((old, old_next)) => {
                            let next = if cost.insns > old.insns { next } else { old_next };
                            (old.max(cost), next)
                        }
                    });
                }
            }
            best[b] = best_here;
        }
        let insensitive = best[0].map(|(c, _)| c);
        let mut path_blocks = Vec::new();
        let mut at = Some(0);
        while let Some(b) = at {
            path_blocks.push(b);
            at = best[b].and_then(|(_, next)| next);
        }
        let mut exits = exits(&cfg, &weights, &back, &order, &tail_exits, &name);
        for block in &cfg.blocks {
            for insn in &block.insns {
                if insn.masks_interrupts {
                    acc.masking.push(Masking {
                        function: name.clone(),
                        at: insn.addr,
                        text: insn.text.clone(),
                    });
                }
                if insn.flow == Flow::System {
                    acc.unbounded.push(format!(
                        "system call at {:#x} in {name}: `{}` enters the kernel or a trap handler, or \
                         waits for an interrupt",
                        insn.addr, insn.text
                    ));
                }
            }
        }
        // Loops of this function.
        let mut loops = Vec::new();
        for &(latch, header) in &back {
            loops.push(natural_loop(&cfg, &weights, &back, &order, latch, header, &name));
        }

        // The longest feasible path, callees followed with the caller's state.
        let analysed = &self.data;
        let entry_live = |t: u64| analysed.get(&t).and_then(|d| d.live.first().copied());
        let live = crate::paths::live_in(&cfg, &self.decoder.abi(), &entry_live);
        let data = Rc::new(FnData {
            name: name.clone(),
            addr,
            cfg,
            back,
            order,
            calls: calls_plan,
            tails: tails_plan,
            live,
        });
        self.data.insert(addr, data.clone());
        let cfg = &data.cfg;
        let walker = Walker::new(image, self.decoder.abi(), has_cycles, &self.data);
        let mut bound = insensitive;
        let mut infeasible_edges = 0;
        let mut pruned = 0;
        let correlated = match walker.run(&data) {
            Some(feasible) => {
                bound = feasible.bound;
                path_blocks = feasible.path;
                exits = feasible.exits;
                infeasible_edges = feasible.infeasible;
                pruned = feasible.pruned;
                for r in feasible.reads {
                    acc.data_reads.push(DataRead {
                        function: image.describe(r.function),
                        at: r.at,
                        addr: r.addr,
                        section: r.addr.and_then(|a| image.section_at(a)).map(|s| s.name.clone()),
                        what: match r.kind {
                            ReadKind::Load => "load",
                            ReadKind::Passed => "address passed to a callee",
                            ReadKind::Stored => "address stored",
                        },
                    });
                }
                true
            }
            None => false,
        };
        let path: Vec<u64> = path_blocks.iter().map(|&b| cfg.blocks[b].start()).collect();
        let own_on_path = path_blocks.iter().map(|&b| cfg.blocks[b].insns.len() as u64).sum();
        let on_path = |at: u64| {
            path_blocks.iter().any(|&b| (cfg.blocks[b].start()..cfg.blocks[b].end()).contains(&at))
        };
        for call in &mut acc.own_calls {
            call.on_path = bound.is_some() && on_path(call.at);
        }

        loops.sort_by_key(|l| (l.header, l.latch));
        loops.extend(acc.loops);
        let mut calls = acc.own_calls;
        calls.extend(acc.calls);
        dedup_by_key(&mut calls, |c| (c.caller.clone(), c.at));
        dedup_by_key(&mut loops, |l| (l.function.clone(), l.header, l.latch));
        let mut unbounded = acc.unbounded;
        unbounded.sort();
        unbounded.dedup();
        let mut data_reads = acc.data_reads;
        dedup_by_key(&mut data_reads, |r| (r.function.clone(), r.at, r.addr));
        data_reads.sort_by_key(|r| r.at);
        let mut masking = acc.masking;
        dedup_by_key(&mut masking, |m| (m.function.clone(), m.at));
        masking.sort_by_key(|m| m.at);
        Ok(FnAudit {
            name,
            addr,
            blocks: cfg.blocks.len(),
            edges: cfg.edge_count(),
            insns: cfg.blocks.iter().map(|b| b.insns.len()).sum(),
            bound,
            insensitive,
            infeasible_edges,
            pruned,
            correlated,
            own_on_path,
            path,
            exits,
            loops,
            calls,
            unbounded,
            data_reads,
            masking,
        })
    }
}

/// What the walk does at a call: follows a direct call it analysed; counts any other's cost.
fn plan(kind: CallKind, callee: &Callee, cost: Option<Cost>, exits: Vec<Exit>) -> Plan {
    match (kind, callee) {
        (CallKind::Call | CallKind::TailCall, Callee::Direct(t)) => Plan::Follow(*t, cost),
        _ => Plan::Opaque { cost, exits },
    }
}

fn dedup_by_key<T, K: Eq + std::hash::Hash>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(key(item)));
}

/// Collected while analysing one function.
#[derive(Default)]
struct Acc {
    own_calls: Vec<Call>,
    calls: Vec<Call>,
    loops: Vec<Loop>,
    unbounded: Vec<String>,
    data_reads: Vec<DataRead>,
    masking: Vec<Masking>,
}
