#!/usr/bin/env bash
# Soak test of the relay (issue 7): stable pairs signal every 100 ms while churn workers keep clients connecting,
# registering, forwarding and leaving (closing, aborting, dying mid-frame, never registering). At the end it checks
# zero registrations and connections left, zero messages lost between live pairs, and managed memory against the
# baseline; the result table goes to benchmarks/results/soak-<UTC time>.md with the command, machine and date.
#
#   benchmarks/soak.sh            # 5 minutes
#   benchmarks/soak.sh 1800       # 30 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
mkdir -p benchmarks/results
out="benchmarks/results/soak-$(date -u +%Y%m%d-%H%M).md"
{
  echo "# Soak run, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- command: \`benchmarks/soak.sh $seconds\`"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "- .NET SDK $(dotnet --version); server and all clients in one process on 127.0.0.1, default limits except max_connections_per_ip"
  echo "- socket transport: ${PEERRELAY_TEST_TRANSPORT:-the default (epoll on Linux)}"
  echo
} > "$out"
dotnet build tests/PeerRelay.Server.Tests -c Release -nologo -v quiet
status=0
PEERRELAY_SOAK_SECONDS="$seconds" PEERRELAY_SOAK_RESULT="$PWD/$out" \
  dotnet test tests/PeerRelay.Server.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~Hardening.SoakTests" --logger "console;verbosity=detailed" \
  -- RunConfiguration.TestSessionTimeout=$(( (seconds + 900) * 1000 )) || status=$?
echo >> "$out"
if [ "$status" -eq 0 ]; then echo "Result: passed (all checks held)." >> "$out"; else echo "Result: FAILED (exit $status)." >> "$out"; fi
echo "wrote $out"
exit "$status"
