# Shared by run-loopback.sh, run-floor-ab.sh and run-tls.sh (sourced): finding and building the floor, starting and
# stopping a server on $port (each script sets port, log and server_pid), and the rotated order of the servers.

# Prints the floor's source folder: $BENCH_FLOOR_DIR, else the first shared/floor-relay beside the repository (CI, a
# clean clone) or beside a folder above it (a git worktree); nothing when there is none.
find_floor() { # repository root
  if [[ -n ${BENCH_FLOOR_DIR:-} ]]; then echo "$BENCH_FLOOR_DIR"; return; fi
  local dir=$1
  while [[ $dir != / ]]; do
    dir=$(dirname "$dir")
    if [[ -f $dir/shared/floor-relay/floor_relay.c ]]; then echo "$dir/shared/floor-relay"; return; fi
  done
}

# Builds the floor into the scratch folder (shared/ may be read-only): $scratch/floor-relay/floor_relay.
build_floor() { # source folder
  mkdir -p "$scratch/floor-relay"
  cp "$1/floor_relay.c" "$1/Makefile" "$scratch/floor-relay/"
  make -s -C "$scratch/floor-relay" floor_relay >"$log/floor-build.log" 2>&1 \
    || { echo "the floor did not build; see $log/floor-build.log" >&2; exit 1; }
}

port_open() { (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# Waits until the server just started ($server_pid) listens on $port; exits when it dies or takes over 10 s.
wait_listening() { # name, log file
  for _ in $(seq 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    if port_open; then return 0; fi
    sleep 0.1
  done
  echo "server $1 did not start; see $2" >&2
  exit 1
}

stop_server() {
  [[ -n $server_pid ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  # Let the port's connections drain before the next server binds it.
  for _ in $(seq 100); do
    if ! port_open; then break; fi
    sleep 0.1
  done
}

# Sets order to $servers in the order of repetition $1 (from 1): rotated by one each repetition (A B C, B C A, C A B,
# ...), so that drift in the VM's speed favours none.
rotate_servers() { # repetition
  local by=$(( ($1 - 1) % ${#servers[@]} ))
  order=("${servers[@]:by}" "${servers[@]:0:by}")
}

# How many times each server is warmed up (load, then settle) before a measured window: BENCH_WARM_ROUNDS, default 3.
# With dynamic PGO (on in peerrelay) a hot method is compiled three times (plain, instrumented, optimised with its
# profile), each step after its calls are counted again; one round left the connection path mid-way (CPU per connect
# 1.88x the floor's after one round, 1.29x after three), and that was most of the run-to-run spread of the connect
# figures.
warm_rounds=${BENCH_WARM_ROUNDS:-3}

# The warm-up of run-floor-ab.sh and run-loopback.sh, the same for every server: forwarding, then connecting and
# closing (JIT tier-up / V8 optimisation of both paths, pools and tables sized), then settle; $warm_rounds times.
# $@: the load command (a function and its leading arguments).
warm_up_server() {
  local _
  for _ in $(seq "$warm_rounds"); do
    "$@" forward --pairs 10 --seconds 3 --warmup 0 >/dev/null || true
    "$@" churn --concurrency 4 --seconds 2 --warmup 0 >/dev/null || true
    settle
  done
}

# Waits until the server's processes ($@, default $server_pid) have been idle for half a second: less than 2 ms of CPU
# (user + system, every thread) in 500 ms, at most 30 s. After a warm-up this lets work the warm-up queued finish before
# a measured window opens, so the window sees the steady state a long-running server is in: .NET's tiered compilation
# recompiles hot methods on a background thread some time after they got hot (call counting starts after 100 ms
# without new code), and V8 optimises in the background too; the floor has nothing to finish. Logs how long it waited.
settle() { # [pid...]
  local pids=("${@:-$server_pid}") before after ticks start=$SECONDS
  ticks=$(getconf CLK_TCK)
  before=$(cpu_ticks "${pids[@]}")
  while (( SECONDS - start < 30 )); do
    sleep 0.5
    after=$(cpu_ticks "${pids[@]}")
    # 2 ms in 500 ms: below one clock tick at 100 Hz means no tick at all.
    if (( (after - before) * 1000 / ticks < 2 )); then
      echo "settled after $((SECONDS - start)) s" >>"$log/settle.log"
      return 0
    fi
    before=$after
  done
  echo "not settled after 30 s (pids ${pids[*]})" >>"$log/settle.log"
}

# Prints the CPU time (user + system, clock ticks) the processes used so far.
cpu_ticks() { # pid...
  local total=0 pid
  for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
  echo "$total"
}
