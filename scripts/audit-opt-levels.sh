#!/usr/bin/env bash
# Loop freedom and no table reads at every opt-level: builds the 3-class heap's audit wrappers
# (and, on x86_64, the arena's allocation `audit_arena_alloc`)
# at opt-levels 1, 2, 3, "s" and "z", for x86_64 (examples/audit_targets.rs), for thumbv6m
# and thumbv7m (the fixture detalloc-audit/tests/fixtures/thumb-heaps) and for riscv32imac and
# riscv32imc (the fixture detalloc-audit/tests/fixtures/riscv-heaps), and runs
# `detalloc-audit --deny-loops --deny-table-reads` on the lean, checked and critical_section
# wrappers of each (on Cortex-M and RISC-V also a critical_section heap with `waiters: 4`, whose
# free hands its block to the oldest waiter), and on the RISC-V firmware's own wrappers
# (examples/riscv-firmware/examples/measure.rs: fw_alloc, fw_free and their lean twins, on
# riscv32imac). Fails on the first loop, unknown callee or table read (a jump table or a lookup
# in read-only data). Run by .ci/run; takes a few minutes (each build is small).
#
# On the host, critical_section is the `critical-section` crate's std mutex (futex loops and a
# system call): assumed, not analysed. On Cortex-M it is cortex-m's PRIMASK save/restore, on
# RISC-V the riscv crate's `mstatus.MIE` clear and restore, analysed like the rest (reported as
# interrupt masking). The wake of a waiter a free served (`wait::queue::wake_waiter`, a
# jump through the waker's vtable into the executor) is the executor's cost: assumed at 0.
set -euo pipefail
cd "$(dirname "$0")/.."

audit=(cargo run -q --release -p detalloc-audit --)
cargo build -q --release -p detalloc-audit
modes=(lean checked critical_section)
symbols() { for m in "$@"; do printf -- '--symbol audit_alloc_%s --symbol audit_free_%s ' "$m" "$m"; done; }

for level in 1 2 3 s z; do
    echo "== opt-level $level"
    CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=target/audit-opt \
        cargo build -q --release -p detalloc-examples --example audit_targets
    # shellcheck disable=SC2046
    "${audit[@]}" target/audit-opt/release/examples/audit_targets --summary --deny-loops --deny-table-reads \
        $(symbols "${modes[@]}") --symbol audit_arena_alloc \
        --assume _critical_section_1_0_acquire=0 --assume _critical_section_1_0_release=0
    for target in thumbv6m-none-eabi thumbv7m-none-eabi; do
        CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=target/audit-opt-thumb \
            cargo build -q --release --target "$target" \
            --manifest-path detalloc-audit/tests/fixtures/thumb-heaps/Cargo.toml
        # shellcheck disable=SC2046
        "${audit[@]}" "target/audit-opt-thumb/$target/release/thumb-heaps" --summary --deny-loops --deny-table-reads \
            $(symbols "${modes[@]}" critical_section_lean critical_section_waiting) \
            --assume detalloc::wait::queue::wake_waiter=0
    done
    for target in riscv32imac-unknown-none-elf riscv32imc-unknown-none-elf; do
        CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=target/audit-opt-riscv \
            cargo build -q --release --target "$target" \
            --manifest-path detalloc-audit/tests/fixtures/riscv-heaps/Cargo.toml
        # shellcheck disable=SC2046
        "${audit[@]}" "target/audit-opt-riscv/$target/release/riscv-heaps" --summary --deny-loops --deny-table-reads \
            $(symbols "${modes[@]}" critical_section_lean critical_section_waiting) \
            --assume detalloc::wait::queue::wake_waiter=0
    done
    # The RISC-V firmware's wrappers (its .cargo/config.toml, the linker scripts, applies from
    # its directory).
    (cd examples/riscv-firmware && CARGO_PROFILE_RELEASE_OPT_LEVEL=$level \
        CARGO_TARGET_DIR=../../target/audit-opt-riscv-firmware cargo build -q --release --example measure)
    "${audit[@]}" target/audit-opt-riscv-firmware/riscv32imac-unknown-none-elf/release/examples/measure \
        --summary --deny-loops --deny-table-reads
done
echo "every lean, checked and critical_section alloc/free is loop-free and reads no table at opt-levels 1, 2, 3, s, z"
