import { describe, expect, it } from "vitest";
import { OperationLock } from "../../src/containers/operation-lock.js";

describe("OperationLock", () => {
  it("refuses a second claim of one container with a 409 naming the first, and lets others through", () => {
    const locks = new OperationLock();
    const release = locks.claim("env-1", "being set up");
    expect(() => locks.claim("env-1", "starting its dev server")).toThrow(/env-1 is being set up/);
    expect(() => locks.claim("env-1", "starting its dev server")).toThrow(
      expect.objectContaining({ code: "conflict" }),
    );
    locks.claim("env-2", "being stopped")();
    release();
    release(); // twice is harmless, and does not free a later claim
    const again = locks.claim("env-1", "restarting");
    release();
    expect(locks.holder("env-1")).toBe("restarting");
    again();
    expect(locks.holder("env-1")).toBeNull();
  });

  it("lets a delete wait for the operation under way, refusing new ones meanwhile", async () => {
    const locks = new OperationLock();
    const release = locks.claim("env-1", "being redeployed");
    let deleted = false;
    const del = locks.claimForDelete("env-1", 5_000).then((r) => {
      deleted = true;
      return r;
    });
    await Promise.resolve();
    expect(() => locks.claim("env-1", "restarting")).toThrow(expect.objectContaining({ code: "conflict" }));
    expect(deleted).toBe(false);
    release();
    const done = await del;
    expect(locks.holder("env-1")).toBe("being deleted");
    done();
    expect(locks.holder("env-1")).toBeNull();
  });

  it("answers a delete 409 when the operation outlasts its wait, and holds nothing after", async () => {
    const locks = new OperationLock();
    const release = locks.claim("env-1", "being set up");
    await expect(locks.claimForDelete("env-1", 20)).rejects.toMatchObject({ code: "conflict" });
    expect(locks.holder("env-1")).toBe("being set up");
    release();
    locks.claim("env-1", "restarting")();
  });

  it("moves a container's generation with every claim, a delete's too, and forgets it when the delete ends", async () => {
    const locks = new OperationLock();
    expect(locks.generation("env-1")).toBe(0);
    locks.claim("env-1", "being set up")();
    const atReady = locks.generation("env-1");
    expect(atReady).toBeGreaterThan(0);
    locks.claim("env-2", "restarting")(); // another container's claim leaves it alone
    expect(locks.generation("env-1")).toBe(atReady);
    const redeploy = locks.claim("env-1", "being redeployed");
    const during = locks.generation("env-1");
    expect(during).not.toBe(atReady);
    redeploy(); // a release does not move it back
    expect(locks.generation("env-1")).toBe(during);
    const deleted = await locks.claimForDelete("env-1", 1_000);
    expect(locks.generation("env-1")).not.toBe(during);
    deleted();
    expect(locks.generation("env-1")).toBe(0);
  });
});
