// Covers the pieces of the dev server watch that need no engine: the event stream's bounded
// parsing, repeats and reconnects (docker/engine-events.ts), the stop report's words
// (watch/crash-report.ts), the health check's concurrency (watch/health-check.ts) and the
// activity log's cap (containers/activity.ts). The watch itself runs against Docker in
// host-agent/test/watch.int.test.ts.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { EVENT_LINE_MAX_BYTES } from "../../src/config.js";
import { ActivityLog } from "../../src/containers/activity.js";
import { DockerClient } from "../../src/docker/client.js";
import { EngineEvents, type EngineEvent } from "../../src/docker/engine-events.js";
import { createLogger } from "../../src/lib/logger.js";
import { describeStop } from "../../src/watch/crash-report.js";
import { answersHead, checkAll } from "../../src/watch/health-check.js";

const logger = createLogger("silent");

/** An engine whose event streams the test writes; each `events()` call opens the next one. */
class EventsEngine extends DockerClient {
  readonly opened: Array<{ since?: string; actions: string[]; stream: PassThrough }> = [];
  constructor() {
    super(logger);
  }
  override events(o: { since?: string; actions: string[] }): Promise<NodeJS.ReadableStream> {
    const stream = new PassThrough();
    this.opened.push({ since: o.since, actions: o.actions, stream });
    return Promise.resolve(stream);
  }
}

const event = (action: string, attrs: Record<string, string>, time = 1_700_000_000, nano = 123_000_000) =>
  JSON.stringify({
    Type: "container",
    Action: action,
    Actor: { ID: "d0cker", Attributes: { "artie.id": "env-1", ...attrs } },
    time,
    timeNano: time * 1e9 + nano,
  }) + "\n";

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("EngineEvents", () => {
  const running: EngineEvents[] = [];
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
  });

  it("parses events in pieces, skips what does not parse or is too long, drops repeats, and resumes after a reconnect", async () => {
    const engine = new EventsEngine();
    const events = new EngineEvents(engine, logger);
    running.push(events);
    const seen: EngineEvent[] = [];
    let connects = 0;
    events.subscribe({ event: (e) => seen.push(e), connected: () => connects++ });
    events.start();
    await until(() => engine.opened.length === 1);
    const first = engine.opened[0]!.stream;
    const die = event("exec_die", { execID: "ex1", exitCode: "137" });
    first.write(die.slice(0, 20));
    first.write(die.slice(20)); // one event split across chunks
    first.write("not json\n");
    first.write(event("die", { exitCode: "1", pad: "x".repeat(EVENT_LINE_MAX_BYTES) })); // cut: skipped
    first.write(event("create", {})); // not an action that is followed
    first.write(event("oom", {}, 1_700_000_001));
    await until(() => seen.length === 2);
    expect(seen[0]).toEqual({
      action: "exec_die",
      dockerId: "d0cker",
      agentId: "env-1",
      execId: "ex1",
      exitCode: 137,
      atMs: 1_700_000_000_123,
    });
    expect(seen[1]!.action).toBe("oom");

    first.end(); // the engine ends the stream: it is opened again, from the last event's second
    await until(() => engine.opened.length === 2, 10_000);
    expect(engine.opened[1]!.since).toBe("1700000001");
    const second = engine.opened[1]!.stream;
    second.write(event("oom", {}, 1_700_000_001)); // the repeat a resume asks for
    second.write(event("kill", { signal: "15" }, 1_700_000_002));
    await until(() => seen.length === 3);
    expect(seen.map((e) => e.action)).toEqual(["exec_die", "oom", "kill"]);
    await until(() => connects === 2);
  });

  it("asks for Podman's names of the same events too, and reads them as Docker's", async () => {
    const engine = new EventsEngine();
    const events = new EngineEvents(engine, logger);
    running.push(events);
    const seen: EngineEvent[] = [];
    events.subscribe({ event: (e) => seen.push(e) });
    events.start();
    await until(() => engine.opened.length === 1);
    // Podman filters on "died" and reports it as "die"; "exec_died" and "remove" keep their names.
    expect(engine.opened[0]!.actions).toEqual(expect.arrayContaining(["die", "died", "exec_died", "remove"]));
    const stream = engine.opened[0]!.stream;
    stream.write(event("exec_died", { containerExitCode: "0" }, 1_700_000_000, 1));
    stream.write(event("remove", {}, 1_700_000_000, 2));
    await until(() => seen.length === 2);
    expect(seen.map((e) => [e.action, e.execId, e.exitCode])).toEqual([
      ["exec_die", null, null],
      ["destroy", null, null],
    ]);
  });
});

describe("describeStop", () => {
  const facts = { exitCode: 1, memoryMb: 2048, whileAway: false, lines: ["[dev] boom", "[dev] at x.js:1"] };

  it("says what happened in words a person can act on, with the last output", () => {
    expect(describeStop({ ...facts, reason: "oom", exitCode: 137 })).toMatch(
      /^The dev server was killed: out of memory \(limit 2048 MB\)\..*memory limit.*\nLast output:\n\[dev\] boom\n\[dev\] at x\.js:1$/s,
    );
    expect(describeStop({ ...facts, reason: "exited" })).toMatch(/^The dev server exited with code 1\. Restart/);
    expect(describeStop({ ...facts, reason: "exited", exitCode: 137 })).toMatch(
      /^The dev server was killed by SIGKILL \(exit code 137\)/,
    );
    expect(describeStop({ ...facts, reason: "container-died", exitCode: 2, lines: [] })).toBe(
      "The environment's container stopped (exit code 2), and the dev server with it. Restart the environment to start it again.",
    );
    expect(describeStop({ ...facts, reason: "exited", exitCode: null, whileAway: true, lines: [] })).toMatch(
      /^The dev server stopped while the host agent was not running; its exit code is unknown\./,
    );
  });
});

describe("health checks", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it("counts any HTTP answer, a 405 or a redirect included, and no answer in time as none", async () => {
    let hanging = false;
    server = createServer((req, res) => {
      if (hanging) return; // never answers
      res.statusCode = req.url === "/moved" ? 302 : 405;
      res.setHeader("location", "/elsewhere");
      res.end();
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await answersHead(`${base}/`)).toBe(true);
    expect(await answersHead(`${base}/moved`)).toBe(true);
    hanging = true;
    expect(await answersHead(`${base}/`, 200)).toBe(false);
    server.closeAllConnections();
  });

  it("keeps at most the given number of checks in flight, answering in order", async () => {
    let inFlight = 0;
    let most = 0;
    const check = async (n: number) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return n % 2 === 0;
    };
    expect(await checkAll([0, 1, 2, 3, 4, 5, 6], check, 3)).toEqual([true, false, true, false, true, false, true]);
    expect(most).toBe(3);
    expect(await checkAll([], check, 3)).toEqual([]);
  });
});

describe("ActivityLog", () => {
  it("keeps the last use per container, drops the least recent beyond its cap, and forgets", () => {
    const log = new ActivityLog(2);
    log.record("a", 1);
    log.record("b", 2);
    log.record("a", 3); // a is now the most recent
    log.record("c", 4);
    expect([log.lastAt("a"), log.lastAt("b"), log.lastAt("c")]).toEqual([3, null, 4]);
    log.forget("a");
    expect(log.lastAt("a")).toBeNull();
    expect(log.size).toBe(1);
  });
});
