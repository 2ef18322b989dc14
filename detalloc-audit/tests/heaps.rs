//! The 3-class heap `[16 x 64, 64 x 32, 256 x 16]` compiled for thumbv7m (the fixture crate
//! `tests/fixtures/thumb-heaps`, built here with its own target directory) and audited:
//! - `local` and `critical_section`, lean and checked: no loop, within the instruction budgets
//!   below, every instruction in the cycle table; the `critical_section` ones mask interrupts
//!   (`cpsid i`, `msr primask`), found and reported, and the `local` ones do not;
//! - `spin`: every loop is the ticket lock's wait or the LDREX/STREX retry of its `fetch_add`;
//! - `lock_free`: every loop is an LDREX/STREX retry.
//!
//! Budgets (the static bound + about 20 %; the paths are the compiler's, so a codegen change
//! that adds a loop or many instructions fails here): lean alloc 32 (static 26), lean free 66
//! (55: a free found by address), checked alloc 52 (43), checked free 84 (70),
//! critical_section alloc 56 (47), free 89 (74), critical_section lean alloc 35 (29), free 63
//! (52). The firmware's own wrappers are checked in `.ci/run` on `examples/firmware`'s
//! `measure` binary; the x86_64 heaps on `examples/audit_targets`.

mod common;

use detalloc_audit::{Checks, audit, check};

fn build_fixture() -> Vec<u8> {
    let dir =
        common::cargo_build("thumb-heaps/Cargo.toml", "thumb-heaps", Some("thumbv7m-none-eabi"));
    std::fs::read(dir.join("thumbv7m-none-eabi/release/thumb-heaps")).expect("the binary")
}

#[test]
fn thumbv7m_heaps() {
    let bytes = build_fixture();
    let budgets = [
        ("audit_alloc_lean", 32),
        ("audit_free_lean", 66),
        ("audit_alloc_checked", 52),
        ("audit_free_checked", 84),
        ("audit_alloc_critical_section", 56),
        ("audit_free_critical_section", 89),
        ("audit_alloc_critical_section_lean", 35),
        ("audit_free_critical_section_lean", 63),
    ];
    let shared =
        ["audit_alloc_spin", "audit_free_spin", "audit_alloc_lock_free", "audit_free_lock_free"];
    let names: Vec<String> = budgets
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(shared.iter().map(|n| n.to_string()))
        .collect();
    let a = audit(&bytes, &names).expect("audits");
    assert!(a.with_cycles);

    for (f, (_, budget)) in a.functions.iter().zip(budgets) {
        let checks = Checks { budget: Some(budget), deny_loops: true, ..Checks::default() };
        assert_eq!(check(f, &checks), Vec::<String>::new(), "{}", f.name);
        assert!(
            f.bound.and_then(|b| b.cycles).is_some(),
            "{}: every instruction is in the table",
            f.name
        );
        // cortex-m's critical section (`cpsid i` .. `msr primask`) is found and reported.
        let cs = f.name.contains("critical_section");
        assert_eq!(!f.masking.is_empty(), cs, "{}: masking {:?}", f.name, f.masking);
    }
    for f in &a.functions[budgets.len()..] {
        assert!(f.unbounded.is_empty(), "{}: {:?}", f.name, f.unbounded);
        assert!(!f.loops.is_empty(), "{}: the wait/retry loops are found", f.name);
        let spin = f.name.contains("spin");
        for l in &f.loops {
            let expected = l.kind == "CAS retry" || (spin && l.kind == "spin wait");
            assert!(expected, "{}: unexpected loop {l:?}", f.name);
        }
        if spin {
            assert!(f.loops.iter().any(|l| l.kind == "spin wait"), "{}: the ticket wait", f.name);
        }
    }
}
