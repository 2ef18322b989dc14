//! One fixture per defect of issue 12, each of which the tool once got wrong ("loop-free,
//! bounded" for code that runs thousands of instructions, or output that misleads):
//! 1. a call through a writable slot resolved as a direct call (`tests/fixtures/pie.rs`);
//! 2. `rep stosb` counted as one instruction;
//! 3. `syscall` / `int 0x80` / `svc` not making the bound unbounded;
//! 4. `--deny-loops` passing a call through a pointer and recursion;
//! 5. an ambiguous demangled name silently audited as its first match;
//! 6. a looping function's bound printed as a plain number, a tail call through a pointer
//!    called an "indirect branch", callee names cut in the summary, `--help` failing.

mod common;

use std::process::Command;
use std::rc::Rc;

use detalloc_audit::verdict::{CallKind, FnAudit};
use detalloc_audit::{Audit, Checks, audit, audit_assuming, check, report};

const X86: &str = "x86_64-unknown-linux-gnu";
const THUMB: &str = "thumbv7m-none-eabi";

fn one(bytes: &[u8], name: &str) -> Rc<FnAudit> {
    let a = audit(bytes, &[name.to_string()]).expect("audits");
    a.functions[0].clone()
}

fn deny_loops() -> Checks {
    Checks { deny_loops: true, ..Checks::default() }
}

fn unbounded_because(f: &FnAudit, start: &str) -> bool {
    f.unbounded.iter().any(|r| r.starts_with(start))
}

/// Defect 1: only slots the program cannot write after start-up are resolved.
#[test]
fn writable_slots_are_indirect_calls() {
    let path = common::pie();
    let bytes = std::fs::read(&path).expect("the fixture");
    // The fixture really re-points the slots: it runs the loop through each of them.
    let run = Command::new(&path).output().expect("the fixture runs");
    assert!(run.status.success());

    for name in ["pie_hook", "pie_table", "pie_rust_hook"] {
        let f = one(&bytes, name);
        assert_eq!(f.calls[0].kind, CallKind::Indirect, "{name}: {:?}", f.calls);
        assert!(unbounded_because(&f, "indirect call"), "{name}: {:?}", f.unbounded);
        assert!(!check(&f, &deny_loops()).is_empty(), "{name} passes --deny-loops");
    }
    let tail = one(&bytes, "pie_hook_tail");
    assert_eq!(tail.calls[0].kind, CallKind::Indirect, "{:?}", tail.calls);
    assert!(!tail.unbounded.is_empty());

    // The slot in `.data.rel.ro` (RELRO) is read-only once relocated: resolved.
    let constant = one(&bytes, "pie_const_hook");
    assert_eq!(constant.calls[0].kind, CallKind::Call, "{:?}", constant.calls);
    assert_eq!(constant.calls[0].callee, "pie_loop_free");
    assert!(constant.unbounded.is_empty(), "{:?}", constant.unbounded);
    assert_eq!(constant.bound.map(|b| b.insns), Some(4 + 3));
}

/// Defect 2: a rep-prefixed string instruction is a loop.
#[test]
fn rep_string_instructions_are_loops() {
    let bytes = common::known(X86);
    let f = one(&bytes, "fx_rep");
    assert_eq!(f.loops.len(), 1, "{:?}", f.loops);
    let l = &f.loops[0];
    assert_eq!(l.kind, "rep string");
    assert_eq!(l.iteration.insns, 1);
    assert_eq!(l.header, l.latch, "the instruction repeats itself");
    assert!(!f.is_bounded());
    assert!(!check(&f, &deny_loops()).is_empty());
    let budget = Checks { budget: Some(1000), ..Checks::default() };
    assert!(!check(&f, &budget).is_empty(), "a loop is no bound");
}

/// Defect 3: a system call is unbounded.
#[test]
fn system_calls_are_unbounded() {
    let x86 = common::known(X86);
    let thumb = common::known(THUMB);
    for (bytes, name) in [(&x86, "fx_syscall"), (&x86, "fx_int80"), (&thumb, "fx_svc")] {
        let f = one(bytes, name);
        assert!(unbounded_because(&f, "system call"), "{name}: {:?}", f.unbounded);
        assert!(!f.is_bounded());
        assert!(!check(&f, &deny_loops()).is_empty(), "{name} passes --deny-loops");
    }
}

/// Defect 4: `--deny-loops` fails on anything whose loop freedom is unknown, unless the
/// callee is assumed.
#[test]
fn deny_loops_fails_on_unknown() {
    for target in [X86, THUMB] {
        let bytes = common::known(target);
        for name in ["fx_indirect", "fx_recursive", "fx_jumptable", "fx_tail_pointer"] {
            let f = one(&bytes, name);
            assert!(f.loops.is_empty(), "{target} {name}: no loop is seen");
            let failures = check(&f, &deny_loops());
            assert!(!failures.is_empty(), "{target} {name} passes --deny-loops");
            assert!(failures[0].contains("loop freedom not proven"), "{failures:?}");
        }
        assert!(check(&one(&bytes, "fx_call"), &deny_loops()).is_empty());
        // An assumed callee is the user's statement: the caller then passes.
        let names = ["fx_call".to_string()];
        let a = audit_assuming(&bytes, &names, &[("fx_straight".into(), 5)]).expect("audits");
        assert!(check(&a.functions[0], &deny_loops()).is_empty());
    }
}

/// Defect 5: a name matching several functions is an error listing them.
#[test]
fn ambiguous_names_are_errors() {
    for target in [X86, THUMB] {
        let bytes = common::known(target);
        let err = audit(&bytes, &["fx::inner::dupe".to_string()]).expect_err("ambiguous");
        assert!(err.contains("3 functions"), "{err}");
        for n in 1..=3 {
            let mangled = format!("_ZN2fx5inner4dupe17h000000000000000{n}E");
            assert!(err.contains(&mangled), "{err}");
        }
        assert!(err.contains("0x"), "addresses listed: {err}");
        // Each one by its mangled name: 2, 3 and 4 instructions.
        let bounds: Vec<u64> = (1..=3)
            .map(|n| one(&bytes, &format!("_ZN2fx5inner4dupe17h000000000000000{n}E")))
            .map(|f| f.bound.expect("returns").insns)
            .collect();
        assert_eq!(bounds, [2, 3, 4], "{target}");
    }
}

fn summary_row(a: &Audit) -> String {
    report::summary(&a.functions, a.with_cycles).lines().nth(2).expect("a row").to_string()
}

/// Defect 6: output that cannot be misread.
#[test]
fn output_does_not_mislead() {
    for target in [X86, THUMB] {
        let bytes = common::known(target);
        // A loop: the bound column says unbounded, the loop column the iteration cost.
        let a = audit(&bytes, &["fx_loop".to_string()]).expect("audits");
        let row = summary_row(&a);
        let bound_cell = row.split('|').nth(2).expect("a bound cell");
        assert!(bound_cell.contains("unbounded"), "{row}");
        assert!(row.contains("3 insns/iter"), "{row}");
        assert!(!report::verdict(&a.functions[0]).contains("bounded per"), "{row}");

        // A tail call through a pointer is named so, not "indirect branch".
        let f = one(&bytes, "fx_tail_pointer");
        assert!(unbounded_because(&f, "tail call through a pointer"), "{:?}", f.unbounded);
        assert!(!f.unbounded.iter().any(|r| r.contains("indirect branch")), "{:?}", f.unbounded);
        assert_eq!(f.calls[0].kind, CallKind::Indirect);
        // The jump table is still called one.
        let table = one(&bytes, "fx_jumptable");
        assert!(unbounded_because(&table, "jump table"), "{:?}", table.unbounded);

        // Callee names in full.
        let a = audit(&bytes, &["fx_call_dupe".to_string()]).expect("audits");
        let row = summary_row(&a);
        assert!(row.contains("fx::inner::dupe"), "{row}");
    }

    let help = Command::new(env!("CARGO_BIN_EXE_detalloc-audit"))
        .arg("--help")
        .output()
        .expect("the tool runs");
    assert!(help.status.success(), "--help exits {:?}", help.status.code());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: detalloc-audit"));
    let bad = Command::new(env!("CARGO_BIN_EXE_detalloc-audit"))
        .arg("--no-such-option")
        .output()
        .expect("the tool runs");
    assert_eq!(bad.status.code(), Some(2));
}
