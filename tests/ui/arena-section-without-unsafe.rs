use detalloc::detalloc;

detalloc! {
    pub static SCRATCH: Scratch<arena: 4 KiB in ".sram2", sync: critical_section>;
}

fn main() {}
