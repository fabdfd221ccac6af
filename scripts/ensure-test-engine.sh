#!/usr/bin/env bash
# ensure-test-engine.sh: extra Docker engines for tests, side by side with the machine's own, each
# reached over TCP with mutual TLS on loopback as a remote engine would be (Docker-in-Docker's
# tcp://docker:2376). Used by host-agent/test/helpers/engines.ts; engine N is 1..9.
#
#   start N [IMAGE...]  make sure engine N answers (idempotent: instant when it does), and that it
#                       has each IMAGE as the main engine has it (`docker save | docker load` when
#                       its id differs). Prints one JSON line: dockerHost, certPath, socket, bridge.
#   stop N              stop engine N (its containers with it) and remove its bridge. Its data
#                       root stays, so the next start has its images already.
#
# Engine N has its own data root, exec root, pid file, config file (empty: the machine's
# daemon.json is not read), unix socket /run/artie-test-engine-N.sock (for image loads), and
# -H tcp://127.0.0.1:(23750+N) with --tlsverify: a CA, server and client certificates made once
# with openssl under its state directory. Loopback only and client certificates required: the
# engine's API is root on this machine. Its default bridge is one this script makes
# (tengNbr0, 10.199.N.1/24) and it runs with --iptables=false, so it never touches the main
# engine's or the agent's rules: published ports are served by docker-proxy and answer on this
# machine, containers get no NAT (the main engine's FORWARD policy DROP stops their traffic from
# being routed anywhere). Installs nothing but openssl, and only when it is missing.
#
# Exit codes: 0 done; 3 this machine cannot run another engine (not root, no dockerd or ip, or
# dockerd would not come up; the reason on stderr), so a test may skip; 1 anything else.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

readonly WAIT_SECONDS=60
readonly STOP_WAIT_SECONDS=30
readonly TCP_PORT_BASE=23750

say() { echo "ensure-test-engine: $*" >&2; }
die() {
  say "$@"
  exit 1
}
cannot() {
  say "$@"
  exit 3
}

usage() { die "usage: $0 start N [IMAGE...] | stop N   (N is 1..9)"; }
[ $# -ge 2 ] || usage
readonly CMD=$1 N=$2
shift 2
[[ $N =~ ^[1-9]$ ]] || usage

readonly STATE=/var/lib/artie-test-engines/e$N
readonly EXEC_ROOT=/run/artie-test-engine-$N
readonly PIDFILE=/run/artie-test-engine-$N.pid
readonly SOCKET=/run/artie-test-engine-$N.sock
readonly LOG=/var/log/artie-test-engine-$N.log
readonly LOCK_FILE=/run/artie-test-engine-$N.lock
readonly TLS_DIR=$STATE/tls
readonly CLIENT_DIR=$TLS_DIR/client
readonly TCP_PORT=$((TCP_PORT_BASE + N))
readonly BRIDGE=teng${N}br0
readonly BRIDGE_CIDR=10.199.$N.1/24
readonly ADDRESS_POOL=10.199.$((100 + N)).0/24

engine() { timeout 60 docker -H "unix://$SOCKET" "$@"; }
answers() { engine info >/dev/null 2>&1; }

live_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

ensure_openssl() {
  command -v openssl >/dev/null && return
  say "installing openssl with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null || die "apt-get install openssl failed"
}

# A CA, the server's certificate for 127.0.0.1 and a client certificate, in the CLI's layout for
# the client (ca.pem, cert.pem, key.pem). Made once; written to a temp dir and moved into place.
ensure_certificates() {
  [ -s "$CLIENT_DIR/key.pem" ] && return
  ensure_openssl
  local tmp
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=artie-test-engine-$N-ca" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=artie-test-client" -keyout key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out cert.pem 2>/dev/null
    mkdir client
    cp ca.pem client/ca.pem
    mv cert.pem key.pem client/
    chmod 600 ./*-key.pem client/key.pem
  ) || die "making the TLS certificates failed"
  mkdir -p "$STATE"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  chmod 700 "$TLS_DIR"
}

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_CIDR" || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

start_engine() {
  [ "$(id -u)" = 0 ] || cannot "another Docker engine needs root (dockerd, a bridge)"
  command -v dockerd >/dev/null || cannot "dockerd is not installed (scripts/ensure-docker.sh installs it)"
  command -v ip >/dev/null || cannot "ip (iproute2) is not installed"
  if live_pid >/dev/null && answers; then return; fi
  if pid=$(live_pid); then
    say "engine $N (pid $pid) does not answer; stopping it"
    stop_engine
  fi
  rm -f "$PIDFILE" "$SOCKET" "$EXEC_ROOT/containerd/containerd.pid"
  ensure_certificates
  ensure_bridge
  mkdir -p "$STATE/data" "$EXEC_ROOT"
  [ -f "$STATE/daemon.json" ] || echo '{}' >"$STATE/daemon.json"
  local args=(
    --config-file "$STATE/daemon.json" --data-root "$STATE/data" --exec-root "$EXEC_ROOT"
    --pidfile "$PIDFILE" -H "unix://$SOCKET" -H "tcp://127.0.0.1:$TCP_PORT"
    --tlsverify --tlscacert "$TLS_DIR/ca.pem" --tlscert "$TLS_DIR/server-cert.pem"
    --tlskey "$TLS_DIR/server-key.pem"
    --bridge "$BRIDGE" --iptables=false --ip-masq=false
    --default-address-pool "base=$ADDRESS_POOL,size=28" --cgroup-parent "/artie-test-engine-$N"
  )
  say "starting engine $N (log: $LOG)"
  # 9>&-: the engine must not inherit (and so hold) this script's lock.
  setsid nohup dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null 9>&- &
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

stop_engine() {
  local pid waited=0
  if pid=$(live_pid); then
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_WAIT_SECONDS" ]; do
      sleep 1
      waited=$((waited + 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE" "$SOCKET"
  ip link del "$BRIDGE" 2>/dev/null || true
}

# Each image as the main engine has it: loaded when engine N lacks it or has another id.
ensure_images() {
  local image want have
  for image in "$@"; do
    want=$(timeout 60 docker image inspect -f '{{.Id}}' "$image") || die "the main engine has no image $image (npm run test:images)"
    have=$(engine image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$want" = "$have" ] && continue
    say "loading $image into engine $N"
    timeout 600 docker save "$image" | timeout 600 docker -H "unix://$SOCKET" load -q >/dev/null ||
      die "loading $image into engine $N failed"
  done
}

exec 9>"$LOCK_FILE"
flock 9
case $CMD in
start)
  start_engine
  ensure_images "$@"
  printf '{"dockerHost":"tcp://127.0.0.1:%s","certPath":"%s","socket":"%s","bridge":"%s"}\n' \
    "$TCP_PORT" "$CLIENT_DIR" "$SOCKET" "${BRIDGE_CIDR%/*}"
  ;;
stop) stop_engine ;;
*) usage ;;
esac
