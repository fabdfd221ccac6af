// Covers src/api/contract.ts: what the agent accepts on create, exec, logs and terminal, and the defaults it applies.
import { describe, expect, it } from "vitest";
import {
  ContainerId,
  CreateContainerRequest,
  ExecRequest,
  SetupRequest,
  ImageRef,
  LogsQuery,
  TerminalClientMessage,
  TerminalQuery,
  VolumeName,
} from "../../src/api/contract.js";

const create = (body: Record<string, unknown>) => CreateContainerRequest.safeParse({ name: "web", ...body });
const exec = (body: Record<string, unknown>) => ExecRequest.safeParse({ command: ["true"], ...body });

describe("CreateContainerRequest", () => {
  it("applies the defaults: ports [3000], pool false, no image (the agent's default)", () => {
    expect(CreateContainerRequest.parse({ name: "web" })).toEqual({ name: "web", ports: [3000], pool: false });
  });

  it("accepts a full request", () => {
    const body = {
      id: "repo-branch-1",
      name: "owner_repo.branch-1",
      image: "ghcr.io/owner/repo-main:v1.2",
      ports: [3000, 5173, 8080, 9229],
      volumeName: "owner-repo-node_modules",
      pool: true,
      command: ["node", "server.js"],
      limits: { memoryMb: 512, cpus: 0.5, pidsLimit: 64 },
    };
    expect(CreateContainerRequest.parse(body)).toEqual(body);
  });

  it("rejects unknown fields", () => {
    expect(create({ Privileged: true }).success).toBe(false);
    expect(create({ hostConfig: {} }).success).toBe(false);
    expect(create({ limits: { memoryMb: 64, swap: 1 } }).success).toBe(false);
  });

  it("requires a name", () => {
    expect(CreateContainerRequest.safeParse({}).success).toBe(false);
    expect(create({ name: "" }).success).toBe(false);
  });

  it.each(["-web", ".web", "web app", "web/app", "web;rm", "w".repeat(129), "wéb"])("rejects the name %j", (name) => {
    expect(create({ name }).success).toBe(false);
  });

  it.each([1, 3000, 65535])("accepts port %i", (port) => {
    expect(create({ ports: [port] }).success).toBe(true);
  });

  it.each([
    ["empty", []],
    ["five ports", [3000, 3001, 3002, 3003, 3004]],
    ["port 0", [0]],
    ["port 65536", [65536]],
    ["a fraction", [3000.5]],
    ["a string", ["3000"]],
  ])("rejects ports that are %s", (_what, ports) => {
    expect(create({ ports }).success).toBe(false);
  });

  it("rejects a string command (argv only)", () => {
    expect(create({ command: "node server.js" }).success).toBe(false);
    expect(create({ command: [] }).success).toBe(false);
  });

  it("rejects limits below the floor", () => {
    expect(create({ limits: { memoryMb: 8 } }).success).toBe(false);
    expect(create({ limits: { cpus: 0 } }).success).toBe(false);
    expect(create({ limits: { pidsLimit: 1 } }).success).toBe(false);
  });

  it("rejects a lower-case or shell-like capability", () => {
    expect(create({ capAdd: ["net_admin"] }).success).toBe(false);
    expect(create({ capAdd: ["NET_ADMIN;"] }).success).toBe(false);
  });

  it("rejects a pool flag that is not a boolean", () => {
    expect(create({ pool: "true" }).success).toBe(false);
  });
});

describe("ContainerId", () => {
  it.each(["abc", "a1b2c3", "repo-branch-1", "0ab", "a".repeat(63)])("accepts %j", (id) => {
    expect(ContainerId.safeParse(id).success).toBe(true);
  });

  it.each(["-abc", "ab", "ABC", "a_b_c", "a.bc", "a bc", "a".repeat(64), "../etc", "abc\n"])("rejects %j", (id) => {
    expect(ContainerId.safeParse(id).success).toBe(false);
  });

  it("is checked inside a create request", () => {
    expect(create({ id: "-rf" }).success).toBe(false);
  });
});

describe("ImageRef", () => {
  it.each([
    "node:24-slim",
    "busybox",
    "owner-repo:main",
    "ghcr.io/owner/repo:1.2.3",
    "localhost:5000/img:tag",
    `node@sha256:${"a".repeat(64)}`,
    `node:24@sha256:${"0".repeat(64)}`,
  ])("accepts %j", (image) => {
    expect(ImageRef.safeParse(image).success).toBe(true);
  });

  it.each([
    "-v",
    "--privileged",
    "node 24",
    "node:24; rm -rf /",
    "node:24 && id",
    "node:$(id)",
    "node:`id`",
    "node|sh",
    "Node:24",
    "node:-tag",
    "node:24\n",
    "",
    `node@sha256:${"a".repeat(63)}`,
    "a".repeat(256),
  ])("rejects %j", (image) => {
    expect(ImageRef.safeParse(image).success).toBe(false);
    expect(create({ image }).success).toBe(false);
  });
});

describe("VolumeName", () => {
  it("accepts the reference's naming", () => {
    expect(VolumeName.safeParse("owner-repo-node_modules").success).toBe(true);
  });

  it.each(["-v", "/var/run", "a", "vol:rw", "a b", "../x"])("rejects %j", (name) => {
    expect(VolumeName.safeParse(name).success).toBe(false);
  });
});

describe("ExecRequest", () => {
  it("applies the 60 s default timeout", () => {
    expect(ExecRequest.parse({ command: ["ls", "-la"] })).toEqual({ command: ["ls", "-la"], timeout: 60_000 });
  });

  it("accepts the seed's string form as is (the runner gives it to sh -c)", () => {
    expect(ExecRequest.parse({ command: "ls -la /app | wc -l && echo ok" })).toEqual({
      command: "ls -la /app | wc -l && echo ok",
      timeout: 60_000,
    });
  });

  it("rejects an empty string, an empty argv and non-string arguments", () => {
    expect(exec({ command: "" }).success).toBe(false);
    expect(exec({ command: [] }).success).toBe(false);
    expect(exec({ command: ["echo", 1] }).success).toBe(false);
    expect(ExecRequest.safeParse({}).success).toBe(false);
  });

  it.each([1, 60_000, 3_600_000])("accepts timeout %i ms", (timeout) => {
    expect(exec({ timeout }).success).toBe(true);
  });

  it.each([0, -1, 3_600_001, 1.5, "1000"])("rejects timeout %j", (timeout) => {
    expect(exec({ timeout }).success).toBe(false);
  });

  it("accepts an absolute workdir and rejects a relative one", () => {
    expect(exec({ workdir: "/app/packages/web" }).success).toBe(true);
    expect(exec({ workdir: "app" }).success).toBe(false);
    expect(exec({ workdir: "./app" }).success).toBe(false);
    expect(exec({ workdir: "" }).success).toBe(false);
  });

  it("accepts valid environment variable names", () => {
    expect(exec({ env: { NODE_ENV: "production", _x1: "", PATH: "/bin" } }).success).toBe(true);
  });

  it.each(["1ABC", "A-B", "A B", "A=B", ""])("rejects the environment variable name %j", (key) => {
    expect(exec({ env: { [key]: "v" } }).success).toBe(false);
  });

  it("rejects non-string environment values and unknown fields", () => {
    expect(exec({ env: { A: 1 } }).success).toBe(false);
    expect(exec({ user: "root" }).success).toBe(false);
    expect(exec({ privileged: true }).success).toBe(false);
  });
});

describe("LogsQuery and TerminalQuery", () => {
  it("coerces query strings and applies defaults", () => {
    expect(LogsQuery.parse({})).toEqual({ tail: 1000, follow: true });
    expect(LogsQuery.parse({ tail: "20" }).tail).toBe(20);
    expect(LogsQuery.parse({ follow: "false" }).follow).toBe(false);
    expect(LogsQuery.safeParse({ follow: "maybe" }).success).toBe(false);
    expect(TerminalQuery.parse({})).toEqual({ cols: 80, rows: 24 });
    expect(TerminalQuery.parse({ cols: "120", rows: "40" })).toEqual({ cols: 120, rows: 40 });
  });

  it("rejects out-of-range values", () => {
    expect(LogsQuery.safeParse({ tail: "-1" }).success).toBe(false);
    expect(LogsQuery.safeParse({ tail: "10001" }).success).toBe(false);
    expect(LogsQuery.safeParse({ tail: "lots" }).success).toBe(false);
    expect(TerminalQuery.safeParse({ cols: "0" }).success).toBe(false);
    expect(TerminalQuery.safeParse({ rows: "1001" }).success).toBe(false);
  });
});

describe("TerminalClientMessage", () => {
  it("accepts input and resize messages", () => {
    expect(TerminalClientMessage.parse({ type: "input", data: "ls\r" })).toEqual({ type: "input", data: "ls\r" });
    expect(TerminalClientMessage.parse({ type: "resize", cols: 120, rows: 40 })).toEqual({
      type: "resize",
      cols: 120,
      rows: 40,
    });
  });

  it.each([
    ["an unknown type", { type: "signal", name: "KILL" }],
    ["no type", { data: "ls" }],
    ["input without data", { type: "input" }],
    ["input with a non-string", { type: "input", data: 5 }],
    ["oversized input", { type: "input", data: "x".repeat(65537) }],
    ["resize with zero columns", { type: "resize", cols: 0, rows: 24 }],
    ["resize with fractional rows", { type: "resize", cols: 80, rows: 24.5 }],
    ["resize of 1001 columns", { type: "resize", cols: 1001, rows: 24 }],
    ["extra fields", { type: "input", data: "x", exec: "rm" }],
    ["a string", "ls"],
    ["null", null],
  ])("rejects %s", (_what, message) => {
    expect(TerminalClientMessage.safeParse(message).success).toBe(false);
  });
});

describe("SetupRequest", () => {
  const body = {
    repo: "owner/repo",
    branch: "main",
    callbackUrl: "https://example.convex.site/docker-status",
    callbackSecret: "a-callback-secret-of-32-characters",
  };

  it("accepts the seed's body apart from its secret, with defaults", () => {
    expect(SetupRequest.parse(body)).toMatchObject({ hasMainImage: false, buildMainImage: false, envVars: {} });
  });

  it("refuses the seed's 9-character callbackSecret and says why", () => {
    const result = SetupRequest.safeParse({ ...body, callbackSecret: "secret123" });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/at least 16 characters: it is the key that signs the callbacks/);
  });

  it("gives a caller that names no tenant the default one, and takes a team id as one", () => {
    expect(SetupRequest.parse(body).tenant).toBe("default");
    expect(SetupRequest.parse({ ...body, tenant: "k17a2b3c4d5e6f7g8h9j0" }).tenant).toBe("k17a2b3c4d5e6f7g8h9j0");
  });

  it.each(["", "Acme", "../x", "a/b", "-x", "x".repeat(65)])("refuses the tenant %j", (tenant) => {
    expect(SetupRequest.safeParse({ ...body, tenant }).success).toBe(false);
  });

  it("takes an install command and a base image, refusing an empty argv", () => {
    const parsed = SetupRequest.parse({ ...body, installCommand: ["npm", "ci"], image: "node:24-slim" });
    expect(parsed).toMatchObject({ installCommand: ["npm", "ci"], image: "node:24-slim" });
    expect(SetupRequest.safeParse({ ...body, installCommand: [] }).success).toBe(false);
  });
});
