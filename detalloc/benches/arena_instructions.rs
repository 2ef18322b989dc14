//! Instructions per arena allocation against fill (issue 26), measured with callgrind, one
//! call at a time: a 64 KiB arena's scope filled to 0 %, 25 %, 50 %, 75 % and 99 %, then one
//! measured allocation of each layout (sizes 8 to 1024, alignments 1 to 4096, the padding
//! differing at each fill), and one refused at the end (full).
//!
//! `cargo bench -p detalloc --bench arena_instructions` runs itself under
//! `valgrind --tool=callgrind`, prints the table and **fails** if a successful allocation's
//! count differs across fill levels or layouts: the bump is align-up and one bounds check.

mod callgrind;

use std::alloc::Layout;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::process::ExitCode;
use std::ptr::NonNull;

use detalloc::AllocError;
use detalloc::arena::{Arena, Scope};

detalloc::detalloc! {
    /// The measured arena, statistics on.
    pub struct Scratch<arena: 64 KiB>;
}
detalloc::detalloc! {
    /// The measured arena, statistics off.
    pub struct Lean<arena: 64 KiB, stats: false>;
}

/// One measured allocation (statistics on).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_arena_alloc(
    s: &Scope<'_, Scratch>,
    layout: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    s.allocate(layout)
}

/// One measured allocation (statistics off).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_arena_alloc_lean(
    s: &Scope<'_, Lean>,
    layout: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    s.allocate(layout)
}

const FILLS: [usize; 5] = [0, 25, 50, 75, 99];
const LAYOUTS: [(usize, usize); 4] = [(8, 1), (24, 8), (100, 64), (1024, 4096)];

/// Fills each arena's scope to each level and makes one measured call per layout; the labels.
fn measure() -> Vec<String> {
    let mut labels = Vec::new();
    macro_rules! run {
        ($ty:ty, $wrapper:ident, $name:literal) => {{
            let mut arena = Box::new(<$ty>::new());
            for fill in FILLS {
                arena.scope(|s| {
                    let target = <$ty as Arena>::CAPACITY * fill / 100;
                    let _ = s.allocate(Layout::from_size_align(target, 1).unwrap());
                    for (size, align) in LAYOUTS {
                        let layout = Layout::from_size_align(size, align).unwrap();
                        let ok = black_box($wrapper)(s, black_box(layout)).is_ok();
                        labels.push(format!("{}\t{fill}\t{size}x{align}\t{ok}", $name));
                    }
                });
            }
            arena.scope(|s| {
                let _ = s.allocate(Layout::from_size_align(<$ty as Arena>::CAPACITY, 1).unwrap());
                let ok = black_box($wrapper)(s, black_box(Layout::new::<u64>())).is_ok();
                labels.push(format!("{}\t100\t8x8\t{ok}", $name));
            });
        }};
    }
    run!(Scratch, measured_arena_alloc, "stats on");
    run!(Lean, measured_arena_alloc_lean, "stats off");
    labels
}

fn drive() -> Result<ExitCode, String> {
    let dumps = ["measured_arena_alloc".to_owned(), "measured_arena_alloc_lean".to_owned()];
    let counts = callgrind::measure_self(&dumps)?;
    println!("| arena | fill % | layout (size x align) | served | instructions |");
    println!("|---|---:|---|---|---:|");
    let mut served: BTreeSet<(String, u64)> = BTreeSet::new();
    for (label, total) in &counts {
        let f: Vec<&str> = label.split('\t').collect();
        println!("| {} | {} | {} | {} | {total} |", f[0], f[1], f[2], f[3]);
        if f[3] == "true" {
            served.insert((f[0].to_owned(), *total));
        }
    }
    let modes: BTreeSet<&String> = served.iter().map(|(m, _)| m).collect();
    if served.len() != modes.len() {
        return Err(format!(
            "a served allocation's count depends on the fill or layout: {served:?}"
        ));
    }
    println!("flat: one count per arena for every fill level and layout served");
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    callgrind::main("arena_instructions", measure, drive)
}
