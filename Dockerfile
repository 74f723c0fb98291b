# kinesis-sidecar container image.
#
# Two stages on Debian bookworm-slim: the builder compiles bin/kinesis-sidecar with the
# -dev packages of scripts/install-deps.sh; the runtime stage holds the binary and the
# shared libraries it links, runs as a numeric non-root user and needs no writable path
# (it works with a read-only root filesystem: the FIFO lives on a mounted volume).
#
# Build:  make image            (scripts/image.sh: private dockerd + debootstrap'ed base
#                                when no image registry is reachable)
#   or:   docker build -t kinesis-sidecar .
# The same file builds unchanged wherever debian:bookworm-slim can be pulled.

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
# Keep this list in step with the -dev packages of scripts/install-deps.sh
# (e2e/manifests/dockerfile.test.mjs checks it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config ca-certificates \
      libcurl4-openssl-dev libuv1-dev libyaml-dev libcjson-dev libxml2-dev libssl-dev zlib1g-dev \
      libwebsockets-dev libwebsockets-evlib-uv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY pkg ./pkg
COPY cmd ./cmd
RUN make -j"$(nproc)" bin/kinesis-sidecar \
 && strip --strip-unneeded bin/kinesis-sidecar \
 && ./bin/kinesis-sidecar --version

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only: the shared objects bin/kinesis-sidecar links (ldd), the
# libwebsockets libuv event-loop plugin (dlopen'ed) and the CA bundle for TLS to AWS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4 libuv1 libyaml-0-2 libcjson1 libwebsockets17 libwebsockets-evlib-uv \
      libxml2 libssl3 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/log/* \
      /usr/share/doc /usr/share/man /usr/share/info
COPY --from=build /src/bin/kinesis-sidecar /usr/local/bin/kinesis-sidecar
# Fail the build if a shared library is missing from the runtime stage.
RUN ! ldd /usr/local/bin/kinesis-sidecar | grep -F 'not found' \
 && kinesis-sidecar --version
ARG VERSION=dev
LABEL org.opencontainers.image.title="kinesis-sidecar" \
      org.opencontainers.image.description="Kinesis consumer sidecar: DynamoDB leases, records to a FIFO or a loopback websocket" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# 65532: numeric, so runAsNonRoot can verify it without a passwd entry.
USER 65532:65532
WORKDIR /
EXPOSE 4195
ENTRYPOINT ["kinesis-sidecar"]
CMD ["run", "-c", "/etc/kinesis-sidecar/config.yaml"]
