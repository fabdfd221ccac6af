/**
 * Background pre-pull against the real engine, from registries the test starts on 127.0.0.1 (the
 * engine pulls through dockerd, which reaches them and speaks plain HTTP to loopback registries):
 * an image already on the engine is `present` without a pull; a registry that answers 500 makes
 * the pull fail, retried with backoff, the agent healthy throughout; a create for an image whose
 * pull is under way waits for it and succeeds. No other address is contacted: every image named
 * is local or on the test's own registry.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { HealthResponse, type ImagePull } from "../src/api/contract.js";
import { cleanupAfter, startTestAgent, uniqueName } from "./helpers/agent.js";
import { imageParts, removeImages } from "./helpers/image-fixtures.js";
import { BUSYBOX_IMAGE } from "./helpers/images.js";
import { failingRegistry, servingRegistry } from "./helpers/registry.js";

const health = async (url: string) => HealthResponse.parse(await (await fetch(`${url}/health`)).json());

async function waitForPull(url: string, image: string, done: (p: ImagePull) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const pull = (await health(url)).images?.find((i) => i.image === image);
    if (pull && done(pull)) return pull;
    if (Date.now() > deadline) throw new Error(`pull of ${image} not as expected in time: ${JSON.stringify(pull)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("image pre-pull", () => {
  it("keeps a local image present without pulling, and retries an unreachable registry with backoff", async () => {
    const registry = await failingRegistry();
    onTestFinished(() => registry.close());
    const image = `${registry.host}/test-${randomBytes(3).toString("hex")}/x:1`;
    const agent = await startTestAgent({ PREPULL_IMAGES: image, CONTAINER_NETWORK: "bridge" });
    onTestFinished(() => agent.close());

    const first = await waitForPull(agent.url, image, (p) => p.state === "failed", 20_000);
    expect(first.attempts).toBe(1);
    expect(first.error).toBeTruthy();
    expect(Date.parse(first.nextAttemptAt!)).toBeGreaterThan(Date.now());
    // The engine really asked the test's registry.
    expect(registry.requests()).toBeGreaterThan(0);
    // The second attempt comes after the backoff (IMAGE_PULL_RETRY_BASE_MS, 5 s), and fails again.
    const second = await waitForPull(agent.url, image, (p) => p.state === "failed" && p.attempts >= 2, 20_000);
    expect(Date.parse(second.nextAttemptAt!) - Date.parse(second.updatedAt)).toBeGreaterThan(
      Date.parse(first.nextAttemptAt!) - Date.parse(first.updatedAt),
    );

    const h = await health(agent.url);
    expect(h.status).toBe("ok");
    expect(h.images?.find((i) => i.image === BUSYBOX_IMAGE)).toMatchObject({ state: "present", attempts: 0 });
    // A create for the image that failed to pull says why at once.
    const { name, id } = uniqueName("nopull");
    const res = await agent.api.post("/api/containers", { name, id, image });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/background pull failed/);
  }, 60_000);

  it("a create for an image being pulled waits for the pull, then creates", async () => {
    const DELAY_MS = 2_500;
    const registry = await servingRegistry(await imageParts(), DELAY_MS);
    onTestFinished(() => registry.close());
    const image = `${registry.host}/test-${randomBytes(3).toString("hex")}/busybox:1`;
    onTestFinished(() => removeImages([image]));
    const agent = await startTestAgent({ PREPULL_IMAGES: image, CONTAINER_NETWORK: "bridge" });
    onTestFinished(() => agent.close());

    const { name, id } = uniqueName("pulled");
    cleanupAfter(id);
    const started = Date.now();
    const res = await agent.api.post("/api/containers", { name, id, image });
    expect(res.status, await res.clone().text()).toBe(201);
    // It waited for the registry's slow answer rather than failing with image_not_found.
    expect(Date.now() - started).toBeGreaterThan(DELAY_MS / 2);
    const pull = await waitForPull(agent.url, image, (p) => p.state === "present", 10_000);
    expect(pull.attempts).toBe(1);
    // Its layers are busybox's, which the engine already has ("Already exists"): no bytes to count.
    expect(pull.error).toBeUndefined();
    expect(registry.requests()).toBeGreaterThan(0);
  }, 60_000);
});
