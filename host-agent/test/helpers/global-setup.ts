/**
 * Before the Docker tests: fail fast with a clear message when the engine or the test images are
 * missing, and remove containers a previous, interrupted run left behind (named `test-*` only).
 */
import Docker from "dockerode";
import { BUSYBOX_IMAGE, NODE_IMAGE } from "./images.js";
import { removeTestResources } from "./docker.js";

export default async function setup() {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`Docker engine not reachable (${String(err)}). Run: npm run test:docker`, { cause: err });
  }
  for (const image of [BUSYBOX_IMAGE, NODE_IMAGE]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      throw new Error(`Test image ${image} is missing. Run: npm run test:images`);
    }
  }
  await removeTestResources();
  return async () => {
    await removeTestResources();
  };
}
