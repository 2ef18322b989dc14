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
use crate::ctx::{self, Call, Event};
use crate::heaps::Target;
use crate::model::{Fail, Fut, Owner, fail};
use crate::ops::{Id, WakerSpec};
use crate::runner::{Got, Runner};

/// The step's events with the harness call's own hook (`on_alloc`, `on_fail`) moved before
/// the first waker drop or wake the call made: whatever a waker does when the heap drops or
/// wakes it happens after the pool's lock, so after the decision that hook reports, even when
/// the heap calls the hook later.
fn decision_first(mut events: Vec<Event>) -> Vec<Event> {
    let own = events
        .iter()
        .position(|e| matches!(e, Event::Alloc { depth: 0, .. } | Event::Fail { depth: 0, .. }));
    let after_lock = events.iter().position(|e| {
        matches!(e, Event::Waker { depth: 0, call: Call::Drop | Call::Wake | Call::WakeByRef, .. })
    });
    if let (Some(own), Some(after)) = (own, after_lock)
        && after < own
    {
        let event = events.remove(own);
        events.insert(after, event);
    }
    events
}

impl<H: Target> Runner<H> {
    /// Which pools are full now.
    fn full_now(&self) -> Vec<bool> {
        (0..self.model.shape.pools.len()).map(|p| self.model.full(p)).collect()
    }

    /// Whether a future for `layout` may wait now: a pool fits, it and every other pool the
    /// request may use is full (another one at least when the step began: with `spill` the
    /// heap tries those before the waker is cloned), and fewer than `K` futures wait on it.
    fn may_wait(&self, layout: Layout, full_before: &[bool]) -> bool {
        self.why_not_wait(layout, full_before).is_none()
    }

    /// Why a future for `layout` may not wait now (`None`: it may).
    fn why_not_wait(&self, layout: Layout, full_before: &[bool]) -> Option<String> {
        let m = &self.model;
        let Some(s) = m.select(layout) else { return Some("no pool fits it".into()) };
        let free =
            m.candidates(layout).into_iter().find(|&p| !m.full(p) && (p == s || !full_before[p]));
        if let Some(p) = free {
            return Some(format!("pool {p} has a free block"));
        }
        (m.queues[s].len() >= m.shape.waiters).then(|| {
            format!(
                "{} futures already wait on pool {s} (K = {})",
                m.queues[s].len(),
                m.shape.waiters
            )
        })
    }

    /// The first poll of a new future. Returns other pool failure counts the heap may rightly
    /// have (see `Model::check_stats`): with `spill`, the heap may try every pool the request
    /// may use before it clones the waker, so a block a clone frees then serves a request
    /// whose pools were all counted exhausted.
    pub(crate) fn wait(
        &mut self,
        id: Id,
        size: u32,
        align: u32,
        spec: WakerSpec,
    ) -> Result<Option<Vec<u64>>, Fail> {
        let Some(layout) = layout(size as usize, align) else { return Ok(None) };
        if H::SHAPE.waiters == 0 || !self.used.insert(id) {
            return Ok(None);
        }
        let full_before = self.full_now();
        let cands = self.model.candidates(layout);
        let tried_first =
            self.model.shape.spill && !cands.is_empty() && cands.iter().all(|&p| full_before[p]);
        let failures =
            |m: &crate::model::Model| m.counts.iter().map(|c| c.failures).collect::<Vec<u64>>();
        let mut counted = None;
        let root = ctx::waker(id, spec);
        let fut = self.heap.wait(layout).expect("a heap with waiters");
        let outcome = self.poll_once(id, fut, root, layout, None);
        let what = format!("allocate_wait({}) of future {id}", show(layout));
        let mut main = None;
        for event in decision_first(ctx::take_events()) {
            match event {
                Event::Alloc { depth: 0, pool, ptr, layout: rep } if main.is_none() => {
                    let before = failures(&self.model);
                    self.served(&what, pool, ptr, rep, layout, Owner::Region(id))?;
                    let after = failures(&self.model);
                    counted =
                        Some(after.iter().zip(&before).map(|(a, b)| a - b).collect::<Vec<u64>>());
                    main = Some(Some((pool, ptr)));
                }
                Event::Fail { depth: 0, layout: rep } if main.is_none() => {
                    if rep != layout {
                        let msg = format!("on_fail reported {} for {what}", show(rep));
                        return Err(fail("hooks", msg));
                    }
                    self.refused_wait(&what, layout, &full_before)?;
                    main = Some(None);
                }
                _ => self.model.nested(&event)?,
            }
        }
        match (outcome, main) {
            (Some(Some(ptr)), Some(Some((pool, p)))) if p == ptr => {
                self.new_region(&what, id, Got { ptr, layout, len: layout.size(), pool }, 0)?;
                let alt = match counted {
                    Some(counted) if tried_first => {
                        let mut alt = failures(&self.model);
                        alt.iter_mut().zip(counted).for_each(|(a, c)| *a -= c);
                        cands.iter().for_each(|&p| alt[p] += 1);
                        Some(alt)
                    }
                    // The first look found the selected pool empty and counted its exhaustion;
                    // a block came back while the waker was cloned (outside the lock), and the
                    // second look took it.
                    _ => self.model.select(layout).filter(|&s| full_before[s]).map(|s| {
                        let mut alt = failures(&self.model);
                        alt[s] += 1;
                        alt
                    }),
                };
                Ok(alt)
            }
            (Some(None), Some(None)) => Ok(None),
            (None, None) if self.may_wait(layout, &full_before) => {
                self.model.count_exhaustion(layout);
                let pool = self.model.select(layout).expect("a pool fits");
                self.model.queues[pool].push_back(id);
                self.model.futs.insert(id, Fut::Waiting { pool });
                self.model.take_slot(pool, id);
                Ok(None)
            }
            (None, None) => Err(fail(
                "wait-pending",
                format!(
                    "{what} is pending, but it may not wait: {}",
                    self.why_not_wait(layout, &full_before).unwrap_or_default()
                ),
            )),
            (outcome, main) => Err(fail(
                "hooks",
                format!("{what} returned {outcome:?}; the hooks reported {main:?}"),
            )),
        }
    }

    /// The first poll returned `Err` at once: no pool fits, or every pool the request may use
    /// is full and `K` futures wait on the one it selects.
    fn refused_wait(
        &mut self,
        what: &str,
        layout: Layout,
        full_before: &[bool],
    ) -> Result<(), Fail> {
        if self.model.select(layout).is_some() {
            match self.why_not_wait(layout, full_before) {
                None => {
                    let s = self.model.select(layout).unwrap_or(0);
                    return Err(fail(
                        "wait-refused",
                        format!(
                            "{what} returned Err at once, but it may wait: {} of {} futures wait on its pool",
                            self.model.queues[s].len(),
                            self.model.shape.waiters
                        ),
                    ));
                }
                Some(why) if why.contains("free block") => {
                    return Err(fail(
                        "wait-refused",
                        format!("{what} returned Err at once though {why}"),
                    ));
                }
                Some(_) => self.model.count_exhaustion(layout),
            }
        }
        self.model.failures += 1;
        Ok(())
    }

    /// Polls future `id` once with `root` (then drops `old`, the waker it replaced): `Some`
    /// with its output when ready (the future and its waker dropped), `None` when it is kept
    /// for later polls.
    fn poll_once(
        &mut self,
        id: Id,
        mut fut: crate::heaps::WaitFuture<'static>,
        root: std::task::Waker,
        layout: Layout,
        old: Option<std::task::Waker>,
    ) -> Option<Option<NonNull<u8>>> {
        let polled = fut.as_mut().poll(&mut Context::from_waker(&root));
        drop(old);
        match polled {
            Poll::Ready(got) => {
                drop(fut);
                drop(root);
                Some(got)
            }
            Poll::Pending => {
                self.futs.insert(id, (fut, root, layout));
                None
            }
        }
    }

    pub(crate) fn poll(&mut self, id: Id, spec: Option<WakerSpec>) -> Result<(), Fail> {
        let Some((fut, root, layout)) = self.futs.remove(&id) else { return Ok(()) };
        let handed_before = match self.model.futs.get(&id) {
            Some(&Fut::Handed { block: Some(block), .. }) => Some(block),
            _ => None,
        };
        let (root, old) = match spec {
            Some(spec) => (ctx::waker(id, spec), Some(root)),
            None => (root, None),
        };
        let outcome = self.poll_once(id, fut, root, layout, old);
        let what = format!("poll of future {id} ({})", show(layout));
        let mut main = None;
        for event in decision_first(ctx::take_events()) {
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
                self.new_region(&what, id, Got { ptr, layout, len: layout.size(), pool }, 0)
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
        let own = match self.model.futs.get(&id).copied() {
            Some(Fut::Handed { pool: p, block: Some(b) }) => p == pool && b == ptr,
            Some(Fut::Evicted { pool: p }) => {
                p == pool && self.model.overflow[p].last() == Some(&ptr) && {
                    self.model.overflow[p].pop();
                    true
                }
            }
            _ => false,
        };
        match self.model.futs.get(&id).copied() {
            _ if own => {
                self.model.futs.remove(&id);
                self.model.leave_slot(id);
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
        self.model.leave_slot(id);
        match self.model.futs.remove(&id) {
            Some(Fut::Waiting { pool }) => self.model.queues[pool].retain(|&f| f != id),
            Some(Fut::Handed { pool, block: Some(block) }) => {
                self.model.release(pool, block.as_ptr().addr(), 0)?;
            }
            Some(Fut::Evicted { pool }) => {
                if let Some(block) = self.model.overflow[pool].pop() {
                    self.model.release(pool, block.as_ptr().addr(), 0)?;
                }
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
