#!/usr/bin/env python3
"""Turns the JSON lines of run-loopback.sh into the side-by-side Markdown results file: PeerRelay, the PeerJS server
and the floor (shared/floor-relay), every PeerRelay and PeerJS figure also as a ratio to the floor's from the same run."""
import argparse
import json
import os
import statistics
import subprocess

p = argparse.ArgumentParser()
p.add_argument("raw")
p.add_argument("out")
for name in ("started", "finished", "reps", "latency-reps", "note", "relay-cmd", "peerjs-cmd", "floor-cmd", "floor-status", "invocation",
             "load-cmd", "peerjs-version", "cases"):
    p.add_argument("--" + name, default="")
a = p.parse_args()


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001 - best effort machine description
        return f"({e})"


SERVERS = ("relay", "peerjs", "floor")
runs = {}
order = []
with open(a.raw) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        r = row["result"]
        if r is None:
            continue
        if r.get("rssAfterKiB") is not None:
            r["rssAfterMiB"] = r["rssAfterKiB"] / 1024
        # "server" names the server (older files: only the result's target, the protocol spoken).
        key = (row["case"], row.get("server") or r["target"])
        if row["case"] not in order:
            order.append(row["case"])
        runs.setdefault(key, []).append(r)
has_floor = any(s == "floor" for (_, s) in runs)


def med(case, server, field):
    vals = [r.get(field) for r in runs.get((case, server), []) if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def errors(case):
    return "/".join(str(sum(r.get("errors", 0) for r in runs.get((case, s), []))) if runs.get((case, s)) else "–"
                    for s in SERVERS)


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(r, p, lower_is_better=True):
    if r is None or p is None or r == 0 or p == 0:
        return "–"
    return f"{(p / r) if lower_is_better else (r / p):.2f}×"


def cells(case, field, digits, bold=False):
    """PeerRelay's, PeerJS's and the floor's median; PeerRelay's and PeerJS's with their ratio to the floor."""
    floor = med(case, "floor", field)
    out = []
    for s in SERVERS:
        v = med(case, s, field)
        text = fmt(v, digits)
        if bold and s == "relay" and v is not None:
            text = f"**{text}**"
        if s != "floor" and v is not None and floor:
            text += f" ({v / floor:.2f}×)"
        out.append(text)
    return out


def table(prefix, metrics, extra=()):
    """metrics: (heading, field, digits); the first is the primary figure, followed by PeerJS ÷ PeerRelay.
    extra: (heading, function of the case giving one cell per server)."""
    head = ["case"]
    for i, (title, _, _) in enumerate(metrics):
        head += [f"{title} PeerRelay" if i == 0 else f"{title} PR", "PeerJS" if i == 0 else "PJS", "floor"]
        if i == 0:
            head.append("PJS ÷ PR")
    for title, _ in extra:
        head += [f"{title} PR", "PJS", "floor"]
    head.append("errors PR/PJS/floor")
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for c in order:
        if not c.startswith(prefix):
            continue
        row = [c]
        for i, (_, field, digits) in enumerate(metrics):
            row += cells(c, field, digits, bold=i == 0)
            if i == 0:
                row.append(ratio(med(c, "relay", field), med(c, "peerjs", field)))
        for _, fn in extra:
            row += [fn(c, s) for s in SERVERS]
        row.append(errors(c))
        w("| " + " | ".join(row) + " |")


lines = []
w = lines.append
w("# Loopback benchmark: PeerRelay, the PeerJS server and the floor, side by side")
w("")
w(f"Run {a.started} to {a.finished} (UTC) with `benchmarks/run-loopback.sh`; {a.reps} interleaved repetitions "
  "(the order of the servers rotated each repetition: A B C, B C A, ...) of every case, each on a freshly started "
  "server; figures are medians.")
if a.latency_reps and a.latency_reps != "0":
    w("")
    w(f"The two cases the p99 target is judged on, forward-1x200 and forward-10x200, ran {a.latency_reps} repetitions for "
      "PeerRelay and the floor (`--latency-reps`): their figures are medians of those, and the target is judged from "
      "the paired ratios (the targets section below).")
if a.note:
    w("")
    w(f"**Note:** {a.note}")
w("")
w("Server pinned to CPU 0, load generator to CPU 1 (`taskset`). *CPU/unit* is the server's user+system CPU time "
  "(from `/proc/PID/stat`) divided by the units of work done in the measured window: the primary figure. "
  "*PJS ÷ PR* is PeerJS ÷ PeerRelay (above 1: PeerRelay better).")
w("")
if has_floor:
    w("The **floor** is `shared/floor-relay`, a minimal single-threaded C epoll relay (no TLS, no auth, no limits; "
      "forwards the client's bytes unchanged): what the kernel alone costs per unit on this machine. It speaks the "
      "relay protocol, so the load generator drives it exactly as PeerRelay. Beside each PeerRelay and PeerJS figure, "
      "in brackets, that figure ÷ the floor's from this run (for a cost, above 1 is above the floor; for a rate, "
      f"below 1 is slower). Floor: {a.floor_status or 'run'}.")
else:
    w(f"**The floor was not run** ({a.floor_status or 'no floor figures in the results'}): no ratios to the floor "
      "in this file.")
w("")
w("## Forwarding (closed loop: each pair has one message in flight)")
w("")
table("forward", [("CPU/msg µs", "serverCpuPerUnitUs", 2), ("of which kernel µs", "serverSystemPerUnitUs", 2),
                  ("msgs/s", "unitsPerSecond", 0), ("p50 µs", "latencyP50Us", 1), ("p99 µs", "latencyP99Us", 1),
                  ("max µs", "latencyMaxUs", 0)])
w("")
w("## Connecting and holding idle registered clients")
w("")


def forwarding_after(case, server):
    rs = runs.get((case, server))
    return fmt(all(r.get("forwardCheck") for r in rs)) if rs else "–"


table("connect", [("CPU/registration µs", "serverCpuPerUnitUs", 1), ("registrations/s", "unitsPerSecond", 0),
                  ("RSS/client KiB", "rssPerClientKiB", 2), ("RSS after MiB", "rssAfterMiB", 1)],
      extra=[("forwarding after", forwarding_after)])
w("")
w("## Churn (connect, register, forward one message, close with the handshake)")
w("")
table("churn", [("CPU/cycle µs", "serverCpuPerUnitUs", 1), ("cycles/s", "unitsPerSecond", 0)])
w("")
w("## Every run")
w("")
w("Each cell: the values of the repetitions in order (CPU/unit µs).")
w("")
w("| case | PeerRelay | PeerJS | floor |")
w("|---|---|---|---|")
for c in order:
    cell = lambda s: ", ".join(fmt(r.get("serverCpuPerUnitUs"), 2) for r in runs.get((c, s), []))  # noqa: E731
    w(f"| {c} | {cell('relay')} | {cell('peerjs')} | {cell('floor')} |")
w("")
w("## Commands")
w("")
w("```")
w(a.invocation or "benchmarks/run-loopback.sh --reps " + str(a.reps))
w("# PeerRelay:  " + a.relay_cmd)
w("# PeerJS:     " + a.peerjs_cmd)
w("# floor:      " + (a.floor_cmd if has_floor else "not run"))
w("# load:       " + a.load_cmd)
w("# cases (name|load generator arguments):")
for line in a.cases.splitlines():
    w("#   " + line)
w("```")
w("")
w("## Versions and machine")
w("")
w("```")
w("PeerRelay commit: " + sh("git rev-parse --short HEAD") + (" (with uncommitted changes)" if sh("git status --porcelain -- src benchmarks ':!benchmarks/results'") else ""))
w("PeerJS server:    peer@" + a.peerjs_version + ", node " + sh("node --version"))
w("floor:            " + (a.floor_status or "–"))
w("dotnet:           " + sh("dotnet --version") + "; " + " ".join(sh("dotnet --info | grep -E 'RID|OS Name|OS Version'").split()))
w("kernel:           " + sh("uname -srm"))
w("load average:     " + sh("cat /proc/loadavg"))
w("open files:       soft " + sh("ulimit -Sn") + ", hard " + sh("ulimit -Hn"))
w(sh("lscpu | grep -E 'Model name|^CPU\\(s\\)|Thread|Core|Socket|MHz|Hypervisor|L1d|L2|L3'"))
w(sh("free -m | head -2"))
w("```")
os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
with open(a.out, "w") as f:
    f.write("\n".join(lines) + "\n")
