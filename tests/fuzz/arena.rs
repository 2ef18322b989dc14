//! The fuzzer extended to arenas (issue 26): seeded sequences of allocator-api2 calls on a
//! scope (`allocate`, `deallocate`, `grow`, `shrink` of any live block, each with a random
//! alignment up to 4096), raw allocations and resets between scopes, nested scopes and
//! refused ones, run against a model that predicts every offset; after every step the cursor
//! is the model's and every live block keeps its bytes. A failure prints its seed
//! (`DETALLOC_FUZZ_SEED` replays it). Not shrunk: a case is a few hundred steps.

use std::alloc::Layout;
use std::ptr::NonNull;

use detalloc::allocator_api2::alloc::Allocator;
use detalloc::arena::{Arena, Scope};
use detalloc_tests::Rng;

detalloc::detalloc! { pub struct FuzzArena<arena: 16 KiB align 64, sync: spin, poison: true>; }

/// A live block: where, its layout, its stamp.
struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    stamp: u8,
}

fn stamp(block: &Live) {
    // SAFETY: `block` is live and `layout.size()` bytes long.
    unsafe { block.ptr.as_ptr().write_bytes(block.stamp, block.layout.size()) };
}

fn intact(blocks: &[Live]) {
    for b in blocks.iter().filter(|b| b.layout.size() > 0) {
        for at in [0, b.layout.size() - 1] {
            // SAFETY: `b` is live; `at` is inside it.
            assert_eq!(unsafe { b.ptr.as_ptr().add(at).read() }, b.stamp, "a live block changed");
        }
    }
}

/// The model's answer for a new block: its offset when it fits.
fn fits(base: usize, cursor: usize, layout: Layout) -> Option<usize> {
    let start = (base + cursor).next_multiple_of(layout.align()) - base;
    (start + layout.size() <= FuzzArena::CAPACITY).then_some(start)
}

fn layout(rng: &mut Rng) -> Layout {
    let size = if rng.below(8) == 0 { rng.below(6000) } else { rng.below(200) };
    Layout::from_size_align(size, 1 << rng.below(13)).unwrap()
}

/// One scope: `steps` random operations, nested scopes up to depth 3.
fn level(
    s: &mut Scope<'_, FuzzArena>,
    rng: &mut Rng,
    base: usize,
    outer: &mut Vec<Live>,
    depth: usize,
    steps: usize,
) {
    let mark = s.used();
    let mut live: Vec<Live> = Vec::new();
    let mut cursor = mark;
    for _ in 0..steps {
        let a: &Scope<'_, FuzzArena> = s;
        let off = |p: NonNull<u8>| p.as_ptr().addr() - base;
        match rng.below(10) {
            0..=3 => {
                let l = layout(rng);
                let got = Allocator::allocate(&a, l).ok();
                assert_eq!(
                    got.map(|b| (off(b.cast()), b.len())),
                    fits(base, cursor, l).map(|o| (o, l.size()))
                );
                if let Some(b) = got {
                    cursor = off(b.cast()) + l.size();
                    live.push(Live { ptr: b.cast(), layout: l, stamp: rng.below(250) as u8 + 1 });
                    stamp(live.last().unwrap());
                }
            }
            4 | 5 if !live.is_empty() => {
                let i = rng.below(live.len());
                let b = live.remove(i);
                let last = off(b.ptr) + b.layout.size() == cursor;
                // SAFETY: `b` is a live block of this scope with this layout.
                unsafe { Allocator::deallocate(&a, b.ptr, b.layout) };
                if last {
                    cursor = off(b.ptr);
                }
            }
            6 | 7 if !live.is_empty() => {
                let i = rng.below(live.len());
                let (old, new) = (live[i].layout, layout(rng));
                let grow = new.size() >= old.size();
                let aligned = live[i].ptr.as_ptr().addr().is_multiple_of(new.align());
                let last = off(live[i].ptr) + old.size() == cursor;
                let in_place = aligned
                    && (if grow {
                        last && off(live[i].ptr) + new.size() <= FuzzArena::CAPACITY
                    } else {
                        true
                    });
                let expected =
                    if in_place { Some(off(live[i].ptr)) } else { fits(base, cursor, new) };
                // SAFETY: `live[i]` is a live block of this scope with layout `old`; `new` is
                // at least as large (`grow`) or at most as large (`shrink`).
                let got = unsafe {
                    if grow {
                        Allocator::grow(&a, live[i].ptr, old, new)
                    } else {
                        Allocator::shrink(&a, live[i].ptr, old, new)
                    }
                };
                assert_eq!(
                    got.ok().map(|b| (off(b.cast()), b.len())),
                    expected.map(|o| (o, new.size()))
                );
                if let Ok(b) = got {
                    if !in_place || last {
                        cursor = off(b.cast()) + new.size();
                    }
                    live[i].ptr = b.cast();
                    live[i].layout = new;
                    stamp(&live[i]);
                }
            }
            8 if depth < 3 => {
                let (before, keep) = (s.used(), outer.len());
                outer.append(&mut live);
                s.scope(|inner| level(inner, rng, base, outer, depth + 1, steps / 3));
                live = outer.split_off(keep);
                assert_eq!(s.used(), before, "a nested scope gave everything back");
            }
            _ => {
                let refused = FuzzArenaRef::get().map(|arena| arena.try_scope(|_| ()).is_err());
                assert!(refused.unwrap_or(true), "a second scope opened while one is open");
            }
        }
        assert_eq!(s.used(), cursor, "the cursor is the model's");
        intact(&live);
        intact(outer);
    }
}

/// The arena under test, for the busy check from inside a scope.
struct FuzzArenaRef;

thread_local! {
    static CURRENT: std::cell::Cell<Option<&'static FuzzArena>> = const { std::cell::Cell::new(None) };
}

impl FuzzArenaRef {
    fn get() -> Option<&'static FuzzArena> {
        CURRENT.with(|c| c.get())
    }
}

/// One case: scopes, with raw allocations and resets between them.
pub fn case(seed: u64) {
    // A fresh arena per case, reachable from the busy check through `CURRENT`; freed at the
    // end of the case (Miri reports a leak otherwise).
    let owned = Box::into_raw(Box::new(FuzzArena::new()));
    // SAFETY: `owned` is a live box's pointer, freed only at the end of this case, after the
    // last use of `arena` and after `CURRENT` forgot it.
    let arena: &'static FuzzArena = unsafe { &*owned };
    CURRENT.with(|c| c.set(Some(arena)));
    let mut rng = Rng::new(seed);
    let base = arena
        .try_scope(|s| s.allocate(Layout::new::<()>()).unwrap().cast::<u8>().as_ptr().addr())
        .unwrap();
    let steps = if cfg!(miri) { 20 } else { 300 };
    for _ in 0..4 {
        if rng.below(3) == 0 {
            let l = Layout::from_size_align(rng.below(500), 1 << rng.below(6)).unwrap();
            let top = arena.stats().used;
            let got = arena.allocate(l).ok().map(|b| b.cast::<u8>().as_ptr().addr() - base);
            assert_eq!(got, fits(base, top, l));
        }
        arena.try_scope(|s| level(s, &mut rng, base, &mut Vec::new(), 0, steps)).unwrap();
        if rng.below(3) == 0 {
            // SAFETY: no raw block is used after this (the case keeps none).
            unsafe { arena.reset() }.unwrap();
        }
        let s = arena.stats();
        assert!(!s.open && s.peak <= FuzzArena::CAPACITY);
    }
    CURRENT.with(|c| c.set(None));
    // SAFETY: `owned` came from `Box::into_raw` above; nothing refers to the arena any more
    // (`arena` is not used after this, and `CURRENT` was cleared).
    drop(unsafe { Box::from_raw(owned) });
}
