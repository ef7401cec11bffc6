#!/usr/bin/env bash
# A/B of PeerRelay builds (or settings) against the floor (shared/floor-relay), interleaved: every case, every
# repetition, runs the floor and each variant in turn on a fresh server pinned to CPU 0 (load generator on CPU 1), the
# order rotated each repetition, as run-loopback.sh does; prints medians and each variant's ratio to the floor of the
# same run, and writes the raw lines (JSON) to --raw.
#
#   benchmarks/run-floor-ab.sh [--reps N] [--quick] [--resident [--generations G] | --curve K] [--control] [--trace] [--cases "name|args;..."] [--raw FILE] NAME=DLL[,VAR=VALUE...] ...
#
# --control runs the floor a second time as a variant of its own (floor2): its ratio to the floor is what this run
# measures between two identical servers, the noise to read the others' ratios against (a p99 moves by several
# per cent between repetitions of one server). Without NAME=DLL it is an A/A run of the floor alone.
#
# --trace follows every forward window with a traced one (perf, the server's system calls for 1 s of the same load;
# after the measured window, so the tracing's cost stays out of the CPU figures) and adds to the raw line what
# benchmarks/server-path.py makes of it: the server's own part of each message's one hop, from epoll_wait's return to
# the forward's send, which the load generator's latency includes among much else, and its parts (the dispatch to the
# connection, the recvfrom, parsing and routing; the report gives each one's median). Needs perf (linux-perf); not
# with --curve.
#
# --resident starts every server once (each on its own port, all pinned to CPU 0, warmed up and settled) and then
# alternates the measured windows between them: A B C, B C A, ... a few seconds apart instead of a minute, so that the
# VM's drifting speed moves all of them alike (the idle servers cost next to nothing meanwhile). The CPU figures are
# those of long-running servers; RSS per client needs a fresh process and is left out in this mode.
#
# --generations G (with --resident) gives every server G processes in turn: the repetitions are split into G runs of
# nearly equal length, and between two runs all servers stop and fresh processes start, warm up and
# settle. Two processes of one binary differ here by several per cent for their whole life (where code and buffers
# fall in the caches), so a run with one process per server compares those processes as much as the servers; with G
# generations each server's figures come from G processes. The raw line's "generation" says which (from 1).
#
# --curve K measures the way to the steady state instead: no warm-up; each case runs K windows back to back on a
# freshly started server, reported as NAME@1 ... NAME@K (the raw line's "at" is the window's start, in seconds after the
# server listened). What a restart costs under load: the JIT's tiering and dynamic PGO in the first seconds.
#
# e.g. the lead's before/after: main's build against this branch's on the epoll transport:
#   benchmarks/run-floor-ab.sh --reps 3 main=/tmp/pr-main/src/PeerRelay/bin/Release/net10.0/peerrelay.dll \
#     epoll=src/PeerRelay/bin/Release/net10.0/peerrelay.dll,PEERRELAY_SOCKET_TRANSPORT=epoll
# Each variant runs `dotnet DLL serve --config benchmarks/loopback.toml` with its variables (PEERRELAY_* are settings);
# a path that does not end in .dll is run as a binary (scripts/publish.sh's single file or Native AOT build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=benchmarks/bench-servers.sh
source benchmarks/bench-servers.sh

reps=3
quick=0
resident=0
generations=1
curve=0
control=0
trace=0
raw=""
custom_cases=""
variants=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --resident) resident=1; shift ;;
    --generations) generations=$2; shift 2 ;;
    --curve) curve=$2; shift 2 ;;
    --control) control=1; shift ;;
    --trace) trace=1; shift ;;
    --raw) raw=$2; shift 2 ;;
    --cases) custom_cases=$2; shift 2 ;;
    *=*) variants+=("$1"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#variants[@]} -gt 0 || $control == 1 ]] || { echo "name at least one variant: NAME=DLL[,VAR=VALUE...] (or --control)" >&2; exit 2; }
[[ $resident == 0 || $curve == 0 ]] || { echo "--resident and --curve exclude each other" >&2; exit 2; }
[[ $generations =~ ^[1-9][0-9]*$ && $generations -le $reps ]] || { echo "--generations takes a whole number from 1 to --reps ($reps)" >&2; exit 2; }
[[ $generations == 1 || $resident == 1 ]] || { echo "--generations needs --resident (without it every window has a fresh server)" >&2; exit 2; }
[[ $trace == 0 || $curve == 0 ]] || { echo "--trace and --curve exclude each other (a traced load between a curve's windows would warm the next one up)" >&2; exit 2; }
[[ $trace == 0 ]] || command -v perf >/dev/null || { echo "--trace needs perf (Debian: apt-get install linux-perf)" >&2; exit 1; }

port=${BENCH_PORT:-18893}
scratch=${BENCH_SCRATCH:-/tmp/peerrelay-bench}
server_cpu=${BENCH_SERVER_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
log="$scratch/logs"
mkdir -p "$scratch" "$log"
raw=${raw:-$scratch/floor-ab-$(date -u +%H%M%S).jsonl}

floor_src=$(find_floor "$root")
[[ -n $floor_src ]] || { echo "no shared/floor-relay found (BENCH_FLOOR_DIR)" >&2; exit 1; }
build_floor "$floor_src"

dotnet build benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj -c Release -nologo -v quiet >/dev/null
load_dll="$root/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll"

servers=(floor)
[[ $control == 0 ]] || servers+=(floor2)
declare -A dll env_of run_of
for spec in "${variants[@]}"; do
  name=${spec%%=*}
  [[ $name != floor && $name != floor2 ]] || { echo "$name: the floor's own names; call the variant something else" >&2; exit 2; }
  rest=${spec#*=}
  IFS=, read -r -a parts <<<"$rest"
  dll[$name]=$(realpath "${parts[0]}")
  [[ -f ${dll[$name]} ]] || { echo "$name: no ${parts[0]}" >&2; exit 1; }
  env_of[$name]="DOTNET_gcServer=0 ${parts[*]:1}"
  # A .dll runs under dotnet; anything else is a binary of its own (the single file or the Native AOT build).
  if [[ ${dll[$name]} == *.dll ]]; then run_of[$name]=dotnet; else run_of[$name]=env; fi
  servers+=("$name")
done

server_pid=""
start_server() {
  if port_open; then echo "port $port is in use; set BENCH_PORT" >&2; exit 1; fi
  if [[ $1 == floor || $1 == floor2 ]]; then
    taskset -c "$server_cpu" "$scratch/floor-relay/floor_relay" "$port" >"$log/ab-$1.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    env ${env_of[$1]} taskset -c "$server_cpu" ${run_of[$1]} "${dll[$1]}" serve --config benchmarks/loopback.toml --port "$port" >"$log/ab-$1.log" 2>&1 &
  fi
  server_pid=$!
  wait_listening "$1" "$log/ab-$1.log"
  started_at=$SECONDS
}
trap 'stop_server' EXIT
load() { taskset -c "$load_cpu" dotnet "$load_dll" "$@" --target relay --url "ws://127.0.0.1:$port/" --json-only; }

if [[ -n $custom_cases ]]; then
  IFS=';' read -r -a cases <<<"$custom_cases"
  secs=5; warm=2
elif [[ $quick == 1 ]]; then
  secs=2; warm=1
  cases=("connect-1000|connect --clients 1000 --hold 1" "forward-10x200|forward --pairs 10 --size 200" "churn|churn --concurrency 4")
else
  secs=5; warm=2
  cases=(
    "connect-10000|connect --clients 10000 --hold 3"
    "connect-19000|connect --clients 19000 --procs 2 --sources 2 --hold 3"
    "forward-1x200|forward --pairs 1 --size 200"
    "forward-10x200|forward --pairs 10 --size 200"
    "forward-100x200|forward --pairs 100 --size 200"
    "churn|churn --concurrency 4"
  )
fi

# A curve's windows follow each other from the start: no load before them.
[[ $curve == 0 ]] || warm=0
: >"$raw"
warm_up() {
  # Warm-up, the same for all: forwarding, then connecting and closing (JIT tier-up of both paths, pools and tables
  # sized), so that a connect case's memory per client does not carry the one-time cost of the first connections
  # (about 5 MB for PeerRelay: 0.3 KiB per client at 19,000); then the server settles (the tier-up the warm-up queued
  # finishes outside the window).
  # $warm_rounds times (bench-servers.sh).
  warm_up_server load
}
# Prints the server's part of each message's one hop (server-path.py's JSON) over 1 s of the load $2 traced, or null.
trace_path() { # server name, load arguments
  local data="$scratch/path.data" parts="" loader
  # shellcheck disable=SC2086
  load $2 --warmup 1 --seconds 3 >/dev/null 2>>"$log/ab-load.log" &
  loader=$!
  sleep 2
  perf record -q -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -p "$server_pid" -o "$data" -- sleep 1 >>"$log/perf.log" 2>&1 || true
  wait "$loader" || true
  if parts=$(perf script --ns -F tid,time,event,trace -i "$data" 2>>"$log/perf.log" | python3 benchmarks/server-path.py "$1"); then :; fi
  rm -f "$data"
  echo "${parts:-null}"
}
generation=1
measure() { # rep, case name, server, load arguments
  local json="" at=$((SECONDS - started_at)) path=""
  # shellcheck disable=SC2086
  if json=$(load $4 --warmup "$warm" --seconds "$secs" --server-pid "$server_pid" 2>>"$log/ab-load.log" | tail -1); then :; fi
  if [[ $trace == 1 && $2 == forward* ]]; then path=",\"path\":$(trace_path "$3" "$4")"; fi
  echo "{\"case\":\"$2\",\"rep\":$1,\"server\":\"$3\",\"resident\":$resident,\"generation\":$generation,\"at\":$at,\"result\":${json:-null}$path}" >>"$raw"
  echo "rep $1 $2 $3: ${json:-failed}" >&2
}

declare -A pid_of port_of started_of
base_port=$port
# Starts every server on its own port (--resident), warmed up and settled.
start_residents() {
  for i in "${!servers[@]}"; do
    server=${servers[$i]}
    port=$((base_port + i))
    start_server "$server"
    pid_of[$server]=$server_pid
    port_of[$server]=$port
    started_of[$server]=$started_at
    warm_up
    server_pid=""
  done
}
# Stops them all and waits until each port is free again.
stop_residents() {
  for server in "${!pid_of[@]}"; do
    server_pid=${pid_of[$server]}
    port=${port_of[$server]}
    stop_server
  done
  pid_of=()
}
if [[ $resident == 1 ]]; then
  trap 'for p in "${pid_of[@]}"; do kill "$p" 2>/dev/null || true; done; wait' EXIT
  start_residents
fi

for rep in $(seq "$reps"); do
  # --generations: repetition $rep belongs to generation (rep - 1) * G / reps + 1; at each new one, fresh servers.
  if [[ $resident == 1 && $(( (rep - 1) * generations / reps + 1 )) != "$generation" ]]; then
    stop_residents
    generation=$((generation + 1))
    start_residents
  fi
  for entry in "${cases[@]}"; do
    name=${entry%%|*}
    args=${entry#*|}
    rotate_servers "$rep"
    for server in "${order[@]}"; do
      if [[ $curve -gt 0 ]]; then
        start_server "$server"
        for window in $(seq "$curve"); do
          measure "$rep" "$name@$window" "$server" "$args"
        done
        stop_server
      elif [[ $resident == 1 ]]; then
        port=${port_of[$server]}
        server_pid=${pid_of[$server]}
        started_at=${started_of[$server]}
        settle
        measure "$rep" "$name" "$server" "$args"
        server_pid=""
      else
        start_server "$server"
        warm_up
        measure "$rep" "$name" "$server" "$args"
        stop_server
      fi
    done
  done
done

python3 benchmarks/floor-ab-report.py "$raw" "${servers[@]}"
