//! The waiting operations of the single-thread runner: `allocate_wait` futures polled by
//! hand with harness wakers, polled again (with the same or a new waker), and dropped while
//! waiting or after a block was handed to them.
//!
//! The model's waiting rules (DESIGN, "Waiting"):
//! * a first poll is ready when a pool the request may use has a free block; `Err` at once
//!   only when no pool fits the layout or `K` futures already *wait* on its pool (a future
//!   that was handed a block and has not polled yet no longer waits); otherwise it waits;
//! * a free into a pool with waiters hands the block to the oldest one, which is woken;
//! * a later poll returns the block handed over, or stays pending if none was;
//! * dropping a waiting future gives up its place; a block already handed to it goes on to
//!   the next waiter or back to the pool.
//!
//! A first poll that waits reports no event; it is judged after the step's other events:
//! wakers must be cloned before the pool's lock is taken (DESIGN: no user code runs under a
//! pool's lock), so whatever a clone does to the heap happens before the future is queued.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::api::{layout, show};
use crate::ctx::{self, Event};
use crate::heaps::Target;
use crate::model::{Fail, Fut, Owner, fail};
use crate::ops::{Id, WakerSpec};
use crate::runner::Runner;

impl<H: Target> Runner<H> {
    /// Whether a future for `layout` may wait now: a pool fits, every pool it may use is full,
    /// and fewer than `K` futures wait on the pool it selects.
    fn may_wait(&self, layout: Layout) -> bool {
        let m = &self.model;
        m.select(layout).is_some_and(|s| {
            m.candidates(layout).iter().all(|&p| m.full(p)) && m.queues[s].len() < m.shape.waiters
        })
    }

    /// Why a future for `layout` may not wait now.
    fn why_not_wait(&self, layout: Layout) -> String {
        let m = &self.model;
        let Some(s) = m.select(layout) else { return "no pool fits it".into() };
        match m.candidates(layout).into_iter().find(|&p| !m.full(p)) {
            Some(p) => format!("pool {p} has a free block"),
            None => format!(
                "{} futures already wait on pool {s} (K = {})",
                m.queues[s].len(),
                m.shape.waiters
            ),
        }
    }

    pub(crate) fn wait(
        &mut self,
        id: Id,
        size: u32,
        align: u32,
        spec: WakerSpec,
    ) -> Result<(), Fail> {
        let Some(layout) = layout(size as usize, align) else { return Ok(()) };
        if H::SHAPE.waiters == 0 || !self.used.insert(id) {
            return Ok(());
        }
        let root = ctx::waker(id, spec);
        let mut fut = self.heap.wait(layout).expect("a heap with waiters");
        let polled = fut.as_mut().poll(&mut Context::from_waker(&root));
        let outcome = match polled {
            Poll::Ready(got) => {
                drop(fut);
                drop(root);
                Some(got)
            }
            Poll::Pending => {
                self.futs.insert(id, (fut, root, layout));
                None
            }
        };
        let what = format!("allocate_wait({}) of future {id}", show(layout));
        let mut main = None;
        for event in ctx::take_events() {
            match event {
                Event::Alloc { depth: 0, pool, ptr, layout: rep } if main.is_none() => {
                    self.served(&what, pool, ptr, rep, layout, Owner::Region(id))?;
                    main = Some(Some((pool, ptr)));
                }
                Event::Fail { depth: 0, layout: rep } if main.is_none() => {
                    if rep != layout {
                        let msg = format!("on_fail reported {} for {what}", show(rep));
                        return Err(fail("hooks", msg));
                    }
                    self.refused_wait(&what, layout)?;
                    main = Some(None);
                }
                _ => self.model.nested(&event)?,
            }
        }
        match (outcome, main) {
            (Some(Some(ptr)), Some(Some((pool, p)))) if p == ptr => {
                self.new_region(&what, id, ptr, layout, layout.size(), pool, 0)
            }
            (Some(None), Some(None)) => Ok(()),
            (None, None) if self.may_wait(layout) => {
                self.model.count_exhaustion(layout);
                let pool = self.model.select(layout).expect("a pool fits");
                self.model.queues[pool].push_back(id);
                self.model.futs.insert(id, Fut::Waiting { pool });
                Ok(())
            }
            (None, None) => Err(fail(
                "wait-pending",
                format!("{what} is pending, but it may not wait: {}", self.why_not_wait(layout)),
            )),
            (outcome, main) => Err(fail(
                "hooks",
                format!("{what} returned {outcome:?}; the hooks reported {main:?}"),
            )),
        }
    }

    /// The first poll returned `Err` at once: no pool fits, or the pool's `K` waiters are all
    /// waiting (and every pool the request may use is full).
    fn refused_wait(&mut self, what: &str, layout: Layout) -> Result<(), Fail> {
        if self.model.select(layout).is_some() {
            if self.may_wait(layout) {
                return Err(fail(
                    "wait-refused",
                    format!(
                        "{what} returned Err at once, but it may wait: {} of {} futures wait on its pool",
                        self.model.select(layout).map_or(0, |s| self.model.queues[s].len()),
                        self.model.shape.waiters
                    ),
                ));
            }
            let m = &self.model;
            if let Some(p) = m.candidates(layout).into_iter().find(|&p| !m.full(p)) {
                return Err(fail(
                    "wait-refused",
                    format!("{what} returned Err at once though pool {p} has a free block"),
                ));
            }
            self.model.count_exhaustion(layout);
        }
        self.model.failures += 1;
        Ok(())
    }

    pub(crate) fn poll(&mut self, id: Id, spec: Option<WakerSpec>) -> Result<(), Fail> {
        let Some((mut fut, root, layout)) = self.futs.remove(&id) else { return Ok(()) };
        let handed_before = match self.model.futs.get(&id) {
            Some(&Fut::Handed { block: Some(block), .. }) => Some(block),
            _ => None,
        };
        let (root, old) = match spec {
            Some(spec) => (ctx::waker(id, spec), Some(root)),
            None => (root, None),
        };
        let polled = fut.as_mut().poll(&mut Context::from_waker(&root));
        drop(old);
        let outcome = match polled {
            Poll::Ready(got) => {
                drop(fut);
                drop(root);
                Some(got)
            }
            Poll::Pending => {
                self.futs.insert(id, (fut, root, layout));
                None
            }
        };
        let what = format!("poll of future {id} ({})", show(layout));
        let mut main = None;
        for event in ctx::take_events() {
            match event {
                Event::Alloc { depth: 0, pool, ptr, .. } if main.is_none() => {
                    self.taken(&what, id, pool, ptr)?;
                    main = Some((pool, ptr));
                }
                _ => self.model.nested(&event)?,
            }
        }
        match (outcome, main) {
            (Some(Some(ptr)), Some((pool, p))) if p == ptr => {
                self.new_region(&what, id, ptr, layout, layout.size(), pool, 0)
            }
            (None, None) => match handed_before {
                Some(block) => Err(fail(
                    "wait-pending",
                    format!(
                        "{what} returned Pending, but a free handed it {} before",
                        self.model.at(block.as_ptr().addr())
                    ),
                )),
                None => Ok(()),
            },
            (Some(None), _) => {
                Err(fail("wait", format!("{what}: a waiting future resolved to Err")))
            }
            (outcome, main) => Err(fail(
                "hooks",
                format!("{what} returned {outcome:?}; on_alloc reported {main:?}"),
            )),
        }
    }

    /// A later poll took the block at `ptr` of `pool`: it must be the one handed to it.
    fn taken(&mut self, what: &str, id: Id, pool: usize, ptr: NonNull<u8>) -> Result<(), Fail> {
        match self.model.futs.get(&id).copied() {
            Some(Fut::Handed { pool: p, block: Some(b) }) if b == ptr && p == pool => {
                self.model.futs.remove(&id);
                if let Some(block) = self.model.blocks.get_mut(&ptr.as_ptr().addr()) {
                    block.owner = Owner::Region(id);
                }
                Ok(())
            }
            other => Err(fail(
                "fifo",
                format!(
                    "{what} took {} of pool {pool}, but the model has the future as {other:?}",
                    self.model.at(ptr.as_ptr().addr())
                ),
            )),
        }
    }

    pub(crate) fn cancel(&mut self, id: Id) -> Result<(), Fail> {
        let Some((fut, root, _)) = self.futs.remove(&id) else { return Ok(()) };
        match self.model.futs.remove(&id) {
            Some(Fut::Waiting { pool }) => self.model.queues[pool].retain(|&f| f != id),
            Some(Fut::Handed { pool, block: Some(block) }) => {
                self.model.release(pool, block.as_ptr().addr(), 0)?;
            }
            other => {
                return Err(fail(
                    "wait",
                    format!("cancel of future {id}, which the model has as {other:?}"),
                ));
            }
        }
        drop(fut);
        drop(root);
        self.walk_nested()
    }
}
