#!/usr/bin/env python3
"""Fleet benchmark (issue 14): cross-node forwarding beside same-node forwarding on this machine, and churn across
nodes. One redis-server and the relay nodes are pinned to CPU 0, the load generator to CPU 1 (as run-loopback.sh).

  benchmarks/run-fleet.py [--reps N] [--seconds S] [--out FILE]

Forwarding: 10 pairs ping-pong 200-byte offers (one message in flight per pair); 'same' has both ends of every pair on
node-1, 'cross' the answering end on node-2. Cases interleaved (same, cross, same, ...), medians reported. CPU per
message is read from /proc for node-1, node-2 and Redis around each run's measured window (the load generator's
window for node-1; the whole run for node-2 and Redis, so their figures include set-up and warm-up: an upper bound).
Churn: connect, register, close cycles; one node without [cluster] against three nodes of a fleet (one load process
per node, run at once); afterwards Redis must hold no registration and no node set (none left behind), and each UUID
was held by one socket at a time (the relay refuses a second holder; the load generator counts errors).
Writes benchmarks/results/YYYY-MM-DD-fleet.md and .jsonl. Needs: .NET SDK, redis-server, taskset.
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
relay_dll = f"{root}/src/PeerRelay/bin/Release/net10.0/peerrelay.dll"
load_dll = f"{root}/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS


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
    def __init__(self, nodes, cluster=True):
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

    def url(self, i):
        return f"ws://127.0.0.1:{self.ports[i]}/"

    def redis_cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True).stdout.strip()

    def stop(self):
        for p in self.procs + ([self.redis] if self.redis else []):
            p.kill()
            p.wait()


def load(args, pid):
    cmd = ["taskset", "-c", "1", "dotnet", load_dll, *args, "--server-pid", str(pid), "--json-only"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def forward(fleet, cross, seconds):
    pids = [fleet.procs[0].pid, fleet.procs[1].pid, fleet.redis.pid]
    before = [cpu_ms(p) for p in pids]
    r = load(["forward", "--url", fleet.url(0), "--peer-url", fleet.url(1 if cross else 0), "--pairs", "10", "--size", "200",
              "--warmup", "2", "--seconds", str(seconds)], pids[0])
    after = [cpu_ms(p) for p in pids]
    r["case"] = "cross" if cross else "same"
    r["node2_cpu_per_msg_us_run"] = round((after[1] - before[1]) * 1000 / r["units"], 2)
    r["redis_cpu_per_msg_us_run"] = round((after[2] - before[2]) * 1000 / r["units"], 2)
    return r


def churn(urls, pids, seconds):
    procs = []
    for url, pid in zip(urls, pids):
        cmd = ["taskset", "-c", "1", "dotnet", load_dll, "churn", "--url", url, "--warmup", "2", "--seconds", str(seconds),
               "--server-pid", str(pid), "--json-only"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--out", default=f"{root}/benchmarks/results/{time.strftime('%Y-%m-%d', time.gmtime())}-fleet.md")
    a = ap.parse_args()
    subprocess.run(["dotnet", "build", f"{root}/src/PeerRelay/PeerRelay.csproj", "-c", "Release", "-nologo", "-v", "quiet"], check=True)
    subprocess.run(["dotnet", "build", f"{root}/benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj", "-c", "Release", "-nologo", "-v", "quiet"], check=True)
    rows = []
    fleet = Fleet(3)
    try:
        for rep in range(a.reps):
            for cross in (False, True):
                r = forward(fleet, cross, a.seconds)
                r["rep"] = rep
                rows.append(r)
                print(json.dumps(r), file=sys.stderr)
        # Churn across the three nodes at once, then what is left in Redis.
        churn_fleet = churn([fleet.url(i) for i in range(3)], [p.pid for p in fleet.procs], a.seconds)
        time.sleep(3)  # let the last closes' releases reach Redis before looking (a measurement, not a test)
        left = {"client_keys": fleet.redis_cli("EVAL", "return #redis.call('KEYS', ARGV[1])", "0", "{peerrelay}:c:*"),
                "node_sets": fleet.redis_cli("EVAL", "return #redis.call('KEYS', ARGV[1])", "0", "{peerrelay}:nc:*")}
    finally:
        fleet.stop()
    single = Fleet(1, cluster=False)
    try:
        churn_single = churn([single.url(0)], [single.procs[0].pid], a.seconds)
    finally:
        single.stop()

    with open(a.out.replace(".md", ".jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        for r in churn_fleet:
            f.write(json.dumps({**r, "case": "churn-fleet"}) + "\n")
        for r in churn_single:
            f.write(json.dumps({**r, "case": "churn-single"}) + "\n")

    def med(case, key):
        return statistics.median(r[key] for r in rows if r["case"] == case)

    lines = [f"# Fleet benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Command: `benchmarks/run-fleet.py --reps {a.reps} --seconds {a.seconds}` on {os.cpu_count()} cores "
             f"({open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}); redis-server "
             f"{subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2]}; "
             "relay nodes and Redis on CPU 0, load generator on CPU 1; medians of interleaved runs. The machine is shared "
             "with other work: compare ratios, not absolute figures.", "",
             "## Forwarding: 10 pairs, 200-byte messages, one in flight per pair", "",
             "| case | msgs/s | one hop p50 µs | p99 µs | node-1 CPU µs/msg | node-2 CPU µs/msg (run) | Redis CPU µs/msg (run) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case in ("same", "cross"):
        lines.append(f"| {case}-node | {med(case, 'unitsPerSecond'):,.0f} | {med(case, 'latencyP50Us')} | {med(case, 'latencyP99Us')} | "
                     f"{med(case, 'serverCpuPerUnitUs')} | {med(case, 'node2_cpu_per_msg_us_run')} | {med(case, 'redis_cpu_per_msg_us_run')} |")
    same_relay = med("same", "serverCpuPerUnitUs")
    cross_relay = med("cross", "serverCpuPerUnitUs") + med("cross", "node2_cpu_per_msg_us_run")
    lines += ["", f"Relay CPU per message: same-node {same_relay} µs (node-1 does all); cross-node {cross_relay:.2f} µs "
              f"(node-1 + node-2) = {cross_relay / same_relay:.2f}× (target ≤ 2×). Cross-node one-hop p50 "
              f"{med('cross', 'latencyP50Us')} µs (target ≤ 250 µs).", "",
              "## Churn (connect, register, close)", "",
              "| case | cycles/s | p50 µs | p99 µs | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    lines.append(f"| one node, no [cluster] | {sum(r['unitsPerSecond'] for r in churn_single):,.0f} | {churn_single[0].get('latencyP50Us')} | {churn_single[0].get('latencyP99Us')} | {sum(r['errors'] for r in churn_single)} |")
    lines.append(f"| three nodes of a fleet, at once | {sum(r['unitsPerSecond'] for r in churn_fleet):,.0f} | "
                 f"{statistics.median(r.get('latencyP50Us') or 0 for r in churn_fleet)} | {max(r.get('latencyP99Us') or 0 for r in churn_fleet)} | {sum(r['errors'] for r in churn_fleet)} |")
    lines += ["", f"Left in Redis after the fleet's churn: {left['client_keys']} registrations, {left['node_sets']} node sets with members "
              "(a node's set of UUIDs is removed when empty)."]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
