// Covers src/lib/keyed-lock.ts: one task at a time per key, and isHeld while one runs or waits.
import { expect, it } from "vitest";
import { KeyedLock } from "../../src/lib/keyed-lock.js";

it("runs one task per key at a time and says so through isHeld until the last one ends", async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  let release!: () => void;
  const first = lock.run("tag", () => new Promise<void>((r) => (release = r)).then(() => void order.push("first")));
  expect(lock.isHeld("tag")).toBe(true);
  expect(lock.isHeld("other")).toBe(false);
  const second = lock.run("tag", () => Promise.resolve(void order.push("second")));
  await new Promise((r) => setTimeout(r, 0)); // the first task has started and waits
  expect(order).toEqual([]);
  release();
  await Promise.all([first, second]);
  expect(order).toEqual(["first", "second"]);
  await new Promise((r) => setTimeout(r, 0));
  expect(lock.isHeld("tag")).toBe(false);
});
