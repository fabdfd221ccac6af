/**
 * scripts/rotate-secret.sh against a real agent process (host-agent/src/main.ts) that reads the
 * .env the script edits and that the script restarts through AGENT_RESTART_COMMAND (a small
 * supervisor the test writes, standing where `systemctl restart docker-manager` stands).
 * While the script runs, a client holding the secret the control plane has at that moment
 * (the old one during the rotation, the new one during --finish) asks the agent over and over:
 * it is never refused, only briefly unanswered during the restart. After --finish the old
 * secret is refused. The agent's engine is a socket that does not exist: authentication comes
 * before Docker (an accepted request answers 503), so no Docker is needed or touched.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../host-agent/test/helpers/agent.js";

const root = path.resolve(import.meta.dirname, "../..");
const SCRIPT = path.join(root, "scripts/rotate-secret.sh");
const OLD = "0".repeat(64);
// Each rotation restarts the agent (tsx compiles it at start): seconds on a busy machine.
const ROTATION_TIMEOUT_MS = 120_000;
/** How often the stand-in control plane asks the agent while the script runs. */
const POLL_EVERY_MS = 50;

let dir: string;
let url: string;
const envFile = () => path.join(dir, ".env");

/**
 * The supervisor: stops the agent whose pid it recorded (TERM, then KILL after 10 s) and starts
 * a new one in `dir`, where main.ts reads .env, with an environment holding nothing else.
 */
function supervisor(): string {
  const main = path.join(root, "host-agent/src/main.ts");
  const tsx = path.join(root, "node_modules/tsx/dist/esm/index.mjs");
  return `#!/usr/bin/env bash
set -euo pipefail
cd "${dir}"
if [ -f pid ]; then
  old=$(cat pid)
  kill "$old" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$old" 2>/dev/null || true
fi
setsid env -i PATH="$PATH" "${process.execPath}" --import "${tsx}" "${main}" >>agent.log 2>&1 </dev/null &
echo $! >pid
`;
}

async function restart() {
  await promisify(execFile)(path.join(dir, "restart"), [], { timeout: 30_000 });
}

async function rotate(args: string[] = []) {
  try {
    const { stdout, stderr } = await promisify(execFile)(SCRIPT, ["--env-file", envFile(), ...args], {
      env: { ...process.env, AGENT_RESTART_COMMAND: path.join(dir, "restart") },
      timeout: ROTATION_TIMEOUT_MS,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The status the agent answers a request with this bearer token, or null when it does not answer. */
async function statusWith(secret: string): Promise<number | null> {
  return fetch(`${url}/api/containers`, {
    headers: { authorization: `Bearer ${secret}` },
    signal: AbortSignal.timeout(5_000),
  }).then(
    async (r) => {
      await r.body?.cancel();
      return r.status;
    },
    () => null,
  );
}

/** Asks with `secret` until `during` settles; returns every status seen (null: no answer). */
async function pollWhile<T>(secret: string, during: Promise<T>): Promise<{ result: T; seen: (number | null)[] }> {
  const seen: (number | null)[] = [];
  let done = false;
  const settled = during.finally(() => (done = true));
  const deadline = Date.now() + ROTATION_TIMEOUT_MS;
  while (!done && Date.now() < deadline) {
    seen.push(await statusWith(secret));
    await new Promise((r) => setTimeout(r, POLL_EVERY_MS));
  }
  return { result: await settled, seen };
}

/** The first answer to `secret` once the agent listens (it was just started in the background). */
async function answered(secret: string): Promise<number | null> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await statusWith(secret);
    if (status !== null || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readEnv = async () =>
  Object.fromEntries(
    (await readFile(envFile(), "utf8"))
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rotate-secret-"));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await writeFile(
    envFile(),
    [
      "# the agent under test",
      `API_SECRET=${OLD}`,
      "API_SECRET_PREVIOUS=",
      `PORT=${port}`,
      "BIND_ADDRESS=127.0.0.1",
      `DOCKER_HOST=unix://${dir}/no-engine.sock`,
      // No isolation: the agent leaves the host firewall alone.
      "CONTAINER_NETWORK=bridge",
      `DATA_DIR=${dir}/data`,
      "LOG_LEVEL=warn",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await writeFile(path.join(dir, "restart"), supervisor(), { mode: 0o755 });
  await restart();
});

afterEach(async () => {
  const pid = Number(await readFile(path.join(dir, "pid"), "utf8").catch(() => "0"));
  if (pid > 0) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe("rotate-secret.sh", { timeout: 2 * ROTATION_TIMEOUT_MS }, () => {
  it("switches with no moment of disagreement: old and new accepted during the switch, old refused after --finish", async () => {
    // Before: the agent answers (its engine is down: 503) with the old secret.
    expect(await answered(OLD)).toBe(503);

    const started = await pollWhile(OLD, rotate());
    expect(started.result.code, started.result.stderr).toBe(0);
    // The control plane still sends the old secret: never refused, at most unanswered.
    expect(started.seen.filter((s) => s !== null && s !== 503)).toEqual([]);
    expect(started.seen).toContain(503);

    const env = await readEnv();
    expect(env.API_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(env.API_SECRET).not.toBe(OLD);
    expect(env.API_SECRET_PREVIOUS).toBe(OLD);
    expect(env.PORT).toBe(new URL(url).port);
    expect((await stat(envFile())).mode & 0o777).toBe(0o600);
    const NEW = env.API_SECRET!;
    expect(await statusWith(NEW)).toBe(503);
    expect(await statusWith(OLD)).toBe(503);
    expect(await statusWith("w".repeat(64))).toBe(401);

    // The one place the new secret is printed: the line for the Convex CLI.
    const output = started.result.stdout + started.result.stderr;
    expect(output).toContain(`  npx convex env set DOCKER_API_SECRET ${NEW}\n`);
    expect(output.split(NEW)).toHaveLength(2);
    expect(output).not.toContain(OLD);

    // A second rotation before --finish would drop the secret the control plane may still use.
    const again = await rotate();
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("a rotation is under way");
    expect(await readEnv()).toEqual(env);

    // The control plane now sends the new one; --finish never refuses it.
    const finished = await pollWhile(NEW, rotate(["--finish"]));
    expect(finished.result.code, finished.result.stderr).toBe(0);
    expect(finished.seen.filter((s) => s !== null && s !== 503)).toEqual([]);
    expect(finished.seen).toContain(503);
    expect(finished.result.stdout + finished.result.stderr).not.toContain(NEW);
    expect(await readEnv()).toMatchObject({ API_SECRET: NEW, API_SECRET_PREVIOUS: "" });
    expect(await statusWith(OLD)).toBe(401);
    expect(await statusWith(NEW)).toBe(503);

    // Nothing left to finish.
    const idle = await rotate(["--finish"]);
    expect(idle.code).toBe(0);
    expect(idle.stdout).toContain("nothing to finish");
  });

  it("refuses to start without a usable API_SECRET, changing nothing", async () => {
    await writeFile(envFile(), "API_SECRET=short\n", { mode: 0o600 });
    const res = await rotate();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("no API_SECRET of at least 32 characters");
    expect(await readFile(envFile(), "utf8")).toBe("API_SECRET=short\n");
  });
});
