#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root, as CI does).
# Each later capability adds its own needs here; nothing is skipped when a dependency is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in python3 python3-websockets; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
