// Every arena key, both forms, and the uses the scope rules allow.
use detalloc::allocator_api2::vec::Vec;
use detalloc::arena::{Arena, Scope};
use detalloc::detalloc;

detalloc! {
    /// Documented, with attributes.
    #[derive(Debug)]
    pub struct All<arena: 1 MiB align 4096, sync: spin, stats: false, poison: debug, budget: 1 MiB>;
}
detalloc! {
    pub(crate) static SCRATCH: Placed<arena: 0x1000 B align 64 in unsafe(".bss.arena_pass"), sync: critical_section>;
}

/// A helper taking any scope: the references it returns live as long as the scope.
fn squares<'s, A: Arena>(s: &Scope<'s, A>, n: usize) -> &'s mut [u64] {
    s.alloc_slice_fill_with(n, |i| (i * i) as u64).unwrap()
}

fn main() {
    let mut all = Box::new(All::new());
    let total = all.scope(|outer| {
        let kept = squares(outer, 4);
        let inner_sum = outer.scope(|inner| {
            let mut v: Vec<u64, _> = Vec::new_in(&*inner);
            v.extend_from_slice(kept);
            v.iter().sum::<u64>()
        });
        kept[3] += inner_sum;
        kept.iter().sum::<u64>()
    });
    assert_eq!(total, 28);
    let _ = SCRATCH.try_scope(|s| s.alloc_str("ok").map(|s| s.len()));
    assert_eq!(Placed::SECTION, Some(".bss.arena_pass"));
}
