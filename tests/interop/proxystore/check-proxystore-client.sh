#!/usr/bin/env bash
# Runs ProxyStore's own relay client (RelayClient, from a ProxyStore checkout) against a PeerRelay it starts:
# register, offer/answer between two clients, unknown peer, 4004 take-over, reconnect after a relay restart,
# and giving up on 4001 (no token) and 4002 (another user's UUID) against a relay with JWT auth.
# Not part of ./test.sh: ProxyStore's source is not vendored. Usage:
#   PROXYSTORE_SRC=/path/to/proxystore tests/interop/proxystore/check-proxystore-client.sh
# Needs /usr/bin/python3 with python3-websockets, python3-jwt, python3-cryptography (Debian packages).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
: "${PROXYSTORE_SRC:?set PROXYSTORE_SRC to a ProxyStore checkout (the directory holding proxystore/p2p/relay)}"
export PROXYSTORE_SRC
py=/usr/bin/python3
dll="$root/src/PeerRelay/bin/Release/net10.0/peerrelay.dll"
[ -f "$dll" ] || dotnet build "$root/src/PeerRelay" -c Release -nologo -v q >/dev/null
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_relay() { # port [config]
  local args=(serve --port "$1" --host 127.0.0.1)
  [ -n "${2:-}" ] && args=(serve --config "$2" --port "$1")
  dotnet "$dll" "${args[@]}" >>"$work/relay.log" 2>&1 &
  relay_pid=$!; pids+=("$relay_pid")
  for _ in $(seq 1 100); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    kill -0 "$relay_pid" 2>/dev/null || { cat "$work/relay.log"; echo "relay exited" >&2; exit 1; }
    "$py" -c 'import time; time.sleep(0.1)'
  done
  echo "relay did not listen on $1" >&2; exit 1
}
stop_relay() { kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; }

failed=0
run() { echo "== $1 $2 $3 $4"; "$py" "$here/drive_client.py" "$@" || failed=1; }  # tokens not echoed

port=$(free_port)
start_relay "$port"
run --relay "ws://127.0.0.1:$port/" --step exchange

# Restart: the driver prints {"ready": ...} once registered; then the relay is stopped and started again.
echo "== --step restart"
mkfifo "$work/restart.out"
"$py" "$here/drive_client.py" --relay "ws://127.0.0.1:$port/" --step restart >"$work/restart.out" &
driver=$!; pids+=("$driver")
exec 3<"$work/restart.out"
read -r -t 30 line <&3; echo "$line"   # websockets version
read -r -t 30 line <&3; echo "$line"   # ready
stop_relay
start_relay "$port"
cat <&3
wait "$driver" || failed=1
exec 3<&-
stop_relay

# Auth: JWT against a local JWKS; alice and bob are two users.
auth_port=$(free_port)
"$py" "$here/jwks_fixture.py" "$work" "$auth_port" >"$work/jwks.out" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do grep -q ready "$work/jwks.out" 2>/dev/null && break; "$py" -c 'import time; time.sleep(0.1)'; done
start_relay "$auth_port" "$work/relay.toml"
run --relay "ws://127.0.0.1:$auth_port/" --step auth --token-a "$(cat "$work/token-a")" --token-b "$(cat "$work/token-b")"
stop_relay

if [ "$failed" = 0 ]; then echo "proxystore client checks: passed"; else echo "proxystore client checks: FAILED (relay log: see above)"; fi
exit "$failed"
