//! Branch conditions (what an edge implies about values, and whether it can be taken), and
//! the merging of states where paths meet.

use std::collections::BTreeMap;

use super::{Ctx, Flags, State};
use crate::ranges::{Ranges, mask};
use crate::sem::{Cond, Guard, Reg};
use crate::symbols::{Key, Sym, Symbols, Term, Val};

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
    /// Restricts the state to the paths where `guard` holds (or fails); `false` when none
    /// does: the edge is infeasible.
    pub(crate) fn assume(&mut self, guard: Guard, holds: bool, ctx: &mut Ctx<'_>) -> bool {
        match guard {
            Guard::Flags(cond) => {
                let cond = if holds { cond } else { cond.negate() };
                match self.flags {
                    Flags::Unknown => true,
                    Flags::Cmp(x, y, bits) => self.decide(x, y, bits, cond, ctx),
                    Flags::Zero(t, bits) => match cond {
                        Cond::Eq | Cond::Ne => self.restrict(t, bits, cond_set(cond, 0, bits), ctx),
                        _ => true,
                    },
                }
            }
            Guard::Compare(a, b, cond) => {
                let cond = if holds { cond } else { cond.negate() };
                let bits = ctx.abi.bits;
                let x = self.opnd(a, bits, ctx.syms);
                let y = self.opnd(b, bits, ctx.syms);
                match (x, y) {
                    (Some(x), Some(y)) => self.decide(x, y, bits, cond, ctx),
                    _ => true,
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

    /// Restricts the state to the paths where `x <cond> y` (at `bits`); `false` when none.
    fn decide(&mut self, x: Term, y: Term, bits: u8, cond: Cond, ctx: &mut Ctx<'_>) -> bool {
        match (x, y) {
            (Term::Const(a), Term::Const(b)) => cond_set(cond, b, bits)
                .is_none_or(|set| !set.intersect(&Ranges::single(bits, a)).is_empty()),
            (t, Term::Const(k)) => self.restrict(t, bits, cond_set(cond, k, bits), ctx),
            (Term::Const(k), t) => self.restrict(t, bits, cond_set(cond.swap(), k, bits), ctx),
            // The same value on both sides: equal; with different offsets, not
            // equal (their order depends on wrapping).
            (Term::Lin(s, o1), Term::Lin(t, o2)) if s == t && o1 == o2 => {
                matches!(cond, Cond::Eq | Cond::Uge | Cond::Ule)
            }
            (Term::Lin(s, _), Term::Lin(t, _)) if s == t => match cond {
                Cond::Eq => false,
                Cond::Ne => true,
                _ => true,
            },
            (x, y) => self.relate(x, y, bits, cond),
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
