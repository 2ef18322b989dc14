// Even through the hidden path generated code uses, taking a queued future's block needs
// `unsafe`: a place is the future's own.
use detalloc::detalloc;
use detalloc::__private::Waiting;

detalloc! { struct Waits<pools: [16 x 1], waiters: 1>; }

fn main() {
    let heap = Waits::new();
    let layout = core::alloc::Layout::new::<u64>();
    let waker = core::task::Waker::noop();
    let _held = detalloc::Heap::allocate(&heap, layout);
    if let Err(place) = heap.wait_start(layout, waker) {
        let _ = heap.wait_take(place, layout, waker);
    }
}
