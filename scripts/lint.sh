#!/usr/bin/env bash
# clang-format (check only), clang-tidy and cppcheck over every C file of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t srcs < <(find pkg cmd e2e/itest -name '*.c' 2>/dev/null | sort)
mapfile -t hdrs < <(find pkg cmd -name '*.h' 2>/dev/null | sort)
cflags=(-std=c11 -D_GNU_SOURCE -DKS_VERSION='"lint"' -Ipkg)
read -r -a pkgflags <<<"$(pkg-config --cflags libcurl libuv yaml-0.1 libcjson libwebsockets libxml-2.0 openssl zlib)"

echo "lint: clang-format" >&2
clang-format --dry-run --Werror "${srcs[@]}" "${hdrs[@]}"

echo "lint: clang-tidy" >&2
# Files are independent: two clang-tidy processes, one per half of the list.
tidy_dir=$(mktemp -d)
trap 'rm -rf "$tidy_dir"' EXIT
half=$(((${#srcs[@]} + 1) / 2))
clang-tidy --quiet "${srcs[@]:0:half}" -- "${cflags[@]}" "${pkgflags[@]}" >"$tidy_dir/1" 2>&1 &
p1=$!
clang-tidy --quiet "${srcs[@]:half}" -- "${cflags[@]}" "${pkgflags[@]}" >"$tidy_dir/2" 2>&1 &
p2=$!
rc=0
wait "$p1" || rc=1
wait "$p2" || rc=1
if ((rc)); then
  cat "$tidy_dir/1" "$tidy_dir/2" | grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated' >&2
  echo "lint: clang-tidy found problems" >&2
  exit 1
fi

echo "lint: cppcheck" >&2
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --inline-suppr --suppress=missingIncludeSystem -Ipkg --std=c11 -D_GNU_SOURCE "${srcs[@]}"
echo "lint: clean" >&2
