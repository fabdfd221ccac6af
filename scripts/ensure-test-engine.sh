#!/usr/bin/env bash
# ensure-test-engine.sh: extra Docker engines for tests, each a different host as far as the agent
# can tell: a dockerd in a network namespace of its own, reached over TCP with mutual TLS on that
# namespace's address as a remote engine is (Docker-in-Docker's tcp://docker:2376). Used by
# host-agent/test/helpers/engines.ts; engine N is 1..9.
#
#   start N [--live-restore] [IMAGE...]
#                       make sure engine N answers (idempotent: instant when it does), and that it
#                       has each IMAGE as the main engine has it (`docker save | docker load` when
#                       its id differs). Prints one JSON line: dockerHost, certPath, socket, host.
#                       With --live-restore its dockerd runs with --live-restore (containers keep
#                       running while it is down); an engine running with the other setting is
#                       restarted with this one.
#   restart N [--live-restore]
#                       restart engine N's dockerd alone, in the same namespace, as an operator's
#                       `systemctl restart docker` does: TERM, wait, start again. Without
#                       --live-restore dockerd stops its containers on the way down and starts
#                       those whose restart policy says so on the way up; with it they keep running.
#                       Prints the same JSON line.
#   stop N              stop engine N (its containers with it) and remove its namespace, veth pair
#                       and bridge (idempotent). Its data root stays, so the next start has its
#                       images already.
#
# Engine N's network namespace artie-teng-N is joined to this machine by a veth pair only:
# tengNh 10.198.N.1/24 here, tengNn 10.198.N.2/24 there, and no default route inside, so nothing
# in it reaches past this machine. Its ports, published ones included, answer on 10.198.N.2 and
# not on this machine's loopback, as another host's would. dockerd runs there by `ip netns exec`
# with its own data root, exec root, pid file, config file (empty: the machine's daemon.json is
# not read), unix socket /run/artie-test-engine-N.sock on this machine's filesystem (for image
# loads and the tests' own checks), and -H tcp://10.198.N.2:2376 with --tlsverify: a CA, server
# and client certificates made once with openssl under its state directory. Client certificates
# are required: the engine's API is root on this machine. Its default bridge (tengNbr0,
# 10.199.N.1/24) is made inside the namespace, and it runs with --iptables=false: it writes no
# rules, published ports are served by docker-proxy in the namespace, containers get no NAT and
# no route out. Installs nothing but openssl, and only when it is missing.
#
# Exit codes: 0 done; 3 this machine cannot run another engine (not root, no dockerd or ip, no
# network namespaces, or dockerd would not come up; the reason on stderr), so a test may skip;
# 1 anything else.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

readonly WAIT_SECONDS=60
readonly STOP_WAIT_SECONDS=30
# Docker's own TLS port (the CLI's default for tcp:// with TLS): the namespace is the engine's host.
readonly TCP_PORT=2376

say() { echo "ensure-test-engine: $*" >&2; }
die() {
  say "$@"
  exit 1
}
cannot() {
  say "$@"
  exit 3
}

usage() { die "usage: $0 start N [--live-restore] [IMAGE...] | restart N [--live-restore] | stop N   (N is 1..9)"; }
[ $# -ge 2 ] || usage
readonly CMD=$1 N=$2
shift 2
[[ $N =~ ^[1-9]$ ]] || usage
LIVE_RESTORE=0
if [ "${1:-}" = --live-restore ]; then
  LIVE_RESTORE=1
  shift
fi
readonly LIVE_RESTORE

readonly STATE=/var/lib/artie-test-engines/e$N
readonly EXEC_ROOT=/run/artie-test-engine-$N
readonly PIDFILE=/run/artie-test-engine-$N.pid
readonly SOCKET=/run/artie-test-engine-$N.sock
readonly LOG=/var/log/artie-test-engine-$N.log
readonly LOCK_FILE=/run/artie-test-engine-$N.lock
readonly TLS_DIR=$STATE/tls
readonly CLIENT_DIR=$TLS_DIR/client
readonly NETNS=artie-teng-$N
# Not "artie…": the agent's firewall takes over interfaces by that prefix (INPUT -i artie+).
readonly VETH_HOST=teng${N}h VETH_NS=teng${N}n
readonly HOST_SIDE=10.198.$N.1 ENGINE_ADDRESS=10.198.$N.2 VETH_PREFIX=24
readonly BRIDGE=teng${N}br0
readonly BRIDGE_CIDR=10.199.$N.1/24
readonly ADDRESS_POOL=10.199.$((100 + N)).0/24

# The main engine, named outright: a DOCKER_HOST (or context, or TLS settings) in the caller's
# environment, e.g. a test pointed at engine N, must not make the images come from elsewhere.
readonly MAIN_SOCKET=unix:///var/run/docker.sock
# docker_at SECONDS HOST ARGS...: the CLI at HOST, ended after SECONDS.
docker_at() {
  timeout "$1" env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH docker -H "$2" "${@:3}"
}
engine() { docker_at 60 "unix://$SOCKET" "$@"; }
answers() { engine info >/dev/null 2>&1; }
in_netns() { ip netns exec "$NETNS" "$@"; }

# The pid in this engine's pidfile, when that process is this engine's dockerd: a dockerd started
# with `--pidfile $PIDFILE`. /run outlives reboots here, so a stale pidfile may name any process
# by now, the main dockerd included, which a dockerd check alone would have this script kill.
live_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  # Its argv, one argument a line (NUL-separated in /proc): the one after --pidfile is ours.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -A1 -xF -- --pidfile | tail -n 1 | grep -qxF -- "$PIDFILE" ||
    return 1
  echo "$pid"
}

# The running dockerd's live-restore setting (1 or 0), from its argv.
live_restore_of() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- --live-restore && echo 1 || echo 0; }

# The engine runs in its namespace (an engine of this script's loopback days, or one whose
# namespace was deleted under it, does not count).
in_its_netns() { [ "$(ip netns identify "$1" 2>/dev/null)" = "$NETNS" ]; }

ensure_openssl() {
  command -v openssl >/dev/null && return
  say "installing openssl with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null || die "apt-get install openssl failed"
}

# A CA, the server's certificate for the engine's address and a client certificate, in the CLI's
# layout for the client (ca.pem, cert.pem, key.pem). Made once per address (certificates for
# another one, e.g. 127.0.0.1 of this script's loopback days, are made again); written to a temp
# dir and moved into place.
ensure_certificates() {
  [ -s "$CLIENT_DIR/key.pem" ] && [ "$(cat "$TLS_DIR/address" 2>/dev/null)" = "$ENGINE_ADDRESS" ] && return
  ensure_openssl
  local tmp
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=artie-test-engine-$N-ca" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ENGINE_ADDRESS" >server.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ENGINE_ADDRESS" -keyout server-key.pem -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=artie-test-client" -keyout key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out cert.pem 2>/dev/null
    mkdir client
    cp ca.pem client/ca.pem
    mv cert.pem key.pem client/
    chmod 600 ./*-key.pem client/key.pem
    echo "$ENGINE_ADDRESS" >address
  ) || die "making the TLS certificates failed"
  mkdir -p "$STATE"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  chmod 700 "$TLS_DIR"
}

# 10.198.N.0/24 must be free on this machine but for the veth pair itself: a route into it that
# is not ours would make 10.198.N.2 someone else's address.
check_range_free() {
  local routes
  routes=$(ip -4 route show to match "$ENGINE_ADDRESS" | grep -v '^default' | grep -v "dev $VETH_HOST " || true)
  [ -z "$routes" ] || die "10.198.$N.0/$VETH_PREFIX is routed elsewhere on this machine ($routes); pick another N"
}

# The namespace, the veth pair, loopback and the bridge inside: each step only when missing.
ensure_network() {
  check_range_free
  if ! ip netns list | grep -qx "$NETNS\( .*\)\?"; then
    ip netns add "$NETNS" 2>/dev/null || cannot "ip netns add $NETNS failed: this machine cannot make network namespaces"
  fi
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
    ip link set "$VETH_NS" netns "$NETNS"
  fi
  ip -4 addr show dev "$VETH_HOST" | grep -q "inet $HOST_SIDE/" || ip addr add "$HOST_SIDE/$VETH_PREFIX" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  in_netns ip link set lo up
  in_netns ip -4 addr show dev "$VETH_NS" | grep -q "inet $ENGINE_ADDRESS/" ||
    in_netns ip addr add "$ENGINE_ADDRESS/$VETH_PREFIX" dev "$VETH_NS"
  in_netns ip link set "$VETH_NS" up
  in_netns ip link show "$BRIDGE" >/dev/null 2>&1 || in_netns ip link add "$BRIDGE" type bridge
  in_netns ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_CIDR" || in_netns ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  in_netns ip link set "$BRIDGE" up
}

start_engine() {
  [ "$(id -u)" = 0 ] || cannot "another Docker engine needs root (dockerd, a network namespace)"
  command -v dockerd >/dev/null || cannot "dockerd is not installed (scripts/ensure-docker.sh installs it)"
  command -v ip >/dev/null || cannot "ip (iproute2) is not installed"
  local pid
  if pid=$(live_pid) && in_its_netns "$pid" && answers; then
    [ "$(live_restore_of "$pid")" = "$LIVE_RESTORE" ] && return
    say "engine $N runs with live-restore $(live_restore_of "$pid"); restarting it with $LIVE_RESTORE"
    restart_engine
    return
  fi
  if pid=$(live_pid); then say "engine $N (pid $pid) does not answer or is not in $NETNS; stopping it"; fi
  # Always: a dockerd killed outright leaves its containerd and shims in the namespace.
  stop_engine
  rm -f "$PIDFILE" "$SOCKET" "$EXEC_ROOT/containerd/containerd.pid"
  ensure_certificates
  ensure_network
  mkdir -p "$STATE/data" "$EXEC_ROOT"
  [ -f "$STATE/daemon.json" ] || echo '{}' >"$STATE/daemon.json"
  launch_dockerd
}

# dockerd alone: TERM, wait (it stops its containers first unless it runs with live-restore),
# then started again in the namespace it ran in, with the data root and containers it had.
restart_engine() {
  local pid
  pid=$(live_pid) && in_its_netns "$pid" || die "engine $N is not running; start it first"
  say "restarting engine $N's dockerd (pid $pid)"
  stop_pids "$pid"
  rm -f "$PIDFILE" "$SOCKET"
  launch_dockerd
}

launch_dockerd() {
  local args=(
    --config-file "$STATE/daemon.json" --data-root "$STATE/data" --exec-root "$EXEC_ROOT"
    --pidfile "$PIDFILE" -H "unix://$SOCKET" -H "tcp://$ENGINE_ADDRESS:$TCP_PORT"
    --tlsverify --tlscacert "$TLS_DIR/ca.pem" --tlscert "$TLS_DIR/server-cert.pem"
    --tlskey "$TLS_DIR/server-key.pem"
    --bridge "$BRIDGE" --iptables=false --ip6tables=false --ip-masq=false
    --default-address-pool "base=$ADDRESS_POOL,size=28" --cgroup-parent "/artie-test-engine-$N"
  )
  [ "$LIVE_RESTORE" = 1 ] && args+=(--live-restore)
  say "starting engine $N in $NETNS (live-restore $LIVE_RESTORE; log: $LOG)"
  # 9>&-: the engine must not inherit (and so hold) this script's lock (the others are closed).
  # nsenter --net, not `ip netns exec`: that also remounts /sys for the namespace, which hides the
  # machine's cgroup mounts under /sys/fs/cgroup ("Devices cgroup isn't mounted" on cgroup v1).
  setsid nohup nsenter --net="/run/netns/$NETNS" dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null 9>&- &
  local waited=0
  until answers; do
    if [ "$waited" -ge "$WAIT_SECONDS" ] || ! kill -0 $! 2>/dev/null; then
      cannot "engine $N did not come up within $WAIT_SECONDS s; last lines of $LOG:
$(tail -n 5 "$LOG")"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# TERM to every pid given, then one wait of at most STOP_WAIT_SECONDS for all of them together
# (not that long for each in turn), then KILL to what is left.
stop_pids() {
  local pid waited=0 alive
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  while [ "$waited" -lt "$STOP_WAIT_SECONDS" ]; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || return 0
    sleep 1
    waited=$((waited + 1))
  done
  kill -KILL "$@" 2>/dev/null || true
}

stop_engine() {
  local pid
  # dockerd first: it stops its own containers on TERM.
  if pid=$(live_pid); then stop_pids "$pid"; fi
  # What outlived dockerd in the namespace (a container's shim, a docker-proxy): only processes
  # in this engine's namespace, by their pids, all at once.
  if ip netns list | grep -qx "$NETNS\( .*\)\?"; then
    local leftovers
    mapfile -t leftovers < <(ip netns pids "$NETNS" 2>/dev/null)
    stop_pids "${leftovers[@]}"
    ip netns del "$NETNS" # takes the bridge and the veth pair's inner end with it
  fi
  rm -f "$PIDFILE" "$SOCKET"
  ip link del "$VETH_HOST" 2>/dev/null || true
  # This script's loopback days made the bridge on this machine.
  ip link del "$BRIDGE" 2>/dev/null || true
}

# Each image as the main engine has it: loaded when engine N lacks it or has another id.
ensure_images() {
  local image want have
  for image in "$@"; do
    want=$(docker_at 60 "$MAIN_SOCKET" image inspect -f '{{.Id}}' "$image") || die "the main engine has no image $image (npm run test:images)"
    have=$(engine image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$want" = "$have" ] && continue
    say "loading $image into engine $N"
    docker_at 600 "$MAIN_SOCKET" save "$image" | docker_at 600 "unix://$SOCKET" load -q >/dev/null ||
      die "loading $image into engine $N failed"
  done
}

# Descriptors this script inherited beyond stdio are closed first: the engine would inherit them
# and outlive the caller, and one may be a lock (`flock /tmp/artie-docker.lock ...` passes its
# descriptor down), which a running engine would then hold for good.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-" # 255: bash reads this script there
done
exec 9>"$LOCK_FILE"
flock 9
case $CMD in
start)
  start_engine
  ensure_images "$@"
  printf '{"dockerHost":"tcp://%s:%s","certPath":"%s","socket":"%s","host":"%s"}\n' \
    "$ENGINE_ADDRESS" "$TCP_PORT" "$CLIENT_DIR" "$SOCKET" "$ENGINE_ADDRESS"
  ;;
restart)
  restart_engine
  printf '{"dockerHost":"tcp://%s:%s","certPath":"%s","socket":"%s","host":"%s"}\n' \
    "$ENGINE_ADDRESS" "$TCP_PORT" "$CLIENT_DIR" "$SOCKET" "$ENGINE_ADDRESS"
  ;;
stop) stop_engine ;;
*) usage ;;
esac
