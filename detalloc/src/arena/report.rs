//! An arena's printable report: its summary line and its figures.

use core::fmt;

use super::{Arena, Stopwatch};

/// From [`Arena::report`]: the summary line, then the figures, read when printed.
///
/// ```text
/// Scratch: arena 16384 B (align 64) + 48 B metadata, sync=critical_section stats=on poison=off
/// used 0 of 16384 B (peak 1030 B); 2 allocs, 0 failures; 1 scopes, 0 refused
/// wcet: alloc max 31 ticks
/// ```
///
/// The `wcet` line appears only with `wcet:` declared.
pub struct ArenaReport<'a, A: Arena> {
    arena: &'a A,
}

impl<'a, A: Arena> ArenaReport<'a, A> {
    pub(super) fn new(arena: &'a A) -> Self {
        Self { arena }
    }
}

impl<A: Arena> fmt::Display for ArenaReport<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.arena.stats();
        writeln!(f, "{}", A::SUMMARY)?;
        writeln!(
            f,
            "used {} of {} B (peak {} B); {} allocs, {} failures; {} scopes, {} refused",
            s.used, s.capacity, s.peak, s.allocs, s.failures, s.scopes, s.busy
        )?;
        if A::__Wcet::ON {
            writeln!(f, "wcet: alloc max {} ticks", s.wcet_alloc_ticks)?;
        }
        Ok(())
    }
}

impl<A: Arena> fmt::Debug for ArenaReport<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
