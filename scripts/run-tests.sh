#!/usr/bin/env bash
# Runs every unit test binary (cmocka, ASan+UBSan) and every e2e case (node:test),
# then prints one closing line: "N passed, N failed". Exits non-zero on any failure.
# KS_ONLY=unit|e2e restricts the run; KS_E2E_FILTER=<regex> picks e2e files.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
build=${KS_BUILD:-build}
logdir=$build/test-logs
mkdir -p "$logdir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export KS_SHARED_DIR=${KS_SHARED_DIR:-$(cd .. && pwd)/shared}

run_unit() {
  local bin name log p f rc
  while IFS= read -r bin; do
    name=${bin#"$build"/tests/}
    log="$logdir/unit-${name//\//_}.log"
    timeout 300 "$bin" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}; f=${f:-0}
    if ((rc != 0 && f == 0)); then f=1; fi  # crashed, sanitizer report or timeout
    passed=$((passed + p)); failed=$((failed + f))
    if ((rc != 0)); then
      echo "FAIL unit $name (exit $rc) — $log"; tail -40 "$log" | sed 's/^/    /'
    else
      echo "ok   unit $name ($p)"
    fi
  done < <(find "$build/tests" -type f -perm -u+x 2>/dev/null | sort)
}

run_e2e() {
  local files log p f rc
  mapfile -t files < <(find e2e -name '*.test.mjs' -not -path '*/node_modules/*' | sort |
    grep -E "${KS_E2E_FILTER:-.}")
  ((${#files[@]})) || return 0
  log="$logdir/e2e.tap"
  node --test --test-concurrency=1 --test-reporter=tap "${files[@]}" >"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}
  if ((rc != 0 && f == 0)); then f=1; fi
  grep -E '^(not )?ok |^# Subtest' "$log" | grep -E '^(not )?ok' | sed 's/^/e2e  /' | head -200
  if ((rc != 0)); then echo "FAIL e2e — see $log"; grep -B2 -A30 '^not ok' "$log" | head -150; fi
  passed=$((passed + p)); failed=$((failed + f))
}

[[ ${KS_ONLY:-} == e2e ]] || run_unit
[[ ${KS_ONLY:-} == unit ]] || run_e2e

echo "$passed passed, $failed failed"
((failed == 0))
