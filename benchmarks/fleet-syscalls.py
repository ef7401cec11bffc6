#!/usr/bin/env python3
"""Counts, per cross-node message, the system calls and context switches of the two relay nodes that carry it
(perf stat tracepoints over 3 s in the middle of a cross-node forward run of run-fleet.py's set-up), for relay
builds side by side, interleaved: how many thread hand-offs (futex) and socket calls a cross-node message costs.

  benchmarks/fleet-syscalls.py [--reps N] NAME=DIR [NAME=DIR ...]     (DIR holds a built peerrelay.dll)

Needs perf (linux-perf) with access to the syscalls tracepoints (root), and what run-fleet.py needs.
"""
import argparse, importlib.util, json, os, subprocess, time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("run_fleet", os.path.join(here, "run-fleet.py"))
rf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rf)
EVENTS = ["context-switches"] + [f"syscalls:sys_enter_{s}" for s in ("futex", "recvfrom", "sendto", "epoll_wait", "read", "write")]


def measure(dll):
    fleet = rf.Fleet(dll, 3)
    try:
        n1, n2 = fleet.procs[0].pid, fleet.procs[1].pid
        load = subprocess.Popen(rf.load_cmd("forward", fleet.url(0), n1, [n2], 8, ["--peer-url", fleet.url(1), "--pairs", "10", "--size", "200"]),
                                stdout=subprocess.PIPE, text=True)
        time.sleep(5)  # set-up and 2 s of warm-up, then 3 s counted inside the 8 s measured window
        stat = subprocess.run(["perf", "stat", "-x", ",", "-e", ",".join(EVENTS), "-p", f"{n1},{n2}", "--", "sleep", "3"], capture_output=True, text=True)
        report = json.loads(load.communicate()[0].strip().splitlines()[-1])
    finally:
        fleet.stop()
    messages = report["unitsPerSecond"] * 3
    counts = {}
    for line in stat.stderr.splitlines():
        parts = line.split(",")
        if len(parts) > 3 and parts[0].replace(".", "").isdigit():
            counts[parts[2].replace("syscalls:sys_enter_", "")] = round(float(parts[0]) / messages, 2)
    return counts | {"msgs_per_s": report["unitsPerSecond"], "p50_us": report["latencyP50Us"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    variants = [v.split("=", 1) for v in a.variants]
    for rep in range(a.reps):
        for name, d in variants[rep % len(variants):] + variants[:rep % len(variants)]:
            print(json.dumps({"variant": name, "rep": rep, "per_message": measure(os.path.join(d, "peerrelay.dll"))}), flush=True)


if __name__ == "__main__":
    main()
