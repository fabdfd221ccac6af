#!/usr/bin/env bash
# ensure-podman.sh: a Podman engine serving Docker's API on a unix socket of its own, for running
# the agent (and its integration tests) against Podman instead of Docker. Used by
# host-agent/test/helpers/engines.ts (startPodmanEngine) and scripts/test.sh.
#
#   start [IMAGE...]  make sure podman is installed (apt-get, from the configured sources) and that
#                     `podman system service` answers /_ping on $SOCKET (idempotent: instant when it
#                     does), and that podman has each IMAGE (default: the two test images) as the
#                     Docker engine has it (`docker save | podman load` when the id differs: no
#                     registry here). Prints one line: the DOCKER_HOST for it.
#   stop              stop the service (idempotent). Podman's containers and images stay: podman
#                     has no daemon, they are in /var/lib/containers and the next start finds them.
#
# Rootful, with cgroupfs (no systemd here). The service runs with a containers.conf of its own
# (CONTAINERS_CONF, so the machine's podman setup is untouched) whose one setting is
# default_ulimits: rootful podman gives every container nofile and nproc limits of 1048576 unless
# told otherwise, and where the engine lacks CAP_SYS_RESOURCE (this machine's root does) runc
# cannot raise a limit above its own and every start fails ("error setting rlimit type 7:
# operation not permitted"). The file holds the limits the service itself runs with (read from
# /proc after it starts; when they differ from the file's, it is rewritten and the service
# restarted once), which is what Docker gives its containers too (dockerd's own).
#
# Two host settings the agent's network isolation needs on a Podman host, made by `start` and
# undone by `stop` (the previous values are kept under $STATE; a route the operator already has
# for the pool is used as it is, never replaced):
#   net.ipv4.ip_nonlocal_bind=1   netavark brings an environment network's bridge (and so its
#                                 gateway address) up with the first container on it, not with the
#                                 network as Docker does; the agent's egress proxy listens on that
#                                 gateway before the container exists (EADDRNOTAVAIL without this).
#   unreachable route to the pool while no container runs on an environment network podman has no
#                                 bridge for it, and traffic to its subnet (the agent's port
#                                 forwards to a stopped environment) would leave by the default
#                                 route; `ip route add unreachable $ENVIRONMENT_SUBNETS` keeps
#                                 it on this host (each live bridge's /28 is more specific).
#
# Exit codes: 0 done; 3 this machine cannot run podman (not root, no apt-get, the install failed,
# or the service would not answer; the reason on stderr), so a caller may skip; 1 anything else.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

readonly RUN_DIR=/run/artie-podman
readonly SOCKET=$RUN_DIR/podman.sock
readonly PIDFILE=$RUN_DIR/podman.pid
readonly LOCK_FILE=$RUN_DIR/ensure.lock
readonly STATE=/var/lib/artie-podman
readonly CONF=$STATE/containers.conf
readonly LOG=/var/log/artie-podman.log
readonly WAIT_SECONDS=30
readonly STOP_WAIT_SECONDS=15
readonly DEFAULT_IMAGES=(artie-test/busybox:latest artie-test/node:20)
# The Docker engine the images come from, named outright: the caller's DOCKER_HOST may be this
# very podman socket (a test pointed at podman).
readonly MAIN_SOCKET=unix:///var/run/docker.sock
# The agent's default pool of environment subnets (host-agent/src/config.ts ENVIRONMENT_SUBNETS).
readonly SUBNET_POOL=${ENVIRONMENT_SUBNETS:-10.213.0.0/16}

say() { echo "ensure-podman: $*" >&2; }
die() {
  say "$@"
  exit 1
}
cannot() {
  say "$@"
  exit 3
}

answers() { curl -sf --max-time 5 --unix-socket "$SOCKET" http://podman/_ping 2>/dev/null | grep -qx OK; }

# The pid in the pidfile, when that process is this script's service: podman, serving $SOCKET.
# /run outlives reboots here, so a stale pidfile may name any process by now.
live_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "unix://$SOCKET" || return 1
  echo "$pid"
}

# podman, and catatonit: its init for containers created with Init (the agent's always are; podman
# only recommends it, and without it every such create fails "container-init binary not found").
readonly PACKAGES=(podman catatonit curl)
readonly CATATONIT=/usr/libexec/podman/catatonit

ensure_installed() {
  command -v podman >/dev/null && [ -x "$CATATONIT" ] && command -v curl >/dev/null && return
  command -v apt-get >/dev/null || cannot "podman or catatonit is missing and apt-get is not available: install them yourself"
  say "installing ${PACKAGES[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  { apt-get install -y -qq "${PACKAGES[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq "${PACKAGES[@]}" >/dev/null; }; } ||
    cannot "apt-get install ${PACKAGES[*]} failed (output above)"
  command -v podman >/dev/null || cannot "podman is installed but not on PATH"
}

# A hard limit of process $1 as /proc prints it ("Max open files  20000  20000  files").
hard_limit() { awk -v name="$2" 'index($0, name) == 1 { print $(NF - 1) }' "/proc/$1/limits"; }

# The containers.conf the service at pid $1 should have: its own nofile and nproc limits.
wanted_conf() {
  local nofile nproc
  nofile=$(hard_limit "$1" "Max open files")
  nproc=$(hard_limit "$1" "Max processes")
  [[ $nofile =~ ^[0-9]+$ ]] || nofile=1048576 # "unlimited": podman's own default then fits
  [[ $nproc =~ ^[0-9]+$ ]] || nproc=1048576
  printf '# Written by scripts/ensure-podman.sh: the limits its podman service runs with.\n'
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc"
}

spawn_service() {
  mkdir -p "$RUN_DIR" "$STATE"
  [ -f "$CONF" ] || printf '[containers]\n' >"$CONF"
  rm -f "$SOCKET"
  echo "=== $(date -u +%FT%TZ) ensure-podman.sh starting podman system service" >>"$LOG"
  # Its own session, detached, in /: it outlives this script and whoever ran it.
  (cd / && CONTAINERS_CONF=$CONF exec setsid nohup podman system service --time=0 "unix://$SOCKET" \
    >>"$LOG" 2>&1 </dev/null 9>&-) &
  local pid=$! waited=0
  echo "$pid" >"$PIDFILE"
  until answers; do
    if [ "$waited" -ge "$WAIT_SECONDS" ] || ! kill -0 "$pid" 2>/dev/null; then
      cannot "podman system service did not answer on $SOCKET within $WAIT_SECONDS s; last lines of $LOG:
$(tail -n 5 "$LOG")"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

start_service() {
  [ "$(id -u)" = 0 ] || cannot "this podman engine runs rootful: run as root"
  command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
  ensure_installed
  local pid
  if pid=$(live_pid) && answers && [ "$(wanted_conf "$pid")" = "$(cat "$CONF" 2>/dev/null)" ]; then return; fi
  stop_service
  say "starting podman system service on $SOCKET (log: $LOG)"
  spawn_service
  pid=$(live_pid) || die "podman system service answers but its pid is not in $PIDFILE"
  if [ "$(wanted_conf "$pid")" != "$(cat "$CONF")" ]; then
    say "writing $CONF (the service's own ulimits for its containers) and restarting the service"
    wanted_conf "$pid" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
    stop_service
    spawn_service
  fi
}

stop_service() {
  local pid waited=0
  pid=$(live_pid) || {
    rm -f "$PIDFILE"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_WAIT_SECONDS" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE" "$SOCKET"
}

# What the host was before `start` changed it, so `stop` puts it back (a Docker-only run after a
# podman run must see the host as it was, not with podman's settings hiding its bugs).
readonly SAVED_NONLOCAL_BIND=$STATE/saved-ip_nonlocal_bind
readonly ADDED_ROUTE=$STATE/added-route

# See the header: what isolation needs of the host when the engine is podman. A route the
# operator already has for the pool is left as it is (and used): it is never replaced.
ensure_host_settings() {
  mkdir -p "$STATE"
  local bind
  bind=$(sysctl -n net.ipv4.ip_nonlocal_bind)
  if [ "$bind" != 1 ]; then
    echo "$bind" >"$SAVED_NONLOCAL_BIND"
    sysctl -qw net.ipv4.ip_nonlocal_bind=1 || die "could not set net.ipv4.ip_nonlocal_bind=1"
  fi
  if [ -z "$(ip route show exact "$SUBNET_POOL")" ]; then
    ip route add unreachable "$SUBNET_POOL" || die "could not add the route: unreachable $SUBNET_POOL"
    echo "$SUBNET_POOL" >"$ADDED_ROUTE"
  fi
}

# Undoes what ensure_host_settings changed, and only that.
restore_host_settings() {
  if [ -f "$SAVED_NONLOCAL_BIND" ]; then
    sysctl -qw "net.ipv4.ip_nonlocal_bind=$(cat "$SAVED_NONLOCAL_BIND")" || say "could not restore ip_nonlocal_bind"
    rm -f "$SAVED_NONLOCAL_BIND"
  fi
  if [ -f "$ADDED_ROUTE" ]; then
    ip route del unreachable "$(cat "$ADDED_ROUTE")" 2>/dev/null || true
    rm -f "$ADDED_ROUTE"
  fi
}

# Each image as the Docker engine has it (same id): loaded when podman lacks it or has another.
# podman stores a loaded short name as localhost/<name>; its Docker API finds it by the short name.
ensure_images() {
  local image want have
  for image in "$@"; do
    want=$(timeout 60 docker -H "$MAIN_SOCKET" image inspect -f '{{.Id}}' "$image") ||
      die "the Docker engine has no image $image (npm run test:images)"
    have=$(timeout 60 podman image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    [ "sha256:${have#sha256:}" = "$want" ] && continue
    say "loading $image into podman"
    timeout 600 docker -H "$MAIN_SOCKET" save "$image" | timeout 600 podman load -q >/dev/null ||
      die "loading $image into podman failed"
  done
}

[ $# -ge 1 ] || die "usage: $0 start [IMAGE...] | stop"
readonly CMD=$1
shift
# Descriptors inherited beyond stdio are closed first: the service would inherit them and outlive
# the caller, and one may be a lock (`flock /tmp/artie-docker.lock ...` passes its descriptor down).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-" # 255: bash reads this script there
done
mkdir -p "$RUN_DIR"
exec 9>"$LOCK_FILE"
flock -w 120 9 || die "another ensure-podman.sh holds $LOCK_FILE for too long"
case $CMD in
start)
  start_service
  ensure_host_settings
  [ $# -gt 0 ] || set -- "${DEFAULT_IMAGES[@]}"
  ensure_images "$@"
  echo "unix://$SOCKET"
  ;;
stop)
  stop_service
  restore_host_settings
  ;;
*) die "usage: $0 start [IMAGE...] | stop" ;;
esac
