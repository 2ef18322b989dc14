//! The panic handler of the crate's programs: the message on stderr, then QEMU exits with
//! failure (included by path by the examples: `#[path = "../src/panic.rs"] mod panic;`).

use riscv_semihosting::debug::{self, EXIT_FAILURE};
use riscv_semihosting::heprintln;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    heprintln!("{}", info);
    debug::exit(EXIT_FAILURE);
    loop {
        riscv::asm::wfi();
    }
}
