//! Memory as the value analysis sees it: addresses of memory operands, reads of read-only data,
//! loads (from the function's own stack slots and from constant memory), and stores.

use super::{Ctx, DataRead, ReadKind, State, signed};
use crate::ranges::mask;
use crate::sem::{MemRef, Opnd, bit};
use crate::symbols::{Term, Val, add};

impl State {
    /// The address of a memory operand, at the register width.
    pub(super) fn address(&self, m: &MemRef, ctx: &mut Ctx<'_>) -> Option<Term> {
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
    pub(super) fn note_read(&self, m: &MemRef, at: u64, ctx: &mut Ctx<'_>) -> Option<Term> {
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

    pub(super) fn load(&self, m: &MemRef, at: u64, ctx: &mut Ctx<'_>) -> Option<Term> {
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

    pub(super) fn store(&mut self, m: &MemRef, src: Option<Opnd>, at: u64, ctx: &mut Ctx<'_>) {
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
}
