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

use crate::ops::{Action, AllocApi, FreeApi, Op, ResizeApi, WakerSpec};
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
        panic!(
            "heap {heap} at {at:#x}: step {} `{}`: [{}] {}\ncase: {}",
            f.step,
            text::op(&f.op),
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
    let found = if cfg!(miri) {
        (0..3).find_map(|_| rounds::run(&case, None).err())
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

const QUIET: WakerSpec = WakerSpec::QUIET;

/// Defect 1, allocator-api2 `shrink` reports the wrong block. Pools `[96 x 4, 128 x 1]`: the
/// 128-byte pool is taken; block 0 of the 96-byte pool happens to be 128-aligned (so 64-aligned);
/// shrinking it to 0/64 selects the full 128-byte pool, the block stays where it is, and the
/// length reported is the *selected* pool's 128 bytes: 32 bytes past the 96-byte block.
/// Fails with `[region-bounds] Shrink(...) returned 128 bytes at heap+0x100, but the block
/// holding it (heap+0x100, pool 0, 96 B) ends at heap+0x160`.
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
