#!/usr/bin/env bash
# The regions example's check: runs it under QEMU's MPS2 AN385 and compares its output with
# expected.txt (every block inside its section's region, the workload, the report, a clean
# audit), then checks the image: `.uninit` and `.psram` are NOBITS (no bytes in the file), and
# the flash image does not grow with the 16 MiB pool.
#
# Needs `qemu-system-arm` and `llvm-readelf`/`llvm-objcopy` (Debian: qemu-system-arm, llvm), and
# the thumbv7m-none-eabi target.
set -euo pipefail
cd "$(dirname "$0")"

# lint, step: scripts/qemu.sh.
CHECK=regions
source ../../scripts/qemu.sh

lint
cargo build -q --release
elf=target/thumbv7m-none-eabi/release/detalloc-regions

out=$(timeout 120 qemu-system-arm -cpu cortex-m3 -machine mps2-an385 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" 2>/dev/null)
if ! diff -u expected.txt <(printf '%s\n' "$out"); then
    echo "regions: the output differs from expected.txt (above)" >&2
    exit 1
fi

for section in .uninit .psram; do
    type=$(llvm-readelf -S "$elf" | awk -v s="$section" '{ for (i = 1; i < NF; i++) if ($i == s) print $(i + 1) }')
    [ "$type" = NOBITS ] || { echo "regions: $section is $type, not NOBITS" >&2; exit 1; }
done
llvm-objcopy -O binary "$elf" target/regions.bin
image=$(stat -c %s target/regions.bin)
psram=$((16#$(llvm-readelf -S "$elf" | awk '{ for (i = 1; i < NF; i++) if ($i == ".psram") print $(i + 4) }')))
echo "regions: .psram holds $psram B of pools (NOBITS); the flash image is $image B"
[ "$image" -lt 1048576 ] || { echo "regions: the flash image grew with the heap" >&2; exit 1; }
