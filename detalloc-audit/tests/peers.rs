//! The allocators a user would compare detalloc with, and adversarial functions, audited from
//! `tests/fixtures/peers` (x86_64, release):
//! - linked_list_allocator (first fit) and buddy_system_allocator: both operations loop (the
//!   hole list walk; the split and merge over orders); talc: its allocate loops over its bins,
//!   its free does not (it merges with the two neighbours and files the hole in one bin);
//!   rlsf (TLSF): both loop-free and bounded (the size class is found with `bsr`/`tzcnt` on its
//!   bitmaps; the backward jumps in its code go to shared exits, not around a loop).
//! - A `static mut` function pointer, a `static mut` table of them, a call through a pointer
//!   argument, a `rep stosb`, a `syscall` and a recursion: never bounded, never loop-free.
//!
//! With valgrind, the loop-free peers' calls (hundreds, of varied sizes and alignments) are
//! counted with callgrind: none may exceed its static bound.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;

use common::ratio;
use detalloc_audit::verdict::{CallKind, FnAudit};
use detalloc_audit::{Audit, Checks, audit, check};

fn build() -> PathBuf {
    common::cargo_build("peers/Cargo.toml", "peers", None).join("release/peers")
}

fn get<'a>(a: &'a Audit, name: &str) -> &'a Rc<FnAudit> {
    a.functions.iter().find(|f| f.name == name).expect("audited")
}

const PEERS: [&str; 8] = [
    "peer_first_fit_alloc",
    "peer_first_fit_free",
    "peer_buddy_alloc",
    "peer_buddy_free",
    "peer_talc_alloc",
    "peer_talc_free",
    "peer_tlsf_alloc",
    "peer_tlsf_free",
];

const ADVERSARIAL: [&str; 6] =
    ["adv_hook", "adv_table", "adv_pointer", "adv_rep_stosb", "adv_syscall", "adv_recursive"];

#[test]
fn peers_and_adversarial_functions() {
    let exe = build();
    // The adversarial functions really run: the hooks loop 4 000 times once re-pointed.
    let run = Command::new(&exe).output().expect("the fixture runs");
    assert!(run.status.success());
    let bytes = std::fs::read(&exe).expect("the binary");
    let names: Vec<String> = PEERS.iter().chain(&ADVERSARIAL).map(|s| s.to_string()).collect();
    let a = audit(&bytes, &names).expect("audits");
    let deny = Checks { deny_loops: true, ..Checks::default() };

    for name in ["peer_first_fit_alloc", "peer_first_fit_free", "peer_buddy_alloc"] {
        let f = get(&a, name);
        assert!(!f.loops.is_empty(), "{name}: its search loop");
        assert!(!f.is_bounded());
        assert!(!check(f, &deny).is_empty());
    }
    for name in ["peer_buddy_free", "peer_talc_alloc"] {
        assert!(!get(&a, name).loops.is_empty(), "{name}: loops");
    }
    for name in ["peer_talc_free", "peer_tlsf_alloc", "peer_tlsf_free"] {
        let f = get(&a, name);
        assert!(f.is_bounded(), "{name}: {:?} {:?}", f.loops, f.unbounded);
        assert!(check(f, &deny).is_empty(), "{name}");
        assert!(f.bound.expect("bounded").insns < 200, "{name}: {:?}", f.bound);
    }

    for name in ["adv_hook", "adv_table", "adv_pointer"] {
        let f = get(&a, name);
        assert!(f.calls.iter().any(|c| c.kind == CallKind::Indirect), "{name}: {:?}", f.calls);
        assert!(f.unbounded.iter().any(|r| r.starts_with("indirect call")), "{name}");
    }
    let rep = get(&a, "adv_rep_stosb");
    assert_eq!(rep.loops.iter().map(|l| l.kind).collect::<Vec<_>>(), ["rep string"]);
    assert!(get(&a, "adv_syscall").unbounded.iter().any(|r| r.starts_with("system call")));
    assert!(get(&a, "adv_recursive").unbounded.iter().any(|r| r.starts_with("recursion")));
    for name in ADVERSARIAL {
        let f = get(&a, name);
        assert!(!f.is_bounded(), "{name} is not bounded");
        assert!(!check(f, &deny).is_empty(), "{name} fails --deny-loops");
        let budget = Checks { budget: Some(1_000_000), ..Checks::default() };
        assert!(!check(f, &budget).is_empty(), "{name} fails any budget");
    }
}

#[test]
fn loop_free_peers_never_exceed_their_bound() {
    let exe = build();
    let bytes = std::fs::read(&exe).expect("the binary");
    let names: Vec<String> =
        ["peer_talc_free", "peer_tlsf_alloc", "peer_tlsf_free"].map(String::from).to_vec();
    let a = audit(&bytes, &names).expect("audits");
    if !ratio::available("valgrind") {
        return;
    }
    let peers: Vec<String> = PEERS.map(String::from).to_vec();
    let (calls, _) = ratio::callgrind(&exe, "peer_*", &peers, &[], "callgrind-peers");
    let calls: Vec<(String, String, u64)> =
        calls.into_iter().map(|(w, n)| (w, "varied layouts".into(), n)).collect();
    let rows = ratio::rows(&a, &calls);
    println!("{}", ratio::table("x86_64 peers (callgrind)", &rows));
    for r in &rows {
        let (max, _) = r.max.as_ref().expect("measured");
        assert!(r.calls > 100, "{}: {} calls", r.wrapper, r.calls);
        assert!(
            *max <= r.bound.expect("bounded"),
            "{}: measured {max} above {:?}",
            r.wrapper,
            r.bound
        );
    }
}
