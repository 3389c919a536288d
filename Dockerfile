# syntax=docker/dockerfile:1
#
# baton's container image: `docker build -t baton .` (BuildKit, the default builder since
# Docker 23). Two stages: the release build, then a small Debian runtime with only the
# binary, CA certificates (the chat platforms are reached over TLS with the system's roots)
# and curl for the health check. The pictures' font is embedded in the binary and the
# database migrations are compiled in, so nothing else is copied.

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
# Keep symbols for readable backtraces, drop the debug info the release profile asks for.
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo
COPY . .
# The registry and the target directory live in BuildKit caches, so a source change
# rebuilds baton, not its dependencies. The binary is copied out of the cache mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin baton \
    && install -D -m 0755 target/release/baton /out/baton

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# Unpinned on purpose: the Debian release is pinned above, and its security updates should land.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 baton \
    && useradd --system --uid 10001 --gid baton --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin baton
COPY --from=build /out/baton /usr/local/bin/baton
# Listen on every interface inside the container (baton's own default is loopback only).
ENV BATON_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# /healthz says the process answers; readiness (/readyz, which also checks the database)
# is for load balancers and Kubernetes, not for restarting the container.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["baton"]
CMD ["serve"]
