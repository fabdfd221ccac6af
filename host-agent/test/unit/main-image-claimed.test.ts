// Covers src/setup/main-image.ts buildMainImage's `stillOurs`: a container claimed while its
// node_modules was being copied (a redeploy writing /app) gives no image and no commit label.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OperationLock } from "../../src/containers/operation-lock.js";
import { buildMainImage } from "../../src/setup/main-image.js";

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function build(claimDuringCopy: boolean) {
  root = await mkdtemp(path.join(tmpdir(), "main-image-"));
  const locks = new OperationLock();
  locks.claim("env-1", "being set up")();
  const since = locks.generation("env-1");
  const built: string[] = [];
  const result = await buildMainImage(
    {
      buildImage: async (context, tag) => {
        // Read the build context to its end, as the engine would.
        for await (const chunk of context as AsyncIterable<Buffer>) void chunk;
        built.push(tag);
      },
    },
    {
      getDirectory: () => {
        // A redeploy claims the container while the copy runs.
        if (claimDuringCopy) locks.claim("env-1", "being redeployed")();
        return Promise.resolve();
      },
    },
    {
      dockerId: "d1",
      tenant: "acme",
      repo: "acme/shop",
      baseImage: "node:22",
      commit: "a".repeat(40),
      lockHash: "b".repeat(64),
      user: "node",
      maxBytes: 1_000_000,
      contextRoot: root,
      stillOurs: () => locks.generation("env-1") === since,
    },
  );
  return { result, built };
}

describe("buildMainImage when the container was claimed meanwhile", () => {
  it("builds and tags when nothing claimed the container", async () => {
    const { result, built } = await build(false);
    expect(result).toMatchObject({ commit: "a".repeat(40) });
    expect(built).toHaveLength(1);
  });

  it("makes no image from a copy taken while something else claimed the container", async () => {
    const { result, built } = await build(true);
    expect(result).toBeNull();
    expect(built).toEqual([]);
  });
});
