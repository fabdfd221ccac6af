/**
 * Provisioning (scripts/provision-host.sh, scripts/daemon-json.mjs, deploy/systemd/): the dry run
 * prints every step in order and changes nothing, here or under PROVISION_ROOT (an existing
 * daemon.json and .env are read, never written, and the secret is never printed); the
 * daemon.json merge keeps every key an operator set; the unit passes `systemd-analyze verify`,
 * which fails a broken copy (so it really checks). A real run is not made here: it installs
 * packages, creates a user and enables ufw on the machine it runs on.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const SCRIPT = path.join(root, "scripts/provision-host.sh");
const MERGE = path.join(root, "scripts/daemon-json.mjs");
const WANTED = path.join(root, "deploy/docker/daemon.json");
const UNIT = path.join(root, "deploy/systemd/docker-manager.service");

const STEPS = [
  "packages",
  "docker-engine",
  "docker-running",
  "node",
  "daemon-json",
  "service-user",
  "layout",
  "env-file",
  "agent-code",
  "systemd-unit",
  "firewall",
  "service",
  "health",
];

type Run = { code: number; stdout: string; stderr: string };
async function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under dir with its bytes and mtime: what "nothing changed" is checked against. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const s = await stat(file);
    out[path.relative(dir, file)] = `${s.mode}:${s.mtimeMs}:${entry.isFile() ? await readFile(file, "utf8") : ""}`;
  }
  return out;
}

/** What a real run would change on this machine, read before and after a dry run. */
async function hostState() {
  const id = await run("id", ["docker-manager"]);
  const read = (f: string) => readFile(f, "utf8").catch(() => null);
  return {
    user: id.code,
    base: existsSync("/opt/docker-manager"),
    unit: await read("/etc/systemd/system/docker-manager.service"),
    daemon: await read("/etc/docker/daemon.json"),
  };
}

/** The step lines, `[ n/13] name state text`, as [name, state]. */
const stepLines = (stdout: string) =>
  [...stdout.matchAll(/^\[\s*\d+\/(\d+)\] (\S+)\s+(ok|would)\s+(.*)$/gm)].map((m) => ({
    total: Number(m[1]),
    name: m[2],
    state: m[3],
    text: m[4]!,
  }));

// A dry run asks apt (seconds on a busy machine) and starts Node a few times.
const SCRIPT_TIMEOUT_MS = 60_000;

let fakeRoot: string;
beforeEach(async () => {
  fakeRoot = await mkdtemp(path.join(tmpdir(), "provision-root-"));
});
afterEach(async () => rm(fakeRoot, { recursive: true, force: true }));

describe("provision-host.sh --dry-run", { timeout: SCRIPT_TIMEOUT_MS }, () => {
  it("prints every step in order and changes nothing on this machine", async () => {
    const before = await hostState();
    const res = await run(SCRIPT, ["--dry-run"]);
    expect(res.code, res.stderr).toBe(0);
    const steps = stepLines(res.stdout);
    expect(steps.map((s) => s.name)).toEqual(STEPS);
    expect(steps.every((s) => s.total === STEPS.length)).toBe(true);
    expect(res.stdout).toMatch(/^provision-host: dry run, nothing is changed$/m);
    // The closing check is never "already done", and a dry run sends it nowhere.
    expect(steps.at(-1)).toMatchObject({ name: "health", state: "would" });
    expect(steps.find((s) => s.name === "firewall")?.text).toBe(
      "ufw allow 22/tcp 8080/tcp 10000:20000/tcp, then ufw --force enable",
    );
    expect(await hostState()).toEqual(before);
  });

  it("reads an existing daemon.json and .env under PROVISION_ROOT, never writes them or prints the secret", async () => {
    const secret = "s".repeat(64);
    await mkdir(path.join(fakeRoot, "etc/docker"), { recursive: true });
    await mkdir(path.join(fakeRoot, "opt/docker-manager"), { recursive: true });
    await writeFile(path.join(fakeRoot, "etc/docker/daemon.json"), '{"data-root": "/srv/docker"}\n');
    await writeFile(path.join(fakeRoot, "opt/docker-manager/.env"), `API_SECRET=${secret}\nPORT=8099\n`);
    await chmod(path.join(fakeRoot, "opt/docker-manager/.env"), 0o600);
    const files = await snapshot(fakeRoot);
    const before = await hostState();

    const res = await run(SCRIPT, ["--dry-run"], { PROVISION_ROOT: fakeRoot });
    expect(res.code, res.stderr).toBe(0);
    const steps = stepLines(res.stdout);
    expect(steps.map((s) => s.name)).toEqual(STEPS);
    expect(steps.find((s) => s.name === "daemon-json")?.state).toBe("would");
    const env = steps.find((s) => s.name === "env-file")!;
    // Owned by root, 0600, a 64-character secret: nothing to do (the test runs as root) or, run
    // by another user, a plan that keeps the secret.
    expect(env.state === "ok" || env.text.includes("keep its API_SECRET")).toBe(true);
    // The health check would ask the port the .env names.
    expect(steps.at(-1)?.text).toContain("http://127.0.0.1:8099/health");
    expect(res.stdout + res.stderr).not.toContain(secret);
    expect(await snapshot(fakeRoot)).toEqual(files);
    expect(await hostState()).toEqual(before);
  });

  it("says daemon-json is done once the file has the agent's settings", async () => {
    await mkdir(path.join(fakeRoot, "etc/docker"), { recursive: true });
    await copyFile(WANTED, path.join(fakeRoot, "etc/docker/daemon.json"));
    const res = await run(SCRIPT, ["--dry-run", "--only=daemon-json"], { PROVISION_ROOT: fakeRoot });
    expect(res.code, res.stderr).toBe(0);
    // Node decides (daemon-json.mjs); a machine without a node on PATH reports "would".
    expect(stepLines(res.stdout).find((s) => s.name === "daemon-json")?.state).toBe("ok");
  });

  it("runs only the steps --only names, in the list's order, and refuses a name that is no step", async () => {
    const res = await run(SCRIPT, ["--dry-run", "--only=firewall,layout"], { PROVISION_ROOT: fakeRoot });
    expect(res.code, res.stderr).toBe(0);
    expect(stepLines(res.stdout).map((s) => s.name)).toEqual(["layout", "firewall"]);
    const wrong = await run(SCRIPT, ["--dry-run", "--only=layout,fire-wall"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("no step named fire-wall");
  });

  it("refuses PROVISION_ROOT for a real run, and an unknown argument", async () => {
    const before = await hostState();
    const real = await run(SCRIPT, [], { PROVISION_ROOT: fakeRoot });
    expect(real.code).toBe(64);
    expect(real.stderr).toContain("PROVISION_ROOT is for --dry-run only");
    expect(real.stdout).toBe("");
    expect((await run(SCRIPT, ["--dryrun"])).code).toBe(64);
    expect(await readdir(fakeRoot)).toEqual([]);
    expect(await hostState()).toEqual(before);
  });
});

describe("daemon-json.mjs", { timeout: SCRIPT_TIMEOUT_MS }, () => {
  const file = () => path.join(fakeRoot, "daemon.json");
  const merge = () => run(process.execPath, [MERGE, "merge", WANTED, file()]);
  const check = () => run(process.execPath, [MERGE, "check", WANTED, file()]);
  const read = async () => JSON.parse(await readFile(file(), "utf8")) as Record<string, unknown>;

  it("writes the agent's settings into a missing file, and then has nothing left to do", async () => {
    expect((await check()).code).toBe(3);
    expect((await merge()).code).toBe(0);
    expect(await read()).toEqual({
      "live-restore": true,
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
    });
    expect((await check()).code).toBe(0);
    const bytes = await readFile(file(), "utf8");
    expect((await merge()).code).toBe(0);
    expect(await readFile(file(), "utf8")).toBe(bytes);
  });

  it("keeps every key the operator set, their own max-size included, and turns live-restore on", async () => {
    await writeFile(
      file(),
      JSON.stringify({
        "data-root": "/srv/docker",
        dns: ["10.0.0.53"],
        "live-restore": false,
        "log-opts": { "max-size": "50m", labels: "team" },
      }),
    );
    const res = await merge();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("kept data-root, dns");
    expect(await read()).toEqual({
      "data-root": "/srv/docker",
      dns: ["10.0.0.53"],
      "live-restore": true,
      "log-driver": "json-file",
      "log-opts": { "max-size": "50m", labels: "team", "max-file": "3" },
    });
  });

  it("leaves another log driver as it is, and says so", async () => {
    await writeFile(file(), JSON.stringify({ "log-driver": "journald" }));
    const res = await merge();
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('sets log-driver "journald"; it is kept');
    expect(await read()).toEqual({ "log-driver": "journald", "live-restore": true });
    expect((await check()).code).toBe(0);
  });

  it("never overwrites a file that is not a JSON object", async () => {
    for (const text of ["{ not json", "[1, 2]"]) {
      await writeFile(file(), text);
      const res = await merge();
      expect(res.code).toBe(2);
      expect(res.stderr).toContain("fix it by hand");
      expect(await readFile(file(), "utf8")).toBe(text);
    }
  });
});

describe("deploy/systemd/docker-manager.service", { timeout: SCRIPT_TIMEOUT_MS }, () => {
  it("passes systemd-analyze verify", async () => {
    const res = await run("systemd-analyze", ["verify", UNIT]);
    expect(res.code, `systemd-analyze (apt-get install systemd): ${res.stderr}`).toBe(0);
    expect(res.stdout + res.stderr).toBe("");
  });

  it("is checked for real: a broken copy fails verify, naming what is wrong", async () => {
    const text = (await readFile(UNIT, "utf8"))
      .replace(/^ExecStart=node /m, "ExecStart=no-such-node-binary ")
      .replace(/^Restart=on-failure$/m, "Restart=sometimes");
    const broken = path.join(fakeRoot, "docker-manager.service");
    await writeFile(broken, text);
    const res = await run("systemd-analyze", ["verify", broken]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("no-such-node-binary is not executable");
    expect(res.stderr).toContain("Failed to parse service restart specifier");
  });

  it("runs the agent the way provision-host.sh lays it out, restarted on failure, hardened", async () => {
    const unit = await readFile(UNIT, "utf8");
    const script = await readFile(SCRIPT, "utf8");
    for (const line of [
      "User=docker-manager",
      "SupplementaryGroups=docker",
      "WorkingDirectory=/opt/docker-manager/api",
      "EnvironmentFile=/opt/docker-manager/.env",
      "Restart=on-failure",
      "StandardOutput=journal",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ReadWritePaths=/opt/docker-manager",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      // iptables for isolation (host-agent/src/network/firewall.ts), as the service user.
      "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW",
    ])
      expect(unit.split("\n")).toContain(line);
    expect(script).toContain("SERVICE_USER=docker-manager");
    expect(script).toContain("BASE=/opt/docker-manager");
    // The .env the script writes points DATA_DIR at the one path the unit lets the agent write.
    expect(script).toContain("DATA_DIR=${dataDir}");
  });
});
