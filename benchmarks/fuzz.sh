#!/usr/bin/env bash
# Runs the relay's fuzz tests (codec and live server) for longer than the suite does.
#
#   benchmarks/fuzz.sh                 # 300 s live, 1,000,000 codec cases, random seed (printed)
#   benchmarks/fuzz.sh 60 1234         # 60 s with seed 1234 (reproduces a failure reported with that seed)
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERRELAY_FUZZ_SECONDS="${1:-300}"
export PEERRELAY_FUZZ_CODEC_CASES="${PEERRELAY_FUZZ_CODEC_CASES:-1000000}"
if [ -n "${2:-}" ]; then export PEERRELAY_FUZZ_SEED="$2"; fi
dotnet build tests/PeerRelay.Server.Tests -c Release -nologo -v quiet
dotnet test tests/PeerRelay.Server.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~Hardening.FuzzTests" --logger "console;verbosity=detailed" \
  -- RunConfiguration.TestSessionTimeout=$(( (PEERRELAY_FUZZ_SECONDS + 900) * 1000 ))
