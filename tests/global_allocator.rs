//! A whole program whose every allocation goes through a detalloc heap (`harness = false`:
//! no test harness allocating behind our back). Runs ordinary std collections and threads,
//! then checks the heap's own account of it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use detalloc::{Heap, detalloc};

detalloc! {
    struct ProgramHeap<
        pools: [16 x 4096, 32 x 2048, 64 x 2048, 128 x 1024, 512 x 512, 2048 x 128, 8192 x 64, 65536 x 16],
        sync: spin,
        validate: true,
    >;
}

#[global_allocator]
static HEAP: ProgramHeap = ProgramHeap::new();

fn main() {
    // A backtrace's symbolisation needs megabytes, more than these pools hold: report a
    // failure without one instead of failing inside the panic handler.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let before = HEAP.stats();

    let mut words: HashMap<String, usize> = HashMap::new();
    let text = "alloc free alloc spin pool pool block free alloc ".repeat(50);
    for w in text.split_whitespace() {
        *words.entry(w.to_owned()).or_default() += 1;
    }
    let mut ordered: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (w, n) in &words {
        ordered.entry(*n).or_default().push(w.clone());
    }
    let mut queue: VecDeque<Box<[u8]>> =
        (0..200).map(|i| vec![i as u8; i * 7].into_boxed_slice()).collect();
    while let Some(b) = queue.pop_front() {
        if b.len() > 700 {
            queue.push_back(b[..b.len() / 2].into());
        }
    }
    let sum: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    (0..2000).map(|i| [t + i; 5].to_vec().iter().sum::<usize>()).sum::<usize>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sum, 5 * (2 * (0..2000).sum::<usize>() + 2000));
    assert_eq!(words["alloc"], 150);
    drop((words, ordered));

    let after = HEAP.stats();
    assert!(after.allocs > before.allocs + 1000, "the program really allocated through the heap");
    assert_eq!(after.invalid_frees, 0);
    assert_eq!(after.failures, 0, "the pools were big enough for this program");
    HEAP.validate().expect("the heap is consistent after a whole program");
    println!("{}", HEAP.report());
    println!("global allocator program: ok");
}
