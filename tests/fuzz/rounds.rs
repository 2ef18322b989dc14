//! Running a multi-thread case ([`ThreadCase`]) in rounds, generating one from a seed,
//! printing it, and shrinking it.
//!
//! A round: every worker runs its next `burst` operations while the resetter (if any) calls
//! `reset_stats` until all workers are done; then everyone waits at a barrier and the main
//! thread checks the quiescent heap (`threads::check`) and resets its counters for the next
//! round. A last round frees everything and checks that every pool refills.
//!
//! A thread case's outcome depends on the interleaving, so a failing case is shrunk (and the
//! corpus replays it) by running each candidate repeatedly until it fails or time is up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use detalloc_tests::Rng;

use crate::ctx;
use crate::heaps::{self, Target, VisitShared, place, reclaim};
use crate::model::{Model, fail};
use crate::ops::{self, Action, FreeApi, Op};
use crate::shrink::{self, Found};
use crate::text;
use crate::threads::{Registry, Tally, ThreadCase, Worker, check, refill};
use crate::watchdog::Watch;

/// The `step` of a failure found by a quiescent check rather than by an operation.
pub const QUIESCENT: usize = usize::MAX;

/// Where a thread case failed, in words.
pub fn at_step(found: &Found) -> String {
    if found.step == QUIESCENT {
        "at a quiescent check".into()
    } else {
        format!("at step {} (`{}`)", found.step, text::op(&found.op))
    }
}

/// The multi-thread case of `seed`.
pub fn case_of(seed: u64) -> ThreadCase {
    let mut rng = Rng::new(seed);
    let heap = heaps::SHARED[rng.below(heaps::SHARED.len())];
    let at = rng.below(4096 / 16) * 16;
    let shape = heaps::with_heap(heap, crate::ShapeOf).expect("a listed heap");
    let workers = 1 + rng.below(3);
    let (burst, rounds) = if cfg!(miri) { (4, 1) } else { (1 + rng.below(24), 1 + rng.below(5)) };
    let resetter = rng.below(2) == 0;
    let threads = (0..workers)
        .map(|t| ops::generate(&mut rng, &shape, burst * rounds, true, (t * 1000) as u16))
        .collect();
    ThreadCase { heap, at, burst, resetter, threads }
}

/// A thread case as Rust source (a corpus entry).
pub fn show(case: &ThreadCase) -> String {
    let threads: String =
        case.threads.iter().map(|t| format!("            {},\n", text::ops(t, 12))).collect();
    format!(
        "ThreadEntry {{\n        heap: \"{}\",\n        at: {:#x},\n        burst: {},\n        resetter: {},\n        threads: &[\n{threads}        ],\n    }}",
        case.heap, case.at, case.burst, case.resetter
    )
}

/// Runs `case` once.
pub fn run(case: &ThreadCase, watch: Option<&Watch>) -> Result<(), Found> {
    heaps::with_shared(case.heap, Shared { case, watch }).unwrap_or_else(|| {
        Err(Found {
            step: 0,
            op: Op::Report,
            fail: fail("panic", format!("no shared heap named {}", case.heap)),
        })
    })
}

/// Runs `case` again and again for up to `limit`: its first failure.
pub fn run_for(case: &ThreadCase, limit: Duration) -> Option<Found> {
    let start = Instant::now();
    loop {
        if let Err(found) = run(case, None) {
            return Some(found);
        }
        if start.elapsed() >= limit {
            return None;
        }
    }
}

struct Shared<'a> {
    case: &'a ThreadCase,
    watch: Option<&'a Watch>,
}

impl VisitShared for Shared<'_> {
    type Out = Result<(), Found>;

    fn visit<H: Target + Sync>(self) -> Result<(), Found> {
        run_on::<H>(self.case, self.watch)
    }
}

/// Everything the threads of one run share.
struct Run<'a> {
    case: &'a ThreadCase,
    rounds: usize,
    reg: Registry,
    barrier: Barrier,
    done: AtomicUsize,
    quit: AtomicBool,
    failure: Mutex<Option<Found>>,
    snaps: Mutex<Vec<Tally>>,
}

impl Run<'_> {
    fn failed(&self, found: Found) {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(found);
    }

    fn has_failed(&self) -> bool {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

fn run_on<H: Target + Sync>(case: &ThreadCase, watch: Option<&Watch>) -> Result<(), Found> {
    let placed = place::<H>(case.at);
    let heap = placed.heap();
    let workers = case.threads.len();
    let pools = H::SHAPE.pools.len();
    let burst = case.burst.max(1);
    let run = Run {
        case,
        rounds: case.threads.iter().map(|t| t.len().div_ceil(burst)).max().unwrap_or(0) + 1,
        reg: Registry::default(),
        barrier: Barrier::new(workers + 1 + usize::from(case.resetter)),
        done: AtomicUsize::new(0),
        quit: AtomicBool::new(false),
        failure: Mutex::new(None),
        snaps: Mutex::new(vec![Tally::new(pools); workers]),
    };
    std::thread::scope(|s| {
        for t in 0..workers {
            let run = &run;
            s.spawn(move || worker::<H>(run, heap, t));
        }
        if case.resetter {
            let run = &run;
            s.spawn(move || {
                loop {
                    run.barrier.wait();
                    if run.quit.load(Ordering::SeqCst) {
                        break;
                    }
                    while run.done.load(Ordering::SeqCst) < workers {
                        heap.reset_stats();
                    }
                    run.barrier.wait();
                }
            });
        }
        for round in 0..run.rounds {
            if let Some(w) = watch {
                w.tick(round);
            }
            let stop = run.has_failed();
            run.quit.store(stop, Ordering::SeqCst);
            run.barrier.wait();
            if stop {
                return;
            }
            run.barrier.wait();
            run.done.store(0, Ordering::SeqCst);
            let tallies = run.snaps.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let last = round + 1 == run.rounds;
            let when = if last {
                "after the threads freed everything".into()
            } else {
                format!("after round {round}")
            };
            let checked = check(heap, &tallies, !case.resetter, &when)
                .and_then(|()| if last { refill(heap) } else { Ok(()) });
            if let Err(f) = checked {
                run.failed(Found { step: QUIESCENT, op: Op::Report, fail: f });
            }
            heap.reset_stats();
        }
        run.quit.store(true, Ordering::SeqCst);
        run.barrier.wait();
    });
    match run.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(found) => Err(found), // the heap is leaked: a worker may still hold blocks
        None => {
            // SAFETY: every thread has been joined and freed every block it had.
            unsafe { reclaim(placed) };
            Ok(())
        }
    }
}

fn worker<H: Target + Sync>(run: &Run<'_>, heap: &'static H, t: usize) {
    ctx::install(heap);
    let base = (heap as *const H).addr();
    let pools = H::SHAPE.pools.len();
    let mut w = Worker {
        heap,
        t,
        model: Model::new(H::SHAPE, base),
        reg: &run.reg,
        regions: BTreeMap::new(),
        tally: Tally::new(pools),
        foreign: Box::new([0; 4]),
    };
    let ops = &run.case.threads[t];
    let burst = run.case.burst.max(1);
    let mut broken = false;
    for round in 0.. {
        run.barrier.wait();
        if run.quit.load(Ordering::SeqCst) {
            break;
        }
        let now: Vec<Op> = if round + 1 == run.rounds {
            let frees = w.regions.keys().map(|&id| Op::Free { id, api: FreeApi::Heap });
            [Op::Hooks { action: Action::None }].into_iter().chain(frees).collect()
        } else {
            ops.iter().skip(round * burst).take(burst).copied().collect()
        };
        for (i, op) in now.iter().enumerate() {
            if broken {
                break;
            }
            let mut result = crate::quietly(|| w.step(op));
            if result.is_ok() && i + 1 == now.len() {
                result = w.regions.iter().try_for_each(|(id, r)| w.verify(*id, r));
            }
            if let Err(f) = result {
                broken = true;
                let fail = fail(f.kind, format!("thread {t}, round {round}: {}", f.msg));
                run.failed(Found { step: round * burst + i, op: *op, fail });
            }
        }
        let mut snaps = run.snaps.lock().unwrap_or_else(|e| e.into_inner());
        snaps[t] = w.tally.clone();
        drop(snaps);
        w.tally.restart();
        run.done.fetch_add(1, Ordering::SeqCst);
        run.barrier.wait();
    }
    if broken || run.has_failed() {
        std::mem::forget(w.regions);
        ctx::abandon();
    } else {
        ctx::stop();
        if let Err(msg) = ctx::release_wakers() {
            run.failed(Found { step: 0, op: Op::Report, fail: fail("waker", msg) });
        }
    }
}

/// How long a candidate of `case` must run to be judged: ten times what `case` took to fail
/// again (between 20 ms and 1 s); `None` when it did not fail again within 5 s.
pub fn judging_time(case: &ThreadCase) -> Option<Duration> {
    let start = Instant::now();
    run_for(case, Duration::from_secs(5))?;
    Some((start.elapsed() * 10).clamp(Duration::from_millis(20), Duration::from_secs(1)))
}

/// Shrinks a failing thread case: without the resetter, without whole threads, with a burst
/// of 1, then each thread's operations; each candidate runs for up to `per` until it fails
/// with the same kind.
pub fn shrink_case(
    case: &ThreadCase,
    found: Found,
    budget: Duration,
    per: Duration,
) -> (ThreadCase, Found, usize) {
    let deadline = Instant::now() + budget;
    let kind = found.fail.kind;
    let tries = std::cell::Cell::new(0);
    let test = |c: &ThreadCase| {
        tries.set(tries.get() + 1);
        run_for(c, per).filter(|f| f.fail.kind == kind)
    };
    let (mut best, mut best_found) = (case.clone(), found);
    loop {
        let mut variants = Vec::new();
        if best.resetter {
            variants.push(ThreadCase { resetter: false, ..best.clone() });
        }
        for t in 0..best.threads.len() {
            if best.threads.len() > 1 {
                let mut c = best.clone();
                c.threads.remove(t);
                variants.push(c);
            }
        }
        if best.burst > 1 {
            variants.push(ThreadCase { burst: 1, ..best.clone() });
        }
        let better = variants.into_iter().find_map(|c| {
            if Instant::now() > deadline {
                return None;
            }
            test(&c).map(|f| (c, f))
        });
        match better {
            Some((c, f)) => (best, best_found) = (c, f),
            None => break,
        }
    }
    for t in 0..best.threads.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let far = Found { step: usize::MAX / 2, ..best_found.clone() };
        let ops = best.threads[t].clone();
        let base = best.clone();
        let shrunk = shrink::shrink(&ops, far, left, &mut |candidate| {
            let mut c = base.clone();
            c.threads[t] = candidate.to_vec();
            test(&c).map(|f| Found { step: usize::MAX / 2, ..f })
        });
        best.threads[t] = shrunk.ops;
        best_found = Found { step: best_found.step, ..shrunk.found };
    }
    (best, best_found, tries.get())
}
