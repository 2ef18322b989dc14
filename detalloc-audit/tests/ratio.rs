//! The static bound of each detalloc wrapper against the largest instruction count measured
//! on it (issue 12: at most 1.25x, and never below a measured count).
//!
//! - **Host (x86_64)**: `tests/fixtures/host-heaps`, which is `examples/audit_targets.rs` (its
//!   wrappers, by path) driven through every path (see its docs), run under
//!   `valgrind --tool=callgrind` with collection on inside `audit_*` only and a dump after
//!   every wrapper call. The host `critical-section` implementation (a std mutex) is assumed
//!   at 0 instructions statically, as in CI, and its calls' inclusive cost is subtracted from
//!   each measured count.
//!
//! - **thumbv7m (Cortex-M3)**: the firmware's `fw_alloc`, `fw_free`, `fw_alloc_lean` and
//!   `fw_free_lean` (`examples/firmware/examples/measure.rs`, the binary CI audits) driven
//!   through every path, run under `qemu-system-arm -machine lm3s6965evb` with one
//!   guest instruction per translated block and every executed block logged (`-d
//!   exec,nochain`). A call's count runs from the wrapper's first instruction to the return to
//!   its caller (the caller's `bl` not counted), as the static path does.
//!
//! - **RV32 (riscv32imac, riscv32imc)**: the RISC-V firmware's wrappers of the same names
//!   (`examples/riscv-firmware/examples/measure.rs`, the same cases), run under
//!   `qemu-system-riscv32 -machine virt` the same way (the caller's `jal`/`jalr` not counted).
//!
//! Run: `cargo test -p detalloc-audit --test ratio -- --include-ignored --nocapture` prints
//! the tables (the tests are ignored by a plain `cargo test`: they build the fixtures and
//! firmware and run them under valgrind and QEMU, minutes on two cores). Without
//! valgrind (or a QEMU) the measurement is skipped with a message, unless
//! `DETALLOC_AUDIT_MEASURE=require` (as `.ci/run` sets it), which makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::ratio;
use detalloc_audit::insn::Decoder;
use detalloc_audit::riscv::Riscv;
use detalloc_audit::thumb::Thumb;
use detalloc_audit::{audit, audit_assuming, default_symbols, elf::Image};

/// Excluded from both sides: the host's `critical-section` implementation.
const ASSUMED: [&str; 2] = ["_critical_section_1_0_acquire", "_critical_section_1_0_release"];

#[test]
#[ignore = "builds and measures under valgrind and QEMU (minutes): CI's ratio step runs it"]
fn host_wrappers() {
    let dir = common::cargo_build("host-heaps/Cargo.toml", "host-heaps", None);
    let exe = dir.join("release/host-heaps");
    let bytes = std::fs::read(&exe).expect("the harness binary");
    let image = Image::parse(&bytes).expect("an ELF file");
    let names = default_symbols(&image);
    let assumed: Vec<(String, u64)> = ASSUMED.iter().map(|n| (n.to_string(), 0)).collect();
    let audit = audit_assuming(&bytes, &names, &assumed).expect("audits");
    if !ratio::available("valgrind") {
        return;
    }

    let (counted, stdout) = ratio::callgrind(&exe, "audit_*", &names, &ASSUMED, "callgrind");
    let labels: Vec<&str> = stdout.lines().collect();
    assert_eq!(labels.len(), counted.len(), "one line per wrapper call");
    let mut calls = Vec::new();
    for (label, (wrapper, count)) in labels.iter().zip(counted) {
        let (called, case) = label.split_once(' ').expect("`wrapper case`");
        assert_eq!(called, wrapper, "the n-th dump is the n-th call");
        calls.push((wrapper, case.to_string(), count));
    }
    let rows = ratio::rows(&audit, &calls);
    let table = ratio::table("x86_64 (callgrind), `examples/audit_targets.rs`", &rows);
    println!("{table}");
    let _ = std::fs::write(common::scratch("ratio").join("host.md"), &table);
    let failures = ratio::failures(&rows);
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n"));
}

/// QEMU's switch for one guest instruction per translated block: `-singlestep` before 8.1,
/// `-accel tcg,one-insn-per-tb=on` from 8.1 on.
fn one_insn_per_block(qemu: &str) -> Vec<&'static str> {
    let out = Command::new(qemu).arg("--version").output().expect("qemu runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split("version ").nth(1).unwrap_or("0.0");
    let mut parts =
        version.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (8, 1) {
        vec!["-accel", "tcg,one-insn-per-tb=on"]
    } else {
        vec!["-singlestep"]
    }
}

/// The program counters of a QEMU `-d exec,nochain` log, in execution order.
fn trace_pcs(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| {
            // `Trace 0: 0x7f.. [00800400/000044d4/00000110/ff000201] name`
            let fields = l.split_once('[')?.1.split('/').nth(1)?;
            u64::from_str_radix(fields, 16).ok()
        })
        .collect()
}

/// How to run an image under QEMU: the emulator, its machine arguments, and the decoder of
/// the image's calls.
struct Board {
    qemu: &'static str,
    args: &'static [&'static str],
    decoder: Box<dyn Decoder>,
}

/// The Cortex-M3 board the Cortex-M firmware runs on.
fn lm3s6965() -> Board {
    Board {
        qemu: "qemu-system-arm",
        args: &["-cpu", "cortex-m3", "-machine", "lm3s6965evb"],
        decoder: Box::new(Thumb::new().expect("capstone")),
    }
}

/// QEMU's RISC-V `virt` board, as the RISC-V firmware's `.cargo/config.toml` runs it.
fn virt() -> Board {
    Board {
        qemu: "qemu-system-riscv32",
        args: &["-machine", "virt", "-bios", "none"],
        decoder: Box::new(Riscv::new().expect("capstone")),
    }
}

/// Runs the image `elf` under QEMU on `board` and returns each wrapper call it makes,
/// `(wrapper, case, instructions)`, and the stdout. The n-th call is labelled by the n-th
/// stdout line that `label` accepts when there are as many such lines as calls (else its case
/// is empty).
fn qemu_calls(
    board: &Board,
    elf: &Path,
    label: impl Fn(&str) -> Option<String>,
) -> (Vec<(String, String, u64)>, String) {
    let bytes = std::fs::read(elf).expect("the firmware");
    let image = Image::parse(&bytes).expect("an ELF file");
    let names = default_symbols(&image);
    // One log per image (the tests run in parallel, and every firmware's binary is `measure`).
    let name: String =
        elf.to_string_lossy().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    let log = common::scratch("qemu").join(format!("{name}.log"));
    let run = Command::new(board.qemu)
        .args(board.args)
        .args(["-nographic", "-semihosting-config", "enable=on,target=native"])
        .args(one_insn_per_block(board.qemu))
        .args(["-d", "exec,nochain", "-D"])
        .arg(&log)
        .arg("-kernel")
        .arg(elf)
        .output()
        .expect("qemu runs");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "the firmware failed: {stdout}");
    let labels: Vec<String> = stdout.lines().filter_map(&label).collect();
    let entries: Vec<(u64, &str)> = names
        .iter()
        .map(|n| (image.function_named(n).expect("a wrapper").addr, n.as_str()))
        .collect();
    let decoder = &board.decoder;
    let pcs = trace_pcs(&std::fs::read_to_string(&log).expect("the trace"));
    let mut calls = Vec::new();
    let mut i = 1;
    while i < pcs.len() {
        let Some(&(_, wrapper)) = entries.iter().find(|(a, _)| *a == pcs[i]) else {
            i += 1;
            continue;
        };
        // The caller's `bl`/`blx` (`jal`/`jalr`) is the instruction before; the call ends on
        // its return.
        let site = pcs[i - 1];
        let call = decoder.decode(image.code_at(site).expect("code"), site).expect("decodes");
        let back = call.end();
        let end = (i..pcs.len()).find(|&j| pcs[j] == back).expect("the wrapper returns");
        calls.push((wrapper.to_string(), String::new(), (end - i) as u64));
        i = end;
    }
    // The n-th label names the n-th call when the program prints one line per call.
    if calls.len() == labels.len() {
        for (call, label) in calls.iter_mut().zip(labels) {
            call.1 = label;
        }
    }
    let _ = std::fs::remove_file(&log);
    (calls, stdout)
}

/// The firmware CI audits (`examples/firmware/examples/measure.rs`, built as `.ci/run` does),
/// measured on the cases it runs (every path, the frees that reach the longest ones included:
/// a block shrunk in place, a block of another pool, a layout no pool fits, refused frees):
/// each static bound at least its measured counts, and at most 1.25x the largest.
#[test]
#[ignore = "builds and measures under valgrind and QEMU (minutes): CI's ratio step runs it"]
fn firmware_measure() {
    let firmware = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware");
    // Its `.cargo/config.toml` (target, linker script) applies from its directory.
    let manifest = firmware.join("Cargo.toml");
    let dir =
        common::cargo_build_in(&manifest, "firmware", &["--example", "measure"], Some(&firmware));
    let elf = dir.join("thumbv7m-none-eabi/release/examples/measure");
    let bytes = std::fs::read(&elf).expect("the firmware");
    let image = Image::parse(&bytes).expect("an ELF file");
    let audit = audit(&bytes, &default_symbols(&image)).expect("audits");
    if !ratio::available("qemu-system-arm") {
        return;
    }
    let (calls, _) = qemu_calls(&lm3s6965(), &elf, |l| l.strip_prefix("case ").map(str::to_string));
    let rows = ratio::rows(&audit, &calls);
    let table = ratio::table("thumbv7m (QEMU), `examples/firmware/examples/measure.rs`", &rows);
    println!("{table}");
    let _ = std::fs::write(common::scratch("ratio").join("firmware.md"), &table);
    let failures = ratio::failures(&rows);
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n"));
}

/// The RISC-V firmware's wrappers (`examples/riscv-firmware/examples/measure.rs`, the cases of
/// the Cortex-M one), built for `target` at `opt_level` and measured under
/// `qemu-system-riscv32 -machine virt`: each static bound at least its measured counts, and at
/// most 1.25x the largest.
fn riscv_measure(target: &str, opt_level: &str) {
    let firmware = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/riscv-firmware");
    let manifest = firmware.join("Cargo.toml");
    let args = ["--example", "measure", "--target", target];
    let envs = [("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt_level)];
    let scratch = format!("riscv-firmware-{opt_level}");
    let dir = common::cargo_build_env(&manifest, &scratch, &args, Some(&firmware), &envs);
    let elf = dir.join(target).join("release/examples/measure");
    let bytes = std::fs::read(&elf).expect("the firmware");
    let image = Image::parse(&bytes).expect("an ELF file");
    let names = default_symbols(&image);
    assert_eq!(names.len(), 4, "fw_alloc, fw_free and their lean twins: {names:?}");
    let audit = audit(&bytes, &names).expect("audits");
    assert!(!audit.with_cycles, "RV32: instructions only");
    for f in &audit.functions {
        assert!(f.is_bounded(), "{}: {:?} {:?}", f.name, f.unbounded, f.loops);
        assert!(!f.masking.is_empty(), "{}: the critical section masks interrupts", f.name);
    }
    if !ratio::available("qemu-system-riscv32") {
        return;
    }
    let (calls, _) = qemu_calls(&virt(), &elf, |l| l.strip_prefix("case ").map(str::to_string));
    assert!(calls.iter().all(|c| !c.1.is_empty()), "one `case` line per wrapper call");
    let rows = ratio::rows(&audit, &calls);
    let title = format!(
        "{target} (QEMU virt), opt-level {opt_level}, `examples/riscv-firmware/examples/measure.rs`"
    );
    let table = ratio::table(&title, &rows);
    println!("{table}");
    let file = format!("{target}-{opt_level}.md");
    let _ = std::fs::write(common::scratch("ratio").join(file), &table);
    let failures = ratio::failures(&rows);
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n"));
}

/// At the release profile's opt-level 3 and at "s", as the RISC-V firmware's check runs it.
/// (At opt-levels 1 and "z" the checked `fw_alloc` tests the block pointer the pool's pop
/// computed, `base + head - 4` with the head read from memory, for null; the analysis cannot
/// rule the null out, so the failure count after it stays on the bound: 110 / 80 against 74 /
/// 58 measured on riscv32imac (1.49x, 1.38x; the other wrappers stay within 1.09x). Those
/// levels are audited loop-free by `scripts/audit-opt-levels.sh`.)
#[test]
#[ignore = "builds and measures under valgrind and QEMU (minutes): CI's ratio step runs it"]
fn riscv32imac_firmware_measure() {
    riscv_measure("riscv32imac-unknown-none-elf", "3");
    riscv_measure("riscv32imac-unknown-none-elf", "s");
}

#[test]
#[ignore = "builds and measures under valgrind and QEMU (minutes): CI's ratio step runs it"]
fn riscv32imc_firmware_measure() {
    riscv_measure("riscv32imc-unknown-none-elf", "3");
    riscv_measure("riscv32imc-unknown-none-elf", "s");
}
