#!/usr/bin/env python3
"""Appends the targets to a loopback results file. Issue 6: each target, PeerRelay's and PeerJS's figure, met or not,
how far off, and the kernel's share of the CPU figures. Issue 17: each target as a ratio to the floor
(shared/floor-relay) from the same run, met or not, how far off, and the gap to the floor split into user and kernel
time."""
import json
import statistics
import sys

import p99_verdict

raw, out = sys.argv[1], sys.argv[2]
runs = {}
by_rep = {}  # (case, server) -> {rep: result}: the paired ratios the p99 is judged from
with open(raw) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        if row["result"] is not None:
            # "server" names the server (older files: only the result's target, the protocol spoken).
            key = (row["case"], row.get("server") or row["result"]["target"])
            runs.setdefault(key, []).append(row["result"])
            by_rep.setdefault(key, {})[row.get("rep", 1)] = row["result"]


def med(case, target, field):
    vals = [r[field] for r in runs.get((case, target), []) if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def num(v, unit="µs"):
    return "–" if v is None else (f"{v:,.0f} {unit}" if abs(v) >= 1000 else f"{v:.1f} {unit}" if unit == "µs" else f"{v:.2f} {unit}")


def kernel(case):
    r, p = med(case, "relay", "serverSystemPerUnitUs"), med(case, "peerjs", "serverSystemPerUnitUs")
    return f"{num(r)} / {num(p)}"


rows = []


def target(what, case, field, limit, unit="µs", against_peerjs=False, kernel_share=True):
    r, p = med(case, "relay", field), med(case, "peerjs", field)
    if r is None:
        return
    bound = p if against_peerjs else limit
    met = bound is not None and r <= bound
    if met:
        off = "met"
    elif bound:
        off = f"**not met**: {num(r - bound, unit)} over ({r / bound:.2f}×)"
    else:
        off = "–"
    rows.append(f"| {what} | {case} | {num(r, unit)} | {num(p, unit)} | {off} | {kernel(case) if kernel_share else '–'} |")


target("server CPU per forwarded message ≤ 10 µs", "forward-10x200", "serverCpuPerUnitUs", 10)
r, p = med("forward-10x200", "relay", "serverCpuPerUnitUs"), med("forward-10x200", "peerjs", "serverCpuPerUnitUs")
if r and p:
    ratio = p / r
    rows.append(f"| … and ≥ 3× less than PeerJS | forward-10x200 | {ratio:.2f}× less | | "
                + ("met" if ratio >= 3 else f"**not met**: PeerRelay would need {p / 3:.1f} µs") + f" | {kernel('forward-10x200')} |")
target("one-hop latency p99 ≤ 100 µs, 1 pair", "forward-1x200", "latencyP99Us", 100, kernel_share=False)
target("one-hop latency p99 no worse than PeerJS, 10 pairs", "forward-10x200", "latencyP99Us", None, against_peerjs=True, kernel_share=False)
target("one-hop latency p99 no worse than PeerJS, 100 pairs", "forward-100x200", "latencyP99Us", None, against_peerjs=True, kernel_share=False)
target("server CPU per connect + register ≤ 50 µs", "connect-10000", "serverCpuPerUnitUs", 50)
target("server CPU per churn cycle ≤ 60 µs", "churn", "serverCpuPerUnitUs", 60)
largest = max((c for (c, t) in runs if c.startswith("connect-")), key=lambda c: int(c.split("-")[1]), default=None)
if largest:
    target("server RSS per idle registered client ≤ 5 KiB", largest, "rssPerClientKiB", 5, unit="KiB", kernel_share=False)
    held = all(r.get("errors", 1) == 0 and r.get("forwardCheck") for r in runs.get((largest, "relay"), []))
    rows.append(f"| {largest.split('-')[1]} idle clients held by one process, forwarding between first and last | {largest} | "
                f"{'yes' if held else 'NO'} | | {'met' if held else '**not met**'} | – |")

def k(case, target):
    v = med(case, target, "serverSystemPerUnitUs")
    return "–" if v is None else f"{v:.0f} µs"


def p50(case, target):
    v = med(case, target, "latencyP50Us")
    return "–" if v is None else f"{v:.0f} µs"


why = [
    "",
    "What the profile shows where a target is missed, and what would close it (profiles: `perf record -g` and",
    "`strace -c` of the pinned server under the same load; details and numbers in `docs/performance.md`):",
    "",
    f"- *CPU per message* (≤ 10 µs, ≥ 3× below PeerJS): the kernel alone spends {k('forward-10x200', 'relay')} per message",
    f"  for PeerRelay and {k('forward-10x200', 'peerjs')} for PeerJS in this run, more than the whole target; PeerRelay's user",
    "  space is the smaller part. Per message the relay makes one `recvfrom` for the frame and one `sendto` (on the epoll",
    "  transport the edge it waits for stands in for the empty `recvfrom` that ends a read elsewhere) and shares an",
    "  `epoll_wait` with the other ready connections; most kernel time is the wake-up of the thread on the",
    "  other CPU (an inter-processor interrupt that exits this Firecracker VM) and the relay's own sleep and wake.",
    "  Closing it needs a machine where a loopback message costs the kernel far less (the issue assumed about 8 µs for",
    "  PeerJS), or batched system calls (`io_uring`, not available to .NET sockets).",
    f"- *p99 at 1 pair* (≤ 100 µs): the median alone is {p50('forward-1x200', 'relay')} for PeerRelay and",
    f"  {p50('forward-1x200', 'peerjs')} for PeerJS: two cross-CPU wake-ups per hop (load generator → relay → load",
    "  generator). Same remedy as above; nothing is left in user space on that path.",
    f"- *CPU per connection* (≤ 50 µs) and *per churn cycle* (≤ 60 µs): kernel alone {k('connect-10000', 'relay')} per",
    f"  connection and {k('churn', 'relay')} per churn cycle (PeerJS {k('connect-10000', 'peerjs')} and {k('churn', 'peerjs')}):",
    "  TCP set-up and tear-down, `accept4`, `epoll_ctl`, `setsockopt`, `close`: the floor's system calls, plus a",
    "  `shutdown`. On the epoll transport the handshake already runs on the loop that accepted the connection (no",
    "  thread-pool wake-up); what is above the floor is the relay's own code per connection (the layers a connection",
    "  passes through: `docs/performance.md`, \"What would close the gaps\"); the kernel part stays.",
    "- *p99 at 10 and 100 pairs* (no worse than PeerJS): both servers' p99 moves by 20–40 % between runs on this",
    "  machine; compare several runs, not one.",
]

issue6 = [
    "## Targets (issue 6)",
    "",
    "Medians of this run. *Kernel* is the server's system CPU per unit (PeerRelay / PeerJS): the part of the CPU figure",
    "that is the kernel's work for the sockets (TCP, wake-ups of the other CPU, sleeping and waking); no change in user",
    "space removes it. Where a target is not met, `docs/performance.md` (\"Where the time goes\", \"What would close the",
    "gaps\") has the profile and what would close it.",
    "",
    "| target | case | PeerRelay | PeerJS | result | kernel µs/unit PR / PJS |",
    "|---|---|---|---|---|---|",
    *rows,
    *why,
]

# --- Issue 17: against the floor (shared/floor-relay) from the same run ---
has_floor = any(s == "floor" for (_, s) in runs)
floor_rows = []


def user(case, server):
    cpu, system = med(case, server, "serverCpuPerUnitUs"), med(case, server, "serverSystemPerUnitUs")
    return None if cpu is None or system is None else cpu - system


def times_floor(v, f):
    return "–" if v is None or not f else f"{v / f:.2f}×"


def floor_target(what, case, field, factor, unit="µs", gap=True):
    """PeerRelay's figure must be at most factor × the floor's."""
    r, f, p = med(case, "relay", field), med(case, "floor", field), med(case, "peerjs", field)
    if r is None:
        return
    if f is None:
        result = "– (floor not run)" if not has_floor else "– (no floor figure)"
    elif r <= factor * f:
        result = "met"
    else:
        result = f"**not met**: {r / f:.2f}× the floor, {num(r - factor * f, unit)} over {factor:g}× (would need ≤ {num(factor * f, unit)})"
    split = "–"
    if gap and f is not None and user(case, "relay") is not None and user(case, "floor") is not None:
        split = f"{num(user(case, 'relay') - user(case, 'floor'))} / {num(med(case, 'relay', 'serverSystemPerUnitUs') - med(case, 'floor', 'serverSystemPerUnitUs'))}"
    floor_rows.append(f"| {what} | {case} | {num(r, unit)} | {num(f, unit)} | {times_floor(r, f)} | {result} "
                      f"| {num(p, unit)} | {times_floor(p, f)} | {split} |")


floor_target("server CPU per forwarded message ≤ 1.1× the floor, 10 pairs", "forward-10x200", "serverCpuPerUnitUs", 1.1)
floor_target("server CPU per forwarded message ≤ 1.1× the floor, 100 pairs", "forward-100x200", "serverCpuPerUnitUs", 1.1)
floor_target("server CPU per forwarded message ≤ 1.2× the floor, 1 pair", "forward-1x200", "serverCpuPerUnitUs", 1.2)


def p99_target(what, case):
    """The p99 against the floor's, judged from the paired ratios of the repetitions (p99_verdict.py), not the medians:
    a window's p99 moves by ±10 % here, so two repetitions cannot tell a server from the floor either way."""
    r, f, p = med(case, "relay", "latencyP99Us"), med(case, "floor", "latencyP99Us"), med(case, "peerjs", "latencyP99Us")
    if r is None:
        return
    def p99s(server):
        return {rep: v["latencyP99Us"] for rep, v in by_rep.get((case, server), {}).items() if v.get("latencyP99Us") is not None}

    met, text = p99_verdict.judge(p99_verdict.paired(p99s("relay"), p99s("floor")))
    if f is None:
        result = "– (floor not run)" if not has_floor else "– (no floor figure)"
    elif met is None:
        result = f"– ({text}; run-loopback.sh --latency-reps {p99_verdict.MIN_PAIRS})"
    else:
        result = ("met: " if met else "**not met**: ") + text
    floor_rows.append(f"| {what} | {case} | {num(r)} | {num(f)} | {times_floor(r, f)} | {result} | {num(p)} | {times_floor(p, f)} | – |")


p99_target("one-hop latency p99 no worse than the floor's, 1 pair", "forward-1x200")
p99_target("one-hop latency p99 no worse than the floor's, 10 pairs", "forward-10x200")
# The issue's figure is at 10,000 clients; a --quick run has only 1,000 (the case column says which).
connects = sorted((c for (c, s) in runs if c.startswith("connect-") and s == "relay"), key=lambda c: int(c.split("-")[1]))
if connects:
    floor_target("server CPU per connect + register ≤ 1.5× the floor",
                 "connect-10000" if "connect-10000" in connects else connects[-1], "serverCpuPerUnitUs", 1.5)
floor_target("server CPU per churn cycle ≤ 1.3× the floor", "churn", "serverCpuPerUnitUs", 1.3)
if connects:
    largest = connects[-1]
    r, f, p = (med(largest, s, "rssPerClientKiB") for s in ("relay", "floor", "peerjs"))
    clients = int(largest.split("-")[1])
    if clients < 19000:
        result = f"– (the target is at 19,000 clients; {clients:,} here)"
    elif r <= 1.5:
        result = "met"
    else:
        result = f"**not met**: {num(r - 1.5, 'KiB')} over"
    floor_rows.append(f"| server RSS per idle registered client ≤ 1.5 KiB at 19,000 | {largest} | {num(r, 'KiB')} | {num(f, 'KiB')} "
                      f"| {times_floor(r, f)} | {result} | {num(p, 'KiB')} | {times_floor(p, f)} | – |")
    held = all(r.get("errors", 1) == 0 and r.get("forwardCheck") for r in runs.get((largest, "relay"), []))
    floor_rows.append(f"| {clients} idle clients held by one process, forwarding between first and last | {largest} | "
                      f"{'yes' if held else 'NO'} | | | {'met' if held else '**not met**'} | | | – |")

issue17 = [
    "## Targets (issue 17): against the floor",
    "",
    "Medians of this run; every figure beside the floor's from the same run (the machine's speed drifts between runs,",
    "so only ratios from one run compare). *Gap to the floor* is PeerRelay's figure minus the floor's, split into user",
    "and kernel (system) CPU per unit: the kernel part is work the floor does not make the kernel do (extra system",
    "calls, wake-ups), the user part is PeerRelay's own code. The p99 is judged from the paired ratios of at least ten",
    "repetitions (`--latency-reps`; `benchmarks/p99_verdict.py`, `docs/performance.md` \"How the p99 is judged\"):",
    "worse than the floor only when the 90 % confidence interval of their median lies wholly above 1.00.",
    "",
    *([] if has_floor else ["**The floor was not run in this run**: no ratios; only the absolute targets are judged.", ""]),
    "| target | case | PeerRelay | floor | PeerRelay ÷ floor | result | PeerJS | PeerJS ÷ floor | gap to the floor µs/unit user / kernel |",
    "|---|---|---|---|---|---|---|---|---|",
    *floor_rows,
]

with open(out) as f:
    text = f.read()
# Run again on the same file: replace the targets sections (each up to the next section), keep the rest.
for marker in ("\n## Targets (issue 6)\n", "\n## Targets (issue 17): against the floor\n"):
    if marker in text:
        start = text.index(marker)
        end = text.find("\n## ", start + len(marker))
        text = text[:start].rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")
# The targets go after the churn table, before "Every run".
section = "\n".join(["", *issue17, "", *issue6]) + "\n"
head, sep, tail = text.partition("\n## Every run\n")
text = head.rstrip("\n") + "\n" + section + sep + tail if sep else text.rstrip("\n") + "\n" + section
with open(out, "w") as f:
    f.write(text)
