/** The setup-redirect state helpers: random, hashed at rest, expiring, shape-checked. */
import { describe, expect, it } from "vitest";
import {
  hashInstallState,
  installStateExpiresAt,
  isWellFormedInstallState,
  newInstallState,
  parseInstallationId,
} from "./githubLink";
import { INSTALL_LINK_STATE_TTL_MS } from "./limits";

describe("install link state", () => {
  it("is random, well formed, and hashed to sha256 hex", async () => {
    const a = newInstallState();
    const b = newInstallState();
    expect(a).not.toBe(b);
    expect(isWellFormedInstallState(a)).toBe(true);
    const hash = await hashInstallState(a);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(a);
    expect(await hashInstallState(a)).toBe(hash);
    expect(await hashInstallState(b)).not.toBe(hash);
    // Known vector: sha256("abc").
    expect(await hashInstallState("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("expires after the named limit and refuses malformed input", () => {
    expect(installStateExpiresAt(1000)).toBe(1000 + INSTALL_LINK_STATE_TTL_MS);
    for (const bad of [undefined, 7, "", "short", "x".repeat(43) + "=", "a/b".padEnd(43, "c")]) {
      expect(isWellFormedInstallState(bad)).toBe(false);
    }
  });

  it("reads installation_id as GitHub sends it", () => {
    expect(parseInstallationId("12345")).toBe(12345);
    for (const bad of [undefined, "", "0", "-1", "1e3", "12a", "99999999999999999"]) {
      expect(parseInstallationId(bad)).toBeNull();
    }
  });
});
