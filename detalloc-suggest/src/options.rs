//! [`Options`] of a suggestion: pool count, budget, margin, and how the declaration reads.

use std::fmt;

use crate::peaks::EXACT_SIZES;

/// Extra blocks on top of the recorded peak of each pool: `peak + round(peak x percent / 100)
/// + blocks` (rounded half up, so that a pool of 2 large blocks does not grow by one for a
/// 2 % margin). The suggestion's counts cover the largest peak seen over the recorded runs;
/// a margin covers what the runs did not show (another interleaving of threads, a longer
/// input). [`Margin::NONE`] by default.
///
/// With [`Options::spill`] the percent still applies to each pool's count, but `blocks` are
/// **spare blocks in one pool**, not one per pool: spill lets a spare block of pool `j` serve
/// an overflow of any pool below it, so they go to the pool that covers the largest sizes at
/// risk (see [`spare_pool`](crate::spare_pool)).
///
/// ```
/// use detalloc_suggest::Margin;
///
/// assert_eq!(Margin::NONE.apply(40), 40);
/// assert_eq!(Margin { percent: 10, blocks: 1 }.apply(40), 40 + 4 + 1);
/// assert_eq!(Margin { percent: 10, blocks: 0 }.apply(5), 5 + 1); // 0.5 rounds up
/// assert_eq!(Margin { percent: 2, blocks: 0 }.apply(14), 14); // 0.28 rounds down
/// assert_eq!("10%+2".parse::<Margin>(), Ok(Margin { percent: 10, blocks: 2 }));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Margin {
    /// Percent of the peak to add, rounded half up.
    pub percent: u32,
    /// Blocks to add to every pool.
    pub blocks: u64,
}

impl Margin {
    /// No margin: exactly the largest recorded peak.
    pub const NONE: Self = Self { percent: 0, blocks: 0 };

    /// The block count for a recorded peak of `peak` (saturating).
    pub const fn apply(&self, peak: u64) -> u64 {
        let extra = (peak as u128 * self.percent as u128 + 50) / 100;
        let extra = if extra > u64::MAX as u128 { u64::MAX } else { extra as u64 };
        peak.saturating_add(extra).saturating_add(self.blocks)
    }
}

impl fmt::Display for Margin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.percent, self.blocks) {
            (0, 0) => f.write_str("none"),
            (p, 0) => write!(f, "{p}%"),
            (0, b) => write!(f, "+{b} blocks"),
            (p, b) => write!(f, "{p}%+{b} blocks"),
        }
    }
}

/// A margin as written on the command line: `10%`, `+2` (blocks), `10%+2`, or `none`.
impl std::str::FromStr for Margin {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a margin: write 10%, +2 (blocks), 10%+2 or none");
        if text == "none" {
            return Ok(Self::NONE);
        }
        let (percent, blocks) = match text.split_once('%') {
            Some((percent, rest)) => (percent.parse().map_err(|_| bad())?, rest),
            None => (0, text),
        };
        let blocks = match blocks {
            "" => 0,
            rest => rest.strip_prefix('+').and_then(|b| b.parse().ok()).ok_or_else(bad)?,
        };
        Ok(Self { percent, blocks })
    }
}

/// The `sync:` mode the declaration names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SyncChoice {
    /// From the recording: `spin` when the heap is the global allocator (a `static` must be
    /// `Sync`) or more than one thread allocated, else `local`.
    #[default]
    Auto,
    /// `sync: local` (one thread, not `Sync`: no global allocator).
    Local,
    /// `sync: spin`.
    Spin,
    /// `sync: critical_section` (single-core targets, needs detalloc's `critical-section`
    /// feature).
    CriticalSection,
    /// `sync: lock_free`.
    LockFree,
}

impl SyncChoice {
    /// The keyword as the macro spells it; `None` for `Auto`.
    pub const fn keyword(self) -> Option<&'static str> {
        match self {
            SyncChoice::Auto => None,
            SyncChoice::Local => Some("local"),
            SyncChoice::Spin => Some("spin"),
            SyncChoice::CriticalSection => Some("critical_section"),
            SyncChoice::LockFree => Some("lock_free"),
        }
    }
}

/// A mode as the macro spells it (`local`, `spin`, `critical_section`, `lock_free`), or `auto`.
impl std::str::FromStr for SyncChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "auto" => SyncChoice::Auto,
            "local" => SyncChoice::Local,
            "spin" => SyncChoice::Spin,
            "critical_section" => SyncChoice::CriticalSection,
            "lock_free" => SyncChoice::LockFree,
            _ => {
                return Err(format!(
                    "`{text}` is not a sync mode: auto, local, spin, critical_section, lock_free"
                ));
            }
        })
    }
}

/// What [`suggest`](crate::suggest) optimises and how it writes the declaration.
///
/// ```
/// use detalloc_suggest::{Margin, Options, SyncChoice};
///
/// let options = Options::new(8)
///     .budget(16 << 20)
///     .margin(Margin { percent: 5, blocks: 1 })
///     .sync(SyncChoice::Spin)
///     .name("AppHeap")
///     .global(None); // declare the type only, no `#[global_allocator]` static
/// assert_eq!(options.pools, 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    /// At most this many pools (the suggestion uses fewer when that costs no byte more).
    pub pools: usize,
    /// At most this many bytes of blocks, or [`SuggestError::OverBudget`](crate::SuggestError).
    pub budget: Option<usize>,
    /// Blocks on top of each pool's recorded peak ([`Margin::NONE`] by default).
    pub margin: Margin,
    /// The `sync:` mode ([`SyncChoice::Auto`] by default).
    pub sync: SyncChoice,
    /// The heap type's name (`SizedHeap` by default).
    pub name: String,
    /// The name of the `#[global_allocator]` static the declaration ends with (`HEAP` by
    /// default); `None` for the type alone.
    pub global: Option<String>,
    /// Up to this many distinct sizes ([`EXACT_SIZES`] by default), every size is a candidate
    /// class boundary and the result is the exact optimum. Above, sizes within a factor
    /// `1 + 2^-g` of each other are grouped (the finest `g` that gives at most this many
    /// groups) and the result is the optimum over the splits between groups. The time to
    /// compute the peaks grows with the number of candidates times the number of events.
    pub exact_sizes: usize,
    /// Declare the heap with `spill: true` and size it for spill: block sizes that minimise
    /// the lower bound for their sizes, counts found by replaying every run under every
    /// [`FreePolicy`](crate::FreePolicy); the margin's `blocks` are then spare blocks in one
    /// pool (see [`Margin`]). `false` by default: each pool holds its own class's peak.
    pub spill: bool,
}

impl Options {
    /// At most `pools` pools, no budget, no margin, `sync` chosen from the recording, a type
    /// `SizedHeap` and a global allocator `HEAP`.
    pub fn new(pools: usize) -> Self {
        Self {
            pools,
            budget: None,
            margin: Margin::NONE,
            sync: SyncChoice::Auto,
            name: String::from("SizedHeap"),
            global: Some(String::from("HEAP")),
            exact_sizes: EXACT_SIZES,
            spill: false,
        }
    }

    /// With a budget in bytes of blocks.
    pub fn budget(mut self, bytes: usize) -> Self {
        self.budget = Some(bytes);
        self
    }

    /// With a margin on every pool.
    pub fn margin(mut self, margin: Margin) -> Self {
        self.margin = margin;
        self
    }

    /// Sized for `spill: true` (or not).
    pub fn spill(mut self, spill: bool) -> Self {
        self.spill = spill;
        self
    }

    /// With this `sync:` mode.
    pub fn sync(mut self, sync: SyncChoice) -> Self {
        self.sync = sync;
        self
    }

    /// With this type name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// With this global allocator static (`None`: the type alone).
    pub fn global(mut self, global: Option<&str>) -> Self {
        self.global = global.map(str::to_owned);
        self
    }
}

impl Default for Options {
    /// [`Options::new(8)`](Options::new).
    fn default() -> Self {
        Self::new(8)
    }
}
