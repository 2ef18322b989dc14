#!/usr/bin/env bash
# The C API tested from C on the host (the system `cc`), with libraries built by detalloc-c:
# - detalloc.h compiles as C99, C11 and C++11 with -Wall -Wextra -Werror -pedantic
#   (header_check.c, every function and macro used);
# - host_test.c on a library with three heaps: the README's example, the model test's
#   invariants, every bad free's code, realloc/calloc, stats, report, strings;
# - ports_test.c on a library whose heap is also malloc and FreeRTOS's heap: the drop-ins'
#   contracts (the whole process's malloc is then detalloc's).
# Prints each program's output. Needs cc and c++.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/c-host
flags=(-Wall -Wextra -Werror -pedantic)

echo "--> C API: detalloc.h as C99, C11, C++11"
cc -std=c99 "${flags[@]}" -fsyntax-only -Idetalloc/include tests/c/header_check.c
cc -std=c11 "${flags[@]}" -fsyntax-only -Idetalloc/include tests/c/header_check.c
c++ -std=c++11 "${flags[@]}" -Wold-style-cast -fsyntax-only -x c++ -Idetalloc/include tests/c/header_check.c

echo "--> C API: host tests (three heaps)"
cargo run -q -p detalloc-c -- --heap "det_heap=[16 x 64, 64 x 32, 256 x 16]" \
    --heap "audio_heap=[16 x 32, 64 x 16, 256 x 8]" \
    --heap "net_heap=[32 x 8, 1536 x 2]" --sync spin --keys "validate: true" \
    --name detalloc_test --out "$out/api" | tee "$out-api.txt"
native=$(sed -n 's/^link: .*\.a //p' "$out-api.txt")
# shellcheck disable=SC2086
cc -std=c99 "${flags[@]}" -I"$out/api" tests/c/host_test.c "$out/api/libdetalloc_test.a" \
    $native -o "$out/host_test"
"$out/host_test"

echo "--> C API: malloc and FreeRTOS ports"
cargo run -q -p detalloc-c -- --heap "sys_heap=[16 x 256, 64 x 64, 256 x 32, 4096 x 8]" \
    --sync spin --keys "validate: true" --malloc sys_heap --freertos sys_heap \
    --name detalloc_ports --out "$out/ports" | tee "$out-ports.txt"
native=$(sed -n 's/^link: .*\.a //p' "$out-ports.txt")
# shellcheck disable=SC2086
cc -std=c11 "${flags[@]}" -I"$out/ports" tests/c/ports_test.c "$out/ports/libdetalloc_ports.a" \
    $native -o "$out/ports_test"
"$out/ports_test"
