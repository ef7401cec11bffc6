#!/usr/bin/env bash
# Builds the relay as binaries that need no .NET on the server (docs/install.md, "Single-file binary"):
#
#   scripts/publish.sh                          self-contained single files for linux-x64 and linux-arm64
#   scripts/publish.sh --rid linux-x64          one runtime only (repeat --rid for more)
#   scripts/publish.sh --aot                    also the Native AOT binary for this machine's architecture
#   scripts/publish.sh --trim                   trim the single files (NOT shipped: a trimmed build hangs a client's
#                                               registration after another's Globus token was rejected; docs/install.md)
#   scripts/publish.sh --test                   then run every test that starts the relay process against each
#                                               binary this machine can run (PEERRELAY_EXE, tests/PeerRelay.Testing)
#   scripts/publish.sh --projects "A B"         with --test: only these test projects (default: the four that
#                                               start the relay process; test.sh runs a quick pair)
#   scripts/publish.sh --out DIR                where to put them (default artifacts/publish)
#
# Output: DIR/<rid>/peerrelay (single file), DIR/<rid>-aot/peerrelay (Native AOT), each beside its symbols.
# Warnings are errors here too, trimming and AOT analysis included: a build that trimming could break fails.
# Native AOT links with gcc (Debian's build-essential); clang is not needed.
set -euo pipefail
cd "$(dirname "$0")/.."

rids=()
aot=false
trim=false
test=false
out=artifacts/publish
projects="PeerRelay.Tests PeerRelay.Server.Authentication.Tests PeerRelay.Install.Tests PeerRelay.Interop.Tests"
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rids+=("$2"); shift 2 ;;
    --aot) aot=true; shift ;;
    --trim) trim=true; shift ;;
    --test) test=true; shift ;;
    --out) out="$2"; shift 2 ;;
    --projects) projects="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "publish.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "${#rids[@]}" -gt 0 ] || rids=(linux-x64 linux-arm64)
mkdir -p "$out"
out="$(cd "$out" && pwd)"

case "$(uname -m)" in
  x86_64) host_rid=linux-x64 ;;
  aarch64) host_rid=linux-arm64 ;;
  *) host_rid=unknown ;;
esac

publish() { # publish NAME RID PROPERTIES...
  local name=$1 rid=$2
  shift 2
  echo "publish.sh: $name ($rid)"
  rm -rf "${out:?}/$name"
  dotnet publish src/PeerRelay -c Release -r "$rid" -nologo -v quiet -warnaserror \
    -o "$out/$name" "$@"
  # Documentation files and the static web assets manifest are build by-products, not part of the binary.
  rm -f "$out/$name"/*.xml "$out/$name"/*.staticwebassets.endpoints.json
  ls -l "$out/$name/peerrelay"
}

failed=0
runnable=()
for rid in "${rids[@]}"; do
  publish "$rid" "$rid" --self-contained -p:PublishSingleFile=true -p:PublishTrimmed=$trim
  if [ "$rid" = "$host_rid" ]; then
    runnable+=("$out/$rid/peerrelay")
  fi
  # A binary for another architecture cannot be run here: check at least that it is one (ELF e_machine).
  machine=$(od -An -t u2 -j 18 -N 2 "$out/$rid/peerrelay" | tr -d ' ')
  case "$rid:$machine" in
    linux-x64:62|linux-arm64:183) echo "publish.sh: $rid/peerrelay is an ELF executable for $rid (e_machine $machine)" ;;
    *) echo "publish.sh: $rid/peerrelay has ELF e_machine $machine, not $rid's" >&2; exit 1 ;;
  esac
done
if $aot; then
  publish "$host_rid-aot" "$host_rid" -p:PublishAot=true -p:CppCompilerAndLinker=gcc
  runnable+=("$out/$host_rid-aot/peerrelay")
fi

if $test; then
  # The in-process tests do not start the relay; these projects hold every test that does (plus their in-process
  # neighbours, which pass either way). Results land beside the suite's in .test-output/ (summarize-trx counts them).
  # The tool's package tests are left out: they pack and install the tool, not the binary under test. The library
  # package tests run again: packed from the normal build after publishing, they check that a publish leaves the
  # libraries' build output as it was (a global -p:IsPackable=false once rebuilt it without embedded sources).
  mkdir -p .test-output
  for exe in "${runnable[@]}"; do
    name=$(basename "$(dirname "$exe")")
    echo "publish.sh: the process tests against $exe"
    "$exe" --version
    for project in $projects; do
      PEERRELAY_EXE="$exe" dotnet test "tests/$project" -c Release --no-build --nologo \
        --results-directory .test-output --logger "trx;LogFileName=publish-$name-$project.trx" \
        --filter "FullyQualifiedName!~ToolPackageTests" || failed=1
    done
  done
fi
exit "$failed"
