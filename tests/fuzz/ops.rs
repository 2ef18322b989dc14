//! The operations a fuzz case is made of, and the seeded generator that turns a seed into a
//! sequence of them.
//!
//! Every operation names the allocation it acts on by an [`Id`] that the generator hands out
//! once, so removing operations from a case (the shrinker's job) leaves the others meaning the
//! same thing: an operation whose allocation does not exist (it was never made, or failed) is
//! skipped when the case runs. Sizes and alignments are stored as given; the runner clamps
//! them to each API's contract when it executes them (a grow never shrinks, a `GlobalAlloc`
//! call never sees size 0), so a shrunk case is still a valid program.

use detalloc_tests::Rng;

use crate::heaps::Shape;

/// Names one allocation (or one waiting future, and then the block it gets) within a case.
pub type Id = u16;

/// The allocation APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocApi {
    /// `Heap::allocate`.
    Heap,
    /// `GlobalAlloc::alloc` (called on the heap value).
    Global,
    /// `GlobalAlloc::alloc_zeroed`.
    GlobalZeroed,
    /// allocator-api2 `Allocator::allocate` on `&Heap`.
    Api2,
    /// allocator-api2 `Allocator::allocate_zeroed`.
    Api2Zeroed,
}

/// The free APIs; every free names the layout the allocation has now (its last request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeApi {
    /// `Heap::deallocate` (its result must be `Ok`).
    Heap,
    /// `GlobalAlloc::dealloc` (a zero-size allocation falls back to `Heap::deallocate`).
    Global,
    /// allocator-api2 `Allocator::deallocate`.
    Api2,
}

/// The resizing APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeApi {
    /// `GlobalAlloc::realloc` (new size at least 1, alignment unchanged).
    Realloc,
    /// allocator-api2 `grow` (new size at least the old one).
    Grow,
    /// allocator-api2 `grow_zeroed`.
    GrowZeroed,
    /// allocator-api2 `shrink` (new size at most the old one).
    Shrink,
}

/// A free the heap must refuse (with validation; `Foreign` also without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// The allocation's block again, after it was freed (skipped while the block is reused).
    Double,
    /// A pointer inside the allocation's block, `1 + offset % (block size - 1)` bytes in.
    Interior {
        /// Where inside the block.
        offset: u32,
    },
    /// A pointer into a buffer the heap does not own.
    Foreign,
    /// The live allocation freed with a layout that selects a pool it does not belong to
    /// (skipped when the heap would rightly accept that layout).
    WrongLayout {
        /// Size of the wrong layout.
        size: u32,
        /// Alignment of the wrong layout.
        align: u32,
    },
}

/// What a hook or a waker callback does to the heap under test, re-entering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    None,
    /// Allocates a block for `size`/`align`, fills it, checks it, frees it.
    AllocFree {
        /// Requested size.
        size: u32,
        /// Requested alignment.
        align: u32,
    },
    /// Allocates a block for `size`/`align` and keeps it in the bag (the blocks hooks and
    /// wakers own).
    Keep {
        /// Requested size.
        size: u32,
        /// Requested alignment.
        align: u32,
    },
    /// Frees the oldest block of the bag (nothing when the bag is empty).
    FreeOne,
}

/// What a waker does when the heap clones it, drops it, or wakes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakerSpec {
    /// Run by `clone`.
    pub on_clone: Action,
    /// Run by `drop` (and by `wake`, which consumes the waker, after `on_wake`).
    pub on_drop: Action,
    /// Run by `wake` and `wake_by_ref`.
    pub on_wake: Action,
}

impl WakerSpec {
    /// A waker that does nothing but record its calls.
    pub const QUIET: Self =
        Self { on_clone: Action::None, on_drop: Action::None, on_wake: Action::None };
}

/// One step of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Allocates `id` for `size`/`align` through `api`.
    Alloc { id: Id, api: AllocApi, size: u32, align: u32 },
    /// Frees `id` with its current layout.
    Free { id: Id, api: FreeApi },
    /// Resizes `id` to `size`/`align` (clamped to the API's contract).
    Resize { id: Id, api: ResizeApi, size: u32, align: u32 },
    /// A free the heap must refuse, about `id`.
    BadFree { id: Id, bad: Bad },
    /// Hands `id` over to the bag: hooks and wakers may free it from then on.
    Donate { id: Id },
    /// What the heap's hooks do from now on (when called outside a hook or waker).
    Hooks { action: Action },
    /// `allocate_wait` for `size`/`align` under `id`, polled once with a new waker.
    Wait { id: Id, size: u32, align: u32, waker: WakerSpec },
    /// Polls the waiting future `id` again: with its last waker (`None`) or a new one.
    Poll { id: Id, waker: Option<WakerSpec> },
    /// Drops the waiting future `id` (and the waker the harness kept for it).
    Cancel { id: Id },
    /// `Heap::reset_stats`.
    ResetStats,
    /// `Heap::validate_pool(pool)` (past the last pool: must be `None`).
    ValidatePool { pool: u8 },
    /// `Heap::prefetch` for `size`/`align`: must change nothing.
    Prefetch { size: u32, align: u32 },
    /// Formats `Heap::report()`.
    Report,
}

impl Op {
    /// The allocation this operation is about, if any.
    pub fn id(&self) -> Option<Id> {
        let mut op = *self;
        op.id_mut().copied()
    }

    /// The same operation about `id` instead.
    pub fn with_id(mut self, new: Id) -> Self {
        if let Some(id) = self.id_mut() {
            *id = new;
        }
        self
    }

    /// The allocation this operation is about, in place.
    fn id_mut(&mut self) -> Option<&mut Id> {
        match self {
            Op::Alloc { id, .. }
            | Op::Free { id, .. }
            | Op::Resize { id, .. }
            | Op::BadFree { id, .. }
            | Op::Donate { id }
            | Op::Wait { id, .. }
            | Op::Poll { id, .. }
            | Op::Cancel { id } => Some(id),
            _ => None,
        }
    }
}

/// The seeded generator's view of a case under construction: which ids are (probably) live.
struct Gen<'a> {
    shape: &'a Shape,
    next: Id,
    /// Allocations made and not freed (some may have failed: their ops are skipped).
    live: Vec<Id>,
    /// Allocations freed (for double frees).
    freed: Vec<Id>,
    /// Waiting futures not cancelled (some may have resolved: they are then live too).
    waits: Vec<Id>,
    /// For one of several threads sharing the heap: no operation whose outcome depends on the
    /// other threads' (no waits, double frees, resets, audits, reports, bag hand-overs; hooks
    /// only allocate and free at once).
    shared: bool,
}

/// A case of `len` operations for a heap of `shape`, from `rng`; `shared`: for one of several
/// threads (ids then start at `first_id`, so threads never share one).
pub fn generate(rng: &mut Rng, shape: &Shape, len: usize, shared: bool, first_id: Id) -> Vec<Op> {
    let (live, freed, waits) = (Vec::new(), Vec::new(), Vec::new());
    let mut g = Gen { shape, next: first_id, live, freed, waits, shared };
    (0..len).map(|_| g.op(rng)).collect()
}

impl Gen<'_> {
    fn fresh(&mut self) -> Id {
        self.next += 1;
        self.next - 1
    }

    fn pick(rng: &mut Rng, ids: &[Id]) -> Option<Id> {
        (!ids.is_empty()).then(|| ids[rng.below(ids.len())])
    }

    fn op(&mut self, rng: &mut Rng) -> Op {
        let one = !self.shared;
        let waits = self.shape.waiters > 0 && one;
        let have_live = !self.live.is_empty();
        let have_waits = !self.waits.is_empty() && one;
        // (weight, kind): a kind whose ids do not exist yet has weight 0.
        let table = [
            (28, 0),
            (if have_live { 16 } else { 0 }, 1),
            (if have_live { 18 } else { 0 }, 2),
            (if self.shape.validate { 5 } else { 1 }, 3),
            (if have_live && one { 3 } else { 0 }, 4),
            (3, 5),
            (if waits { 10 } else { 0 }, 6),
            (if have_waits { 7 } else { 0 }, 7),
            (if have_waits { 5 } else { 0 }, 8),
            (if one { 2 } else { 0 }, 9),
            (if one { 1 } else { 0 }, 10),
            (1, 11),
            (if one { 1 } else { 0 }, 12),
        ];
        let total: usize = table.iter().map(|t| t.0).sum();
        let mut roll = rng.below(total);
        let kind = table
            .iter()
            .find(|t| roll.checked_sub(t.0).map(|r| roll = r).is_none())
            .map_or(0, |t| t.1);
        match kind {
            0 => {
                let id = self.fresh();
                self.live.push(id);
                let api = [
                    AllocApi::Heap,
                    AllocApi::Global,
                    AllocApi::GlobalZeroed,
                    AllocApi::Api2,
                    AllocApi::Api2Zeroed,
                ][rng.below(5)];
                Op::Alloc { id, api, size: self.size(rng), align: self.align(rng) }
            }
            1 => {
                let i = rng.below(self.live.len());
                let id = self.live.swap_remove(i);
                self.freed.push(id);
                let api = [FreeApi::Heap, FreeApi::Global, FreeApi::Api2][rng.below(3)];
                Op::Free { id, api }
            }
            2 => {
                let id = Self::pick(rng, &self.live).unwrap_or(0);
                let api =
                    [ResizeApi::Realloc, ResizeApi::Grow, ResizeApi::GrowZeroed, ResizeApi::Shrink]
                        [rng.below(4)];
                Op::Resize { id, api, size: self.size(rng), align: self.align(rng) }
            }
            3 => self.bad(rng),
            4 => {
                let i = rng.below(self.live.len());
                Op::Donate { id: self.live.swap_remove(i) }
            }
            5 => Op::Hooks { action: self.action(rng, None) },
            6 => {
                let id = self.fresh();
                self.waits.push(id);
                let (size, align) = (self.size(rng), self.align(rng));
                Op::Wait { id, size, align, waker: self.waker(rng, (size, align)) }
            }
            7 => {
                let id = Self::pick(rng, &self.waits).unwrap_or(0);
                if !self.live.contains(&id) {
                    self.live.push(id); // it may resolve now
                }
                let like = (self.size(rng), self.align(rng));
                let waker = (rng.below(2) == 0).then(|| self.waker(rng, like));
                Op::Poll { id, waker }
            }
            8 => {
                let i = rng.below(self.waits.len());
                Op::Cancel { id: self.waits.swap_remove(i) }
            }
            9 => Op::ResetStats,
            10 => Op::ValidatePool { pool: rng.below(self.shape.pools.len() + 1) as u8 },
            11 => Op::Prefetch { size: self.size(rng), align: self.align(rng) },
            _ => Op::Report,
        }
    }

    fn bad(&mut self, rng: &mut Rng) -> Op {
        let live = Self::pick(rng, &self.live);
        let freed = Self::pick(rng, &self.freed).filter(|_| !self.shared);
        if !self.shape.validate {
            return Op::BadFree { id: live.unwrap_or(0), bad: Bad::Foreign };
        }
        match (rng.below(4), live, freed) {
            (0, _, Some(id)) => Op::BadFree { id, bad: Bad::Double },
            (1, Some(id), _) => {
                Op::BadFree { id, bad: Bad::Interior { offset: rng.below(4096) as u32 } }
            }
            (2, Some(id), _) => Op::BadFree {
                id,
                bad: Bad::WrongLayout { size: self.size(rng), align: self.align(rng) },
            },
            (_, id, _) => Op::BadFree { id: id.unwrap_or(0), bad: Bad::Foreign },
        }
    }

    /// A size: often at a pool boundary (`S - 1`, `S`, `S + 1`), sometimes 0 or 1, else any up
    /// to a quarter past the largest block.
    fn size(&self, rng: &mut Rng) -> u32 {
        let pools = self.shape.pools;
        let largest = pools.last().map_or(64, |p| p.block_size);
        let size = match rng.below(20) {
            0..7 => pools[rng.below(pools.len())].block_size + rng.below(3) - 1,
            7 | 8 => rng.below(2),
            _ => rng.below(largest + largest / 4 + 1),
        };
        size as u32
    }

    /// An alignment: usually small, often a pool's block alignment or twice it, sometimes any
    /// power of two up to 4096 (above some or every block size).
    fn align(&self, rng: &mut Rng) -> u32 {
        let pools = self.shape.pools;
        let align = match rng.below(20) {
            0..9 => 1 << rng.below(4),
            9..15 => pools[rng.below(pools.len())].align << rng.below(2),
            _ => 1 << rng.below(13),
        };
        align.min(4096) as u32
    }

    /// What a hook or waker callback does; `like` is a layout it then often reuses (the one a
    /// future waits for, so the callback re-enters the very pool it waits on).
    fn action(&self, rng: &mut Rng, like: Option<(u32, u32)>) -> Action {
        let (size, align) = match like {
            Some(layout) if rng.below(2) == 0 => layout,
            _ => (self.size(rng), self.align(rng)),
        };
        match rng.below(20) {
            0..10 => Action::None,
            10..14 => Action::AllocFree { size, align },
            _ if self.shared => Action::None,
            14..17 => Action::Keep { size, align },
            _ => Action::FreeOne,
        }
    }

    fn waker(&self, rng: &mut Rng, like: (u32, u32)) -> WakerSpec {
        WakerSpec {
            on_clone: self.action(rng, Some(like)),
            on_drop: self.action(rng, Some(like)),
            on_wake: self.action(rng, Some(like)),
        }
    }
}
