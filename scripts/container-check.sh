#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman and proves the image (docs/install.md, "Container image"): build,
# run with a mounted relay.toml, health check on /healthz, `peerrelay check` through the published port, non-root user,
# PEERRELAY_* settings, stop with SIGTERM and a clean exit. Not run by test.sh (a fresh machine spends minutes on
# debootstrap and the image build); run it before a release, and after changing the Dockerfile or deploy/container/.
#
# Machines that cannot pull images (this project's): the Dockerfile's two base images are made here instead.
#   runtime base  Debian bookworm from the package mirror: debootstrap --variant=minbase, plus ca-certificates,
#                 libssl3, libicu72 and curl (what mcr.microsoft.com/dotnet/runtime-deps holds, and the health
#                 check's curl)
#   SDK           that base plus this machine's .NET SDK (/usr/share/dotnet); NuGet packages come from this
#                 machine's package folder, mounted into the build
# Both are passed to the Dockerfile as SDK_IMAGE and RUNTIME_IMAGE; the Dockerfile itself is used unchanged.
#
#   scripts/container-check.sh            (as root; needs debootstrap, podman, buildah, runc)
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), PEERRELAY_CONTAINER_WORK (default
# /var/tmp/peerrelay-container: the debootstrap tree is kept there and reused).
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
work=${PEERRELAY_CONTAINER_WORK:-/var/tmp/peerrelay-container}
image=localhost/peerrelay:check
name=peerrelay-check-$$
mkdir -p "$work"

for tool in debootstrap podman buildah runc; do
  command -v "$tool" >/dev/null || { echo "container-check: $tool is missing: apt-get install debootstrap podman buildah runc" >&2; exit 2; }
done

# This machine runs inside a sandbox with hybrid cgroups and a fixed rlimit: crun refuses hybrid cgroups and podman's
# default ulimits cannot be set. runc with no default ulimits works; a normal Docker or podman host needs neither.
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "runtime base: Debian $suite from $mirror (debootstrap --variant=minbase)"
packages=ca-certificates,libssl3,libicu72,curl
rootfs="$work/rootfs-$suite-${packages//,/-}"
if [ ! -f "$rootfs.complete" ]; then
  rm -rf "$rootfs"
  run debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  touch "$rootfs.complete"
else
  echo "reusing $rootfs (delete $rootfs.complete to make it again)"
fi
tar -C "$rootfs" -c . | run podman import --change 'CMD ["/bin/bash"]' - "localhost/peerrelay-debian:$suite" >/dev/null
run podman run --rm "localhost/peerrelay-debian:$suite" cat /etc/debian_version

step "SDK image: the runtime base plus this machine's .NET SDK"
sdk_version=$(dotnet --version)
ctr=$(buildah from "localhost/peerrelay-debian:$suite")
run buildah copy --quiet "$ctr" /usr/share/dotnet /usr/share/dotnet >/dev/null
# The machine's trusted CA bundle too: where outbound HTTPS goes through an intercepting proxy (as here), the build's
# restore must trust what the machine trusts.
run buildah copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
run buildah config --env DOTNET_ROOT=/usr/share/dotnet --env PATH=/usr/share/dotnet:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_NOLOGO=1 "$ctr"
run buildah commit --quiet --rm "$ctr" "localhost/peerrelay-sdk:$sdk_version" >/dev/null
run podman run --rm "localhost/peerrelay-sdk:$sdk_version" dotnet --version

step "build: the Dockerfile, unchanged, with the two local base images"
started=$(date +%s)
# Host networking for the build: this sandbox gives containers no route out, and the restore asks the package
# source for vulnerability data (the packages themselves come from the mounted folder).
arch=$(case "$(uname -m)" in aarch64) echo arm64 ;; *) echo amd64 ;; esac)
run podman build --format docker --pull=never --network host --build-arg "TARGETARCH=$arch" \
  --build-arg "SDK_IMAGE=localhost/peerrelay-sdk:$sdk_version" --build-arg "RUNTIME_IMAGE=localhost/peerrelay-debian:$suite" \
  --volume "${NUGET_PACKAGES:-$HOME/.nuget/packages}:/root/.nuget/packages" \
  -t "$image" -f Dockerfile . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
echo "built in $(( $(date +%s) - started )) s"
run podman image inspect "$image" --format 'size {{.Size}} bytes; user {{.Config.User}}; entrypoint {{.Config.Entrypoint}} {{.Config.Cmd}}; healthcheck {{.Config.Healthcheck.Test}}'

step "run: a mounted relay.toml (a marker key the relay warns about, DEBUG level), published on 127.0.0.1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/relay.toml" <<'EOF'
port = 8700
container_check_marker = true
[logging]
default_level = "DEBUG"
EOF
chmod 644 "$work/relay.toml"
run podman run -d --name "$name" -p "127.0.0.1:$port:8700" -v "$work/relay.toml:/etc/peerrelay/relay.toml:ro" "$image" >/dev/null
for _ in $(seq 1 60); do
  podman logs "$name" 2>&1 | grep -q "PeerRelay listening on" && break
  sleep 0.5
done
run podman logs "$name"
podman logs "$name" 2>&1 | grep -q 'relay.toml: unknown key "container_check_marker" is ignored' \
  || { echo "FAIL: the mounted relay.toml was not read"; exit 1; }
echo "the mounted relay.toml was read"

step "health: the image's HEALTHCHECK (curl /healthz) as the engine runs it"
run podman healthcheck run "$name" && echo "healthy"

step "user: not root"
uid=$(podman exec "$name" id -u)
echo "uid inside the container: $uid"
[ "$uid" != 0 ] || { echo "FAIL: the relay runs as root"; exit 1; }

step "peerrelay check: from another container on the host network, through the published port"
run podman run --rm --network host "$image" check "ws://127.0.0.1:$port/" --count 20

step "settings by environment: PEERRELAY_PORT=8701 over the file's port 8700"
env_name="$name-env"
podman run -d --name "$env_name" -e PEERRELAY_PORT=8701 -v "$work/relay.toml:/etc/peerrelay/relay.toml:ro" "$image" >/dev/null
for _ in $(seq 1 60); do
  podman logs "$env_name" 2>&1 | grep -q "PeerRelay listening on" && break
  sleep 0.5
done
podman logs "$env_name" 2>&1 | grep "PeerRelay listening on" || true
if podman logs "$env_name" 2>&1 | grep -q "PeerRelay listening on ws://[^ ]*:8701"; then
  echo "the environment variable won over the file"
else
  echo "NOT SUPPORTED by this build: PEERRELAY_* variables are ignored (the file's port is in force)"
fi
podman rm -f "$env_name" >/dev/null

step "stop: SIGTERM (podman stop), drain, exit 0"
run podman stop -t 15 "$name" >/dev/null
code=$(podman inspect "$name" --format '{{.State.ExitCode}}')
run podman logs --tail 3 "$name"
echo "exit code: $code"
[ "$code" = 0 ] || { echo "FAIL: exit code $code"; exit 1; }

printf '\ncontainer-check: OK\n'
