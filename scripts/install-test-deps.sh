#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root, as CI does).
# Each later capability adds its own needs here; nothing is skipped when a dependency is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install tests (tests/PeerRelay.Install.Tests, scripts/publish.sh): Debian's nginx in front of the relay, systemd for
# systemd-analyze (verify, security), gcc and zlib1g-dev to link the Native AOT binary. The container check
# (scripts/container-check.sh, not run by test.sh) also needs debootstrap, buildah and podman; it says so itself.
# Interop tests (tests/PeerRelay.Interop.Tests): Debian's Python with aiortc for real WebRTC peers, Node.js and
# Chromium for the browser tests. ProxyStore's own RelayClient and PeerManager (vendored in ../shared/vendor/python)
# import pydantic, cryptography, requests, cloudpickle, msgpack, click and psutil; the JWT token issuer of the
# ProxyStore auth test needs python3-jwt; tests/interop/proxystore/run-proxystore-tests.sh (ProxyStore's own test
# files) needs pytest, pytest-asyncio, aiosqlite and tomli-w. The scale-out tests (tests/PeerRelay.Server.Redis.Tests)
# start their own redis-server (and use redis-cli, in redis-tools) on a free port, never the system service, and put
# nginx in front of the nodes; the Sentinel test starts Debian's redis-sentinel the same way.
need_apt=()
for pkg in python3 python3-websockets python3-aiortc chromium nodejs npm \
  python3-pydantic python3-cryptography python3-requests python3-cloudpickle python3-msgpack python3-click \
  python3-psutil python3-jwt python3-pytest python3-pytest-asyncio python3-aiosqlite python3-tomli-w \
  redis-server redis-tools redis-sentinel nginx systemd gcc zlib1g-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# An image may ship its own node/npm outside Debian's packages: keep those rather than install Debian's.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  keep=()
  for pkg in "${need_apt[@]}"; do
    case "$pkg" in nodejs|npm) ;; *) keep+=("$pkg") ;; esac
  done
  need_apt=("${keep[@]}")
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq -o DPkg::Lock::Timeout=600
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need_apt[@]}" >/dev/null
fi

# playwright-core (drives Debian's Chromium; never downloads a browser), pinned by the committed package-lock.json.
# A copy of the lock file inside node_modules records what was installed, so a second run does nothing.
browser_dir=tests/interop/browser
stamp="$browser_dir/node_modules/.installed-package-lock.json"
if ! cmp -s "$browser_dir/package-lock.json" "$stamp" 2>/dev/null; then
  echo "installing playwright-core (npm ci in $browser_dir)"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$browser_dir/package-lock.json" "$stamp"
fi
