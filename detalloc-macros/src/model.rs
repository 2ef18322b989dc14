//! The macro's own types: what `parse` reads (every value with its span) and what `check`
//! hands to `expand` (a configuration known to be valid).

use proc_macro2::Span;
use syn::{Attribute, Ident, Type, Visibility};

/// A value with the span of the tokens it came from.
#[derive(Debug, Clone, Copy)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// One `S x N` item of a pool list, with its `in "SECTION"` placements (at most one is
/// valid; `check` reports the others).
#[derive(Debug, Clone)]
pub struct PoolDecl {
    pub size: Spanned<u64>,
    pub count: Spanned<u64>,
    /// The whole item, for errors about the pool as a whole.
    pub span: Span,
    /// Each `in unsafe("SECTION")` (or `in "SECTION"`, an error).
    pub sections: Vec<Section>,
}

/// One `in unsafe("SECTION")` after a pool.
#[derive(Debug, Clone)]
pub struct Section {
    /// The span of `in`.
    pub at: Span,
    /// The section's name, with its span.
    pub name: Spanned<String>,
    /// Whether the user wrote `unsafe(..)` around the name: their promise that the section is
    /// writable RAM nothing else uses (`#[unsafe(link_section)]` in the expansion).
    pub promised: bool,
}

/// `arena: SIZE [align A] [in unsafe("SECTION")]`: an arena's buffer, as written.
#[derive(Debug, Clone)]
pub struct ArenaDecl {
    /// Bytes (units applied), spanned at the size (and its unit).
    pub size: Spanned<u64>,
    /// `align A`: the buffer's alignment.
    pub align: Option<Spanned<u64>>,
    /// Each `in unsafe("SECTION")` (at most one is valid; `check` reports the others).
    pub sections: Vec<Section>,
}

/// An arena `check` accepted: `1 <= size`, `align` a power of two `<= 4096`, at most one
/// section (static form only).
#[derive(Debug, Clone)]
pub struct ArenaDef {
    pub size: Spanned<u64>,
    pub align: u64,
    pub section: Option<String>,
}

/// Which form the declaration has: `struct Type<...>;` (a type; values made with `new()`),
/// or `static NAME: Type<...>;` (the type and its one value, each pool's buffer its own
/// static, placeable with `in "SECTION"`).
#[derive(Debug, Clone)]
pub enum Form {
    Struct,
    Static { value: Ident },
}

/// The pool list `[S x N, ...]`, with the span of its brackets.
#[derive(Debug, Clone)]
pub struct PoolList {
    pub pools: Vec<PoolDecl>,
    pub span: Span,
}

/// A documented pool table (`preset: audio`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Audio,
    Robotics,
    Networking,
    Embedded,
}

impl Preset {
    pub const NAMES: &'static [&'static str] = &["audio", "robotics", "networking", "embedded"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "audio" => Preset::Audio,
            "robotics" => Preset::Robotics,
            "networking" => Preset::Networking,
            "embedded" => Preset::Embedded,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Audio => "audio",
            Preset::Robotics => "robotics",
            Preset::Networking => "networking",
            Preset::Embedded => "embedded",
        }
    }
}

/// `sync: ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    Local,
    CriticalSection,
    Spin,
    LockFree,
}

impl SyncMode {
    pub const NAMES: &'static [&'static str] = &["local", "critical_section", "spin", "lock_free"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "local" => SyncMode::Local,
            "critical_section" => SyncMode::CriticalSection,
            "spin" => SyncMode::Spin,
            "lock_free" => SyncMode::LockFree,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Local => "local",
            SyncMode::CriticalSection => "critical_section",
            SyncMode::Spin => "spin",
            SyncMode::LockFree => "lock_free",
        }
    }
}

/// `validate: debug | true | false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validate {
    Debug,
    On,
    Off,
}

impl Validate {
    pub fn name(self) -> &'static str {
        match self {
            Validate::Debug => "debug",
            Validate::On => "on",
            Validate::Off => "off",
        }
    }
}

/// The value of one key, as parsed.
#[derive(Clone)]
pub enum Value {
    Pools(PoolList),
    Preset(Spanned<Preset>),
    Sync(Spanned<SyncMode>),
    Stats(Spanned<bool>),
    Validate(Spanned<Validate>),
    Wcet(Box<Type>),
    Hooks(Box<Type>),
    Budget(Spanned<u64>),
    Align(Spanned<u64>),
    Spill(Spanned<bool>),
    Waiters(Spanned<u64>),
    Arena(ArenaDecl),
    Poison(Spanned<Validate>),
    /// The value had an error (already reported); the key still counts as given.
    Invalid,
}

/// The keys the macro knows, in the order the docs list them.
pub const KEYS: &[&str] = &[
    "pools", "preset", "sync", "stats", "validate", "wcet", "hooks", "budget", "align", "spill",
    "waiters", "arena", "poison",
];

/// The keys of a heap's pools, which an arena declaration does not take.
pub const POOL_KEYS: &[&str] =
    &["pools", "preset", "validate", "hooks", "align", "spill", "waiters"];

/// `key: value`.
#[derive(Clone)]
pub struct Entry {
    pub key: Ident,
    pub value: Value,
}

/// The declaration as written (keys may repeat or conflict; `check` decides).
#[derive(Clone)]
pub struct Declaration {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub form: Form,
    /// The type's name.
    pub ident: Ident,
    pub entries: Vec<Entry>,
}

/// A pool known to be valid: `size >= 4`, `count >= 1`, `size * count` within 4 GiB, and
/// (static form only) at most one non-empty section.
#[derive(Debug, Clone)]
pub struct PoolDef {
    pub size: u64,
    pub count: u64,
    pub span: Span,
    /// The linker section of its buffer (`in "SECTION"`), if placed.
    pub section: Option<String>,
}

/// The alignment rule (the runtime's `detalloc::PoolSpec` states it too): a block of `size`
/// bytes is aligned to the largest power of two dividing `size`, at most 4096.
pub fn block_align(size: u64) -> u64 {
    1 << size.trailing_zeros().min(12)
}

impl PoolDef {
    /// The alignment of this pool's blocks.
    pub fn align(&self) -> u64 {
        block_align(self.size)
    }

    pub fn bytes(&self) -> u64 {
        self.size * self.count
    }
}

/// A configuration `check` accepted: all `expand` ever sees.
pub struct Config {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub form: Form,
    pub ident: Ident,
    pub pools: Vec<PoolDef>,
    /// Span of the `pools`/`preset` value, for errors about the pools as a whole.
    pub pools_span: Span,
    pub preset: Option<Preset>,
    pub sync: Spanned<SyncMode>,
    pub stats: bool,
    pub validate: Validate,
    pub wcet: Option<Box<Type>>,
    pub hooks: Option<Box<Type>>,
    pub spill: bool,
    /// `waiters: K`: each pool's queue of waiting allocations (0: none).
    pub waiters: u64,
    pub total_bytes: u64,
    /// `arena: ...`: the declaration is an arena (and `pools` is empty).
    pub arena: Option<ArenaDef>,
    /// `poison: ...` (arenas only).
    pub poison: Validate,
}
