//! Typed allocation on a heap with allocator-api2 on stable Rust: the C original's
//! `DET_NEW_ARRAY(heap, T, n)` as a function, plus `Box` and `Vec` in the heap, with
//! grow-in-place inside a block.
//!
//! Run: `cargo run -p detalloc-examples --example typed`

use detalloc::allocator_api2::boxed::Box;
use detalloc::allocator_api2::vec::Vec;
use detalloc::{Heap, detalloc};

detalloc! {
    /// A control loop's heap: small messages, state vectors, a few frames.
    pub struct ControlHeap<pools: [32 x 64, 128 x 32, 1024 x 8], validate: true>;
}

/// `DET_NEW_ARRAY(heap, T, n)`: `n` default values of `T` in one block of `heap`, or `None`
/// when no pool can hold them. Freed when the box is dropped.
fn new_array<T: Default, H: Heap>(heap: &H, n: usize) -> Option<Box<[T], &H>>
where
    for<'a> &'a H: detalloc::allocator_api2::alloc::Allocator,
{
    let mut v = Vec::new_in(heap);
    v.try_reserve_exact(n).ok()?;
    v.extend((0..n).map(|_| T::default()));
    Some(v.into_boxed_slice())
}

#[derive(Debug, Default, Clone, Copy)]
struct Pose {
    x: f32,
    y: f32,
    theta: f32,
}

fn main() {
    let heap = ControlHeap::new();

    let mut poses: Box<[Pose], _> = new_array(&heap, 8).expect("8 poses fit the 128-byte pool");
    poses[3] = Pose { x: 1.0, y: 2.0, theta: 0.5 };
    let p = poses[3];
    println!(
        "poses: {} x {} B in pool {}; poses[3] at ({}, {}) heading {}",
        poses.len(),
        size_of::<Pose>(),
        pool_of(&heap, 96),
        p.x,
        p.y,
        p.theta
    );

    let too_many: Option<Box<[Pose], _>> = new_array(&heap, 1000);
    println!(
        "1000 poses: {}",
        if too_many.is_none() { "refused (no pool holds 12 000 B)" } else { "?" }
    );

    let samples = Box::new_in([0.0f32; 16], &heap);
    let mut log = Vec::with_capacity_in(4, &heap);
    let first = log.as_ptr();
    log.extend([1u32, 2, 3, 4, 5, 6, 7, 8]);
    println!(
        "samples: {} floats; log grew from 4 to {} in place: {}",
        samples.len(),
        log.len(),
        first == log.as_ptr()
    );
    drop((poses, samples, log));

    print!("{}", heap.report());
    heap.validate().expect("the heap is consistent");
    assert_eq!(heap.stats().in_use_bytes, 0);
}

/// The pool a request of `size` bytes (align 8) goes to.
fn pool_of(heap: &ControlHeap, size: usize) -> usize {
    let _ = heap;
    ControlHeap::POOLS
        .iter()
        .position(|p| p.block_size >= size && p.align >= 8)
        .unwrap_or(usize::MAX)
}
