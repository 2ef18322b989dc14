use detalloc::detalloc;

detalloc! { pub struct AppHeap<pools: [16 x 64, 64 x 32]>; }

#[global_allocator]
static HEAP: AppHeap = AppHeap::new();

fn main() {}
