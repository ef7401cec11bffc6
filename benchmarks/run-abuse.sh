#!/usr/bin/env bash
# The abuse benchmark (issue 13): honest clients' one-hop latency and failures while abusive clients attack, each
# reconnecting as soon as it is cut. PeerRelay runs with its DEFAULT settings (`peerrelay serve`, no config file),
# pinned to one CPU, the load generator to the other; every run starts a fresh relay. Attacks are interleaved
# (rep 1: A B C D, rep 2: A B C D, ...) and medians reported, since the machine may be shared.
#
#   benchmarks/run-abuse.sh [--reps N] [--seconds S] [--baseline S] [--out FILE] [--note TEXT]
#
# Writes benchmarks/results/YYYY-MM-DD-abuse.md and the raw JSON lines next to it (.jsonl).
# Needs: .NET SDK, taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

reps=3
seconds=10
baseline=5
note=""
out="benchmarks/results/$(date -u +%F)-abuse.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --note) note=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

port=${BENCH_PORT:-18894}
scratch=${BENCH_SCRATCH:-/tmp/peerrelay-abuse}
server_cpu=${BENCH_SERVER_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
attacks=(${BENCH_ATTACKS:-unknown-peer victim-flood slow-reader malformed})
raw="${out%.md}.jsonl"
log="$scratch/logs"
mkdir -p "$scratch" "$log" "$(dirname "$out")"

# BENCH_RELAY_DLL / BENCH_LOAD_DLL: run builds copied elsewhere (e.g. another commit's relay), without building here.
if [[ -z ${BENCH_RELAY_DLL:-} ]]; then dotnet build src/PeerRelay/PeerRelay.csproj -c Release -nologo -v quiet >/dev/null; fi
if [[ -z ${BENCH_LOAD_DLL:-} ]]; then dotnet build benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj -c Release -nologo -v quiet >/dev/null; fi
relay_dll=${BENCH_RELAY_DLL:-$root/src/PeerRelay/bin/Release/net10.0/peerrelay.dll}
load_dll=${BENCH_LOAD_DLL:-$root/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll}
relay_cmd=(dotnet "$relay_dll" serve --host 127.0.0.1 --port "$port")
load_args=(--pairs 20 --rate 200 --abusers 5 --size 200 --warmup 2 --baseline "$baseline" --seconds "$seconds" --settle 3)

server_pid=""
port_open() { (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  for _ in $(seq 100); do port_open || break; sleep 0.1; done
}
trap 'stop_server' EXIT

start_server() { # log file
  if port_open; then echo "port $port is already in use; set BENCH_PORT" >&2; exit 1; fi
  env DOTNET_gcServer=0 taskset -c "$server_cpu" "${relay_cmd[@]}" >"$1" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    port_open && return 0
    sleep 0.1
  done
  echo "the relay did not start; see $1" >&2
  exit 1
}

started=$(date -u +%FT%TZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$raw"
# BENCH_VARIANTS="before=/a/peerrelay.dll after=/b/peerrelay.dll": compare relay builds, interleaved run by run (each
# attack runs on every variant in turn, the order alternating by repetition), so that both see the same machine.
read -r -a variants <<<"${BENCH_VARIANTS:-relay=$relay_dll}"
for rep in $(seq "$reps"); do
  for attack in "${attacks[@]}"; do
    order=("${variants[@]}")
    if (( rep % 2 == 0 )); then order=($(printf '%s\n' "${variants[@]}" | tac)); fi
    for variant in "${order[@]}"; do
      name=${variant%%=*}
      relay_cmd=(dotnet "${variant#*=}" serve --host 127.0.0.1 --port "$port")
      relay_log="$log/relay-$name-$attack-$rep.log"
      start_server "$relay_log"
      loadavg=$(cut -d' ' -f1 /proc/loadavg)
      json=$(taskset -c "$load_cpu" dotnet "$load_dll" abuse --attack "$attack" "${load_args[@]}" \
        --url "ws://127.0.0.1:$port/" --server-pid "$server_pid" 2>>"$log/load.log" | tail -1) || json=""
      stop_server
      lines=$(wc -l <"$relay_log")
      echo "{\"attack\":\"$attack\",\"variant\":\"$name\",\"rep\":$rep,\"loadavg\":$loadavg,\"relayLogLines\":$lines,\"result\":${json:-null}}" >>"$raw"
      echo "rep $rep $attack $name (load $loadavg, $lines log lines): ${json:-failed}" >&2
    done
  done
done
finished=$(date -u +%FT%TZ)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 benchmarks/abuse-report.py "$raw" "$out" --started "$started" --finished "$finished" --reps "$reps" \
  --note "$note" --commit "${BENCH_COMMIT:-$(git rev-parse --short HEAD)}" --load "before: $load_before; after: $load_after" \
  --relay-cmd "DOTNET_gcServer=0 taskset -c $server_cpu dotnet peerrelay.dll serve --host 127.0.0.1 --port $port" \
  --load-cmd "taskset -c $load_cpu dotnet PeerRelay.LoadTest.dll abuse --attack A ${load_args[*]} --url ws://127.0.0.1:$port/ --server-pid PID"
echo "wrote $out" >&2
