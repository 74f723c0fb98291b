#!/usr/bin/env bash
# Installs every Debian and npm package the build, tests, demo and benchmarks need.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(
  build-essential pkg-config curl ca-certificates
  libcurl4-openssl-dev libuv1-dev libyaml-dev libcjson-dev libxml2-dev libssl-dev zlib1g-dev
  libwebsockets-dev libwebsockets-evlib-uv libcmocka-dev
  clang clang-format clang-tidy cppcheck valgrind libclang-rt-dev
  nodejs npm yamllint shellcheck unzip
)

# The image test (KS_IMAGE_TEST=1, set by .ci/run) builds the container image with a
# private dockerd and a debootstrapped base: see scripts/image.sh.
if [[ ${KS_IMAGE_TEST:-0} == 1 ]]; then
  APT_PKGS+=(docker.io debootstrap)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# nodejs from another source (e.g. nodesource) satisfies node+npm: skip Debian's.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: one lockfile per folder that has a package.json under e2e/.
# e2e/bench (the peer consumer, ~100 MB) only when KS_BENCH=1 (make bench).
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  if [[ $dir == e2e/bench* && ${KS_BENCH:-0} != 1 ]]; then continue; fi
  stamp="$dir/node_modules/.ks-lock-sha"
  sum=$(sha256sum "$lock" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$sum" ]]; then continue; fi
  echo "install-deps: npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$sum" >"$stamp"
done < <(find e2e -name package-lock.json -not -path '*/node_modules/*' | sort)
