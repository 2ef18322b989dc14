//! The longest feasible path against the path-insensitive one, on hand-written functions whose
//! infeasible paths are known (`fx_corr_*` in `tests/fixtures/known.rs`): a flag set on both
//! sides of a diamond and tested in the shared tail (in a register, in a stack slot), a value
//! tested twice, a callee re-testing its caller's test, `max` by `cmova` compared again, an
//! `IT`-block clamp, `cbz`. And where nothing may be pruned: a value reloaded from memory in
//! between, a flag behind a pointer the function was given.

mod common;

use detalloc_audit::audit;

/// `(function, longest feasible path, path-insensitive)`, in instructions.
fn expect(target: &str, cases: &[(&str, u64, u64)]) {
    let bytes = common::known(target);
    let names: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    let a = audit(&bytes, &names).expect("audits");
    for (f, &(name, feasible, insensitive)) in a.functions.iter().zip(cases) {
        let got = (f.bound.map(|b| b.insns), f.insensitive.map(|b| b.insns));
        assert_eq!(got, (Some(feasible), Some(insensitive)), "{target} {name}");
        assert!(f.correlated, "{target} {name}");
        assert_eq!(f.pruned > 0, feasible < insensitive, "{target} {name}");
        assert!(f.is_bounded(), "{target} {name}");
    }
}

#[test]
fn x86_64_correlated_branches() {
    expect(
        "x86_64-unknown-linux-gnu",
        &[
            ("fx_corr_flag", 11, 15),
            ("fx_corr_range", 9, 13),
            ("fx_corr_reloaded", 14, 14),
            ("fx_corr_stack", 10, 13),
            ("fx_corr_heap", 13, 13),
            ("fx_corr_caller", 9, 13),
            ("fx_corr_callee", 7, 7),
            ("fx_corr_cmov", 6, 10),
        ],
    );
}

#[test]
fn thumbv7m_correlated_branches() {
    expect(
        "thumbv7m-none-eabi",
        &[("fx_corr_it", 6, 10), ("fx_corr_cbz", 8, 12), ("fx_corr_spill", 12, 15)],
    );
}
