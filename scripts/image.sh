#!/usr/bin/env bash
# Builds the container image kinesis-sidecar:<VERSION> (and :latest) from ./Dockerfile.
#
#   scripts/image.sh                 build the image (what `make image` runs)
#   scripts/image.sh exec CMD ARG…   run CMD with DOCKER_HOST pointing at a Docker engine
#                                    (the private one below when none runs), e.g.
#                                    scripts/image.sh exec docker run --rm kinesis-sidecar --version
#
# Works on an ordinary machine (a running dockerd, a reachable image registry): then it is
# a plain `docker build`. Where no engine runs, it starts a private dockerd (own data root
# under ~/.cache/kinesis-sidecar/docker, own socket in a temp dir, --bridge=none
# --iptables=false) and stops it on exit. Where no image registry is reachable, it makes the FROM image
# (debian:bookworm-slim) with `debootstrap --variant=minbase bookworm` from the Debian
# mirror this machine's apt sources name, and imports it under that tag. The build runs
# with --network=host (the RUN steps fetch Debian packages).
#
# Environment:
#   KS_IMAGE            image name (default kinesis-sidecar)
#   KS_IMAGE_BASE       auto (default) | pull | debootstrap — how to get the base image
#   KS_DEBIAN_MIRROR    Debian mirror for debootstrap (default: from the apt sources)
#   KS_IMAGE_DATA_ROOT  private dockerd's data root (default ~/.cache/kinesis-sidecar/docker)
#   KS_IMAGE_CONTEXT    worktree (default) | head — build the work tree, or what is
#                       committed at HEAD (git archive; ignores half-edited files)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${KS_IMAGE:-kinesis-sidecar}
VERSION=$(cat VERSION 2>/dev/null || echo 0.0.0)
BASE_MODE=${KS_IMAGE_BASE:-auto}
# Outside the work tree: the Makefile's `find build -name '*.d'` must never see an image
# root file system (its /etc/rc2.d is a directory), and the layer cache survives `make clean`.
DATA_ROOT=${KS_IMAGE_DATA_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kinesis-sidecar/docker}
# The FROM image, read off the Dockerfile (every stage uses the same one).
BASE=$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' Dockerfile | sort -u)
[[ $(wc -l <<<"$BASE") -eq 1 ]] || { echo "image: expected one base image in Dockerfile, got: $BASE" >&2; exit 1; }

log() { printf 'image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

TMP=""
DOCKERD_PID=""
cleanup() {
  local rc=$?
  if [[ -n $DOCKERD_PID ]]; then
    log "stopping private dockerd (pid $DOCKERD_PID)"
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
  if [[ -n $TMP ]]; then
    # dockerd's exec root may still hold a mount (netns) for a moment after it exits.
    local m
    for _ in $(seq 1 50); do
      while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v t="$TMP" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
      rm -rf "$TMP" 2>/dev/null && break
      sleep 0.1
    done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

engine_up() { timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_private_dockerd() {
  command -v dockerd >/dev/null || die "no Docker engine reachable and no dockerd to start (Debian: apt-get install docker.io)"
  [[ $(id -u) -eq 0 ]] || die "no Docker engine reachable; starting a private dockerd needs root"
  TMP=$(mktemp -d /tmp/ks-image.XXXXXX)
  mkdir -p "$DATA_ROOT" "$TMP/exec"
  local sock=$TMP/docker.sock
  log "starting private dockerd (data root $DATA_ROOT, socket $sock)"
  # Own containerd (dockerd starts one under its exec root), no bridge, no iptables rules.
  dockerd --data-root "$DATA_ROOT" --exec-root "$TMP/exec" --pidfile "$TMP/dockerd.pid" \
    --host "unix://$sock" --bridge=none --iptables=false --ip-masq=false \
    >"$TMP/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$sock
  for _ in $(seq 1 300); do
    engine_up && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$TMP/dockerd.log" >&2 || true
  die "private dockerd did not come up"
}

ensure_engine() {
  command -v docker >/dev/null || die "no docker client (Debian: apt-get install docker.io)"
  if engine_up; then
    log "using the running Docker engine ${DOCKER_HOST:-(default socket)}"
  else
    start_private_dockerd
    # The private engine has no buildx; its classic builder supports --network=host.
    export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
  fi
}

# The Debian mirror the apt sources of this machine use (deb822 .sources or one-line lists).
debian_mirror() {
  if [[ -n ${KS_DEBIAN_MIRROR:-} ]]; then echo "$KS_DEBIAN_MIRROR"; return; fi
  local f m
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    m=$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm([ \n]|$)/ && /Components:[^\n]*main/ {
          if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0,RSTART,RLENGTH); sub(/URIs:[ \t]*/,"",s); print s; exit } }' "$f")
    [[ -n $m ]] && { echo "$m"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    m=$(awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                         if ($(i+1)=="bookworm") { print $i; exit } }' "$f")
    [[ -n $m ]] && { echo "$m"; return; }
  done
  echo "http://deb.debian.org/debian"
}

debootstrap_base() {
  command -v debootstrap >/dev/null || die "no image registry reachable and no debootstrap (Debian: apt-get install debootstrap)"
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
  local mirror dir
  mirror=$(debian_mirror)
  [[ -n $TMP ]] || TMP=$(mktemp -d /tmp/ks-image.XXXXXX)
  dir=$TMP/rootfs
  log "making $BASE with debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$TMP/debootstrap.log" 2>&1 ||
    { tail -30 "$TMP/debootstrap.log" >&2; die "debootstrap failed"; }
  # What the official slim image leaves out: package caches, docs, man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*
  tar --numeric-owner -C "$dir" -c . |
    docker import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE" >/dev/null
  rm -rf "$dir"
  log "imported $BASE"
}

ensure_base() {
  if docker image inspect "$BASE" >/dev/null 2>&1; then
    log "base image $BASE present"
    return
  fi
  case $BASE_MODE in
    debootstrap) debootstrap_base ;;
    pull) docker pull "$BASE" ;;
    auto)
      if timeout 120 docker pull "$BASE" >/dev/null 2>&1; then
        log "pulled $BASE"
      else
        log "no image registry reachable for $BASE"
        debootstrap_base
      fi
      ;;
    *) die "KS_IMAGE_BASE must be auto, pull or debootstrap" ;;
  esac
}

build() {
  ensure_engine
  ensure_base
  local start=$SECONDS
  log "building $IMAGE:$VERSION"
  local args=(--network=host --build-arg "VERSION=$VERSION" -t "$IMAGE:$VERSION" -t "$IMAGE:latest")
  case ${KS_IMAGE_CONTEXT:-worktree} in
    worktree) docker build "${args[@]}" . ;;
    head) git archive --format=tar HEAD | docker build "${args[@]}" - ;;
    *) die "KS_IMAGE_CONTEXT must be worktree or head" ;;
  esac
  log "built $IMAGE:$VERSION in $((SECONDS - start)) s ($(docker image inspect --format '{{.Size}}' "$IMAGE:$VERSION") bytes)"
}

case ${1:-build} in
  build) build ;;
  exec)
    shift
    (($#)) || die "usage: scripts/image.sh exec CMD [ARG…]"
    ensure_engine
    # Not exec: the trap must stop the private dockerd after CMD ends.
    "$@" &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT
    while :; do
      rc=0
      wait "$child" || rc=$?
      # > 128: a trapped signal interrupted wait (or the child died of a signal). Wait
      # for the child's own status (127 = it was already collected).
      if ((rc > 128)); then
        if kill -0 "$child" 2>/dev/null; then continue; fi
        r2=0
        wait "$child" 2>/dev/null || r2=$?
        ((r2 == 127)) || rc=$r2
      fi
      break
    done
    exit "$rc"
    ;;
  *) die "usage: scripts/image.sh [build | exec CMD ARG…]" ;;
esac
