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

# check_cores, lint: scripts/qemu.sh. The tick and poll-order figures on stderr are shown, not
# compared.
CHECK=async-firmware CHECK_RUN_STDERR='^ticks: '
source ../../scripts/qemu.sh

lint
check_cores 60 detalloc-async-firmware

step "ok"
