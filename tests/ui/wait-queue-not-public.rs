// Safe code cannot reach a pool's wait queue: the trait the waiting future calls is not
// public API (before, `detalloc::wait::Waiting::wait_take(&heap, pool, slot, ..)` took the
// block handed to another future).
use detalloc::detalloc;

detalloc! { struct Waits<pools: [16 x 1], waiters: 1>; }

fn main() {
    let heap = Waits::new();
    let layout = core::alloc::Layout::new::<u64>();
    let _ = detalloc::wait::Waiting::wait_start(&heap, layout, core::task::Waker::noop());
}
