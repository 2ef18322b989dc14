//! The widest atomic word the target has, the one switch for every wide counter: 64 bits where
//! the target has 64-bit atomics, else 32 (a count then wraps, a tick record saturates). The
//! `lock_free` counters use the shim's word (loom's under `--cfg loom`, so the models explore
//! them); the WCET record uses `core`'s (its `const` constructor builds a heap in a `static`).

#[cfg(target_has_atomic = "64")]
mod width {
    pub type Word = crate::sync::shim::AtomicU64;
    pub type CoreWord = core::sync::atomic::AtomicU64;
    pub type Value = u64;
    pub type Signed = i64;
}
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
mod width {
    pub type Word = crate::sync::shim::AtomicU32;
    pub type CoreWord = core::sync::atomic::AtomicU32;
    pub type Value = u32;
    pub type Signed = i32;
}

pub use width::{CoreWord, Signed, Value, Word};

/// `ticks` as a [`Value`], saturating: a 32-bit record never under-reports a maximum.
#[inline(always)]
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
pub fn narrow(ticks: u64) -> Value {
    Value::try_from(ticks).unwrap_or(Value::MAX)
}

/// A [`Value`] as 64 bits.
#[inline(always)]
#[allow(clippy::useless_conversion)]
pub fn widen(value: Value) -> u64 {
    value.into()
}
