//! SysTick for the QEMU firmware examples (included by path: `#[path = ".../shared/systick.rs"]
//! mod systick;`).

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;

/// Starts SysTick on the core clock, its exception every `reload + 1` core cycles.
pub fn start(mut syst: SYST, reload: u32) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(reload);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}
