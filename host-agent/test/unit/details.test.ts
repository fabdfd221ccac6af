// Covers src/containers/details.ts: Docker's inspect state mapped honestly to the contract's details.
import { describe, expect, it } from "vitest";
import { ContainerDetails } from "../../src/api/contract.js";
import { containerState, toDetails } from "../../src/containers/details.js";
import type { ManagedLabels } from "../../src/docker/labels.js";
import { exitedState, inspectInfo, runningState } from "./fixtures.js";

const labels = (overrides: Partial<ManagedLabels> = {}): ManagedLabels => ({
  id: "abc123",
  name: "web",
  ports: [
    { containerPort: 3000, hostPort: 10003 },
    { containerPort: 5173, hostPort: 10004 },
  ],
  pool: false,
  createdAt: "2025-01-02T03:04:00.000Z",
  volumeName: null,
  networkName: null,
  ...overrides,
});

const STARTED = "2025-01-02T03:04:05Z";
const startedMs = Date.parse(STARTED);

describe("containerState", () => {
  it.each(["created", "running", "paused", "restarting", "removing", "exited", "dead"] as const)(
    "passes Docker's %s through",
    (status) => {
      expect(containerState(runningState({ Status: status, Running: status === "running" }))).toBe(status);
    },
  );

  it("reports an OOM-killed, stopped container as oom_killed", () => {
    expect(containerState(exitedState(137, { OOMKilled: true }))).toBe("oom_killed");
  });

  it("reports a running container as running even if an earlier run was OOM-killed", () => {
    expect(containerState(runningState({ OOMKilled: true }))).toBe("running");
  });

  it.each(["", "zombie", "Running"])("maps an unknown status %j to dead", (status) => {
    expect(containerState(exitedState(0, { Status: status }))).toBe("dead");
  });
});

describe("toDetails", () => {
  it("maps a running container to valid contract details", () => {
    const info = inspectInfo({ state: runningState({ StartedAt: STARTED }) });
    const d = toDetails(info, labels({ pool: true, volumeName: "owner-repo-node_modules" }), startedMs + 90_500);
    expect(ContainerDetails.parse(d)).toEqual(d);
    expect(d).toMatchObject({
      id: "abc123",
      name: "web",
      dockerId: info.Id,
      image: "node:24-slim",
      state: "running",
      exitCode: null,
      health: "none",
      pool: true,
      hostPort: 10003,
      volumeName: "owner-repo-node_modules",
      createdAt: "2025-01-02T03:04:00.000Z",
      startedAt: STARTED,
      uptimeSeconds: 90.5,
    });
    expect(d.ports).toEqual(labels().ports);
  });

  it("reports the image the container was created from, not its digest", () => {
    expect(toDetails(inspectInfo({ image: "owner-repo:main" }), labels()).image).toBe("owner-repo:main");
  });

  it("has no exit code while running, even though Docker says 0", () => {
    expect(toDetails(inspectInfo({ state: runningState({ ExitCode: 0 }) }), labels()).exitCode).toBeNull();
  });

  it("has no exit code for a container that never started", () => {
    const state = runningState({ Status: "created", Running: false, StartedAt: "0001-01-01T00:00:00Z" });
    const d = toDetails(inspectInfo({ state }), labels());
    expect(d.state).toBe("created");
    expect(d.exitCode).toBeNull();
    expect(d.startedAt).toBeNull();
    expect(d.uptimeSeconds).toBeNull();
  });

  it("carries the exit code and no uptime once stopped", () => {
    const d = toDetails(inspectInfo({ state: exitedState(3, { StartedAt: STARTED }) }), labels(), startedMs + 60_000);
    expect(d.state).toBe("exited");
    expect(d.exitCode).toBe(3);
    expect(d.uptimeSeconds).toBeNull();
    expect(d.startedAt).toBe(STARTED);
  });

  it("carries 137 for an OOM kill", () => {
    const d = toDetails(inspectInfo({ state: exitedState(137, { OOMKilled: true }) }), labels());
    expect(d.state).toBe("oom_killed");
    expect(d.exitCode).toBe(137);
  });

  it("never reports negative uptime when the host clock is behind Docker's", () => {
    const info = inspectInfo({ state: runningState({ StartedAt: STARTED }) });
    expect(toDetails(info, labels(), startedMs - 5_000).uptimeSeconds).toBe(0);
  });

  it("reports the watch's health while running, none when stopped, and ignores Docker's healthcheck", () => {
    const observed = { health: "not answering" as const, lastActivityMs: null };
    const withCheck = runningState({ Health: { Status: "healthy", FailingStreak: 0, Log: [] } });
    expect(toDetails(inspectInfo({ state: withCheck }), labels()).health).toBe("none");
    expect(toDetails(inspectInfo({}), labels(), Date.now(), observed).health).toBe("not answering");
    expect(toDetails(inspectInfo({ state: exitedState(1) }), labels(), Date.now(), observed).health).toBe("none");
  });

  it("reports the last activity, never earlier than the container's last start", () => {
    const info = inspectInfo({ state: runningState({ StartedAt: STARTED }) });
    expect(toDetails(info, labels()).lastActivityAt).toBe(new Date(startedMs).toISOString());
    const later = startedMs + 60_000;
    const seen = (ms: number) => ({ health: "answering" as const, lastActivityMs: ms });
    expect(toDetails(info, labels(), Date.now(), seen(later)).lastActivityAt).toBe(new Date(later).toISOString());
    expect(toDetails(info, labels(), Date.now(), seen(startedMs - 60_000)).lastActivityAt).toBe(
      new Date(startedMs).toISOString(),
    );
  });

  it("falls back to Docker's creation time when the label has none", () => {
    const info = inspectInfo({ created: "2025-01-01T00:00:00Z" });
    expect(toDetails(info, labels({ createdAt: "" })).createdAt).toBe("2025-01-01T00:00:00Z");
  });
});

describe("workspaceVolume", () => {
  const mount = (Type: "volume" | "tmpfs", Destination: string, Name?: string) => ({
    Type,
    ...(Name ? { Name } : {}),
    Source: "",
    Destination,
    Mode: "",
    RW: true,
    Propagation: "",
  });

  it("is the named volume Docker mounted at /app, not the dependency volume below it", () => {
    const info = inspectInfo({});
    info.Mounts = [mount("volume", "/app/node_modules", "artie-deps-x"), mount("volume", "/app", "artie-ws-abc123")];
    expect(toDetails(info, labels()).workspaceVolume).toBe("artie-ws-abc123");
  });

  it("is null for a container made when /app was a tmpfs", () => {
    const info = inspectInfo({});
    info.Mounts = [mount("tmpfs", "/app"), mount("volume", "/app/node_modules", "artie-deps-x")];
    expect(toDetails(info, labels()).workspaceVolume).toBeNull();
  });
});
