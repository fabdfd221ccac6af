// Covers src/containers/workspace-usage.ts: sizes from the engine's disk usage, asked once per TTL, failures keep the last answer.
import { describe, expect, it } from "vitest";
import { WorkspaceUsage } from "../../src/containers/workspace-usage.js";
import { createLogger } from "../../src/lib/logger.js";
import { FakeDocker } from "./fake-docker.js";

const logger = createLogger("silent");
const dfCalls = (d: FakeDocker) => d.calls.filter((c) => c === "df").length;

describe("WorkspaceUsage", () => {
  it("answers a fresh size, then the cached one until the TTL passes", async () => {
    const docker = new FakeDocker();
    docker.volumeBytes.set("ws", 100);
    const usage = new WorkspaceUsage(docker, logger, 60_000);
    expect(await usage.fresh("ws")).toBe(100);
    docker.volumeBytes.set("ws", 200);
    expect(await usage.fresh("ws")).toBe(100);
    expect(usage.known("ws")).toBe(100);
    expect(dfCalls(docker)).toBe(1);
  });

  it("asks again once stale, one question for many callers", async () => {
    const docker = new FakeDocker();
    docker.volumeBytes.set("ws", 1);
    const usage = new WorkspaceUsage(docker, logger, 0);
    const answers = await Promise.all([usage.fresh("ws"), usage.fresh("ws"), usage.fresh("ws")]);
    expect(answers).toEqual([1, 1, 1]);
    expect(dfCalls(docker)).toBe(1);
    docker.volumeBytes.set("ws", 2);
    expect(await usage.fresh("ws")).toBe(2);
  });

  it("never waits in `known`: null until the first answer arrives", async () => {
    const docker = new FakeDocker();
    docker.volumeBytes.set("ws", 5);
    const usage = new WorkspaceUsage(docker, logger, 60_000);
    expect(usage.known("ws")).toBeNull();
    await new Promise((r) => setTimeout(r, 10));
    expect(usage.known("ws")).toBe(5);
  });

  it("keeps the last sizes when the engine fails, and answers null for no volume or an unknown one", async () => {
    const docker = new FakeDocker();
    docker.volumeBytes.set("ws", 7);
    const usage = new WorkspaceUsage(docker, logger, 0);
    expect(await usage.fresh("ws")).toBe(7);
    docker.unreachable = true;
    expect(await usage.fresh("ws")).toBe(7);
    expect(await usage.fresh(null)).toBeNull();
    expect(await usage.fresh("other")).toBeNull();
  });
});
