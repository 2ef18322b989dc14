#!/usr/bin/env python3
"""The Cortex-M comparison table from what `compare.sh` produces.

    compare.py scan ELF TRACE CALLS        one line per wrapper call in TRACE (QEMU `-d
                                           exec,nochain`, one instruction per block; a FIFO
                                           is fine: read once, front to back) -> CALLS (TSV)
    compare.py report OUT KEY [KEY..]      the Markdown tables, from OUT/calls-KEY.tsv,
                                           OUT/run-KEY.txt (the image's stdout),
                                           OUT/image-KEY (the ELF) and OUT/audit-KEY.md
                                           (detalloc-audit --summary). A KEY is TARGET-LEVEL
                                           (v7m-3, v7m-s, v7em-3): the first gives the full
                                           tables, other thumbv7m keys a summary table each,
                                           a thumbv7em key the rows that differ from thumbv7m
                                           at the same opt-level

Counting (as `examples/firmware/measure.py`): a call runs from the wrapper's first instruction
through its return (the caller's `bl` is not counted); "masked" is the longest run from a
`cpsid i` through the `msr primask` (or `cpsie i`) that ends it, both counted. A call is
*measured* when `measure_next` ran since the previous wrapper call: the n-th measured call is
paired with the n-th `call SUBJECT CASE OP SIZE` line of the image's output. Every other call
(filling, churn, draining) counts in "every call".

Code bytes: the functions reachable by direct calls and branches from the two wrappers of an
allocator, each counted once; panic paths and compiler builtins (memcpy) left out and listed in
OUT/codesize-KEY.txt. The parsing helpers are `examples/firmware/measure.py`'s.

Fails (exit 1) when the labels and the measured calls do not pair up, when a label names
another allocator or operation than the wrapper it is paired with, when a call of a wrapper
the audit calls bounded takes more instructions than its bound, or when a detalloc count
depends on more than the pool and the path: per pool, every free must take one count and every
allocation one count per path (a freed block, a never-used block) at every fill level (a
constant-layout subject, ONE_POOL: in its one pool, and no request of another pool's sizes).
"""

import os
import re
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "firmware"))
# The firmware's parsers, and its code-size walk.
from measure import functions, instructions, reachable, run, tool  # noqa: E402

# (wrapper suffix, the allocator's name in the tables, the crate whose version it names)
SUBJECTS = [
    ("local_lean", "detalloc `local` lean", None),
    ("local_checked", "detalloc `local` stats + validation", None),
    ("cs_lean", "detalloc `critical_section` lean", None),
    ("cs_checked", "detalloc `critical_section` stats + validation", None),
    ("lock_free", "detalloc `lock_free`, stats on", None),
    ("lock_free_lean", "detalloc `lock_free`, stats off", None),
    ("spin", "detalloc `spin`, stats on", None),
    ("local_lean_const64", "detalloc `local` lean, constant 64-byte layout (as `Box::new_in`; "
     "17-64 B requests only)", None),
    ("heapless", "heapless {} object pool (one size: 64 B blocks)", "heapless"),
    ("rlsf", "rlsf {} (TLSF)", "rlsf"),
    ("talc", "talc {}", "talc"),
    ("lla", "linked_list_allocator {}", "linked_list_allocator"),
    ("emb_tlsf", "embedded-alloc {} `TlsfHeap` (rlsf in a critical section)", "embedded-alloc"),
    ("emb_llff", "embedded-alloc {} `LlffHeap` (linked_list_allocator in a critical section)",
     "embedded-alloc"),
]
CASES = [("empty", "empty"), ("half", "half full"), ("nearly-full", "nearly full"),
         ("fragmented", "fragmented")]
MARKER = "measure_next"
POOLS = [16, 64, 256]  # the detalloc heaps' block sizes: a request's pool
# The detalloc subjects with a constant layout: the one pool (its index in POOLS) they serve,
# and the only one their requests may come from.
ONE_POOL = {"local_lean_const64": 1}
DETALLOC = [s for s, _, _ in SUBJECTS if s not in
            ("heapless", "rlsf", "talc", "lla", "emb_tlsf", "emb_llff")]
LEFT_OUT = re.compile(r"(core::panicking|panic|unwrap_failed|expect_failed|_fail$|"
                      r"compiler_builtins|__aeabi|^mem(cpy|move|set|cmp)$)")
BRANCHES = {"b", "bl", "beq", "bne", "bhs", "blo", "bhi", "bls", "bge", "blt", "bgt", "ble",
            "bcs", "bcc", "bmi", "bpl", "bvs", "bvc", "cbz", "cbnz"}


def wrappers():
    for suffix, _, _ in SUBJECTS:
        yield f"fw_alloc_{suffix}"
        yield f"fw_free_{suffix}"


def symbol_addresses(elf, names):
    """Entry address of each named function; fails when one is missing or two share one."""
    found = {}
    for line in run(tool("NM"), elf).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT" and parts[2] in names:
            found[parts[2]] = int(parts[0], 16) & ~1
    missing = set(names) - set(found)
    if missing:
        raise SystemExit(f"{elf}: no symbol {sorted(missing)}")
    if len(set(found.values())) != len(found):
        raise SystemExit(f"{elf}: two wrappers share an address (folded): {found}")
    return found


# ----------------------------------------------------------------------------------------
# scan


def scan(elf, trace, calls_out):
    insn = instructions(elf)
    names = list(wrappers()) + [MARKER]
    addr = symbol_addresses(elf, names)
    entries = {a: n for n, a in addr.items() if n != MARKER}
    marker = addr[MARKER]
    pending = False
    prev = None
    call = None  # [name, return address, count, longest masked, current masked run, marked]
    rows = []
    with open(trace, "rb") as f:
        for line in f:
            slash = line.find(b"/")
            if slash < 0 or not line.startswith(b"Trace"):
                continue
            pc = int(line[slash + 1:slash + 9], 16)
            if call is not None:
                if pc == call[1]:
                    rows.append((call[0], call[2], call[3], call[6], call[5]))
                    call = None
                else:
                    call[2] += 1
                    mnemonic, operands = insn[pc][1], insn[pc][2]
                    if mnemonic == "cpsid":
                        call[4] = 0
                        call[6] = 1
                    if call[4] is not None:
                        call[4] += 1
                    if (mnemonic == "msr" and "primask" in operands) or mnemonic == "cpsie":
                        call[3] = max(call[3], call[4] or 0)
                        call[4] = None
            if call is None:
                if pc == marker:
                    pending = True
                elif pc in entries:
                    length, mnemonic, _ = insn[prev]
                    if mnemonic.split(".")[0] not in ("bl", "blx"):
                        raise SystemExit(f"{entries[pc]} entered from {prev:#x} ({mnemonic}), "
                                         "not a call: its return cannot be found")
                    call = [entries[pc], prev + length, 1, 0, None, int(pending), 0]
                    if insn[pc][1] == "cpsid":
                        call[4], call[6] = 1, 1
                    pending = False
            prev = pc
    if call is not None:
        raise SystemExit(f"the trace ends inside a call of {call[0]}")
    with open(calls_out, "w") as out:
        out.write("wrapper\tinstructions\tmasked\tmasks\tmeasured\n")
        for row in rows:
            out.write("\t".join(str(x) for x in row) + "\n")
    print(f"{len(rows)} wrapper calls, {sum(r[4] for r in rows)} measured", file=sys.stderr)


# ----------------------------------------------------------------------------------------
# report


def versions():
    """Package versions from this crate's Cargo.lock."""
    found, name = {}, None
    for line in open(os.path.join(HERE, "Cargo.lock")):
        m = re.match(r'(name|version) = "(.*)"', line)
        if m and m.group(1) == "name":
            name = m.group(2)
        elif m and name:
            found[name] = m.group(2)
            name = None
    return found


def audit(path):
    """wrapper -> (bound or None, text) from detalloc-audit's summary table."""
    result = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`fw_"):
            name = cells[0].strip("`")
            m = re.match(r"unbounded: (\d+) \+ loop iterations", cells[1])
            if m:
                result[name] = (None, int(m.group(1)), cells[3])
            else:
                result[name] = (int(cells[1]), int(cells[1]), cells[3])
    return result


def load_calls(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            name, count, masked, masks, measured = line.rstrip("\n").split("\t")
            rows.append((name, int(count), int(masked), int(masks), int(measured)))
    return rows


def spread(values):
    """`min / median / max`, or the one value."""
    if not values:
        return "—"
    lo, hi = min(values), max(values)
    if lo == hi:
        return f"{lo}"
    med = statistics.median(values)
    med = int(med) if med == int(med) else med
    return f"{lo} / {med} / {hi}"


def level_data(out, level):
    """Everything the files of one KEY (`level`) say, checked."""
    elf = f"{out}/image-{level}"
    calls = load_calls(f"{out}/calls-{level}.tsv")
    labels = [line.split()[1:] for line in open(f"{out}/run-{level}.txt")
              if line.startswith("call ")]
    measured = [c for c in calls if c[4]]
    if len(measured) != len(labels):
        raise SystemExit(f"{level}: {len(measured)} measured calls, {len(labels)} labels")
    per_case = defaultdict(list)  # (suffix, op, case) -> counts
    per_pool = defaultdict(set)  # (suffix, op, pool, fragmented) -> counts
    for (name, count, _, _, _), (subject, case, op, size) in zip(measured, labels):
        if name != f"fw_{op}_{subject}":
            raise SystemExit(f"{level}: label {subject} {case} {op} paired with {name}")
        per_case[(subject, op, case)].append(count)
        pool = next(i for i, top in enumerate(POOLS) if int(size) <= top)
        per_pool[(subject, op, pool, case == "fragmented")].add(count)
    every = defaultdict(list)
    masked = defaultdict(int)
    masks = defaultdict(bool)
    for name, count, m, mk, _ in calls:
        every[name].append(count)
        masked[name] = max(masked[name], m)
        masks[name] |= bool(mk)
    bounds = audit(f"{out}/audit-{level}.md")
    failures = []
    # detalloc: per pool, a free takes one count and an allocation one per path (a freed block,
    # a never-used one) at every fill level. In the fragmented case every pool's free list holds
    # blocks (its high-water mark is above what is live), so each allocation takes a freed one.
    pools = {}
    for suffix in DETALLOC:
        row = {"reuse": [], "bump": [], "free": []}
        for pool in range(len(POOLS)):
            free = per_pool[(suffix, "free", pool, False)] | per_pool[(suffix, "free", pool, True)]
            reuse = per_pool[(suffix, "alloc", pool, True)]
            bump = per_pool[(suffix, "alloc", pool, False)] - reuse
            if ONE_POOL.get(suffix, pool) != pool:
                if free or reuse or bump:
                    failures.append(f"{level}: {suffix}: requests of pool {POOLS[pool]}, "
                                    f"served from pool {POOLS[ONE_POOL[suffix]]} only")
                for path in row.values():
                    path.append(None)
                continue
            if len(free) != 1 or len(reuse) != 1 or len(bump) > 1:
                failures.append(f"{level}: {suffix} pool {POOLS[pool]}: free {sorted(free)}, "
                                f"alloc of a freed block {sorted(reuse)}, of a never-used block "
                                f"{sorted(bump)}: the count depends on more than pool and path")
                continue
            row["free"].append(min(free))
            row["reuse"].append(min(reuse))
            row["bump"].append(min(bump) if bump else min(reuse))
        pools[suffix] = row
    for name, counts in every.items():
        bound = bounds[name][0]
        if bound is not None and max(counts) > bound:
            failures.append(f"{level}: {name} took {max(counts)} instructions, "
                            f"over its static bound {bound}")
    funcs = functions(elf)
    insn = instructions(elf)
    addr = symbol_addresses(elf, list(wrappers()))
    code = {}
    with open(f"{out}/codesize-{level}.txt", "w") as detail:
        for suffix, _, _ in SUBJECTS:
            roots = [addr[f"fw_alloc_{suffix}"], addr[f"fw_free_{suffix}"]]
            counted, left_out = reachable(funcs, insn, roots, LEFT_OUT, BRANCHES)
            code[suffix] = sum(size for size, _ in counted)
            detail.write(f"{suffix}: {code[suffix]} B\n")
            for size, name in sorted(counted, reverse=True):
                detail.write(f"    {size:5}  {name}\n")
            for size, name in sorted(left_out, reverse=True):
                detail.write(f"    ({size:4}  {name}: not counted)\n")
    notes = [line.strip() for line in open(f"{out}/run-{level}.txt") if line.startswith("note ")]
    return dict(per_case=per_case, pools=pools, every=every, masked=masked, masks=masks,
                bounds=bounds, code=code, failures=failures, notes=notes)


def static_cell(bounds, suffix):
    cells = []
    for op in ("alloc", "free"):
        bound, base, _ = bounds[f"fw_{op}_{suffix}"]
        cells.append(f"{bound}" if bound is not None else f"unbounded: {base} + loops")
    return " / ".join(cells)


def loops_cell(bounds, suffix):
    kinds = set()
    for op in ("alloc", "free"):
        text = bounds[f"fw_{op}_{suffix}"][2]
        if not text.startswith("none"):
            kinds.update(re.sub(r"^\d+ ", "", k.split(" (")[0]) for k in text.split(", "))
    return ", ".join(sorted(kinds)) if kinds else "none"


def masked_cell(d, suffix):
    a, f = f"fw_alloc_{suffix}", f"fw_free_{suffix}"
    if not (d["masks"][a] or d["masks"][f]):
        return "—"
    return f"{d['masked'][a]} / {d['masked'][f]}"


def title(key):
    target, level = key.split("-")
    return {"v7m": "thumbv7m", "v7em": "thumbv7em"}[target] + f", opt-level {level}"


def summary_rows(d, names, only=None):
    for suffix, _, _ in SUBJECTS:
        if only is not None and suffix not in only:
            continue
        print(f"| {names[suffix]} | {spread(d['every'][f'fw_alloc_{suffix}'])} | "
              f"{spread(d['every'][f'fw_free_{suffix}'])} | {d['code'][suffix]} | "
              f"{masked_cell(d, suffix)} | {static_cell(d['bounds'], suffix)} |")


def summary_header(key):
    print(f"| {title(key)}, every call | alloc min / median / max | free min / median / max | "
          "code B | masked, alloc / free | static bound alloc / free |")
    print("|---|---:|---:|---:|---:|---|")


def fingerprint(d, suffix):
    """What the summary table shows of one allocator."""
    return (spread(d["every"][f"fw_alloc_{suffix}"]), spread(d["every"][f"fw_free_{suffix}"]),
            d["code"][suffix], masked_cell(d, suffix), static_cell(d["bounds"], suffix))


def report(out, keys):
    v = versions()
    names = {s: (n.format(v.get(c, "?")) if c else n) for s, n, c in SUBJECTS}
    data = {key: level_data(out, key) for key in keys}
    first = data[keys[0]]
    n_every = {op: len(first["every"][f"fw_{op}_local_lean"]) for op in ("alloc", "free")}
    for op, what in (("alloc", "allocate"), ("free", "free")):
        print(f"| {what}, instructions per call ({title(keys[0])}): min / median / max "
              f"| {' | '.join(c for _, c in CASES)} | every call ({n_every[op]}) |")
        print("|---" + "|---:" * (len(CASES) + 1) + "|")
        for suffix, _, _ in SUBJECTS:
            cells = [spread(first["per_case"][(suffix, op, case)]) for case, _ in CASES]
            cells.append(spread(first["every"][f"fw_{op}_{suffix}"]))
            print(f"| {names[suffix]} | {' | '.join(cells)} |")
        print()
    print(f"| detalloc per pool ({title(keys[0])}), pools 16 / 64 / 256 B | "
          "alloc, a freed block | alloc, a never-used block | free |")
    print("|---|---:|---:|---:|")
    for suffix in DETALLOC:
        row = first["pools"].get(suffix)
        if row and len(row["free"]) == len(POOLS):
            print(f"| {names[suffix]} | " + " | ".join(
                " / ".join("—" if x is None else str(x) for x in row[k])
                for k in ("reuse", "bump", "free")) + " |")
    print()
    print(f"| {title(keys[0])} | code B, alloc + free | masked, alloc / free | "
          "static bound alloc / free (instructions) | loops the audit found | "
          "worst measured alloc / free |")
    print("|---|---:|---:|---|---|---:|")
    for suffix, _, _ in SUBJECTS:
        worst = " / ".join(str(max(first["every"][f"fw_{op}_{suffix}"]))
                           for op in ("alloc", "free"))
        print(f"| {names[suffix]} | {first['code'][suffix]} | {masked_cell(first, suffix)} | "
              f"{static_cell(first['bounds'], suffix)} | {loops_cell(first['bounds'], suffix)} "
              f"| {worst} |")
    for key in keys[1:]:
        d = data[key]
        print()
        target, level = key.split("-")
        base = f"v7m-{level}"
        if target != "v7m" and base in data:
            differ = [s for s, _, _ in SUBJECTS
                      if fingerprint(d, s) != fingerprint(data[base], s)]
            same = [names[s] for s, _, _ in SUBJECTS if s not in differ]
            print(f"{title(key)}: the allocators whose figures differ from "
                  f"{title(base)} ({len(same)} of {len(SUBJECTS)} are identical)")
            print()
            if differ:
                summary_header(key)
                summary_rows(d, names, differ)
        else:
            summary_header(key)
            summary_rows(d, names)
    failures = [f for d in data.values() for f in d["failures"]]
    notes = [f"{key}: {n}" for key, d in data.items() for n in d["notes"]]
    for note in notes:
        print(f"\n{note}")
    if failures:
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    if sys.argv[1] == "scan":
        scan(*sys.argv[2:5])
    elif sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)
