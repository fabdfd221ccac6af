/**
 * The systemd unit's privileges are enough for what the agent does on the host, and needed:
 * the real agent runs as a non-root user in the Docker socket's group with exactly the unit's
 * AmbientCapabilities (read from deploy/systemd/docker-manager.service), its bounding set and
 * no_new_privs, as systemd would start it (setpriv stands in for systemd, which is not PID 1
 * here). With isolation on it installs its firewall (iptables, ip6tables) and creates an
 * isolated container; without the capabilities it refuses to start, saying why. What setpriv
 * cannot show: the unit's filesystem and syscall hardening (ProtectSystem, SystemCallFilter, ...),
 * which only a running systemd applies.
 */
import { execFile } from "node:child_process";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  client,
  createContainer,
  freePort,
  spawnAgent,
  testEnv,
  type SpawnedAgent,
} from "../../host-agent/test/helpers/agent.js";
import { inspectById } from "../../host-agent/test/helpers/docker.js";

const root = path.resolve(import.meta.dirname, "../..");
const UNIT = path.join(root, "deploy/systemd/docker-manager.service");
/** Any unprivileged uid/gid will do (the unit's docker-manager is not made on this machine). */
const NOBODY = 65534;

/** The values of a directive in the unit, split on spaces. */
async function directive(name: string): Promise<string[]> {
  const line = (await readFile(UNIT, "utf8")).split("\n").find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`${name}= is not in ${UNIT}`);
  return line
    .slice(name.length + 1)
    .split(/\s+/)
    .filter(Boolean);
}

async function dockerGid(): Promise<string> {
  const { stdout } = await promisify(execFile)("getent", ["group", "docker"]);
  return stdout.split(":")[2]!;
}

/** setpriv's argv for the unit's user and group, its capabilities (or none) and NoNewPrivileges. */
async function asTheUnit(withCapabilities: boolean): Promise<string[]> {
  expect(await directive("NoNewPrivileges")).toEqual(["yes"]);
  expect(await directive("SupplementaryGroups")).toEqual(["docker"]);
  const caps = (await directive("AmbientCapabilities")).map((c) => c.replace(/^CAP_/, "").toLowerCase());
  expect(await directive("CapabilityBoundingSet")).toEqual(await directive("AmbientCapabilities"));
  const list = caps.map((c) => `+${c}`).join(",");
  return [
    "setpriv",
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    `--groups=${await dockerGid()}`,
    ...(withCapabilities
      ? [`--inh-caps=${list}`, `--ambient-caps=${list}`, `--bounding-set=-all,${list}`]
      : ["--inh-caps=-all", "--bounding-set=-all"]),
    "--no-new-privs",
    "--",
  ];
}

let dataDir: string;
let agent: SpawnedAgent | undefined;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "unit-privileges-"));
  await chown(dataDir, NOBODY, NOBODY);
});
afterEach(async () => {
  await agent?.kill("SIGTERM");
  agent = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

// Isolation on (the default CONTAINER_NETWORK), as a provisioned host runs it.
const env = async () =>
  testEnv({ PORT: String(await freePort()), DATA_DIR: dataDir, HOME: dataDir, CONTAINER_NETWORK: "isolated" });

describe("the unit's user and capabilities", () => {
  it("are enough: the firewall goes in and an isolated container is created", async () => {
    const jumps = async () =>
      (await promisify(execFile)("iptables", ["-w", "-S", "INPUT"])).stdout
        .split("\n")
        .filter((l) => /^-A INPUT -i artie\+ -j ARTIE-INPUT-[0-9a-f]{6}$/.test(l));
    const before = await jumps();
    agent = await spawnAgent(await env(), await asTheUnit(true));
    const health = await fetch(`${agent.url}/health`);
    expect(health.status).toBe(200);
    const { stdout } = await promisify(execFile)("ps", ["-o", "uid=", "-p", String(agent.process.pid)]);
    // setpriv execs node: the agent itself is the unprivileged process.
    expect(Number(stdout.trim())).toBe(NOBODY);
    // Its own chain, freshly named, in place of the one before it (firewall.ts).
    const after = await jumps();
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);

    const created = await createContainer(client(agent.url));
    const info = await inspectById(created.id);
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels["artie.network"]).toMatch(/^artie/);
  });

  it("are needed: without them the agent stops at start-up and says why", async () => {
    const started = spawnAgent(await env(), await asTheUnit(false));
    await expect(started).rejects.toThrow(/Network isolation needs the host firewall/);
  });
});
