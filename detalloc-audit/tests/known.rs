//! Hand-written functions with known answers (`tests/fixtures/known.rs`), compiled at test time
//! for x86_64 and thumbv7m and audited: instruction counts, loops (header, latch, one
//! iteration), calls, tail calls, a jump table, a call that never returns, and on Thumb the
//! cycle bounds of the timing table and returns inside IT blocks.

mod common;

use std::rc::Rc;

use detalloc_audit::elf::Image;
use detalloc_audit::verdict::{CallKind, FnAudit};
use detalloc_audit::{Audit, Checks, audit, audit_assuming, check};

const NAMES: &[&str] = &[
    "fx_straight",
    "fx_diamond",
    "fx_loop",
    "fx_call",
    "fx_tail",
    "fx_jumptable",
    "fx_diverge",
    "fx_indirect",
    "fx_recursive",
    "fx_cas",
];

fn audit_all(bytes: &[u8], extra: &[&str]) -> Audit {
    let names: Vec<String> = NAMES.iter().chain(extra).map(|s| s.to_string()).collect();
    audit(bytes, &names).expect("the fixture audits")
}

fn get<'a>(audit: &'a Audit, name: &str) -> &'a Rc<FnAudit> {
    audit.functions.iter().find(|f| f.name == name).expect("audited")
}

fn insns(f: &FnAudit) -> u64 {
    f.bound.expect("a path returns").insns
}

fn cycles(f: &FnAudit) -> u64 {
    f.bound.and_then(|b| b.cycles).expect("a cycle bound")
}

fn addr(bytes: &[u8], name: &str) -> u64 {
    Image::parse(bytes).expect("elf").function_named(name).expect("one symbol").addr
}

/// What both architectures share.
fn common(a: &Audit, straight: u64) {
    for f in &a.functions {
        let expect_loops = matches!(f.name.as_str(), "fx_loop" | "fx_cas");
        assert_eq!(!f.loops.is_empty(), expect_loops, "{}: loops {:?}", f.name, f.loops);
    }
    assert_eq!(insns(get(a, "fx_straight")), straight);
    assert!(get(a, "fx_straight").unbounded.is_empty());

    let call = get(a, "fx_call");
    assert_eq!(call.calls.len(), 1);
    assert_eq!(call.calls[0].kind, CallKind::Call);
    assert_eq!(call.calls[0].callee, "fx_straight");
    assert_eq!(call.calls[0].bound.map(|b| b.insns), Some(straight));
    assert!(call.calls[0].on_path);
    assert_eq!(call.own_on_path + straight, insns(call));

    let tail = get(a, "fx_tail");
    assert_eq!(tail.calls[0].kind, CallKind::TailCall);
    assert_eq!(insns(tail), 2 + straight);

    let table = get(a, "fx_jumptable");
    assert!(table.unbounded.iter().any(|r| r.starts_with("jump table")), "{table:?}");

    let diverge = get(a, "fx_diverge");
    assert_eq!(insns(diverge), 3, "only the path without the call returns");
    assert_eq!(diverge.calls[0].kind, CallKind::Diverging);
    assert!(diverge.unbounded.is_empty());

    let indirect = get(a, "fx_indirect");
    assert_eq!(indirect.calls[0].kind, CallKind::Indirect);
    assert!(!indirect.unbounded.is_empty());

    let recursive = get(a, "fx_recursive");
    assert_eq!(recursive.calls[0].kind, CallKind::Recursive);
    assert!(recursive.unbounded.iter().any(|r| r.starts_with("recursion")));

    let cas = get(a, "fx_cas");
    assert_eq!(cas.loops.len(), 1);
    assert_eq!(cas.loops[0].kind, "CAS retry");
    assert_eq!(cas.loops[0].header, cas.addr, "the entry is the loop header");

    // Checks: the loop-free, bounded function passes a budget; the loop fails --deny-loops and
    // the budget; an unbounded function fails both; a budget below the path fails.
    let deny = Checks { budget: Some(100), deny_loops: true, ..Checks::default() };
    assert!(check(get(a, "fx_call"), &deny).is_empty());
    assert_eq!(check(get(a, "fx_loop"), &deny).len(), 2);
    assert_eq!(check(get(a, "fx_indirect"), &deny).len(), 2);
    let tight = Checks { budget: Some(straight - 1), ..Checks::default() };
    assert_eq!(check(get(a, "fx_straight"), &tight).len(), 1);
}

#[test]
fn x86_64_known_answers() {
    let bytes = common::known("x86_64-unknown-linux-gnu");
    let a = audit_all(&bytes, &[]);
    assert!(!a.with_cycles);
    common(&a, 3);

    let diamond = get(&a, "fx_diamond");
    assert_eq!(insns(diamond), 6);
    let exits: Vec<u64> = diamond.exits.iter().map(|e| e.cost.insns).collect();
    assert_eq!(exits, [6, 4]);
    assert_eq!(diamond.bound.and_then(|b| b.cycles), None);

    let l = get(&a, "fx_loop");
    assert_eq!(insns(l), 5);
    assert_eq!(l.loops.len(), 1);
    let start = addr(&bytes, "fx_loop");
    assert_eq!(l.loops[0].header, start + 2); // after `xor eax, eax` (2 bytes)
    assert_eq!(l.loops[0].latch, start + 2 + 2 + 2); // `add eax, edi`, `dec edi`: 2 bytes each
    assert_eq!(l.loops[0].iteration.insns, 3);
    assert_eq!(l.loops[0].kind, "loop");

    assert_eq!(insns(get(&a, "fx_call")), 4 + 3);
    // The jump table: the indirect jump after 6 instructions is the longest (open) path.
    assert_eq!(insns(get(&a, "fx_jumptable")), 6);
    assert_eq!(get(&a, "fx_cas").loops[0].iteration.insns, 4);

    // `--assume`: fx_straight taken as 10 instructions, not analysed.
    let names = ["fx_call".to_string()];
    let assumed = audit_assuming(&bytes, &names, &[("fx_straight".into(), 10)]).expect("audits");
    let call = &assumed.functions[0];
    assert_eq!(insns(call), 4 + 10);
    assert_eq!(call.calls[0].kind, CallKind::Assumed);
}

#[test]
fn thumbv7m_known_answers() {
    let bytes = common::known("thumbv7m-none-eabi");
    let a = audit_all(&bytes, &["fx_it_return", "fx_it_pop"]);
    assert!(a.with_cycles);
    common(&a, 2);
    assert_eq!(cycles(get(&a, "fx_straight")), 5);

    let diamond = get(&a, "fx_diamond");
    assert_eq!(insns(diamond), 6);
    assert_eq!(cycles(diamond), 10, "the longest in cycles is the shorter path");
    let exits: Vec<(u64, Option<u64>)> =
        diamond.exits.iter().map(|e| (e.cost.insns, e.cost.cycles)).collect();
    assert_eq!(exits, [(6, Some(9)), (4, Some(10))]);

    let l = get(&a, "fx_loop");
    assert_eq!((insns(l), cycles(l)), (6, 9));
    let start = addr(&bytes, "fx_loop");
    assert_eq!(l.loops[0].header, start + 2);
    assert_eq!(l.loops[0].latch, start + 6);
    assert_eq!(l.loops[0].iteration.insns, 3);
    assert_eq!(l.loops[0].iteration.cycles, Some(6));

    let call = get(&a, "fx_call");
    assert_eq!((insns(call), cycles(call)), (5, 20));
    let tail = get(&a, "fx_tail");
    assert_eq!(cycles(tail), 10);
    // `tbb` after 3 instructions (open), the default's `bx lr` after 4.
    assert_eq!(insns(get(&a, "fx_jumptable")), 4);

    let it = get(&a, "fx_it_return");
    let exits: Vec<(u64, Option<u64>)> =
        it.exits.iter().map(|e| (e.cost.insns, e.cost.cycles)).collect();
    assert_eq!(exits, [(3, Some(6)), (5, Some(8))]);
    let pop = get(&a, "fx_it_pop");
    assert_eq!(pop.exits.iter().map(|e| e.cost.insns).collect::<Vec<_>>(), [5, 7]);
    assert!(pop.loops.is_empty() && pop.unbounded.is_empty());
}
