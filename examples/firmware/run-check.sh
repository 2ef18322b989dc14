#!/usr/bin/env bash
# The firmware example's check: runs src/main.rs under QEMU and compares its output with
# expected.txt. Installs nothing; needs `qemu-system-arm` (Debian: `apt-get install -y
# qemu-system-arm`) and the targets thumbv6m-none-eabi, thumbv7m-none-eabi,
# thumbv7em-none-eabihf of the pinned toolchain. Takes well under a minute once built.
#
# - format and clippy (-D warnings) on thumbv7m: the binary and the examples;
# - `cargo run --release` (thumbv7m-none-eabi on QEMU's Cortex-M3 LM3S6965): exit status 0 and
#   stdout identical to expected.txt;
# - the same source for thumbv6m-none-eabi and thumbv7em-none-eabihf, on the same board with
#   QEMU's Cortex-M0 and Cortex-M4 cores (`cargo run --release --target ...`), same checks;
# - each image again with one guest instruction per translation block: QEMU takes interrupts
#   only between blocks, so only there can a tick land inside a pool update (a critical
#   section that masks nothing passes the default runs and fails these);
# - examples/arena.rs, a per-callback scratch arena shared with SysTick: output identical to
#   arena-expected.txt on the Cortex-M3 and the Cortex-M0;
# - examples/aba.rs, the deterministic ABA reproduction on the lock-free pool: detected with
#   the old 16-bit-tag compare-and-swap, none with the LL/SC head.
set -euo pipefail
cd "$(dirname "$0")"

# check_cores, lint, step: scripts/qemu.sh. The tick counts on stderr are shown, not compared.
CHECK=firmware CHECK_RUN_STDERR='^ticks during'
source ../../scripts/qemu.sh

lint --all-targets
check_cores 120 detalloc-firmware

step "examples build (measure.rs, size.rs, aba.rs, arena.rs)"
cargo build -q --release --examples

# The per-callback scratch arena (examples/arena.rs): its output, on a Cortex-M3 and a Cortex-M0.
step "arena example (thumbv7m, thumbv6m)"
CHECK_RUN_EXPECTED=arena-expected.txt check_run 120 arena-m3 cargo run -q --release --example arena
CHECK_RUN_EXPECTED=arena-expected.txt check_run 120 arena-m0 \
    cargo run -q --release --target thumbv6m-none-eabi --example arena
cat target/check/arena-m3.stdout

# The ABA reproduction (examples/aba.rs): an interrupt inside a lock-free pop's window does a
# whole 16-bit tag's worth of pushes and pops. The old 16 + 16 tagged CAS (`detalloc_cas16`)
# must hand a block out twice (so the test is real); the LL/SC head must not. RUSTFLAGS
# replaces the config's rustflags, so the linker script is named again.
aba_check() { # name, extra cfg, expected verdict
    local name=$1 extra=$2 verdict=$3 out
    step "ABA reproduction, $name head"
    out=$(RUSTFLAGS="-C link-arg=-Tlink.x --cfg detalloc_aba_hook $extra" \
        CARGO_TARGET_DIR=target/aba-$name timeout 300 cargo run -q --release --example aba)
    echo "$out"
    if ! grep -qx "aba: double hand-out: $verdict" <<<"$out"; then
        echo "aba ($name): expected 'double hand-out: $verdict'" >&2
        exit 1
    fi
}
aba_check llsc "" none
aba_check cas16 "--cfg detalloc_cas16" detected

step "ok"
