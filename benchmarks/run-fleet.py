#!/usr/bin/env python3
"""Fleet benchmark (issue 14): cross-node forwarding beside same-node forwarding on this machine, and registrations
(churn) on one node and across nodes. One redis-server and the relay nodes are pinned to CPU 0, the load generator to
CPU 1 (as run-loopback.sh).

  benchmarks/run-fleet.py [--reps N] [--seconds S] [--variant NAME=DIR ...] [--forward-only] [--out FILE] [--no-build]

--variant compares relay builds (DIR holds a built peerrelay.dll, e.g. a copy of src/PeerRelay/bin/Release/net10.0
made before a change): every repetition runs every variant, in an order rotated each repetition, and the report gives
each variant's medians side by side. Without --variant: this checkout's build, named "this".

Forwarding: 10 pairs, then 1 pair, ping-pong 200-byte offers (one message in flight per pair); 'same' has both ends of every pair on
node-1, 'cross' the answering end on node-2. CPU per message is read from /proc for node-1, node-2 and Redis over the
load generator's measured window (--server-pid, --also-pid).
Churn: cycles of connect, register, send one message to a partner on the same node, close; 3 load processes of 4
parallel cycles each (the same offered load in every case) against: one node without [cluster]; one node of a fleet
(with Redis); three nodes of a fleet (one load process per node). Afterwards Redis must hold no registration and no
node set (none left behind); the load generator counts errors (a UUID refused or a message lost).
Writes benchmarks/results/YYYY-MM-DD-fleet.md and .jsonl. Needs: .NET SDK, redis-server, taskset.
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
load_dll = f"{root}/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll"
LOADERS, LOADER_CONCURRENCY = 3, 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(proc, text, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited before '{text}'")
        if text in line:
            return line
    raise RuntimeError(f"no '{text}' within {timeout} s")


class Fleet:
    """Redis (when cluster) and N relay nodes of one build, all pinned to CPU 0."""

    def __init__(self, relay_dll, nodes, cluster=True):
        self.dir = tempfile.mkdtemp(prefix="peerrelay-fleet-bench-")
        self.procs = []
        self.redis_port = free_port()
        if cluster:
            self.redis = subprocess.Popen(["taskset", "-c", "0", "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no"], stdout=subprocess.PIPE, text=True)
            wait_line(self.redis, "Ready to accept connections")
        else:
            self.redis = None
        self.ports = []
        for i in range(1, nodes + 1):
            port = free_port()
            conf = os.path.join(self.dir, f"node-{i}.toml")
            with open(conf, "w") as f:
                f.write(open(f"{root}/benchmarks/loopback.toml").read())
                if cluster:
                    f.write(f'\n[cluster]\nredis = "127.0.0.1:{self.redis_port}"\nnode_id = "node-{i}"\n')
            p = subprocess.Popen(["taskset", "-c", "0", "dotnet", relay_dll, "serve", "--config", conf, "--host", "127.0.0.1",
                                  "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wait_line(p, "PeerRelay listening on")
            self.procs.append(p)
            self.ports.append(port)
        if cluster:
            # Every node holds its lease and listens on its channel (its log is at WARNING: poll Redis instead).
            deadline = time.time() + 60
            while any(self.redis_cli("EXISTS", f"{{peerrelay}}:n:node-{i}") != "1"
                      or self.redis_cli("PUBSUB", "NUMSUB", f"{{peerrelay}}:ch:node-{i}").split()[-1] != "1" for i in range(1, nodes + 1)):
                if time.time() > deadline:
                    raise RuntimeError("the nodes did not join the fleet within 60 s")
                time.sleep(0.1)

    def url(self, i):
        return f"ws://127.0.0.1:{self.ports[i]}/"

    def redis_cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True).stdout.strip()

    def left_in_redis(self):
        count = "return #redis.call('KEYS', ARGV[1])"
        return {"client_keys": int(self.redis_cli("EVAL", count, "0", "{peerrelay}:c:*")),
                "node_sets": int(self.redis_cli("EVAL", count, "0", "{peerrelay}:nc:*"))}

    def stop(self):
        for p in self.procs + ([self.redis] if self.redis else []):
            p.kill()
            p.wait()


def load_cmd(scenario, url, pid, also, seconds, extra):
    cmd = ["taskset", "-c", "1", "dotnet", load_dll, scenario, "--url", url, "--warmup", "2", "--seconds", str(seconds),
           "--server-pid", str(pid), "--json-only", *extra]
    for p in also:
        cmd += ["--also-pid", str(p)]
    return cmd


def forward(fleet, cross, seconds, pairs=10):
    node1, node2, redis = fleet.procs[0].pid, fleet.procs[1].pid, fleet.redis.pid
    cmd = load_cmd("forward", fleet.url(0), node1, [node2, redis], seconds,
                   ["--peer-url", fleet.url(1 if cross else 0), "--pairs", str(pairs), "--size", "200"])
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    r["node1_cpu_per_msg_us"] = r["serverCpuPerUnitUs"]
    r["node2_cpu_per_msg_us"], r["redis_cpu_per_msg_us"] = r["alsoCpuPerUnitUs"]
    r["relay_cpu_per_msg_us"] = round(r["node1_cpu_per_msg_us"] + r["node2_cpu_per_msg_us"], 2)
    return r


def churn(fleet, seconds):
    """LOADERS load processes, spread over the fleet's nodes; each reads its own node's CPU and Redis's."""
    procs = []
    for i in range(LOADERS):
        node = i % len(fleet.procs)
        also = [fleet.redis.pid] if fleet.redis else []
        procs.append(subprocess.Popen(load_cmd("churn", fleet.url(node), fleet.procs[node].pid, also, seconds,
                                               ["--concurrency", str(LOADER_CONCURRENCY)]), stdout=subprocess.PIPE, text=True))
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    units = sum(r["units"] for r in results)
    # Each node's CPU once (loaders on the same node read the same process), over the window.
    node_cpu_ms = {}
    for i, r in enumerate(results):
        node_cpu_ms[i % len(fleet.procs)] = r["serverCpuMs"]
    redis_ms = statistics.median(r["alsoCpuPerUnitUs"][0] * r["units"] / 1000 for r in results) if fleet.redis else 0
    return {"cycles_per_s": round(sum(r["unitsPerSecond"] for r in results), 1), "errors": sum(r["errors"] for r in results),
            "first_error": next((r.get("firstError") for r in results if r.get("firstError")), None),
            "relay_cpu_per_cycle_us": round(sum(node_cpu_ms.values()) * 1000 / units, 2) if units else None,
            "redis_cpu_per_cycle_us": round(redis_ms * 1000 / units, 2) if units and fleet.redis else None}


def run_variant(name, dll, rep, seconds, rows, forward_only):
    fleet = Fleet(dll, 3)
    try:
        for pairs in (10, 1):
            for cross in ((False, True) if rep % 2 == 0 else (True, False)):
                r = forward(fleet, cross, seconds, pairs)
                r.update(case=("cross" if cross else "same") + ("" if pairs == 10 else "-1pair"), variant=name, rep=rep)
                rows.append(r)
                print(json.dumps(r), file=sys.stderr)
        if forward_only:
            return
        r = churn(fleet, seconds)
        time.sleep(3)  # let the last closes' releases reach Redis before looking (a measurement, not a test)
        r.update(case="churn-fleet-3", variant=name, rep=rep, left=fleet.left_in_redis())
        rows.append(r)
        print(json.dumps(r), file=sys.stderr)
    finally:
        fleet.stop()
    for case, nodes, cluster in (("churn-fleet-1", 1, True), ("churn-single", 1, False)):
        fleet = Fleet(dll, nodes, cluster=cluster)
        try:
            r = churn(fleet, seconds)
            r.update(case=case, variant=name, rep=rep)
            rows.append(r)
            print(json.dumps(r), file=sys.stderr)
        finally:
            fleet.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--variant", action="append", default=[], help="NAME=DIR with a built peerrelay.dll")
    ap.add_argument("--no-build", action="store_true", help="use the builds as they are")
    ap.add_argument("--forward-only", action="store_true", help="skip the churn (registrations) cases")
    ap.add_argument("--out", default=f"{root}/benchmarks/results/{time.strftime('%Y-%m-%d', time.gmtime())}-fleet.md")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["dotnet", "build", f"{root}/src/PeerRelay/PeerRelay.csproj", "-c", "Release", "-nologo", "-v", "quiet"], check=True)
        subprocess.run(["dotnet", "build", f"{root}/benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj", "-c", "Release", "-nologo", "-v", "quiet"], check=True)
    variants = [tuple(v.split("=", 1)) for v in a.variant] or [("this", f"{root}/src/PeerRelay/bin/Release/net10.0")]
    variants = [(n, os.path.join(d, "peerrelay.dll")) for n, d in variants]
    rows = []
    for rep in range(a.reps):
        order = variants[rep % len(variants):] + variants[:rep % len(variants)]
        for name, dll in order:
            run_variant(name, dll, rep, a.seconds, rows, a.forward_only)

    with open(a.out.replace(".md", ".jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    def med(variant, case, key):
        values = [r[key] for r in rows if r["variant"] == variant and r["case"] == case and r.get(key) is not None]
        return statistics.median(values) if values else None

    names = [n for n, _ in variants]
    cpu = open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()
    redis_version = subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2]
    variant_text = ", ".join(f"{n} = {d}" for n, d in variants)
    lines = [f"# Fleet benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Command: `benchmarks/run-fleet.py {' '.join(sys.argv[1:])}` on {os.cpu_count()} cores ({cpu}); redis-server "
             f"{redis_version}; load average before: {open('/proc/loadavg').read().split()[0]}. Relay nodes and Redis on CPU 0, load "
             f"generator on CPU 1; {a.reps} repetitions, variants rotated each repetition, medians. Builds: {variant_text}.", "",
             "## Forwarding: 10 pairs (and 1 pair), 200-byte messages, one in flight per pair", "",
             "At 10 pairs ten messages are in flight at once on the one CPU the nodes and Redis share, so the one-hop time "
             "includes waiting behind the others; at 1 pair it is one message's path alone.", "",
             "CPU per message over the load generator's measured window; relay = node-1 + node-2.", "",
             "| build | case | msgs/s | one hop p50 µs | p99 µs | node-1 CPU µs/msg | node-2 CPU µs/msg | relay CPU µs/msg | Redis CPU µs/msg |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in names:
        for case in ("same", "cross", "same-1pair", "cross-1pair"):
            if med(n, case, 'unitsPerSecond') is None:
                continue
            label = case.replace("-1pair", "-node, 1 pair") if case.endswith("-1pair") else f"{case}-node, 10 pairs"
            lines.append(f"| {n} | {label} | {med(n, case, 'unitsPerSecond'):,.0f} | {med(n, case, 'latencyP50Us')} | {med(n, case, 'latencyP99Us')} | "
                         f"{med(n, case, 'node1_cpu_per_msg_us')} | {med(n, case, 'node2_cpu_per_msg_us')} | {med(n, case, 'relay_cpu_per_msg_us')} | "
                         f"{med(n, case, 'redis_cpu_per_msg_us')} |")
    has_churn = any(r["case"].startswith("churn") for r in rows)
    lines += [] if not has_churn else ["", f"## Registrations (churn): connect, register, one message, close; {LOADERS} load processes × {LOADER_CONCURRENCY} cycles in flight", "",
              "| build | case | cycles/s | relay CPU µs/cycle | Redis CPU µs/cycle | errors |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    labels = {"churn-single": "one node, no [cluster]", "churn-fleet-1": "one node of a fleet (Redis)", "churn-fleet-3": "three nodes of a fleet"}
    for n in names if has_churn else []:
        for case in ("churn-single", "churn-fleet-1", "churn-fleet-3"):
            errors = sum(r["errors"] for r in rows if r["variant"] == n and r["case"] == case)
            lines.append(f"| {n} | {labels[case]} | {med(n, case, 'cycles_per_s'):,.0f} | {med(n, case, 'relay_cpu_per_cycle_us')} | "
                         f"{med(n, case, 'redis_cpu_per_cycle_us')} | {errors} |")
    lines += ["", "## Targets (issue 14), per build", "",
              "| build | cross-node p50 (≤ 250 µs), 10 pairs | cross-node p50, 1 pair | relay CPU cross / same (≤ 2×) | 3 fleet nodes / 1 fleet node (≥ 1×) | 3 fleet nodes / 1 node without [cluster] | left in Redis after churn |",
              "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for n in names:
        same, cross = med(n, "same", "relay_cpu_per_msg_us"), med(n, "cross", "relay_cpu_per_msg_us")
        f3, f1, single = med(n, "churn-fleet-3", "cycles_per_s"), med(n, "churn-fleet-1", "cycles_per_s"), med(n, "churn-single", "cycles_per_s")
        left = [r["left"] for r in rows if r["variant"] == n and r["case"] == "churn-fleet-3"]
        left_text = "none" if all(l["client_keys"] == 0 and l["node_sets"] == 0 for l in left) else json.dumps(left)
        ratios = f"{f3 / f1:.2f}× | {f3 / single:.2f}×" if has_churn else "— | —"
        lines.append(f"| {n} | {med(n, 'cross', 'latencyP50Us')} µs | {med(n, 'cross-1pair', 'latencyP50Us')} µs | {cross / same:.2f}× | {ratios} | {left_text if has_churn else '—'} |")
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
