//! Runs a case's operations against a real heap, one step at a time: each step calls the API,
//! replays the events the call caused through the [`Model`], checks the call's result, and
//! then the invariants that hold after every step (every live allocation's contents, the
//! heap's counters, `validate()`).
//!
//! An allocation is a *region*: `[ptr, ptr + len)` where `len` is what allocator-api2 reported,
//! or the requested size for the other APIs. Before anything is written to it the region must
//! lie inside the block of the pool that holds it and be aligned as requested; then it is
//! filled with a stamp pattern that must survive until it is freed or resized.

use std::alloc::Layout;
use std::collections::{BTreeMap, BTreeSet};
use std::ptr::NonNull;
use std::task::Waker;

use detalloc::FreeError;

use crate::api::{self, show};
use crate::ctx::{self, Event, Owned};
use crate::heaps::{Placed, Target, WaitFuture, place, reclaim};
use crate::model::{Fail, Model, Owner, fail};
use crate::ops::{Action, AllocApi, Bad, FreeApi, Id, Op};

/// A live allocation of the harness.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// Where it starts (always its block's start).
    pub ptr: NonNull<u8>,
    /// The layout last requested for it.
    pub layout: Layout,
    /// The bytes the API reported (and the stamp covers).
    pub len: usize,
    /// Its stamp.
    pub stamp: u8,
    /// The pool holding its block.
    pub pool: usize,
    /// Resized in place to a layout that selects another pool (its free is then the heap's
    /// business to accept; wrong-layout frees leave it alone).
    pub reshaped: bool,
}

impl Region {
    /// A new region of the block `got`: bytes `zeroed` of it must be zero (the
    /// API zeroed them), then all of it is stamped with a fresh stamp (not reshaped).
    ///
    /// # Safety
    /// `got.ptr..got.ptr + got.len` lies in a block the heap handed to this thread.
    pub unsafe fn stamp(
        what: &str,
        got: Got,
        zeroed: std::ops::Range<usize>,
    ) -> Result<Self, Fail> {
        let Got { ptr, layout, len, pool } = got;
        // SAFETY: the caller's promise.
        if let Some(at) = unsafe { ctx::first_difference(ptr, zeroed.start, zeroed.end, None) } {
            return Err(fail("zeroed", format!("{what}: byte {at} of {} is not zero", zeroed.end)));
        }
        let stamp = ctx::next_stamp();
        // SAFETY: as above; the block is this thread's until it is freed.
        unsafe { ctx::fill(ptr, len, stamp) };
        Ok(Region { ptr, layout, len, stamp, pool, reshaped: false })
    }
}

/// A block an API returned: where, the bytes it reported, the pool holding it, the layout it
/// was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Got {
    /// The pointer returned.
    pub ptr: NonNull<u8>,
    /// The layout requested.
    pub layout: Layout,
    /// The bytes reported.
    pub len: usize,
    /// The pool whose block it is (from `on_alloc`).
    pub pool: usize,
}

/// The harness's side of one run: the heap, the model, the live regions and futures.
pub struct Runner<H: Target> {
    pub(crate) heap: &'static H,
    placed: Option<Placed<H>>,
    pub(crate) model: Model,
    pub(crate) regions: BTreeMap<Id, Region>,
    freed: BTreeMap<Id, (NonNull<u8>, Layout, usize)>,
    /// Pending waiting futures, with the waker the harness keeps for each and its layout.
    pub(crate) futs: BTreeMap<Id, (WaitFuture<'static>, Waker, Layout)>,
    /// Ids already used by an allocation or a wait (an id is never reused).
    pub(crate) used: BTreeSet<Id>,
    foreign: Box<[u64; 4]>,
}

impl<H: Target> Runner<H> {
    /// A new heap at address `at` modulo 4096, installed in this thread's context.
    pub fn new(at: usize) -> Self {
        let placed = place::<H>(at);
        let heap = placed.heap();
        ctx::install(heap);
        let base = (heap as *const H).addr();
        Self {
            heap,
            placed: Some(placed),
            model: Model::new(H::SHAPE, base),
            regions: BTreeMap::new(),
            freed: BTreeMap::new(),
            futs: BTreeMap::new(),
            used: BTreeSet::new(),
            foreign: Box::new([0; 4]),
        }
    }

    /// One operation, then the per-step invariants.
    pub fn step(&mut self, op: &Op) -> Result<(), Fail> {
        ctx::take_events();
        let mut alt = None;
        match *op {
            Op::Alloc { id, api, size, align } => self.alloc(id, api, size, align)?,
            Op::Free { id, api } => self.free(id, api)?,
            Op::Resize { id, api, size, align } => alt = self.resize(id, api, size, align)?,
            Op::BadFree { id, bad } => self.bad_free(id, bad)?,
            Op::Donate { id } => self.donate(id)?,
            Op::Hooks { action } => ctx::set_hook_action(action),
            Op::Wait { id, size, align, waker } => alt = self.wait(id, size, align, waker)?,
            Op::Poll { id, waker } => self.poll(id, waker)?,
            Op::Cancel { id } => self.cancel(id)?,
            Op::ResetStats => {
                self.heap.reset_stats();
                self.model.reset();
                self.walk_nested()?;
            }
            Op::ValidatePool { pool } => {
                let got = self.heap.validate_pool(pool.into());
                let want = (usize::from(pool) < H::SHAPE.pools.len()).then_some(Ok(()));
                if got != want {
                    return Err(fail(
                        "validate",
                        format!("validate_pool({pool}): {got:?}, expected {want:?}"),
                    ));
                }
            }
            Op::Prefetch { size, align } => {
                if let Some(layout) = api::layout(size as usize, align) {
                    self.heap.prefetch(layout);
                    self.walk_nested()?;
                }
            }
            Op::Report => {
                let text = self.heap.report().to_string();
                let line = format!(
                    "{} allocs, {} frees",
                    self.heap.stats().allocs,
                    self.heap.stats().frees
                );
                if !text.starts_with(H::SHAPE.name) || !text.contains(&line) {
                    return Err(fail(
                        "report",
                        format!("report() lacks the name or `{line}`:\n{text}"),
                    ));
                }
            }
        }
        self.after_step(alt)
    }

    /// Replays the events of a step that makes no heap call of its own.
    pub(crate) fn walk_nested(&mut self) -> Result<(), Fail> {
        for event in ctx::take_events() {
            self.model.nested(&event)?;
        }
        Ok(())
    }

    fn after_step(&mut self, alt: Option<Vec<u64>>) -> Result<(), Fail> {
        self.model.end_step()?;
        for (id, r) in &self.regions {
            // SAFETY: a live region of this thread, filled over `len` bytes.
            if let Some(at) = unsafe { ctx::first_difference(r.ptr, 0, r.len, Some(r.stamp)) } {
                return Err(fail(
                    "contents",
                    format!(
                        "allocation {id} ({}): byte {at} of {} changed while it was live",
                        self.model.at(r.ptr.as_ptr().addr()),
                        r.len
                    ),
                ));
            }
        }
        for b in ctx::bag() {
            // SAFETY: a block a callback owns, filled over `len` bytes.
            if let Some(at) = unsafe { ctx::first_difference(b.ptr, 0, b.len, Some(b.stamp)) } {
                return Err(fail(
                    "contents",
                    format!(
                        "a callback's block ({}): byte {at} changed while it was live",
                        self.model.at(b.ptr.as_ptr().addr())
                    ),
                ));
            }
        }
        self.model.check_stats(self.heap, alt)?;
        self.heap.validate().map_err(|c| fail("validate", format!("validate(): {c}")))
    }

    /// Registers region `id` (checked, zero-checked over `zeroed` bytes, then stamped).
    pub(crate) fn new_region(
        &mut self,
        what: &str,
        id: Id,
        got: Got,
        zeroed: usize,
    ) -> Result<(), Fail> {
        let addr = got.ptr.as_ptr().addr();
        self.model.check_region(what, got.ptr, got.len, got.layout, got.pool, addr)?;
        // SAFETY: the region was just checked to lie inside a block the heap handed to us.
        let region = unsafe { Region::stamp(what, got, 0..zeroed) }?;
        self.regions.insert(id, region);
        Ok(())
    }

    /// The depth-0 `on_alloc` of the harness's call: the rule's pool, a fresh block.
    pub(crate) fn served(
        &mut self,
        what: &str,
        pool: usize,
        ptr: NonNull<u8>,
        reported: Layout,
        layout: Layout,
        owner: Owner,
    ) -> Result<(), Fail> {
        if reported != layout {
            return Err(fail("hooks", format!("on_alloc reported {} for {what}", show(reported))));
        }
        let want = self.model.serve(layout);
        if want != Some(pool) {
            return Err(fail(
                "pool-choice",
                format!(
                    "{what} was served by pool {pool}; the rule picks {want:?} (pools in use: {:?})",
                    self.in_use()
                ),
            ));
        }
        self.model.take(pool, ptr, owner)
    }

    /// The depth-0 `on_fail` of the harness's call: every pool it may use is full.
    pub(crate) fn refused(
        &mut self,
        what: &str,
        reported: Layout,
        layout: Layout,
    ) -> Result<(), Fail> {
        if reported != layout {
            return Err(fail("hooks", format!("on_fail reported {} for {what}", show(reported))));
        }
        if let Some(pool) = self.model.serve(layout) {
            return Err(fail(
                "pool-choice",
                format!("{what} failed though pool {pool} has a free block"),
            ));
        }
        self.model.failures += 1;
        Ok(())
    }

    fn in_use(&self) -> Vec<usize> {
        self.model.counts.iter().map(|c| c.in_use).collect()
    }

    fn alloc(&mut self, id: Id, api: AllocApi, size: u32, align: u32) -> Result<(), Fail> {
        let Some(layout) = api::alloc_layout(api, size, align) else { return Ok(()) };
        if !self.used.insert(id) {
            return Ok(());
        }
        let (got, zeroed) = api::alloc(self.heap, api, layout);
        let what = format!("{api:?} allocate({})", show(layout));
        let mut main = None;
        for event in ctx::take_events() {
            match event {
                Event::Alloc { depth: 0, pool, ptr, layout: r } if main.is_none() => {
                    self.served(&what, pool, ptr, r, layout, Owner::Region(id))?;
                    main = Some(Some((pool, ptr)));
                }
                Event::Fail { depth: 0, layout: r } if main.is_none() => {
                    self.refused(&what, r, layout)?;
                    main = Some(None);
                }
                _ => self.model.nested(&event)?,
            }
        }
        match (got, main) {
            (Some((ptr, len)), Some(Some((pool, p)))) if p == ptr => {
                self.new_region(&what, id, Got { ptr, layout, len, pool }, zeroed)
            }
            (None, Some(None)) => Ok(()),
            (got, main) => {
                Err(fail("hooks", format!("{what} returned {got:?}, the hooks reported {main:?}")))
            }
        }
    }

    pub(crate) fn verify(&self, id: Id, r: &Region) -> Result<(), Fail> {
        // SAFETY: a live region of this thread, filled over `len` bytes.
        match unsafe { ctx::first_difference(r.ptr, 0, r.len, Some(r.stamp)) } {
            Some(at) => Err(fail(
                "contents",
                format!("allocation {id}: byte {at} changed while it was live"),
            )),
            None => Ok(()),
        }
    }

    fn free(&mut self, id: Id, api: FreeApi) -> Result<(), Fail> {
        let Some(r) = self.regions.get(&id).copied() else { return Ok(()) };
        self.verify(id, &r)?;
        // SAFETY: `r.ptr` is a live block of this heap last requested with `r.layout`; it is
        // freed once.
        let result = unsafe { api::free(self.heap, api, r.ptr, r.layout) };
        let what = format!(
            "{api:?} free of allocation {id} ({}, {})",
            self.model.at(r.ptr.as_ptr().addr()),
            show(r.layout)
        );
        let mut freed = false;
        for event in ctx::take_events() {
            match event {
                Event::Free { depth: 0, pool, ptr, layout: l } if !freed && ptr == r.ptr => {
                    if l != r.layout {
                        return Err(fail("hooks", format!("{what}: on_free reported {}", show(l))));
                    }
                    self.model.release(pool, ptr.as_ptr().addr(), 0)?;
                    freed = true;
                }
                Event::InvalidFree { depth: 0, error, .. } => {
                    return Err(fail(
                        "refused-free",
                        format!("{what} was refused with {error:?}: the block leaks"),
                    ));
                }
                _ => self.model.nested(&event)?,
            }
        }
        if !freed || result.is_some_and(|r| r.is_err()) {
            return Err(fail(
                "hooks",
                format!("{what}: returned {result:?} but on_free was not called"),
            ));
        }
        self.regions.remove(&id);
        self.freed.insert(id, (r.ptr, r.layout, r.pool));
        Ok(())
    }

    fn bad_free(&mut self, id: Id, bad: Bad) -> Result<(), Fail> {
        let validate = self.model.shape.validate;
        let region = self.regions.get(&id).copied();
        let (ptr, layout, expect) = match bad {
            Bad::Double => match self.freed.get(&id) {
                Some(&(p, l, pool))
                    if validate && !self.model.blocks.contains_key(&p.as_ptr().addr()) =>
                {
                    (p, l, self.model.verdict(pool, l, false))
                }
                _ => return Ok(()),
            },
            Bad::Interior { offset } => match region {
                Some(r) if validate => {
                    let off = 1 + offset as usize % (self.model.size(r.pool) - 1);
                    // SAFETY: `off` is below the block size: the pointer stays inside the block.
                    (unsafe { r.ptr.add(off) }, r.layout, Some(FreeError::Misaligned))
                }
                _ => return Ok(()),
            },
            Bad::Foreign => {
                let l = region.map_or(Layout::new::<u64>(), |r| r.layout);
                (NonNull::from(&mut self.foreign[1]).cast(), l, Some(FreeError::Foreign))
            }
            Bad::WrongLayout { size, align } => match (region, api::layout(size as usize, align)) {
                (Some(r), Some(l)) if validate && !r.reshaped => {
                    (r.ptr, l, self.model.verdict(r.pool, l, true))
                }
                _ => return Ok(()),
            },
        };
        let Some(expect) = expect else { return Ok(()) };
        // SAFETY: with validation on a double, interior or wrong-pool free is detected and
        // refused (the `deallocate` contract), and a pointer into no pool is refused in every
        // mode; nothing is freed.
        let got = unsafe { self.heap.deallocate(ptr, layout) };
        let what =
            format!("{bad:?} free of {} with {}", self.model.at(ptr.as_ptr().addr()), show(layout));
        let mut seen = false;
        for event in ctx::take_events() {
            match event {
                Event::InvalidFree { depth: 0, error, .. } if !seen => {
                    crate::model::expect_refusal(&what, error, expect)?;
                    self.model.invalid_frees += 1;
                    seen = true;
                }
                Event::Free { depth: 0, .. } => {
                    return Err(fail("bad-free", format!("{what} was accepted")));
                }
                _ => self.model.nested(&event)?,
            }
        }
        if got != Err(expect) || !seen {
            return Err(fail(
                "bad-free",
                format!("{what} returned {got:?} (on_invalid_free called: {seen})"),
            ));
        }
        Ok(())
    }

    fn donate(&mut self, id: Id) -> Result<(), Fail> {
        let Some(r) = self.regions.get(&id).copied() else { return Ok(()) };
        self.verify(id, &r)?;
        self.regions.remove(&id);
        if let Some(b) = self.model.blocks.get_mut(&r.ptr.as_ptr().addr()) {
            b.owner = Owner::Anon;
        }
        ctx::bag_push(Owned { ptr: r.ptr, layout: r.layout, len: r.len, stamp: r.stamp });
        Ok(())
    }

    /// Frees everything, then checks every pool hands out exactly its blocks again (nothing
    /// lost), and every waker was dropped. `Err((step, op, fail))`, the steps numbered on from
    /// `step` (the case's length).
    pub fn finish(&mut self, mut step: usize) -> Result<(), (usize, Op, Fail)> {
        self.teardown(&mut step)?;
        ctx::stop();
        if let Some(placed) = self.placed.take() {
            // SAFETY: every future was dropped, every block freed, and the context no longer
            // refers to the heap.
            unsafe { reclaim(placed) };
        }
        ctx::release_wakers().map_err(|msg| (step, Op::Report, fail("waker", msg)))
    }

    fn run(&mut self, op: Op, step: &mut usize) -> Result<(), (usize, Op, Fail)> {
        *step += 1;
        self.step(&op).map_err(|f| (*step - 1, op, f))
    }

    fn teardown(&mut self, step: &mut usize) -> Result<(), (usize, Op, Fail)> {
        self.run(Op::Hooks { action: Action::None }, step)?;
        for id in self.futs.keys().copied().collect::<Vec<_>>() {
            self.run(Op::Cancel { id }, step)?;
        }
        for id in self.regions.keys().copied().collect::<Vec<_>>() {
            self.run(Op::Free { id, api: FreeApi::Heap }, step)?;
        }
        ctx::take_events();
        ctx::drain_bag();
        let drained = self.walk_nested().and_then(|()| self.after_step(None));
        drained.map_err(|f| (*step, Op::Hooks { action: Action::FreeOne }, f))?;
        let mut id = self.used.iter().max().map_or(0, |&m| m + 1);
        for spec in H::SHAPE.pools {
            let first = id;
            let (size, align) = (spec.block_size as u32, spec.align as u32);
            for _ in 0..=spec.blocks {
                self.run(Op::Alloc { id, api: AllocApi::Heap, size, align }, step)?;
                id += 1;
            }
            for id in first..id {
                self.run(Op::Free { id, api: FreeApi::Heap }, step)?;
            }
        }
        Ok(())
    }

    /// Gives up after a failure: the heap, its futures and the wakers are leaked (the heap may
    /// be corrupted; nothing more is asked of it).
    pub fn abandon(self) {
        drop(self);
    }
}

impl<H: Target> Drop for Runner<H> {
    /// A runner that did not [`finish`](Runner::finish) (a failure, a panic) leaks its heap and
    /// futures; after `finish` there is nothing left to leak.
    fn drop(&mut self) {
        if !self.futs.is_empty() {
            std::mem::forget(std::mem::take(&mut self.futs));
        }
        ctx::abandon();
    }
}
