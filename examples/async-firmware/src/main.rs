#![no_std]
#![no_main]
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::{Executor, Spawner};
use panic_semihosting as _;

#[embassy_executor::task(pool_size = 4)]
async fn hello(id: usize) {
    hprintln!("task {id}");
    if id == 0 { debug::exit(debug::EXIT_SUCCESS); }
}

#[entry]
fn main() -> ! {
    let executor = cortex_m::singleton!(: Executor = Executor::new()).unwrap();
    executor.run(|spawner: Spawner| {
        for id in (0..4).rev() { spawner.spawn(hello(id).unwrap()); }
    })
}
