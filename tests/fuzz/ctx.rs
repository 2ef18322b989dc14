//! The thread-local context between the harness and the code the heap calls back: the heap's
//! hooks ([`FuzzHooks`]) and the wakers of waiting futures ([`waker`]).
//!
//! Both record what they see as [`Event`]s, in the order they happen on this thread; the model
//! replays that log after every step. Both may also re-enter the heap under test, reached
//! through the pointer [`install`] sets: a hook does the current hook [`Action`] when it is
//! called for the harness's own call (depth 0), a waker does its [`WakerSpec`]'s action on
//! every clone, drop and wake. A depth counter bounds the recursion (a nested call's hooks act
//! no more; callbacks stop acting past [`MAX_DEPTH`]).
//!
//! Blocks a callback keeps ([`Action::Keep`], or handed over by the harness with
//! `Op::Donate`) live in the *bag* until a callback frees them ([`Action::FreeOne`]).

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};

use detalloc::{FreeError, Heap, Hooks};

use crate::ops::{Action, Id, WakerSpec};

/// Callbacks stop re-entering the heap beyond this nesting depth.
pub const MAX_DEPTH: u8 = 3;

/// Which waker function the heap called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `clone`.
    Clone,
    /// `drop`.
    Drop,
    /// `wake` (consumes the waker).
    Wake,
    /// `wake_by_ref`.
    WakeByRef,
}

/// Something the heap told this thread, or something wrong a callback saw. `depth` is how
/// deep in callbacks the heap call that caused it was made (0: the harness's own call).
#[derive(Debug, Clone)]
pub enum Event {
    /// `Hooks::on_alloc`.
    Alloc { depth: u8, pool: usize, ptr: NonNull<u8>, layout: Layout },
    /// `Hooks::on_free`.
    Free { depth: u8, pool: usize, ptr: NonNull<u8>, layout: Layout },
    /// `Hooks::on_fail`.
    Fail { depth: u8, layout: Layout },
    /// `Hooks::on_invalid_free`.
    InvalidFree { depth: u8, ptr: NonNull<u8>, layout: Layout, error: FreeError },
    /// A waker of future `fut` was called.
    Waker { depth: u8, call: Call, fut: Id },
    /// A callback saw something wrong (`kind` as in a model failure).
    Anomaly { kind: &'static str, msg: String },
}

impl Event {
    /// The depth of the heap call behind the event (anomalies: none).
    pub fn depth(&self) -> Option<u8> {
        match *self {
            Event::Alloc { depth, .. }
            | Event::Free { depth, .. }
            | Event::Fail { depth, .. }
            | Event::InvalidFree { depth, .. }
            | Event::Waker { depth, .. } => Some(depth),
            Event::Anomaly { .. } => None,
        }
    }
}

/// A block a callback owns (in the bag).
#[derive(Debug, Clone, Copy)]
pub struct Owned {
    /// The block as allocated.
    pub ptr: NonNull<u8>,
    /// Its layout.
    pub layout: Layout,
    /// Bytes filled with its stamp pattern.
    pub len: usize,
    /// Its stamp.
    pub stamp: u8,
}

/// The data behind every clone of one harness waker (clones share it and count references).
struct WakerData {
    fut: Id,
    spec: WakerSpec,
    refs: AtomicIsize,
}

#[derive(Default)]
struct Ctx {
    heap: Option<&'static dyn Heap>,
    /// Callbacks act only while a run is live.
    live: bool,
    events: Vec<Event>,
    depth: u8,
    hook_action: Option<Action>,
    bag: VecDeque<Owned>,
    /// Every waker's data made in the run (from `Box::into_raw`), freed at its end.
    wakers: Vec<NonNull<WakerData>>,
    stamp: u8,
}

thread_local! {
    static CTX: RefCell<Ctx> = RefCell::default();
}

/// Runs `f` on this thread's context; `None` while the thread is being torn down.
fn with<R>(f: impl FnOnce(&mut Ctx) -> R) -> Option<R> {
    CTX.try_with(|c| f(&mut c.borrow_mut())).ok()
}

/// Starts a run on this thread against `heap`: an empty log, no hook action, an empty bag.
pub fn install(heap: &'static dyn Heap) {
    with(|c| *c = Ctx { heap: Some(heap), live: true, stamp: 0x5A, ..Ctx::default() });
}

/// Ends the run: callbacks stop acting and nothing more is recorded (the heap may still drop
/// a waker it holds when it is dropped).
pub fn stop() {
    with(|c| {
        c.live = false;
        c.heap = None;
        c.bag.clear();
    });
}

/// After [`stop`] and once the heap is gone: when every waker made in the run was dropped as
/// often as it was cloned, frees their data and `Ok`; otherwise leaks it and names the first
/// waker with references left (a waker the heap forgot without dropping it).
pub fn release_wakers() -> Result<(), String> {
    let wakers = with(|c| std::mem::take(&mut c.wakers)).unwrap_or_default();
    // SAFETY: every pointer came from `Box::into_raw` in `waker` and is only freed below.
    let data = |w: &NonNull<WakerData>| unsafe { w.as_ref() };
    if let Some(w) = wakers.iter().map(data).find(|w| w.refs.load(Ordering::Acquire) != 0) {
        return Err(format!(
            "a waker of future {} has {} references left after the heap was dropped: the heap \
             forgot a waker without dropping it",
            w.fut,
            w.refs.load(Ordering::Acquire)
        ));
    }
    for w in wakers {
        // SAFETY: every `WakerData` was leaked from a `Box` by `waker`, and no waker refers to
        // it any more (its reference count is 0), so nothing reads it after this.
        drop(unsafe { Box::from_raw(w.as_ptr()) });
    }
    Ok(())
}

/// Ends the run after a failure: callbacks stop acting, everything is leaked (a corrupted
/// heap may still hold wakers and blocks).
pub fn abandon() {
    with(|c| {
        c.live = false;
        c.heap = None;
        if !c.wakers.is_empty() {
            std::mem::forget(std::mem::take(&mut c.wakers));
        }
        c.bag.clear();
    });
}

/// Takes the events logged since the last call.
pub fn take_events() -> Vec<Event> {
    with(|c| std::mem::take(&mut c.events)).unwrap_or_default()
}

/// What hooks do from now on when called for the harness's own heap calls.
pub fn set_hook_action(action: Action) {
    with(|c| c.hook_action = Some(action).filter(|a| *a != Action::None));
}

/// A new stamp (never 0).
pub fn next_stamp() -> u8 {
    with(|c| {
        c.stamp = c.stamp.wrapping_add(0x4F) | 1;
        c.stamp
    })
    .unwrap_or(0xA5)
}

/// Puts a block into the bag.
pub fn bag_push(block: Owned) {
    with(|c| c.bag.push_back(block));
}

/// The blocks of the bag (to check their contents).
pub fn bag() -> Vec<Owned> {
    with(|c| c.bag.iter().copied().collect()).unwrap_or_default()
}

/// Frees every block of the bag, as `Action::FreeOne` would, one by one.
pub fn drain_bag() {
    while with(|c| !c.bag.is_empty()).unwrap_or(false) {
        run_action(Action::FreeOne);
    }
}

fn record(event: Event) {
    with(|c| {
        if c.heap.is_some() {
            c.events.push(event);
        }
    });
}

fn anomaly(kind: &'static str, msg: String) {
    record(Event::Anomaly { kind, msg });
}

/// The pattern byte `i` of a block stamped `stamp`.
pub fn pattern(stamp: u8, i: usize) -> u8 {
    stamp ^ (i as u8).wrapping_mul(29) ^ (i >> 8) as u8
}

/// Writes the stamp pattern over `len` bytes at `ptr`.
///
/// # Safety
/// `ptr..ptr + len` is memory this thread may write (a block it owns).
pub unsafe fn fill(ptr: NonNull<u8>, len: usize, stamp: u8) {
    for i in 0..len {
        // SAFETY: inside the caller's range.
        unsafe { ptr.as_ptr().add(i).write(pattern(stamp, i)) };
    }
}

/// The first byte of `from..to` at `ptr` that differs from the stamp pattern (`stamp`), or
/// from zero (`None`).
///
/// # Safety
/// `ptr..ptr + to` is initialised memory this thread may read (a block it owns).
pub unsafe fn first_difference(
    ptr: NonNull<u8>,
    from: usize,
    to: usize,
    stamp: Option<u8>,
) -> Option<usize> {
    (from..to).find(|&i| {
        // SAFETY: inside the caller's range.
        let byte = unsafe { ptr.as_ptr().add(i).read() };
        byte != stamp.map_or(0, |s| pattern(s, i))
    })
}

/// The heap's hooks: record the event and, for the harness's own heap calls, do the current
/// hook action.
#[derive(Debug)]
pub struct FuzzHooks;

impl Hooks for FuzzHooks {
    fn on_alloc(pool: usize, ptr: NonNull<u8>, layout: Layout) {
        hook(|depth| Event::Alloc { depth, pool, ptr, layout });
    }

    fn on_free(pool: usize, ptr: NonNull<u8>, layout: Layout) {
        hook(|depth| Event::Free { depth, pool, ptr, layout });
    }

    fn on_fail(layout: Layout) {
        hook(|depth| Event::Fail { depth, layout });
    }

    fn on_invalid_free(ptr: NonNull<u8>, layout: Layout, error: FreeError) {
        hook(|depth| Event::InvalidFree { depth, ptr, layout, error });
    }
}

fn hook(event: impl FnOnce(u8) -> Event) {
    let action = with(|c| {
        c.heap?;
        c.events.push(event(c.depth));
        if c.depth == 0 && c.live { c.hook_action } else { None }
    });
    if let Some(Some(action)) = action {
        run_action(action);
    }
}

/// A harness waker for future `fut`: every clone shares its data; each clone, drop and wake is
/// recorded and does `spec`'s action.
pub fn waker(fut: Id, spec: WakerSpec) -> Waker {
    let data =
        NonNull::from(Box::leak(Box::new(WakerData { fut, spec, refs: AtomicIsize::new(1) })));
    with(|c| c.wakers.push(data));
    // SAFETY: the vtable's functions keep `RawWaker`'s contract: `data` points to a
    // `WakerData` that stays allocated until the run ends with no reference left (`uninstall`)
    // or forever (`abandon`), every clone refers to the same data, and the functions are
    // thread-safe (an atomic reference count; callbacks act on the calling thread's context).
    unsafe { Waker::from_raw(RawWaker::new(data.as_ptr().cast_const().cast(), &VTABLE)) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(w_clone, w_wake, w_wake_by_ref, w_drop);

/// # Safety
/// `data` is a `WakerData` made by `waker`, still allocated (see there).
unsafe fn data<'a>(data: *const ()) -> &'a WakerData {
    // SAFETY: the caller's promise.
    unsafe { &*data.cast::<WakerData>() }
}

unsafe fn w_clone(raw: *const ()) -> RawWaker {
    // SAFETY: the heap calls the vtable with the data of a waker it was given.
    let d = unsafe { data(raw) };
    d.refs.fetch_add(1, Ordering::AcqRel);
    callback(Call::Clone, d, d.spec.on_clone);
    RawWaker::new(raw, &VTABLE)
}

unsafe fn w_wake(raw: *const ()) {
    // SAFETY: as in `w_clone`.
    let d = unsafe { data(raw) };
    release(d);
    callback(Call::Wake, d, d.spec.on_wake);
    callback(Call::Drop, d, d.spec.on_drop);
}

unsafe fn w_wake_by_ref(raw: *const ()) {
    // SAFETY: as in `w_clone`.
    let d = unsafe { data(raw) };
    callback(Call::WakeByRef, d, d.spec.on_wake);
}

unsafe fn w_drop(raw: *const ()) {
    // SAFETY: as in `w_clone`.
    let d = unsafe { data(raw) };
    release(d);
    callback(Call::Drop, d, d.spec.on_drop);
}

fn release(d: &WakerData) {
    if d.refs.fetch_sub(1, Ordering::AcqRel) <= 0 {
        anomaly(
            "waker",
            format!(
                "a waker of future {} was dropped or woken after its last reference was gone \
                 (the heap used a waker it no longer owned)",
                d.fut
            ),
        );
    }
}

fn callback(call: Call, d: &WakerData, action: Action) {
    let live = with(|c| {
        if c.heap.is_some() {
            c.events.push(Event::Waker { depth: c.depth, call, fut: d.fut });
        }
        c.live
    });
    if live == Some(true) {
        run_action(action);
    }
}

/// Does `action` against the installed heap, one level deeper (nothing past [`MAX_DEPTH`] or
/// outside a run). Whatever goes wrong is logged as an anomaly, never panics (this runs inside
/// the heap's calls, possibly inside a waker's `drop`).
pub fn run_action(action: Action) {
    if action == Action::None {
        return;
    }
    let entered = with(|c| {
        let heap = c.heap.filter(|_| c.live && c.depth < MAX_DEPTH)?;
        c.depth += 1;
        Some((heap, c.depth))
    });
    let Some(Some((heap, depth))) = entered else { return };
    match action {
        Action::None => {}
        Action::AllocFree { size, align } => {
            if let Some(block) = allocate(heap, depth, size, align) {
                free(heap, depth, block);
            }
        }
        Action::Keep { size, align } => {
            if let Some(block) = allocate(heap, depth, size, align) {
                bag_push(block);
            }
        }
        Action::FreeOne => {
            if let Some(Some(block)) = with(|c| c.bag.pop_front()) {
                free(heap, depth, block);
            }
        }
    }
    with(|c| c.depth -= 1);
}

/// Checks that the last event of `depth` or less is the hook the call at `depth` just made.
fn reported(depth: u8, ok: impl Fn(&Event) -> bool, what: &str) {
    let fine = with(|c| {
        c.events
            .iter()
            .rev()
            .find(|e| e.depth().is_some_and(|d| d <= depth))
            .is_some_and(|e| e.depth() == Some(depth) && ok(e))
    });
    if fine == Some(false) {
        anomaly("hooks", format!("{what}, but the heap's hooks did not report it"));
    }
}

fn allocate(heap: &dyn Heap, depth: u8, size: u32, align: u32) -> Option<Owned> {
    let layout = Layout::from_size_align(size as usize, align as usize).ok()?;
    match heap.allocate(layout) {
        Ok(ptr) => {
            let what = format!("a callback's allocate({size}/{align}) returned a block");
            reported(depth, |e| matches!(e, Event::Alloc { ptr: p, .. } if *p == ptr), &what);
            let stamp = next_stamp();
            // SAFETY: the heap handed out `ptr` for `layout`: `layout.size()` bytes this thread
            // owns until it frees them (the model checks the block right after this step).
            unsafe { fill(ptr, layout.size(), stamp) };
            Some(Owned { ptr, layout, len: layout.size(), stamp })
        }
        Err(_) => {
            let what = format!("a callback's allocate({size}/{align}) failed");
            reported(depth, |e| matches!(e, Event::Fail { .. }), &what);
            None
        }
    }
}

fn free(heap: &dyn Heap, depth: u8, block: Owned) {
    // SAFETY: a block this thread owns, filled over `len` bytes when it was allocated.
    if let Some(at) = unsafe { first_difference(block.ptr, 0, block.len, Some(block.stamp)) } {
        anomaly(
            "contents",
            format!("byte {at} of a block a callback owns changed while it was live"),
        );
    }
    // SAFETY: the block came from this heap with this layout and is freed once (a refusal is
    // logged by the heap's `on_invalid_free` hook).
    if unsafe { heap.deallocate(block.ptr, block.layout) }.is_ok() {
        let what = "a callback's deallocate was accepted";
        reported(depth, |e| matches!(e, Event::Free { ptr, .. } if *ptr == block.ptr), what);
    }
}
