//! The tool's description checks and generated files (the builds themselves run in
//! `tests/c/run.sh` and `examples/c-firmware/run-check.sh`).

use detalloc_c::{HeapDecl, Library, header};

fn library() -> Library {
    Library {
        heaps: vec![
            HeapDecl { name: "audio_heap".into(), pools: "[16 x 64, 64 x 32]".into() },
            HeapDecl { name: "net_heap".into(), pools: "[1536 x 4]".into() },
        ],
        sync: "critical_section".into(),
        keys: "validate: true".into(),
        malloc: Some("net_heap".into()),
        freertos: None,
        target: Some("thumbv7m-none-eabi".into()),
        name: "fw".into(),
        opt_level: "s".into(),
    }
}

#[test]
fn the_generated_crate_declares_and_exports_every_heap() {
    let (toml, lib) = library().crate_files("path = \"../detalloc\"").expect("a valid library");
    assert!(toml.contains("crate-type = [\"staticlib\"]") && toml.contains("panic = \"abort\""));
    assert!(toml.contains("critical-section-single-core"), "cortex-m's implementation: {toml}");
    assert!(lib.starts_with("//! Generated") && lib.contains("#![no_std]"));
    assert!(lib.contains(
        "pub struct AudioHeap<pools: [16 x 64, 64 x 32], sync: critical_section, validate: true>;"
    ));
    assert!(lib.contains("detalloc::export_c!(AUDIO_HEAP as audio_heap, NET_HEAP as net_heap);"));
    assert!(lib.contains("detalloc::export_malloc!(NET_HEAP);"));
    assert!(!lib.contains("export_freertos"));
    assert!(lib.contains("#[panic_handler]"));
    let heaps = library().heaps_header();
    assert!(heaps.contains("DET_HEAP(audio_heap);") && heaps.contains("DET_HEAP(net_heap);"));
    assert!(heaps.contains("#include \"detalloc.h\""));
}

#[test]
fn a_host_library_uses_std_and_its_critical_section() {
    let host = Library { target: None, ..library() };
    let (toml, lib) = host.crate_files("version = \"=0.1.0\"").expect("a valid library");
    assert!(!lib.contains("no_std") && !lib.contains("panic_handler"));
    assert!(toml.contains("features = [\"std\"]"), "{toml}");
}

#[test]
fn bad_descriptions_are_refused_with_a_reason() {
    let named = |names: &[&str]| Library {
        heaps: names
            .iter()
            .map(|n| HeapDecl { name: (*n).into(), pools: "[16 x 1]".into() })
            .collect(),
        malloc: None,
        ..library()
    };
    for (names, reason) in [
        (&["malloc"][..], "would replace a C library symbol"),
        (&["int"], "is a keyword"),
        (&["fn"], "is a keyword"),
        (&["det_alloc"], "is a function of the C API"),
        (&["_private"], "reserved"),
        (&["AUDIO"], "use a lower-case name"),
        (&["a_b", "aB"], "would both define `AB`"),
        (&["a", "A"], "would both define `A`"),
    ] {
        let error = named(names).check().expect_err(reason);
        assert!(error.contains(reason), "{names:?}: {error} (expected: {reason})");
    }
    // Names that collided with the macro's own parameters before are fine now.
    named(&["heap", "size", "h", "ptr", "handle"]).check().expect("ordinary names");

    let cases: [(Library, &str); 7] = [
        (Library { heaps: vec![], ..library() }, "no heap"),
        (
            Library {
                heaps: vec![HeapDecl { name: "9lives".into(), pools: "[16 x 1]".into() }],
                ..library()
            },
            "not a C identifier",
        ),
        (
            Library {
                heaps: vec![
                    HeapDecl { name: "a".into(), pools: "[16 x 1]".into() },
                    HeapDecl { name: "a".into(), pools: "[16 x 2]".into() },
                ],
                malloc: None,
                ..library()
            },
            "two heaps are named `a`",
        ),
        (Library { malloc: Some("nope".into()), ..library() }, "--malloc nope: no heap"),
        (Library { freertos: Some("nope".into()), ..library() }, "--freertos nope: no heap"),
        (Library { sync: "local".into(), ..library() }, "is not `Sync`"),
        (
            Library { target: Some("aarch64-unknown-none".into()), ..library() },
            "no single-core critical-section implementation is known",
        ),
    ];
    for (library, reason) in cases {
        let error = library.crate_files("path = \"x\"").expect_err(reason);
        assert!(error.contains(reason), "{error} (expected: {reason})");
    }
}

#[test]
fn the_header_is_the_checked_in_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../detalloc/include/detalloc.h");
    assert_eq!(header(), std::fs::read_to_string(path).expect("the checked-in header"));
}
