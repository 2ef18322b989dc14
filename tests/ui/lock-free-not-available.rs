use detalloc::detalloc;

detalloc! {
    pub struct LockFree<pools: [16 x 8], sync: lock_free>;
}

static HEAP: LockFree = LockFree::new();

fn main() {}
