//! The determinism picture: the instructions of every single `allocate` and `deallocate`
//! (callgrind, one call at a time) while a heap fills from empty to 95 % and drains back,
//! detalloc in every sync mode beside the allocators users would pick instead, all on the same
//! request sequence; and the worst call seen beside detalloc's static bound.
//!
//! Regenerate (README, "Determinism"): `scripts/determinism.sh`, which builds
//! `detalloc-audit`, `audit_targets` and this example, then runs
//!
//! ```text
//! determinism --audit-tool <detalloc-audit> --audit-targets <audit_targets> --out docs
//! ```
//!
//! It runs itself under `valgrind --tool=callgrind` (see `callgrind.rs`), audits
//! `audit_targets` and its own wrappers with `detalloc-audit`, and writes
//! `docs/determinism.svg`, `docs/determinism.csv` (the plotted bands) and
//! `docs/determinism-worst.csv` (the worst-call table); every call's count goes to
//! `target/determinism-calls.csv`. It fails if a detalloc count changes with the fill (for one
//! pool and path), if any call exceeds the static bound of its wrapper, if an allocation
//! fails, or if this binary's audit-heap wrappers are not bounded as `audit_targets`'s are.
//!
//! Heaps: the picture's detalloc heaps are `[16 x 1024, 64 x 1024, 256 x 1024]`, the pools of
//! `detalloc/benches/instructions.rs` (its `Lean` and `Checked` are this `lean` and
//! `checked`); the same five modes are also run on `[16 x 64, 64 x 32, 256 x 16]`: the heaps
//! `examples/audit_targets.rs` declares, with the same wrappers (`audit_heaps!`), which the
//! README's static-audit table bounds. The modes are declared as there (`heaps!`): `lean`
//! (`local`, stats and validation off), `checked` (`local`, both on), and `spin`, `lock_free`,
//! `critical_section` with stats and validation on. The peers (`peers.rs`) get 8 MiB arenas; heapless's pool as many 64-byte
//! blocks as the sequence has live at most.

#[macro_use]
#[path = "../shared/heaps.rs"]
mod heaps;
#[path = "../peers.rs"]
mod peers;

mod callgrind;
mod plot;
mod report;
mod workload;

use std::alloc::Layout;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::ptr::NonNull;

use detalloc::Heap;
use heaps::Wrapped;
use peers::{Buddy, Heapless, LinkedList, Rlsf, Subject, Sys, Talc};
use workload::{Op, Step};

heaps!([16 x 1024, 64 x 1024, 256 x 1024] {
    Lean: local lean => measured_alloc_lean, measured_free_lean,
    Checked: local checked => measured_alloc_checked, measured_free_checked,
    Spin: spin checked => measured_alloc_spin, measured_free_spin,
    LockFree: lock_free checked => measured_alloc_lock_free, measured_free_lock_free,
    Cs: critical_section checked => measured_alloc_critical_section, measured_free_critical_section,
});
// `examples/audit_targets.rs`'s heaps and wrappers (`audit_alloc_lean`, ...), measured here.
audit_heaps!();

/// The exported, never-inlined pair of one peer (its `Subject` methods are `inline(always)`).
macro_rules! peer_wrappers {
    ($($peer:ty, $alloc:ident, $free:ident;)*) => {$(
        /// One measured allocation.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub fn $alloc(peer: &mut $peer, layout: Layout) -> Option<<$peer as Subject>::Handle> {
            peer.alloc(layout)
        }

        /// One measured free of a handle `peer` gave out.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub fn $free(peer: &mut $peer, handle: <$peer as Subject>::Handle) {
            peer.free(handle)
        }
    )*};
}

peer_wrappers! {
    LinkedList, measured_alloc_linked_list, measured_free_linked_list;
    Buddy, measured_alloc_buddy, measured_free_buddy;
    Talc, measured_alloc_talc, measured_free_talc;
    Rlsf, measured_alloc_rlsf, measured_free_rlsf;
    Heapless, measured_alloc_heapless, measured_free_heapless;
    Sys, measured_alloc_system, measured_free_system;
}

/// Every measured call goes through here, and callgrind dumps after each return (so this
/// function must not end in a tail call: the result goes through `black_box` first).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe(call: &mut dyn FnMut() -> bool) -> bool {
    let ok = call();
    black_box(ok)
}

/// The seed of the request sequence.
const SEED: u64 = 0xDE7A_110C;

/// The layout of a request: align 8.
fn layout_of(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("sizes up to 256")
}

/// Runs `steps` on one subject, each call through `probe`; prints one record per call.
fn run<S, H>(
    out: &mut impl Write,
    (heap, key): (&str, &str),
    subject: &mut S,
    steps: &[Step],
    alloc: impl Fn(&mut S, Layout) -> Option<H>,
    free: impl Fn(&mut S, H, Layout),
) {
    let slots = steps.iter().map(|s| s.slot + 1).max().unwrap_or(0);
    let mut slots: Vec<Option<H>> = (0..slots).map(|_| None).collect();
    for step in steps {
        let layout = layout_of(step.size);
        let ok = match step.op {
            Op::Alloc => probe(&mut || {
                slots[step.slot] = alloc(subject, layout);
                slots[step.slot].is_some()
            }),
            Op::Free => {
                let mut handle = slots[step.slot].take();
                probe(&mut || handle.take().map(|h| free(subject, h, layout)).is_some())
            }
        };
        let (op, path) = (step.op.name(), step.path.name());
        let (live, size, class) = (step.live, step.size, step.class);
        let _ = writeln!(out, "{heap} {key} {op} {live} {size} {class} {path} {ok}");
    }
}

/// Runs `steps` on a fresh heap of each of the five modes of one set (`heap`): `lean`,
/// `checked`, `spin`, `lock_free` and `critical_section`, in this order.
fn run_modes<L: Wrapped, C: Wrapped, S: Wrapped, F: Wrapped, X: Wrapped>(
    out: &mut impl Write,
    heap: &str,
    steps: &[Step],
) {
    run_heap::<L>(out, (heap, "lean"), steps);
    run_heap::<C>(out, (heap, "checked"), steps);
    run_heap::<S>(out, (heap, "spin"), steps);
    run_heap::<F>(out, (heap, "lock_free"), steps);
    run_heap::<X>(out, (heap, "critical_section"), steps);
}

/// Runs `steps` on a fresh heap of type `H` through its wrappers.
fn run_heap<H: Wrapped>(out: &mut impl Write, names: (&str, &str), steps: &[Step]) {
    let (alloc, free) = (H::ALLOC, H::FREE);
    // SAFETY: the all-zero bytes of a detalloc heap are its documented empty state.
    let mut heap: Box<H> = unsafe { Box::<H>::new_zeroed().assume_init() };
    let give_back = |heap: &mut Box<H>, block: NonNull<u8>, layout: Layout| {
        // SAFETY: `run` passes only blocks it took from a slot, which it filled with this
        // heap's `allocate` for the step's layout; a step frees a slot once, with the size it
        // was allocated with (`workload::Step::size`), so `layout` is that layout.
        let freed = unsafe { free(heap, block, layout) };
        assert!(freed.is_ok(), "{}: a valid free refused", names.1);
    };
    run(out, names, &mut heap, steps, |heap, layout| alloc(heap, layout).ok(), give_back);
}

/// Runs `steps` on one peer through its wrappers.
fn run_peer<S: Subject>(
    out: &mut impl Write,
    key: &str,
    peer: &mut S,
    steps: &[Step],
    alloc: fn(&mut S, Layout) -> Option<S::Handle>,
    free: fn(&mut S, S::Handle),
) {
    run(out, ("picture", key), peer, steps, alloc, |peer, handle, _| free(peer, handle));
}

/// The pools' block counts of a heap type.
fn blocks_of<H: Heap>() -> [usize; 3] {
    // SAFETY: as in `run_heap`.
    let heap: Box<H> = unsafe { Box::<H>::new_zeroed().assume_init() };
    std::array::from_fn(|k| heap.pool_stats(k).map_or(0, |p| p.blocks))
}

/// The child under callgrind: every subject, every call through `probe`, one line each.
fn measure() {
    let stdout = std::io::stdout();
    let out = &mut std::io::BufWriter::new(stdout.lock());
    let picture = workload::fill_and_drain(blocks_of::<Lean>(), SEED);
    let audit = workload::fill_and_drain(blocks_of::<LeanHeap>(), SEED);
    run_modes::<Lean, Checked, Spin, LockFree, Cs>(out, "picture", &picture);
    run_modes::<LeanHeap, CheckedHeap, SpinHeap, LockFreeHeap, CsHeap>(out, "audit", &audit);
    let most = workload::most_live(blocks_of::<Lean>());
    macro_rules! run_peers {
        ($($key:literal, $peer:expr, $alloc:ident, $free:ident;)*) => {$(
            run_peer(out, $key, &mut $peer, &picture, $alloc, $free);
        )*};
    }
    run_peers! {
        "linked_list", LinkedList::new(), measured_alloc_linked_list, measured_free_linked_list;
        "buddy", Buddy::new(), measured_alloc_buddy, measured_free_buddy;
        "talc", Talc::new(), measured_alloc_talc, measured_free_talc;
        "rlsf", Rlsf::new(), measured_alloc_rlsf, measured_free_rlsf;
        "heapless", Heapless::new(most), measured_alloc_heapless, measured_free_heapless;
        "system", Sys, measured_alloc_system, measured_free_system;
    }
    let _ = out.flush();
}

/// The driver's options.
struct Options {
    audit_tool: PathBuf,
    audit_targets: PathBuf,
    out: PathBuf,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut tool, mut targets, mut out) = (None, None, PathBuf::from("docs"));
    while let Some(arg) = args.next() {
        let mut value = || args.next().map(PathBuf::from).ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--audit-tool" => tool = Some(value()?),
            "--audit-targets" => targets = Some(value()?),
            "--out" => out = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let usage = "usage: determinism --audit-tool <detalloc-audit> --audit-targets <audit_targets> \
                 [--out DIR] (or run scripts/determinism.sh)";
    Ok(Options { audit_tool: tool.ok_or(usage)?, audit_targets: targets.ok_or(usage)?, out })
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--measure") {
        measure();
        return ExitCode::SUCCESS;
    }
    match options().and_then(|o| report::drive(&o.audit_tool, &o.audit_targets, &o.out)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("determinism: {e}");
            ExitCode::FAILURE
        }
    }
}
