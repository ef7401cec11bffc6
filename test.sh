#!/usr/bin/env bash
# Runs the whole PeerRelay test suite on a fresh Debian machine with the .NET SDK.
# Installs what the tests need first (scripts/install-test-deps.sh), builds with warnings as errors,
# runs every test project (with --blame: a test host that crashes names the test it was running), and ends with one
# line: "tests: N passed, M failed" (a run cut short by a crash counts as a failure).
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-test-deps.sh

out=.test-output
rm -rf "$out"
mkdir -p "$out"

dotnet build PeerRelay.slnx -c Release -warnaserror -nologo -v quiet

status=0
dotnet test PeerRelay.slnx -c Release --no-build --nologo --blame \
  --results-directory "$out" --logger "trx" --logger "console;verbosity=normal" \
  -- RunConfiguration.TestSessionTimeout=1500000 || status=$?

# The single-file binary as users install it (self-contained, linux-x64): built by scripts/publish.sh and
# put through the tests that start the relay process and the install tests (nginx, systemd drain). The Native AOT
# and linux-arm64 builds and the container image take longer: scripts/publish.sh --aot --test and
# scripts/container-check.sh, run before a release (docs/install.md).
scripts/publish.sh --rid linux-x64 --out "$out/publish" --test --projects "PeerRelay.Tests PeerRelay.Install.Tests" || status=$?

python3 scripts/summarize-trx.py "$out" || status=$?
exit "$status"
