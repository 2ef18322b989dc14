//! The watchdog: a thread that notices a step that does not finish (a deadlock, e.g. a spin
//! lock re-entered by a callback running under it), prints the case, and ends the process.
//!
//! The harness [`Watch::arm`]s it with a description of the case before running it and
//! [`Watch::tick`]s it before every step; a step running longer than the limit is a hang.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the watchdog does about a hang, after printing the case.
#[derive(Clone)]
pub enum OnHang {
    /// Runs this (e.g. the shrinker in child processes, which prints a minimized case), then
    /// `std::process::abort()`.
    Abort(Arc<dyn Fn(usize) + Send + Sync>),
    /// Prints `DETALLOC-FUZZ-CHILD deadlock` and exits with status 0 (a child replay).
    ChildExit,
}

/// Prints the case being watched, up to the step it is at.
pub type Describe = Arc<dyn Fn(usize) -> String + Send + Sync>;

struct Inner {
    start: Instant,
    limit: Duration,
    armed: AtomicBool,
    step: AtomicUsize,
    /// Milliseconds since `start` at the last tick.
    ticked: AtomicU64,
    describe: Mutex<Option<Describe>>,
    on_hang: Mutex<Option<OnHang>>,
}

/// A handle on one watchdog thread (clones share it).
#[derive(Clone)]
pub struct Watch(Arc<Inner>);

impl Watch {
    /// A watch with no thread: it only records the step running now (for a caller that waits
    /// with its own timeout).
    pub fn passive() -> Self {
        Self::with_thread(Duration::MAX, false)
    }

    /// A watchdog that reports a step running longer than `limit`. Under Miri there is no
    /// thread: ticks are recorded, nothing watches them.
    pub fn new(limit: Duration) -> Self {
        Self::with_thread(limit, !cfg!(miri))
    }

    fn with_thread(limit: Duration, thread: bool) -> Self {
        let inner = Arc::new(Inner {
            start: Instant::now(),
            limit,
            armed: AtomicBool::new(false),
            step: AtomicUsize::new(0),
            ticked: AtomicU64::new(0),
            describe: Mutex::new(None),
            on_hang: Mutex::new(None),
        });
        if thread {
            let weak = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name("fuzz-watchdog".into())
                .spawn(move || {
                    while let Some(inner) = weak.upgrade() {
                        Watch(inner).look();
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .expect("spawn the watchdog");
        }
        Watch(inner)
    }

    fn now(&self) -> u64 {
        self.0.start.elapsed().as_millis() as u64
    }

    /// Starts watching a case: `describe(step)` prints it up to `step`.
    pub fn arm(&self, describe: Describe, on_hang: OnHang) {
        *self.0.describe.lock().unwrap_or_else(|e| e.into_inner()) = Some(describe);
        *self.0.on_hang.lock().unwrap_or_else(|e| e.into_inner()) = Some(on_hang);
        self.tick(0);
        self.0.armed.store(true, Ordering::SeqCst);
    }

    /// Stops watching.
    pub fn disarm(&self) {
        self.0.armed.store(false, Ordering::SeqCst);
    }

    /// Step `step` starts now.
    pub fn tick(&self, step: usize) {
        self.0.step.store(step, Ordering::SeqCst);
        self.0.ticked.store(self.now(), Ordering::SeqCst);
    }

    /// The step running now.
    pub fn step(&self) -> usize {
        self.0.step.load(Ordering::SeqCst)
    }

    fn look(&self) {
        let since = self.now().saturating_sub(self.0.ticked.load(Ordering::SeqCst));
        if !self.0.armed.load(Ordering::SeqCst) || since < self.0.limit.as_millis() as u64 {
            return;
        }
        let step = self.step();
        let describe = self.0.describe.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let on_hang = self.0.on_hang.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let text = describe.map_or_else(String::new, |d| d(step));
        match on_hang {
            Some(OnHang::ChildExit) => {
                println!("DETALLOC-FUZZ-CHILD deadlock {step}");
                std::process::exit(0);
            }
            Some(OnHang::Abort(then)) => {
                eprintln!(
                    "\ndetalloc fuzz: DEADLOCK: step {step} has not finished after {} ms\n{text}",
                    since
                );
                then(step);
                std::process::abort();
            }
            None => {}
        }
    }
}
