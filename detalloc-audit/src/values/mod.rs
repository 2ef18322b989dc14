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
//! **Stack.** Stores to the frame (below the stack pointer at the walked function's entry,
//! callees followed included) are remembered. A store through a pointer not derived from the
//! stack pointer cannot change them until the frame's address escapes (stored to memory, or in
//! a register at a call not followed); from then on any such store forgets them. A call not
//! followed forgets them all (a callee may write its stack arguments, which lie in the frame).
//!
//! Soundness rests on two rules: every write the decoder reports is applied (an unknown value
//! becomes a fresh symbol), and a fact is only added on the edge whose condition implies it.

use std::collections::{BTreeMap, BTreeSet};

use crate::elf::Image;
use crate::ranges::{Ranges, mask};
use crate::sem::{Abi, Cond, Effect, Opnd, REGS, Reg, RegSet, Value, bit};
pub(crate) use crate::symbols::Symbols;
use crate::symbols::{Key, Sym, Term, Val, add};

mod branch;
mod memory;

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
    regs: [Val; REGS],
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

    /// Forgets the registers `dead` (no path reads them before replacing them), so states that
    /// differ only there merge.
    pub(crate) fn forget_registers(&mut self, dead: RegSet) {
        for (r, v) in self.regs.iter_mut().enumerate() {
            if dead & bit(r as Reg) != 0 {
                *v = Val::Top;
            }
        }
        self.sp_taint &= !dead;
        self.ro_taint &= !dead;
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
            // An address at the register width, narrowed to `bits` below.
            Value::Addr(mem) => self.address(&mem, ctx)?,
            Value::Load(mem) => {
                // A value of `mem.bytes`, zero-extended to `bits`.
                let width = mem.bytes * 8;
                match self.load(&mem, at, ctx)? {
                    Term::Lin(s, o) if width < bits => {
                        Term::Lin(ctx.syms.intern(Key::Zext(s, width, o)), 0)
                    }
                    t => t,
                }
            }
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
        for r in 0..REGS as u8 {
            if ctx.abi.callee_saved & bit(r) == 0 {
                let sym = ctx.syms.intern(Key::Def(ctx.frame, at, 0x100 + u16::from(r)));
                self.regs[r as usize] = Val::Lin { sym, bits, off: 0 };
            }
        }
        self.sp_taint &= ctx.abi.callee_saved;
        self.ro_taint &= ctx.abi.callee_saved;
        self.flags = Flags::Unknown;
        // A callee may write its stack arguments, which lie in this frame (and, once the
        // frame's address escaped, anywhere in it): nothing is kept across a call not followed.
        self.slots.clear();
    }
}
