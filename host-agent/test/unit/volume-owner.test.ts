// Covers src/containers/volume-owner.ts: the owner read from the engine's tar, and the one-shot chown helper only when needed.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ensureVolumeOwner, ownerHelperOptions, readOwner } from "../../src/containers/volume-owner.js";
import { createLogger } from "../../src/lib/logger.js";
import { FakeDocker } from "./fake-docker.js";
import { ustarHeader } from "./tar-fixtures.js";

const logger = createLogger("silent");
const MOUNTS = [
  { volume: "artie-ws-env1", target: "/app" },
  { volume: "artie-deps-x", target: "/app/node_modules" },
];

async function created(docker: FakeDocker) {
  return docker.create({ name: "artie-env1", Image: "node:24-slim", Labels: {} });
}

describe("readOwner", () => {
  it("answers the first header's owner, from a stream that arrives in pieces", async () => {
    const docker = new FakeDocker();
    const id = await created(docker);
    const header = ustarHeader({ name: "app/", uid: 0, gid: 0 });
    docker.archive = () => Promise.resolve(Readable.from([header.subarray(0, 100), header.subarray(100)]));
    expect(await readOwner(docker, id, "/app")).toEqual({ uid: 0, gid: 0 });
  });

  it("fails on a stream that is not tar or ends before a header", async () => {
    const docker = new FakeDocker();
    const id = await created(docker);
    docker.archive = () => Promise.resolve(Readable.from([Buffer.alloc(512, "z")]));
    await expect(readOwner(docker, id, "/app")).rejects.toThrow(/not a tar header/);
    docker.archive = () => Promise.resolve(Readable.from([Buffer.alloc(10)]));
    await expect(readOwner(docker, id, "/app")).rejects.toThrow(/ended before its first header/);
  });
});

describe("ensureVolumeOwner", () => {
  it("runs nothing when the user already owns every root (an image with /app owned by it)", async () => {
    const docker = new FakeDocker();
    const dockerId = await created(docker);
    const changed = await ensureVolumeOwner(docker, logger, {
      dockerId,
      image: "node:24-slim",
      user: "1000:1000",
      runtime: "runc",
      mounts: MOUNTS,
    });
    expect(changed).toEqual([]);
    expect(docker.oneShots).toEqual([]);
  });

  it("hands exactly the roots the user does not own to it, in one helper", async () => {
    const docker = new FakeDocker();
    const dockerId = await created(docker);
    docker.owners.set(`${dockerId}:/app`, { uid: 0, gid: 0 });
    const changed = await ensureVolumeOwner(docker, logger, {
      dockerId,
      image: "node:24-slim",
      user: "1000:1000",
      runtime: "runsc",
      mounts: MOUNTS,
    });
    expect(changed).toEqual(["artie-ws-env1"]);
    expect(docker.oneShots).toHaveLength(1);
    expect(docker.oneShots[0]!.Cmd).toEqual(["chown", "1000:1000", "/artie-volume-0"]);
    expect(docker.oneShots[0]!.HostConfig!.Mounts).toEqual([
      { Type: "volume", Source: "artie-ws-env1", Target: "/artie-volume-0" },
    ]);
  });

  it("counts a wrong group as not owned", async () => {
    const docker = new FakeDocker();
    const dockerId = await created(docker);
    docker.owners.set(`${dockerId}:/app/node_modules`, { uid: 1000, gid: 0 });
    const changed = await ensureVolumeOwner(docker, logger, {
      dockerId,
      image: "i",
      user: "1000:1000",
      runtime: "runc",
      mounts: MOUNTS,
    });
    expect(changed).toEqual(["artie-deps-x"]);
  });

  it("fails, naming the paths, when the helper's chown fails", async () => {
    const docker = new FakeDocker();
    const dockerId = await created(docker);
    docker.owners.set(`${dockerId}:/app`, { uid: 0, gid: 0 });
    docker.runOnce = () => Promise.resolve(1);
    await expect(
      ensureVolumeOwner(docker, logger, { dockerId, image: "img", user: "1000:1000", runtime: "runc", mounts: MOUNTS }),
    ).rejects.toThrow("could not make 1000:1000 the owner of /app: chown in img exited with 1");
  });
});

describe("ownerHelperOptions", () => {
  const o = ownerHelperOptions({ image: "node:24-slim", user: "1000:1000", runtime: "runsc", volumes: ["a", "b"] });

  it("runs chown alone, as root with CAP_CHOWN and nothing else, without the image's entrypoint", () => {
    expect(o.Entrypoint).toEqual([]);
    expect(o.Cmd).toEqual(["chown", "1000:1000", "/artie-volume-0", "/artie-volume-1"]);
    expect(o.User).toBe("0:0");
    expect(o.HostConfig!.CapDrop).toEqual(["ALL"]);
    expect(o.HostConfig!.CapAdd).toEqual(["CHOWN"]);
    expect(o.HostConfig!.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(o.HostConfig!.Privileged).toBeUndefined();
  });

  it("has no network, a read-only root, the environment's runtime, small limits and only the volumes", () => {
    const h = o.HostConfig!;
    expect(o.NetworkDisabled).toBe(true);
    expect(h.NetworkMode).toBe("none");
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Runtime).toBe("runsc");
    expect(h.Memory).toBe(32 * 1024 * 1024);
    expect(h.PidsLimit).toBe(16);
    expect(h.Binds).toBeUndefined();
    expect(h.Mounts!.map((m) => [m.Type, m.Source])).toEqual([
      ["volume", "a"],
      ["volume", "b"],
    ]);
  });

  it("is labelled as a helper, never as an environment", () => {
    expect(o.Labels).toEqual({ "artie.helper": "volume-owner" });
  });
});
