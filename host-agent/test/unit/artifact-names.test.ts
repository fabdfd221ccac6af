/** The names of per-(tenant, repo) caches: unambiguous, valid for Docker, readable parts in labels. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ImageRef, VolumeName } from "../../src/api/contract.js";
import { belongsTo, dependencyVolume, dependencyVolumeName, mainImageTag } from "../../src/setup/artifact-names.js";

const LOCK = "a".repeat(64);

describe("artifact names", () => {
  it("are the first 24 hex of sha256 over NUL-joined parts", () => {
    const hex = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 24);
    expect(dependencyVolumeName("default", "acme/shop", LOCK)).toBe(`artie-deps-${hex(`default\0acme/shop\0${LOCK}`)}`);
    expect(mainImageTag("default", "acme/shop")).toBe(`artie-main-${hex("default\0acme/shop")}:main`);
  });

  it("never let two repos, two tenants or two lockfiles share a name", () => {
    const volumes = [
      dependencyVolumeName("default", "acme-x/y", LOCK),
      dependencyVolumeName("default", "acme/x-y", LOCK),
      dependencyVolumeName("team-a", "acme/shop", LOCK),
      dependencyVolumeName("team-b", "acme/shop", LOCK),
      dependencyVolumeName("team-a", "acme/shop", "b".repeat(64)),
      // A separator cannot be faked by moving characters between parts.
      dependencyVolumeName("a", "b/c", LOCK),
      dependencyVolumeName("a-b", "c/" + LOCK.slice(1), "a"),
    ];
    expect(new Set(volumes).size).toBe(volumes.length);
    const images = [
      mainImageTag("default", "acme-x/y"),
      mainImageTag("default", "acme/x-y"),
      mainImageTag("team-a", "acme/shop"),
      mainImageTag("team-b", "acme/shop"),
    ];
    expect(new Set(images).size).toBe(images.length);
  });

  it("are stable and valid Docker names", () => {
    expect(dependencyVolumeName("t", "Acme/Shop", LOCK)).toBe(dependencyVolumeName("t", "Acme/Shop", LOCK));
    expect(VolumeName.safeParse(dependencyVolumeName("t", "Acme/Shop.js", LOCK)).success).toBe(true);
    expect(ImageRef.safeParse(mainImageTag("t", "Acme/Shop.js")).success).toBe(true);
  });

  it("carry the readable parts in the volume's labels", () => {
    const v = dependencyVolume("team-a", "acme/shop", LOCK);
    expect(v.labels).toEqual({
      "artie.managed": "true",
      "artie.volume": v.name,
      "artie.tenant": "team-a",
      "artie.repo": "acme/shop",
      "artie.lock-hash": LOCK,
    });
    expect(belongsTo(v.labels, "team-a", "acme/shop")).toBe(true);
    expect(belongsTo(v.labels, "team-b", "acme/shop")).toBe(false);
    expect(belongsTo({}, "team-a", "acme/shop")).toBe(false);
  });
});
