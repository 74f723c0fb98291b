#!/usr/bin/env bash
# Runs every unit test built without sanitizers (make vg-bin -> $KS_BUILD/vg/tests) under
# valgrind memcheck: any memory error or definite leak fails the test binary. One line per
# binary (cmocka counts, valgrind's error and leak summary), then "N passed, N failed".
# KS_VG_FILTER=<regex> picks binaries by name.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build=${KS_BUILD:-build}
logdir=$build/vg/logs
mkdir -p "$logdir"
export KS_SHARED_DIR=${KS_SHARED_DIR:-$(cd .. && pwd)/shared}
command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed (make deps)" >&2; exit 1; }

passed=0
failed=0
mapfile -t bins < <(find "$build/vg/tests" -type f -perm -u+x 2>/dev/null | sort |
  grep -E "${KS_VG_FILTER:-.}")
if ((${#bins[@]} == 0)); then
  echo "valgrind: no test binaries in $build/vg/tests (make vg-bin)" >&2
  exit 1
fi
for bin in "${bins[@]}"; do
  name=${bin#"$build"/vg/tests/}
  log="$logdir/${name//\//_}.log"
  vglog="$logdir/${name//\//_}.valgrind"
  # Timing-sensitive tests get 20x the time under valgrind; the deadlines are theirs.
  timeout 1200 valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=yes --num-callers=30 --log-file="$vglog" \
    "$bin" >"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  errs=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vglog" | tail -1)
  lost=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tail -1)
  summary="${p:-0} passed, ${f:-0} failed; valgrind: ${errs:-?} errors, definitely lost ${lost:-0} bytes"
  if ((rc != 0)); then
    failed=$((failed + 1))
    echo "FAIL vg   $name (exit $rc; $summary) — $vglog"
    grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|[0-9,]+ bytes in .* definitely|   (at|by) 0x)' \
      "$vglog" | head -40 | sed 's/^/    /'
    grep -E '^\[  FAILED  \]|^\[  ERROR   \]' "$log" | head -10 | sed 's/^/    /'
  else
    passed=$((passed + 1))
    echo "ok   vg   $name ($summary)"
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
