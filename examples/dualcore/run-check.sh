#!/usr/bin/env bash
# The dual-core example's check: runs src/main.rs on both Cortex-M33 cores of QEMU's
# mps2-an521 and compares its output with expected.txt / expected-spin.txt. Installs nothing;
# needs `qemu-system-arm` (Debian: `apt-get install -y qemu-system-arm`) and the
# thumbv8m.main-none-eabi target of the pinned toolchain; uses llvm-objdump if it finds one
# (`rustup component add llvm-tools`, or the system's). Takes well under a minute once built.
#
# - format and clippy (-D warnings);
# - each LDREX..STREX window of a lock-free pop (the windows that load between the two) lies
#   inside one 1 KiB page: QEMU's M-profile page size, at which it ends a translation block;
#   round-robin TCG switches cores only between blocks (skipped with a note without
#   llvm-objdump);
# - `cargo run --release`: round-robin TCG (`-accel tcg,thread=single`), both heaps: exit
#   status 0, stdout identical to expected.txt, and on stderr the overlapping operations and
#   the blocks handed over between the cores not zero;
# - MTTCG (`-accel tcg,thread=multi`: the two cores on two host threads, at the same time),
#   the spin heap only (`-append spin`): the same checks against expected-spin.txt. Not the
#   lock-free heap: QEMU's STREX is a compare-and-swap, so under MTTCG a pop can complete
#   across an ABA that real hardware's exclusive monitor forbids (README, "Dual-core").
set -euo pipefail
cd "$(dirname "$0")"

# check_run (time limit, exit status, stdout against the expected file; every stderr line
# shown), lint, step: scripts/qemu.sh.
CHECK=dualcore CHECK_RUN_STDERR=.
source ../../scripts/qemu.sh

elf=target/thumbv8m.main-none-eabi/release/detalloc-dualcore
qemu=(qemu-system-arm -machine mps2-an521 -nographic -semihosting-config enable=on,target=native)

# After check_run NAME: every interleaving figure on the run's stderr is there and not zero.
contended() { # name
    local figures
    figures=$(grep -h 'overlapped operations' "target/check/$1.stderr" || true)
    if [ -z "$figures" ] || grep -Eq '(core [01]|cores:|\+) 0[;,]?( |$)' <<<"$figures"; then
        echo "$1: an interleaving figure is missing or zero: the cores did not contend" >&2
        cat "target/check/$1.stderr" >&2
        exit 1
    fi
}

lint
cargo build -q --release # outside the time limit of the runs

step "lock-free pop windows within one 1 KiB page"
objdump=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-objdump 2>/dev/null | head -n 1 || true)
objdump=${objdump:-$(command -v llvm-objdump || true)}
if [ -z "$objdump" ]; then
    echo "no llvm-objdump (rustup component add llvm-tools): window check skipped"
else
    # Prints "start end" (hex) for each LDREX..STREX window with a load inside.
    windows=$("$objdump" -d --no-show-raw-insn "$elf" | awk '
        /\tldrex\t/ { start = $1; open = 1; load = 0; next }
        open && /\tldr/ { load = 1 }
        open && /\tstrex\t/ { open = 0; if (load) print start, $1 }' | tr -d ':')
    count=0
    while read -r start end; do
        count=$((count + 1))
        if (((16#$start >> 10) != ((16#$end + 3) >> 10))); then
            echo "the pop window at 0x$start..0x$end straddles a 1 KiB page: QEMU splits it" >&2
            echo "into two translation blocks, and round-robin TCG may switch cores inside it" >&2
            echo "(move the code, e.g. by changing TICK_CYCLES, and regenerate expected.txt)" >&2
            exit 1
        fi
    done <<<"$windows"
    if [ "$count" -eq 0 ]; then
        echo "no LDREX..STREX window with a load found in $elf" >&2
        exit 1
    fi
    echo "$count windows, each within one page"
fi

step "cargo run --release (round-robin TCG, both heaps)"
check_run 120 round-robin cargo run -q --release
contended round-robin

step "MTTCG, the spin heap only"
CHECK_RUN_EXPECTED=expected-spin.txt check_run 120 mttcg-spin "${qemu[@]}" \
    -accel tcg,thread=multi -kernel "$elf" -append spin
contended mttcg-spin

step "ok"
