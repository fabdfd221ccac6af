/**
 * Builders shared by the unit tests: a valid Config and complete Docker inspect records, so tests
 * state only the fields they are about and never cast partial objects.
 */
import type Docker from "dockerode";
import { tmpdir } from "node:os";
import path from "node:path";
import { AppError } from "../../src/api/errors.js";
import { loadConfig, type Config } from "../../src/config.js";

export const TEST_SECRET = "unit-test-secret-".padEnd(48, "x");

export const testConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({
    API_SECRET: TEST_SECRET,
    PORT_RANGE: "10000-10009",
    LOG_LEVEL: "silent",
    // Never written to by unit tests; set so nothing could touch the default /var/lib path.
    DATA_DIR: path.join(tmpdir(), "artie-unit-tests-unused"),
    ...env,
  });

type State = Docker.ContainerInspectInfo["State"];

export const runningState = (overrides: Partial<State> = {}): State => ({
  Status: "running",
  Running: true,
  Paused: false,
  Restarting: false,
  OOMKilled: false,
  Dead: false,
  Pid: 4242,
  ExitCode: 0,
  Error: "",
  StartedAt: "2025-01-02T03:04:05.123456789Z",
  FinishedAt: "0001-01-01T00:00:00Z",
  ...overrides,
});

export const exitedState = (exitCode: number, overrides: Partial<State> = {}): State =>
  runningState({
    Status: "exited",
    Running: false,
    Pid: 0,
    ExitCode: exitCode,
    FinishedAt: "2025-01-02T04:00:00Z",
    ...overrides,
  });

/** A complete inspect record; `labels` and `state` are what the agent reads. */
export function inspectInfo(o: {
  id?: string;
  name?: string;
  image?: string;
  labels?: Record<string, string>;
  state?: State;
  created?: string;
}): Docker.ContainerInspectInfo {
  const id = o.id ?? "d0c6e2".padEnd(64, "0");
  return {
    Id: id,
    Created: o.created ?? "2025-01-02T03:04:00.000000000Z",
    Path: "sleep",
    Args: ["2147483647"],
    State: o.state ?? runningState(),
    Image: "sha256:".padEnd(71, "a"),
    ResolvConfPath: "",
    HostnamePath: "",
    HostsPath: "",
    LogPath: "",
    Name: `/${o.name ?? "artie-test"}`,
    RestartCount: 0,
    Driver: "overlay2",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    HostConfig: {},
    GraphDriver: { Name: "overlay2", Data: { DeviceId: "", DeviceName: "", DeviceSize: "" } },
    Mounts: [],
    Config: {
      Hostname: id.slice(0, 12),
      Domainname: "",
      User: "1000:1000",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: {},
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: [],
      Cmd: ["sleep", "2147483647"],
      Image: o.image ?? "node:24-slim",
      Volumes: {},
      WorkingDir: "/app",
      Labels: o.labels ?? {},
    },
    NetworkSettings: { SandboxID: "", Ports: {}, SandboxKey: "", Networks: {} },
  };
}

/** Runs `fn` and returns the AppError it throws; fails when it throws nothing or something else. */
export function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}
