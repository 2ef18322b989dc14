//! The resizing operation of the single-thread runner (`GlobalAlloc::realloc`,
//! allocator-api2 `grow`, `grow_zeroed`, `shrink`), checked against the contract (DESIGN,
//! "Resizing"): a block stays in place only if the pool *holding* it fits the new layout, and
//! the length reported is then that pool's block size; a moved block was allocated by the rule
//! and the old one freed (and accepted); the first `min(old, new)` bytes survive; a shrink
//! never fails when the block in hand fits; the later free with the new layout is accepted.

use crate::api::{self, show};
use crate::ctx::{self, Event};
use crate::heaps::Target;
use crate::model::{Fail, Owner, fail};
use crate::ops::{Id, ResizeApi};
use crate::runner::{Region, Runner};

impl<H: Target> Runner<H> {
    /// Returns other pool failure counts the heap may rightly have (see `Model::check_stats`).
    pub(crate) fn resize(
        &mut self,
        id: Id,
        api: ResizeApi,
        size: u32,
        align: u32,
    ) -> Result<Option<Vec<u64>>, Fail> {
        let Some(r) = self.regions.get(&id).copied() else { return Ok(None) };
        let old = r.layout;
        let Some(new) = api::resize_layout(api, old, size, align) else { return Ok(None) };
        self.verify(id, &r)?;
        let zeroed = api == ResizeApi::GrowZeroed;
        // SAFETY: `r.ptr` is a live block of this heap currently allocated for `old`, and
        // `new` came from `resize_layout`.
        let got = unsafe { api::resize(self.heap, api, r.ptr, old, new) };
        let what = format!(
            "{api:?}(allocation {id} at {}, {} -> {})",
            self.model.at(r.ptr.as_ptr().addr()),
            show(old),
            show(new)
        );
        let (mut moved, mut failed, mut freed_old) = (None, false, false);
        for event in ctx::take_events() {
            match event {
                Event::Alloc { depth: 0, pool, ptr, layout: rep } if moved.is_none() && !failed => {
                    self.served(&what, pool, ptr, rep, new, Owner::Region(id))?;
                    moved = Some((pool, ptr));
                }
                Event::Fail { depth: 0, layout: rep } if moved.is_none() && !failed => {
                    self.refused(&what, rep, new)?;
                    failed = true;
                }
                Event::Free { depth: 0, pool, ptr, .. } if !freed_old && ptr == r.ptr => {
                    self.model.release(pool, ptr.as_ptr().addr(), 0)?;
                    freed_old = true;
                }
                Event::InvalidFree { depth: 0, error, .. } => {
                    return Err(fail(
                        "refused-free",
                        format!(
                            "{what} freed the old block with {} and was refused ({error:?}): it leaks",
                            show(old)
                        ),
                    ));
                }
                _ => self.model.nested(&event)?,
            }
        }
        // A shrink that tried the pool `new` selects (never spilling) without the hooks (and
        // the heap's failure count) hearing of it counted that pool's exhaustion when it was
        // full: offered as the counts the heap may have instead.
        let cands = self.model.candidates(new);
        let all_full = cands.iter().all(|&c| self.model.full(c));
        let mut quiet = self.model.counts.iter().map(|c| c.failures).collect::<Vec<u64>>();
        let selected_full = self.model.select(new).filter(|&s| self.model.full(s));
        selected_full.iter().for_each(|&s| quiet[s] += 1);
        let mut alt = None;
        let (ptr, len, pool) = match (got, moved) {
            (Some((p, len)), Some((pool, m))) if p == m && !failed => {
                if !freed_old {
                    return Err(fail(
                        "resize",
                        format!("{what} moved the block but never freed the old one: it leaks"),
                    ));
                }
                self.model.check_region(&what, p, len, new, pool, p.as_ptr().addr())?;
                (p, len, pool)
            }
            (Some((p, len)), None) if p == r.ptr && !freed_old => {
                self.model.check_region(&what, p, len, new, r.pool, r.ptr.as_ptr().addr())?;
                if !failed && selected_full.is_some() {
                    alt = Some(quiet);
                }
                (p, len, r.pool)
            }
            (None, None) if !freed_old && (failed || all_full) => {
                if api == ResizeApi::Shrink && self.model.fits(r.pool, new) {
                    return Err(fail(
                        "resize",
                        format!("{what} failed though the block in hand holds the new layout"),
                    ));
                }
                return Ok((!failed).then_some(quiet));
            }
            (got, moved) => {
                return Err(fail(
                    "hooks",
                    format!(
                        "{what} returned {got:?}; the hooks reported a move to {moved:?}, failed {failed}, old freed {freed_old}"
                    ),
                ));
            }
        };
        let keep = old.size().min(new.size());
        // SAFETY: the region was checked to lie in a block we own; its first `keep` bytes
        // were copied or kept, and with `grow_zeroed` the heap zeroed the rest.
        let changed = unsafe { ctx::first_difference(ptr, 0, keep, Some(r.stamp)) };
        if let Some(at) = changed {
            return Err(fail(
                "contents",
                format!("{what}: byte {at} of the {keep} bytes a resize keeps changed"),
            ));
        }
        // SAFETY: as above.
        if zeroed && let Some(at) = unsafe { ctx::first_difference(ptr, old.size(), len, None) } {
            return Err(fail(
                "zeroed",
                format!("{what}: byte {at} of the {len} reported is not zero"),
            ));
        }
        let stamp = ctx::next_stamp();
        // SAFETY: as above; the block is ours until freed.
        unsafe { ctx::fill(ptr, len, stamp) };
        let reshaped = moved.is_none() && (r.reshaped || self.model.select(new) != Some(pool));
        self.regions.insert(id, Region { ptr, layout: new, len, stamp, pool, reshaped });
        Ok(alt)
    }
}
