//! The 3-class heap `[16 x 64, 64 x 32, 256 x 16]` compiled for RV32 (the fixture crate
//! `tests/fixtures/riscv-heaps`, for riscv32imac and riscv32imc) and audited:
//! - `local` and `critical_section`, lean and checked: no loop, within the instruction budgets
//!   below, no cycle figure (RV32 has no timing table); the `critical_section` wrappers mask
//!   interrupts (`csrrci .., mstatus, 8`) and restore them, found and reported, and the `local`
//!   ones do not;
//! - on riscv32imac (the A extension): `lock_free`, whose every loop is an LR/SC retry, and
//!   `spin`, whose loops are the ticket lock's wait (its `fetch_add` is one `amoadd.w`).
//!
//! Budgets (the static bound at opt-level 3 + about 20 %, the same on both targets): lean
//! alloc 22 (static 18), lean free 21 (17), checked alloc 51 (42), checked free 76 (63),
//! critical_section alloc 57 (47), free 81 (67), critical_section lean alloc 29 (24), free 27
//! (22). The bounds against measured counts: `tests/ratio.rs` on the RISC-V firmware.

mod common;

use detalloc_audit::{Checks, audit, check};

fn build_fixture(target: &str) -> Vec<u8> {
    let dir = common::cargo_build("riscv-heaps/Cargo.toml", "riscv-heaps", Some(target));
    std::fs::read(dir.join(target).join("release/riscv-heaps")).expect("the binary")
}

const BUDGETS: [(&str, u64); 8] = [
    ("audit_alloc_lean", 22),
    ("audit_free_lean", 21),
    ("audit_alloc_checked", 51),
    ("audit_free_checked", 76),
    ("audit_alloc_critical_section", 57),
    ("audit_free_critical_section", 81),
    ("audit_alloc_critical_section_lean", 29),
    ("audit_free_critical_section_lean", 27),
];

fn locked_heaps(target: &str, shared: &[&str]) -> detalloc_audit::Audit {
    let bytes = build_fixture(target);
    let names: Vec<String> = BUDGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(shared.iter().map(|n| n.to_string()))
        .collect();
    let a = audit(&bytes, &names).expect("audits");
    assert!(!a.with_cycles, "RV32: instructions only");
    assert!(a.arch.starts_with("riscv32"), "{}", a.arch);
    for (f, (_, budget)) in a.functions.iter().zip(BUDGETS) {
        let checks = Checks { budget: Some(budget), deny_loops: true, deny_table_reads: true };
        assert_eq!(check(f, &checks), Vec::<String>::new(), "{target}: {}", f.name);
        let cs = f.name.contains("critical_section");
        assert_eq!(!f.masking.is_empty(), cs, "{target}: {} masking {:?}", f.name, f.masking);
        if cs {
            let texts: Vec<&str> = f.masking.iter().map(|m| m.text.as_str()).collect();
            assert!(texts.iter().any(|t| t.starts_with("csrrci")), "{}: {texts:?}", f.name);
            assert!(texts.iter().any(|t| t.starts_with("csrs")), "{}: {texts:?}", f.name);
        }
    }
    a
}

#[test]
fn riscv32imc_heaps() {
    locked_heaps("riscv32imc-unknown-none-elf", &[]);
}

#[test]
fn riscv32imac_heaps() {
    let shared =
        ["audit_alloc_spin", "audit_free_spin", "audit_alloc_lock_free", "audit_free_lock_free"];
    let a = locked_heaps("riscv32imac-unknown-none-elf", &shared);
    for f in &a.functions[BUDGETS.len()..] {
        assert!(f.unbounded.is_empty(), "{}: {:?}", f.name, f.unbounded);
        assert!(!f.loops.is_empty(), "{}: the wait/retry loops are found", f.name);
        if f.name.contains("lock_free") {
            for l in &f.loops {
                assert_eq!(l.kind, "CAS retry", "{}: unexpected loop {l:?}", f.name);
            }
        }
    }
}
