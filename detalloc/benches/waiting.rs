//! What waiting (`waiters: K`) costs, in instructions per call (callgrind, one call at a
//! time, as `instructions.rs` measures): a `spin` heap with validation and statistics, with
//! `waiters: 4` and without.
//!
//! - `allocate` and `deallocate` with an empty queue, against the same heap without waiters
//!   (the free checks the queue: one test);
//! - `deallocate` with a waiter present: the block is handed to it (its waker, a no-op one
//!   here, is woken after the lock: the executor's cost is not counted);
//! - the first poll of `allocate_wait` when a block is free (ready at once).
//!
//! `cargo bench -p detalloc --bench waiting` prints the counts (it checks nothing: the
//! determinism of `waiters: 0` is `instructions.rs`'s).

use std::alloc::Layout;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::process::ExitCode;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use detalloc::{AllocError, Heap, audit_wrappers, detalloc};

mod callgrind;

detalloc! {
    /// With a queue of 4 waiters per pool.
    pub struct WaitHeap<pools: [16 x 1024, 64 x 1024, 256 x 1024], sync: spin, validate: true, waiters: 4>;
}
detalloc! {
    /// The same heap without waiters.
    pub struct PlainHeap<pools: [16 x 1024, 64 x 1024, 256 x 1024], sync: spin, validate: true>;
}

const LAYOUT: Layout = Layout::new::<[u64; 8]>();

audit_wrappers!(WaitHeap, measured_alloc_waiting, measured_free_waiting);
audit_wrappers!(PlainHeap, measured_alloc_plain, measured_free_plain);

/// One measured first poll of `allocate_wait`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_poll_waiting(
    wait: &mut detalloc::wait::AllocateWait<'_, WaitHeap>,
    cx: &mut Context<'_>,
) -> Poll<Result<NonNull<u8>, AllocError>> {
    Pin::new(wait).poll(cx)
}

fn measure() -> Vec<&'static str> {
    let mut labels = Vec::new();
    let cx = &mut Context::from_waker(Waker::noop());
    let (waiting, plain) = (Box::new(WaitHeap::new()), Box::new(PlainHeap::new()));
    labels.push("waiters: 4  allocate");
    let block = measured_alloc_waiting(&waiting, black_box(LAYOUT)).unwrap();
    labels.push("waiters: 4  deallocate, nobody waiting");
    // SAFETY: allocated just above.
    unsafe { measured_free_waiting(&waiting, black_box(block), LAYOUT) }.unwrap();
    labels.push("waiters: 0  allocate");
    let block = measured_alloc_plain(&plain, black_box(LAYOUT)).unwrap();
    labels.push("waiters: 0  deallocate");
    // SAFETY: allocated just above.
    unsafe { measured_free_plain(&plain, black_box(block), LAYOUT) }.unwrap();
    labels.push("waiters: 4  allocate_wait, first poll, a block free (ready)");
    let mut ready = waiting.allocate_wait(LAYOUT);
    let Poll::Ready(Ok(block)) = measured_poll_waiting(&mut ready, cx) else { panic!("ready") };
    drop(ready);
    // Exhaust the 64-byte pool, queue one waiter, then free a block into it.
    let mut held = vec![block];
    while let Ok(b) = waiting.allocate(LAYOUT) {
        held.push(b);
    }
    let mut queued = waiting.allocate_wait(LAYOUT);
    assert!(Pin::new(&mut queued).poll(cx).is_pending());
    labels.push("waiters: 4  deallocate, a waiter present (handed over)");
    // SAFETY: a live block of `waiting`.
    unsafe { measured_free_waiting(&waiting, black_box(held[0]), LAYOUT) }.unwrap();
    let Poll::Ready(Ok(_)) = Pin::new(&mut queued).poll(cx) else { panic!("handed over") };
    labels
}

fn main() -> ExitCode {
    callgrind::main("waiting", measure, drive)
}

/// Runs this binary under callgrind and prints the counts.
fn drive() -> Result<ExitCode, String> {
    let dump_after = ["alloc_waiting", "free_waiting", "alloc_plain", "free_plain", "poll_waiting"]
        .map(|f| format!("measured_{f}"));
    let counts = callgrind::measure_self(&dump_after)?;
    println!(
        "instructions per call (callgrind), `[16 x 1024, 64 x 1024, 256 x 1024]`, spin, stats + validation, 64 B:"
    );
    for (label, total) in counts {
        println!("  {label:<62} {total:>4}");
    }
    Ok(ExitCode::SUCCESS)
}
