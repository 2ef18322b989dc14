//! The corpus: failing cases the fuzzer found, as it minimized them, replayed as plain tests.
//! Each names its heap, where the heap sits modulo 4096 (`at`: whether a block happens to be
//! more aligned than its pool is part of the case), and its operations; the replay runs every
//! invariant check after every step, then frees everything and checks the heap refills.
//!
//! The `defect_*` cases fail on the code they were found on (each test's doc says how); once
//! their defect is fixed they pass and stay as regression tests. Run one with
//! `cargo test -p detalloc-tests --test fuzz -- corpus::defect_1 --nocapture`.
//!
//! They are small enough for Miri. A case that deadlocks is run on a thread of its own and
//! reported after [`DEADLOCK`] (that thread is left spinning).

use std::sync::mpsc;
use std::time::Duration;

use crate::ops::{Action, AllocApi, Bad, FreeApi, Op, ResizeApi, WakerSpec};
use crate::shrink::Found;
use crate::threads::ThreadCase;
use crate::watchdog::Watch;
use crate::{rounds, run_case, text};

/// A single-thread case.
pub struct Case {
    /// A heap of `heaps.rs`.
    pub heap: &'static str,
    /// Its address modulo 4096.
    pub at: usize,
    /// The operations.
    pub ops: &'static [Op],
}

/// A multi-thread case (see `threads.rs`).
pub struct ThreadEntry {
    /// A `SHARED` heap.
    pub heap: &'static str,
    /// Its address modulo 4096.
    pub at: usize,
    /// Operations per thread between quiescent checks.
    pub burst: usize,
    /// Whether a thread calls `reset_stats` meanwhile.
    pub resetter: bool,
    /// Each thread's operations.
    pub threads: &'static [&'static [Op]],
}

/// How long a step may run before the replay calls it a deadlock.
const DEADLOCK: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 10 });

/// Replays `case`; panics with the failure.
fn replay(case: &Case) {
    let (heap, at, ops) = (case.heap, case.at, case.ops);
    let watch = Watch::passive();
    let (tx, rx) = mpsc::channel();
    let on_thread = watch.clone();
    std::thread::Builder::new()
        .name("corpus-replay".into())
        .spawn(move || {
            let _ = tx.send(run_case(heap, at, ops, Some(&on_thread)));
        })
        .expect("spawn the replay");
    let found = match rx.recv_timeout(DEADLOCK) {
        Ok(result) => result.err(),
        Err(_) => {
            let step = watch.step();
            Some(Found {
                step,
                op: ops.get(step).copied().unwrap_or(Op::Report),
                fail: crate::model::fail(
                    "deadlock",
                    format!("step {step} has not finished after {DEADLOCK:?}"),
                ),
            })
        }
    };
    if let Some(f) = found {
        let op = ops.get(f.step).map_or("the teardown".into(), |op| format!("`{}`", text::op(op)));
        panic!(
            "heap {heap} at {at:#x}: step {} {op}: [{}] {}\ncase: {}",
            f.step,
            f.fail.kind,
            f.fail.msg,
            text::ops(ops, 0)
        );
    }
}

/// Replays a thread case again and again for up to `limit` (its outcome depends on the
/// interleaving); panics with the first failure.
fn replay_threads(entry: &ThreadEntry, limit: Duration) {
    let case = ThreadCase {
        heap: entry.heap,
        at: entry.at,
        burst: entry.burst,
        resetter: entry.resetter,
        threads: entry.threads.iter().map(|t| t.to_vec()).collect(),
    };
    // Under Miri a few runs only: its scheduler seldom preempts a thread inside the few
    // instructions such a race needs (`-Zmiri-preemption-rate` raises the odds).
    let found = if cfg!(miri) {
        (0..5).find_map(|_| rounds::run(&case, None).err())
    } else {
        rounds::run_for(&case, limit)
    };
    if let Some(f) = found {
        panic!(
            "heap {}: [{}] {}\ncase: {}",
            entry.heap,
            f.fail.kind,
            f.fail.msg,
            rounds::show(&case)
        );
    }
}

/// Defect 1, allocator-api2 `shrink` reports the wrong block. Pools `[96 x 4, 128 x 1]`: the
/// 128-byte pool is taken; block 0 of the 96-byte pool happens to be 128-aligned; shrinking it
/// to 0/64 selects the full 128-byte pool, the block stays where it is, and the length
/// reported is the *selected* pool's 128 bytes, 32 past the end of the 96-byte block.
/// Fails with `[region-bounds] Shrink(allocation 1 at heap+0x100, 0/1 -> 0/64) returned 128
/// bytes at heap+0x100, but the block holding it (heap+0x100, pool 0, 96 B) ends at
/// heap+0x160: the region runs 32 bytes past it`.
#[test]
fn defect_1_shrink_wrong_block() {
    replay(&Case {
        heap: "Api96",
        at: 0x3f0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 64 },
            Op::Alloc { id: 1, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Resize { id: 1, api: ResizeApi::Shrink, size: 0, align: 64 },
        ],
    });
}

/// Defect 1, `spill: true`, pools `[64 x 1, 96 x 4]`: the 64-byte pool is taken, so 0/1 spills
/// to a 32-aligned 96-byte block; `grow` to 0/64 selects the 64-byte pool for both layouts and
/// stays in place: a block not aligned to 64. Fails with `[region-align] Grow(allocation 2 at
/// heap+0x120, 0/1 -> 0/64) returned heap+0x120, not aligned to the requested 64 bytes`.
#[test]
fn defect_1_grow_in_place_misaligned() {
    replay(&Case {
        heap: "Spill64",
        at: 0x100,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Alloc { id: 1, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Alloc { id: 2, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Resize { id: 2, api: ResizeApi::Grow, size: 0, align: 64 },
        ],
    });
}

/// Defect 1, pools `[8 x 4, 4096 x 1]`: the hook keeps a 9-byte block (the 4096-byte pool is
/// then taken); an 8-byte block that happens to be 4096-aligned, shrunk to 0/16, stays and is
/// reported as 4096 bytes long. Fails with `[region-bounds] Shrink(allocation 0 at heap+0x1000,
/// 0/1 -> 0/16) returned 4096 bytes at heap+0x1000, but the block holding it (heap+0x1000,
/// pool 0, 8 B) ends at heap+0x1008: the region runs 4088 bytes past it`.
#[test]
fn defect_1_shrink_reports_4096_bytes() {
    replay(&Case {
        heap: "Big4096",
        at: 0x470,
        ops: &[
            Op::Hooks { action: Action::Keep { size: 9, align: 1 } },
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Resize { id: 0, api: ResizeApi::Shrink, size: 0, align: 16 },
        ],
    });
}

/// Defect 1, the leak: a 16-byte block that happens to be 128-aligned is kept in place by a
/// shrink to 0/128 (no pool fits that layout, the pointer does); freeing it with the layout it
/// now has is refused. Fails in the teardown with `[refused-free] Heap free of allocation 0
/// (heap+0x80, 0/128) was refused with WrongPool: the block leaks`.
#[test]
fn defect_1_kept_block_free_refused() {
    replay(&Case {
        heap: "LocalWait",
        at: 0xf10,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Resize { id: 0, api: ResizeApi::Shrink, size: 0, align: 128 },
        ],
    });
}

/// Defect 1, `grow_zeroed` in place reports (and zeroes) the selected 64-byte pool's length for
/// a 16-byte block: 48 bytes past its end. Fails with `[region-bounds] GrowZeroed(allocation 0
/// at heap+0x40, 0/1 -> 0/32) returned 64 bytes at heap+0x40, but the block holding it
/// (heap+0x40, pool 0, 16 B) ends at heap+0x50: the region runs 48 bytes past it`.
#[test]
fn defect_1_grow_zeroed_past_block() {
    replay(&Case {
        heap: "CsSpillWait",
        at: 0xb0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Wait { id: 1, size: 0, align: 1, waker: WakerSpec::QUIET },
            Op::Resize { id: 0, api: ResizeApi::GrowZeroed, size: 0, align: 32 },
        ],
    });
}

/// Defect 2, `sync: local`: dropping a waiting future drops its waker inside the queue's
/// update; the waker frees a block of the same pool, which re-enters the pool and hands the
/// block to the very future being cancelled, whose slot is then overwritten. Fails in the
/// teardown's cancel with `[waker] a waker of future 1 was dropped or woken after its last
/// reference was gone (the heap used a waker it no longer owned)`.
#[test]
fn defect_2_waker_drop_under_lock_local() {
    replay(&Case {
        heap: "LocalWait1",
        at: 0x570,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 17, align: 1 },
            Op::Donate { id: 0 },
            Op::Wait {
                id: 1,
                size: 17,
                align: 1,
                waker: WakerSpec {
                    on_clone: Action::None,
                    on_drop: Action::FreeOne,
                    on_wake: Action::None,
                },
            },
        ],
    });
}

/// Defect 2, `sync: critical_section`: the waker is cloned inside the pool's critical section;
/// the clone frees a block of the exhausted pool (the critical section re-enters), which goes
/// to the free list, and the future is queued anyway. Fails with `[wait-pending]
/// allocate_wait(0/1) of future 2 is pending, but it may not wait: pool 0 has a free block`.
#[test]
fn defect_2_waker_clone_under_lock_critical_section() {
    replay(&Case {
        heap: "CsWait",
        at: 0xda0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Donate { id: 0 },
            Op::Alloc { id: 1, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Wait {
                id: 2,
                size: 0,
                align: 1,
                waker: WakerSpec {
                    on_clone: Action::FreeOne,
                    on_drop: Action::None,
                    on_wake: Action::None,
                },
            },
        ],
    });
}

/// Defect 2, `sync: spin`: a second poll with a new waker clones it under the pool's ticket
/// lock; the clone allocates from that pool and spins on the lock its own thread holds.
/// Fails (after 10 s; the stuck thread is left spinning) with `[deadlock] step 2 has not
/// finished after 10s`.
#[test]
fn defect_2_waker_deadlock_spin() {
    replay(&Case {
        heap: "SpinWait",
        at: 0xee0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 17, align: 1 },
            Op::Wait { id: 1, size: 17, align: 1, waker: WakerSpec::QUIET },
            Op::Poll {
                id: 1,
                waker: Some(WakerSpec {
                    on_clone: Action::AllocFree { size: 17, align: 1 },
                    on_drop: Action::None,
                    on_wake: Action::None,
                }),
            },
        ],
    });
}

/// Defect 3, `waiters: 1`: F waits, a free hands F the block; before F polls again, G's
/// `allocate_wait` is refused at once though nobody waits (F's slot still counts). Fails with
/// `[wait-refused] allocate_wait(0/1) of future 2 returned Err at once, but it may wait: 0 of 1
/// futures wait on its pool`.
#[test]
fn defect_3_handed_waiter_blocks_the_queue() {
    replay(&Case {
        heap: "LocalWait1",
        at: 0x3b0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 },
            Op::Wait { id: 1, size: 0, align: 1, waker: WakerSpec::QUIET },
            Op::Free { id: 0, api: FreeApi::Heap },
            Op::Wait { id: 2, size: 0, align: 1, waker: WakerSpec::QUIET },
        ],
    });
}

/// Defect 4, `sync: lock_free`: `reset_stats` reads the counts, an allocation raises the peak,
/// then the reset stores the peak it computed from the old counts; at rest the heap's own
/// audit fails. One thread allocating once while another resets, replayed until it fails
/// (usually within a few hundred milliseconds). Fails with `[validate] validate() at a quiescent point after
/// round 0: pool 0: peak 0 is below the 1 live blocks`.
#[test]
fn defect_4_lock_free_reset_race() {
    replay_threads(
        &ThreadEntry {
            heap: "MtLockFree",
            at: 0x150,
            burst: 1,
            resetter: true,
            threads: &[&[Op::Alloc { id: 0, api: AllocApi::Heap, size: 0, align: 1 }]],
        },
        Duration::from_secs(3),
    );
}

/// A self-check of the harness (hand-written, passes on correct code): FIFO hand-off to two
/// waiters of a `spin` heap, a refused third waiter, every kind of refused free.
#[test]
fn self_check_waiting_and_bad_frees() {
    replay(&Case {
        heap: "SpinWait",
        at: 0,
        ops: &[
            Op::Alloc { id: 0, api: AllocApi::Heap, size: 40, align: 8 },
            Op::Wait { id: 1, size: 64, align: 1, waker: WakerSpec::QUIET },
            Op::Wait { id: 2, size: 33, align: 4, waker: WakerSpec::QUIET },
            Op::Wait { id: 3, size: 1, align: 64, waker: WakerSpec::QUIET },
            Op::Wait { id: 4, size: 64, align: 64, waker: WakerSpec::QUIET },
            Op::BadFree { id: 0, bad: Bad::Interior { offset: 7 } },
            Op::BadFree { id: 0, bad: Bad::Foreign },
            Op::BadFree { id: 0, bad: Bad::WrongLayout { size: 8, align: 8 } },
            Op::Free { id: 0, api: FreeApi::Api2 },
            Op::Poll { id: 2, waker: None },
            Op::Poll { id: 1, waker: None },
            Op::BadFree { id: 0, bad: Bad::Double },
            Op::Cancel { id: 3 },
            Op::Free { id: 1, api: FreeApi::Global },
            Op::Poll { id: 2, waker: None },
            Op::ValidatePool { pool: 2 },
            Op::Report,
        ],
    });
}
