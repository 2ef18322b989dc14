//! Sizing a heap for a real program, step 2 of 2: the heap `sizing_record` suggested
//! (`sizing/suggested.rs`, its output pasted verbatim) is this program's global allocator.
//! The same workload runs in fresh processes, 20 times by default; every run must complete
//! (an exhausted pool aborts the process), and the heap's bytes are compared with the true
//! peak of live requested bytes measured while recording.
//!
//! Run: `cargo run --release -p detalloc-examples --example sizing_check [-- RUNS [MAX_RATIO]]`
//!
//! Fails if a run aborts or computes another checksum, if the compiled heap is not the one
//! `sizing/recorded.txt` says was suggested, or if the heap is more than `MAX_RATIO` (2.0 by
//! default) times the true peak.

use std::process::{Command, ExitCode};

use detalloc::Heap;

#[path = "sizing/workload.rs"]
mod workload;

use workload::Schedule;

// The suggestion, pasted: `SizedHeap` and `#[global_allocator] static HEAP`.
include!("sizing/suggested.rs");

/// As in `sizing_record`.
const CHILD: &str = "DETALLOC_SIZING_CHILD";

fn main() -> ExitCode {
    // Read as `sizing_record` reads it; the parent always asks for `concurrent`, the program
    // as it runs.
    let schedule = std::env::var_os(CHILD).map(|name| {
        Schedule::from_name(name.to_str().unwrap_or_default()).expect("a schedule's name")
    });
    match schedule {
        Some(schedule) => {
            child(schedule);
            ExitCode::SUCCESS
        }
        None => parent(),
    }
}

/// One run on the suggested heap. Allocates what a `sizing_record` child does.
fn child(schedule: Schedule) {
    let checksum = workload::run(schedule);
    println!("workload ok: checksum {checksum:016x}");
    for pool in 0..SizedHeap::POOLS.len() {
        if let Some(stats) = HEAP.pool_stats(pool) {
            println!("pool {pool} peak {}", stats.peak);
        }
    }
}

/// `key value` lines of `sizing/recorded.txt`.
fn fact<'a>(facts: &'a str, key: &str) -> &'a str {
    facts
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("sizing/recorded.txt has no `{key}` line: run sizing_record"))
}

fn parent() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(20, |a| a.parse().expect("RUNS is a number"));
    let max_ratio: f64 = args.next().map_or(2.0, |a| a.parse().expect("MAX_RATIO is a number"));
    let facts = include_str!("sizing/recorded.txt");
    let specs = SizedHeap::POOLS;
    let list: Vec<String> =
        specs.iter().map(|p| format!("{} x {}", p.block_size, p.blocks)).collect();
    let compiled = format!("[{}]", list.join(", "));
    if compiled != fact(facts, "pools") {
        eprintln!(
            "the compiled heap {compiled} is not the suggested {}: regenerate both files with \
             sizing_record",
            fact(facts, "pools")
        );
        return ExitCode::FAILURE;
    }
    let checksum = fact(facts, "checksum");
    let true_peak: usize = fact(facts, "true_peaks")
        .split(' ')
        .map(|p| p.parse::<usize>().expect("a number"))
        .max()
        .expect("at least one run");

    let exe = std::env::current_exe().expect("the example's own path");
    let mut completed = 0;
    let mut most_used = vec![0usize; specs.len()];
    for run in 0..runs {
        let output =
            Command::new(&exe).env(CHILD, "concurrent").output().expect("the child starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let sum = stdout.lines().next().and_then(|l| l.strip_prefix("workload ok: checksum "));
        if !output.status.success() || sum != Some(checksum) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            println!("run {run}: FAILED ({}): {}", output.status, stderr.trim());
            continue;
        }
        completed += 1;
        for line in stdout.lines().skip(1) {
            let mut words = line.split(' ');
            if let (Some("pool"), Some(pool), Some("peak"), Some(peak)) =
                (words.next(), words.next(), words.next(), words.next())
            {
                let (pool, peak): (usize, usize) = (pool.parse().unwrap(), peak.parse().unwrap());
                most_used[pool] = most_used[pool].max(peak);
            }
        }
    }
    let aborted = runs - completed;
    println!("{completed} of {runs} runs completed on {}, {aborted} failed", SizedHeap::SUMMARY);
    println!("pool     block    blocks  most used in a run");
    for (index, (spec, used)) in specs.iter().zip(&most_used).enumerate() {
        println!("{index:>4}  {:>8}  {:>8}  {used:>8}", spec.block_size, spec.blocks);
    }
    let ratio = SizedHeap::TOTAL_BYTES as f64 / true_peak as f64;
    println!(
        "heap {} B of blocks / true peak {true_peak} B of live requested bytes = {ratio:.2}x \
         (goal: at most {max_ratio:.2}x)",
        SizedHeap::TOTAL_BYTES
    );
    if aborted > 0 || ratio > max_ratio {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
