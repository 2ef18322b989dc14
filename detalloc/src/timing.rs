//! Worst-case execution time records (`wcet: SomeClock`): per operation the maximum, the
//! total and the count of clock ticks. Without `wcet` the heap holds [`NoTimer`], a
//! zero-sized type whose every function is empty: no clock read, no store.
//!
//! Where the record lives depends on the sync mode, so recording never adds a lock that
//! allocation does not already take: `local` uses plain cells, `spin` (and `lock_free`)
//! atomic max/add, `critical_section` one extra short critical section.

use core::cell::Cell;
use core::marker::PhantomData;
use core::sync::atomic::{Ordering, compiler_fence};

use crate::Clock;

/// The measured figures of one operation kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpTiming {
    /// Operations measured.
    pub count: u64,
    /// Sum of their ticks.
    pub total: u64,
    /// The longest, in ticks (the WCET observed).
    pub max: u64,
}

impl OpTiming {
    /// Mean ticks per operation (0 when none was measured).
    pub fn mean(&self) -> u64 {
        self.total.checked_div(self.count).unwrap_or(0)
    }
}

/// WCET figures of a heap declared with `wcet: SomeClock` (see [`Heap::timing`](crate::Heap::timing)).
/// Ticks include one clock read (nothing subtracted): see [`clock::overhead`](crate::clock::overhead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// `allocate` calls, successful or not.
    pub alloc: OpTiming,
    /// `deallocate` calls, accepted or refused.
    pub free: OpTiming,
}

/// The heap's timer: [`NoTimer`] or [`Timed`].
pub trait Timer {
    /// What `start` returns and `record_*` takes.
    type Mark: Copy;
    /// The initial (all-zero) value.
    const ZERO: Self;
    /// Reads the clock at the start of an operation.
    fn start() -> Self::Mark;
    /// Records an allocation begun at `mark`.
    fn record_alloc(&self, mark: Self::Mark);
    /// Records a free begun at `mark`.
    fn record_free(&self, mark: Self::Mark);
    /// The figures, `None` without a clock.
    fn read(&self) -> Option<Timing>;
    /// All figures to 0.
    fn reset(&self);
}

/// No WCET tracking: nothing is read or stored.
#[derive(Debug)]
pub struct NoTimer;

impl Timer for NoTimer {
    type Mark = ();
    const ZERO: Self = NoTimer;
    #[inline(always)]
    fn start() {}
    #[inline(always)]
    fn record_alloc(&self, (): ()) {}
    #[inline(always)]
    fn record_free(&self, (): ()) {}
    fn read(&self) -> Option<Timing> {
        None
    }
    fn reset(&self) {}
}

/// Where the figures are kept: one implementation per sync mode.
pub trait TickRecord {
    /// The initial (all-zero) value.
    const ZERO: Self;
    /// Adds one measurement of `ticks` to operation `op` (0 = alloc, 1 = free).
    fn record(&self, op: usize, ticks: u64);
    /// Reads operation `op`'s figures.
    fn read(&self, op: usize) -> OpTiming;
    /// All figures to 0.
    fn reset(&self);
}

/// WCET tracking with clock `C`, figures kept in `R`.
pub struct Timed<C: Clock, R: TickRecord> {
    record: R,
    _clock: PhantomData<fn() -> C>,
}

impl<C: Clock, R: TickRecord> Timer for Timed<C, R> {
    type Mark = u64;
    const ZERO: Self = Timed { record: R::ZERO, _clock: PhantomData };

    /// Reads the clock, then fences: no access of the operation moves before the read.
    #[inline(always)]
    fn start() -> u64 {
        let mark = C::now();
        compiler_fence(Ordering::SeqCst);
        mark
    }

    #[inline(always)]
    fn record_alloc(&self, mark: u64) {
        self.record.record(0, C::elapsed(mark, end::<C>()));
    }

    #[inline(always)]
    fn record_free(&self, mark: u64) {
        self.record.record(1, C::elapsed(mark, end::<C>()));
    }

    fn read(&self) -> Option<Timing> {
        Some(Timing { alloc: self.record.read(0), free: self.record.read(1) })
    }

    fn reset(&self) {
        self.record.reset();
    }
}

/// Fences, then reads the clock: no access of the operation moves after the read.
#[inline(always)]
fn end<C: Clock>() -> u64 {
    compiler_fence(Ordering::SeqCst);
    C::now()
}

/// Plain cells, for `sync: local` (the heap is `!Sync`).
pub struct LocalTicks([[Cell<u64>; 3]; 2]);

impl TickRecord for LocalTicks {
    const ZERO: Self = LocalTicks([const { [const { Cell::new(0) }; 3] }; 2]);

    #[inline(always)]
    fn record(&self, op: usize, ticks: u64) {
        if let Some([count, total, max]) = self.0.get(op) {
            count.set(count.get().wrapping_add(1));
            total.set(total.get().wrapping_add(ticks));
            max.set(max.get().max(ticks));
        }
    }

    fn read(&self, op: usize) -> OpTiming {
        self.0.get(op).map_or_else(OpTiming::default, |[count, total, max]| OpTiming {
            count: count.get(),
            total: total.get(),
            max: max.get(),
        })
    }

    fn reset(&self) {
        self.0.iter().flatten().for_each(|c| c.set(0));
    }
}

#[cfg(target_has_atomic = "32")]
use crate::sync::wide as atomic;

/// Atomic counters, for `sync: spin` and `lock_free`: one `fetch_add` per count and total,
/// one `fetch_max`. 32-bit targets keep 32-bit figures (saturating ticks, wrapping totals).
#[cfg(target_has_atomic = "32")]
pub struct AtomicTicks([[atomic::CoreWord; 3]; 2]);

#[cfg(target_has_atomic = "32")]
impl TickRecord for AtomicTicks {
    const ZERO: Self = AtomicTicks([const { [const { atomic::CoreWord::new(0) }; 3] }; 2]);

    #[inline(always)]
    fn record(&self, op: usize, ticks: u64) {
        use core::sync::atomic::Ordering::Relaxed;
        if let Some([count, total, max]) = self.0.get(op) {
            let ticks = atomic::narrow(ticks);
            count.fetch_add(1, Relaxed);
            total.fetch_add(ticks, Relaxed);
            max.fetch_max(ticks, Relaxed);
        }
    }

    fn read(&self, op: usize) -> OpTiming {
        use core::sync::atomic::Ordering::Relaxed;
        self.0.get(op).map_or_else(OpTiming::default, |[count, total, max]| OpTiming {
            count: atomic::widen(count.load(Relaxed)),
            total: atomic::widen(total.load(Relaxed)),
            max: atomic::widen(max.load(Relaxed)),
        })
    }

    fn reset(&self) {
        use core::sync::atomic::Ordering::Relaxed;
        self.0.iter().flatten().for_each(|c| c.store(0, Relaxed));
    }
}

/// Stand-in on targets without atomics, where `spin` and `lock_free` are compile errors.
#[cfg(not(target_has_atomic = "32"))]
pub type AtomicTicks = NoTicks;

/// Figures updated inside a critical section, for `sync: critical_section`.
#[cfg(feature = "critical-section")]
pub struct CriticalTicks(critical_section::Mutex<LocalTicks>);

#[cfg(feature = "critical-section")]
impl TickRecord for CriticalTicks {
    const ZERO: Self = CriticalTicks(critical_section::Mutex::new(LocalTicks::ZERO));

    #[inline(always)]
    fn record(&self, op: usize, ticks: u64) {
        critical_section::with(|cs| self.0.borrow(cs).record(op, ticks));
    }

    fn read(&self, op: usize) -> OpTiming {
        critical_section::with(|cs| self.0.borrow(cs).read(op))
    }

    fn reset(&self) {
        critical_section::with(|cs| self.0.borrow(cs).reset());
    }
}

/// Stand-in without the `critical-section` feature, where that mode is a compile error.
#[cfg(not(feature = "critical-section"))]
pub type CriticalTicks = NoTicks;

/// Records nothing. Only named next to a `compile_error!` (see `sync::unsupported`).
#[allow(dead_code)]
pub struct NoTicks;

impl TickRecord for NoTicks {
    const ZERO: Self = NoTicks;
    fn record(&self, _: usize, _: u64) {}
    fn read(&self, _: usize) -> OpTiming {
        OpTiming::default()
    }
    fn reset(&self) {}
}
