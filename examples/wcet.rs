//! Worst-case execution time tracking: a heap declared with `wcet:` records, per operation,
//! the longest, the total and the count in clock ticks; this prints them next to the
//! clock's own overhead (which the figures include: nothing is subtracted).
//!
//! Run: `cargo run --release -p detalloc-examples --example wcet`

use std::alloc::Layout;

use detalloc::{Heap, clock, detalloc};

#[cfg(target_arch = "x86_64")]
type Ticks = clock::Tsc;
#[cfg(not(target_arch = "x86_64"))]
type Ticks = clock::Instant;

detalloc! {
    /// Timed with the platform's tick counter.
    pub struct TimedHeap<pools: [16 x 256, 64 x 128, 256 x 64], sync: spin, wcet: Ticks>;
}

static HEAP: TimedHeap = TimedHeap::new();

fn main() {
    let overhead = clock::overhead::<Ticks>(10_000);
    let mut held = Vec::new();
    for i in 0..100_000usize {
        let layout = Layout::from_size_align(8 + (i * 37) % 240, 8).unwrap();
        if held.len() < 100 && i % 3 != 0 {
            if let Ok(p) = HEAP.allocate(layout) {
                held.push((p, layout));
            }
        } else if let Some((p, layout)) = held.pop() {
            // SAFETY: allocated above with this layout, freed once.
            unsafe { HEAP.deallocate(p, layout) }.expect("a valid free");
        }
    }
    for (p, layout) in held {
        // SAFETY: as above.
        unsafe { HEAP.deallocate(p, layout) }.expect("a valid free");
    }
    let t = HEAP.timing().expect("declared with wcet");
    println!(
        "clock: {}, one read costs {overhead} ticks (included in every figure)",
        std::any::type_name::<Ticks>()
    );
    println!(
        "alloc: max {} ticks, mean {} over {} calls",
        t.alloc.max,
        t.alloc.mean(),
        t.alloc.count
    );
    println!("free:  max {} ticks, mean {} over {} calls", t.free.max, t.free.mean(), t.free.count);
    println!();
    print!("{}", HEAP.report());
}
