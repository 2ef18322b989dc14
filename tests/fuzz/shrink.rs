//! The shrinker: delta debugging over a failing case. It cuts the case after the failing step,
//! removes chunks of operations (halves, quarters, ... single operations), then simplifies
//! what is left (plainer APIs, smaller sizes and alignments, quieter callbacks), keeping every
//! change after which the case still fails *with the same kind of failure*, until nothing
//! changes or the time budget is spent. Last, ids are renumbered from 0.
//!
//! A case on a heap whose lock can self-deadlock (`sync: spin`) is replayed in child processes
//! (this test binary, running `child_replay`), so a candidate that hangs costs a killed child,
//! not a stuck thread.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::{Fail, fail};
use crate::ops::{Action, AllocApi, Bad, FreeApi, Id, Op, WakerSpec};
use crate::text;

/// A failure of a case: the step (0-based; steps past the case are its teardown), the
/// operation, what went wrong.
#[derive(Debug, Clone)]
pub struct Found {
    /// The failing step.
    pub step: usize,
    /// Its operation.
    pub op: Op,
    /// The failure.
    pub fail: Fail,
}

/// A shrunk case.
pub struct Shrunk {
    /// The operations.
    pub ops: Vec<Op>,
    /// Its failure.
    pub found: Found,
    /// Candidates tried.
    pub tries: usize,
}

/// Shrinks `ops`, whose run failed as `found`; `test` runs a candidate.
pub fn shrink(
    ops: &[Op],
    found: Found,
    budget: Duration,
    test: &mut dyn FnMut(&[Op]) -> Option<Found>,
) -> Shrunk {
    let deadline = Instant::now() + budget;
    let kind = found.fail.kind;
    let mut best = ops.to_vec();
    best.truncate(found.step + 1);
    let mut s = Shrunk { ops: best, found, tries: 0 };
    let mut accept = |s: &mut Shrunk, candidate: Vec<Op>| -> bool {
        if Instant::now() > deadline {
            return false;
        }
        s.tries += 1;
        match test(&candidate) {
            Some(f) if f.fail.kind == kind => {
                s.ops = candidate;
                s.ops.truncate(f.step + 1);
                s.found = f;
                true
            }
            _ => false,
        }
    };
    loop {
        let mut progress = false;
        let mut chunk = (s.ops.len() / 2).max(1);
        loop {
            let mut i = 0;
            while i < s.ops.len() {
                let mut candidate = s.ops.clone();
                candidate.drain(i..(i + chunk).min(s.ops.len()));
                if accept(&mut s, candidate) {
                    progress = true;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
        let mut i = 0;
        while i < s.ops.len() {
            for variant in simpler(s.ops[i]) {
                let mut candidate = s.ops.clone();
                candidate[i] = variant;
                if accept(&mut s, candidate) {
                    progress = true;
                    break;
                }
            }
            i += 1;
        }
        if !progress || Instant::now() > deadline {
            break;
        }
    }
    let renumbered = renumber(&s.ops);
    if renumbered != s.ops {
        accept(&mut s, renumbered);
    }
    s
}

/// The ids renumbered 0, 1, 2... in order of first use.
fn renumber(ops: &[Op]) -> Vec<Op> {
    let mut map: BTreeMap<Id, Id> = BTreeMap::new();
    ops.iter()
        .map(|op| match op.id() {
            Some(id) => {
                let next = map.len() as Id;
                op.with_id(*map.entry(id).or_insert(next))
            }
            None => *op,
        })
        .collect()
}

fn smaller(x: u32) -> Vec<u32> {
    let mut v = vec![0, 1, x / 2, x.saturating_sub(1)];
    v.retain(|&y| y < x);
    v.sort_unstable();
    v.dedup();
    v
}

fn smaller_align(a: u32) -> Vec<u32> {
    let mut v = vec![1, a / 2];
    v.retain(|&y| y >= 1 && y < a);
    v.dedup();
    v
}

fn simpler_action(a: Action) -> Vec<Action> {
    let sized = |size: u32, align: u32, make: fn(u32, u32) -> Action| {
        let mut v: Vec<Action> = smaller(size).into_iter().map(|s| make(s, align)).collect();
        v.extend(smaller_align(align).into_iter().map(|al| make(size, al)));
        v
    };
    let mut v = vec![Action::None];
    match a {
        Action::None => return Vec::new(),
        Action::AllocFree { size, align } => {
            v.extend(sized(size, align, |size, align| Action::AllocFree { size, align }));
        }
        Action::Keep { size, align } => {
            v.push(Action::AllocFree { size, align });
            v.extend(sized(size, align, |size, align| Action::Keep { size, align }));
        }
        Action::FreeOne => {}
    }
    v
}

fn simpler_waker(w: WakerSpec) -> Vec<WakerSpec> {
    let mut v = Vec::new();
    if w != WakerSpec::QUIET {
        v.push(WakerSpec::QUIET);
    }
    v.extend(simpler_action(w.on_clone).into_iter().map(|on_clone| WakerSpec { on_clone, ..w }));
    v.extend(simpler_action(w.on_drop).into_iter().map(|on_drop| WakerSpec { on_drop, ..w }));
    v.extend(simpler_action(w.on_wake).into_iter().map(|on_wake| WakerSpec { on_wake, ..w }));
    v
}

/// Simpler variants of one operation, the simplest first.
fn simpler(op: Op) -> Vec<Op> {
    let mut v = Vec::new();
    match op {
        Op::Alloc { id, api, size, align } => {
            if api != AllocApi::Heap {
                v.push(Op::Alloc { id, api: AllocApi::Heap, size, align });
            }
            smaller_layouts(&mut v, size, align, |size, align| Op::Alloc { id, api, size, align });
        }
        Op::Free { id, api } if api != FreeApi::Heap => v.push(Op::Free { id, api: FreeApi::Heap }),
        Op::Resize { id, api, size, align } => {
            smaller_layouts(&mut v, size, align, |size, align| Op::Resize { id, api, size, align });
        }
        Op::BadFree { id, bad: Bad::Interior { offset } } if offset > 0 => {
            v.push(Op::BadFree { id, bad: Bad::Interior { offset: 0 } });
        }
        Op::BadFree { id, bad: Bad::WrongLayout { size, align } } => {
            v.extend(
                smaller(size)
                    .into_iter()
                    .map(|size| Op::BadFree { id, bad: Bad::WrongLayout { size, align } }),
            );
            v.extend(
                smaller_align(align)
                    .into_iter()
                    .map(|align| Op::BadFree { id, bad: Bad::WrongLayout { size, align } }),
            );
        }
        Op::Hooks { action } => {
            v.extend(simpler_action(action).into_iter().map(|action| Op::Hooks { action }))
        }
        Op::Wait { id, size, align, waker } => {
            v.extend(simpler_waker(waker).into_iter().map(|waker| Op::Wait {
                id,
                size,
                align,
                waker,
            }));
            v.extend(smaller(size).into_iter().map(|size| Op::Wait { id, size, align, waker }));
            v.extend(smaller_align(align).into_iter().map(|align| Op::Wait {
                id,
                size,
                align,
                waker,
            }));
        }
        Op::Poll { id, waker: Some(w) } => {
            v.push(Op::Poll { id, waker: None });
            v.extend(simpler_waker(w).into_iter().map(|w| Op::Poll { id, waker: Some(w) }));
        }
        Op::Prefetch { size, align } => {
            v.extend(smaller(size).into_iter().map(|size| Op::Prefetch { size, align }));
        }
        _ => {}
    }
    v
}

/// The environment variable that makes `child_replay` run a case: `HEAP|AT|ENCODED OPS`.
pub const CHILD_ENV: &str = "DETALLOC_FUZZ_CHILD";

/// The marker a child prints before its verdict.
pub const CHILD_MARK: &str = "DETALLOC-FUZZ-CHILD";

/// Runs `ops` on `heap` in a child process (`child_replay`); its failure, if any. A child
/// that runs longer than `limit` is killed and counts as a deadlock at an unknown step.
pub fn in_child(heap: &str, at: usize, ops: &[Op], limit: Duration) -> Option<Found> {
    let exe = std::env::current_exe().ok()?;
    let mut child = Command::new(exe)
        .args(["child_replay", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{heap}|{at}|{}", text::encode(ops)))
        .env_remove("DETALLOC_FUZZ_SEED")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let op = ops.last().copied().unwrap_or(Op::Report);
                let msg = "the child replay did not finish (killed)".to_string();
                return Some(Found {
                    step: ops.len().saturating_sub(1),
                    op,
                    fail: fail("deadlock", msg),
                });
            }
        }
    }
    let out = reader.join().ok()?;
    let line = out
        .lines()
        .find_map(|l| l.split_once(CHILD_MARK).map(|(_, rest)| rest.trim().to_string()))?;
    let mut words = line.splitn(4, ' ');
    let verdict = words.next()?;
    let step: usize = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let op = ops.get(step).copied().unwrap_or(Op::Report);
    match verdict {
        "deadlock" => {
            let msg =
                format!("step {step} never finished: a self-deadlock (the child's watchdog fired)");
            Some(Found { step, op, fail: fail("deadlock", msg) })
        }
        "fail" => {
            let kind = words.next().unwrap_or("unknown");
            let kind = KINDS.iter().copied().find(|k| *k == kind).unwrap_or("unknown");
            Some(Found { step, op, fail: fail(kind, words.next().unwrap_or("").to_string()) })
        }
        _ => None,
    }
}

/// Every failure kind (a child reports its kind by name).
pub const KINDS: &[&str] = &[
    "block-placement",
    "overlap",
    "pool-choice",
    "region-bounds",
    "region-align",
    "contents",
    "zeroed",
    "refused-free",
    "bad-free",
    "resize",
    "stats",
    "validate",
    "report",
    "hooks",
    "waker",
    "wake",
    "fifo",
    "wait",
    "wait-pending",
    "wait-refused",
    "panic",
    "deadlock",
];

/// The same operation with each smaller size, then with each smaller alignment.
fn smaller_layouts(v: &mut Vec<Op>, size: u32, align: u32, op: impl Fn(u32, u32) -> Op) {
    v.extend(smaller(size).into_iter().map(|size| op(size, align)));
    v.extend(smaller_align(align).into_iter().map(|align| op(size, align)));
}
