#!/usr/bin/env python3
"""Turns the JSON lines of run-tls.sh into the Markdown results file: per case the medians of every deployment
(floor+nginx, relay-tls, relay+nginx and the plain floor), each also as a ratio to floor+nginx of the same run."""
import argparse
import json
import os
import statistics
import subprocess

p = argparse.ArgumentParser()
p.add_argument("raw")
p.add_argument("out")
for name in ("started", "finished", "reps", "note", "invocation", "key", "negotiated", "nginx-version",
             "openssl-version", "servers", "floor-status", "relay-env"):
    p.add_argument("--" + name, default="")
a = p.parse_args()

DESCRIBE = {
    "floor+nginx": "the floor (C, ws://) behind nginx terminating TLS",
    "relay-tls": "`peerrelay serve` terminating TLS itself (PEM `certfile`/`keyfile`)",
    "relay+nginx": "`peerrelay serve` (ws://, `trusted_proxies`) behind the same nginx",
    "floor": "the floor on plain ws:// (no TLS): what TLS adds, by difference",
}
BASE = "floor+nginx"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001 - best effort machine description
        return f"({e})"


servers = a.servers.split()
rows = [json.loads(line) for line in open(a.raw) if line.strip()]
cases = list(dict.fromkeys(r["case"] for r in rows))


def values(case, server, field, index=None):
    out = []
    for r in rows:
        res = r["result"]
        if r["case"] != case or r["server"] != server or not res or res.get(field) is None:
            continue
        v = res[field]
        out.append(v[index] if index is not None else v)
    return out


def med(case, server, field, index=None):
    vals = values(case, server, field, index)
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


FIGURES = [
    ("serverCpuPerUnitUs", None, "server CPU per unit (µs), every process of the deployment", 1, None),
    ("alsoCpuPerUnitUs", 0, "  of which nginx's worker (µs)", 1, None),
    ("serverSystemPerUnitUs", None, "  of which kernel (µs)", 1, None),
    ("unitsPerSecond", None, "units/s (load generator bound)", 0, None),
    ("latencyP50Us", None, "one hop p50 (µs)", 0, "forward"),
    ("latencyP99Us", None, "one hop p99 (µs)", 0, "forward"),
    ("rssPerClientKiB", None, "RSS per idle registered client (KiB), every process", 2, "connect"),
]
UNIT = {"connect": "TLS handshake + registration", "forward": "forwarded message", "churn": "cycle (TLS connect, register, forward, close)"}

lines = []
w = lines.append
w(f"# wss:// deployments side by side: the floor behind nginx, PeerRelay terminating TLS, PeerRelay behind nginx ({a.started[:10]})")
w("")
w(f"- Command: `{a.invocation}`" + (f" — {a.note}" if a.note else ""))
w(f"- Run: {a.started} – {a.finished} UTC, {a.reps} interleaved repetitions (order rotated), medians; commit "
  f"{sh('git rev-parse --short HEAD')}{' (with uncommitted changes)' if sh('git status --porcelain --untracked-files=no') else ''}")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
w(f"- Machine: {sh('nproc')} × {cpu}, "
  f"{sh('uname -r')}, .NET {sh('dotnet --version')}; deployment pinned to CPU 0, load generator to CPU 1")
w(f"- {a.nginx_version}; {a.openssl_version}; certificate: throwaway "
  f"{'ECDSA P-256' if a.key == 'ec' else 'RSA 2048'} (openssl req -x509), trusted by the load generator with `--ca`")
w(f"- PeerRelay: `peerrelay serve --config benchmarks/loopback.toml` (Release), "
  + (f"with `{a.relay_env.strip()}`" if a.relay_env.strip() else "its default settings (socket transport: the platform's default)")
  + "; relay-tls adds `certfile`/`keyfile`, relay+nginx `host = 127.0.0.1` and `trusted_proxies = [\"127.0.0.1\"]`")
w(f"- The floor: {a.floor_status}")
w("- TLS negotiated (openssl s_client with the machine's defaults, as .NET's client uses them; and nginx's access log "
  "of the load generator's own connections):")
negotiated = dict(line.split("\t", 1) for line in a.negotiated.splitlines() if "\t" in line)
for s in servers:
    if s in negotiated:
        w(f"  - {s}: {negotiated[s]}")
logs = [r for r in rows if r.get("nginxLog")]
if logs:
    conns = sum(r["nginxLog"]["connections"] for r in logs)
    resumed = sum(r["nginxLog"]["resumed"] for r in logs)
    kinds = {}
    for r in logs:
        for k in r["nginxLog"]["tls"]:
            name, n = k.rsplit(": ", 1)
            kinds[name] = kinds.get(name, 0) + int(n)
    w(f"  - nginx logged {conns:,} connections of the load generator (warm-ups included), {resumed:,} of them on a "
      f"resumed session; " + ", ".join(f"{k} ({n:,})" for k, n in sorted(kinds.items(), key=lambda x: -x[1])))
w("")
w("Deployments:")
w("")
for s in servers:
    w(f"- **{s}**: {DESCRIBE.get(s, s)}")
w("")
w("Server CPU is user + system time from `/proc/PID/stat` of every process of the deployment (nginx master and worker, "
  "the relay or the floor), over the measured window, divided by the units done in it. Ratios are to "
  f"**{BASE}** of the same run (1.00× is it; for a cost lower is better).")
w("")
for case in cases:
    kind = case.split("-")[0]
    w(f"## {case}: per {UNIT.get(kind, 'unit')}")
    w("")
    others = [s for s in servers if s != BASE]
    w("| figure | " + " | ".join(servers) + " | " + " | ".join(f"{s} ÷ {BASE}" for s in others if s != "floor") + " |")
    w("|---|" + "---|" * (len(servers) + len([s for s in others if s != "floor"])))
    for field, index, label, digits, only in FIGURES:
        if only and only != kind:
            continue
        meds = {s: med(case, s, field, index) for s in servers}
        if all(v is None for v in meds.values()):
            continue
        cells = [fmt(meds[s], digits) for s in servers]
        ratios = []
        for s in others:
            if s == "floor":
                continue
            b, v = meds.get(BASE), meds[s]
            ratios.append("–" if v is None or not b else f"{v / b:.2f}×")
        w(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    errs = {s: sum(r["result"].get("errors", 0) for r in rows if r["case"] == case and r["server"] == s and r["result"]) for s in servers}
    failed = {s: sum(1 for r in rows if r["case"] == case and r["server"] == s and not r["result"]) for s in servers}
    w("")
    w("Errors: " + ", ".join(f"{s} {errs[s]}" + (f" ({failed[s]} runs without a result)" if failed[s] else "") for s in servers)
      + ". Every run's server CPU per unit: " + "; ".join(
          f"{s} " + ", ".join(fmt(v) for v in values(case, s, "serverCpuPerUnitUs")) for s in servers) + ".")
    w("")

# What TLS adds, by difference with the plain floor of the same run.
if "floor" in servers:
    w("## What TLS adds per unit (deployment − plain floor, µs of server CPU)")
    w("")
    w("| case | " + " | ".join(s for s in servers if s != "floor") + " |")
    w("|---|" + "---|" * (len(servers) - 1))
    for case in cases:
        f = med(case, "floor", "serverCpuPerUnitUs")
        cells = []
        for s in servers:
            if s == "floor":
                continue
            v = med(case, s, "serverCpuPerUnitUs")
            cells.append("–" if v is None or f is None else fmt(v - f))
        w(f"| {case} | " + " | ".join(cells) + " |")
    w("")

w(f"Raw lines: `{os.path.relpath(a.raw)}`.")
open(a.out, "w").write("\n".join(lines) + "\n")
