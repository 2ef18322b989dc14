//! The names the value analysis ([`crate::values`]) gives values it cannot compute but can
//! recognise again ([`Key`]), and the abstract values registers hold ([`Val`], [`Term`]).

use std::collections::HashMap;

use crate::ranges::{Ranges, mask};
use crate::sem::Reg;

/// A symbol: an index into [`Symbols`].
pub(crate) type Sym = u32;

/// What a symbol stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
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
    pub(crate) fn intern(&mut self, key: Key) -> Sym {
        if let Some(&s) = self.ids.get(&key) {
            return s;
        }
        let s = self.keys.len() as Sym;
        self.keys.push(key);
        self.ids.insert(key, s);
        s
    }

    /// Whether `sym` is one of `live`, or derived from them only.
    pub(crate) fn depends_on(&self, sym: Sym, live: &[Sym]) -> bool {
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
    pub(crate) fn initial(&self, sym: Sym, bits: u8) -> Ranges {
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

/// `t + c` modulo `2^bits`.
pub(crate) fn add(t: Term, c: u64, bits: u8) -> Term {
    match t {
        Term::Const(x) => Term::Const(x.wrapping_add(c) & mask(bits)),
        Term::Lin(s, o) => Term::Lin(s, o.wrapping_add(c) & mask(bits)),
    }
}
