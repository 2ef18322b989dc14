//! The C API from Rust: `export_c!` over two heaps, every `det_*` function called as C calls
//! it (raw pointers, status codes), and `detalloc.h` against the Rust signatures: the header
//! written from the exported functions' types must be the checked-in one.

use std::ffi::{CStr, c_void};
use std::ptr;

use detalloc::c::{DetHeap, DetPoolStats, DetStats, Status};
use detalloc::detalloc;
use detalloc_tests::Rng;

// One heap per test that counts (the tests run in parallel threads): `AUDIO` for the model,
// `SHAPES` for resizing, `TEXT` for the report and `reset_stats`, `NET` for bad frees.
detalloc! { struct AudioHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: spin, validate: true>; }
detalloc! { struct ShapesHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: spin, validate: true>; }
detalloc! { struct TextHeap<pools: [16 x 4, 256 x 2], sync: spin, validate: true>; }
detalloc! { struct Unchecked<pools: [16 x 4, 64 x 4], sync: spin, validate: false>; }
detalloc! { struct NetHeap<pools: [32 x 8, 1536 x 2], sync: critical_section, validate: true>; }
detalloc! { struct LeanHeap<pools: [16 x 4, 96 x 4], stats: false, validate: false, sync: spin>; }

static AUDIO: AudioHeap = AudioHeap::new();
static NET: NetHeap = NetHeap::new();
static LEAN: LeanHeap = LeanHeap::new();
static SHAPES: ShapesHeap = ShapesHeap::new();
static TEXT: TextHeap = TextHeap::new();
static UNCHECKED: Unchecked = Unchecked::new();

detalloc::export_c!(
    AUDIO as audio_heap,
    NET as net_heap,
    LEAN as lean_heap,
    SHAPES as shapes_heap,
    TEXT as text_heap,
    UNCHECKED as heap, // a handle named like a parameter of the C API (it once clashed)
);

fn audio() -> *const DetHeap {
    audio_heap.get()
}

fn stats(handle: *const DetHeap) -> DetStats {
    let mut stats = DetStats::default();
    // SAFETY: `stats` is a valid `DetStats` to write.
    assert_eq!(unsafe { det_get_stats(handle, &mut stats) }, Status::OK);
    stats
}

#[test]
#[cfg_attr(miri, ignore = "reads a file: isolation; no unsafe code to check")]
fn the_header_is_written_from_the_rust_signatures() {
    let mut written = String::new();
    detalloc::c::write_header(&mut written, &__DETALLOC_C_FUNCTIONS).expect("every function");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../detalloc/include/detalloc.h");
    let checked_in = std::fs::read_to_string(path).expect("detalloc/include/detalloc.h");
    assert!(
        written == checked_in,
        "detalloc/include/detalloc.h differs from the Rust signatures: regenerate it with \
         `cargo run -p detalloc-c -- --header detalloc/include/detalloc.h`\n{written}"
    );
    // A list that misses a function is refused, not written short.
    let mut short = String::new();
    assert!(detalloc::c::write_header(&mut short, &__DETALLOC_C_FUNCTIONS[1..]).is_err());
}

#[test]
fn blocks_are_aligned_disjoint_and_keep_their_contents() {
    let mut rng = Rng::new(7);
    let mut live: Vec<(*mut u8, usize, u8)> = Vec::new();
    for step in 0..4_000u32 {
        if live.len() < 40 && rng.below(3) != 0 {
            let size = [0, 1, 3, 8, 15, 16, 17, 24, 40, 64, 65, 100, 200, 256, 300][rng.below(15)];
            let align = [0usize, 1, 2, 8, 16, 64, 256][rng.below(7)];
            // SAFETY: any handle, size and alignment are accepted.
            let block = unsafe { det_alloc_aligned(audio(), size, align) }.cast::<u8>();
            if block.is_null() {
                continue;
            }
            let want = if align == 0 { detalloc::c::ops::default_align(size) } else { align };
            assert_eq!(block as usize % want, 0, "{size} B at {align}");
            // SAFETY: `block` is a live block of this heap.
            let usable = unsafe { det_usable_size(audio(), block.cast()) };
            assert!(usable >= size, "{usable} < {size}");
            for &(other, other_size, _) in &live {
                let disjoint = block as usize + usable <= other as usize
                    || other as usize + other_size <= block as usize;
                assert!(disjoint, "overlap");
            }
            let stamp = step as u8;
            // SAFETY: the block has `usable` bytes, all the caller's.
            unsafe { ptr::write_bytes(block, stamp, usable) };
            live.push((block, usable, stamp));
        } else if !live.is_empty() {
            let (block, usable, stamp) = live.swap_remove(rng.below(live.len()));
            // SAFETY: `block` holds `usable` bytes written above.
            let bytes = unsafe { std::slice::from_raw_parts(block, usable) };
            assert!(bytes.iter().all(|&b| b == stamp), "contents changed");
            // SAFETY: a live block, freed once.
            assert_eq!(unsafe { det_free(audio(), block.cast()) }, Status::OK);
        }
    }
    for (block, ..) in live.drain(..) {
        // SAFETY: a live block, freed once.
        assert_eq!(unsafe { det_free(audio(), block.cast()) }, Status::OK);
    }
    let s = stats(audio());
    assert_eq!((s.in_use_bytes, s.invalid_frees), (0, 0));
    assert_eq!(s.allocs, s.frees);
    // SAFETY: any handle is accepted.
    assert_eq!(unsafe { det_validate(audio()) }, Status::OK);
}

#[test]
fn every_bad_free_is_refused_with_its_code_and_counted() {
    let net = net_heap.get();
    let before = stats(net).invalid_frees;
    // SAFETY: every call below passes a pointer the validating heap checks before use.
    unsafe {
        let block = det_alloc(net, 1000).cast::<u8>();
        assert!(!block.is_null());
        assert_eq!(det_free(net, ptr::null_mut()), Status::OK, "free(NULL) is a no-op");
        assert_eq!(det_free(net, block.add(8).cast()), Status::MISALIGNED);
        let mut local = 0u64;
        assert_eq!(det_free(net, (&raw mut local).cast()), Status::FOREIGN);
        assert_eq!(det_free(net, block.cast()), Status::OK);
        assert_eq!(det_free(net, block.cast()), Status::DOUBLE_FREE);
        // A block of another heap is foreign to this one, and stays allocated in its own.
        let other = det_alloc(shapes_heap.get(), 16);
        assert_eq!(det_free(net, other), Status::FOREIGN);
        assert_eq!(det_free(shapes_heap.get(), other), Status::OK);
        let small = det_alloc(net, 8).cast::<u8>();
        assert_eq!(det_free(net, small.cast()), Status::OK);
        assert_eq!(det_free(net, small.cast()), Status::DOUBLE_FREE);
    }
    assert_eq!(stats(net).invalid_frees - before, 5, "each refusal counted once");
    // SAFETY: any handle is accepted.
    assert_eq!(unsafe { det_validate(net) }, Status::OK);
}

#[test]
fn a_handle_of_no_exported_heap_is_refused() {
    let bogus = ptr::without_provenance::<DetHeap>(0x1000);
    let mut stats = DetStats::default();
    let mut pool = DetPoolStats::default();
    // SAFETY: the output pointers are valid; every call refuses the handle first.
    unsafe {
        assert!(det_alloc(bogus, 8).is_null());
        assert!(det_alloc(ptr::null(), 8).is_null());
        assert_eq!(det_free(bogus, ptr::null_mut()), Status::BAD_HEAP);
        assert_eq!(det_get_stats(bogus, &mut stats), Status::BAD_HEAP);
        assert_eq!(det_pool_stats(bogus, 0, &mut pool), Status::BAD_HEAP);
        assert_eq!(det_validate(bogus), Status::BAD_HEAP);
        assert_eq!(det_pool_count(bogus), 0);
        assert_eq!(det_report(bogus, ptr::null_mut(), 0), 0);
    }
}

#[test]
fn realloc_calloc_and_arrays_follow_c() {
    let shapes = || shapes_heap.get();
    // SAFETY: every pointer passed is null or a live block of the heap.
    unsafe {
        let p = det_realloc(shapes(), ptr::null_mut(), 10).cast::<u8>();
        assert_eq!(det_usable_size(shapes(), p.cast()), 16, "realloc(NULL) allocates");
        ptr::copy_nonoverlapping(b"0123456789".as_ptr(), p, 10);
        let q = det_realloc(shapes(), p.cast(), 16).cast::<u8>();
        assert_eq!(q, p, "the block's pool fits: in place");
        let r = det_realloc(shapes(), q.cast(), 200).cast::<u8>();
        assert_eq!(det_usable_size(shapes(), r.cast()), 256, "moved to the 256-byte pool");
        assert_eq!(std::slice::from_raw_parts(r, 10), b"0123456789", "contents kept");
        let s = det_realloc(shapes(), r.cast(), 12).cast::<u8>();
        assert_eq!(det_usable_size(shapes(), s.cast()), 16, "a shrink moves to the smaller pool");
        assert_eq!(std::slice::from_raw_parts(s, 10), b"0123456789");
        assert!(det_realloc(shapes(), s.cast(), 100_000).is_null(), "no pool: NULL");
        assert_eq!(det_usable_size(shapes(), s.cast()), 16, "the old block untouched");
        assert!(det_realloc(shapes(), s.cast(), 0).is_null(), "size 0 frees");
        assert_eq!(det_usable_size(shapes(), s.cast()), 0, "freed");

        let before = stats(shapes()).invalid_frees;
        let mut local = 0u32;
        assert!(det_realloc(shapes(), (&raw mut local).cast(), 8).is_null());
        assert_eq!(stats(shapes()).invalid_frees, before + 1, "a bad realloc is a refused free");

        let z = det_calloc(shapes(), 6, 10).cast::<u8>();
        assert!(std::slice::from_raw_parts(z, 60).iter().all(|&b| b == 0));
        assert!(det_calloc(shapes(), usize::MAX, 2).is_null(), "overflow: NULL");
        assert!(det_alloc_array(shapes(), usize::MAX / 2, 3, 0).is_null());
        let a = det_alloc_array(shapes(), 4, 16, 64);
        assert_eq!(a as usize % 64, 0);
        assert!(det_alloc_aligned(shapes(), 8, 3).is_null(), "not a power of two");
        for block in [z.cast(), a] {
            assert_eq!(det_free(shapes(), block), Status::OK);
        }
    }
}

#[test]
fn stats_pools_report_and_strings() {
    let lean = lean_heap.get();
    let mut pool = DetPoolStats::default();
    // SAFETY: valid output pointers and buffers; blocks freed once.
    unsafe {
        assert_eq!(det_pool_count(lean), 2);
        let block = det_alloc(lean, 90);
        assert_eq!(det_pool_stats(lean, 1, &mut pool), Status::OK);
        assert_eq!((pool.block_size, pool.blocks), (96, 4));
        assert_eq!(det_pool_stats(lean, 2, &mut pool), Status::NO_POOL);
        assert_eq!(det_pool_stats(lean, 0, ptr::null_mut()), Status::NULL_ARGUMENT);
        assert_eq!(det_get_stats(lean, ptr::null_mut()), Status::NULL_ARGUMENT);
        assert_eq!(det_free(lean, block), Status::OK);

        let full = det_report(text_heap.get(), ptr::null_mut(), 0);
        let mut buf = vec![0x55u8; full + 1];
        assert_eq!(det_report(text_heap.get(), buf.as_mut_ptr().cast(), buf.len()), full);
        let text = CStr::from_bytes_with_nul(&buf).expect("NUL-terminated").to_str().unwrap();
        assert!(text.starts_with("TextHeap: 2 pools"), "{text}");
        let mut short = [0x55u8; 10];
        assert_eq!(det_report(text_heap.get(), short.as_mut_ptr().cast(), 10), full, "full length");
        assert_eq!(&short[..10], b"TextHeap:\0", "truncated, terminated");

        let block = det_alloc(text_heap.get(), 8);
        assert_eq!(det_free(text_heap.get(), block), Status::OK);
        assert_eq!(det_reset_stats(text_heap.get()), Status::OK);
        assert_eq!(stats(text_heap.get()).allocs, 0);

        let message = |code| CStr::from_ptr(det_error_string(Status(code))).to_str().unwrap();
        assert_eq!(message(0), "success");
        assert_eq!(message(2), "double free: the block is not allocated");
        assert_eq!(message(-7), "unknown detalloc status");
        let version = CStr::from_ptr(det_version_string()).to_str().unwrap();
        assert_eq!(version, concat!("detalloc ", env!("CARGO_PKG_VERSION")));
    }
    // `c_void` is what C sees: the handles are plain addresses of the heap statics.
    assert_eq!(audio_heap.get().cast::<c_void>(), (&raw const AUDIO).cast::<c_void>());
}

#[test]
fn without_validation_an_interior_pointer_is_refused_not_freed() {
    let unchecked = heap.get();
    // SAFETY: `p` is a live block; the interior pointer is refused before anything is touched.
    unsafe {
        let p = det_alloc(unchecked, 40).cast::<u8>();
        assert_eq!(det_usable_size(unchecked, p.cast()), 64);
        assert_eq!(det_free(unchecked, p.add(8).cast()), Status::MISALIGNED);
        assert!(det_realloc(unchecked, p.add(16).cast(), 300).is_null(), "a bad realloc: NULL");
        let mut local = 0u8;
        assert_eq!(det_free(unchecked, (&raw mut local).cast()), Status::FOREIGN);
        // The heap is unharmed: the next blocks are whole, distinct blocks.
        let q = det_alloc(unchecked, 40).cast::<u8>();
        let r = det_alloc(unchecked, 40).cast::<u8>();
        assert!(q != p && r != p && q != r);
        assert_eq!([q as usize % 64, r as usize % 64], [0, 0]);
        for block in [p, q, r] {
            assert_eq!(det_free(unchecked, block.cast()), Status::OK);
        }
    }
    // SAFETY: any handle is accepted.
    assert_eq!(unsafe { det_validate(unchecked) }, Status::OK);
}
