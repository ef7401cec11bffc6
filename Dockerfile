# PeerRelay container image (docs/install.md, "Container image").
#
#   docker build -t peerrelay .
#   docker run -d -p 8700:8700 -v ./relay.toml:/etc/peerrelay/relay.toml:ro peerrelay
#
# Two stages: the .NET SDK publishes the self-contained single file (as scripts/publish.sh does), and a
# runtime-deps image (glibc, OpenSSL, CA certificates: no .NET) runs it as an unprivileged user. The base images are
# build arguments: scripts/container-check.sh builds this same file with podman from a Debian base made locally with
# debootstrap, since the machine it runs on cannot pull images.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${SDK_IMAGE} AS build
ARG TARGETARCH
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN case "${TARGETARCH:-amd64}" in amd64) rid=linux-x64 ;; arm64) rid=linux-arm64 ;; *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; esac \
 && dotnet restore src/PeerRelay/PeerRelay.csproj -r "$rid" \
 && dotnet publish src/PeerRelay/PeerRelay.csproj -c Release -r "$rid" --no-restore --self-contained \
      -p:PublishSingleFile=true -warnaserror -nologo -o /out \
 && rm -f /out/*.xml /out/*.staticwebassets.endpoints.json

FROM ${RUNTIME_IMAGE}
# curl for the HEALTHCHECK (Debian-based runtime-deps images have none); a fixed unprivileged user, as the .NET
# images define it (uid 1654 "app"), so that Kubernetes' runAsNonRoot can check it.
RUN command -v curl >/dev/null || (apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*) \
 && (id -u app >/dev/null 2>&1 || useradd --system --uid 1654 --user-group --no-create-home --shell /usr/sbin/nologin app) \
 && mkdir -p /etc/peerrelay
COPY --from=build /out/peerrelay /usr/local/bin/peerrelay
COPY deploy/container/relay.toml /etc/peerrelay/relay.toml

# Settings: mount a relay.toml over /etc/peerrelay/relay.toml (the ProxyStore relay's file works as it is), or set
# single keys with PEERRELAY_* environment variables (PEERRELAY_PORT, PEERRELAY_LOGGING__DEFAULT_LEVEL, ...;
# docs/configuration.md), which win over the file. Logs go to standard output.
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1
USER 1654:1654
EXPOSE 8700
# /healthz answers 200 while the relay serves (also while it drains on SIGTERM); docker stop sends SIGTERM and the
# relay closes clients with 1001 within close_timeout (5 s) + 3 s, under docker's default 10 s grace period.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:${PEERRELAY_PORT:-8700}/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/peerrelay"]
CMD ["serve", "--config", "/etc/peerrelay/relay.toml"]
