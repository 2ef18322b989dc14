#!/usr/bin/env bash
# The C firmware's check: a Cortex-M3 image whose `main` is C (main.c, startup.c, link.ld),
# linked with newlib-nano and a static library detalloc-c builds for thumbv7m-none-eabi; run
# under QEMU (lm3s6965evb, semihosting) as built and with one instruction per translated
# block; stdout diffed with expected.txt; then det_alloc and det_free audited loop-free within
# their budgets. Needs arm-none-eabi-gcc with newlib (Debian: gcc-arm-none-eabi,
# libnewlib-arm-none-eabi) and qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")"

CHECK=c-firmware CHECK_RUN_STDERR='^ticks during'
source ../../scripts/qemu.sh
command -v arm-none-eabi-gcc >/dev/null || {
    echo "arm-none-eabi-gcc not found: apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi" >&2
    exit 1
}
out=target
mkdir -p "$out"

step "the static library (detalloc-c) for thumbv7m-none-eabi"
cargo run -q --manifest-path ../../Cargo.toml -p detalloc-c -- \
    --heap "fw_heap=[16 x 64, 64 x 32, 256 x 16]" --heap "libc_heap=[16 x 32, 64 x 16, 1024 x 4]" \
    --sync critical_section --keys "validate: true" --malloc libc_heap \
    --target thumbv7m-none-eabi --name detalloc_fw --out "$out/lib"

step "the image: C, newlib-nano, the library"
arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -O2 -g -std=c11 -Wall -Wextra -Werror \
    -ffunction-sections -fdata-sections --specs=nano.specs --specs=rdimon.specs -nostartfiles \
    -T link.ld -Wl,--gc-sections -I"$out/lib" main.c startup.c "$out/lib/libdetalloc_fw.a" \
    -o "$out/c-firmware.elf"

step "under QEMU (Cortex-M3)"
qemu=(qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic
    -semihosting-config enable=on,target=native)
check_run 120 c-firmware "${qemu[@]}" -kernel "$out/c-firmware.elf"
check_run 120 c-firmware-one-insn-per-block "${qemu[@]}" "${one_insn[@]}" -kernel "$out/c-firmware.elf"

step "det_alloc and det_free: loop-free, no table read, within budgets (static audit)"
# Budgets: the longest feasible path (90 and 132 instructions at opt-level "s", two heaps to
# dispatch over) + ~20 % (README, "Static audit").
cargo run -q --manifest-path ../../Cargo.toml -p detalloc-audit -- "$out/c-firmware.elf" \
    --summary --deny-loops --deny-table-reads --symbol det_alloc=108 --symbol det_free=158

step "ok"
