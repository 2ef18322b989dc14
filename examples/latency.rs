//! Per-operation latency on a mixed workload, detalloc next to the allocators users would
//! pick instead: p50, p99, p99.9, p99.99 and max, in time-stamp-counter ticks, as a table and
//! an SVG plot.
//!
//! Run: `cargo run --release -p detalloc-examples --example latency [-- out.svg]`
//! (default output `target/latency.svg`).
//!
//! Every operation is timed alone: `lfence; rdtsc; lfence` before and after. The timer's own
//! cost (the smallest difference of two back-to-back reads) is measured and printed, and not
//! subtracted; its resolution (the smallest non-zero difference) is printed too. On a VM the
//! counter may advance in coarse steps, so short operations read as 0 or one step: compare
//! the tails, not p50.

#[path = "peers.rs"]
mod peers;

use std::fmt::Write as _;

use peers::{
    Buddy, Detalloc, LinkedList, MixedChecked, MixedLean, MixedLockFree, MixedSpin, Op, Rlsf,
    Subject, Sys, Talc,
};

const OPS: usize = 200_000;
const MAX_LIVE: usize = 1000;
const PERCENTILES: [(f64, &str); 5] =
    [(50.0, "p50"), (99.0, "p99"), (99.9, "p99.9"), (99.99, "p99.99"), (100.0, "max")];

#[cfg(target_arch = "x86_64")]
type Ticks = detalloc::clock::Tsc;
#[cfg(not(target_arch = "x86_64"))]
type Ticks = detalloc::clock::Instant;

#[inline(always)]
fn ticks() -> u64 {
    <Ticks as detalloc::Clock>::now()
}

/// The timer: cost of one read (`clock::overhead`) and its step (the smallest non-zero
/// difference of two reads).
fn timer_figures() -> (u64, u64) {
    let cost = detalloc::clock::overhead::<Ticks>(100_000);
    let step =
        (0..100_000).map(|_| ticks().wrapping_neg().wrapping_add(ticks())).filter(|&d| d > 0).min();
    (cost, step.unwrap_or(0))
}

/// Runs the workload once untimed (warm-up), then timed; returns every op's ticks, sorted.
fn measure<S: Subject>(s: &mut S, ops: &[Op]) -> Vec<u64> {
    let mut slots: Vec<Option<S::Handle>> = (0..MAX_LIVE).map(|_| None).collect();
    let mut samples = Vec::with_capacity(ops.len());
    for timed in [false, true] {
        for op in ops {
            let start = ticks();
            match *op {
                Op::Alloc { slot, size } => {
                    slots[slot] = s.alloc(peers::layout_of(size));
                }
                Op::Free { slot } => {
                    if let Some(h) = slots[slot].take() {
                        s.free(h);
                    }
                }
            }
            let end = ticks();
            if timed {
                samples.push(end.wrapping_sub(start));
            }
        }
    }
    assert!(slots.iter().all(Option::is_none), "the workload frees everything it allocates");
    samples.sort_unstable();
    samples
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Row {
    name: &'static str,
    values: Vec<u64>,
}

fn row<S: Subject>(s: &mut S, ops: &[Op]) -> Row {
    let samples = measure(s, ops);
    Row {
        name: s.name(),
        values: PERCENTILES.iter().map(|&(p, _)| percentile(&samples, p)).collect(),
    }
}

/// A log-scale line chart: one polyline per allocator over the percentiles.
fn svg(rows: &[Row], cost: u64) -> String {
    let (w, h, left, right, top, bottom) = (900.0, 520.0, 70.0, 250.0, 30.0, 50.0);
    let max = rows.iter().flat_map(|r| r.values.iter().copied()).max().unwrap_or(1).max(10) as f64;
    let min = 1.0f64;
    let y = |v: u64| {
        top + (h - top - bottom)
            * (1.0 - ((v.max(1) as f64).ln() - min.ln()) / (max.ln() - min.ln()))
    };
    let x = |i: usize| left + (w - left - right) * i as f64 / (PERCENTILES.len() - 1) as f64;
    let colors = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
        "#1f78b4", "#b2df8a",
    ];
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        out,
        r#"<text x="{left}" y="18" font-size="14">ticks per operation (log scale), mixed workload 16..256 B, up to 1 000 live; timer cost {cost} ticks (not subtracted)</text>"#
    );
    let mut decade = 1u64;
    while (decade as f64) <= max * 1.01 {
        let yy = y(decade);
        let _ = write!(
            out,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{decade}</text>"##,
            w - right,
            left - 6.0,
            yy + 4.0
        );
        decade *= 10;
    }
    for (i, &(_, label)) in PERCENTILES.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            x(i),
            h - bottom + 20.0
        );
    }
    for (k, r) in rows.iter().enumerate() {
        let color = colors[k % colors.len()];
        let points: Vec<String> =
            r.values.iter().enumerate().map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v))).collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let ly = top + 16.0 * k as f64 + 10.0;
        let _ = write!(
            out,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            w - right + 10.0,
            w - right + 30.0,
            w - right + 36.0,
            ly + 4.0,
            r.name
        );
    }
    out.push_str("</svg>\n");
    out
}

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "target/latency.svg".into());
    let ops = peers::mixed_workload(0x1A7E, OPS, MAX_LIVE);
    let (cost, step) = timer_figures();
    let rows = vec![
        row(&mut Detalloc::<MixedLean>::new("detalloc local lean"), &ops),
        row(&mut Detalloc::<MixedChecked>::new("detalloc local stats+validate"), &ops),
        row(&mut Detalloc::<MixedSpin>::new("detalloc spin"), &ops),
        row(&mut Detalloc::<MixedLockFree>::new("detalloc lock_free"), &ops),
        row(&mut Detalloc::<peers::MixedCritical>::new("detalloc critical_section (host)"), &ops),
        row(&mut Rlsf::new(), &ops),
        row(&mut Talc::new(), &ops),
        row(&mut LinkedList::new(), &ops),
        row(&mut Buddy::new(), &ops),
        row(&mut Sys, &ops),
    ];
    println!(
        "{} operations (mixed 16..256 B, up to {MAX_LIVE} live), ticks per operation",
        ops.len()
    );
    println!(
        "timer: one read costs {cost} ticks (included, not subtracted); smallest step {step} ticks"
    );
    print!("{:<34}", "allocator");
    for (_, label) in PERCENTILES {
        print!("{label:>9}");
    }
    println!("{:>10}", "p99/p50");
    for r in &rows {
        print!("{:<34}", r.name);
        for v in &r.values {
            print!("{v:>9}");
        }
        let ratio = r.values[1] as f64 / r.values[0].max(1) as f64;
        println!("{ratio:>10.2}");
    }
    match std::fs::write(&out, svg(&rows, cost)) {
        Ok(()) => println!("plot: {out}"),
        Err(e) => println!("could not write {out}: {e}"),
    }
}
