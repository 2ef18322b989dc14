#!/usr/bin/env bash
# The async firmware example's check: runs src/main.rs (embassy-executor tasks waiting on an
# exhausted pool, SysTick freeing the blocks) under QEMU and compares its output with
# expected.txt. Installs nothing; needs `qemu-system-arm` (Debian: `apt-get install -y
# qemu-system-arm`) and the targets thumbv6m-none-eabi, thumbv7m-none-eabi,
# thumbv7em-none-eabihf of the pinned toolchain. A few seconds per run once built.
#
# - format and clippy (-D warnings) on thumbv7m;
# - `cargo run --release` (thumbv7m-none-eabi on QEMU's Cortex-M3 LM3S6965): exit status 0 and
#   stdout identical to expected.txt;
# - the same source for thumbv6m-none-eabi and thumbv7em-none-eabihf, on the same board with
#   QEMU's Cortex-M0 and Cortex-M4 cores, same checks;
# - each image again with one guest instruction per translation block, so that a tick can
#   land between any two instructions of a task (QEMU otherwise takes interrupts only between
#   blocks).
set -euo pipefail
cd "$(dirname "$0")"

# The QEMU flag for one instruction per block, and check_run (time limit, exit status, stdout
# against expected.txt); the tick and poll-order figures on stderr are shown, not compared.
CHECK_RUN_STDERR='^ticks: '
source ../../scripts/qemu.sh

step() { printf '\n--> async-firmware: %s\n' "$*"; }


step "format, clippy"
cargo fmt --check
cargo clippy -q --release -- -D warnings

mkdir -p target/check
for target_cpu in thumbv7m-none-eabi:cortex-m3 thumbv6m-none-eabi:cortex-m0 \
    thumbv7em-none-eabihf:cortex-m4; do
    target=${target_cpu%%:*} cpu=${target_cpu##*:}
    cargo build -q --release --target "$target" # outside the time limit of the runs
    if [ "$target" = thumbv7m-none-eabi ]; then
        step "cargo run --release (QEMU $cpu)"
        check_run 60 "$target" cargo run -q --release
    else
        step "cargo run --release --target $target (QEMU $cpu)"
        check_run 60 "$target" cargo run -q --release --target "$target"
    fi
    check_run 60 "$target-one-insn-per-block" qemu-system-arm -cpu "$cpu" -machine lm3s6965evb \
        -nographic -semihosting-config enable=on,target=native "${one_insn[@]}" \
        -kernel "target/$target/release/detalloc-async-firmware"
done

step "ok"
