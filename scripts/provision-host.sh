#!/usr/bin/env bash
# Provisions a fresh Ubuntu 24.04 or Debian 12 host to run the host agent under systemd, as the
# seed describes it: Docker with live-restore and log rotation, a service user, /opt/docker-manager
# (api/, repo-cache/, logs/, .env with a generated API_SECRET), Node 24, the docker-manager unit,
# ufw with ports 22, 8080 and 10000-20000, and a closing check that /health answers.
#
#   sudo scripts/provision-host.sh [--dry-run] [--only=step,step]
#
# --only runs just the named steps (in the list's order), e.g. --only=firewall,health.
# Run it from a checkout of this repository on the host: the agent's code is copied from it.
# Every step is a name, a check ("already done?") and an action; a real run and --dry-run walk
# the same list, so --dry-run prints every step with what it would do and changes nothing.
# Running it again does only what is not done yet (a changed checkout, unit or .env restarts the
# agent). Packages come from whatever apt is configured with (the distro's archive, or a source
# the operator added, such as Docker's own or a Node 24 one); this script names no host.
#
# Left out on purpose: the compose deploy (docker-compose.deploy.yml runs the same agent in a
# container and needs none of the Node or systemd steps), and the control plane's settings
# (npm run convex:env, or the line rotate-secret.sh prints).
#
# PROVISION_ROOT (only with --dry-run) reads the files under another root, so a test can show
# what a dry run says about an existing daemon.json or .env without touching this machine's.
set -euo pipefail

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
SERVICE=docker-manager
SERVICE_USER=docker-manager
BASE=/opt/docker-manager
UNIT_SOURCE=$SOURCE/deploy/systemd/$SERVICE.service
DAEMON_WANTED=$SOURCE/deploy/docker/daemon.json
# The agent's target; Debian 12 and Ubuntu 24.04 ship Node 18, so this comes from an apt source
# the operator configured (or a Node they installed in /usr/local/bin).
NODE_MAJOR=24
# What the agent needs on the host besides Docker and Node: git (repo cache), iptables (isolation),
# openssl (the egress CA), ufw (the seed's firewall), ca-certificates (HTTPS clones).
BASE_PACKAGES=(ca-certificates git iptables openssl ufw)
# The seed's firewall, exactly: SSH, the management API, the container ports.
UFW_RULES=(22/tcp 8080/tcp 10000:20000/tcp)
# The closing check: this many tries, this many seconds apart (a minute in all).
HEALTH_ATTEMPTS=30
HEALTH_DELAY_SECONDS=2
# systemd looks a bare ExecStart name up in this order (the unit says `node`).
UNIT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin

DRY_RUN=0
ONLY=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --only=*) ONLY=",${arg#--only=}," ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "provision-host: unknown argument $arg (try --help)" >&2
      exit 64
      ;;
  esac
done

ROOT=${PROVISION_ROOT:-}
if [ -n "$ROOT" ] && [ "$DRY_RUN" = 0 ]; then
  echo "provision-host: PROVISION_ROOT is for --dry-run only; a real run provisions this machine" >&2
  exit 64
fi
if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "provision-host: run it as root (sudo), or with --dry-run to see what it would do" >&2
  exit 1
fi

# A path on the host being provisioned.
p() { printf '%s%s' "$ROOT" "$1"; }
die() {
  echo "provision-host: $*" >&2
  exit 1
}

RESTART_AGENT=0
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -q
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
# The version apt would install of a package, or nothing when no configured source has it.
apt_candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'; }
# The major version in a Debian version string such as 1:24.11.0-1 (epoch and all): 24.
debian_major() {
  local v=${1#*:}
  v=${v%%.*}
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}
# The node systemd would run for the unit's bare `node`.
unit_node() { PATH=$UNIT_PATH command -v node || true; }
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
owner_mode() { stat -c '%U:%G %a' "$1" 2>/dev/null || true; }

# --- checks and actions, one pair per step ---------------------------------------------------

check_packages() {
  local pkg
  for pkg in "${BASE_PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || return 1
  done
}
do_packages() { apt_install "${BASE_PACKAGES[@]}"; }

check_docker_engine() { command -v dockerd >/dev/null && command -v docker >/dev/null; }
docker_packages() {
  # Docker's own packages when the operator added their apt source, else the distro's.
  if [ -n "$(apt_candidate docker-ce)" ]; then echo "docker-ce docker-ce-cli containerd.io"; else echo "docker.io"; fi
}
do_docker_engine() {
  # shellcheck disable=SC2046 # a list of package names
  apt_install $(docker_packages)
}

check_docker_running() { systemctl is-enabled --quiet docker 2>/dev/null && systemctl is-active --quiet docker 2>/dev/null; }
do_docker_running() { systemctl enable --now docker; }

check_node() {
  local node
  node=$(unit_node)
  [ -n "$node" ] && [ "$(node_major "$node")" -ge "$NODE_MAJOR" ] && PATH=$UNIT_PATH command -v npm >/dev/null
}
node_plan() {
  local candidate
  candidate=$(apt_candidate nodejs)
  if [ "$(debian_major "$candidate")" -ge "$NODE_MAJOR" ]; then
    echo "apt-get install nodejs ($candidate, from the configured apt sources)"
  else
    echo "stop: apt offers nodejs ${candidate:-nowhere}, not $NODE_MAJOR; add a Node $NODE_MAJOR apt source (your mirror or the vendor's) or install Node $NODE_MAJOR in /usr/local/bin, then run this again"
  fi
}
do_node() {
  local candidate
  candidate=$(apt_candidate nodejs)
  [ "$(debian_major "$candidate")" -ge "$NODE_MAJOR" ] || die "node: $(node_plan)"
  apt_install nodejs
  # Some Node sources ship npm separately.
  PATH=$UNIT_PATH command -v npm >/dev/null || apt_install npm
}

check_daemon_json() { node "$SOURCE/scripts/daemon-json.mjs" check "$DAEMON_WANTED" "$(p /etc/docker/daemon.json)" 2>/dev/null; }
do_daemon_json() {
  install -d -m 0755 /etc/docker
  local before=""
  [ -f /etc/docker/daemon.json ] && before=$(cat /etc/docker/daemon.json)
  node "$SOURCE/scripts/daemon-json.mjs" merge "$DAEMON_WANTED" /etc/docker/daemon.json
  # Docker 23+ can check a file before it is used; an older engine has no --validate.
  if dockerd --help 2>/dev/null | grep -q -- '--validate'; then
    if ! dockerd --validate --config-file /etc/docker/daemon.json; then
      if [ -n "$before" ]; then printf '%s\n' "$before" >/etc/docker/daemon.json; else rm -f /etc/docker/daemon.json; fi
      die "daemon-json: the engine refuses the merged file; the previous one is back in place"
    fi
  fi
  # live-restore is one of the settings a reload (SIGHUP) applies, so the running containers
  # survive the restart that then applies the log settings.
  systemctl reload docker
  systemctl restart docker
}

check_service_user() { id -u "$SERVICE_USER" >/dev/null 2>&1 && id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx docker; }
do_service_user() {
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$BASE" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  # The docker group is the engine's socket: root-equivalent, and what the agent is for.
  usermod -aG docker "$SERVICE_USER"
}

# directory owner:group mode. DATA_DIR is $BASE itself, so the repo cache is the seed's
# repo-cache/ and the agent's other state sits beside it; its code (api/) is root's.
LAYOUT=(
  "$BASE $SERVICE_USER:$SERVICE_USER 700"
  "$BASE/api root:root 755"
  "$BASE/repo-cache $SERVICE_USER:$SERVICE_USER 700"
  "$BASE/logs $SERVICE_USER:$SERVICE_USER 750"
)
check_layout() {
  local entry dir want
  for entry in "${LAYOUT[@]}"; do
    read -r dir want <<<"$entry"
    [ "$(owner_mode "$(p "$dir")")" = "$want" ] || return 1
  done
}
do_layout() {
  local entry dir owner mode
  for entry in "${LAYOUT[@]}"; do
    read -r dir owner mode <<<"$entry"
    install -d -o "${owner%%:*}" -g "${owner##*:}" -m "$mode" "$dir"
    # install -d leaves an existing directory's owner and mode as they were.
    chown "$owner" "$dir"
    chmod "$mode" "$dir"
  done
}

# .env: root's, 0600 (systemd reads it for the agent), with an API_SECRET of at least 32
# characters. An existing secret is never replaced and never printed.
check_env_file() {
  local env
  env=$(p "$BASE/.env")
  [ "$(owner_mode "$env")" = "root:root 600" ] && grep -Eq '^API_SECRET=.{32,}$' "$env"
}
env_file_plan() {
  if [ -f "$(p "$BASE/.env")" ]; then
    echo "keep its API_SECRET if it has one (else add a generated one), make it root's, mode 0600"
  else
    echo "write it from .env.example with a generated API_SECRET and STREAM_TOKEN_KEY, DATA_DIR=$BASE, mode 0600"
  fi
}
do_env_file() {
  # Node makes the secrets and writes the file, so they are in no argv and no output.
  node - "$SOURCE/.env.example" "$BASE/.env" "$BASE" <<'EOF'
const fs = require("node:fs");
const { randomBytes } = require("node:crypto");
const [example, target, dataDir] = process.argv.slice(2);
const secret = () => randomBytes(32).toString("hex");
if (!fs.existsSync(target)) {
  const text = fs.readFileSync(example, "utf8")
    .replace(/^API_SECRET=.*$/m, `API_SECRET=${secret()}`)
    .replace(/^STREAM_TOKEN_KEY=.*$/m, `STREAM_TOKEN_KEY=${secret()}`)
    .replace(/^DATA_DIR=.*$/m, `DATA_DIR=${dataDir}`);
  fs.writeFileSync(target, text, { mode: 0o600, flag: "wx" });
  console.log(`wrote ${target} with a new API_SECRET and STREAM_TOKEN_KEY (not shown)`);
} else if (!/^API_SECRET=.{32,}$/m.test(fs.readFileSync(target, "utf8"))) {
  const text = fs.readFileSync(target, "utf8").replace(/^API_SECRET=.*\n?/m, "");
  fs.writeFileSync(target, `API_SECRET=${secret()}\n${text}`, { mode: 0o600 });
  console.log(`${target} had no usable API_SECRET: added a generated one (not shown)`);
}
EOF
  chown root:root "$BASE/.env"
  chmod 0600 "$BASE/.env"
  RESTART_AGENT=1
}

# The agent's code: what a production install needs from this checkout, and its production
# dependencies. A stamp of the source's contents says whether the copy is current.
AGENT_FILES=(package.json package-lock.json .env.example README.md host-agent)
source_id() {
  (cd "$SOURCE" && find "${AGENT_FILES[@]}" -type f -not -path '*/node_modules/*' -not -path 'host-agent/test/*' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
check_agent_code() {
  [ -f "$(p "$BASE/api/.source-id")" ] && [ "$(cat "$(p "$BASE/api/.source-id")")" = "$(source_id)" ] &&
    [ -d "$(p "$BASE/api/node_modules/tsx")" ]
}
do_agent_code() {
  local staging=$BASE/api.new id
  id=$(source_id)
  rm -rf "$staging"
  install -d -o root -g root -m 0755 "$staging"
  (cd "$SOURCE" && tar -cf - --exclude=node_modules --exclude=host-agent/test "${AGENT_FILES[@]}") | tar -xf - -C "$staging" --no-same-owner
  # Only the agent's workspace and its production dependencies; no install scripts (none is
  # needed: ssh2's optional native part has a JavaScript fallback).
  (cd "$staging" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace host-agent --include-workspace-root=false)
  echo "$id" >"$staging/.source-id"
  chown -R root:root "$staging"
  rm -rf "$BASE/api.old"
  [ -d "$BASE/api" ] && mv "$BASE/api" "$BASE/api.old"
  mv "$staging" "$BASE/api"
  rm -rf "$BASE/api.old"
  RESTART_AGENT=1
}

check_systemd_unit() { cmp -s "$UNIT_SOURCE" "$(p /etc/systemd/system/$SERVICE.service)"; }
do_systemd_unit() {
  install -m 0644 "$UNIT_SOURCE" /etc/systemd/system/$SERVICE.service
  systemctl daemon-reload
  RESTART_AGENT=1
}

# ufw before the agent starts: the agent puts its own INPUT chain first when it starts, ahead
# of ufw's (the egress proxy on the environment gateways must stay reachable from them).
check_firewall() {
  command -v ufw >/dev/null || return 1
  local added rule
  added=$(ufw show added 2>/dev/null) || return 1
  for rule in "${UFW_RULES[@]}"; do grep -qx "ufw allow $rule" <<<"$added" || return 1; done
  ufw status 2>/dev/null | grep -qx 'Status: active'
}
do_firewall() {
  local rule
  # SSH is allowed before ufw is enabled, so this session is never cut off.
  for rule in "${UFW_RULES[@]}"; do ufw allow "$rule"; done
  ufw --force enable
}

check_service() { [ "$RESTART_AGENT" = 0 ] && systemctl is-enabled --quiet $SERVICE 2>/dev/null && systemctl is-active --quiet $SERVICE 2>/dev/null; }
do_service() {
  systemctl enable $SERVICE
  systemctl restart $SERVICE
  RESTART_AGENT=0
}

health_url() {
  local port
  port=$(sed -n 's/^PORT=\([0-9][0-9]*\)$/\1/p' "$(p "$BASE/.env")" 2>/dev/null | tail -n1)
  echo "http://127.0.0.1:${port:-8080}/health"
}
# One GET; prints the answer's status line. 200 is healthy; 503 (degraded) says what is wrong.
probe_health() {
  node -e '
    fetch(process.argv[1], { redirect: "error", signal: AbortSignal.timeout(5000) })
      .then(async (r) => { console.log(`${r.status} ${(await r.text()).slice(0, 2000)}`); process.exit(r.status === 200 ? 0 : 1); })
      .catch((e) => { console.log(`no answer (${e.cause?.code ?? e.message})`); process.exit(1); });
  ' "$(health_url)"
}
# Never "already done": it is the closing check, so a real run always waits for an answer (and a
# dry run sends nothing).
check_health() { return 1; }
do_health() {
  local attempt last
  for ((attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++)); do
    if last=$(probe_health); then
      echo "health: $(health_url) answers: $last"
      return 0
    fi
    sleep "$HEALTH_DELAY_SECONDS"
  done
  die "health: $(health_url) did not answer 200 within $((HEALTH_ATTEMPTS * HEALTH_DELAY_SECONDS)) s (last: $last); see journalctl -u $SERVICE -n 50"
}

# --- the steps, in order ----------------------------------------------------------------------

# name | what it does (the dry run's text; a function name prints it at run time)
STEPS=(
  "packages|apt-get install ${BASE_PACKAGES[*]}"
  "docker-engine|apt-get install the Docker engine from the configured apt sources (@docker_packages)"
  "docker-running|systemctl enable --now docker"
  "node|Node $NODE_MAJOR with npm for the agent: @node_plan"
  "daemon-json|merge live-restore and json-file log rotation into /etc/docker/daemon.json, keeping its other keys; reload, then restart docker"
  "service-user|system user $SERVICE_USER (no login, home $BASE) in the docker group"
  "layout|$BASE with api/ (root's), repo-cache/ and logs/ ($SERVICE_USER's)"
  "env-file|$BASE/.env: @env_file_plan"
  "agent-code|copy the agent from $SOURCE to $BASE/api and npm ci its production dependencies"
  "systemd-unit|install deploy/systemd/$SERVICE.service to /etc/systemd/system, daemon-reload"
  "firewall|ufw allow ${UFW_RULES[*]}, then ufw --force enable"
  "service|systemctl enable $SERVICE, restart it"
  "health|wait for @health_url to answer 200 ($HEALTH_ATTEMPTS tries, ${HEALTH_DELAY_SECONDS} s apart)"
)

if [ -n "$ONLY" ]; then
  for wanted in ${ONLY//,/ }; do
    printf '%s\n' "${STEPS[@]}" | grep -q "^$wanted|" || die "--only: no step named $wanted"
  done
fi

describe() {
  local text=$1 out="" fn
  while [[ "$text" == *@* ]]; do
    out+=${text%%@*}
    text=${text#*@}
    fn=${text%%[!a-z_]*}
    out+=$($fn)
    text=${text#"$fn"}
  done
  printf '%s%s' "$out" "$text"
}

[ "$DRY_RUN" = 1 ] && echo "provision-host: dry run, nothing is changed${ROOT:+ (files read under $ROOT)}"
total=${#STEPS[@]}
n=0
for entry in "${STEPS[@]}"; do
  n=$((n + 1))
  name=${entry%%|*}
  fn=${name//-/_}
  [ -z "$ONLY" ] || [[ "$ONLY" == *",$name,"* ]] || continue
  if "check_$fn"; then
    printf '[%2d/%d] %-14s ok     %s\n' "$n" "$total" "$name" "already done"
  elif [ "$DRY_RUN" = 1 ]; then
    printf '[%2d/%d] %-14s would  %s\n' "$n" "$total" "$name" "$(describe "${entry#*|}")"
  else
    printf '[%2d/%d] %-14s doing  %s\n' "$n" "$total" "$name" "$(describe "${entry#*|}")"
    "do_$fn"
    # health's own action is its bounded wait; every other step must now pass its check.
    [ "$name" = health ] || "check_$fn" || die "$name: still not done after its action"
  fi
done
if [ "$DRY_RUN" = 1 ]; then
  echo "provision-host: dry run done; run it without --dry-run (as root) to do the steps marked would"
elif [ -n "$ONLY" ]; then
  echo "provision-host: the steps asked for (${ONLY:1:-1}) are done"
else
  echo "provision-host: $SERVICE is up. Give the control plane its URL and secret: see README \"Provision a host\""
fi
