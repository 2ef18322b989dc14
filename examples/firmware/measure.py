#!/usr/bin/env python3
"""Figures from the binaries `measure.sh` builds: code size and instruction counts.

    measure.py codesize OUT LEVEL      sizes from OUT/measure-LEVEL and OUT/size-*-LEVEL
    measure.py icount OUT LEVEL        instruction counts from OUT/trace-LEVEL.log

Code size of one `allocate` + one `deallocate` (runtime layout): the functions reachable by
direct calls and branches from the `#[inline(never)]` wrappers `fw_alloc` + `fw_free`
(`fw_alloc_lean` + `fw_free_lean` for the lean heap), each counted once, panic and
compiler-builtins functions left out (listed). Also the `.text` difference of a minimal
program (examples/size.rs) against the same program with a bump allocator, and the cold
functions (pool audit, counts, reset) that are linked only because the validation path builds
`dyn` pool views, whose vtables name them.
"""

import bisect
import os
import re
import subprocess
import sys

DEFAULT_TOOLS = {"NM": "llvm-nm", "OBJDUMP": "llvm-objdump", "SIZE": "llvm-size"}


def tool(name):
    return os.environ.get(name, DEFAULT_TOOLS[name])


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def demangle(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$u7b$", "{"),
                 ("$u7d$", "}"), ("$RF$", "&"), ("..", "::")):
        name = name.replace(a, b)
    return name.lstrip("_")


def functions(elf):
    """Function symbols: address -> (size, demangled name), and name -> address."""
    by_addr = {}
    for line in run(tool("NM"), "-S", "-C", elf).splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2] in "tT":
            addr, size = int(parts[0], 16) & ~1, int(parts[1], 16)
            if size and addr not in by_addr:
                by_addr[addr] = (size, demangle(parts[3].strip()))
    return by_addr


def instructions(elf):
    """Address -> (byte length, mnemonic, operands)."""
    insn = {}
    for line in run(tool("OBJDUMP"), "-d", elf).splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*(\S+)\s*(.*)", line)
        if m:
            insn[int(m.group(1), 16)] = (len(m.group(2).split()), m.group(3), m.group(4))
    return insn


def text_size(elf):
    for line in run(tool("SIZE"), "-A", elf).splitlines():
        parts = line.split()
        if parts and parts[0] == ".text":
            return int(parts[1])
    raise SystemExit(f"no .text in {elf}")


# What `reachable` leaves out of a code size by default (panics, compiler builtins), and the
# direct branches it follows.
LEFT_OUT = re.compile(r"^(core::panicking|core::result::unwrap_failed|compiler_builtins|__aeabi)")
BRANCHES = {"b", "bl", "beq", "bne", "bhs", "blo", "bhi", "bls", "bge", "blt", "bgt", "ble",
            "bcs", "bcc", "bmi", "bpl", "cbz", "cbnz"}


def reachable(funcs, insn, roots, left_out=LEFT_OUT, branches=BRANCHES):
    """Functions reachable from the entry addresses `roots` by direct branches (`funcs` and
    `insn` as `functions` and `instructions` return them), split into (counted, left out),
    each a list of (size, name); a function whose name `left_out` matches is not followed."""
    starts = sorted(funcs)

    def owner(addr):
        i = bisect.bisect_right(starts, addr)
        if i and addr < starts[i - 1] + funcs[starts[i - 1]][0]:
            return starts[i - 1]
        return None

    todo, seen, counted, omitted = list(roots), set(), [], []
    while todo:
        start = todo.pop()
        if start in seen:
            continue
        seen.add(start)
        size, name = funcs[start]
        if left_out.search(name):
            omitted.append((size, name))
            continue
        counted.append((size, name))
        for addr in range(start, start + size):
            if addr in insn and insn[addr][1].split(".")[0] in branches:
                m = re.search(r"0x([0-9a-f]+)", insn[addr][2])
                if m:
                    target = owner(int(m.group(1), 16))
                    if target is not None and target != start:
                        todo.append(target)
    return counted, omitted


def cold(elf):
    return [(size, name) for size, name in functions(elf).values()
            if re.search(r"Inspect>::(validate|stats|reset)$", name)]


def codesize(out, level):
    measure = f"{out}/measure-{level}"
    base = text_size(f"{out}/size-baseline-{level}")
    print(f"== code size, opt-level {level}")
    for config, roots in (("checked", ["fw_alloc", "fw_free"]),
                          ("lean", ["fw_alloc_lean", "fw_free_lean"])):
        funcs = functions(measure)
        names = {name: addr for addr, (_, name) in funcs.items()}
        counted, left_out = reachable(funcs, instructions(measure), [names[r] for r in roots])
        total = sum(size for size, _ in counted)
        print(f"{config}: one allocate + one deallocate = {total} B")
        for size, name in sorted(counted, reverse=True):
            print(f"    {size:5}  {name}")
        for size, name in sorted(left_out, reverse=True):
            print(f"    ({size:4}  {name}: panic path, not counted)")
        program = f"{out}/size-{config}-{level}"
        heap = text_size(program)
        cold_funcs = cold(program)
        cold_total = sum(size for size, _ in cold_funcs)
        print(f"  examples/size.rs: .text {heap} B, with a bump allocator {base} B: "
              f"+{heap - base} B, of which {cold_total} B validate/stats/reset "
              f"({len(cold_funcs)} functions, linked through the dyn Inspect views)")


def icount(out, level):
    elf = f"{out}/measure-{level}"
    insn = instructions(elf)
    entries = {addr: name for addr, (_, name) in functions(elf).items()
               if name in ("fw_alloc", "fw_free", "fw_alloc_lean", "fw_free_lean", "fw_validate",
                           "fw_validate_pool")}
    pcs = []
    for line in open(f"{out}/trace-{level}.log"):
        m = re.match(r"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/", line)
        if m:
            pcs.append(int(m.group(1), 16))
    labels = [l.split(" ", 1)[1].strip() for l in open(f"{out}/measure-{level}.out")
              if l.startswith(("case ", "audit "))]
    calls = []
    i = 0
    while i < len(pcs):
        if pcs[i] in entries:
            # The call that returns here: usually the instruction before; at opt-level "z" an
            # outlined fragment may reach the entry by a tail branch (`b.w`) after its own `bl`.
            # (`bl`/`blx` only: `bls`, `blt`, `ble` are conditional branches.)
            k = i - 1
            while k > 0 and insn[pcs[k]][1] not in ("bl", "blx"):
                k -= 1
            call_site = pcs[k]
            ret = call_site + insn[call_site][0]
            j = i
            while pcs[j] != ret:
                j += 1
            longest, run_length = 0, None
            for pc in pcs[i:j]:
                mnemonic, operands = insn[pc][1], insn[pc][2]
                if mnemonic == "cpsid":
                    run_length = 0
                if run_length is not None:
                    run_length += 1
                if (mnemonic == "msr" and "primask" in operands) or mnemonic == "cpsie":
                    longest = max(longest, run_length or 0)
                    run_length = None
            calls.append((entries[pcs[i]], j - i, longest))
            i = j
        i += 1
    if len(calls) != len(labels):
        raise SystemExit(f"{len(calls)} wrapper calls in the trace, {len(labels)} labels")
    print(f"== instructions per call, opt-level {level} (QEMU Cortex-M3, one instruction per block)")
    print(f"{'case':<44} {'wrapper':<16} {'instructions':>12} {'masked':>7}")
    for label, (name, count, longest) in zip(labels, calls):
        print(f"{label:<44} {name:<16} {count:>12} {longest:>7}")


if __name__ == "__main__":
    {"codesize": codesize, "icount": icount}[sys.argv[1]](sys.argv[2], sys.argv[3])
