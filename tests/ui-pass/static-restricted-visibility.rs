//! The static form (a heap and an arena) with restricted visibilities: `pub(super)` and
//! `pub(in path)` name the declaring module's parent and ancestors, not the hidden module
//! the expansion puts the items in (they failed to compile: "`H` is private, and cannot be
//! re-exported").
mod m {
    detalloc::detalloc! { pub(super) static H: HT<pools: [16 x 4], sync: spin>; }
    detalloc::detalloc! { pub(super) static A: AT<arena: 1 KiB, sync: spin>; }
    pub mod inner {
        detalloc::detalloc! { pub(in crate::m) static I: IT<pools: [16 x 4], sync: spin>; }
    }
    pub fn inner_works() -> bool {
        use detalloc::Heap;
        inner::I.allocate(core::alloc::Layout::new::<u8>()).is_ok()
    }
}
fn main() {
    use detalloc::Heap;
    use detalloc::arena::Arena;
    let b = m::H.allocate(core::alloc::Layout::new::<u8>()).unwrap();
    unsafe { m::H.deallocate(b, core::alloc::Layout::new::<u8>()).unwrap() };
    assert!(m::A.try_scope(|s| s.alloc(7u32).is_ok()).unwrap());
    assert!(m::inner_works());

}
