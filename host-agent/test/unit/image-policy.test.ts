// Covers src/setup/image-policy.ts: which images count as agent-built and whose they are.
import { describe, expect, it } from "vitest";
import { mainImageTag } from "../../src/setup/artifact-names.js";
import { hasMainImageName, imageOrigin, splitRef } from "../../src/setup/image-policy.js";
import { FakeDocker } from "./fake-docker.js";

const A = { tenant: "team-a", repo: "acme/app" };
const B = { tenant: "team-b", repo: "acme/app" };
const labelsOf = (o: { tenant: string; repo: string }) => ({
  "artie.managed": "true",
  "artie.tenant": o.tenant,
  "artie.repo": o.repo,
  "artie.main-commit": "c0ffee",
  "artie.base-image": "node:22",
});

describe("image names", () => {
  it("splits repository and tag, registry ports and digests included", () => {
    expect(splitRef("node:22")).toEqual({ repository: "node", tag: "22" });
    expect(splitRef("reg:5000/a/b")).toEqual({ repository: "reg:5000/a/b", tag: null });
    expect(splitRef("reg:5000/a/b:main@sha256:00")).toEqual({ repository: "reg:5000/a/b", tag: "main" });
  });

  it("knows main image names, old and new, and leaves others alone", () => {
    expect(hasMainImageName(mainImageTag("t", "o/r"))).toBe(true);
    expect(hasMainImageName("reg.example/x/artie-main-abc:v1")).toBe(true);
    expect(hasMainImageName("owner-repo:main")).toBe(true);
    expect(hasMainImageName("myorg/app:main")).toBe(false);
    expect(hasMainImageName("node:22")).toBe(false);
  });
});

describe("imageOrigin", () => {
  it("a tenant's own main image is owned; another tenant's, or a retag of it, is not", async () => {
    const docker = new FakeDocker();
    const [tagA, tagB] = [mainImageTag(A.tenant, A.repo), mainImageTag(B.tenant, B.repo)];
    for (const [tag, o] of [
      [tagA, A],
      [tagB, B],
      ["innocent:latest", B],
    ] as const) {
      docker.images.add(tag);
      docker.imageLabelsOf.set(tag, labelsOf(o));
    }
    expect(await imageOrigin(docker, tagA, A)).toEqual({ agentBuilt: true, owned: true, base: "node:22" });
    expect(await imageOrigin(docker, tagB, A)).toMatchObject({ agentBuilt: true, owned: false });
    expect(await imageOrigin(docker, "innocent:latest", A)).toMatchObject({ agentBuilt: true, owned: false });
    expect(await imageOrigin(docker, tagA, null)).toMatchObject({ agentBuilt: true, owned: false });
  });

  it("a name like a main image without labels is never owned; plain images are not agent-built", async () => {
    const docker = new FakeDocker();
    docker.images.add("node:22");
    expect(await imageOrigin(docker, "acme-app:main", A)).toMatchObject({ agentBuilt: true, owned: false });
    expect(await imageOrigin(docker, mainImageTag(A.tenant, A.repo), A)).toMatchObject({ owned: false });
    expect(await imageOrigin(docker, "node:22", A)).toEqual({ agentBuilt: false });
    expect(await imageOrigin(docker, "missing:1", A)).toEqual({ agentBuilt: false });
  });
});
