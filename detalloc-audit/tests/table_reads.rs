//! `--deny-table-reads` (issue 11): fails when a function or a callee reads read-only data
//! (`.rodata*`, `.data.rel.ro*`), at a fixed address or through an address held in a
//! register; passes when it reads none. On Thumb a literal-pool load of a constant reads
//! `.text` (not a table), a load through an address taken from a literal pool or built with
//! `movw`/`movt` pointing into `.rodata` is one.
//!
//! Fixtures: the hand-written `fx_table_*` of `tests/fixtures/known.rs` (x86_64 and thumbv7m);
//! compiled Rust in `tests/fixtures/peers` (a `static` table indexed at run time, and a size
//! class by comparisons); and detalloc's allocator-api2 path in `tests/fixtures/host-heaps`
//! (`Allocator::allocate` / `deallocate` of the lean, checked and critical_section heaps),
//! which must read no table.

mod common;

use detalloc_audit::{Checks, audit, audit_assuming, check};

fn deny() -> Checks {
    Checks { deny_table_reads: true, ..Checks::default() }
}

fn failures(bytes: &[u8], name: &str) -> Vec<String> {
    let a = audit(bytes, &[name.to_string()]).expect("audits");
    check(&a.functions[0], &deny())
}

#[test]
fn hand_written_table_reads() {
    for target in ["x86_64-unknown-linux-gnu", "thumbv7m-none-eabi"] {
        let bytes = common::known(target);
        for name in ["fx_table_fixed", "fx_table_indexed", "fx_table_callee"] {
            let f = failures(&bytes, name);
            assert_eq!(f.len(), 1, "{target} {name}: {f:?}");
            assert!(f[0].contains(".rodata"), "{target} {name}: {f:?}");
        }
        // The callee's read is named in its function.
        assert!(failures(&bytes, "fx_table_callee")[0].contains("fx_table_indexed"));
        assert_eq!(failures(&bytes, "fx_table_none"), Vec::<String>::new(), "{target}");
        // Nothing else in the fixture reads read-only data.
        for name in ["fx_straight", "fx_call", "fx_tail", "fx_cas"] {
            assert_eq!(failures(&bytes, name), Vec::<String>::new(), "{target} {name}");
        }
    }
}

#[test]
fn compiled_rust_tables() {
    let exe = common::cargo_build("peers/Cargo.toml", "peers", None).join("release/peers");
    let bytes = std::fs::read(exe).expect("the binary");
    let f = failures(&bytes, "table_size_of_class");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains(".rodata"), "{f:?}");
    assert_eq!(failures(&bytes, "table_free_class_of"), Vec::<String>::new());
}

#[test]
fn allocator_api2_path_reads_no_table() {
    let exe =
        common::cargo_build("host-heaps/Cargo.toml", "host-heaps", None).join("release/host-heaps");
    let bytes = std::fs::read(exe).expect("the binary");
    let names: Vec<String> = ["lean", "checked", "critical_section"]
        .iter()
        .flat_map(|m| [format!("api2_allocate_{m}"), format!("api2_deallocate_{m}")])
        .collect();
    let assumed = [
        ("_critical_section_1_0_acquire".to_string(), 0),
        ("_critical_section_1_0_release".to_string(), 0),
    ];
    let a = audit_assuming(&bytes, &names, &assumed).expect("audits");
    let checks = Checks { deny_table_reads: true, deny_loops: true, ..Checks::default() };
    for f in &a.functions {
        assert_eq!(check(f, &checks), Vec::<String>::new(), "{}", f.name);
        assert!(f.is_bounded(), "{}", f.name);
    }
}
