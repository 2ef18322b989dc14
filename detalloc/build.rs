//! Target facts `cfg` cannot express on stable Rust (`target_feature` does not name the Arm
//! architecture versions there), as `cfg`s for the crate:
//!
//! * `detalloc_m_mainline`: ARMv7-M, ARMv7E-M or ARMv8-M mainline (`thumbv7m`, `thumbv7em`,
//!   `thumbv8m.main`): LDREX/STREX, and the DWT cycle counter at its architected address.
//! * `detalloc_llsc`: the lock-free pool's head uses LL/SC: LDREX/STREX on the targets above,
//!   LR.W/SC.W on RISC-V with the A extension (unless a test build forces the old tagged
//!   compare-and-swap with `--cfg detalloc_cas16`).
//! * `detalloc_lock_free`: `sync: lock_free` is available: LL/SC, or a 64-bit compare-and-swap
//!   for a 32-bit tag (or the `detalloc_cas16` test build).

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for cfg in ["detalloc_m_mainline", "detalloc_llsc", "detalloc_lock_free"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    let target = env::var("TARGET").unwrap_or_default();
    let atomics = env::var("CARGO_CFG_TARGET_HAS_ATOMIC").unwrap_or_default();
    let has = |width: &str| atomics.split(',').any(|w| w == width);
    let set = |name: &str| env::var_os(format!("CARGO_CFG_{}", name.to_uppercase())).is_some();

    let mainline =
        ["thumbv7m-", "thumbv7em-", "thumbv8m.main-"].iter().any(|p| target.starts_with(p));
    let cas16 = set("detalloc_cas16") && has("32");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    // The A extension and the atomics `core` offers with it: `riscv32imc` with `+a` (as
    // esp-rs once built the ESP32-C3) has the feature but no `target_has_atomic`, so no
    // `fetch_or` for the pool's bitmap: no lock-free head there.
    let riscv_a = (arch == "riscv32" || arch == "riscv64")
        && features.split(',').any(|f| f == "a")
        && has("32");
    let llsc = (mainline || riscv_a) && !cas16 && !set("loom");
    if mainline {
        println!("cargo::rustc-cfg=detalloc_m_mainline");
    }
    if llsc {
        println!("cargo::rustc-cfg=detalloc_llsc");
    }
    if llsc || cas16 || has("64") {
        println!("cargo::rustc-cfg=detalloc_lock_free");
    }
}
