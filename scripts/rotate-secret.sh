#!/usr/bin/env bash
# Rotates the agent's API_SECRET with no moment where the control plane and the agent disagree:
#
#   sudo scripts/rotate-secret.sh            1. new API_SECRET, the old one kept in API_SECRET_PREVIOUS
#                                               (the agent accepts both), agent restarted, both
#                                               checked; prints the `npx convex env set` line
#   npx convex env set DOCKER_API_SECRET …   2. the control plane switches (any time after 1)
#   sudo scripts/rotate-secret.sh --finish   3. API_SECRET_PREVIOUS emptied, agent restarted; the
#                                               old secret is checked to be refused
#
# Options: --env-file FILE (default /opt/docker-manager/.env, what provision-host.sh writes).
# AGENT_RESTART_COMMAND names one executable run instead of `systemctl restart docker-manager`
# (the tests restart an agent of their own with it).
#
# The secrets are made and written by Node and never appear in an argv or in the output, with
# one exception that cannot be avoided: step 1 prints the new secret once, in the line for the
# Convex CLI, since that usually runs on another machine (the output also shows a way to hand
# it over without printing it). The restart is a few seconds without the API (containers keep
# running): the agent reads its secrets at start. STREAM_TOKEN_KEY (browser stream tokens) is
# another key and is not rotated here.
set -euo pipefail

ENV_FILE=/opt/docker-manager/.env
SERVICE=docker-manager
FINISH=0
# After the restart: this many tries, this many seconds apart, for the agent to answer.
HEALTH_ATTEMPTS=30
HEALTH_DELAY_SECONDS=1

while [ $# -gt 0 ]; do
  case "$1" in
    --finish) FINISH=1 ;;
    --env-file)
      ENV_FILE=${2:?--env-file needs a path}
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "rotate-secret: unknown argument $1 (try --help)" >&2
      exit 64
      ;;
  esac
  shift
done

die() {
  echo "rotate-secret: $*" >&2
  exit 1
}
[ -f "$ENV_FILE" ] || die "$ENV_FILE does not exist (provision the host first: scripts/provision-host.sh)"
[ -w "$ENV_FILE" ] || die "$ENV_FILE is not writable by this user (run it with sudo)"

# The last value of NAME in the file (what the agent's loader ends up with), into a variable only.
read_var() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }

# Rewrites the file in place (same mode, atomic rename): `start` sets a new random API_SECRET and
# puts the current one in API_SECRET_PREVIOUS; `finish` empties API_SECRET_PREVIOUS.
edit_env() {
  node - "$1" "$ENV_FILE" <<'EOF'
const fs = require("node:fs");
const { randomBytes } = require("node:crypto");
const [mode, file] = process.argv.slice(2);
let text = fs.readFileSync(file, "utf8");
const set = (name, value) => {
  const line = new RegExp(`^${name}=.*$`, "gm");
  if (line.test(text)) text = text.replace(line, () => `${name}=${value}`);
  else text = `${text.replace(/\n?$/, "\n")}${name}=${value}\n`;
};
const current = [...text.matchAll(/^API_SECRET=(.*)$/gm)].pop()?.[1] ?? "";
if (mode === "start") {
  set("API_SECRET_PREVIOUS", current);
  set("API_SECRET", randomBytes(32).toString("hex"));
} else {
  set("API_SECRET_PREVIOUS", "");
}
const { mode: fileMode, uid, gid } = fs.statSync(file);
const tmp = `${file}.rotate-${process.pid}`;
fs.writeFileSync(tmp, text, { mode: fileMode & 0o777 });
fs.chownSync(tmp, uid, gid);
fs.renameSync(tmp, file);
EOF
}

restart_agent() {
  if [ -n "${AGENT_RESTART_COMMAND:-}" ]; then
    "$AGENT_RESTART_COMMAND"
  else
    systemctl restart "$SERVICE"
  fi
}

agent_url() {
  local port host
  port=$(read_var PORT)
  host=$(read_var BIND_ADDRESS)
  case "$host" in "" | 0.0.0.0 | "::") host=127.0.0.1 ;; esac
  echo "http://$host:${port:-8080}"
}

# Asks the agent, once it answers at all, whether it takes each secret: ACCEPT and REFUSE are
# passed in the environment (never an argv). Accepted means anything but 401 (a 503 from a
# Docker that is down still went through authentication).
check_agent() {
  node -e '
    const [url, attempts, delayS] = process.argv.slice(1);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const ask = (secret) =>
      fetch(`${url}/api/containers`, { headers: { authorization: `Bearer ${secret}` }, redirect: "error", signal: AbortSignal.timeout(5000) })
        .then(async (r) => { await r.body?.cancel(); return r.status; });
    (async () => {
      for (let i = 1; ; i++) {
        const up = await fetch(`${url}/health`, { redirect: "error", signal: AbortSignal.timeout(5000) }).then((r) => r.body?.cancel().then(() => true), () => false);
        if (up) break;
        if (i >= Number(attempts)) throw new Error(`${url} did not answer within ${attempts * delayS} s`);
        await sleep(delayS * 1000);
      }
      const problems = [];
      const expected = [["ACCEPT", true, "the new secret"], ["ACCEPT_TOO", true, "the old secret"], ["REFUSE", false, "the old secret"]];
      for (const [name, want, label] of expected) {
        const secret = process.env[`ROTATE_${name}`];
        if (!secret) continue;
        const status = await ask(secret);
        if ((status !== 401) !== want) problems.push(`${label} is ${want ? "refused" : "still accepted"} (${status})`);
      }
      if (problems.length) throw new Error(problems.join("; "));
    })().catch((e) => { console.error(e.message); process.exit(1); });
  ' "$(agent_url)" "$HEALTH_ATTEMPTS" "$HEALTH_DELAY_SECONDS"
}

current=$(read_var API_SECRET)
previous=$(read_var API_SECRET_PREVIOUS)

if [ "$FINISH" = 1 ]; then
  if [ -z "$previous" ]; then
    echo "rotate-secret: no rotation under way (API_SECRET_PREVIOUS is empty in $ENV_FILE); nothing to finish"
    exit 0
  fi
  edit_env finish
  restart_agent
  ROTATE_ACCEPT=$current ROTATE_REFUSE=$previous check_agent ||
    die "after the restart the agent does not behave as expected; see journalctl -u $SERVICE -n 50"
  echo "rotate-secret: done. The agent accepts only the new secret; the old one is refused."
  exit 0
fi

[ ${#current} -ge 32 ] || die "$ENV_FILE has no API_SECRET of at least 32 characters to rotate from"
[ -z "$previous" ] ||
  die "a rotation is under way (API_SECRET_PREVIOUS is set): once the control plane has the current secret, run $0 --finish, then rotate again"

edit_env start
new=$(read_var API_SECRET)
restart_agent
ROTATE_ACCEPT=$new ROTATE_ACCEPT_TOO=$current check_agent ||
  die "after the restart the agent does not accept both secrets; $ENV_FILE has both (API_SECRET, API_SECRET_PREVIOUS), see journalctl -u $SERVICE -n 50"

cat <<EOF
rotate-secret: the agent now accepts the new secret and the old one.

Give the control plane the new secret. This is the one place it is printed (it goes into your
shell history if you paste it; clear it there afterwards):

  npx convex env set DOCKER_API_SECRET $new

Or, without printing it, from the machine where you run the Convex CLI (it reads NAME=value
lines on stdin):

  ssh root@<this host> "sed -n 's/^API_SECRET=/DOCKER_API_SECRET=/p' $ENV_FILE" | npx convex env set

Once the control plane uses it, drop the old secret:

  sudo $0 --finish
EOF
