#!/usr/bin/env bash
# Runs ProxyStore's OWN test files that need only a relay address (its RelayClient, PeerManager, PeerConnection and
# endpoint-peering tests) against `peerrelay serve` with default settings, RUNS times, and prints one line per run and
# a summary. ProxyStore's tests are not vendored (only its package is): point CHECKOUT at a ProxyStore source tree of
# the vendored commit (f321e84e), e.g. one fetched with git. Not part of ./test.sh, which runs ProxyStore's client
# and PeerManager through tests/PeerRelay.Interop.Tests/ProxyStoreClientTests.cs instead.
#   tests/interop/proxystore/run-proxystore-tests.sh CHECKOUT [RUNS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
checkout="$(cd "${1:?usage: run-proxystore-tests.sh CHECKOUT [RUNS]}" && pwd)"
runs="${2:-1}"
vendor=""
for dir in "$root/.." "$root/../.."; do   # shared/ beside the clone, or beside the folder of a git worktree
  [ -d "$dir/shared/vendor/python/proxystore" ] && vendor="$(cd "$dir/shared/vendor/python" && pwd)" && break
done
[ -n "$vendor" ] || { echo "shared/vendor/python (ProxyStore, vendored) not found beside $root" >&2; exit 2; }
dll="${PEERRELAY_DLL:-$root/src/PeerRelay/bin/Release/net10.0/peerrelay.dll}"  # PEERRELAY_DLL: another build
[ -f "$dll" ] || dotnet build "$root/src/PeerRelay" -c Release -nologo -v q >/dev/null
export PEERRELAY_DLL="$dll"
# The vendored ProxyStore and websockets first; the checkout gives ProxyStore's `testing` helpers and its tests.
export PYTHONPATH="$here:$vendor:$checkout"

files=(
  tests/p2p/relay/client_test.py
  tests/p2p/manager_test.py
  tests/p2p/connection_test.py
  tests/endpoint/endpoint_peering_test.py
)
# -P and --import-mode=append: the vendored proxystore package, not the checkout's copy, is the one imported.
# Tests that reach into ProxyStore's in-process Python relay (relay_server.relay_server...) rather than talking to
# it through its address.
deselect=(
  --deselect tests/p2p/manager_test.py::test_expected_server_disconnect
  --deselect tests/p2p/manager_test.py::test_unexpected_server_disconnect
)

passed_runs=0
for run in $(seq 1 "$runs"); do
  log="$(mktemp)"
  if (cd "$checkout" && /usr/bin/python3 -P -m pytest -q -rA -p no:cacheprovider --noconftest -p peerrelay_fixture --import-mode=append \
        -o asyncio_mode=auto -W ignore::DeprecationWarning "${deselect[@]}" "${files[@]}") >"$log" 2>&1; then
    passed_runs=$((passed_runs + 1))
    echo "run $run: $(grep -E '^[0-9]+ passed' "$log" | tail -n 1)"
  else
    echo "run $run: FAILED: $(grep -E '^[0-9]+ (passed|failed)|[0-9]+ failed' "$log" | tail -n 1)"
    grep -E "^(FAILED|ERROR) tests/" "$log" || tail -n 40 "$log"
  fi
  rm -f "$log"
done
echo "proxystore's own tests: $passed_runs of $runs runs passed"
[ "$passed_runs" = "$runs" ]
