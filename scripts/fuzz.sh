#!/usr/bin/env bash
# libFuzzer runs of every target built by `make fuzz` ($KS_BUILD/fuzz/<mod>/<name>_fuzz).
# Each target fuzzes for FUZZ_SECONDS on a scratch copy of its committed corpus
# (e2e/fuzz/corpus/<name>/ is never written; new inputs stay in $KS_BUILD/fuzz/corpus/<name>,
# crashes go to $KS_BUILD/fuzz/artifacts/). FUZZ_ONLY=<regex> picks targets by name.
# Prints one line per target and "N passed, N failed"; non-zero exit on any finding.
#   scripts/fuzz.sh --probe   exit 0 when $FUZZ_CC (default clang) can link libFuzzer
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

cc=${FUZZ_CC:-clang}
if [[ ${1:-} == --probe ]]; then
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe/p.c"
  command -v "$cc" >/dev/null 2>&1 &&
    "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1
  exit
fi

build=${KS_BUILD:-build}
seconds=${FUZZ_SECONDS:-30}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/fuzz/artifacts" "$build/fuzz/logs"
passed=0
failed=0
mapfile -t bins < <(find "$build/fuzz" -path "$build/fuzz/obj" -prune -o \
  -type f -name '*_fuzz' -perm -u+x -print 2>/dev/null | sort)
if ((${#bins[@]} == 0)); then
  echo "fuzz: no targets in $build/fuzz (run make fuzz)" >&2
  exit 1
fi
for bin in "${bins[@]}"; do
  name=$(basename "$bin" _fuzz)
  [[ $name =~ ${FUZZ_ONLY:-.} ]] || continue
  seeds=e2e/fuzz/corpus/$name
  work=$build/fuzz/corpus/$name
  log=$build/fuzz/logs/$name.log
  mkdir -p "$work"
  [[ -d $seeds ]] && cp -n "$seeds"/* "$work"/ 2>/dev/null
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/artifacts/$name-" "$work" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "ok   fuzz $name (${seconds}s, ${execs:-?} runs, ${cov:-cov: ?}, corpus $(find "$work" -type f | wc -l))"
  else
    failed=$((failed + 1))
    echo "FAIL fuzz $name (exit $rc) — $log"
    grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|    #[0-9]+ )' "$log" | head -40 | sed 's/^/    /'
    find "$build/fuzz/artifacts" -name "$name-*" 2>/dev/null | sed "s/^/    artifact: /"
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
