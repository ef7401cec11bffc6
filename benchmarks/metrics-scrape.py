#!/usr/bin/env python3
"""CPU cost of one Prometheus scrape of /metrics while the relay holds N registered clients (issue 15: < 5 ms).

    python3 benchmarks/metrics-scrape.py [--clients 10000] [--rounds 5] [--scrapes 100] [--out FILE]

Starts `peerrelay serve` with benchmarks/loopback.toml (the load test's limits) and no keep-alive pings (metrics on the
relay's port),
has the load generator (benchmarks/PeerRelay.LoadTest, scenario connect) register and hold N clients, then measures
in interleaved rounds: the relay's CPU time over a window of S scrapes (one after the other, as fast as they answer),
and over an idle window of the same length (keep-alive pings, the sweeper). CPU per scrape = (scraping - idle) / S;
the relay's CPU time is its user + system time from /proc/PID/stat. Prints and
writes (with --out) a Markdown table: median and range over the rounds, with the scrape's size and series count.
"""
import argparse, os, shutil, signal, tempfile, statistics, subprocess, sys, time, urllib.request, datetime, platform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """The process's user + system CPU time, threads that ended included (/proc/PID/stat, clock-tick resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_NS


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def value(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[1])
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=100)
    parser.add_argument("--port", type=int, default=18894)
    parser.add_argument("--out")
    parser.add_argument("--no-build", action="store_true", help="use the Release builds already there")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["dotnet", "build", "src/PeerRelay/PeerRelay.csproj", "-c", "Release", "-nologo", "-v", "quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["dotnet", "build", "benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj", "-c", "Release", "-nologo", "-v", "quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    # Run copies, so that a build in the work tree meanwhile cannot pull the files from under the processes.
    scratch = tempfile.mkdtemp(prefix="peerrelay-metrics-scrape-")
    shutil.copytree(os.path.join(ROOT, "src/PeerRelay/bin/Release/net10.0"), os.path.join(scratch, "relay"))
    shutil.copytree(os.path.join(ROOT, "benchmarks/PeerRelay.LoadTest/bin/Release/net10.0"), os.path.join(scratch, "load"))
    relay_dll = os.path.join(scratch, "relay", "peerrelay.dll")
    load_dll = os.path.join(scratch, "load", "PeerRelay.LoadTest.dll")
    url = f"http://127.0.0.1:{args.port}/metrics"

    # The load test's limits (benchmarks/loopback.toml), and no keep-alive pings: the load generator's idle clients do
    # not read, so they would not answer pings and would be dropped after ping_interval + ping_timeout.
    config = os.path.join(ROOT, "benchmarks", ".metrics-scrape.toml")
    with open(os.path.join(ROOT, "benchmarks/loopback.toml")) as f:
        base = f.read()
    with open(config, "w") as f:
        f.write("ping_interval = 0\n" + base)
    relay = subprocess.Popen(["dotnet", relay_dll, "serve", "--config", config, "--host", "127.0.0.1", "--port", str(args.port)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    load = None
    try:
        deadline = time.time() + 60
        while True:
            try:
                scrape(url)
                break
            except OSError:
                if time.time() > deadline or relay.poll() is not None:
                    sys.exit("the relay did not start")
                time.sleep(0.2)

        load = subprocess.Popen(["dotnet", load_dll, "connect", "--url", f"ws://127.0.0.1:{args.port}/", "--clients", str(args.clients),
                                 "--hold", "3600", "--server-pid", str(relay.pid), "--json-only"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while value(scrape(url).decode(), "peerrelay_clients_registered") != args.clients:
            if time.time() > deadline or load.poll() is not None:
                sys.exit(f"the load generator did not register {args.clients} clients")
            time.sleep(0.5)
        time.sleep(3)  # let the connect burst's garbage and JIT settle

        body = scrape(url)
        text = body.decode()
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        for _ in range(20):
            scrape(url)  # warm up the scrape path

        per_scrape_ms, latency_ms, idle_ms_per_s, registered_min = [], [], [], args.clients
        for _ in range(args.rounds):
            start_cpu, start = cpu_ns(relay.pid), time.perf_counter()
            for _ in range(args.scrapes):
                scrape(url)
            busy_cpu, busy_wall = cpu_ns(relay.pid) - start_cpu, time.perf_counter() - start

            start_cpu, start = cpu_ns(relay.pid), time.perf_counter()
            time.sleep(busy_wall)
            idle_cpu, idle_wall = cpu_ns(relay.pid) - start_cpu, time.perf_counter() - start

            idle_rate = idle_cpu / idle_wall  # ns of CPU per s while idle
            per_scrape_ms.append((busy_cpu - idle_rate * busy_wall) / args.scrapes / 1e6)
            latency_ms.append(busy_wall / args.scrapes * 1e3)
            idle_ms_per_s.append(idle_rate / 1e6)
            registered_min = min(registered_min, value(scrape(url).decode(), "peerrelay_clients_registered") or 0)
            print(f"round {len(per_scrape_ms)}: {per_scrape_ms[-1]:.3f} ms CPU per scrape, {latency_ms[-1]:.1f} ms wall", file=sys.stderr, flush=True)

        registered = value(scrape(url).decode(), "peerrelay_clients_registered")
    finally:
        if load is not None:
            load.send_signal(signal.SIGTERM)
            load.wait(30)
        relay.send_signal(signal.SIGINT)
        relay.wait(30)
        os.remove(config)
        shutil.rmtree(scratch, ignore_errors=True)

    def fmt(values):
        return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"

    command = " ".join(["python3", "benchmarks/metrics-scrape.py"] + sys.argv[1:])
    report = f"""# /metrics scrape under {args.clients:,} clients

{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, `{command}`, {platform.node()} ({os.cpu_count()} cores, shared with other
work: load average {os.getloadavg()[0]:.1f} at the end, so wall times are mostly waiting for a core),
`peerrelay serve` with benchmarks/loopback.toml and `ping_interval = 0` (metrics on the relay's port), {args.clients:,} clients registered and
idle (load generator `connect --hold`), {args.rounds} interleaved rounds of {args.scrapes} back-to-back scrapes and an
idle window of the same length.

| figure | median (min–max over rounds) |
| --- | --- |
| relay CPU per scrape, ms (target < 5) | {fmt(per_scrape_ms)} |
| scrape latency (wall, one client, back to back), ms | {fmt(latency_ms)} |
| relay CPU while idle with {args.clients:,} clients, ms per s | {fmt(idle_ms_per_s)} |
| response | {len(body):,} bytes, {series} series |
| clients registered, fewest seen between rounds / at the end | {int(registered_min):,} / {int(registered or 0):,} |

CPU per scrape = (relay CPU during the scrapes − idle CPU rate × their duration) / scrapes; relay CPU is the sum of its
user and system time (`/proc/PID/stat`, 10 ms ticks: hence many scrapes per round). A scrape's work does not grow with the clients but for
`peerrelay_users_active`, which counts distinct users over the registrations at each scrape.
"""
    print(report)
    if args.out:
        with open(os.path.join(ROOT, args.out), "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
