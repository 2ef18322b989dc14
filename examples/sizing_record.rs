//! Sizing a heap for a real program, step 1 of 2: record the workload of
//! `sizing/workload.rs` (serde_json and regex, two threads) several times and paste the
//! suggested heap into `sizing/suggested.rs`, which `sizing_check` compiles as its global
//! allocator.
//!
//! Run: `cargo run --release -p detalloc-examples --example sizing_record [-- RUNS]`
//! (4 runs as the program runs, plus the two extreme interleavings driven: 6 recordings),
//! then `cargo run --release -p detalloc-examples --example sizing_check`.
//!
//! Each run is a fresh process (this binary, as a child) whose global allocator is a
//! byte counter around a `Recorder` around `System`: the recorder logs every allocation and
//! free from the process's start, and the counter measures the true peak of live requested
//! bytes. The child saves its recording under `target/sizing/`; this parent loads them all
//! and asks `detalloc-suggest` for the 8-pool heap with the fewest bytes that serves every run
//! (margin as below). It writes:
//! - `sizing/suggested.rs`: the suggestion's output, verbatim (a declaration and its table).
//! - `sizing/recorded.txt`: what `sizing_check` compares against: the pools, the workload's
//!   checksum, and the true peaks measured here.

use std::alloc::System;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use detalloc_suggest::{
    Margin, Options, Recorder, Recording, bound_for_sizes, leave_one_out, replay_all, spill_counts,
    suggest,
};

#[path = "sizing/counting.rs"]
mod counting;
#[path = "sizing/workload.rs"]
mod workload;

use counting::Counting;
use workload::Schedule;

/// The counter is outside, so that it sees the program's requests only (not the recorder's
/// log, which the recorder takes from `System` directly).
#[global_allocator]
static COUNTER: Counting<Recorder<System>> = Counting::new(Recorder::new(System));

/// Set in a child's environment to the schedule of its one run of the workload (the same
/// variable as in `sizing_check`, so that reading it allocates the same).
const CHILD: &str = "DETALLOC_SIZING_CHILD";
/// Where a child saves its recording (read after the recording is taken).
const OUT: &str = "DETALLOC_SIZING_OUT";

/// Pools in the heap.
const POOLS: usize = 8;
/// The heap is declared `spill: true` and sized for it: block sizes by the lower bound,
/// counts by replaying every recorded run under every free policy. On top, 2 % of each pool's
/// count and one spare block in the pool that covers the largest sizes at risk (with spill a
/// spare block high up covers an overflow of any pool below it). Without spill the `+1` was
/// one block per pool: recorded under `System`, the threads run at other speeds than on the
/// heap, and without it 11 of 20 runs on the heap needed one more 118800-byte block than any
/// of 6 recorded runs had live.
const MARGIN: Margin = Margin { percent: 4, blocks: 1 };
/// The margin this example used before spill (one block per pool), for `table`'s comparison.
const PER_POOL: Margin = Margin { percent: 2, blocks: 1 };

fn main() {
    let schedule = std::env::var_os(CHILD).map(|name| {
        Schedule::from_name(name.to_str().unwrap_or_default()).expect("a schedule's name")
    });
    match schedule {
        Some(schedule) => child(schedule),
        None => parent(),
    }
}

/// One recorded run. Allocates, up to the recording, what a `sizing_check` child does.
fn child(schedule: Schedule) {
    let checksum = workload::run(schedule);
    println!("workload ok: checksum {checksum:016x}");
    let true_peak = COUNTER.peak();
    let recording = COUNTER.inner().recording();
    let out = PathBuf::from(std::env::var_os(OUT).expect("the parent names the file"));
    recording.save(&out).expect("the recording is written");
    std::fs::write(out.with_extension("peak"), format!("{true_peak}\n")).expect("written");
}

fn parent() {
    let concurrent: usize = match std::env::args().nth(1).as_deref() {
        Some("table") => return table(),
        Some(arg) => arg.parse().expect("usage: sizing_record [CONCURRENT_RUNS | table]"),
        None => 4,
    };
    // The program as it runs, several times, and the two extreme interleavings, driven.
    let mut schedules = vec!["concurrent"; concurrent];
    schedules.extend(["scan-first", "main-first"]);
    let runs = schedules.len();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../target/sizing");
    std::fs::create_dir_all(&dir).expect("target/sizing can be created");
    let exe = std::env::current_exe().expect("the example's own path");

    let mut recordings = Vec::with_capacity(runs);
    let mut true_peaks = Vec::with_capacity(runs);
    let mut checksum = None;
    let started = Instant::now();
    for (run, schedule) in schedules.iter().enumerate() {
        let out = dir.join(format!("run-{run}.rec"));
        let output = Command::new(&exe)
            .env(CHILD, schedule)
            .env(OUT, &out)
            .output()
            .expect("the child starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "run {run} failed: {}{stdout}", output.status);
        let sum = stdout.trim().strip_prefix("workload ok: checksum ").expect("a checksum line");
        assert!(checksum.get_or_insert(sum.to_owned()) == sum, "the workload changed");
        let recording = Recording::load(&out).expect("the child's recording loads");
        let peak: usize = std::fs::read_to_string(out.with_extension("peak"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .expect("the child's peak");
        println!(
            "run {run} ({schedule}): {} events, {} threads, true peak of live requested bytes \
             {peak} B",
            recording.events(),
            recording.threads()
        );
        true_peaks.push(peak);
        recordings.push(recording);
    }
    let recorded = started.elapsed();
    let started = Instant::now();
    let options = Options::new(POOLS).margin(MARGIN).spill(true);
    let suggestion = suggest(&recordings, &options).expect("a heap for the workload");
    let solved = started.elapsed();
    println!("\nrecorded {runs} runs in {recorded:.1?}, suggested in {solved:.1?}:\n");
    print!("{suggestion}");

    let (low, high) = (true_peaks.iter().min().unwrap(), true_peaks.iter().max().unwrap());
    let own: u64 = suggestion.pools().iter().map(|p| p.own_peaks).sum();
    println!(
        "\ntrue peak of live requested bytes (counting wrapper around System): {low}..{high} B;\n\
         heap {} B = {:.2}x the largest; summing each size's own peak instead: {own} blocks, \
         {:.2}x the {} blocks suggested",
        suggestion.total_bytes(),
        suggestion.total_bytes() as f64 / *high as f64,
        own as f64 / suggestion.blocks() as f64,
        suggestion.blocks()
    );

    let header = format!(
        "// Generated by `cargo run --release -p detalloc-examples --example sizing_record`:\n\
         // the suggestion for {runs} recorded runs of sizing/workload.rs, pasted verbatim.\n\
         // `sizing_check` compiles it as its global allocator. Do not edit: regenerate.\n\n"
    );
    std::fs::write(manifest.join("sizing/suggested.rs"), format!("{header}{suggestion}"))
        .expect("sizing/suggested.rs is written");
    let mut facts = String::new();
    let _ = writeln!(facts, "pools {}", suggestion.pools_list());
    let _ = writeln!(facts, "checksum {}", checksum.unwrap_or_default());
    let _ = writeln!(facts, "runs {runs}");
    let _ = writeln!(facts, "margin {MARGIN}");
    let _ = writeln!(facts, "spill true");
    let peaks: Vec<String> = true_peaks.iter().map(usize::to_string).collect();
    let _ = writeln!(facts, "true_peaks {}", peaks.join(" "));
    std::fs::write(manifest.join("sizing/recorded.txt"), facts)
        .expect("sizing/recorded.txt is written");
    println!("\nwrote examples/sizing/suggested.rs and examples/sizing/recorded.txt");
}

/// `sizing_record table`: from the recordings of the last `sizing_record` (in `target/sizing`),
/// the comparison for 8, 12 and 16 pools (today's suggestion with its margin, the same sizes
/// at exact peaks, the same sizes with spill, the spill suggestion, the bounds), each as bytes
/// and as a ratio to the largest true peak; the time each takes; and leave-one-run-out for
/// the spill suggestion with `MARGIN`.
fn table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sizing");
    let mut runs = Vec::new();
    let mut true_peak = 0usize;
    for run in 0.. {
        let file = dir.join(format!("run-{run}.rec"));
        if !file.exists() {
            break;
        }
        runs.push(Recording::load(&file).expect("a recording of sizing_record"));
        let peak = std::fs::read_to_string(file.with_extension("peak")).expect("its peak file");
        true_peak = true_peak.max(peak.trim().parse().expect("a number"));
    }
    assert!(!runs.is_empty(), "no recording in target/sizing: run sizing_record first");
    let ratio = |bytes: u128| format!("{bytes} B = {:.2}x", bytes as f64 / true_peak as f64);
    println!(
        "{} recorded runs, largest true peak {true_peak} B of live requested bytes\n",
        runs.len()
    );
    for pools in [8, 12, 16] {
        let timed = Instant::now();
        let today = suggest(&runs, &Options::new(pools).margin(PER_POOL)).expect("a heap");
        let today_time = timed.elapsed();
        let exact = suggest(&runs, &Options::new(pools)).expect("a heap");
        let exact_specs = exact.pool_specs();
        let same = spill_counts(&exact_specs, &runs);
        let same_bytes: usize = same.iter().map(|p| p.bytes()).sum();
        let same_bound = bound_for_sizes(&exact_specs, &runs).bytes;
        let timed = Instant::now();
        let spill = suggest(&runs, &Options::new(pools).spill(true)).expect("a heap");
        let spill_time = timed.elapsed();
        let timed = Instant::now();
        let margined =
            suggest(&runs, &Options::new(pools).spill(true).margin(MARGIN)).expect("a heap");
        let margined_time = timed.elapsed();
        let passes =
            replay_all(&margined.pool_specs(), true, &runs).iter().all(|(_, _, r)| r.passed());
        let sizes_bound = spill.sizes_bound().bytes;
        let pools_bound = spill.pools_bound().bytes;
        println!("{pools} pools:");
        println!(
            "  no spill, margin {PER_POOL} per pool      {} (suggested in {today_time:.1?})",
            ratio(today.total_bytes() as u128)
        );
        println!(
            "  same sizes, exact peaks                          {}",
            ratio(exact.total_bytes() as u128)
        );
        println!(
            "  same sizes, spill, counts by replay              {} ({:.3}x the bound for those sizes, {})",
            ratio(same_bytes as u128),
            same_bytes as f64 / same_bound as f64,
            ratio(same_bound)
        );
        println!(
            "  spill suggestion, no margin                      {} ({:.3}x the bound for its sizes; in {spill_time:.1?})",
            ratio(spill.total_bytes() as u128),
            spill.total_bytes() as f64 / sizes_bound as f64
        );
        println!(
            "  spill suggestion, margin {MARGIN} (spare in pool {})  {} (in {margined_time:.1?}; every run replays: {passes})",
            margined.spill_fit().map_or(0, |f| f.spare),
            ratio(margined.total_bytes() as u128)
        );
        println!("  bound for the spill suggestion's sizes           {}", ratio(sizes_bound));
        println!(
            "  bound for any heap of {pools} pools                   {} (spill suggestion {:.3}x it)\n",
            ratio(pools_bound),
            spill.total_bytes() as f64 / pools_bound as f64
        );
    }
    let unlimited = detalloc_suggest::bound_for_pools(&runs, usize::MAX).bytes;
    println!("bound for any heap, any number of pools: {}\n", ratio(unlimited));
    let timed = Instant::now();
    let held =
        leave_one_out(&runs, &Options::new(POOLS).spill(true).margin(MARGIN)).expect("heaps");
    println!("leave one run out, {POOLS} pools, spill, margin {MARGIN} ({:.1?}):", timed.elapsed());
    for h in &held {
        let verdicts: Vec<String> = h
            .replays
            .iter()
            .map(|(policy, r)| match r.failure {
                None => format!("{} ok", policy.name()),
                Some(f) => {
                    format!("{} FAILS at event {} ({} B)", policy.name(), f.event, f.layout.size())
                }
            })
            .collect();
        println!("  run {} left out: heap {} B; {}", h.run, h.bytes(), verdicts.join(", "));
    }
}
