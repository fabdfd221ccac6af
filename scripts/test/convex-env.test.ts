/**
 * `npm run convex:env` (scripts/convex-env/) against a recorder standing in for `npx convex env`
 * (CONVEX_CLI): each variable set once, through stdin, never one that is already set; Convex
 * Auth's keys a pair jose accepts (a token signed with the private key verifies against the
 * JWKS); a dry run that masks every secret and changes nothing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createLocalJWKSet, importPKCS8, jwtVerify, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VARIABLES } from "../convex-env/variables.js";

const root = path.resolve(import.meta.dirname, "../..");
const MAIN = path.join(root, "scripts/convex-env/main.ts");
const TSX = path.join(root, "node_modules/.bin/tsx");
const RECORDER = path.join(root, "scripts/test/helpers/convex-env-recorder.mjs");

const API_SECRET = "a".repeat(64);
const STREAM_TOKEN_KEY = "b".repeat(64);

type Call = { argv: string[]; stdinUsed?: boolean; names?: string[] };
type State = { env: Record<string, string>; calls: Call[]; down?: boolean };

let dir: string;
const stateFile = () => path.join(dir, "recorder.json");
const readState = async () => JSON.parse(await readFile(stateFile(), "utf8")) as State;
const setCalls = (s: State) => s.calls.filter((c) => c.argv[1] === "set");

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "convex-env-"));
  await writeFile(
    path.join(dir, ".env"),
    `API_SECRET=${API_SECRET}\nSTREAM_TOKEN_KEY=${STREAM_TOKEN_KEY}\nPORT=8181\n`,
  );
  await writeFile(path.join(dir, ".env.local"), "CONVEX_DEPLOYMENT=anonymous:anonymous-artie\n");
  await writeFile(stateFile(), JSON.stringify({ env: {}, calls: [] }));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function provision(args: string[] = [], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(API_SECRET|STREAM_TOKEN_KEY|PORT|CONVEX_)/.test(k)),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [MAIN, ...args], {
      cwd: dir,
      env: { ...clean, CONVEX_CLI: `${process.execPath} ${RECORDER}`, RECORDER_STATE: stateFile(), ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each case starts tsx and the recorder a few times: seconds, not milliseconds, on a busy machine.
describe("convex:env", { timeout: 30_000 }, () => {
  it("sets every variable once on an empty deployment, in one call, every value through stdin", async () => {
    const run = await provision();
    expect(run.code).toBe(0);
    const state = await readState();
    const sets = setCalls(state);
    // One `env set` with no name and no value: the values never appear in an argv.
    expect(sets).toHaveLength(1);
    expect(sets[0]!.argv).toEqual(["env", "set"]);
    expect(sets[0]!.stdinUsed).toBe(true);
    // (The recorder reads the lines with Node's parseEnv, which orders names alphabetically.)
    expect(sets[0]!.names!.sort()).toEqual([...VARIABLES].sort());
    expect(state.env).toMatchObject({
      DOCKER_HOST_URL: "http://127.0.0.1:8181",
      DOCKER_API_SECRET: API_SECRET,
      DOCKER_STREAM_TOKEN_KEY: STREAM_TOKEN_KEY,
      SITE_URL: "http://127.0.0.1:5173",
    });
    expect(state.env.DOCKER_CALLBACK_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(state.env.SETTINGS_ENCRYPTION_KEY).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(run.stdout).toMatch(/set 8, left 0 as set, 0 not set/);
    expect(run.stdout + run.stderr).not.toContain(API_SECRET);
    expect(run.stdout + run.stderr).not.toContain(state.env.DOCKER_CALLBACK_SECRET);
  });

  it("generates Convex Auth keys that jose takes as an RS256 pair with a matching JWKS", async () => {
    await provision();
    const { env } = await readState();
    expect(env.JWT_PRIVATE_KEY).not.toContain("\n");
    // What Convex Auth does with them: sign with the private key, publish the JWKS.
    const key = await importPKCS8(env.JWT_PRIVATE_KEY!, "RS256");
    const token = await new SignJWT({ sub: "user|session" })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer("https://example.convex.site")
      .setAudience("convex")
      .setExpirationTime("1m")
      .sign(key);
    const jwks = JSON.parse(env.JWKS!) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ use: "sig", kty: "RSA", e: "AQAB" });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: "convex" });
    expect(payload.sub).toBe("user|session");
  });

  it("a second run sets nothing", async () => {
    await provision();
    const before = await readState();
    const again = await provision();
    expect(again.code).toBe(0);
    const after = await readState();
    expect(setCalls(after)).toHaveLength(setCalls(before).length);
    expect(after.env).toEqual(before.env);
    expect(again.stdout).toMatch(/set 0, left 8 as set, 0 not set/);
  });

  it("never overwrites a variable that is set, and sets the rest", async () => {
    const preset = {
      DOCKER_API_SECRET: "operator-chosen",
      SITE_URL: "https://dash.example.com",
      JWKS: "x",
      JWT_PRIVATE_KEY: "y",
    };
    await writeFile(stateFile(), JSON.stringify({ env: preset, calls: [] }));
    const run = await provision();
    expect(run.code).toBe(0);
    const state = await readState();
    expect(state.env).toMatchObject(preset);
    expect(setCalls(state).map((c) => c.names!.sort())).toEqual([
      ["DOCKER_CALLBACK_SECRET", "DOCKER_HOST_URL", "DOCKER_STREAM_TOKEN_KEY", "SETTINGS_ENCRYPTION_KEY"],
    ]);
  });

  it("leaves a half-set key pair alone and says how to fix it", async () => {
    await writeFile(stateFile(), JSON.stringify({ env: { JWT_PRIVATE_KEY: "old" }, calls: [] }));
    const run = await provision();
    expect(run.code).toBe(1);
    const state = await readState();
    expect(state.env.JWT_PRIVATE_KEY).toBe("old");
    expect(state.env.JWKS).toBeUndefined();
    expect(state.env.DOCKER_API_SECRET).toBe(API_SECRET);
    expect(run.stderr).toMatch(/JWKS: JWT_PRIVATE_KEY is set without it.*npx convex env remove JWT_PRIVATE_KEY/);
  });

  it("--dry-run prints the calls with secrets masked and changes nothing", async () => {
    const run = await provision(["--dry-run"]);
    expect(run.code).toBe(0);
    const state = await readState();
    expect(setCalls(state)).toHaveLength(0);
    expect(state.env).toEqual({});
    expect(run.stdout).toMatch(/would run `\S+ \S+ env set` with these lines on stdin:/);
    const lines = run.stdout.split("\n").filter((l) => /^ {2}[A-Z_]+=/.test(l));
    expect(lines.map((l) => l.trim().split("=")[0])).toEqual([...VARIABLES]);
    expect(run.stdout).toContain("  DOCKER_HOST_URL=http://127.0.0.1:8181\n");
    for (const name of [
      "DOCKER_API_SECRET",
      "DOCKER_STREAM_TOKEN_KEY",
      "DOCKER_CALLBACK_SECRET",
      "SETTINGS_ENCRYPTION_KEY",
      "JWT_PRIVATE_KEY",
    ]) {
      expect(run.stdout).toMatch(new RegExp(`  ${name}=<secret, \\d+ characters>\n`));
    }
    expect(run.stdout).not.toContain(API_SECRET);
    expect(run.stdout).not.toContain(STREAM_TOKEN_KEY);
    expect(run.stdout).not.toContain("PRIVATE KEY");
  });

  it.each([
    ["a cloud deployment", "CONVEX_DEPLOYMENT=dev:happy-otter-123\n"],
    ["a self-hosted backend, even on loopback", "CONVEX_SELF_HOSTED_URL=http://127.0.0.1:3210\n"],
  ])("does not guess the agent's URL for %s, and takes --agent-url or DOCKER_HOST_URL", async (_what, local) => {
    await writeFile(path.join(dir, ".env.local"), local);
    const guessed = await provision();
    expect(guessed.code).toBe(1);
    expect(guessed.stderr).toMatch(/DOCKER_HOST_URL: only a local deployment .* pass --agent-url/);
    expect((await readState()).env.DOCKER_HOST_URL).toBeUndefined();
    const told = await provision(["--agent-url", "https://docker-host.example.com:8080/"]);
    expect(told.code).toBe(0);
    expect((await readState()).env.DOCKER_HOST_URL).toBe("https://docker-host.example.com:8080");
  });

  it("reads DOCKER_HOST_URL from .env.local, and refuses a URL it cannot pass on", async () => {
    await writeFile(
      path.join(dir, ".env.local"),
      "CONVEX_SELF_HOSTED_URL=http://127.0.0.1:3210\nDOCKER_HOST_URL=http://172.17.0.1:8080\n",
    );
    expect((await provision()).code).toBe(0);
    expect((await readState()).env.DOCKER_HOST_URL).toBe("http://172.17.0.1:8080");
    const bad = await provision(["--site-url", "http://x'y"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--site-url/);
  });

  it("says what to do when the agent has no secrets yet", async () => {
    await rm(path.join(dir, ".env"));
    const run = await provision();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/DOCKER_API_SECRET: the agent has no API_SECRET: run `npm run agent` once/);
    expect((await readState()).env.DOCKER_API_SECRET).toBeUndefined();
  });

  it("fails clearly, changing nothing, when the deployment does not answer", async () => {
    await writeFile(stateFile(), JSON.stringify({ env: {}, calls: [], down: true }));
    const run = await provision();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/env list --names-only` exited with 1: .*Local backend isn't running/s);
    expect(run.stderr).toMatch(/Check that `npx convex env list` works here/);
  });
});
