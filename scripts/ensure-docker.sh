#!/usr/bin/env bash
# ensure-docker.sh: make sure a Docker engine answers `docker info`, starting one (and installing
# docker.io first if dockerd is missing) when none does. Idempotent; instant when one answers.
#
# Why: the tests and the host agent need a real Docker engine, and our machines run without
# systemd, so nothing starts dockerd for us. A dockerd killed along with a previous session
# leaves /var/run/docker.pid behind (/run is not a tmpfs here); once that pid is reused by
# another process, a new dockerd refuses to start. This script clears such leftovers first.
#
#   DOCKER_HOST set       that engine must answer; nothing local is installed or started.
#   dockerd missing       apt-get install docker.io (needs the Debian mirror and root).
#   no engine answering   remove stale pid files, start dockerd detached (log:
#                         /var/log/artie-dockerd.log), wait up to 60 s for `docker info`.
#   ENABLE_GVISOR=1       also make sure the engine lists the gVisor runtime `runsc`: install it
#                         (apt-get install runsc), register it in /etc/docker/daemon.json with
#                         runtimeArgs ["--network=host"] (gVisor's own network stack fails in some
#                         VMs; with it, runsc uses the container's own network namespace, so the
#                         agent's per-environment networks and firewall apply unchanged), and
#                         reload dockerd with SIGHUP (running containers are untouched).
# Exits 0 once `docker info` answers; otherwise 1, with what went wrong and what to do on stderr.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

readonly DOCKERD_LOG=/var/log/artie-dockerd.log
readonly DOCKERD_PIDFILE=/var/run/docker.pid
readonly CONTAINERD_PIDFILE=/var/run/docker/containerd/containerd.pid
readonly LOCK_FILE=/var/run/artie-ensure-docker.lock
readonly WAIT_SECONDS=60

say() { echo "ensure-docker: $*" >&2; }

die() {
  say "$@"
  exit 1
}

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

# Prints the pid recorded in pid file $1 when it is a live (non-zombie) process named $2.
live_pid() {
  local pidfile=$1 name=$2 pid stat
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] || return 1
  echo "$pid"
}

# docker info's own complaint (last line of its stderr), for our messages.
docker_error() { timeout 20 docker info 2>&1 >/dev/null | tail -n 1 || true; }

check_docker_host() {
  command -v docker >/dev/null || die "DOCKER_HOST=$DOCKER_HOST is set but the docker CLI is missing: install it (apt-get install docker.io) or unset DOCKER_HOST."
  die "DOCKER_HOST=$DOCKER_HOST does not answer (docker info: $(docker_error)).
  Start that engine, or unset DOCKER_HOST to use (and if needed start) a local one."
}

require_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v docker >/dev/null || die "Docker is not installed, and installing it needs root: run this as root."
  die "docker info fails ($(docker_error)) and starting dockerd needs root.
  Run this as root, start dockerd yourself, add $(id -un) to the docker group, or set DOCKER_HOST."
}

install_docker() {
  command -v apt-get >/dev/null || die "dockerd is missing and apt-get is not available: install Docker yourself."
  say "dockerd is missing: installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 # no prompts, no service restarts
  apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list*."
  apt-get install -y -qq docker.io >/dev/null || die "apt-get install docker.io failed (output above)."
  command -v dockerd >/dev/null || die "docker.io is installed but dockerd is still not on PATH."
}

# Pid files of a dockerd/containerd that died with a previous session: a new dockerd refuses to
# start (docker.pid) or waits for a containerd that is not there (containerd.pid) when the pid
# they name has been reused. A containerd that is still alive is left alone: dockerd reuses it.
clear_stale_pidfiles() {
  if [ -e "$DOCKERD_PIDFILE" ]; then
    say "removing stale $DOCKERD_PIDFILE (pid $(cat "$DOCKERD_PIDFILE" 2>/dev/null) is not a running dockerd)"
    rm -f "$DOCKERD_PIDFILE"
  fi
  if [ -e "$CONTAINERD_PIDFILE" ] && ! live_pid "$CONTAINERD_PIDFILE" containerd >/dev/null; then
    rm -f "$CONTAINERD_PIDFILE"
  fi
}

# Starts dockerd in its own session, detached from this script and its terminal (and without
# our lock fd), so that it outlives both. Sets DOCKERD_PID.
spawn_dockerd() {
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # Appended to, never truncated (a live dockerd may still write to it); kept under ~10 MB.
  if [ "$(stat -c %s "$DOCKERD_LOG" 2>/dev/null || echo 0)" -gt 10000000 ]; then
    mv -f "$DOCKERD_LOG" "$DOCKERD_LOG.1"
  fi
  echo "=== $(date -u +%FT%TZ) ensure-docker.sh starting dockerd" >>"$DOCKERD_LOG"
  (cd / && exec setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&-) &
  DOCKERD_PID=$!
}

# Waits for `docker info`; gives up early when the dockerd we started ($1, may be empty) died.
# $2: what to say on timeout.
wait_for_engine() {
  local pid=$1 deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    engine_answers && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && ! live_pid "$DOCKERD_PIDFILE" dockerd >/dev/null; then
      fail_start "dockerd exited right after starting."
    fi
    sleep 0.5
  done
  fail_start "$2"
}

# The dockerd log from our last start marker on.
log_since_start() {
  awk '/^=== .* starting dockerd$/ { n = 0 } { line[n++] = $0 } END { for (i = 0; i < n; i++) print line[i] }' \
    "$DOCKERD_LOG" 2>/dev/null || true
}

fail_start() {
  {
    echo "ensure-docker: could not start a local Docker engine: $1"
    echo "  Last lines of $DOCKERD_LOG (this start):"
    log_since_start | tail -n 25 | sed 's/^/    /'
    echo "  Fix what the log reports, then rerun this script. Common causes: another dockerd"
    echo "  holding /var/lib/docker, missing kernel features (overlay, iptables, cgroups), a full disk."
    echo "  To retry from scratch: kill any dockerd and containerd left over, rm -f $DOCKERD_PIDFILE."
  } >&2
  exit 1
}

start_local_engine() {
  local pid
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    say "starting docker with systemctl"
    systemctl start docker || say "systemctl start docker failed; starting dockerd directly"
    engine_answers && return 0
  fi
  if pid=$(live_pid "$DOCKERD_PIDFILE" dockerd); then
    say "dockerd (pid $pid) is running but not answering yet: waiting for it"
    wait_for_engine "" "dockerd (pid $pid) runs but docker info got no answer within ${WAIT_SECONDS} s;
  if it is stuck, kill $pid and rerun this script."
    return 0
  fi
  clear_stale_pidfiles
  say "starting dockerd (log: $DOCKERD_LOG)"
  spawn_dockerd
  wait_for_engine "$DOCKERD_PID" "docker info got no answer within ${WAIT_SECONDS} s of starting dockerd (pid $DOCKERD_PID)."
}

readonly DAEMON_JSON=/etc/docker/daemon.json

engine_has_runsc() { timeout 20 docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }

# Adds runsc to daemon.json, keeping every other setting the operator made there.
register_runsc() {
  local runsc_path=$1
  mkdir -p "$(dirname "$DAEMON_JSON")"
  node -e '
    const fs = require("node:fs");
    const [file, path] = process.argv.slice(1);
    let config = {};
    if (fs.existsSync(file)) {
      try { config = JSON.parse(fs.readFileSync(file, "utf8") || "{}"); }
      catch (err) { console.error(`${file} is not valid JSON (${err.message}): fix it first`); process.exit(1); }
    }
    config.runtimes = { ...(config.runtimes ?? {}), runsc: { path, runtimeArgs: ["--network=host"] } };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(config, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
  ' "$DAEMON_JSON" "$runsc_path" || die "could not register runsc in $DAEMON_JSON (see above)."
}

ensure_gvisor() {
  engine_has_runsc && return 0
  [ -z "${DOCKER_HOST:-}" ] || die "the engine at DOCKER_HOST=$DOCKER_HOST has no runsc runtime: register gVisor there."
  require_root
  if ! command -v runsc >/dev/null; then
    command -v apt-get >/dev/null || die "runsc (gVisor) is missing and apt-get is not available: install gVisor yourself."
    say "runsc is missing: installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get install -y -qq runsc >/dev/null || { apt-get update -qq && apt-get install -y -qq runsc >/dev/null; } ||
      die "apt-get install runsc failed (output above)."
  fi
  register_runsc "$(command -v runsc)"
  local pid
  pid=$(live_pid "$DOCKERD_PIDFILE" dockerd) || pid=$(pgrep -xo dockerd) ||
    die "runsc is registered in $DAEMON_JSON but no dockerd runs here to reload: restart Docker."
  say "registered runsc in $DAEMON_JSON; reloading dockerd (pid $pid)"
  kill -HUP "$pid"
  for _ in $(seq 1 40); do engine_has_runsc && return 0; sleep 0.25; done
  die "dockerd did not list runsc after the reload: see $DOCKERD_LOG."
}

main() {
  ensure_engine
  [ "${ENABLE_GVISOR:-0}" != 1 ] || ensure_gvisor
}

ensure_engine() {
  if command -v docker >/dev/null && engine_answers; then return 0; fi
  [ -z "${DOCKER_HOST:-}" ] || check_docker_host
  require_root
  command -v dockerd >/dev/null || install_docker
  command -v docker >/dev/null || die "dockerd is installed but the docker CLI is missing: apt-get install --reinstall docker.io."
  # One starter at a time: concurrent runs (tests, agent) would otherwise race on the pid file.
  exec 9>"$LOCK_FILE"
  flock -w $((WAIT_SECONDS + 30)) 9 || die "another ensure-docker.sh holds $LOCK_FILE for too long."
  engine_answers && return 0
  start_local_engine
  say "Docker engine is up (server $(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'))"
}

main "$@"
