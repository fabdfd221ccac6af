// Covers src/report/callbacks.ts against a real HTTP receiver: one container's callbacks in order
// through refusals, a newer callback replacing an undelivered older one it covers (and never an
// error or a ready with a main image), and the queue rebuilt in order from disk after a restart.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SetupCallback } from "../../src/api/contract.js";
import { createLogger } from "../../src/lib/logger.js";
import { CallbackOutbox, supersedes } from "../../src/report/callbacks.js";
import { startReceiver, type Receiver } from "../helpers/callback-receiver.js";

const SECRET = "outbox-test-secret-0123456789";
const logger = createLogger("silent");
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let sequence = 1_000;
const cb = (phase: SetupCallback["phase"], extra: Partial<SetupCallback> = {}): SetupCallback => ({
  containerId: "c-one",
  phase,
  sequence: ++sequence,
  at: Date.now(),
  previousPhaseMs: 5,
  repo: "acme/app",
  branch: "main",
  ...extra,
});
const READY = { hostPort: 12000, url: "http://host:12000" };
const IMAGE = { tag: "artie-main-x:main", commit: "abc" };

async function outboxIn(dir?: string) {
  const dataDir = dir ?? (await mkdtemp(path.join(tmpdir(), "artie-outbox-")));
  const outbox = new CallbackOutbox(dataDir, logger);
  cleanups.push(async () => {
    await outbox.stop();
    if (!dir) await rm(dataDir, { recursive: true, force: true });
  });
  return { outbox, dataDir };
}

async function receiver(port?: number): Promise<Receiver> {
  const r = await startReceiver(SECRET, port);
  cleanups.push(() => r.close());
  return r;
}

/** A port nobody listens on (for a receiver started later). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

const waitUntil = async (check: () => boolean, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("supersedes", () => {
  it("replaces a progress phase by a later phase of the same setup, up to ready", () => {
    const cloning = cb("cloning");
    const installing = cb("installing");
    const starting = cb("starting");
    const ready = cb("ready", READY);
    expect(supersedes(starting, installing)).toBe(true);
    expect(supersedes(ready, cloning)).toBe(true);
    expect(supersedes(installing, starting)).toBe(false); // an older sequence never replaces
    expect(supersedes(cb("cloning"), starting)).toBe(false); // a new setup starts over: not forward
  });

  it("replaces a ready without a main image only by a ready at the same address", () => {
    const first = cb("ready", READY);
    expect(supersedes(cb("ready", { ...READY, mainImage: { ...IMAGE, buildMs: 9 } }), first)).toBe(true);
    expect(supersedes(cb("ready", { hostPort: 12001, url: "http://host:12001" }), first)).toBe(false);
  });

  it("never drops an error or a ready with a main image, and an error replaces nothing", () => {
    expect(supersedes(cb("ready", READY), cb("error", { error: "boom" }))).toBe(false);
    expect(supersedes(cb("ready", READY), cb("ready", { ...READY, mainImage: IMAGE }))).toBe(false);
    expect(supersedes(cb("error", { error: "x" }), cb("starting"))).toBe(false);
    expect(supersedes(cb("error", { error: "x" }), cb("ready", READY))).toBe(false);
  });

  it("never crosses containers, repos or branches", () => {
    const starting = cb("starting");
    expect(supersedes(cb("ready", { ...READY, containerId: "c-two" }), starting)).toBe(false);
    expect(supersedes(cb("ready", { ...READY, branch: "feature" }), starting)).toBe(false);
    expect(supersedes(cb("ready", { ...READY, repo: "acme/other" }), starting)).toBe(false);
  });
});

describe("CallbackOutbox", () => {
  it("delivers one container's callbacks in sequence order while the receiver refuses the first attempts", async () => {
    const r = await receiver();
    const { outbox, dataDir } = await outboxIn();
    r.refuse(3);
    // None of these covers another, so all four must arrive, in this order.
    const sent = [
      cb("ready", { ...READY, mainImage: IMAGE }),
      cb("error", { error: "The dev server exited with code 1.", reason: "exited" }),
      cb("ready", { ...READY, mainImage: { ...IMAGE, commit: "def" } }),
      cb("error", { error: "The dev server was killed: out of memory (limit 256 MB).", reason: "oom" }),
    ];
    for (const s of sent) await outbox.send(r.url, SECRET, s);
    await r.waitFor((got) => got.length === 4, 20_000);
    expect(r.received.map((g) => g.body.sequence)).toEqual(sent.map((s) => s.sequence));
    expect(r.received.map((g) => g.body.reason)).toEqual([undefined, "exited", undefined, "oom"]);
    expect(r.received.every((g) => g.validSignature)).toBe(true);
    // Every refusal was of the first one: nothing overtook it while it waited to be retried.
    expect(new Set(r.refused)).toEqual(new Set([r.received[0]!.webhookId]));
    await outbox.idle();
    expect(await readdir(path.join(dataDir, "callbacks"))).toEqual([]);
  });

  it("replaces an undelivered progress callback by the newer one, but never the ready before an error", async () => {
    const r = await receiver();
    const { outbox, dataDir } = await outboxIn();
    r.refuse(2);
    await outbox.send(r.url, SECRET, cb("cloning"));
    await waitUntil(() => r.refused.length === 1); // cloning now waits for its retry
    await outbox.send(r.url, SECRET, cb("installing"));
    await outbox.send(r.url, SECRET, cb("starting"));
    const ready = cb("ready", READY);
    await outbox.send(r.url, SECRET, ready);
    const error = cb("error", { error: "The dev server exited with code 1.", reason: "exited" });
    await outbox.send(r.url, SECRET, error);
    await r.waitFor((got) => got.some((g) => g.body.phase === "error"), 20_000);
    await outbox.idle();
    expect(r.received.map((g) => g.body.phase)).toEqual(["ready", "error"]);
    expect(r.received.map((g) => g.body.sequence)).toEqual([ready.sequence, error.sequence]);
    // The replaced ones are gone from disk too: nothing of them is sent after a restart.
    expect(await readdir(path.join(dataDir, "callbacks"))).toEqual([]);
  });

  it("replaces nothing while the receiver accepts, however slowly", async () => {
    const got: string[] = [];
    const slow = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () =>
        setTimeout(() => {
          got.push((JSON.parse(body) as SetupCallback).phase);
          res.statusCode = 204;
          res.end();
        }, 150),
      );
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => slow.close(() => r())));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/cb`;
    const { outbox } = await outboxIn();
    // Sent faster than they are answered: each waits behind the one in flight, none is dropped.
    for (const phase of ["cloning", "installing", "starting"] as const) await outbox.send(url, SECRET, cb(phase));
    await outbox.send(url, SECRET, cb("ready", READY));
    await waitUntil(() => got.length === 4);
    expect(got).toEqual(["cloning", "installing", "starting", "ready"]);
  });

  it("delivers what a stopped outbox left on disk, in sequence order, with the same webhook-ids", async () => {
    const port = await freePort();
    const { outbox, dataDir } = await outboxIn();
    const url = `http://127.0.0.1:${port}/cb`; // nobody listens yet
    const sent = [
      cb("ready", { ...READY, mainImage: IMAGE }),
      cb("error", { error: "first" }),
      cb("ready", { ...READY, mainImage: { ...IMAGE, commit: "ff" } }),
      cb("error", { error: "second" }),
    ];
    for (const s of sent) await outbox.send(url, SECRET, s);
    await outbox.stop();
    const files = await readdir(path.join(dataDir, "callbacks"));
    expect(files).toHaveLength(4);

    const r = await receiver(port);
    const { outbox: restarted } = await outboxIn(dataDir);
    expect(await restarted.resume()).toBe(4);
    await r.waitFor((got) => got.length === 4, 20_000);
    expect(r.received.map((g) => g.body.sequence)).toEqual(sent.map((s) => s.sequence));
    expect(new Set(r.received.map((g) => `${g.webhookId}.json`))).toEqual(new Set(files));
    await restarted.idle();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("does not hold one container's callbacks behind another's retries", async () => {
    const refusing = await receiver();
    const other = await receiver();
    const { outbox } = await outboxIn();
    refusing.refuse(3);
    await outbox.send(refusing.url, SECRET, cb("ready", { ...READY, mainImage: IMAGE }));
    await waitUntil(() => refusing.refused.length === 1);
    await outbox.send(other.url, SECRET, cb("error", { error: "other", containerId: "c-two" }));
    await other.waitFor((got) => got.length === 1, 5_000);
    // c-one's callback is still between its retries (they back off from CALLBACK_RETRY_BASE_MS).
    expect(refusing.received).toHaveLength(0);
    await refusing.waitFor((got) => got.length === 1, 20_000);
  });
});
