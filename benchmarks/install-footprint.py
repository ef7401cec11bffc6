#!/usr/bin/env python3
"""Start-up time, idle memory, size and per-message CPU of the relay as each way of installing it runs it.

    benchmarks/install-footprint.py --variant NAME=COMMAND [--variant ...] [--size NAME=PATH ...] [--reps N] [--out FILE]

Each COMMAND is a `peerrelay` (e.g. "dotnet src/PeerRelay/bin/Release/net10.0/peerrelay.dll" or a published binary);
it is run as `COMMAND serve --config benchmarks/loopback.toml --host 127.0.0.1 --port 0`. Per repetition, variants in
turn (A B C A B C ...; medians reported):
  start-up     from exec to the "PeerRelay listening on" line
  idle RSS     VmRSS 1 s after that line, no client ever connected
  CPU/message  server CPU per forwarded message (the load generator's `forward --pairs 10 --size 200`, 5 s after a
               2 s warm-up, reading the server's /proc/PID/stat)
  RSS after    VmRSS after that load
Sizes: the bytes under PATH (a file or a folder) for each NAME given with --size.
Needs the load generator built: dotnet build benchmarks/PeerRelay.LoadTest -c Release.
"""
import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD = os.path.join(ROOT, "benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll")
LISTENING = re.compile(r"PeerRelay listening on wss?://\S+:(\d+)")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def size_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def one_run(command):
    args = shlex.split(command) + ["serve", "--config", "benchmarks/loopback.toml", "--host", "127.0.0.1", "--port", "0"]
    started = time.monotonic()
    server = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=dict(os.environ, DOTNET_gcServer="0"))
    try:
        # loopback.toml logs at WARNING; the start-up line is always printed.
        for line in server.stdout:
            match = LISTENING.search(line)
            if match:
                startup = time.monotonic() - started
                port = int(match.group(1))
                break
        else:
            raise RuntimeError(f"{command}: exited {server.wait()} before listening")
        time.sleep(1)
        idle = rss_kib(server.pid)
        load = subprocess.run(
            ["dotnet", LOAD, "forward", "--pairs", "10", "--size", "200", "--warmup", "2", "--seconds", "5",
             "--url", f"ws://127.0.0.1:{port}/", "--server-pid", str(server.pid), "--json-only"],
            cwd=ROOT, capture_output=True, text=True, check=True)
        report = json.loads(load.stdout.strip().splitlines()[-1])
        cpu = next(v for k, v in report.items() if k.lower().replace("_", "") == "servercpuperunitus")
        after = rss_kib(server.pid)
        return {"startup_ms": startup * 1000, "idle_rss_kib": idle, "cpu_per_msg_us": cpu, "rss_after_kib": after}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="NAME=COMMAND")
    parser.add_argument("--size", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out")
    opts = parser.parse_args()
    variants = [v.split("=", 1) for v in opts.variant]
    results = {name: [] for name, _ in variants}
    for rep in range(opts.reps):
        for name, command in variants:
            r = one_run(command)
            results[name].append(r)
            print(f"rep {rep + 1} {name}: {json.dumps(r)}", file=sys.stderr, flush=True)

    keys = [("startup_ms", "start-up (ms)", "{:.0f}"), ("idle_rss_kib", "idle RSS (MiB)", None),
            ("rss_after_kib", "RSS after load (MiB)", None), ("cpu_per_msg_us", "server CPU per message (µs)", "{:.2f}")]
    base = variants[0][0]
    medians = {name: {k: statistics.median(r[k] for r in runs) for k, _, _ in keys} for name, runs in results.items()}
    sizes = dict(s.split("=", 1) for s in opts.size)
    lines = [
        f"# The relay as each way of installing it runs it ({datetime.now(timezone.utc):%Y-%m-%d})",
        "",
        f"`benchmarks/install-footprint.py` — {opts.reps} interleaved repetitions, medians; ratios against `{base}`.",
        f"Machine: {os.cpu_count()} cores shared with other work (`{' '.join(os.uname()[2:3])}`); figures are for comparison",
        "between the builds, not absolute.",
        "",
        "Commands:",
        "",
    ]
    lines += [f"- `{name}`: `{command} serve --config benchmarks/loopback.toml --host 127.0.0.1 --port 0`" for name, command in variants]
    lines += ["", "| | " + " | ".join(name for name, _ in variants) + " |", "| --- |" + " --- |" * len(variants)]
    if sizes:
        row = [f"{size_bytes(sizes[name]) / 1048576:.1f} MiB" if name in sizes else "" for name, _ in variants]
        lines.append("| size on disk | " + " | ".join(row) + " |")
    for key, label, fmt in keys:
        cells = []
        for name, _ in variants:
            value = medians[name][key]
            text = f"{value / 1024:.1f}" if fmt is None else fmt.format(value)
            if name != base and medians[base][key]:
                text += f" ({value / medians[base][key]:.2f}×)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Raw runs (JSON per repetition):", "", "```"]
    lines += [f"{name}: {json.dumps(runs)}" for name, runs in results.items()]
    lines += ["```", ""]
    text = "\n".join(lines)
    print(text)
    if opts.out:
        with open(opts.out, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
