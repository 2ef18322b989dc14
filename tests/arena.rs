//! The arena (issue 26): a model of the bump (random layouts of alignment 1 to 4096 in random
//! nested scopes, each allocation's exact offset predicted, no overlap, contents intact, exact
//! used and high-water mark), the busy flag, panics inside a scope, raw allocation and reset,
//! allocator-api2 (`Vec`/`Box` in a scope, the slice lengths of grow and shrink), poisoning,
//! `stats: false`, the static form. Runs under Miri (`-Zmiri-strict-provenance`).

use std::alloc::Layout;
use std::panic::{AssertUnwindSafe, catch_unwind};

use detalloc::allocator_api2::alloc::Allocator;
use detalloc::allocator_api2::boxed::Box as ApiBox;
use detalloc::allocator_api2::vec::Vec as ApiVec;
use detalloc::arena::{Arena, POISON, Scope, ScopeBusy};
use detalloc::detalloc;
use detalloc_tests::{Rng, ops};

detalloc! { struct Model<arena: 64 KiB align 4096>; }
detalloc! { struct Small<arena: 1 KiB, stats: false>; }
detalloc! { struct Critical<arena: 4 KiB align 64, sync: critical_section>; }
detalloc! { struct Poisoned<arena: 512, poison: true>; }
detalloc! { struct Spun<arena: 2 KiB, sync: spin, poison: debug>; }
detalloc! {
    /// A static arena in its own section (`.bss.*` stays zero-initialised on the host).
    static SHARED: SharedArena<arena: 8 KiB align 128 in unsafe(".bss.detalloc_arena"), sync: critical_section>;
}

/// One live allocation of the model: where, how long, and the byte it was filled with.
struct Block {
    at: usize,
    len: usize,
    stamp: u8,
}

/// What the model knows across levels: the blocks of every open scope (outermost first, each
/// level's count), and the expected peak.
struct World {
    blocks: Vec<Block>,
    peak: usize,
    allocs: u64,
    failures: u64,
    rng: Rng,
    /// The buffer's first byte, with the buffer's provenance (from a raw allocation).
    base: *const u8,
}

fn check_intact(world: &World) {
    for b in world.blocks.iter().filter(|b| b.len > 0) {
        for at in [b.at, b.at + b.len / 2, b.at + b.len - 1] {
            // SAFETY: every model block is live (its scope is open) and was filled with
            // `stamp`; the read goes through the arena's own buffer, which outlives the test.
            let byte = unsafe { world.base.add(at).read() };
            assert_eq!(byte, b.stamp, "a live block was overwritten");
        }
    }
}

/// One scope level: random allocations, and now and then a nested scope; every allocation's
/// offset is predicted (align-up of the cursor), checked against the others, and filled.
fn level<A: Arena>(s: &mut Scope<'_, A>, world: &mut World, depth: usize, steps: usize) {
    let first = world.blocks.len();
    let mut cursor = s.used();
    for _ in 0..steps {
        if depth < 4 && world.rng.below(100) < 5 {
            let before = s.used();
            s.scope(|inner| level(inner, world, depth + 1, steps / 4));
            assert_eq!(s.used(), before, "the nested scope gave everything back");
            check_intact(world);
            continue;
        }
        let align = 1usize << world.rng.below(13);
        let range = if world.rng.below(10) == 0 { 8192 } else { 300 };
        let size = world.rng.below(range);
        let layout = Layout::from_size_align(size, align).unwrap();
        let start = (world.base.addr() + cursor).next_multiple_of(align) - world.base.addr();
        match s.allocate(layout) {
            Ok(block) => {
                let at = block.cast::<u8>().as_ptr().addr() - world.base.addr();
                assert_eq!((at, block.len()), (start, size), "align-up of the cursor, exact size");
                assert!(start + size <= A::CAPACITY);
                for b in &world.blocks {
                    assert!(size == 0 || b.len == 0 || at >= b.at + b.len || at + size <= b.at);
                }
                let stamp = world.rng.below(255) as u8 + 1;
                // SAFETY: `block` is `size` fresh bytes of this scope.
                unsafe { block.cast::<u8>().as_ptr().write_bytes(stamp, size) };
                world.blocks.push(Block { at, len: size, stamp });
                cursor = start + size;
                world.peak = world.peak.max(cursor);
                world.allocs += 1;
            }
            Err(_) => {
                assert!(start + size > A::CAPACITY, "refused although it fits");
                world.failures += 1;
            }
        }
        assert_eq!(s.used(), cursor, "used is the cursor");
        assert_eq!(s.peak(), s.peak().max(cursor));
    }
    check_intact(world);
    world.blocks.truncate(first);
}

/// `rounds` top-level scopes of 200 steps each (fewer under Miri).
fn run_model<A: Arena>(arena: &A, seed: u64, rounds: usize) {
    let steps = if cfg!(miri) { 40 } else { 200 };
    let base = arena
        .try_scope(|s| s.allocate(Layout::new::<()>()).unwrap().cast::<u8>().as_ptr().cast_const())
        .unwrap();
    assert_eq!(base.addr() % A::ALIGN, 0, "the buffer has its declared alignment");
    let mut world =
        World { blocks: Vec::new(), peak: 0, allocs: 1, failures: 0, rng: Rng::new(seed), base };
    for _ in 0..rounds {
        arena.try_scope(|s| level(s, &mut world, 0, steps)).unwrap();
        let stats = arena.stats();
        assert_eq!((stats.used, stats.open), (0, false));
        assert_eq!(stats.peak, world.peak, "exact high-water mark");
        assert_eq!((stats.allocs, stats.failures), (world.allocs, world.failures));
    }
    assert_eq!(arena.stats().scopes, rounds as u64 + 1);
}

#[test]
fn model_alignments_up_to_4096_no_overlap_exact_used_and_peak() {
    let arena = Box::new(Model::new());
    run_model(&*arena, 1, ops(100));
    run_model(&*Box::new(Model::new()), 7, ops(100));
}

#[test]
fn model_on_a_shared_static_arena() {
    run_model(&SHARED, 3, ops(100));
    assert_eq!(SharedArena::SECTION, Some(".bss.detalloc_arena"));
    assert!(
        SharedArena::SUMMARY
            .starts_with("SharedArena: arena 8192 B (align 128) in .bss.detalloc_arena + ")
    );
}

#[test]
fn a_second_scope_is_refused_while_one_is_open() {
    let arena = Critical::new();
    let layout = Layout::new::<u32>();
    let inside = arena.try_scope(|s| {
        s.alloc(1u8).unwrap();
        // What an interrupt handler would see: no scope, no raw allocation, no reset.
        let nested = arena.try_scope(|_| unreachable!("never runs"));
        let raw = arena.allocate(layout).is_err();
        // SAFETY: refused (a scope is open), so nothing is reset.
        let reset = unsafe { arena.reset() };
        (nested, raw, reset)
    });
    assert_eq!(inside, Ok((Err(ScopeBusy), true, Err(ScopeBusy))));
    let s = arena.stats();
    assert_eq!((s.busy, s.failures, s.allocs, s.scopes, s.open), (3, 1, 1, 1, false));
    assert!(arena.try_scope(|_| ()).is_ok(), "open again once closed");
}

#[test]
fn a_panic_inside_a_scope_closes_it() {
    let arena = Critical::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        arena.try_scope(|s| {
            s.alloc([0u8; 100]).unwrap();
            panic!("inside the scope");
        })
    }));
    assert!(result.is_err());
    let s = arena.stats();
    assert_eq!((s.open, s.used, s.peak, s.allocs), (false, 0, 100, 1));
    assert_eq!(arena.try_scope(|s| s.used()), Ok(0));
}

#[test]
fn raw_allocations_stay_below_scopes_until_reset() {
    let arena = Critical::new();
    let a = arena.allocate(Layout::from_size_align(10, 1).unwrap()).unwrap();
    assert_eq!((a.len(), arena.stats().used), (10, 10));
    let inner = arena.try_scope(|s| {
        let b = s.alloc(7u64).unwrap();
        ((b as *mut u64).addr() - a.cast::<u8>().as_ptr().addr(), s.used())
    });
    assert_eq!(inner, Ok((16, 24)), "the scope starts above the raw block, aligned");
    assert_eq!(arena.stats().used, 10);
    assert!(arena.allocate(Layout::new::<[u8; 5000]>()).is_err());
    // SAFETY: `a` is not used after this.
    unsafe { arena.reset() }.unwrap();
    let s = arena.stats();
    assert_eq!((s.used, s.peak, s.allocs, s.failures), (0, 24, 2, 1));
    arena.reset_stats();
    assert_eq!((arena.stats().peak, arena.stats().allocs), (0, 0));
}

#[test]
fn exhaustion_is_an_error_never_a_panic() {
    let mut arena = Small::new();
    arena.scope(|s| {
        assert!(s.alloc([0u8; 1024]).is_ok());
        assert!(s.alloc(0u8).is_err());
        assert!(
            s.allocate(Layout::from_size_align(0, 1).unwrap()).is_ok(),
            "zero bytes fit at the end"
        );
        assert!(s.alloc_slice_fill_with(usize::MAX / 2, |_| 0u64).is_err());
        assert!(s.allocate(Layout::from_size_align(1, 1 << 40).unwrap()).is_err());
        assert_eq!(s.remaining(), 0);
    });
    let s = arena.stats();
    assert_eq!(
        (s.allocs, s.failures, s.peak, s.scopes),
        (0, 0, 0, 0),
        "stats: false counts nothing"
    );
}

#[test]
fn nested_scopes_rewind_in_o1_and_keep_the_outer_values() {
    let mut arena = Critical::new();
    arena.scope(|outer| {
        let kept = outer.alloc_str("kept").unwrap();
        let before = outer.used();
        for round in 0..3 {
            let used = outer.scope(|inner| {
                let tmp = inner.alloc_slice_fill_with(100, |i| i as u32 + round).unwrap();
                let deeper =
                    inner.scope(|d| d.alloc_slice_copy(&tmp[..10]).unwrap().iter().sum::<u32>());
                assert_eq!(deeper, 45 + 10 * round);
                inner.used()
            });
            assert_eq!((used, outer.used()), (before + 400, before));
        }
        assert_eq!(kept, "kept");
        assert_eq!(outer.peak(), before + 440);
    });
    assert_eq!(arena.stats().peak, 444);
}

#[test]
fn allocator_api2_vec_and_box_in_a_scope() {
    let mut arena = Critical::new();
    arena.scope(|s| {
        let mut v: ApiVec<u32, _> = ApiVec::new_in(&*s);
        for i in 0..200 {
            v.push(i);
        }
        assert_eq!(v.iter().sum::<u32>(), 19_900);
        // The vector is the last block: it grew in place, so it holds exactly its capacity.
        assert_eq!(s.used(), v.capacity() * 4);
        let boxed = ApiBox::new_in(5u64, &*s);
        assert_eq!(*boxed, 5);
        let top = s.used();
        drop(boxed); // the last block: popped
        assert_eq!(s.used(), top - 8);
        v.shrink_to_fit();
        assert_eq!(s.used(), 800, "the last block shrank in place");
        drop(v);
        assert_eq!(s.used(), 0);
    });
    assert_eq!(arena.stats().peak, 1024 + 8, "the peak survives the pops");
}

#[test]
fn allocator_api2_slices_have_the_real_length() {
    let mut arena = Critical::new();
    arena.scope(|s| {
        let a: &dyn Allocator = &&*s;
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        let p = a.allocate(l(24, 8)).unwrap();
        assert_eq!(p.len(), 24);
        // SAFETY: `p` is a live block of `a` for `l(24, 8)`; it is the last one, so it grows in place.
        let g = unsafe { a.grow(p.cast(), l(24, 8), l(100, 8)) }.unwrap();
        assert_eq!((g.cast::<u8>(), g.len()), (p.cast::<u8>(), 100));
        let q = a.allocate(l(1, 1)).unwrap();
        // SAFETY: `g` is live for `l(100, 8)`; not the last block any more, so it moves.
        let moved = unsafe { a.grow(g.cast(), l(100, 8), l(200, 64)) }.unwrap();
        assert_eq!((moved.len(), moved.cast::<u8>().as_ptr().addr() % 64), (200, 0));
        // SAFETY: `moved` is live for `l(200, 64)`; alignment kept, so it shrinks in place.
        let shrunk = unsafe { a.shrink(moved.cast(), l(200, 64), l(50, 64)) }.unwrap();
        assert_eq!((shrunk.cast::<u8>(), shrunk.len()), (moved.cast::<u8>(), 50));
        // SAFETY: `q` is live for `l(1, 1)` (not the last block: nothing happens).
        unsafe { a.deallocate(q.cast(), l(1, 1)) };
        assert!(s.used() > 100);
        // SAFETY: `p` was a 1-aligned block; shrinking to a 4096 alignment moves it.
        let odd = unsafe { a.shrink(q.cast(), l(1, 1), l(1, 4096)) };
        assert!(odd.is_err() || odd.unwrap().len() == 1);
    });
}

#[test]
fn poison_overwrites_what_a_scope_gave_back() {
    let mut arena = Poisoned::new();
    arena.scope(|outer| {
        let kept = outer.alloc(0x11u8).unwrap();
        let gone = outer.scope(|inner| {
            let v = inner.allocate(Layout::new::<[u8; 16]>()).unwrap().cast::<u8>().as_ptr();
            // SAFETY: `v` is 16 fresh bytes of this scope.
            unsafe { v.write_bytes(0x22, 16) };
            v
        });
        // SAFETY: a raw pointer into the arena's buffer (the buffer's provenance, no reference
        // in between), which outlives this; nothing else uses those bytes now.
        let after = unsafe { std::slice::from_raw_parts(gone, 16) };
        assert!(after.iter().all(|&b| b == POISON), "use-after-reset shows");
        assert_eq!(*kept, 0x11);
    });
    let first = arena
        .try_scope(|s| s.allocate(Layout::new::<u8>()).unwrap().cast::<u8>().as_ptr())
        .unwrap();
    // SAFETY: as above: the arena's buffer, no reference into it is live.
    assert_eq!(unsafe { first.read() }, POISON);
    assert!(Poisoned::SUMMARY.ends_with("poison=on"));
}

#[test]
fn spin_arena_is_shared_between_threads_one_scope_at_a_time() {
    let arena = Spun::new();
    let threads = if cfg!(miri) { 2 } else { 4 };
    let rounds = ops(2_000);
    std::thread::scope(|t| {
        for id in 0..threads {
            let arena = &arena;
            t.spawn(move || {
                let mut opened = 0;
                for round in 0..rounds {
                    let r = arena.try_scope(|s| {
                        let v = s
                            .alloc_slice_fill_with(64, |i| (id * 1000 + i + round) as u32)
                            .unwrap();
                        std::hint::black_box(&mut *v);
                        v.iter().enumerate().all(|(i, &x)| x == (id * 1000 + i + round) as u32)
                    });
                    if let Ok(intact) = r {
                        assert!(intact, "another thread wrote into an open scope");
                        opened += 1;
                    }
                }
                opened
            });
        }
    });
    let s = arena.stats();
    assert_eq!(s.scopes + s.busy, (threads * rounds) as u64);
    assert_eq!((s.used, s.peak, s.open), (0, 256, false));
}

#[test]
fn report_line() {
    let mut arena = Critical::new();
    arena.scope(|s| {
        s.alloc_slice_copy(&[1u16; 8]).unwrap();
    });
    let text = arena.report().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Critical: arena 4096 B (align 64) + "), "{text}");
    assert!(lines[0].ends_with(" B metadata, sync=critical_section stats=on poison=off"), "{text}");
    assert_eq!(lines[1], "used 0 of 4096 B (peak 16 B); 1 allocs, 0 failures; 1 scopes, 0 refused");
}

/// A nested scope that panics, the panic caught by its parent: its peak, counts and bytes are
/// folded in and poisoned as for one that returned (a breaker's finding: they were lost, and
/// `peak` said 8 where 520 bytes had been in use).
#[test]
fn a_nested_scope_that_panics_still_counts_and_is_poisoned() {
    let mut arena = Poisoned::new();
    let (peak, inner_at) = arena.scope(|outer| {
        let _kept = outer.alloc([1u8; 8]).unwrap();
        let mut inner_at = 0usize;
        let caught = catch_unwind(AssertUnwindSafe(|| {
            outer.scope(|inner| {
                let tmp = inner.alloc_slice_fill_with(400, |_| 0x33u8).unwrap();
                inner_at = tmp.as_ptr().addr();
                panic!("the nested scope's work fails");
            })
        }));
        assert!(caught.is_err());
        (outer.peak(), inner_at)
    });
    assert_eq!(peak, 408, "the nested scope's bytes count in the parent's peak");
    let stats = arena.stats();
    assert_eq!((stats.peak, stats.allocs), (408, 2));
    // The nested scope's bytes are poisoned: the next raw allocation there shows the pattern.
    let raw = arena.allocate(Layout::from_size_align(408, 1).unwrap()).unwrap();
    let raw = raw.cast::<u8>();
    assert_eq!(raw.as_ptr().addr() + 8, inner_at);
    // SAFETY: `raw` is a live 408-byte block of the arena, nobody else's.
    let bytes = unsafe { std::slice::from_raw_parts(raw.as_ptr(), 408) };
    assert!(bytes[8..].iter().all(|&b| b == POISON), "{:?}", &bytes[8..16]);
}

/// With `poison`, the bytes a popped block or a shrunk last block gives back are poisoned too
/// (a breaker's finding: only a closing scope poisoned).
#[test]
fn bytes_given_back_inside_a_scope_are_poisoned() {
    let mut arena = Poisoned::new();
    arena.scope(|s| {
        let mut v: ApiVec<u8, &Scope<'_, Poisoned>> = ApiVec::with_capacity_in(64, &*s);
        v.extend([0x22u8; 64]);
        let at = v.as_ptr().addr();
        v.truncate(8);
        v.shrink_to_fit(); // the last block shrinks in place: 56 bytes back
        let tail = s.allocate(Layout::from_size_align(56, 1).unwrap()).unwrap().cast::<u8>();
        assert_eq!(tail.as_ptr().addr(), at + 8, "the given-back bytes, reused");
        // SAFETY: `tail` is a live 56-byte block of this scope, read before any write.
        let bytes = unsafe { std::slice::from_raw_parts(tail.as_ptr(), 56) };
        assert!(bytes.iter().all(|&b| b == POISON), "{bytes:?}");
        drop(v);
    });
    let mut popped = Poisoned::new();
    popped.scope(|s| {
        let b = ApiBox::new_in([0x11u8; 32], &*s);
        let at = (&raw const *b).addr();
        drop(b); // the last block: popped
        let again = s.allocate(Layout::from_size_align(32, 1).unwrap()).unwrap().cast::<u8>();
        assert_eq!(again.as_ptr().addr(), at);
        // SAFETY: `again` is a live 32-byte block of this scope, read before any write.
        let bytes = unsafe { std::slice::from_raw_parts(again.as_ptr(), 32) };
        assert!(bytes.iter().all(|&b| b == POISON), "{bytes:?}");
    });
}
