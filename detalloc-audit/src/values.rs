//! The abstract state of a path through one function: what each register holds, what the
//! flags compared, what the path's branches imply about those values, and the function's own
//! stack slots. [`crate::paths`] carries these states along the CFG and drops an edge only when
//! its state proves the branch cannot go that way.
//!
//! **Values.** A register holds a constant, a *symbol* plus a constant offset (modulo `2^bits`,
//! zero-extended), its low bits only (after a byte write), or nothing known. A symbol names a
//! value the analysis cannot compute but can recognise again: a register at the function's
//! entry, what one instruction loaded or computed, a difference of two symbols, a narrower
//! value zero-extended. The same symbol tested twice is the same value, so a branch that
//! re-tests a value a previous branch decided follows that decision.
//!
//! **Facts.** Each symbol (at a width) has the set of values ([`Ranges`]) its path's branches
//! allow: `cmp rdx, 1023; ja` taken puts `rdx`'s symbol above 1023, and a later `cmp rdx, 2047`
//! sees it. An empty set proves the path infeasible.
//!
//! **Stack.** Stores to the function's own frame (below the stack pointer at entry) are
//! remembered until the frame's address escapes (stored to memory, or in a register at a call);
//! from then on any store or call forgets them.
//!
//! Soundness rests on two rules: every write the decoder reports is applied (an unknown value
//! becomes a fresh symbol), and a fact is only added on the edge whose condition implies it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::elf::Image;
use crate::ranges::{Ranges, mask};
use crate::sem::{Abi, Cond, Effect, Guard, MemRef, Opnd, Reg, RegSet, Value, bit};

/// A symbol: an index into [`Symbols`].
pub(crate) type Sym = u32;

/// What a symbol stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A register's value at the function's entry.
    Entry(Reg),
    /// A value computed at an instruction (the walk of the function it belongs to, its
    /// address, and which of its values).
    Def(u32, u64, u16),
    /// `(base(sym) + off) mod 2^bits`, zero-extended: a narrower value used at a wider width.
    Zext(Sym, u8, u64),
    /// `base(a) - base(b)` at `bits`.
    Diff(Sym, Sym, u8),
    /// A register's value where paths were joined (the walk, the block, the register).
    Join(u32, usize, Reg),
}

/// The symbols of one function's analysis.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    ids: HashMap<Key, Sym>,
    keys: Vec<Key>,
}

impl Symbols {
    fn intern(&mut self, key: Key) -> Sym {
        if let Some(&s) = self.ids.get(&key) {
            return s;
        }
        let s = self.keys.len() as Sym;
        self.keys.push(key);
        self.ids.insert(key, s);
        s
    }

    /// Whether `sym` is one of `live`, or derived from them only.
    fn depends_on(&self, sym: Sym, live: &[Sym]) -> bool {
        if live.contains(&sym) {
            return true;
        }
        match self.keys[sym as usize] {
            Key::Zext(inner, _, _) => self.depends_on(inner, live),
            Key::Diff(a, b, _) => self.depends_on(a, live) && self.depends_on(b, live),
            _ => false,
        }
    }

    /// What a `bits`-wide view of the symbol can be before any branch.
    fn initial(&self, sym: Sym, bits: u8) -> Ranges {
        match self.keys[sym as usize] {
            Key::Zext(_, inner, _) if inner < bits => Ranges::span(bits, 0, mask(inner)),
            _ => Ranges::full(bits),
        }
    }
}

/// A register's abstract value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Val {
    /// Nothing known.
    Top,
    /// Exactly this.
    Const(u64),
    /// `(base(sym) + off) mod 2^bits`, zero above `bits`.
    Lin {
        /// The symbol.
        sym: Sym,
        /// Its width.
        bits: u8,
        /// The offset.
        off: u64,
    },
    /// The low `bits` bits are `val`; the others unknown.
    Low {
        /// How many low bits are known.
        bits: u8,
        /// Their value.
        val: u64,
    },
}

/// A value seen at a width: a constant, or a symbol plus an offset (modulo `2^width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Term {
    /// A constant.
    Const(u64),
    /// A symbol plus an offset.
    Lin(Sym, u64),
}

/// What the flags hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Flags {
    /// Nothing known.
    Unknown,
    /// The comparison of two values at a width.
    Cmp(Term, Term, u8),
    /// Only whether a value (at a width) is zero.
    Zero(Term, u8),
}

/// A read of read-only data found on a path ([`crate::paths`] collects them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DataRead {
    /// The entry of the function that reads.
    pub(crate) function: u64,
    /// The instruction.
    pub(crate) at: u64,
    /// The address read, when known.
    pub(crate) addr: Option<u64>,
    /// What happens: a load, or the address handed to a callee or stored.
    pub(crate) kind: ReadKind,
}

/// How read-only data is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReadKind {
    /// A load from it.
    Load,
    /// Its address is passed to a callee in an argument register.
    Passed,
    /// Its address is stored to memory.
    Stored,
}

/// What applying effects needs besides the state.
pub(crate) struct Ctx<'a> {
    pub(crate) image: &'a Image,
    pub(crate) abi: Abi,
    pub(crate) syms: &'a mut Symbols,
    /// The stack pointer's entry symbol (of the function the walk started from).
    pub(crate) sp0: Sym,
    /// The walk of one function instance on the path: names the values its instructions
    /// compute (a function called twice on a path computes different values each time).
    pub(crate) frame: u32,
    /// The entry of the function whose instructions are applied.
    pub(crate) function: u64,
    /// Reads of read-only data seen so far.
    pub(crate) reads: &'a mut Vec<DataRead>,
}

/// The abstract state of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct State {
    regs: [Val; 16],
    flags: Flags,
    facts: BTreeMap<(Sym, u8), Ranges>,
    /// Comparisons between two values the path decided: `(a, b, bits, c)` is `a <c> b`.
    rel: BTreeSet<(Term, Term, u8, Cond)>,
    /// The function's own frame: offset from the entry stack pointer -> (value, bytes).
    slots: BTreeMap<i64, (Val, u8)>,
    /// Registers that may hold an address in the function's own frame.
    sp_taint: RegSet,
    /// Registers that may hold an address in read-only data.
    ro_taint: RegSet,
    /// The frame's address has escaped: any store or call may change a slot.
    escaped: bool,
}

fn signed(v: u64, bits: u8) -> i64 {
    if bits >= 64 { v as i64 } else { ((v << (64 - bits)) as i64) >> (64 - bits) }
}

/// The values where `a <cond> k` holds, for `a` of width `bits`.
fn cond_set(cond: Cond, k: u64, bits: u8) -> Option<Ranges> {
    let max = mask(bits);
    Some(match cond {
        Cond::Eq => Ranges::single(bits, k),
        Cond::Ne => Ranges::single(bits, k).complement(),
        Cond::Ult if k == 0 => Ranges::empty(bits),
        Cond::Ult => Ranges::span(bits, 0, k - 1),
        Cond::Uge => Ranges::span(bits, k, max),
        Cond::Ule => Ranges::span(bits, 0, k),
        Cond::Ugt if k == max => Ranges::empty(bits),
        Cond::Ugt => Ranges::span(bits, k + 1, max),
        Cond::Other => return None,
    })
}

impl State {
    /// The state at a function's entry: each register its own symbol.
    pub(crate) fn entry(ctx: &mut Ctx<'_>) -> State {
        let bits = ctx.abi.bits;
        let regs = std::array::from_fn(|r| Val::Lin {
            sym: ctx.syms.intern(Key::Entry(r as Reg)),
            bits,
            off: 0,
        });
        State {
            regs,
            flags: Flags::Unknown,
            facts: BTreeMap::new(),
            rel: BTreeSet::new(),
            slots: BTreeMap::new(),
            sp_taint: bit(ctx.abi.sp),
            ro_taint: 0,
            escaped: false,
        }
    }

    /// The stack pointer's symbol at entry, for [`Ctx::sp0`].
    pub(crate) fn sp_symbol(syms: &mut Symbols, abi: Abi) -> Sym {
        syms.intern(Key::Entry(abi.sp))
    }

    fn view(&self, v: Val, bits: u8, syms: &mut Symbols) -> Option<Term> {
        match v {
            Val::Top => None,
            Val::Const(c) => Some(Term::Const(c & mask(bits))),
            Val::Low { bits: known, val } => {
                (bits <= known).then_some(Term::Const(val & mask(bits)))
            }
            Val::Lin { sym, bits: width, off } if bits <= width => {
                Some(Term::Lin(sym, off & mask(bits)))
            }
            Val::Lin { sym, bits: width, off } => {
                Some(Term::Lin(syms.intern(Key::Zext(sym, width, off)), 0))
            }
        }
    }

    /// The values a term (at `bits`) may have on this path.
    fn range(&self, t: Term, bits: u8, syms: &Symbols) -> Ranges {
        match t {
            Term::Const(c) => Ranges::single(bits, c),
            Term::Lin(sym, off) => match self.facts.get(&(sym, bits)) {
                Some(r) => r.shift(off),
                None => syms.initial(sym, bits).shift(off),
            },
        }
    }

    fn opnd(&self, o: Opnd, bits: u8, syms: &mut Symbols) -> Option<Term> {
        match o {
            Opnd::Imm(c) => Some(Term::Const(c & mask(bits))),
            Opnd::Reg(r, width) if width >= bits => self.view(self.regs[r as usize], bits, syms),
            Opnd::Reg(r, width) => match self.view(self.regs[r as usize], width, syms)? {
                Term::Const(c) => Some(Term::Const(c)),
                Term::Lin(sym, off) => Some(Term::Lin(syms.intern(Key::Zext(sym, width, off)), 0)),
            },
        }
    }

    /// The address of a memory operand, at the register width.
    fn address(&self, m: &MemRef, ctx: &mut Ctx<'_>) -> Option<Term> {
        if m.opaque {
            return None;
        }
        if let Some(f) = m.fixed {
            return Some(Term::Const(f));
        }
        let bits = ctx.abi.bits;
        let mut t = match m.base {
            Some(b) => self.view(self.regs[b as usize], bits, ctx.syms)?,
            None => Term::Const(0),
        };
        if let Some((i, scale)) = m.index {
            match self.view(self.regs[i as usize], bits, ctx.syms)? {
                Term::Const(c) => t = add(t, c.wrapping_mul(u64::from(scale)), bits),
                Term::Lin(..) => return None,
            }
        }
        Some(add(t, m.disp, bits))
    }

    /// Records a read of `m` when it is read-only data, and returns its address.
    fn note_read(&self, m: &MemRef, at: u64, ctx: &mut Ctx<'_>) -> Option<Term> {
        let a = self.address(m, ctx);
        let base = match (m.fixed, m.base) {
            (Some(f), _) => Some(f),
            (None, Some(b)) => match self.view(self.regs[b as usize], ctx.abi.bits, ctx.syms) {
                Some(Term::Const(c)) => Some(c.wrapping_add(m.disp) & mask(ctx.abi.bits)),
                _ => None,
            },
            (None, None) if !m.opaque => Some(m.disp),
            (None, None) => None,
        };
        let ro = |x: Option<u64>| x.filter(|&x| ctx.image.is_read_only_data(x));
        let exact = match a {
            Some(Term::Const(x)) => ro(Some(x)),
            _ => None,
        };
        if let Some(addr) = exact.or_else(|| ro(base)) {
            ctx.reads.push(DataRead {
                function: ctx.function,
                at,
                addr: Some(addr),
                kind: ReadKind::Load,
            });
        } else if m.regs() & self.ro_taint != 0 {
            ctx.reads.push(DataRead {
                function: ctx.function,
                at,
                addr: None,
                kind: ReadKind::Load,
            });
        }
        a
    }

    fn load(&self, m: &MemRef, at: u64, ctx: &mut Ctx<'_>) -> Option<Term> {
        let a = self.note_read(m, at, ctx)?;
        let bits = m.bytes * 8;
        match a {
            Term::Lin(sym, off) if sym == ctx.sp0 => {
                let (v, bytes) = *self.slots.get(&signed(off, ctx.abi.bits))?;
                (bytes == m.bytes).then(|| self.view(v, bits, ctx.syms)).flatten()
            }
            Term::Const(addr) => ctx
                .image
                .constant_word(addr, usize::from(m.bytes))
                .map(|v| Term::Const(v & mask(bits))),
            Term::Lin(..) => None,
        }
    }

    fn eval(&self, value: &Value, bits: u8, at: u64, ctx: &mut Ctx<'_>) -> Option<Term> {
        let syms = &mut *ctx.syms;
        let m = mask(bits);
        let t = match *value {
            Value::Opnd(o) => self.opnd(o, bits, syms)?,
            Value::Add(a, b) => match (self.opnd(a, bits, syms)?, self.opnd(b, bits, syms)?) {
                (Term::Const(x), y) | (y, Term::Const(x)) => add(y, x, bits),
                _ => return None,
            },
            Value::Sub(a, b) => match (self.opnd(a, bits, syms)?, self.opnd(b, bits, syms)?) {
                (x, Term::Const(y)) => add(x, y.wrapping_neg(), bits),
                (Term::Lin(s, o1), Term::Lin(t, o2)) if s == t => {
                    Term::Const(o1.wrapping_sub(o2) & m)
                }
                (Term::Lin(s, o1), Term::Lin(t, o2)) => {
                    Term::Lin(syms.intern(Key::Diff(s, t, bits)), o1.wrapping_sub(o2) & m)
                }
                _ => return None,
            },
            Value::And(a, b) => match (self.opnd(a, bits, syms), self.opnd(b, bits, syms)) {
                (Some(Term::Const(x)), Some(Term::Const(y))) => Term::Const(x & y),
                (_, Some(Term::Const(0))) | (Some(Term::Const(0)), _) => Term::Const(0),
                (Some(x), Some(Term::Const(y))) | (Some(Term::Const(y)), Some(x)) if y == m => x,
                _ => return None,
            },
            Value::Or(a, b) | Value::Xor(a, b) => {
                match (self.opnd(a, bits, syms)?, self.opnd(b, bits, syms)?) {
                    (Term::Const(x), Term::Const(y)) if matches!(value, Value::Or(..)) => {
                        Term::Const(x | y)
                    }
                    (Term::Const(x), Term::Const(y)) => Term::Const(x ^ y),
                    (x, Term::Const(0)) | (Term::Const(0), x) => x,
                    _ => return None,
                }
            }
            Value::Shl(a, n) => match self.opnd(a, bits, syms)? {
                Term::Const(x) => Term::Const(x.checked_shl(u32::from(n)).unwrap_or(0) & m),
                _ => return None,
            },
            Value::Shr(a, n) => match self.opnd(a, bits, syms)? {
                Term::Const(x) => Term::Const(x.checked_shr(u32::from(n)).unwrap_or(0)),
                _ => return None,
            },
            Value::Movt(r, imm) => match self.view(self.regs[r as usize], 16, syms)? {
                Term::Const(lo) => Term::Const(lo | (imm << 16)),
                _ => return None,
            },
            Value::Addr(mem) => {
                let t = self.address(&mem, ctx)?;
                return Some(match t {
                    Term::Const(c) => Term::Const(c & m),
                    lin => lin,
                });
            }
            Value::Load(mem) => return self.load(&mem, at, ctx),
            Value::Unknown(_) => return None,
        };
        Some(match t {
            Term::Const(c) => Term::Const(c & m),
            Term::Lin(s, o) => Term::Lin(s, o & m),
        })
    }

    /// A term for `value`, a fresh symbol when it cannot be computed.
    fn eval_or_fresh(
        &self,
        value: &Value,
        bits: u8,
        at: u64,
        slot: u16,
        ctx: &mut Ctx<'_>,
    ) -> Term {
        match self.eval(value, bits, at, ctx) {
            Some(t) => t,
            None => Term::Lin(ctx.syms.intern(Key::Def(ctx.frame, at, slot)), 0),
        }
    }

    fn write(
        &mut self,
        dst: Reg,
        bits: u8,
        t: Option<Term>,
        at: u64,
        slot: u16,
        ctx: &mut Ctx<'_>,
    ) {
        let r = dst as usize;
        let val = match (bits, t) {
            (8 | 16, Some(Term::Const(v))) => match self.regs[r] {
                Val::Const(old) => Val::Const((old & !mask(bits)) | v),
                Val::Low { bits: known, val } if known >= bits => {
                    Val::Low { bits: known, val: (val & !mask(bits)) | v }
                }
                _ => Val::Low { bits, val: v },
            },
            (8 | 16, _) => Val::Top,
            (_, Some(Term::Const(c))) => Val::Const(c & mask(bits)),
            (_, Some(Term::Lin(sym, off))) => Val::Lin { sym, bits, off },
            (_, None) => {
                Val::Lin { sym: ctx.syms.intern(Key::Def(ctx.frame, at, slot)), bits, off: 0 }
            }
        };
        self.regs[r] = val;
    }

    /// Applies one effect of the instruction at `at` (`slot`: the effect's index, below
    /// `0x100`, naming the values it creates).
    pub(crate) fn apply(&mut self, effect: &Effect, at: u64, slot: u16, ctx: &mut Ctx<'_>) {
        match effect {
            Effect::Set { dst, bits, value } => {
                let regs = value.regs();
                let t = self.eval(value, *bits, at, ctx);
                // An address of read-only data: `lea r, [rip + x]`, `adr`, a literal-pool or GOT
                // word, `movw`/`movt`. (A plain immediate is taken for a number.)
                let address_like = match value {
                    Value::Addr(m) | Value::Load(m) => m.fixed.is_some(),
                    Value::Movt(..) => true,
                    _ => false,
                };
                let ro_const = address_like
                    && matches!(t, Some(Term::Const(c)) if ctx.image.is_read_only_data(c));
                let d = bit(*dst);
                self.sp_taint =
                    (self.sp_taint & !d) | if regs & self.sp_taint != 0 { d } else { 0 };
                self.ro_taint = (self.ro_taint & !d)
                    | if regs & self.ro_taint != 0 || ro_const { d } else { 0 };
                self.write(*dst, *bits, t, at, slot, ctx);
            }
            // Values compared but not written get their own names (`0x200..`), apart from
            // written ones (`slot`, below `0x100`) and a call's results (`0x100..`).
            Effect::Compare(a, b, bits) => {
                let x = self.eval_or_fresh(a, *bits, at, 0x200 + slot * 2, ctx);
                let y = self.eval_or_fresh(b, *bits, at, 0x201 + slot * 2, ctx);
                self.flags = Flags::Cmp(x, y, *bits);
            }
            Effect::ZeroTest(v, bits) => {
                let x = self.eval_or_fresh(v, *bits, at, 0x200 + slot * 2, ctx);
                self.flags = Flags::Zero(x, *bits);
            }
            Effect::FlagsUnknown => self.flags = Flags::Unknown,
            Effect::Read(m) => {
                self.note_read(m, at, ctx);
            }
            Effect::Store(m, src) => self.store(m, *src, at, ctx),
            Effect::Call => self.call(at, ctx),
        }
    }

    fn store(&mut self, m: &MemRef, src: Option<Opnd>, at: u64, ctx: &mut Ctx<'_>) {
        let others = !(bit(ctx.abi.sp) | bit(ctx.abi.fp));
        match src {
            Some(Opnd::Reg(r, _)) => {
                if self.sp_taint & bit(r) != 0 {
                    self.escaped = true;
                }
                if self.ro_taint & bit(r) != 0 {
                    ctx.reads.push(DataRead {
                        function: ctx.function,
                        at,
                        addr: None,
                        kind: ReadKind::Stored,
                    });
                }
            }
            Some(Opnd::Imm(_)) => {}
            // What is stored is not known: it may be a frame address.
            None if self.sp_taint & others != 0 => self.escaped = true,
            None => {}
        }
        let a = self.address(m, ctx);
        match a {
            Some(Term::Lin(sym, off)) if sym == ctx.sp0 => {
                let start = signed(off, ctx.abi.bits);
                let end = start + i64::from(m.bytes.max(1));
                self.slots.retain(|&k, &mut (_, b)| k + i64::from(b) <= start || k >= end);
                if end <= 0
                    && m.bytes > 0
                    && let Some(o) = src
                {
                    let bits = m.bytes * 8;
                    let t = self.opnd(o, bits, ctx.syms);
                    let v = match t {
                        Some(Term::Const(c)) => Val::Const(c),
                        Some(Term::Lin(sym, off)) => Val::Lin { sym, bits, off },
                        None => Val::Top,
                    };
                    if v != Val::Top {
                        self.slots.insert(start, (v, m.bytes));
                    }
                }
            }
            _ if self.escaped || m.regs() & self.sp_taint != 0 || m.opaque => self.slots.clear(),
            _ => {}
        }
    }

    fn call(&mut self, at: u64, ctx: &mut Ctx<'_>) {
        let others = !(bit(ctx.abi.sp) | bit(ctx.abi.fp));
        if self.sp_taint & others != 0 {
            self.escaped = true;
        }
        if self.ro_taint & ctx.abi.args != 0 {
            ctx.reads.push(DataRead {
                function: ctx.function,
                at,
                addr: None,
                kind: ReadKind::Passed,
            });
        }
        let bits = ctx.abi.bits;
        for r in 0..16u8 {
            if ctx.abi.callee_saved & bit(r) == 0 {
                let sym = ctx.syms.intern(Key::Def(ctx.frame, at, 0x100 + u16::from(r)));
                self.regs[r as usize] = Val::Lin { sym, bits, off: 0 };
            }
        }
        self.sp_taint &= ctx.abi.callee_saved;
        self.ro_taint &= ctx.abi.callee_saved;
        self.flags = Flags::Unknown;
        if self.escaped {
            self.slots.clear();
        }
    }

    /// Restricts the state to the paths where `guard` holds (or fails); `false` when none
    /// does: the edge is infeasible.
    pub(crate) fn assume(&mut self, guard: Guard, holds: bool, ctx: &mut Ctx<'_>) -> bool {
        match guard {
            Guard::Flags(cond) => {
                let cond = if holds { cond } else { cond.negate() };
                match self.flags {
                    Flags::Unknown => true,
                    Flags::Cmp(x, y, bits) => match (x, y) {
                        (Term::Const(a), Term::Const(b)) => cond_set(cond, b, bits)
                            .is_none_or(|set| !set.intersect(&Ranges::single(bits, a)).is_empty()),
                        (t, Term::Const(k)) => self.restrict(t, bits, cond_set(cond, k, bits), ctx),
                        (Term::Const(k), t) => {
                            self.restrict(t, bits, cond_set(cond.swap(), k, bits), ctx)
                        }
                        (Term::Lin(s, o1), Term::Lin(t, o2)) if s == t => match cond {
                            Cond::Eq => o1 == o2,
                            Cond::Ne => o1 != o2,
                            _ => true,
                        },
                        (x, y) => self.relate(x, y, bits, cond),
                    },
                    Flags::Zero(t, bits) => match cond {
                        Cond::Eq | Cond::Ne => self.restrict(t, bits, cond_set(cond, 0, bits), ctx),
                        _ => true,
                    },
                }
            }
            Guard::Zero(r, taken_if_zero) => {
                let bits = ctx.abi.bits;
                let Some(t) = self.view(self.regs[r as usize], bits, ctx.syms) else { return true };
                let cond = if holds == taken_if_zero { Cond::Eq } else { Cond::Ne };
                self.restrict(t, bits, cond_set(cond, 0, bits), ctx)
            }
        }
    }

    /// Adds "`x <cond> y`" for two values the ranges cannot relate; `false` when a comparison
    /// the path already decided contradicts it.
    fn relate(&mut self, x: Term, y: Term, bits: u8, cond: Cond) -> bool {
        if cond == Cond::Other {
            return true;
        }
        for &(a, b, w, known) in &self.rel {
            let implied = match (w == bits, (a, b) == (x, y), (a, b) == (y, x)) {
                (true, true, _) => known.implies(cond),
                (true, _, true) => known.swap().implies(cond),
                _ => None,
            };
            if let Some(holds) = implied {
                return holds;
            }
        }
        self.rel.insert((x, y, bits, cond));
        true
    }

    /// Adds "`t` is in `set`"; `false` when that leaves no value.
    fn restrict(&mut self, t: Term, bits: u8, set: Option<Ranges>, ctx: &mut Ctx<'_>) -> bool {
        let Some(set) = set else { return true };
        match t {
            Term::Const(c) => !set.intersect(&Ranges::single(bits, c)).is_empty(),
            Term::Lin(sym, off) => {
                let now = self.range(Term::Lin(sym, 0), bits, ctx.syms);
                let next = now.intersect(&set.shift(off.wrapping_neg()));
                if next.is_empty() {
                    return false;
                }
                if !next.is_full() {
                    self.facts.insert((sym, bits), next);
                }
                true
            }
        }
    }

    /// Drops the facts about symbols nothing refers to any more (directly, or through a
    /// zero-extension or a difference of referred symbols), so states that differ only in them
    /// merge.
    pub(crate) fn forget_dead(&mut self, syms: &Symbols) {
        let mut live: Vec<Sym> = Vec::new();
        let mut note = |v: &Val| {
            if let Val::Lin { sym, .. } = v {
                live.push(*sym);
            }
        };
        self.regs.iter().for_each(&mut note);
        self.slots.values().for_each(|(v, _)| note(v));
        let mut term = |t: &Term| {
            if let Term::Lin(s, _) = t {
                live.push(*s);
            }
        };
        match &self.flags {
            Flags::Cmp(a, b, _) => {
                term(a);
                term(b);
            }
            Flags::Zero(a, _) => term(a),
            Flags::Unknown => {}
        }
        let live_sym = |s: Sym| syms.depends_on(s, &live);
        let alive = |t: &Term| match t {
            Term::Lin(s, _) => live_sym(*s),
            Term::Const(_) => true,
        };
        self.rel.retain(|(a, b, _, _)| alive(a) && alive(b));
        self.facts.retain(|(s, _), _| live_sym(*s));
    }

    /// One state for both `self` and `other` (at block `block`): what they agree on, and for a
    /// register they disagree on, a new symbol whose facts are the union of both values.
    pub(crate) fn join(&self, other: &State, block: usize, ctx: &mut Ctx<'_>) -> State {
        let bits = ctx.abi.bits;
        let mut facts: BTreeMap<(Sym, u8), Ranges> = BTreeMap::new();
        for (k, a) in &self.facts {
            if let Some(b) = other.facts.get(k) {
                facts.insert(*k, a.union(b));
            }
        }
        let mut regs = self.regs;
        for (r, reg) in regs.iter_mut().enumerate() {
            if self.regs[r] == other.regs[r] {
                continue;
            }
            let mut range = |s: &State| match s.view(s.regs[r], bits, ctx.syms) {
                Some(t) => s.range(t, bits, ctx.syms),
                None => Ranges::full(bits),
            };
            let mine = range(self);
            let union = mine.union(&range(other));
            let sym = ctx.syms.intern(Key::Join(ctx.frame, block, r as Reg));
            if !union.is_full() {
                facts.insert((sym, bits), union);
            }
            *reg = Val::Lin { sym, bits, off: 0 };
        }
        let slots = self
            .slots
            .iter()
            .filter(|(k, v)| other.slots.get(k) == Some(v))
            .map(|(k, v)| (*k, *v))
            .collect();
        State {
            regs,
            flags: if self.flags == other.flags { self.flags } else { Flags::Unknown },
            facts,
            rel: self.rel.intersection(&other.rel).copied().collect(),
            slots,
            sp_taint: self.sp_taint | other.sp_taint,
            ro_taint: self.ro_taint | other.ro_taint,
            escaped: self.escaped || other.escaped,
        }
    }
}

fn add(t: Term, c: u64, bits: u8) -> Term {
    match t {
        Term::Const(x) => Term::Const(x.wrapping_add(c) & mask(bits)),
        Term::Lin(s, o) => Term::Lin(s, o.wrapping_add(c) & mask(bits)),
    }
}
