//! Several threads on one heap of a shared sync mode (`spin`, `critical_section`,
//! `lock_free`), plus, when the case says so, a thread calling `reset_stats` all the while.
//!
//! Each worker runs its own operations in bursts of `burst` and keeps its own model of its own
//! blocks: every region inside its block, aligned, its contents intact, every valid free
//! accepted, every bad free refused as it must be. A registry shared by all threads catches two
//! live blocks overlapping (a block handed out twice). Between bursts every thread waits at a
//! barrier, and at that quiescent point the main thread checks the heap: `validate()` clean,
//! each pool's `in_use` the sum of the workers' live blocks, and, when no resetter ran, every
//! counter the sum of the workers' events. A last round frees everything; then every pool must
//! hand out exactly its blocks again.

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::Mutex;

use detalloc::FreeError;

use crate::api::{self, show};
use crate::ctx::{self, Event};
use crate::heaps::Target;
use crate::model::{Fail, Model, fail};
use crate::ops::{AllocApi, Bad, FreeApi, Id, Op, ResizeApi};
use crate::runner::{Got, Region};

/// A multi-thread case.
#[derive(Debug, Clone)]
pub struct ThreadCase {
    /// A `SHARED` heap.
    pub heap: &'static str,
    /// Its address modulo 4096.
    pub at: usize,
    /// Operations each thread runs between two quiescent checks.
    pub burst: usize,
    /// Whether a thread calls `reset_stats` while the workers run.
    pub resetter: bool,
    /// Each worker's operations.
    pub threads: Vec<Vec<Op>>,
}

/// The live blocks of every thread: start -> (end, thread).
#[derive(Default)]
pub(crate) struct Registry(Mutex<BTreeMap<usize, (usize, usize)>>);

impl Registry {
    fn add(&self, model: &Model, start: usize, size: usize, thread: usize) -> Result<(), Fail> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let before = map.range(..=start).next_back().filter(|(_, (end, _))| *end > start);
        let after = map.range(start + 1..).next().filter(|(s, _)| **s < start + size);
        if let Some((&s, &(_, t))) = before.or(after) {
            return Err(fail(
                "overlap",
                format!(
                    "thread {thread} got the block at {} ({size} B), which overlaps thread {t}'s live block at {}",
                    model.at(start),
                    model.at(s)
                ),
            ));
        }
        map.insert(start, (start + size, thread));
        Ok(())
    }

    fn remove(&self, start: usize) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&start);
    }
}

/// A worker's events since the last quiescent check, and its live blocks per pool.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    allocs: Vec<u64>,
    frees: Vec<u64>,
    failures: u64,
    invalid: u64,
    live: Vec<usize>,
}

impl Tally {
    pub(crate) fn new(pools: usize) -> Self {
        Self {
            allocs: vec![0; pools],
            frees: vec![0; pools],
            live: vec![0; pools],
            ..Self::default()
        }
    }

    pub(crate) fn restart(&mut self) {
        self.allocs.iter_mut().chain(&mut self.frees).for_each(|c| *c = 0);
        (self.failures, self.invalid) = (0, 0);
    }
}

/// One worker: its heap, its model of its blocks.
pub(crate) struct Worker<'a, H: Target> {
    pub(crate) heap: &'static H,
    pub(crate) t: usize,
    /// For the layout rules and addresses only (the pools are shared: no exact predictions).
    pub(crate) model: Model,
    pub(crate) reg: &'a Registry,
    pub(crate) regions: BTreeMap<Id, Region>,
    pub(crate) tally: Tally,
    pub(crate) foreign: Box<[u64; 4]>,
}

impl<H: Target> Worker<'_, H> {
    pub(crate) fn step(&mut self, op: &Op) -> Result<(), Fail> {
        ctx::take_events();
        match *op {
            Op::Alloc { id, api, size, align } => self.alloc(id, api, size, align),
            Op::Free { id, api } => self.free(id, api),
            Op::Resize { id, api, size, align } => self.resize(id, api, size, align),
            Op::BadFree { id, bad } => self.bad_free(id, bad),
            Op::Hooks { action } => {
                ctx::set_hook_action(action);
                Ok(())
            }
            Op::Prefetch { size, align } => {
                if let Some(layout) = api::layout(size as usize, align) {
                    self.heap.prefetch(layout);
                }
                self.events(&mut |_, _| Ok(false))
            }
            _ => Ok(()),
        }
    }

    /// Replays the step's events: `main` takes the harness call's own (returns whether it
    /// did); the rest are callbacks' calls.
    fn events(
        &mut self,
        main: &mut dyn FnMut(&mut Self, &Event) -> Result<bool, Fail>,
    ) -> Result<(), Fail> {
        for event in ctx::take_events() {
            if main(self, &event)? {
                continue;
            }
            match event {
                Event::Alloc { depth: 1.., pool, ptr, layout } => {
                    self.counted(pool, ptr, layout, "a callback's allocate")?
                }
                Event::Fail { depth: 1.., .. } => self.tally.failures += 1,
                Event::Free { depth: 1.., pool, .. } => self.tally.frees[pool] += 1,
                Event::Waker { .. } => {}
                Event::Anomaly { kind, msg } => return Err(fail(kind, msg)),
                other => return Err(fail("hooks", format!("unexpected event {other:?}"))),
            }
        }
        Ok(())
    }

    /// An allocation the hooks reported: a pool the layout may use, a block aligned to it.
    fn counted(
        &mut self,
        pool: usize,
        ptr: NonNull<u8>,
        layout: Layout,
        what: &str,
    ) -> Result<(), Fail> {
        if !self.model.candidates(layout).contains(&pool) {
            return Err(fail(
                "pool-choice",
                format!("{what}({}) was served by pool {pool}, which it may not use", show(layout)),
            ));
        }
        let align = self.model.shape.pools[pool].align;
        if !ptr.as_ptr().addr().is_multiple_of(align) {
            return Err(fail(
                "block-placement",
                format!(
                    "pool {pool} handed out {}, not {align}-aligned",
                    self.model.at(ptr.as_ptr().addr())
                ),
            ));
        }
        self.tally.allocs[pool] += 1;
        Ok(())
    }

    fn alloc(&mut self, id: Id, api: AllocApi, size: u32, align: u32) -> Result<(), Fail> {
        let Some(layout) = api::alloc_layout(api, size, align) else { return Ok(()) };
        if self.regions.contains_key(&id) {
            return Ok(());
        }
        let (got, zeroed) = api::alloc(self.heap, api, layout);
        let what = format!("{api:?} allocate({})", show(layout));
        let mut main = None;
        self.events(&mut |w, event| match *event {
            Event::Alloc { depth: 0, pool, ptr, .. } if main.is_none() => {
                w.counted(pool, ptr, layout, &what)?;
                main = Some(Some((pool, ptr)));
                Ok(true)
            }
            Event::Fail { depth: 0, .. } if main.is_none() => {
                w.tally.failures += 1;
                main = Some(None);
                Ok(true)
            }
            _ => Ok(false),
        })?;
        match (got, main) {
            (Some((ptr, len)), Some(Some((pool, p)))) if p == ptr => {
                self.tally.live[pool] += 1;
                self.adopt(&what, id, Got { ptr, layout, len, pool }, zeroed, None)
            }
            (None, Some(None)) => Ok(()),
            (got, main) => {
                Err(fail("hooks", format!("{what} returned {got:?}, the hooks reported {main:?}")))
            }
        }
    }

    /// Registers a region (a new block, or the old one of a resize: `old` is then its stamp),
    /// checks it, fills it.
    fn adopt(
        &mut self,
        what: &str,
        id: Id,
        got: Got,
        zeroed: usize,
        old: Option<&Region>,
    ) -> Result<(), Fail> {
        let Got { ptr, layout, len, pool } = got;
        let addr = ptr.as_ptr().addr();
        self.reg.add(&self.model, addr, self.model.size(pool), self.t)?;
        self.model.check_region(what, ptr, len, layout, pool, addr)?;
        if let Some(r) = old {
            let keep = r.layout.size().min(layout.size());
            // SAFETY: the region lies in a block of ours; its first `keep` bytes were kept.
            if let Some(at) = unsafe { ctx::first_difference(ptr, 0, keep, Some(r.stamp)) } {
                return Err(fail(
                    "contents",
                    format!("{what}: byte {at} of the {keep} bytes a resize keeps changed"),
                ));
            }
        }
        let from = old.map_or(0, |r| r.layout.size()).min(zeroed);
        // SAFETY: as above; the API zeroed `from..zeroed`.
        let mut region = unsafe { Region::stamp(what, got, from..zeroed) }?;
        region.reshaped = old.is_some_and(|r| {
            r.ptr == ptr && (r.reshaped || self.model.select(layout) != Some(pool))
        });
        self.regions.insert(id, region);
        Ok(())
    }

    pub(crate) fn verify(&self, id: Id, r: &Region) -> Result<(), Fail> {
        // SAFETY: a live region of this thread, filled over `len` bytes.
        match unsafe { ctx::first_difference(r.ptr, 0, r.len, Some(r.stamp)) } {
            Some(at) => Err(fail(
                "contents",
                format!("thread {}: allocation {id}: byte {at} changed while it was live", self.t),
            )),
            None => Ok(()),
        }
    }

    fn free(&mut self, id: Id, api: FreeApi) -> Result<(), Fail> {
        let Some(r) = self.regions.remove(&id) else { return Ok(()) };
        self.verify(id, &r)?;
        self.reg.remove(r.ptr.as_ptr().addr());
        // SAFETY: a live block of this heap last requested with `r.layout`, freed once.
        let result = unsafe { api::free(self.heap, api, r.ptr, r.layout) };
        let what = format!("{api:?} free of allocation {id} ({})", show(r.layout));
        let mut freed = false;
        self.events(&mut |w, event| match *event {
            Event::Free { depth: 0, pool, ptr, .. } if !freed && ptr == r.ptr => {
                w.tally.frees[pool] += 1;
                w.tally.live[r.pool] -= 1;
                freed = true;
                Ok(true)
            }
            Event::InvalidFree { depth: 0, error, .. } => Err(fail(
                "refused-free",
                format!("{what} was refused with {error:?}: the block leaks"),
            )),
            _ => Ok(false),
        })?;
        if !freed || result.is_some_and(|r| r.is_err()) {
            return Err(fail(
                "hooks",
                format!("{what}: returned {result:?} but on_free was not called"),
            ));
        }
        Ok(())
    }

    fn resize(&mut self, id: Id, api: ResizeApi, size: u32, align: u32) -> Result<(), Fail> {
        let Some(r) = self.regions.get(&id).copied() else { return Ok(()) };
        let Some(new) = api::resize_layout(api, r.layout, size, align) else { return Ok(()) };
        self.verify(id, &r)?;
        self.reg.remove(r.ptr.as_ptr().addr());
        // SAFETY: a live block of this heap allocated for `r.layout`; `new` from `resize_layout`.
        let got = unsafe { api::resize(self.heap, api, r.ptr, r.layout, new) };
        let what = format!("{api:?}(allocation {id}, {} -> {})", show(r.layout), show(new));
        let (mut moved, mut failed, mut freed_old) = (None, false, false);
        self.events(&mut |w, event| match *event {
            Event::Alloc { depth: 0, pool, ptr, .. } if moved.is_none() && !failed => {
                w.counted(pool, ptr, new, &what)?;
                moved = Some((pool, ptr));
                Ok(true)
            }
            Event::Fail { depth: 0, .. } if moved.is_none() && !failed => {
                w.tally.failures += 1;
                failed = true;
                Ok(true)
            }
            Event::Free { depth: 0, pool, ptr, .. } if !freed_old && ptr == r.ptr => {
                w.tally.frees[pool] += 1;
                freed_old = true;
                Ok(true)
            }
            Event::InvalidFree { depth: 0, error, .. } => Err(fail(
                "refused-free",
                format!(
                    "{what} freed the old block with {} and was refused ({error:?}): it leaks",
                    show(r.layout)
                ),
            )),
            _ => Ok(false),
        })?;
        let zeroed = |len: usize| if api == ResizeApi::GrowZeroed { len } else { 0 };
        match (got, moved) {
            (Some((p, len)), Some((pool, m))) if p == m && !failed && freed_old => {
                self.tally.live[r.pool] -= 1;
                self.tally.live[pool] += 1;
                self.adopt(&what, id, Got { ptr: p, layout: new, len, pool }, zeroed(len), Some(&r))
            }
            (Some((p, len)), None) if p == r.ptr && !freed_old => {
                let got = Got { ptr: p, layout: new, len, pool: r.pool };
                self.adopt(&what, id, got, zeroed(len), Some(&r))
            }
            (None, None) if !freed_old => {
                self.reg.add(
                    &self.model,
                    r.ptr.as_ptr().addr(),
                    self.model.size(r.pool),
                    self.t,
                )?;
                if api == ResizeApi::Shrink && self.model.fits(r.pool, new) {
                    return Err(fail(
                        "resize",
                        format!("{what} failed though the block in hand holds the new layout"),
                    ));
                }
                Ok(())
            }
            (got, moved) => Err(fail(
                "hooks",
                format!(
                    "{what} returned {got:?}; the hooks reported a move to {moved:?}, failed {failed}, old freed {freed_old}"
                ),
            )),
        }
    }

    fn bad_free(&mut self, id: Id, bad: Bad) -> Result<(), Fail> {
        let validate = self.model.shape.validate;
        let region = self.regions.get(&id).copied();
        let (ptr, layout, expect) = match (bad, region) {
            (Bad::Interior { offset }, Some(r)) if validate => {
                let off = 1 + offset as usize % (self.model.size(r.pool) - 1);
                // SAFETY: `off` is below the block size: the pointer stays inside our block.
                (unsafe { r.ptr.add(off) }, r.layout, Some(FreeError::Misaligned))
            }
            (Bad::Foreign, r) => {
                let l = r.map_or(Layout::new::<u64>(), |r| r.layout);
                (NonNull::from(&mut self.foreign[1]).cast(), l, Some(FreeError::Foreign))
            }
            (Bad::WrongLayout { size, align }, Some(r)) if validate && !r.reshaped => {
                match api::layout(size as usize, align) {
                    Some(l) => (r.ptr, l, self.model.verdict(r.pool, l, true)),
                    None => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let Some(expect) = expect else { return Ok(()) };
        // SAFETY: with validation an interior or wrong-pool free is detected and refused, and a
        // pointer into no pool is refused in every mode; nothing is freed.
        let got = unsafe { self.heap.deallocate(ptr, layout) };
        let what = format!("{bad:?} free with {}", show(layout));
        let mut seen = false;
        self.events(&mut |w, event| match *event {
            Event::InvalidFree { depth: 0, error, .. } if !seen => {
                crate::model::expect_refusal(&what, error, expect)?;
                w.tally.invalid += 1;
                seen = true;
                Ok(true)
            }
            Event::Free { depth: 0, .. } => Err(fail("bad-free", format!("{what} was accepted"))),
            _ => Ok(false),
        })?;
        if got != Err(expect) || !seen {
            return Err(fail(
                "bad-free",
                format!("{what} returned {got:?} (on_invalid_free called: {seen})"),
            ));
        }
        Ok(())
    }
}

/// The quiescent check: `validate()`, each pool's `in_use` (and, without a resetter, every
/// counter) against the workers' sums.
pub(crate) fn check<H: Target>(
    heap: &H,
    tallies: &[Tally],
    exact: bool,
    when: &str,
) -> Result<(), Fail> {
    heap.validate()
        .map_err(|c| fail("validate", format!("validate() at a quiescent point {when}: {c}")))?;
    let pools = H::SHAPE.pools;
    for (p, spec) in pools.iter().enumerate() {
        let got = heap.pool_stats(p).unwrap_or_default();
        let live: usize = tallies.iter().map(|t| t.live[p]).sum();
        let allocs: u64 = tallies.iter().map(|t| t.allocs[p]).sum();
        let frees: u64 = tallies.iter().map(|t| t.frees[p]).sum();
        let bad = got.in_use != live
            || got.peak < got.in_use
            || got.peak > spec.blocks
            || (exact && (got.allocs, got.frees) != (allocs, frees));
        if bad {
            return Err(fail(
                "stats",
                format!(
                    "{when}: pool_stats({p}) = {got:?}; the threads hold {live} blocks, made {allocs} allocations and {frees} frees"
                ),
            ));
        }
    }
    let s = heap.stats();
    let (failures, invalid) =
        tallies.iter().fold((0, 0), |(f, i), t| (f + t.failures, i + t.invalid));
    if exact && (s.failures, s.invalid_frees) != (failures, invalid) {
        return Err(fail(
            "stats",
            format!(
                "{when}: stats() failures/invalid frees {:?}, the threads saw {:?}",
                (s.failures, s.invalid_frees),
                (failures, invalid)
            ),
        ));
    }
    Ok(())
}

/// Every pool hands out exactly its blocks, then (without spill) refuses; all freed again.
pub(crate) fn refill<H: Target>(heap: &H) -> Result<(), Fail> {
    for (p, spec) in H::SHAPE.pools.iter().enumerate() {
        let layout = Layout::from_size_align(spec.block_size, spec.align).expect("a pool's layout");
        let blocks: Vec<_> = (0..spec.blocks).filter_map(|_| heap.allocate(layout).ok()).collect();
        let lost = spec.blocks - blocks.len();
        let extra = if H::SHAPE.spill { None } else { heap.allocate(layout).ok() };
        for b in blocks.iter().chain(&extra) {
            // SAFETY: allocated just above with `layout`, freed once.
            let _ = unsafe { heap.deallocate(*b, layout) };
        }
        if lost > 0 || extra.is_some() {
            return Err(fail(
                "stats",
                format!(
                    "after every thread freed everything, pool {p} handed out {} of its {} blocks",
                    blocks.len() + extra.iter().count(),
                    spec.blocks
                ),
            ));
        }
    }
    heap.validate().map_err(|c| fail("validate", format!("validate() after the refill: {c}")))
}
