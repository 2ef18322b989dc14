//! The `Recorder`'s log, the `Recording` built from it, the file format, and the command.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::ptr;

use detalloc_suggest::{Event, Options, Recorder, Recording, SuggestError, suggest};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// `System`, but refuses requests of 33 to 1024 bytes and every `realloc` (the recorder's
/// own log chunks are larger: served).
struct Stingy;

// SAFETY: what it hands out comes from `System` and goes back to `System` with the same
// layout; a refusal hands out nothing.
unsafe impl GlobalAlloc for Stingy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if (33..=1024).contains(&layout.size()) {
            return ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `System.alloc(layout)` above.
        unsafe { System.dealloc(block, layout) }
    }
    unsafe fn realloc(&self, _: *mut u8, _: Layout, _: usize) -> *mut u8 {
        ptr::null_mut()
    }
}

#[test]
fn every_call_is_logged_in_order_whatever_its_size() {
    static R: Recorder<System> = Recorder::new(System);
    // SAFETY: each pointer is the live result of the previous call and is passed with the
    // layout it was allocated or reallocated with; zero sizes are avoided for `System`.
    unsafe {
        let mut p = R.alloc(layout(16, 8));
        p = R.realloc(p, layout(16, 8), 32);
        p = R.realloc(p, layout(32, 8), 32); // same size: nothing to log
        p = R.realloc(p, layout(32, 8), 3 << 20); // 3 MiB: logged like any other
        p = R.realloc(p, layout(3 << 20, 8), 8);
        R.dealloc(p, layout(8, 8));
        let z = R.alloc_zeroed(layout(24, 4));
        R.dealloc(z, layout(24, 4));
    }
    let run = R.recording();
    let events: Vec<Event> = run.iter().collect();
    let (a, f) = (Event::Alloc, Event::Free);
    assert_eq!(
        events,
        [
            a(layout(16, 8)),
            a(layout(32, 8)),
            f(layout(16, 8)), // a pool heap takes the new block before it frees the old
            a(layout(3 << 20, 8)),
            f(layout(32, 8)),
            a(layout(8, 8)),
            f(layout(3 << 20, 8)),
            f(layout(8, 8)),
            a(layout(24, 4)),
            f(layout(24, 4)),
        ]
    );
    assert_eq!((run.allocs(), run.threads(), run.dropped(), run.unmatched_frees()), (5, 1, 0, 0));
    assert_eq!(run.peak_live_bytes(), 32 + (3 << 20));
    let sizes: Vec<(usize, u64, u64)> =
        run.sizes().iter().map(|k| (k.size, k.peak, k.live)).collect();
    assert_eq!(sizes, [(8, 1, 0), (16, 1, 0), (24, 1, 0), (32, 1, 0), (3 << 20, 1, 0)]);
}

#[test]
fn a_failed_request_is_logged_as_taken_back() {
    static R: Recorder<Stingy> = Recorder::new(Stingy);
    // SAFETY: non-zero sizes; the one block handed out is freed once with its layout (a
    // failed realloc leaves it in place).
    unsafe {
        assert!(R.alloc(layout(40, 8)).is_null());
        let block = R.alloc(layout(8, 8));
        assert!(R.realloc(block, layout(8, 8), 64).is_null());
        R.dealloc(block, layout(8, 8));
    }
    let run = R.recording();
    let live: Vec<(usize, u64, u64)> =
        run.sizes().iter().map(|k| (k.size, k.peak, k.live)).collect();
    // Logged before it is forwarded: a refused request still counts once (conservative).
    assert_eq!(live, [(8, 1, 0), (40, 1, 0), (64, 1, 0)]);
    assert_eq!((run.events(), run.dropped()), (6, 0));
}

#[test]
fn threads_are_counted_and_their_events_all_logged() {
    static R: Recorder<System> = Recorder::new(System);
    std::thread::scope(|scope| {
        for t in 0..4usize {
            scope.spawn(move || {
                let l = layout(8 + 8 * t, 8);
                for _ in 0..2000 {
                    // SAFETY: non-zero size; each block is freed once with its layout.
                    unsafe {
                        let blocks = [R.alloc(l), R.alloc(l), R.alloc(l)];
                        for b in blocks {
                            R.dealloc(b, l);
                        }
                    }
                }
            });
        }
    });
    let run = R.recording();
    assert_eq!((run.threads(), run.events(), run.allocs(), run.dropped()), (4, 48_000, 24_000, 0));
    for kind in run.sizes() {
        assert_eq!((kind.peak, kind.live), (3, 0), "each thread holds 3 of its own size");
    }
    // Together: at most 12 live at once, at least 3.
    let one = suggest(&[run], &Options::new(1)).unwrap();
    assert!((3..=12).contains(&one.pools()[0].peak_max), "{one}");
}

#[test]
fn a_recording_survives_a_file_and_bad_files_are_refused() {
    let (small, big) = (layout(1, 1), layout(5000, 64));
    let mut run =
        Recording::from_events([Event::Alloc(small), Event::Alloc(big), Event::Free(small)]);
    run.set_threads(2);
    let path = std::env::temp_dir().join(format!("detalloc-suggest-{}.rec", std::process::id()));
    run.save(&path).unwrap();
    assert_eq!(Recording::load(&path).unwrap(), run);
    std::fs::remove_file(&path).unwrap();

    let mut bytes = Vec::new();
    run.write_to(&mut bytes).unwrap();
    let read = |bytes: &[u8]| Recording::read_from(bytes).map_err(|e| e.to_string());
    assert!(read(b"hello\n").unwrap_err().contains("not a detalloc-suggest recording"));
    assert!(read(&bytes[..bytes.len() - 1]).unwrap_err().contains("ends before its last event"));
    let text = String::from_utf8_lossy(&bytes).replace("5000 64", "5000 48");
    assert!(read(text.as_bytes()).unwrap_err().contains("not a valid layout"));
    let mut freed_first = bytes.clone();
    let events_at = freed_first.len() - 12;
    freed_first[events_at] |= 1; // the first event becomes a free
    assert!(read(&freed_first).unwrap_err().contains("a free with no live block"));

    // A recording that misses events is refused by `suggest`.
    let text = String::from_utf8_lossy(&bytes).replace("dropped 0", "dropped 3");
    let incomplete = Recording::read_from(text.as_bytes()).unwrap();
    assert_eq!(
        suggest(&[run, incomplete], &Options::new(2)).unwrap_err(),
        SuggestError::Incomplete { run: 1, dropped: 3 }
    );
}

#[test]
fn frees_without_a_live_block_are_left_out_and_counted() {
    let l = layout(16, 8);
    let run = Recording::from_events([Event::Free(l), Event::Alloc(l), Event::Free(l)]);
    assert_eq!((run.events(), run.unmatched_frees()), (2, 1));
}

#[test]
fn the_command_prints_what_the_library_suggests() {
    let dir = std::env::temp_dir();
    let files: Vec<_> = (0..2)
        .map(|i| {
            let l = layout(24, 8);
            let run = Recording::from_events(vec![Event::Alloc(l); 10 + i]);
            let path = dir.join(format!("detalloc-suggest-cli-{}-{i}.rec", std::process::id()));
            run.save(&path).unwrap();
            (path, run)
        })
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_detalloc-suggest"))
        .args(["--pools", "2", "--margin", "10%", "--name", "AppHeap"])
        .args(files.iter().map(|(path, _)| path))
        .output()
        .unwrap();
    let runs: Vec<Recording> = files.iter().map(|(_, run)| run.clone()).collect();
    let options = Options::new(2).margin("10%".parse().unwrap()).name("AppHeap");
    let expected = suggest(&runs, &options).unwrap().to_string();
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    assert!(expected.contains("pools: [24 x 12],"), "{expected}");
    let bad = Command::new(env!("CARGO_BIN_EXE_detalloc-suggest")).arg("--pools").output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--pools needs a value"));
    for (path, _) in files {
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn events_the_log_cannot_hold_are_counted_and_refused() {
    /// Refuses everything, the recorder's log chunks included.
    struct Nothing;
    // SAFETY: it never hands out a block, so `dealloc` is never called with one.
    unsafe impl GlobalAlloc for Nothing {
        unsafe fn alloc(&self, _: Layout) -> *mut u8 {
            ptr::null_mut()
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }
    static R: Recorder<Nothing> = Recorder::new(Nothing);
    // SAFETY: a non-zero size; nothing is handed out.
    assert!(unsafe { R.alloc(layout(8, 8)) }.is_null());
    let run = R.recording();
    assert_eq!((run.events(), run.dropped()), (0, 2));
    let error = suggest(&[run], &Options::new(1)).unwrap_err();
    assert_eq!(error, SuggestError::Incomplete { run: 0, dropped: 2 });
    assert!(error.to_string().contains("misses 2 events"), "{error}");
}
