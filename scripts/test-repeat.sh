#!/usr/bin/env bash
# Runs the whole suite (./test.sh) N times in a row, prints each run's closing line, then every test that failed at
# least once with how many runs it failed in. Each run's full output and .trx files are kept in .test-repeat/run-K/.
# Exits 1 when any run failed. Usage: scripts/test-repeat.sh N
# To check the suite on a busy machine, load every core first, e.g.:
#   for c in $(seq "$(nproc)"); do timeout 3h sh -c 'while :; do :; done' & done
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:?usage: scripts/test-repeat.sh N}
case "$runs" in '' | *[!0-9]* | 0) echo "usage: scripts/test-repeat.sh N (N a whole number, 1 or more)" >&2; exit 2 ;; esac

out=.test-repeat
rm -rf "$out"
mkdir -p "$out"
failed_runs=0
for run in $(seq "$runs"); do
  dir="$out/run-$run"
  mkdir -p "$dir"
  start=$(date +%s)
  status=0
  ./test.sh >"$dir/output.log" 2>&1 || status=$?
  [ -d .test-output ] && cp -r .test-output "$dir/trx"
  line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed' "$dir/output.log" | tail -n 1)
  echo "run $run/$runs: ${line:-no summary line (see $dir/output.log)}, exit $status, $(($(date +%s) - start)) s"
  grep -E '^  FAILED: ' "$dir/output.log" | sed 's/^  FAILED: //' | sort -u >"$dir/failed.txt"
  sed 's/^/  failed: /' "$dir/failed.txt"
  [ "$status" -eq 0 ] || failed_runs=$((failed_runs + 1))
done

echo "runs: $((runs - failed_runs)) passed, $failed_runs failed"
if cat "$out"/run-*/failed.txt | grep -q .; then
  echo "tests that failed at least once (runs failed in, test):"
  cat "$out"/run-*/failed.txt | sort | uniq -c | sort -rn
fi
[ "$failed_runs" -eq 0 ]
