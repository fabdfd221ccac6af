// Covers src/images/prepull.ts with a stand-in engine (its pull stream is the JSON lines the real
// one sends): present without a pull, progress summed over layers, an error line failing the
// pull with backoff that doubles, the progress byte cap, and a waiter released when a pull ends.
// The real engine and registries are in test/prepull.int.test.ts.
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import type { DockerClient } from "../../src/docker/client.js";
import { ImagePuller, normalizeRef } from "../../src/images/prepull.js";
import { createLogger } from "../../src/lib/logger.js";

const logger = createLogger("silent");
const limits = { retryBaseMs: 40, retryCapMs: 1_000, timeoutMs: 5_000, maxBytes: 64 * 1024 };

function engine(o: { present: Set<string>; lines: (ref: string) => object[]; delayMs?: number }) {
  const pulls: string[] = [];
  const times: number[] = [];
  const docker = {
    imageExists: (ref: string) => Promise.resolve(o.present.has(ref)),
    pullImage: async (ref: string) => {
      pulls.push(ref);
      times.push(Date.now());
      await new Promise((r) => setTimeout(r, o.delayMs ?? 0));
      const lines = o.lines(ref);
      const ok = !lines.some((l) => "error" in l);
      const stream = Readable.from(lines.map((l) => Buffer.from(`${JSON.stringify(l)}\n`)));
      // The engine has the image once its stream ended well.
      stream.on("end", () => ok && o.present.add(ref));
      return stream;
    },
  };
  return { docker: docker as unknown as DockerClient, pulls, times };
}

it("names an image with and without its default tag alike", () => {
  expect(normalizeRef("node")).toBe("node:latest");
  expect(normalizeRef("127.0.0.1:5000/a/b")).toBe("127.0.0.1:5000/a/b:latest");
  expect(normalizeRef("127.0.0.1:5000/a/b:1")).toBe("127.0.0.1:5000/a/b:1");
  expect(normalizeRef("a@sha256:" + "0".repeat(64))).toBe("a@sha256:" + "0".repeat(64));
});

it("keeps a present image without pulling and pulls a missing one, summing its layers' progress", async () => {
  const { docker, pulls } = engine({
    present: new Set(["here:1"]),
    lines: () => [
      { id: "a", status: "Downloading", progressDetail: { current: 10, total: 100 } },
      { id: "b", status: "Downloading", progressDetail: { current: 5, total: 50 } },
      { id: "a", status: "Pull complete" },
    ],
  });
  const puller = new ImagePuller(docker, logger, ["here:1", "there:1", "here:1"], limits);
  puller.start();
  await puller.waitFor("there:1", 2_000);
  const [here, there] = puller.status();
  expect(puller.status()).toHaveLength(2);
  expect(here).toMatchObject({ image: "here:1", state: "present", attempts: 0 });
  expect(there).toMatchObject({ state: "present", attempts: 1, progress: { currentBytes: 105, totalBytes: 150 } });
  expect(pulls).toEqual(["there:1"]);
  await puller.stop();
});

it("fails on the engine's error line and retries with a doubling backoff", async () => {
  const { docker, pulls, times } = engine({ present: new Set(), lines: () => [{ error: "registry said 500" }] });
  const puller = new ImagePuller(docker, logger, ["gone:1"], limits);
  puller.start();
  const deadline = Date.now() + 3_000;
  const failedThrice = () => puller.status()[0]!.state === "failed" && puller.status()[0]!.attempts >= 3;
  while (!failedThrice() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  // Three attempts, the gaps between them at least 40 then 80 ms: the backoff doubles.
  expect(pulls).toHaveLength(3);
  expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35);
  expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(75);
  const [pull] = puller.status();
  expect(pull).toMatchObject({ state: "failed", error: "registry said 500" });
  expect(pull!.attempts).toBeGreaterThanOrEqual(3);
  expect(puller.describe("gone:1")).toMatch(/background pull failed \(registry said 500\)/);
  // A waiter does not wait for a failed pull's backoff.
  const started = Date.now();
  await puller.waitFor("gone:1", 1_000);
  expect(Date.now() - started).toBeLessThan(100);
  await puller.stop();
});

it("fails a pull whose progress passes the byte cap", async () => {
  const line = { id: "a", status: "Downloading", progressDetail: { current: 1, total: 2 }, pad: "x".repeat(1024) };
  const { docker } = engine({ present: new Set(), lines: () => Array.from({ length: 100 }, () => line) });
  const puller = new ImagePuller(docker, logger, ["big:1"], { ...limits, retryBaseMs: 60_000 });
  puller.start();
  const deadline = Date.now() + 2_000;
  while (puller.status()[0]!.state !== "failed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(puller.status()[0]!.error).toMatch(/passed 65536 bytes/);
  await puller.stop();
});

it("lets a waiter go when the pull under way ends, or at its own timeout", async () => {
  const { docker } = engine({ present: new Set(), lines: () => [], delayMs: 300 });
  const puller = new ImagePuller(docker, logger, ["slow:1"], limits);
  puller.start();
  const started = Date.now();
  await puller.waitFor("slow:1", 50);
  expect(Date.now() - started).toBeLessThan(250);
  await puller.waitFor("slow:1", 2_000);
  expect(puller.status()[0]!.state).toBe("present");
  // An image not in the list is not waited for.
  await puller.waitFor("other:1", 2_000);
  await puller.stop();
});
