//! The quickstart: a heap declared in source, used as the program's global allocator for
//! ordinary collections, then audited and reported.
//!
//! Run: `cargo run -p detalloc-examples --example quickstart`

use std::collections::BTreeMap;

use detalloc::{Heap, detalloc};

detalloc! {
    /// The whole program's heap: four pools, a ticket lock per pool, validation on.
    pub struct AppHeap<
        pools: [16 x 256, 64 x 128, 256 x 64, 4096 x 16],
        sync: spin,
        validate: true,
    >;
}

#[global_allocator]
static HEAP: AppHeap = AppHeap::new();

fn main() {
    // Real work through the global allocator: strings, vectors, a map.
    let mut inventory: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (i, word) in "the quick brown fox jumps over the lazy dog".split(' ').enumerate() {
        inventory.entry(word.to_uppercase()).or_default().push(i as u32);
    }
    let joined: Vec<String> = inventory.iter().map(|(k, v)| format!("{k}:{v:?}")).collect();
    let line = joined.join(" ");
    drop(inventory);

    println!("{}", AppHeap::SUMMARY);
    println!("work: {line}");
    println!();
    print!("{}", HEAP.report());
    match HEAP.validate() {
        Ok(()) => println!("audit: free lists, bitmap and counters agree"),
        Err(corruption) => println!("audit FAILED: {corruption}"),
    }
}
