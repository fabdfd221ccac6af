#!/usr/bin/env bash
# Makes sure a Docker engine answers, idempotently; instant when one already does.
#   - DOCKER_HOST set: that engine must answer; nothing local is installed or started.
#   - otherwise: install docker.io with apt when dockerd is missing, remove a stale
#     /var/run/docker.pid (a dockerd killed with a previous session leaves it behind and a new
#     one refuses to start), start dockerd detached, and wait for it.
set -euo pipefail

DOCKERD_LOG=/var/log/artie-dockerd.log
WAIT_SECONDS=60

answers() { docker info >/dev/null 2>&1; }

fail() {
  echo "ensure-docker: $*" >&2
  exit 1
}

install_docker() {
  command -v apt-get >/dev/null || fail "dockerd is missing and apt-get is not available: install Docker (or Podman with its Docker API) yourself."
  [ "$(id -u)" = 0 ] || fail "dockerd is missing: run as root, or install Docker yourself (apt-get install docker.io)."
  echo "ensure-docker: installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
}

# What a killed dockerd leaves behind and a new one trips over: its pid file, and the containerd
# it managed (still running, or its pid file).
clear_leftovers() {
  pkill -f 'containerd --config /var/run/docker/containerd/containerd.toml' 2>/dev/null && sleep 1
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
}

start_dockerd() {
  [ "$(id -u)" = 0 ] || fail "no Docker engine answers and starting one needs root: start dockerd (or set DOCKER_HOST)."
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl start docker && return 0
  fi
  # A dockerd that is alive (not a zombie) may just be starting: wait for it instead.
  if ! ps -C dockerd -o stat= 2>/dev/null | grep -qv '^Z'; then
    clear_leftovers
    echo "ensure-docker: starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
}

wait_for_engine() {
  for _ in $(seq 1 "$WAIT_SECONDS"); do
    answers && return 0
    sleep 1
  done
  echo "ensure-docker: the Docker engine did not answer within ${WAIT_SECONDS} s. Last lines of $DOCKERD_LOG:" >&2
  tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
  fail "check the log above; a stale /var/run/docker.pid or containerd socket is the usual cause."
}

main() {
  command -v docker >/dev/null && answers && return 0
  if [ -n "${DOCKER_HOST:-}" ]; then
    fail "DOCKER_HOST=$DOCKER_HOST does not answer (docker info failed). Start that engine or unset DOCKER_HOST to use a local one."
  fi
  command -v dockerd >/dev/null || install_docker
  start_dockerd
  wait_for_engine
}

main "$@"
