//! Instruction counts per `allocate` and per `deallocate`, measured with callgrind, one call
//! at a time, for each pool of a 3-class heap at 0 %, 50 % and 99 % fill, with 1 024 and
//! 65 536 blocks per pool, lean (stats and validation off) and checked (both on), on the
//! reuse path (a freed block is handed out again) and the bump path (a never-used block).
//!
//! `cargo bench -p detalloc --bench instructions` runs itself under
//! `valgrind --tool=callgrind`, dumping the counters after each measured call, prints the
//! table and **fails** if a count differs across fill levels or pool sizes: that constancy is
//! the product's promise. The counts include the call into the measured function and its
//! return (the layout is an argument, so the size-class dispatch is measured too).

mod callgrind;
mod common;

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::ptr::NonNull;

use common::{BareFreeList, Checked, CheckedLarge, Lean, LeanHooked, LeanLarge};
use detalloc::__private::{Align64, Buffer, Local, Pool, StatsOff, StatsOn};
use detalloc::{AllocError, FreeError, Heap, audit_wrappers};

audit_wrappers!(Lean, measured_alloc_lean, measured_free_lean);
audit_wrappers!(LeanHooked, measured_alloc_lean_hooked, measured_free_lean_hooked);
audit_wrappers!(Checked, measured_alloc_checked, measured_free_checked);
audit_wrappers!(LeanLarge, measured_alloc_lean_large, measured_free_lean_large);
audit_wrappers!(CheckedLarge, measured_alloc_checked_large, measured_free_checked_large);

/// One measured alloc+free pair of 64 bytes with the layout a constant, as `Box::new` has it:
/// the size-class dispatch folds away.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_pair_lean_const(heap: &Lean) {
    const LAYOUT: Layout = Layout::new::<[u64; 8]>();
    if let Ok(block) = heap.allocate(LAYOUT) {
        // SAFETY: allocated just above with this layout.
        let _ = unsafe { heap.deallocate(black_box(block), LAYOUT) };
    }
}

/// One measured alloc+free pair of the reference free list.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_pair_bare(list: &BareFreeList) {
    let block = list.alloc();
    // SAFETY: `block` came from `list`.
    unsafe { list.free(black_box(block)) };
}

/// One measured pop of the reference free list.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_alloc_bare(list: &BareFreeList) -> *mut u8 {
    list.alloc()
}

/// One measured push of the reference free list.
///
/// # Safety
/// `block` came from `list`.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn measured_free_bare(list: &BareFreeList, block: *mut u8) {
    // SAFETY: forwarded.
    unsafe { list.free(block) }
}

/// The body a pool runs inside its lock: under `sync: critical_section`, exactly what runs
/// with interrupts masked. Measured on a `Local` pool (whose lock is no code at all) with
/// statistics and validation on (the longest body) and off.
type SectionChecked = Pool<64, 1024, 64, Local, StatsOn>;
type SectionLean = Pool<64, 1024, 0, Local, StatsOff>;
type SectionBlocks = Buffer<64, 1024, Align64>;

macro_rules! measured_section {
    ($($alloc:ident, $free:ident: $pool:ty;)*) => {$(
        /// One measured pool body: allocation.
        ///
        /// # Safety
        /// `blocks` is `pool`'s own buffer.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub unsafe fn $alloc(pool: &$pool, blocks: &SectionBlocks) -> Option<NonNull<u8>> {
            // SAFETY: forwarded.
            unsafe { pool.alloc(blocks) }
        }

        /// One measured pool body: free.
        ///
        /// # Safety
        /// `ptr` is a live block of `pool`.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub unsafe fn $free(pool: &$pool, blocks: &SectionBlocks, ptr: NonNull<u8>) -> Result<(), FreeError> {
            // SAFETY: forwarded.
            unsafe { pool.free(blocks, ptr) }
        }
    )*};
}

measured_section! {
    measured_alloc_section_checked, measured_free_section_checked: SectionChecked;
    measured_alloc_section_lean, measured_free_section_lean: SectionLean;
}

/// Measures the two section bodies on the reuse and the bump path.
fn measure_sections(labels: &mut Vec<String>) {
    fn run<P>(
        labels: &mut Vec<String>,
        name: &str,
        pool: &P,
        alloc: unsafe fn(&P, &SectionBlocks) -> Option<NonNull<u8>>,
        free: unsafe fn(&P, &SectionBlocks, NonNull<u8>) -> Result<(), FreeError>,
    ) {
        // A fresh pool (the caller's) and fresh blocks: used only together below.
        let blocks = SectionBlocks::new();
        labels.push(format!("section {name} alloc-bump"));
        // SAFETY: `blocks` is only ever given to `pool`.
        let first = unsafe { alloc(pool, &blocks) }.unwrap();
        labels.push(format!("section {name} free"));
        // SAFETY: `first` is a live block of `pool`, from `blocks`.
        unsafe { free(pool, &blocks, first) }.unwrap();
        labels.push(format!("section {name} alloc-reuse"));
        // SAFETY: as above.
        let again = unsafe { alloc(pool, &blocks) }.unwrap();
        labels.push(format!("section {name} free"));
        // SAFETY: `again` is a live block of `pool`.
        unsafe { free(pool, &blocks, again) }.unwrap();
    }
    run(
        labels,
        "checked",
        &SectionChecked::new(),
        measured_alloc_section_checked,
        measured_free_section_checked,
    );
    run(
        labels,
        "lean",
        &SectionLean::new(),
        measured_alloc_section_lean,
        measured_free_section_lean,
    );
}

const FILLS: [usize; 3] = [0, 50, 99];

/// The measured pair of one heap type.
struct Measured<H> {
    name: &'static str,
    blocks: usize,
    alloc: fn(&H, Layout) -> Result<NonNull<u8>, AllocError>,
    free: unsafe fn(&H, NonNull<u8>, Layout) -> Result<(), FreeError>,
}

impl<H: Heap> Measured<H> {
    /// One scenario: allocate up to `fill` % of pool `pool` (plus one block freed again for
    /// the reuse path), then one measured allocate and one measured free. A fresh (zeroed)
    /// heap each time, so the bump path really finds the free list empty.
    fn scenario(
        &self,
        labels: &mut Vec<String>,
        pool: usize,
        size: usize,
        fill: usize,
        reuse: bool,
    ) {
        // SAFETY: the all-zero state of a detalloc heap is the empty heap (its documented
        // invariant), so a zeroed box is a valid, empty heap.
        let heap: Box<H> = unsafe { Box::<H>::new_zeroed().assume_init() };
        let layout = Layout::from_size_align(size, 8).unwrap();
        let target = self.blocks * fill / 100;
        let mut held: Vec<NonNull<u8>> =
            (0..target + usize::from(reuse)).map(|_| heap.allocate(layout).unwrap()).collect();
        if reuse {
            let block = held.pop().unwrap();
            // SAFETY: allocated above with this layout.
            unsafe { heap.deallocate(block, layout) }.unwrap();
        }
        let (name, path) = (self.name, if reuse { "reuse" } else { "bump" });
        labels.push(format!("{name} alloc pool{pool} {path} fill{fill}"));
        let block = (self.alloc)(&heap, black_box(layout)).unwrap();
        labels.push(format!("{name} free pool{pool} {path} fill{fill}"));
        // SAFETY: `block` was just allocated with this layout.
        unsafe { (self.free)(&heap, black_box(block), black_box(layout)) }.unwrap();
        for block in held {
            // SAFETY: allocated above with this layout.
            unsafe { heap.deallocate(block, layout) }.unwrap();
        }
    }
}

/// Runs every scenario; under callgrind each measured call is one dump, in `labels` order.
fn measure() -> Vec<String> {
    let mut labels = Vec::new();
    let lean = Measured::<Lean> {
        name: "lean/1024",
        blocks: 1024,
        alloc: measured_alloc_lean,
        free: measured_free_lean,
    };
    let lean_hooked = Measured::<LeanHooked> {
        name: "hooks0/1024",
        blocks: 1024,
        alloc: measured_alloc_lean_hooked,
        free: measured_free_lean_hooked,
    };
    let lean_large = Measured::<LeanLarge> {
        name: "lean/65536",
        blocks: 65536,
        alloc: measured_alloc_lean_large,
        free: measured_free_lean_large,
    };
    let checked = Measured::<Checked> {
        name: "checked/1024",
        blocks: 1024,
        alloc: measured_alloc_checked,
        free: measured_free_checked,
    };
    let checked_large = Measured::<CheckedLarge> {
        name: "checked/65536",
        blocks: 65536,
        alloc: measured_alloc_checked_large,
        free: measured_free_checked_large,
    };
    for (pool, size) in [16, 64, 256].into_iter().enumerate() {
        for fill in FILLS {
            for reuse in [true, false] {
                lean.scenario(&mut labels, pool, size, fill, reuse);
                lean_large.scenario(&mut labels, pool, size, fill, reuse);
                lean_hooked.scenario(&mut labels, pool, size, fill, reuse);
                checked.scenario(&mut labels, pool, size, fill, reuse);
                checked_large.scenario(&mut labels, pool, size, fill, reuse);
            }
        }
    }
    measure_sections(&mut labels);
    let bare = BareFreeList::new();
    labels.push("bare alloc".into());
    let block = measured_alloc_bare(&bare);
    labels.push("bare free".into());
    // SAFETY: `block` came from `bare`.
    unsafe { measured_free_bare(&bare, black_box(block)) };
    labels.push("pair bare-free-list".into());
    measured_pair_bare(&bare);
    let lean = Lean::new();
    // Warm the pool (unmeasured) so the measured pair takes the reuse path.
    let warm = lean.allocate(Layout::new::<[u64; 8]>()).unwrap();
    // SAFETY: allocated just above with this layout.
    unsafe { lean.deallocate(warm, Layout::new::<[u64; 8]>()) }.unwrap();
    labels.push("pair detalloc-lean".into());
    measured_pair_lean_const(&lean);
    labels
}

fn main() -> ExitCode {
    callgrind::main("instructions", measure, drive)
}

/// Runs this binary under callgrind and checks the counts.
fn drive() -> Result<ExitCode, String> {
    let kinds = [
        "lean",
        "lean_hooked",
        "checked",
        "lean_large",
        "checked_large",
        "section_checked",
        "section_lean",
        "bare",
    ];
    let mut dump_after: Vec<String> = kinds
        .iter()
        .flat_map(|k| [format!("measured_alloc_{k}"), format!("measured_free_{k}")])
        .collect();
    dump_after.extend(["measured_pair_bare".into(), "measured_pair_lean_const".into()]);
    let (labels, counts): (Vec<String>, Vec<u64>) =
        callgrind::measure_self(&dump_after)?.into_iter().unzip();
    Ok(report(&labels, &counts))
}

/// Prints the table; fails when a count depends on fill level or pool size.
fn report(labels: &[String], counts: &[u64]) -> ExitCode {
    // (kind, op, pool, path) -> [(blocks/fill, count)]
    type Row = (String, String, String, String);
    let mut rows: BTreeMap<Row, Vec<(String, u64)>> = BTreeMap::new();
    let mut bare = Vec::new();
    let mut sections = Vec::new();
    let mut pairs = Vec::new();
    for (label, &count) in labels.iter().zip(counts) {
        let parts: Vec<&str> = label.split(' ').collect();
        if parts[0] == "bare" {
            bare.push((parts[1].to_owned(), count));
            continue;
        }
        if parts[0] == "pair" {
            pairs.push((parts[1].to_owned(), count));
            continue;
        }
        if parts[0] == "section" {
            sections.push((format!("{} {}", parts[1], parts[2]), count));
            continue;
        }
        let (kind, blocks) = parts[0].split_once('/').unwrap();
        let key = (kind.to_owned(), parts[1].to_owned(), parts[2].to_owned(), parts[3].to_owned());
        rows.entry(key).or_default().push((format!("{blocks}/{}", parts[4]), count));
    }
    println!(
        "instructions per call (callgrind), each cell one call; columns: blocks per pool / fill"
    );
    let header: Vec<String> = rows
        .values()
        .next()
        .map(|v| v.iter().map(|(c, _)| c.clone()).collect())
        .unwrap_or_default();
    println!("{:<8} {:<5} {:<5} {:<5} | {}", "config", "op", "pool", "path", header.join(" "));
    let mut constant = true;
    for ((kind, op, pool, path), cells) in &rows {
        let first = cells[0].1;
        let same = cells.iter().all(|(_, c)| *c == first);
        constant &= same;
        let values: Vec<String> =
            cells.iter().map(|(h, c)| format!("{c:>width$}", width = h.len())).collect();
        println!(
            "{kind:<8} {op:<5} {pool:<5} {path:<5} | {} {}",
            values.join(" "),
            if same { "constant" } else { "VARIES" }
        );
    }
    for (op, count) in &bare {
        println!("bare free list {op}: {count}");
    }
    println!("alloc+free pair of 64 B with a constant layout (dispatch folded), in one function:");
    for (who, count) in &pairs {
        println!("  {who}: {count}");
    }
    println!(
        "pool body under the lock (with sync: critical_section, what runs with interrupts masked):"
    );
    for (what, count) in &sections {
        println!("  {what}: {count}");
    }
    // A heap declared with hooks whose functions are empty must cost exactly what one
    // without `hooks` costs.
    for ((kind, op, pool, path), cells) in &rows {
        if kind != "hooks0" {
            continue;
        }
        let plain = rows.get(&("lean".to_owned(), op.clone(), pool.clone(), path.clone()));
        if plain.map(|c| c[0].1) != Some(cells[0].1) {
            println!(
                "FAILED: with empty hooks, {op} {pool} {path} costs {} instead of {plain:?}",
                cells[0].1
            );
            constant = false;
        }
    }
    if constant {
        println!(
            "every count is the same at every fill level and pool size; empty hooks cost nothing"
        );
        ExitCode::SUCCESS
    } else {
        println!("FAILED: a count depends on fill level or pool size");
        ExitCode::FAILURE
    }
}
