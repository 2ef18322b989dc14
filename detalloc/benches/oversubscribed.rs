//! More spinning threads than cores: 4 threads x 200 000 alloc+free pairs on one heap, on
//! whatever cores the machine has (2 here). `spin` hands the lock over in FIFO order, so when
//! the next ticket belongs to a descheduled thread every other thread waits for the scheduler.
//! With the `std` feature a waiter yields its time slice after a bounded spin, which is the
//! remedy this measures; `lock_free` needs no remedy.
//!
//! `cargo bench -p detalloc --bench oversubscribed` (no remedy) and
//! `cargo bench -p detalloc --features std --bench oversubscribed` (with it). Each case runs
//! in a child process that is killed after 60 s.

mod common;

use std::alloc::Layout;
use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use common::{LockFree, Spin};
use detalloc::Heap;

const THREADS: usize = 4;
const PAIRS: usize = 200_000;
const LIMIT: Duration = Duration::from_secs(60);

fn hammer(heap: &(dyn Heap + Sync)) {
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let layout = Layout::from_size_align(64, 8).unwrap();
                for _ in 0..PAIRS {
                    let p = heap.allocate(black_box(layout)).unwrap();
                    // SAFETY: allocated just above with this layout.
                    let _ = unsafe { heap.deallocate(black_box(p), layout) };
                }
            });
        }
    });
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--run") {
        match args.get(i + 1).map(String::as_str) {
            Some("spin") => hammer(&Spin::new()),
            Some("lock_free") => hammer(&LockFree::new()),
            _ => return ExitCode::FAILURE,
        }
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return ExitCode::SUCCESS;
    }
    let remedy = if cfg!(feature = "std") { "yield after 128 spins (feature std)" } else { "none" };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("{THREADS} threads x {PAIRS} pairs on {cores} cores; spin remedy: {remedy}");
    let exe = std::env::current_exe().expect("own path");
    for mode in ["spin", "lock_free"] {
        let start = Instant::now();
        let mut child = Command::new(&exe).args(["--run", mode]).spawn().expect("spawn");
        let outcome = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break if status.success() {
                    format!("{:.2} s", start.elapsed().as_secs_f64())
                } else {
                    "failed".into()
                };
            }
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                break format!("did not finish in {} s (killed)", LIMIT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        println!("{mode:<10} {outcome}");
    }
    ExitCode::SUCCESS
}
