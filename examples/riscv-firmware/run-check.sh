#!/usr/bin/env bash
# The RISC-V firmware's check: runs src/main.rs under QEMU (`qemu-system-riscv32 -machine
# virt`) and compares its output with expected.txt. Installs nothing; needs
# `qemu-system-riscv32` (Debian: `apt-get install -y qemu-system-misc`) and the targets
# riscv32imac-unknown-none-elf and riscv32imc-unknown-none-elf of the pinned toolchain.
#
# - format and clippy (-D warnings) on riscv32imac: the binary and the examples;
# - src/main.rs for riscv32imac and riscv32imc, at opt-level 3 (the release profile) and "s":
#   exit status 0 and stdout identical to expected.txt, each image also run with one guest
#   instruction per translation block (QEMU takes interrupts only between blocks, so only
#   there can a tick land inside a pool update);
# - the same on riscv32imac with the heap declared `sync: lock_free` (feature `lock-free`),
#   against expected-lock-free.txt;
# - examples/aba.rs, the deterministic ABA reproduction on the lock-free pool's LR/SC head:
#   with the pop that ends every LR with an SC, no double hand-out; with the test build that
#   skips the SC on an empty pool (`--cfg detalloc_aba_demo`), detected where the reservation
#   survives the interloper (see the example's docs for why QEMU needs the second round).
set -euo pipefail
cd "$(dirname "$0")"

# check_run, lint, step, one_insn: scripts/qemu.sh. The tick counts on stderr are shown, not
# compared.
CHECK=riscv-firmware CHECK_RUN_STDERR='^ticks during'
source ../../scripts/qemu.sh
command -v qemu-system-riscv32 >/dev/null || {
    echo "qemu-system-riscv32 not found: apt-get install -y qemu-system-misc" >&2
    exit 1
}
qemu=(qemu-system-riscv32 -machine virt -bios none -nographic -semihosting-config enable=on,target=native)

lint --all-targets

for level in 3 s; do
    for target in riscv32imac-unknown-none-elf riscv32imc-unknown-none-elf; do
        dir=target/opt-$level
        step "$target at opt-level $level"
        CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=$dir \
            cargo build -q --release --target "$target" # outside the time limit of the runs
        image=$dir/$target/release/detalloc-riscv-firmware
        check_run 120 "$target-opt-$level" "${qemu[@]}" -kernel "$image"
        check_run 120 "$target-opt-$level-one-insn-per-block" "${qemu[@]}" "${one_insn[@]}" -kernel "$image"
    done
done

step "riscv32imac, the heap with sync: lock_free"
CARGO_TARGET_DIR=target/lock-free cargo build -q --release --features lock-free
image=target/lock-free/riscv32imac-unknown-none-elf/release/detalloc-riscv-firmware
CHECK_RUN_EXPECTED=expected-lock-free.txt check_run 120 lock-free "${qemu[@]}" -kernel "$image"
CHECK_RUN_EXPECTED=expected-lock-free.txt check_run 120 lock-free-one-insn-per-block \
    "${qemu[@]}" "${one_insn[@]}" -kernel "$image"

# RUSTFLAGS replaces the config's rustflags, so the linker scripts are named again.
aba_check() { # name, extra cfg, expected verdict of the kept-reservation round
    local name=$1 extra=$2 verdict=$3 out
    step "ABA reproduction, $name"
    out=$(RUSTFLAGS="-C link-arg=-Tmemory.x -C link-arg=-Tlink.x --cfg detalloc_aba_hook $extra" \
        CARGO_TARGET_DIR=target/aba-$name timeout 300 cargo run -q --release --example aba)
    echo "$out"
    if ! grep -qx "aba: interrupt: double hand-out: none" <<<"$out" \
        || ! grep -qx "aba: kept reservation: double hand-out: $verdict" <<<"$out"; then
        echo "aba ($name): expected 'interrupt: double hand-out: none' and 'kept reservation: double hand-out: $verdict'" >&2
        exit 1
    fi
}
aba_check lr-sc "" none
aba_check skip-sc-on-empty "--cfg detalloc_aba_demo" detected

step "ok"
