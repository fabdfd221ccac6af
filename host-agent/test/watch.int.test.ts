/**
 * The dev server after `ready`, on the real engine: a server that allocates past the 256 MB
 * limit is reported killed for memory within seconds, one that exits is reported with its last
 * output, health goes `answering` -> `not answering` when the server stops answering (and back),
 * an intentional restart or delete is no crash, a server that died while the agent was down is
 * reported after its restart; use (exec, terminal input, an attached log stream) moves
 * `lastActivityAt`; and one container's callbacks arrive in order while the receiver refuses the
 * first attempts.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerDetails, SETUP_PHASES } from "../src/api/contract.js";
import {
  TEST_SECRET,
  client,
  createContainer,
  freePort,
  spawnAgent,
  startTestAgent,
  testEnv,
  type TestClient,
} from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { readSse } from "./helpers/sse.js";
import { openTerminal } from "./helpers/terminal.js";

const SECRET = "watch-callback-secret-0123456789";
const REPO = "acme/watched";
/**
 * The fixture's server, which does `body` 2 s after it first answered: that first answer is the
 * readiness probe's, so by then setup has reported `ready` and the watch is on.
 */
const afterReady = (body: string) =>
  `node -e 'const http = require("http"); const create = http.createServer; let armed = false; ` +
  `http.createServer = (handle) => create((req, res) => { handle(req, res); ` +
  `if (!armed) { armed = true; setTimeout(() => { ${body} }, 2000); } }); require("./server.js");'`;
let fixtures: FixtureRoot;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, {
    main: { message: "watched main", greetVersion: "1.0.0" },
    // Buffers filled with data are resident memory: past 256 MB the kernel's OOM killer ends it.
    // Each branch its own version: a branch re-made from main with the same one would keep
    // main's lockfile integrity for a tarball made again (different bytes).
    hungry: {
      message: "hungry",
      greetVersion: "1.1.0",
      devScript: afterReady(
        'console.log("allocating past the limit"); const a = []; setInterval(() => a.push(Buffer.alloc(32 * 1024 * 1024, 1)), 100);',
      ),
    },
    quitter: {
      message: "quitter",
      greetVersion: "1.2.0",
      devScript: afterReady('console.log("giving up: the config is broken"); process.exit(3);'),
    },
  });
});
afterAll(async () => {
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

const agentEnv = () => ({
  DEFAULT_IMAGE: NODE_IMAGE,
  GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
  DATA_DIR: path.join(fixtures.root, `data-${Math.random().toString(36).slice(2)}`),
  CONTAINER_MEMORY_MB: "256",
});

type Agent = Awaited<ReturnType<typeof startTestAgent>>;

async function withAgent(fn: (agent: Agent, receiver: Receiver) => Promise<void>) {
  const receiver = await startReceiver(SECRET);
  const agent = await startTestAgent(agentEnv());
  try {
    await fn(agent, receiver);
  } finally {
    await agent.close();
    await receiver.close();
  }
}

async function setUp(api: TestClient, receiver: Receiver, branch: string) {
  const c = await createContainer(api, { image: NODE_IMAGE });
  const res = await api.post(`/api/containers/${c.id}/setup`, {
    repo: REPO,
    branch,
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
  });
  expect(res.status).toBe(202);
  const mine = (rs: Receiver["received"]) => rs.filter((r) => r.body.containerId === c.id).map((r) => r.body);
  const got = await receiver.waitFor((rs) => mine(rs).some((b) => b.phase === "ready" || b.phase === "error"));
  const ready = mine(got).find((b) => b.phase === "ready");
  if (!ready) throw new Error(`setup failed: ${mine(got).find((b) => b.phase === "error")?.error}`);
  return { ...c, ready, readyAt: Date.now() };
}

const details = async (api: TestClient, id: string) =>
  ContainerDetails.parse(await (await api.get(`/api/containers/${id}`)).json());

async function waitForDetails(api: TestClient, id: string, ok: (d: ContainerDetails) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = await details(api, id);
    if (ok(d)) return d;
    if (Date.now() > deadline) throw new Error(`details never matched: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const errorOf = (receiver: Receiver, id: string) =>
  receiver.received.find((r) => r.body.containerId === id && r.body.phase === "error")?.body;

const exec = (api: TestClient, id: string, command: string[]) => api.post(`/api/containers/${id}/exec`, { command });

/** Signals the fixture's server process (found by its command line) inside the container. */
const signalServer = (api: TestClient, id: string, signal: string) =>
  exec(api, id, [
    "sh",
    "-c",
    // "serve[r]" matches the server's command line and not this script's own.
    'for p in /proc/[0-9]*; do grep -q "serve[r].js" $p/cmdline 2>/dev/null && kill -$0 ${p#/proc/}; done',
    signal,
  ]);

describe("the dev server after ready", () => {
  it("reports a dev server that allocates past the memory limit as killed for memory, within seconds", async () => {
    await withAgent(async (agent, receiver) => {
      const c = await setUp(agent.api, receiver, "hungry");
      const got = await receiver.waitFor((rs) =>
        rs.some((r) => r.body.containerId === c.id && r.body.phase === "error"),
      );
      const error = errorOf(receiver, c.id)!;
      // It starts allocating 2 s after it answered; the report follows within seconds.
      expect(Date.now() - c.readyAt).toBeLessThan(15_000);
      expect(error.reason).toBe("oom");
      expect(error.error).toMatch(/^The dev server was killed: out of memory \(limit 256 MB\)\./);
      expect(error.error).toMatch(/Last output:\n(.*\n)*\[dev\] allocating past the limit/);
      expect(error.sequence).toBeGreaterThan(c.ready.sequence);
      expect(got.every((r) => r.validSignature)).toBe(true);
      // The container lives on; only its dev server is gone.
      const d = await details(agent.api, c.id);
      expect(d.state).toBe("running");
      expect(d.health).toBe("not answering");
    });
  });

  it("reports a dev server that exits after ready with its exit code and last output", async () => {
    await withAgent(async (agent, receiver) => {
      const c = await setUp(agent.api, receiver, "quitter");
      await receiver.waitFor((rs) => rs.some((r) => r.body.containerId === c.id && r.body.phase === "error"));
      const error = errorOf(receiver, c.id)!;
      expect(error.reason).toBe("exited");
      expect(error.error).toMatch(/^The dev server exited with code 3\./);
      expect(error.error).toMatch(/Last output:\n(.*\n)*\[dev\] giving up: the config is broken/);
    });
  });

  it("reports health answering, not answering while the server is stopped, answering again, and reports its kill", async () => {
    await withAgent(async (agent, receiver) => {
      const c = await setUp(agent.api, receiver, "main");
      expect((await details(agent.api, c.id)).health).toBe("answering");
      // A stopped process keeps its socket: connections are accepted, nothing answers.
      expect((await signalServer(agent.api, c.id, "STOP")).status).toBe(200);
      await waitForDetails(agent.api, c.id, (d) => d.health === "not answering", 30_000);
      await signalServer(agent.api, c.id, "CONT");
      await waitForDetails(agent.api, c.id, (d) => d.health === "answering", 30_000);
      expect(errorOf(receiver, c.id)).toBeUndefined();

      await signalServer(agent.api, c.id, "KILL");
      await receiver.waitFor((rs) => rs.some((r) => r.body.containerId === c.id && r.body.phase === "error"));
      expect(errorOf(receiver, c.id)!.reason).toBe("exited");
      expect((await details(agent.api, c.id)).health).toBe("not answering");
    });
  });

  it("does not report an intentional restart or delete as a crash", async () => {
    await withAgent(async (agent, receiver) => {
      const restarted = await setUp(agent.api, receiver, "main");
      const deleted = await setUp(agent.api, receiver, "main");
      expect((await agent.api.post(`/api/containers/${restarted.id}/restart`)).status).toBe(200);
      expect((await agent.api.del(`/api/containers/${deleted.id}`)).status).toBe(200);
      // Past the watch's settle time and a health round: nothing is reported for either.
      await new Promise((r) => setTimeout(r, 8_000));
      await agent.idle();
      expect(errorOf(receiver, restarted.id)).toBeUndefined();
      expect(errorOf(receiver, deleted.id)).toBeUndefined();
      // The restart without a body brought the dev server back (with what its setup kept): watched again.
      const readies = receiver.received.filter((r) => r.body.containerId === restarted.id && r.body.phase === "ready");
      expect(readies).toHaveLength(2);
      expect((await details(agent.api, restarted.id)).health).toBe("answering");
    });
  });

  it("does not report a stop, a start or a restart with a body as a crash, and watches the dev server they bring back", async () => {
    await withAgent(async (agent, receiver) => {
      const c = await setUp(agent.api, receiver, "main");
      const body = { callbackUrl: receiver.url, callbackSecret: SECRET };
      const readies = () => receiver.received.filter((r) => r.body.containerId === c.id && r.body.phase === "ready");
      expect((await agent.api.post(`/api/containers/${c.id}/stop`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3_000)); // past the settle time
      expect((await agent.api.post(`/api/containers/${c.id}/start`, body)).status).toBe(202);
      await receiver.waitFor(() => readies().length >= 2);
      expect((await agent.api.post(`/api/containers/${c.id}/restart`, body)).status).toBe(202);
      await receiver.waitFor(() => readies().length >= 3);
      await waitForDetails(agent.api, c.id, (d) => d.health === "answering");
      expect(errorOf(receiver, c.id)).toBeUndefined();
      // The dev server the restart brought back is watched: its exit is reported.
      await signalServer(agent.api, c.id, "KILL");
      await receiver.waitFor(() => errorOf(receiver, c.id) !== undefined);
      expect(errorOf(receiver, c.id)).toMatchObject({ reason: "exited" });
    });
  });

  it("reports a dev server that died while the agent was down, after the agent's restart", async () => {
    const receiver = await startReceiver(SECRET);
    const env = testEnv({ ...agentEnv(), PORT: String(await freePort()) });
    let agent = await spawnAgent(env);
    try {
      const api = client(agent.url);
      const c = await setUp(api, receiver, "main");
      // The watch's marker is written just after `ready` is sent.
      const marker = path.join(env.DATA_DIR!, "watch", `${c.id}.json`);
      const deadline = Date.now() + 10_000;
      while (!(await stat(marker).catch(() => null)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await agent.kill("SIGKILL");
      // The agent is gone: kill the server through Docker directly.
      const killer = await docker.getContainer(`artie-${c.id}`).exec({
        Cmd: [
          "sh",
          "-c",
          'for p in /proc/[0-9]*; do grep -q "serve[r].js" $p/cmdline 2>/dev/null && kill -9 ${p#/proc/}; done',
        ],
        User: "1000:1000",
      });
      const stream = await killer.start({});
      stream.resume();
      await new Promise((r) => stream.once("end", r));
      agent = await spawnAgent(env);
      await receiver.waitFor((rs) => rs.some((r) => r.body.containerId === c.id && r.body.phase === "error"));
      const error = errorOf(receiver, c.id)!;
      expect(error.reason).toBe("exited");
      expect(error.error).toMatch(/while the host agent was not running/);
      expect(error.sequence).toBeGreaterThan(c.ready.sequence);
    } finally {
      await agent.kill("SIGKILL");
      await receiver.close();
    }
  });
});

describe("use is activity", () => {
  it("moves lastActivityAt on an exec, on terminal input (not on opening one) and on an attached log stream", async () => {
    const agent = await startTestAgent(agentEnv());
    try {
      const c = await createContainer(agent.api, { image: NODE_IMAGE });
      const first = await details(agent.api, c.id);
      // Never used: the container's start is the floor.
      expect(first.lastActivityAt).toBe(new Date(Date.parse(first.startedAt!)).toISOString());
      const at = (d: ContainerDetails) => Date.parse(String(d.lastActivityAt));

      await new Promise((r) => setTimeout(r, 50));
      const beforeExec = Date.now();
      expect((await exec(agent.api, c.id, ["true"])).status).toBe(200);
      const afterExec = at(await details(agent.api, c.id));
      expect(afterExec).toBeGreaterThanOrEqual(beforeExec);

      await new Promise((r) => setTimeout(r, 50));
      const term = await openTerminal(
        `${agent.url.replace("http", "ws")}/api/containers/${c.id}/terminal?token=${TEST_SECRET}`,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(at(await details(agent.api, c.id))).toBe(afterExec); // opened, nothing typed
      const beforeInput = Date.now();
      term.send("echo typed\n");
      await term.waitFor(/typed/);
      const afterInput = at(await details(agent.api, c.id));
      expect(afterInput).toBeGreaterThanOrEqual(beforeInput);
      term.ws.close();

      await new Promise((r) => setTimeout(r, 50));
      const beforeLogs = Date.now();
      await readSse(`${agent.url}/api/containers/${c.id}/logs?tail=1`, {
        headers: { authorization: `Bearer ${TEST_SECRET}` },
        timeoutMs: 500,
      });
      expect(at(await details(agent.api, c.id))).toBeGreaterThanOrEqual(beforeLogs);
    } finally {
      await agent.close();
    }
  });
});

describe("callback order", () => {
  it("delivers one container's callbacks in order, ending at ready, while the receiver refuses the first attempts", async () => {
    await withAgent(async (agent, receiver) => {
      receiver.refuse(3);
      const c = await setUp(agent.api, receiver, "main");
      await agent.idle();
      const mine = receiver.received.filter((r) => r.body.containerId === c.id).map((r) => r.body);
      const sequences = mine.map((b) => b.sequence);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      // Each arrives after the ones before it, never behind: phases only move forward.
      const ranks = mine.map((b) => SETUP_PHASES.indexOf(b.phase));
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      expect(mine.at(-1)!.phase).toBe("ready");
      expect(receiver.refused).toHaveLength(3);
    });
  });
});
