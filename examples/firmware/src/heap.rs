// The firmware's heap, declared once: the global allocator of `src/main.rs`, and the heap that
// `examples/measure.rs` and `examples/size.rs` measure. Each includes this file at its root
// (`include!`), so that the type is that program's own `FirmwareHeap`.
detalloc::detalloc! {
    /// The firmware's heap: three pools, shared by `main` and the SysTick handler. Interrupt
    /// handlers and `main` on one core: `sync: critical_section` (interrupts are masked for
    /// the few instructions of each pool update).
    pub struct FirmwareHeap<
        pools: [16 x 64, 64 x 32, 256 x 16],
        sync: critical_section,
        validate: true,
    >;
}
