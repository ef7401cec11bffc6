#!/usr/bin/env bash
# wss:// side by side (issue 17, TLS): what TLS costs a relay deployment, per TLS handshake + registration and per
# forwarded message, for the three ways to serve wss:// on one host:
#
#   floor+nginx   the floor (shared/floor-relay, ws://) behind Debian's nginx terminating TLS
#   relay-tls     `peerrelay serve` terminating TLS itself (certfile/keyfile: the PEM certificate)
#   relay+nginx   `peerrelay serve` (ws://, trusted_proxies = nginx) behind the same nginx
#   floor         (with --plain; no TLS) the floor on ws://, to show what TLS itself adds
#
# nginx runs the shipped site file deploy/nginx/peerrelay.conf (HTTP proxy with the WebSocket upgrade and
# X-Forwarded-For, as an operator runs it; see docs/performance.md) changed only where a bench differs (listen address,
# certificate, upstream port), under a main file like Debian's nginx.conf with worker_processes 1. Everything the
# deployment runs is pinned to CPU 0 (nginx's master and worker, the relay), the load generator to CPU 1; "server CPU"
# is every process of the deployment (nginx master + worker + relay), from /proc. A fresh deployment per case, warmed
# up (4 s of forwarding and 2 s of churn, the same for all: PeerRelay's TLS path is still being tiered up by the JIT
# after 3 s, ~30 % above its steady cost per message); repetitions interleaved with the order rotated; medians; every
# figure also as a ratio to floor+nginx of the same run. The certificate is a throwaway ECDSA P-256 one (what certbot
# issues by default), made with openssl for the run; --key rsa makes an RSA 2048 one.
#
#   benchmarks/run-tls.sh [--reps N] [--quick] [--key ec|rsa] [--plain] [--out FILE] [--note TEXT]
#
# A run of 3 repetitions takes about 7 minutes (9 with --plain).
#
# Writes benchmarks/results/YYYY-MM-DD-tls.md (and the raw JSON lines next to it, .jsonl). The load generator makes a
# full TLS handshake on every connect (session resumption off; nginx's access log, which records $ssl_session_reused,
# is checked for it). PEERRELAY_* variables in the environment reach both relay deployments (e.g.
# PEERRELAY_SOCKET_TRANSPORT). Needs: .NET SDK, nginx, openssl, cc and make (the floor), taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=benchmarks/bench-servers.sh
source benchmarks/bench-servers.sh

invocation="benchmarks/run-tls.sh $*"
reps=3
quick=0
key=ec
plain=0
note=""
out="benchmarks/results/$(date -u +%F)-tls.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --key) key=$2; shift 2 ;;
    --plain) plain=1; shift ;;
    --out) out=$2; shift 2 ;;
    --note) note=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $key == ec || $key == rsa ]] || { echo "--key must be ec or rsa" >&2; exit 2; }

nginx_bin=${NGINX:-/usr/sbin/nginx}
front=${BENCH_PORT:-18893}
back=$((front + 1))
scratch=${BENCH_SCRATCH:-/tmp/peerrelay-bench}
server_cpu=${BENCH_SERVER_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
raw="${out%.md}.jsonl"
log="$scratch/logs"
tls_dir="$scratch/tls"
mkdir -p "$scratch" "$log" "$tls_dir" "$(dirname "$out")"
[[ -x $nginx_bin ]] || { echo "no nginx at $nginx_bin (apt-get install nginx, or set NGINX)" >&2; exit 1; }
started=$(date -u '+%F %T')

# --- The floor, the relay (Release), the load generator ---
floor_src=$(find_floor "$root")
[[ -n $floor_src ]] || { echo "no shared/floor-relay found (BENCH_FLOOR_DIR)" >&2; exit 1; }
build_floor "$floor_src"
dotnet build src/PeerRelay/PeerRelay.csproj -c Release -nologo -v quiet >/dev/null
dotnet build benchmarks/PeerRelay.LoadTest/PeerRelay.LoadTest.csproj -c Release -nologo -v quiet >/dev/null
relay_dll="$root/src/PeerRelay/bin/Release/net10.0/peerrelay.dll"
load_dll="$root/benchmarks/PeerRelay.LoadTest/bin/Release/net10.0/PeerRelay.LoadTest.dll"

# --- A throwaway certificate for localhost and 127.0.0.1; the load generator trusts exactly it (--ca) ---
cert="$tls_dir/cert.pem"
keyfile="$tls_dir/key.pem"
if [[ $key == ec ]]; then newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); else newkey=(-newkey rsa:2048); fi
openssl req -x509 "${newkey[@]}" -nodes -keyout "$keyfile" -out "$cert" -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>"$log/tls-cert.log"

# --- nginx: the shipped site file, with only the listen address, the certificate and the upstream changed ---
nginx_prefix="$tls_dir/nginx"
mkdir -p "$nginx_prefix/logs"
python3 - "$root/deploy/nginx/peerrelay.conf" "$tls_dir/site.conf" "$front" "$back" "$cert" "$keyfile" <<'PY'
import sys
src, dst, front, back, cert, key = sys.argv[1:]
site = open(src).read()
for old, new in (("listen 443 ssl;", f"listen 127.0.0.1:{front} ssl;"),
                 ("listen [::]:443 ssl;", ""),
                 ("/etc/letsencrypt/live/relay.example.org/fullchain.pem", cert),
                 ("/etc/letsencrypt/live/relay.example.org/privkey.pem", key),
                 ("server 127.0.0.1:8700;", f"server 127.0.0.1:{back};")):
    if site.count(old) != 1:
        sys.exit(f"deploy/nginx/peerrelay.conf should hold {old!r} exactly once")
    site = site.replace(old, new)
open(dst, "w").write(site)
PY
# Debian's nginx.conf, with worker_processes 1 (one core for the whole deployment), room for 2 descriptors per client
# (the client's and the upstream's), and an access log that also says how each TLS session was set up.
cat >"$tls_dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $nginx_prefix/nginx.pid;
error_log $nginx_prefix/logs/error.log;
events { worker_connections 19000; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    log_format tls '\$remote_addr [\$time_local] "\$request" \$status \$ssl_protocol \$ssl_cipher \$ssl_curve reused=\$ssl_session_reused';
    access_log $nginx_prefix/logs/access.log tls;
    gzip on;
    client_body_temp_path $nginx_prefix/client_body;
    proxy_temp_path $nginx_prefix/proxy;
    fastcgi_temp_path $nginx_prefix/fastcgi;
    uwsgi_temp_path $nginx_prefix/uwsgi;
    scgi_temp_path $nginx_prefix/scgi;
    include $tls_dir/site.conf;
}
EOF
"$nginx_bin" -t -p "$nginx_prefix" -c "$tls_dir/nginx.conf" -e stderr 2>"$log/tls-nginx-t.log" \
  || { cat "$log/tls-nginx-t.log" >&2; exit 1; }

# --- Deployments ---
servers=(floor+nginx relay-tls relay+nginx)
[[ $plain == 0 ]] || servers+=(floor)
relay_base=(env DOTNET_gcServer=0 taskset -c "$server_cpu" dotnet "$relay_dll" serve --config benchmarks/loopback.toml)
server_pid=""
nginx_pid=""
backend_pid=""
pids=()     # every process of the deployment: CPU and RSS are summed over them
also=()     # nginx's worker, also reported on its own

# Starts a process pinned to the server CPU on port $2, waits until it listens; sets server_pid.
start_on() { # name, port, command...
  local name=$1
  port=$2
  shift 2
  if port_open; then echo "port $port is in use; set BENCH_PORT" >&2; exit 1; fi
  "$@" >"$log/tls-$name.log" 2>&1 &
  server_pid=$!
  wait_listening "$name" "$log/tls-$name.log"
}

start_deployment() {
  pids=(); also=(); nginx_pid=""; backend_pid=""
  case $1 in
    floor) start_on floor "$front" taskset -c "$server_cpu" "$scratch/floor-relay/floor_relay" "$front"; backend_pid=$server_pid ;;
    relay-tls)
      start_on relay-tls "$front" env PEERRELAY_CERTFILE="$cert" PEERRELAY_KEYFILE="$keyfile" "${relay_base[@]}" --host 127.0.0.1 --port "$front"
      backend_pid=$server_pid ;;
    floor+nginx|relay+nginx)
      if [[ $1 == floor+nginx ]]; then
        start_on floor-backend "$back" taskset -c "$server_cpu" "$scratch/floor-relay/floor_relay" "$back"
      else
        start_on relay-backend "$back" env PEERRELAY_TRUSTED_PROXIES='["127.0.0.1"]' "${relay_base[@]}" --host 127.0.0.1 --port "$back"
      fi
      backend_pid=$server_pid
      : >"$nginx_prefix/logs/access.log"
      start_on "nginx-$1" "$front" taskset -c "$server_cpu" "$nginx_bin" -p "$nginx_prefix" -c "$tls_dir/nginx.conf" -e stderr
      nginx_pid=$server_pid
      local worker=""
      for _ in $(seq 50); do worker=$(pgrep -P "$nginx_pid" | head -1 || true); [[ -z $worker ]] || break; sleep 0.1; done
      [[ -n $worker ]] || { echo "nginx started no worker; see $log/tls-nginx-$1.log" >&2; exit 1; }
      pids+=("$nginx_pid" "$worker"); also=("$worker") ;;
  esac
  pids+=("$backend_pid")
}

# Stops nginx first (its clients go), then the relay or floor; each port drains before the next deployment binds it.
stop_deployment() {
  if [[ -n $nginx_pid ]]; then server_pid=$nginx_pid; port=$front; stop_server; fi
  if [[ -n $backend_pid ]]; then server_pid=$backend_pid; port=$([[ -n $nginx_pid ]] && echo "$back" || echo "$front"); stop_server; fi
  nginx_pid=""; backend_pid=""
}
trap 'stop_deployment' EXIT

url_of() { if [[ $1 == floor ]]; then echo "ws://127.0.0.1:$front/"; else echo "wss://localhost:$front/"; fi; }
load() { # deployment, load generator arguments...
  local d=$1
  shift
  taskset -c "$load_cpu" dotnet "$load_dll" "$@" --target relay --url "$(url_of "$d")" --ca "$cert" --json-only
}

# What a deployment negotiates with a client of the machine's OpenSSL defaults (the load generator's .NET uses them):
# protocol, cipher and key-exchange group (.NET does not expose the group).
negotiated() {
  openssl s_client -connect "127.0.0.1:$front" -servername localhost -CAfile "$cert" </dev/null 2>/dev/null \
    | awk -F': ' '/^Server Temp Key/ {g=$2} /^New, / {sub(/^New, /, ""); p=$0} END {print p "; group " g}'
}

if [[ $quick == 1 ]]; then
  secs=2; warm=1; clients=500
else
  secs=3; warm=1; clients=${BENCH_TLS_CLIENTS:-2000}
fi
cases=(
  "connect-$clients|connect --clients $clients --hold 1"
  "forward-10x200|forward --pairs 10 --size 200"
  "churn|churn --concurrency 4"
)

declare -A tls_seen
: >"$raw"
for rep in $(seq "$reps"); do
  for entry in "${cases[@]}"; do
    name=${entry%%|*}
    args=${entry#*|}
    rotate_servers "$rep"
    for server in "${order[@]}"; do
      run_started=$SECONDS
      start_deployment "$server"
      if [[ $server != floor && -z ${tls_seen[$server]:-} ]]; then tls_seen[$server]=$(negotiated); fi
      # Warm-up, the same for all: forwarding (JIT tier-up of the message path) and churn (the handshake's);
      # $warm_rounds times (bench-servers.sh).
      for _ in $(seq "$warm_rounds"); do
        load "$server" forward --pairs 10 --seconds 4 --warmup 0 >/dev/null 2>>"$log/tls-load.log" || true
        load "$server" churn --seconds 2 --warmup 0 >/dev/null 2>>"$log/tls-load.log" || true
        settle "${pids[@]}"
      done
      pid_args=()
      for p in "${pids[@]}"; do pid_args+=(--server-pid "$p"); done
      for p in "${also[@]}"; do pid_args+=(--also-pid "$p"); done
      # shellcheck disable=SC2086
      if json=$(load "$server" $args --warmup "$warm" --seconds "$secs" "${pid_args[@]}" 2>>"$log/tls-load.log" | tail -1); then :; fi
      [[ -n $json ]] || json=null
      stop_deployment
      nginx_log=null
      if [[ $server == *+nginx ]]; then
        # nginx logs each WebSocket (101) when it ends: how its TLS session was set up, and whether it was resumed
        # (the script's own probes of the port, which send nothing, are not counted).
        nginx_log=$(awk '$0 !~ /" 101 / {next} {n++; if ($NF == "reused=r") r++; k[$(NF-3) " " $(NF-2) " " $(NF-1)]++}
          END {printf "{\"connections\":%d,\"resumed\":%d,\"tls\":[", n, r; s=""; for (x in k) {printf "%s\"%s: %d\"", s, x, k[x]; s=","} printf "]}"}' \
          "$nginx_prefix/logs/access.log")
      fi
      echo "{\"case\":\"$name\",\"rep\":$rep,\"server\":\"$server\",\"nginxLog\":$nginx_log,\"result\":$json}" >>"$raw"
      echo "rep $rep $name $server ($((SECONDS - run_started)) s): $json" >&2
    done
  done
done
finished=$(date -u '+%F %T')

negotiated_json=$(for s in "${!tls_seen[@]}"; do printf '%s\t%s\n' "$s" "${tls_seen[$s]}"; done)
python3 benchmarks/tls-report.py "$raw" "$out" --started "$started" --finished "$finished" --reps "$reps" \
  --note "$note" --invocation "$invocation" --key "$key" --negotiated "$negotiated_json" \
  --nginx-version "$("$nginx_bin" -v 2>&1)" --openssl-version "$(openssl version)" \
  --servers "${servers[*]}" --relay-env "$(env | grep '^PEERRELAY_' | sort | tr '\n' ' ' || true)" --floor-status "built from $floor_src (floor_relay.c sha256 $(sha256sum "$floor_src/floor_relay.c" | cut -c1-12)) with $(cc --version | head -1)"
echo "wrote $out and $raw" >&2
