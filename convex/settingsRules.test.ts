// Every rule of a repo's settings, as the mutation and the form both apply them, and the one-line
// command splitter they share.
import { ResourceLimits } from "@artie/host-agent/contract";
import { describe, expect, it } from "vitest";
import { SETTINGS_BOUNDS } from "./limits";
import {
  formatCommandLine,
  normalizeRepoSettings,
  repoSettingsProblems,
  reservedReason,
  splitCommandLine,
  type RepoSettingsInput,
} from "./settingsRules";

const VALID: RepoSettingsInput = {
  runtime: "docker",
  defaultBranch: "main",
  devCommand: "npm run dev -- --host 0.0.0.0",
  installCommand: "npm ci",
  baseImage: "node:24-slim",
  ports: [3000, 5173],
  limits: { memoryMb: 1024, cpus: 1, pidsLimit: 256 },
  idleLimitMinutes: 60,
  envVars: [{ name: "DATABASE_URL", value: "postgres://db/app" }],
};

const fields = (input: Partial<RepoSettingsInput>, stored?: { name: string; bytes?: number }[]) =>
  repoSettingsProblems({ ...VALID, ...input }, stored).map((p) => p.field);
const messages = (input: Partial<RepoSettingsInput>) =>
  repoSettingsProblems({ ...VALID, ...input }).map((p) => p.message);

describe("splitCommandLine", () => {
  it("splits on spaces and tabs, with quotes and backslashes as a shell has them", () => {
    expect(splitCommandLine("  npm   run\tdev ")).toEqual({ argv: ["npm", "run", "dev"] });
    expect(splitCommandLine(`node -e 'console.log("hi there")'`)).toEqual({
      argv: ["node", "-e", 'console.log("hi there")'],
    });
    expect(splitCommandLine(`echo "say \\"hi\\" \\\\ \\n" a\\ b ''`)).toEqual({
      argv: ["echo", 'say "hi" \\ \\n', "a b", ""],
    });
    expect(splitCommandLine(`--x="a b"c`)).toEqual({ argv: ["--x=a bc"] });
    expect(splitCommandLine("")).toEqual({ argv: [] });
  });

  it("keeps shell syntax only when quoted, and refuses it unquoted with a way out", () => {
    expect(splitCommandLine(`sh -c 'npm run build && npm start'`)).toEqual({
      argv: ["sh", "-c", "npm run build && npm start"],
    });
    expect(splitCommandLine(`echo \\$HOME '*'`)).toEqual({ argv: ["echo", "$HOME", "*"] });
    for (const line of ["npm i && npm start", "a | b", "a; b", "a > f", "echo $HOME", "ls *.ts", "$(x)", "`x`"]) {
      const r = splitCommandLine(line);
      expect(r, line).toHaveProperty("error");
      expect((r as { error: string }).error).toMatch(/runs without a shell.*sh -c/);
    }
  });

  it("refuses unclosed quotes, a trailing backslash and more than one line", () => {
    expect(splitCommandLine("echo 'a")).toEqual({ error: "has an unclosed ' quote" });
    expect(splitCommandLine('echo "a\\"')).toEqual({ error: 'has an unclosed " quote' });
    expect(splitCommandLine("echo a\\")).toEqual({ error: "ends with a lone backslash" });
    expect(splitCommandLine("a\nb")).toEqual({ error: "must be one line" });
  });

  it("formatCommandLine gives back a line that splits into the same argv", () => {
    for (const argv of [
      ["npm", "run", "dev"],
      ["node", "-e", 'console.log("x y")'],
      ["sh", "-c", "a && b"],
      ["echo", "it's", 'a "b" \\ c', "", "$HOME", "--port=3000"],
    ]) {
      expect(splitCommandLine(formatCommandLine(argv))).toEqual({ argv });
    }
    expect(formatCommandLine(["npm", "run", "dev"])).toBe("npm run dev");
  });
});

describe("repoSettingsProblems", () => {
  it("accepts a full valid input, and a minimal one", () => {
    expect(repoSettingsProblems(VALID)).toEqual([]);
    expect(repoSettingsProblems({ runtime: "firecracker", defaultBranch: "release/1.2", envVars: [] })).toEqual([]);
  });

  it("runtime is docker or firecracker", () => {
    expect(fields({ runtime: "podman" as never })).toEqual(["runtime"]);
  });

  it("default branch is a git branch name (the agent's BranchName)", () => {
    for (const b of ["", "-x", "a..b", "a b", ".hidden", "x.lock", "a/"])
      expect(fields({ defaultBranch: b }), b).toEqual(["defaultBranch"]);
    expect(fields({ defaultBranch: "feature/new-ui" })).toEqual([]);
  });

  it("commands are one line that splits into at most 64 words, blank for the default", () => {
    expect(fields({ devCommand: "", installCommand: "   " })).toEqual([]);
    expect(fields({ devCommand: "npm i && npm run dev" })).toEqual(["devCommand"]);
    expect(messages({ installCommand: "pnpm 'install" })).toEqual(["This command has an unclosed ' quote"]);
    expect(messages({ devCommand: "--inspect server.js" })).toEqual(["Start with the program to run, not an option"]);
    expect(messages({ devCommand: Array(65).fill("a").join(" ") })).toEqual(["At most 64 words"]);
    expect(messages({ devCommand: "a".repeat(SETTINGS_BOUNDS.command.maxChars + 1) })).toEqual([
      "At most 4096 characters",
    ]);
  });

  it("base image is a Docker image reference (the agent's ImageRef), blank for the default", () => {
    expect(fields({ baseImage: "" })).toEqual([]);
    expect(fields({ baseImage: "registry.local:5000/team/node:24@sha256:" + "a".repeat(64) })).toEqual([]);
    for (const img of ["Node:24", "-x", "node 24", "node:"])
      expect(fields({ baseImage: img }), img).toEqual(["baseImage"]);
  });

  it("base image is never a main image: the host picks a team's own and refuses others'", () => {
    for (const img of ["artie-main-0123456789abcdef01234567:main", "acme-shop:main", "registry.local/artie-main-x:v1"])
      expect(fields({ baseImage: img }), img).toEqual(["baseImage"]);
    expect(fields({ baseImage: "node:24-main-slim" })).toEqual([]);
  });

  it("ports are 1-4 different whole numbers from 1024 to 65535", () => {
    expect(fields({ ports: [1024, 65535] })).toEqual([]);
    for (const ports of [[], [80], [65536], [3000, 3000], [3000.5], [3000, 3001, 3002, 3003, 3004]]) {
      expect(fields({ ports }), JSON.stringify(ports)).toEqual(["ports"]);
    }
    expect(messages({ ports: [80] })).toEqual(["1-4 different ports from 1024 to 65535"]);
  });

  it("limits stay within the agent's minimums and maximums, each with its own field", () => {
    const b = SETTINGS_BOUNDS.limits;
    expect(fields({ limits: { memoryMb: b.memoryMb.max, cpus: b.cpus.min, pidsLimit: b.pidsLimit.min } })).toEqual([]);
    expect(fields({ limits: {} })).toEqual([]);
    expect(fields({ limits: { memoryMb: 4096, cpus: 2, pidsLimit: 8 } })).toEqual([
      "limits.memoryMb",
      "limits.cpus",
      "limits.pidsLimit",
    ]);
    expect(fields({ limits: { memoryMb: 512.5 } })).toEqual(["limits.memoryMb"]);
    expect(messages({ limits: { cpus: 0.01 } })).toEqual(["A number of CPUs from 0.05 to 1.5"]);
    expect(messages({ limits: { memoryMb: NaN } })).toEqual(["A whole number of MB of memory from 16 to 2048"]);
  });

  it("the limits' minimums are the contract's own", () => {
    const b = SETTINGS_BOUNDS.limits;
    expect(
      ResourceLimits.safeParse({ memoryMb: b.memoryMb.min, cpus: b.cpus.min, pidsLimit: b.pidsLimit.min }).success,
    ).toBe(true);
    for (const k of ["memoryMb", "cpus", "pidsLimit"] as const) {
      expect(ResourceLimits.safeParse({ [k]: b[k].min - 0.01 }).success, k).toBe(false);
    }
  });

  it("idle limit is a whole number of minutes within IDLE_LIMIT_MINUTES", () => {
    expect(fields({ idleLimitMinutes: 5 })).toEqual([]);
    for (const m of [4, 7 * 24 * 60 + 1, 10.5])
      expect(fields({ idleLimitMinutes: m }), String(m)).toEqual(["idleLimitMinutes"]);
  });

  it("variable names are environment names, each once", () => {
    const names = (...ns: string[]) => fields({ envVars: ns.map((name) => ({ name, value: "x" })) });
    expect(names("A", "_b1", "x".repeat(128))).toEqual([]);
    expect(names("1A", "A-B", "", "x".repeat(129), "A B")).toEqual([
      "envVars.0",
      "envVars.1",
      "envVars.2",
      "envVars.3",
      "envVars.4",
    ]);
    expect(
      messages({
        envVars: [
          { name: "A", value: "1" },
          { name: "A", value: "2" },
        ],
      }),
    ).toEqual(["A is listed twice"]);
  });

  it("refuses the names the agent sets itself, saying why", () => {
    for (const name of [
      "PORT",
      "HOST",
      "HTTP_PROXY",
      "https_proxy",
      "NO_PROXY",
      "all_proxy",
      "NODE_USE_ENV_PROXY",
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "GIT_SSL_CAINFO",
      "npm_config_cafile",
      "ARTIE_EXEC_TAG",
      "artie_x",
    ]) {
      expect(reservedReason(name), name).not.toBeNull();
      expect(fields({ envVars: [{ name, value: "x" }] }), name).toEqual(["envVars.0"]);
    }
    expect(messages({ envVars: [{ name: "PORT", value: "1" }] })[0]).toMatch(
      /set by the agent: it tells the dev server where to listen/,
    );
    expect(messages({ envVars: [{ name: "HTTPS_PROXY", value: "1" }] })[0]).toMatch(/egress proxy/);
    expect(reservedReason("PORTS")).toBeNull();
    expect(reservedReason("port")).toBeNull();
  });

  it("at most 50 variables", () => {
    const envVars = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `V${i}`, value: "x" }));
    expect(fields({ envVars: envVars(50) })).toEqual([]);
    expect(messages({ envVars: envVars(51) })).toEqual(["At most 50 variables"]);
  });

  it("values are at most 64 KiB (UTF-8) each, 512 KiB together, with no NUL", () => {
    const kib = 1024;
    expect(
      fields({
        envVars: [
          { name: "A", value: "x".repeat(64 * kib) },
          { name: "B", value: "" },
        ],
      }),
    ).toEqual([]);
    expect(messages({ envVars: [{ name: "A", value: "ü".repeat(32 * kib + 1) }] })).toEqual([
      "A: a value may be at most 64 KiB",
    ]);
    expect(messages({ envVars: [{ name: "A", value: "a\0b" }] })).toEqual([
      "A: a value cannot contain a NUL character",
    ]);
    const nine = Array.from({ length: 9 }, (_, i) => ({ name: `V${i}`, value: "x".repeat(60 * kib) }));
    expect(messages({ envVars: nine })).toEqual(["All values together may be at most 512 KiB"]);
  });

  it("a variable without a value keeps a stored one, and must be stored", () => {
    expect(fields({ envVars: [{ name: "TOKEN" }] }, [{ name: "TOKEN" }])).toEqual([]);
    expect(messages({ envVars: [{ name: "TOKEN" }] })).toEqual(["TOKEN needs a value"]);
    // Kept values count towards the total when their size is known (the server knows it).
    const stored = Array.from({ length: 9 }, (_, i) => ({ name: `V${i}`, bytes: 60 * 1024 }));
    expect(fields({ envVars: stored.map(({ name }) => ({ name })) }, stored)).toEqual(["envVars"]);
  });
});

describe("normalizeRepoSettings", () => {
  it("gives commands as argv and drops blanks", () => {
    const r = normalizeRepoSettings({ ...VALID, installCommand: " ", baseImage: "", limits: { cpus: 0.5 } });
    expect(r).toEqual({
      ok: true,
      settings: {
        runtime: "docker",
        defaultBranch: "main",
        devCommand: ["npm", "run", "dev", "--", "--host", "0.0.0.0"],
        installCommand: undefined,
        baseImage: undefined,
        ports: [3000, 5173],
        limits: { cpus: 0.5 },
        idleLimitMinutes: 60,
      },
    });
    expect(normalizeRepoSettings({ ...VALID, limits: {} })).toMatchObject({
      ok: true,
      settings: { limits: undefined },
    });
  });

  it("gives every problem instead when there are any", () => {
    expect(normalizeRepoSettings({ ...VALID, defaultBranch: "", ports: [1] })).toMatchObject({
      ok: false,
      problems: [{ field: "defaultBranch" }, { field: "ports" }],
    });
  });
});
