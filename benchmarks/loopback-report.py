#!/usr/bin/env python3
"""Turns the JSON lines of run-loopback.sh into the side-by-side Markdown results file."""
import argparse
import json
import os
import statistics
import subprocess

p = argparse.ArgumentParser()
p.add_argument("raw")
p.add_argument("out")
for name in ("started", "finished", "reps", "note", "relay-cmd", "peerjs-cmd", "load-cmd", "peerjs-version", "cases"):
    p.add_argument("--" + name, default="")
a = p.parse_args()


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001 - best effort machine description
        return f"({e})"


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
        key = (row["case"], r["target"])
        if row["case"] not in order:
            order.append(row["case"])
        runs.setdefault(key, []).append(r)


def med(case, target, field):
    vals = [r.get(field) for r in runs.get((case, target), []) if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def errors(case, target):
    return sum(r.get("errors", 0) for r in runs.get((case, target), []))


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


lines = []
w = lines.append
w(f"# Loopback benchmark: PeerRelay and the PeerJS server, side by side")
w("")
w(f"Run {a.started} to {a.finished} (UTC) with `benchmarks/run-loopback.sh`; {a.reps} interleaved repetitions "
  "(A B, then B A, ...) of every case, each on a freshly started server; figures are medians.")
if a.note:
    w("")
    w(f"**Note:** {a.note}")
w("")
w("Server pinned to CPU 0, load generator to CPU 1 (`taskset`). *CPU/unit* is the server's user+system CPU time "
  "(from `/proc/PID/stat`) divided by the units of work done in the measured window: the primary figure. "
  "Ratios are PeerJS ÷ PeerRelay (above 1: PeerRelay better).")
w("")
w("## Forwarding (closed loop: each pair has one message in flight)")
w("")
w("| case | CPU/msg µs PeerRelay | PeerJS | ratio | of which kernel µs (PR / PJS) | msgs/s PR | PJS | p50 µs PR | PJS | p99 µs PR | PJS | max µs PR | PJS | errors PR/PJS |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for c in order:
    if not c.startswith("forward"):
        continue
    g = lambda t, f: med(c, t, f)  # noqa: E731
    w(f"| {c} | **{fmt(g('relay','serverCpuPerUnitUs'),2)}** | {fmt(g('peerjs','serverCpuPerUnitUs'),2)} | {ratio(g('relay','serverCpuPerUnitUs'), g('peerjs','serverCpuPerUnitUs'))} "
      f"| {fmt(g('relay','serverSystemPerUnitUs'),2)} / {fmt(g('peerjs','serverSystemPerUnitUs'),2)} "
      f"| {fmt(g('relay','unitsPerSecond'),0)} | {fmt(g('peerjs','unitsPerSecond'),0)} "
      f"| {fmt(g('relay','latencyP50Us'))} | {fmt(g('peerjs','latencyP50Us'))} | {fmt(g('relay','latencyP99Us'))} | {fmt(g('peerjs','latencyP99Us'))} "
      f"| {fmt(g('relay','latencyMaxUs'),0)} | {fmt(g('peerjs','latencyMaxUs'),0)} | {errors(c,'relay')}/{errors(c,'peerjs')} |")
w("")
w("## Connecting and holding idle registered clients")
w("")
w("| case | CPU/registration µs PeerRelay | PeerJS | ratio | registrations/s PR | PJS | RSS/client KiB PR | PJS | RSS after MiB PR | PJS | forwarding after (PR/PJS) | errors PR/PJS |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|")
for c in order:
    if not c.startswith("connect"):
        continue
    g = lambda t, f: med(c, t, f)  # noqa: E731
    chk = lambda t: all(r.get("forwardCheck") for r in runs.get((c, t), [])) if runs.get((c, t)) else None  # noqa: E731
    rss = lambda t: (g(t, "rssAfterKiB") or 0) / 1024 if g(t, "rssAfterKiB") else None  # noqa: E731
    w(f"| {c} | **{fmt(g('relay','serverCpuPerUnitUs'))}** | {fmt(g('peerjs','serverCpuPerUnitUs'))} | {ratio(g('relay','serverCpuPerUnitUs'), g('peerjs','serverCpuPerUnitUs'))} "
      f"| {fmt(g('relay','unitsPerSecond'),0)} | {fmt(g('peerjs','unitsPerSecond'),0)} "
      f"| **{fmt(g('relay','rssPerClientKiB'),2)}** | {fmt(g('peerjs','rssPerClientKiB'),2)} | {fmt(rss('relay'))} | {fmt(rss('peerjs'))} "
      f"| {fmt(chk('relay'))} / {fmt(chk('peerjs'))} | {errors(c,'relay')}/{errors(c,'peerjs')} |")
w("")
w("## Churn (connect, register, forward one message, close with the handshake)")
w("")
w("| case | CPU/cycle µs PeerRelay | PeerJS | ratio | cycles/s PR | PJS | errors PR/PJS |")
w("|---|---|---|---|---|---|---|")
for c in order:
    if not c.startswith("churn"):
        continue
    g = lambda t, f: med(c, t, f)  # noqa: E731
    w(f"| {c} | **{fmt(g('relay','serverCpuPerUnitUs'))}** | {fmt(g('peerjs','serverCpuPerUnitUs'))} | {ratio(g('relay','serverCpuPerUnitUs'), g('peerjs','serverCpuPerUnitUs'))} "
      f"| {fmt(g('relay','unitsPerSecond'),0)} | {fmt(g('peerjs','unitsPerSecond'),0)} | {errors(c,'relay')}/{errors(c,'peerjs')} |")
w("")
w("## Every run")
w("")
w("Each cell: the values of the repetitions in order (CPU/unit µs).")
w("")
w("| case | PeerRelay | PeerJS |")
w("|---|---|---|")
for c in order:
    cell = lambda t: ", ".join(fmt(r.get("serverCpuPerUnitUs"), 2) for r in runs.get((c, t), []))  # noqa: E731
    w(f"| {c} | {cell('relay')} | {cell('peerjs')} |")
w("")
w("## Commands")
w("")
w("```")
w("benchmarks/run-loopback.sh --reps " + str(a.reps))
w("# PeerRelay:  " + a.relay_cmd)
w("# PeerJS:     " + a.peerjs_cmd)
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
