//! What an audit finds: the verdict on one function ([`FnAudit`]) and its parts, the cost of a
//! path ([`Cost`]), the ways out ([`Exit`]), the loops, the calls and the reads of read-only
//! data. [`crate::analysis`] produces it; the graph passes and the feasible-path walk build its
//! parts, [`crate::report`] prints it.

/// Instructions and (Thumb) cycles of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// Instructions executed.
    pub insns: u64,
    /// Cycle bound, `None` when an instruction on the path has no entry in the timing table
    /// (or the architecture has no table).
    pub cycles: Option<u64>,
}

impl Cost {
    pub(crate) fn add(self, other: Cost) -> Cost {
        Cost {
            insns: self.insns + other.insns,
            cycles: self.cycles.zip(other.cycles).map(|(a, b)| a + b),
        }
    }

    /// The larger of each component (each is then the bound over all paths).
    pub(crate) fn max(self, other: Cost) -> Cost {
        let cycles = match (self.cycles, other.cycles) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        Cost { insns: self.insns.max(other.insns), cycles }
    }
}

/// A loop: one back edge and its natural loop.
#[derive(Debug, Clone)]
pub struct Loop {
    /// The function that contains it.
    pub function: String,
    /// First address of the header block (the back edge's target).
    pub header: u64,
    /// The last instruction of the latch block, the block the back edge leaves: the branch
    /// back to the header, or the instruction that falls through into it.
    pub latch: u64,
    /// Lowest and highest (exclusive) address of the body's blocks.
    pub range: (u64, u64),
    /// Cost of one iteration: the longest path from the header around to the back edge.
    pub iteration: Cost,
    /// What the body does: `CAS retry`, `spin wait`, or `loop`.
    pub kind: &'static str,
}

/// What a call site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A direct call into this binary, followed.
    Call,
    /// A jump into another function of this binary, followed.
    TailCall,
    /// A call that never returns (a panic): not on any returning path, not followed.
    Diverging,
    /// A call through a pointer: unbounded.
    Indirect,
    /// A call out of the binary (dynamic symbol, PLT): unbounded.
    External,
    /// A call back into a function being analysed: unbounded.
    Recursive,
    /// A callee whose cost the user stated (`--assume NAME=N`): not analysed.
    Assumed,
}

/// One call out of a function.
#[derive(Debug, Clone)]
pub struct Call {
    /// The calling function.
    pub caller: String,
    /// Address of the call (or tail-call jump) instruction.
    pub at: u64,
    /// Kind.
    pub kind: CallKind,
    /// The callee's name.
    pub callee: String,
    /// The callee's bound (followed calls).
    pub bound: Option<Cost>,
    /// On the top-level function's longest path.
    pub on_path: bool,
}

/// A way out of a function: a return instruction (in it, or in a function it tail-calls).
#[derive(Debug, Clone)]
pub struct Exit {
    /// The function whose return instruction ends the path.
    pub function: String,
    /// Address of that return (or of an unresolved indirect branch or tail call).
    pub at: u64,
    /// The longest path from the audited function's entry to it, inclusive.
    pub cost: Cost,
}

/// A read of read-only data (`.rodata*`, `.data.rel.ro*`) on a feasible path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRead {
    /// The function that reads.
    pub function: String,
    /// The instruction.
    pub at: u64,
    /// The address read, when the analysis knows it.
    pub addr: Option<u64>,
    /// The section of that address.
    pub section: Option<String>,
    /// What the instruction does with it.
    pub what: &'static str,
}

/// An instruction that enables or disables interrupts ([`crate::insn::Insn::masks_interrupts`]):
/// a critical section's entry or exit. Bounded work, found and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masking {
    /// The function it is in.
    pub function: String,
    /// Its address.
    pub at: u64,
    /// Its text (`csrrci a2, mstatus, 8`, `cpsid i`).
    pub text: String,
}

/// The audit of one function, callees included.
#[derive(Debug, Clone)]
pub struct FnAudit {
    /// Display name.
    pub name: String,
    /// Entry address.
    pub addr: u64,
    /// Blocks and edges of its own CFG.
    pub blocks: usize,
    /// Edges between its blocks.
    pub edges: usize,
    /// Instructions decoded (reachable) in its own body.
    pub insns: usize,
    /// Longest feasible path to a return, callees included; `None` when no path returns.
    pub bound: Option<Cost>,
    /// Longest path when every edge is taken to be feasible (path-insensitive).
    pub insensitive: Option<Cost>,
    /// Edges of its own CFG that no feasible path takes.
    pub infeasible_edges: usize,
    /// Branch outcomes excluded in some path state (an edge not followed from one state at its
    /// block), here and in the callees followed.
    pub pruned: usize,
    /// Whether `bound` correlates branch conditions (`false`: the function has too many
    /// path states, and `bound` is the path-insensitive figure).
    pub correlated: bool,
    /// Instructions of the function itself on that path.
    pub own_on_path: u64,
    /// Block start addresses along the longest (instruction) path.
    pub path: Vec<u64>,
    /// The longest path to each exit, in address order.
    pub exits: Vec<Exit>,
    /// Loops here and in followed callees.
    pub loops: Vec<Loop>,
    /// Calls here and in followed callees.
    pub calls: Vec<Call>,
    /// Why the bound is not a bound (empty when it is).
    pub unbounded: Vec<String>,
    /// Reads of read-only data, here and in followed callees.
    pub data_reads: Vec<DataRead>,
    /// Instructions that mask or unmask interrupts, here and in followed callees.
    pub masking: Vec<Masking>,
}

impl FnAudit {
    /// No loop here or in any followed callee.
    pub fn loop_free(&self) -> bool {
        self.loops.is_empty()
    }

    /// The longest path is a bound: no loop, nothing unbounded, and some path returns.
    pub fn is_bounded(&self) -> bool {
        self.loops.is_empty() && self.unbounded.is_empty() && self.bound.is_some()
    }
}
