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
