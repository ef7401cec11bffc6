#!/usr/bin/env bash
# Side-by-side loopback benchmark: PeerRelay against the PeerJS server (npm `peer`) and the floor (shared/floor-relay,
# a minimal C epoll relay: what the kernel alone costs per unit), same port, same machine. Each server in turn is
# pinned to CPU 0 and the load generator to CPU 1; every case starts a fresh server, warms it up, runs, and stops it.
# Repetitions are interleaved, the order rotated each repetition (A B C, B C A, C A B, ...), and medians reported.
#
#   benchmarks/run-loopback.sh [--reps N] [--latency-reps M] [--quick] [--out FILE] [--note TEXT]
#
# --latency-reps M (M > N) adds repetitions N+1 ... M of the two cases the p99 target is judged on (forward-1x200 and
# forward-10x200), for PeerRelay and the floor only: a window's p99 moves by ±10 % here, and the target is judged from
# the paired ratios of at least ten repetitions (benchmarks/p99_verdict.py; docs/performance.md, "How the p99 is
# judged"). Those two cases' medians then come from all M repetitions of PeerRelay and the floor.
#
# Writes benchmarks/results/YYYY-MM-DD-loopback.md (and the raw JSON lines next to it, .jsonl).
# Needs: .NET SDK, node + npm (for the PeerJS server, installed into a scratch folder), taskset, python3; cc and make
# for the floor, built into the scratch folder from the first shared/floor-relay found beside the repository or beside
# a folder above it (BENCH_FLOOR_DIR overrides). Without it the run goes on without the floor and the report says so.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=benchmarks/bench-servers.sh
source benchmarks/bench-servers.sh

invocation="benchmarks/run-loopback.sh $*"
reps=3
latency_reps=0
quick=0
note=""
out="benchmarks/results/$(date -u +%F)-loopback.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --latency-reps) latency_reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out=$2; shift 2 ;;
    --note) note=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

[[ $latency_reps == 0 || $latency_reps -gt $reps ]] || { echo "--latency-reps must be more than --reps ($reps)" >&2; exit 2; }

port=${BENCH_PORT:-18893}
scratch=${BENCH_SCRATCH:-/tmp/peerrelay-bench}
peer_version=${PEERJS_VERSION:-1.0.2}
server_cpu=${BENCH_SERVER_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
raw="${out%.md}.jsonl"
log="$scratch/logs"
mkdir -p "$scratch" "$log" "$(dirname "$out")"

# --- PeerJS server, from npm, outside the repository ---
if [[ ! -f "$scratch/peerjs/node_modules/peer/package.json" ]] \
   || ! grep -q "\"version\": \"$peer_version\"" "$scratch/peerjs/node_modules/peer/package.json"; then
  mkdir -p "$scratch/peerjs"
  (cd "$scratch/peerjs" && npm install --no-audit --no-fund --silent "peer@$peer_version" >/dev/null)
fi
peerjs_bin="$scratch/peerjs/node_modules/peer/dist/bin/peerjs.js"

# --- The floor: shared/floor-relay beside the repository (CI, a clean clone) or beside a folder above it (a git
# worktree), built into the scratch folder (shared/ may be read-only) ---
floor_src=$(find_floor "$root")
servers=(relay peerjs)
floor_status=""
if [[ -n $floor_src && -f $floor_src/floor_relay.c ]]; then
  build_floor "$floor_src"
  servers+=(floor)
  floor_status="built from $floor_src (floor_relay.c sha256 $(sha256sum "$floor_src/floor_relay.c" | cut -c1-12)) with $(cc --version | head -1)"
else
  floor_status="not run: no floor_relay.c ${floor_src:+in $floor_src (BENCH_FLOOR_DIR)}"
  [[ -n $floor_src ]] || floor_status+="in a shared/floor-relay beside the repository or beside a folder above it"
  echo "the floor is absent ($floor_status); running without it" >&2
fi

# --- PeerRelay (Release) and the load generator ---
dotnet build src/PeerRelay/PeerRelay.csproj -c Release -nologo -v quiet >/dev/null
dotnet build benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj -c Release -nologo -v quiet >/dev/null
relay_dll="$root/src/PeerRelay/bin/Release/net10.0/peerrelay.dll"
load_dll="$root/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll"

# How PeerRelay is run: `peerrelay serve`, as users run it, with benchmarks/loopback.toml: the defaults except the
# abuse limits a load test exceeds by design (message rate, connections per IP and in total), logging at WARNING
# (PeerJS logs nothing per client either).
relay_env=(DOTNET_gcServer=0)
relay_cmd=(dotnet "$relay_dll" serve --config benchmarks/loopback.toml --port "$port")
peerjs_cmd=(node "$peerjs_bin" --port "$port" --concurrent_limit 1000000)
# The floor speaks the relay protocol: the load generator drives it with `--target relay`.
floor_cmd=("$scratch/floor-relay/floor_relay" "$port")

server_pid=""
start_server() { # relay|peerjs|floor
  if port_open; then
    echo "port $port is already in use by another process; set BENCH_PORT" >&2
    exit 1
  fi
  case $1 in
    relay) env "${relay_env[@]}" taskset -c "$server_cpu" "${relay_cmd[@]}" >"$log/server-$1.log" 2>&1 & ;;
    peerjs) taskset -c "$server_cpu" "${peerjs_cmd[@]}" >"$log/server-$1.log" 2>&1 & ;;
    floor) taskset -c "$server_cpu" "${floor_cmd[@]}" >"$log/server-$1.log" 2>&1 & ;;
  esac
  server_pid=$!
  wait_listening "$1" "$log/server-$1.log"
}

trap 'stop_server' EXIT

load() { # server args...
  local target=$1; shift
  [[ $target == floor ]] && target=relay
  taskset -c "$load_cpu" dotnet "$load_dll" "$@" --target "$target" --url "ws://127.0.0.1:$port/" --json-only
}

if [[ $quick == 1 ]]; then
  secs=2; warm=1
  cases=(
    "connect-1000|connect --clients 1000 --hold 1"
    "forward-10x200|forward --pairs 10 --size 200"
    "churn|churn --concurrency 4"
  )
else
  secs=5; warm=2
  cases=(
    "connect-1000|connect --clients 1000 --hold 2"
    "connect-10000|connect --clients 10000 --hold 3"
    "connect-19000|connect --clients 19000 --procs 2 --sources 2 --hold 3"
    "forward-1x200|forward --pairs 1 --size 200"
    "forward-10x200|forward --pairs 10 --size 200"
    "forward-100x200|forward --pairs 100 --size 200"
    "forward-1x4096|forward --pairs 1 --size 4096"
    "forward-10x4096|forward --pairs 10 --size 4096"
    "forward-100x4096|forward --pairs 100 --size 4096"
    "churn|churn --concurrency 4"
  )
fi

# Runs repetition $1 of each case in "${cases[@]}" on each server in "${servers[@]}", the order rotated by repetition so
# that drift in CPU speed does not favour one: a fresh server each, warmed up (bench-servers.sh; background compilation
# finishes outside the window), the window, the server stopped.
run_rep() { # repetition
  local rep=$1 entry name args json
  for entry in "${cases[@]}"; do
    name=${entry%%|*}
    args=${entry#*|}
    rotate_servers "$rep"
    for server in "${order[@]}"; do
      start_server "$server"
      warm_up_server load "$server"
      # shellcheck disable=SC2086
      if json=$(load "$server" $args --warmup "$warm" --seconds "$secs" --server-pid "$server_pid" 2>>"$log/load.log" | tail -1); then :; fi
      stop_server
      # "server" names the server; the result's "target" is the protocol the load generator spoke (floor: relay).
      echo "{\"case\":\"$name\",\"rep\":$rep,\"server\":\"$server\",\"result\":${json:-null}}" >>"$raw"
      echo "rep $rep $name $server: ${json:-failed}" >&2
    done
  done
}

started=$(date -u +%FT%TZ)
: >"$raw"
for rep in $(seq "$reps"); do
  run_rep "$rep"
done
if [[ $latency_reps -gt 0 ]]; then
  # The p99 target's cases again, PeerRelay and the floor only.
  all_cases=("${cases[@]}") all_servers=("${servers[@]}")
  cases=("forward-1x200|forward --pairs 1 --size 200" "forward-10x200|forward --pairs 10 --size 200")
  servers=(relay)
  [[ " ${all_servers[*]} " == *" floor "* ]] && servers+=(floor)
  for rep in $(seq $((reps + 1)) "$latency_reps"); do
    run_rep "$rep"
  done
  cases=("${all_cases[@]}") servers=("${all_servers[@]}")
fi
finished=$(date -u +%FT%TZ)

python3 benchmarks/loopback-report.py "$raw" "$out" \
  --started "$started" --finished "$finished" --reps "$reps" --latency-reps "$latency_reps" --note "$note" --invocation "$invocation" \
  --relay-cmd "${relay_env[*]} taskset -c $server_cpu ${relay_cmd[*]}" \
  --peerjs-cmd "taskset -c $server_cpu ${peerjs_cmd[*]/$scratch/\$SCRATCH}" \
  --floor-cmd "taskset -c $server_cpu ${floor_cmd[*]/$scratch/\$SCRATCH}" --floor-status "$floor_status" \
  --load-cmd "taskset -c $load_cpu dotnet PeerRelay.LoadTest.dll <case args> --warmup $warm --seconds $secs --server-pid PID" \
  --peerjs-version "$peer_version" --cases "$(printf '%s\n' "${cases[@]}")"
python3 benchmarks/loopback-targets.py "$raw" "$out"
echo "wrote $out" >&2
