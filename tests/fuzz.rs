//! A model-based fuzzer for detalloc, on stable Rust (no libFuzzer).
//!
//! A seed becomes a heap, an address for it modulo 4096, and a sequence of operations over the
//! public API; each operation runs against the real heap and a model, which checks every
//! invariant after every step. A failing case is shrunk and printed as Rust source for the
//! corpus, with the seed and the command that replays it.
//!
//! * `fuzz/heaps.rs`: the declared heaps (every sync mode, validation and `spill` on and off,
//!   `stats: false`, pools that are not powers of two, `waiters: K`) behind one trait.
//! * `fuzz/ops.rs`: the operations and their generator (`Heap`, `GlobalAlloc` and
//!   allocator-api2 allocations, frees and resizes at every pool boundary; refused frees;
//!   `allocate_wait` futures polled by hand; hook and waker actions; `reset_stats`,
//!   `validate_pool`, `prefetch`, `report`).
//! * `fuzz/ctx.rs`: the hooks and the wakers, which log events and re-enter the heap.
//! * `fuzz/model.rs`, `fuzz/stats.rs`: the model, driven by those events.
//! * `fuzz/runner.rs`, `fuzz/resize.rs`, `fuzz/waits.rs`, `fuzz/api.rs`: one step at a time
//!   against a real heap, single-threaded.
//! * `fuzz/threads.rs`, `fuzz/rounds.rs`: several threads on a shared heap, a thread calling
//!   `reset_stats` meanwhile, quiescent checks between rounds.
//! * `fuzz/shrink.rs`, `fuzz/text.rs`: delta debugging, and cases as text.
//! * `fuzz/watchdog.rs`: a step that does not finish is a deadlock: print, then abort.
//! * `fuzz/arena.rs`: arenas (allocator-api2 calls on scopes, nested and refused scopes, raw
//!   allocations and resets) against a model that predicts every offset (`arenas`, below).
//! * `fuzz/corpus.rs`: the minimized cases, replayed as plain tests (fast enough for Miri).
//!
//! Environment:
//! * `DETALLOC_FUZZ_SECS`: the time budget of the two random tests together (default 5 s:
//!   `single_thread` gets 60 %, `threads` 40 %; CI sets about 60). Under Miri a few short
//!   cases run instead.
//! * `DETALLOC_FUZZ_SEED`: replay this one case seed (as printed by a failure).
//! * `DETALLOC_FUZZ_HEAPS=Api96,SpinWait`: fuzz only these heaps.
//! * `DETALLOC_FUZZ_KEEP_GOING=1`: do not stop at the first failure (triage: every new kind
//!   of failure per heap is shrunk and printed; the test fails at the end).
//!
//! `cargo test -p detalloc-tests --test fuzz` runs everything; add `--release` for long runs;
//! `-- corpus::` runs the corpus alone. A new corpus entry is the printed `Case { .. }` in a
//! `#[test]` of `fuzz/corpus.rs` (a `ThreadEntry { .. }` for a thread case).

#[path = "fuzz/api.rs"]
mod api;
#[path = "fuzz/arena.rs"]
mod arena;
#[path = "fuzz/corpus.rs"]
mod corpus;
#[path = "fuzz/ctx.rs"]
mod ctx;
#[path = "fuzz/heaps.rs"]
mod heaps;
#[path = "fuzz/model.rs"]
mod model;
#[path = "fuzz/ops.rs"]
mod ops;
#[path = "fuzz/resize.rs"]
mod resize;
#[path = "fuzz/rounds.rs"]
mod rounds;
#[path = "fuzz/runner.rs"]
mod runner;
#[path = "fuzz/shrink.rs"]
mod shrink;
#[path = "fuzz/stats.rs"]
mod stats;
#[path = "fuzz/text.rs"]
mod text;
#[path = "fuzz/threads.rs"]
mod threads;
#[path = "fuzz/waits.rs"]
mod waits;
#[path = "fuzz/watchdog.rs"]
mod watchdog;

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use detalloc_tests::Rng;

use heaps::{Target, Visit};
use model::{Fail, fail};
use ops::Op;
use runner::Runner;
use shrink::{CHILD_ENV, CHILD_MARK, Found};
use watchdog::{OnHang, Watch};

/// A step running longer than this is a deadlock.
const HANG: Duration = Duration::from_secs(5);
/// The same in a child replay (whose steps take microseconds).
const CHILD_HANG: Duration = Duration::from_secs(1);

/// The budget and seeds, from the environment.
pub struct Config {
    /// Seconds for all random tests together.
    pub secs: f64,
    /// A case seed to replay, instead of fuzzing.
    pub replay: Option<u64>,
    /// Where the case seeds of this run start.
    pub master: u64,
    /// `DETALLOC_FUZZ_KEEP_GOING=1`: after a failure, go on fuzzing until the budget is spent
    /// (each new kind of failure per heap is shrunk and printed); the test fails at the end.
    pub keep_going: bool,
}

/// Parses `0x...` or decimal.
fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The configuration of this run.
pub fn config() -> Config {
    let secs = std::env::var("DETALLOC_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let replay = std::env::var("DETALLOC_FUZZ_SEED").ok().and_then(|s| parse_seed(&s));
    let master = if cfg!(miri) {
        0x00DE_7A11_0C00_0001
    } else {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
    };
    let keep_going = std::env::var("DETALLOC_FUZZ_KEEP_GOING").is_ok_and(|v| v == "1");
    Config { secs, replay, master, keep_going }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f`, turning a panic into a `"panic"` failure without printing it (the report does).
pub fn quietly<R>(f: impl FnOnce() -> Result<R, Fail>) -> Result<R, Fail> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.get() {
                LAST_PANIC.set(info.to_string());
            } else {
                default(info);
            }
        }));
    });
    let was = QUIET.replace(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.set(was);
    result.unwrap_or_else(|_| Err(fail("panic", LAST_PANIC.take())))
}

/// Runs `ops` on a fresh heap of type `H` (ticking `watch` before every step).
struct Single<'a> {
    at: usize,
    ops: &'a [Op],
    watch: Option<&'a Watch>,
}

impl Visit for Single<'_> {
    type Out = Result<(), Found>;

    fn visit<H: Target>(self) -> Result<(), Found> {
        let mut runner = Runner::<H>::new(self.at);
        for (step, op) in self.ops.iter().enumerate() {
            if let Some(w) = self.watch {
                w.tick(step);
            }
            if let Err(fail) = quietly(|| runner.step(op)) {
                runner.abandon();
                return Err(Found { step, op: *op, fail });
            }
        }
        if let Some(w) = self.watch {
            w.tick(self.ops.len());
        }
        let mut teardown = None;
        let finished = quietly(|| {
            runner.finish(self.ops.len()).map_err(|(step, op, fail)| {
                teardown = Some((step, op));
                fail
            })
        });
        finished.map_err(|fail| {
            let (step, op) = teardown.unwrap_or((self.ops.len(), Op::Report));
            Found { step, op, fail }
        })
    }
}

/// Runs a case on the heap named `heap`, placed at `at` modulo 4096.
pub fn run_case(heap: &str, at: usize, ops: &[Op], watch: Option<&Watch>) -> Result<(), Found> {
    heaps::with_heap(heap, Single { at, ops, watch }).unwrap_or_else(|| {
        Err(Found { step: 0, op: Op::Report, fail: fail("panic", format!("no heap named {heap}")) })
    })
}

/// The heap, its placement and the operations of case `seed`.
pub fn case_of(seed: u64) -> (&'static str, usize, Vec<Op>) {
    let mut rng = Rng::new(seed);
    let heap = heaps::SINGLE[rng.below(heaps::SINGLE.len())];
    let at = rng.below(4096 / 16) * 16;
    let shape = heaps::with_heap(heap, ShapeOf).expect("a listed heap");
    let len = if cfg!(miri) { 4 + rng.below(16) } else { 4 + rng.below(120) };
    (heap, at, ops::generate(&mut rng, &shape, len, false, 0))
}

/// Whether `heap` is to be fuzzed: named in `DETALLOC_FUZZ_HEAPS` (comma-separated), or that
/// variable names none of `all`. (A case's heap comes from its seed alone, so a printed seed
/// replays whatever the variable says; the fuzz loop skips the seeds of other heaps.)
pub fn chosen(heap: &str, all: &[&str]) -> bool {
    let wanted = std::env::var("DETALLOC_FUZZ_HEAPS").unwrap_or_default();
    let named = |h: &str| wanted.split(',').any(|w| w.trim() == h);
    named(heap) || !all.iter().any(|h| named(h))
}

/// The next case seed of `master` whose heap `chosen` lets through.
fn next_seed(master: &mut Rng, heap_of: impl Fn(u64) -> &'static str, all: &[&str]) -> u64 {
    loop {
        let seed = master.next_u64();
        if chosen(heap_of(seed), all) {
            return seed;
        }
    }
}

/// The declaration of a heap type.
struct ShapeOf;

impl Visit for ShapeOf {
    type Out = heaps::Shape;

    fn visit<H: Target>(self) -> heaps::Shape {
        H::SHAPE
    }
}

/// How one failure is reported: where, what, and the command that replays it.
fn describe(heap: &str, at: usize, ops: &[Op], found: &Found) -> String {
    let op = match ops.get(found.step) {
        Some(op) => format!("`{}`", text::op(op)),
        None => "the teardown (cancel every future, free every block, refill every pool)".into(),
    };
    format!(
        "heap {heap} at {at:#x}, {} ops; step {}: {op}\n  [{}] {}",
        ops.len(),
        found.step,
        found.fail.kind,
        found.fail.msg
    )
}

/// Shrinks a failing case (in child processes when the heap can self-deadlock) and prints it
/// as a corpus entry.
fn minimize(heap: &str, at: usize, ops: &[Op], found: Found, budget: Duration) -> String {
    let started = Instant::now();
    let spin = heaps::with_heap(heap, ShapeOf).is_some_and(|s| s.sync == "spin");
    let shrunk = if spin || found.fail.kind == "deadlock" {
        let heap = heap.to_string();
        shrink::shrink(ops, found, budget, &mut |c| shrink::in_child(&heap, at, c, CHILD_HANG * 10))
    } else {
        shrink::shrink(ops, found, budget, &mut |c| run_case(heap, at, c, None).err())
    };
    format!(
        "minimized in {:.1} s ({} candidates tried): {}\n\
         corpus entry:\n    Case {{\n        heap: \"{heap}\",\n        at: {at:#x},\n        ops: {},\n    }}",
        started.elapsed().as_secs_f64(),
        shrunk.tries,
        describe(heap, at, &shrunk.ops, &shrunk.found),
        text::ops(&shrunk.ops, 8)
    )
}

/// The single-thread fuzz test: random cases on every `SINGLE` heap for the budget.
#[test]
fn single_thread() {
    let cfg = config();
    let budget = Duration::from_secs_f64(cfg.secs * 0.6);
    let started = Instant::now();
    let watch = Watch::new(HANG);
    let mut master = Rng::new(cfg.master);
    let mut cases = 0u64;
    let (mut failures, mut seen) = (Vec::new(), std::collections::BTreeSet::new());
    loop {
        let seed =
            cfg.replay.unwrap_or_else(|| next_seed(&mut master, |s| case_of(s).0, heaps::SINGLE));
        let (heap, at, ops) = case_of(seed);
        let describe_case = {
            let ops = Arc::new(ops.clone());
            let (case, since) = (cases + 1, started.elapsed().as_secs_f64());
            move |step: usize| {
                let shown = &ops[..(step + 1).min(ops.len())];
                format!(
                    "case {case} (started {since:.2} s into the run), seed {seed:#x}, heap {heap} \
                     at {at:#x}; the operations up to the hung step:\n{}",
                    text::ops(shown, 0)
                )
            }
        };
        let on_hang = {
            let ops = ops.clone();
            move |step: usize| {
                let found = Found {
                    step,
                    op: ops.get(step).copied().unwrap_or(Op::Report),
                    fail: fail("deadlock", format!("step {step} never finished")),
                };
                eprintln!("{}", replay_line(seed, "single_thread"));
                eprintln!("{}", minimize(heap, at, &ops, found, Duration::from_secs(60)));
            }
        };
        watch.arm(Arc::new(describe_case), OnHang::Abort(Arc::new(on_hang)));
        let result = run_case(heap, at, &ops, Some(&watch));
        watch.disarm();
        cases += 1;
        if let Err(found) = result {
            let elapsed = started.elapsed().as_secs_f64();
            let head = format!(
                "detalloc fuzz single_thread: FAILED after {elapsed:.2} s ({cases} cases): seed {seed:#x}, {}\n{}",
                describe(heap, at, &ops, &found),
                replay_line(seed, "single_thread")
            );
            let new = seen.insert((heap, found.fail.kind));
            eprintln!("{head}");
            let shrunk = if cfg!(miri) || !new {
                String::new()
            } else {
                minimize(heap, at, &ops, found, Duration::from_secs(60))
            };
            if cfg.keep_going {
                eprintln!("{shrunk}");
            }
            failures.push(format!("{head}\n{shrunk}"));
            if !cfg.keep_going {
                break;
            }
        }
        let done = if cfg!(miri) { cases >= 3 } else { started.elapsed() >= budget };
        if cfg.replay.is_some() || done {
            break;
        }
    }
    eprintln!(
        "detalloc fuzz single_thread: {cases} cases in {:.1} s, master seed {:#x}",
        started.elapsed().as_secs_f64(),
        cfg.master
    );
    if !failures.is_empty() {
        panic!("{} failing case(s):\n{}", failures.len(), failures.join("\n\n"));
    }
}

/// The command that replays case `seed` of test `test`.
pub fn replay_line(seed: u64, test: &str) -> String {
    format!(
        "replay: DETALLOC_FUZZ_SEED={seed:#x} cargo test -p detalloc-tests --test fuzz -- {test} --exact --nocapture"
    )
}

/// A child replay for the shrinker (`shrink::in_child`): runs the case in `DETALLOC_FUZZ_CHILD`
/// and prints its verdict; does nothing without that variable.
#[test]
fn child_replay() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let mut parts = spec.splitn(3, '|');
    let (Some(heap), Some(at), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let (Some(at), Some(ops)) = (at.parse().ok(), text::decode(encoded)) else { return };
    let watch = Watch::new(CHILD_HANG);
    watch.arm(Arc::new(|_| String::new()), OnHang::ChildExit);
    match run_case(heap, at, &ops, Some(&watch)) {
        Ok(()) => println!("{CHILD_MARK} pass"),
        Err(f) => println!(
            "{CHILD_MARK} fail {} {} {}",
            f.step,
            f.fail.kind,
            f.fail.msg.replace('\n', " ")
        ),
    }
    watch.disarm();
}

/// The multi-thread fuzz test: random thread cases on every `SHARED` heap for the budget.
#[test]
fn threads() {
    let cfg = config();
    let budget = Duration::from_secs_f64(cfg.secs * 0.4);
    let started = Instant::now();
    let watch = Watch::new(HANG);
    let mut master = Rng::new(cfg.master ^ 0x7487_EAD5);
    let mut cases = 0u64;
    let (mut failures, mut seen) = (Vec::new(), std::collections::BTreeSet::new());
    loop {
        let seed = cfg
            .replay
            .unwrap_or_else(|| next_seed(&mut master, |s| rounds::case_of(s).heap, heaps::SHARED));
        let case = rounds::case_of(seed);
        let shown = Arc::new(rounds::show(&case));
        watch.arm(
            Arc::new(move |round| format!("seed {seed:#x}, hung in round {round} of\n{shown}")),
            OnHang::Abort(Arc::new(move |_| eprintln!("{}", replay_line(seed, "threads")))),
        );
        let result = rounds::run(&case, Some(&watch));
        watch.disarm();
        cases += 1;
        if let Err(found) = result {
            let elapsed = started.elapsed().as_secs_f64();
            let head = format!(
                "detalloc fuzz threads: FAILED after {elapsed:.2} s ({cases} cases): seed {seed:#x}, heap {} at {:#x}, {} threads, burst {}, resetter {}; {}\n  [{}] {}\n{}",
                case.heap,
                case.at,
                case.threads.len(),
                case.burst,
                case.resetter,
                rounds::at_step(&found),
                found.fail.kind,
                found.fail.msg,
                replay_line(seed, "threads")
            );
            eprintln!("{head}");
            let new = seen.insert((case.heap, found.fail.kind));
            let shrunk = if cfg!(miri) || !new {
                String::new()
            } else {
                let t0 = Instant::now();
                match rounds::judging_time(&case) {
                    None => "(not shrunk: it did not fail again within 5 s)".to_string(),
                    Some(per) => {
                        let (small, f, tries) =
                            rounds::shrink_case(&case, found, Duration::from_secs(30), per);
                        format!(
                            "minimized in {:.1} s ({tries} candidates, each run up to {} ms): [{}] {}\ncorpus entry:\n    {}",
                            t0.elapsed().as_secs_f64(),
                            per.as_millis(),
                            f.fail.kind,
                            f.fail.msg,
                            rounds::show(&small)
                        )
                    }
                }
            };
            if cfg.keep_going {
                eprintln!("{shrunk}");
            }
            failures.push(format!("{head}\n{shrunk}"));
            if !cfg.keep_going {
                break;
            }
        }
        let done = if cfg!(miri) { cases >= 1 } else { started.elapsed() >= budget };
        if cfg.replay.is_some() || done {
            break;
        }
    }
    eprintln!(
        "detalloc fuzz threads: {cases} cases in {:.1} s, master seed {:#x}",
        started.elapsed().as_secs_f64(),
        cfg.master
    );
    if !failures.is_empty() {
        panic!("{} failing case(s):\n{}", failures.len(), failures.join("\n\n"));
    }
}

/// Arenas: seeded cases of `fuzz/arena.rs` (30 natively, 2 under Miri; `DETALLOC_FUZZ_SEED`
/// replays one).
#[test]
fn arenas() {
    let seeds: Vec<u64> =
        match std::env::var("DETALLOC_FUZZ_SEED").ok().and_then(|s| s.parse().ok()) {
            Some(seed) => vec![seed],
            None => (1..=if cfg!(miri) { 2 } else { 30 }).collect(),
        };
    for seed in seeds {
        let result = std::panic::catch_unwind(|| arena::case(seed));
        assert!(
            result.is_ok(),
            "arena case failed: DETALLOC_FUZZ_SEED={seed} cargo test -p detalloc-tests --test fuzz arenas"
        );
    }
}
