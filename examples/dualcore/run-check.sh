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

if ! command -v qemu-system-arm >/dev/null; then
    echo "qemu-system-arm not found: apt-get install -y qemu-system-arm" >&2
    exit 1
fi

elf=target/thumbv8m.main-none-eabi/release/detalloc-dualcore
qemu=(qemu-system-arm -machine mps2-an521 -nographic -semihosting-config enable=on,target=native)

step() { printf '\n--> dualcore: %s\n' "$*"; }

# Runs a command with a time limit (a hung core keeps QEMU running), then checks its exit
# status, compares its stdout with the expected file and checks that every interleaving
# figure on stderr is not zero.
check_run() { # name, expected file, command...
    local name=$1 expected=$2; shift 2
    local out=target/check/$name.stdout err=target/check/$name.stderr status=0
    timeout 120 "$@" >"$out" 2>"$err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: the firmware exited with status $status" >&2
        cat "$out" "$err" >&2
        exit 1
    fi
    if ! diff -u "$expected" "$out"; then
        echo "$name: the output differs from $expected (above)" >&2
        exit 1
    fi
    local figures
    figures=$(grep -h 'overlapped operations' "$err" || true)
    if [ -z "$figures" ] || grep -Eq '(core [01]|cores:|\+) 0[;,]?( |$)' <<<"$figures"; then
        echo "$name: an interleaving figure is missing or zero: the cores did not contend" >&2
        cat "$err" >&2
        exit 1
    fi
    sed "s/^/$name: /" "$err"
}

step "format, clippy"
cargo fmt --check
cargo clippy -q --release -- -D warnings

cargo build -q --release # outside the time limit of the runs
mkdir -p target/check

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
check_run round-robin expected.txt cargo run -q --release

step "MTTCG, the spin heap only"
check_run mttcg-spin expected-spin.txt "${qemu[@]}" -accel tcg,thread=multi -kernel "$elf" \
    -append spin

step "ok"
