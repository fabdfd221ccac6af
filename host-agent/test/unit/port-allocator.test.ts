// Covers src/containers/port-allocator.ts: lowest-free allocation, recycling, labels rebuild, exhaustion.
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/api/errors.js";
import { PortAllocator } from "../../src/containers/port-allocator.js";
import { appError } from "./fixtures.js";

const allocator = (start = 10000, end = 20000) => new PortAllocator({ start, end });

/** Runs `fn` expecting an AppError and returns it. */
describe("PortAllocator.reserve", () => {
  it("starts at the beginning of the range", () => {
    expect(allocator().reserve(1)).toEqual([10000]);
  });

  it("hands out consecutive ports, lowest first", () => {
    const ports = allocator();
    expect(ports.reserve(1)).toEqual([10000]);
    expect(ports.reserve(3)).toEqual([10001, 10002, 10003]);
    expect(ports.reserve(1)).toEqual([10004]);
  });

  it("never hands out one port twice across many reservations", () => {
    const ports = allocator(10000, 10999);
    const seen: number[] = [];
    for (let i = 0; i < 250; i++) seen.push(...ports.reserve((i % 4) + 1));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.every((p) => p >= 10000 && p <= 10999)).toBe(true);
    expect(ports.heldCount).toBe(seen.length);
  });

  it("marks what it reserved as held", () => {
    const ports = allocator();
    const [p] = ports.reserve(1);
    expect(ports.isHeld(p!)).toBe(true);
    expect(ports.isHeld(p! + 1)).toBe(false);
  });

  it("reserves nothing for a count of zero", () => {
    const ports = allocator();
    expect(ports.reserve(0)).toEqual([]);
    expect(ports.heldCount).toBe(0);
  });
});

describe("PortAllocator.release", () => {
  it("recycles a released port, lowest free first", () => {
    const ports = allocator();
    ports.reserve(5); // 10000..10004
    ports.release([10002]);
    expect(ports.isHeld(10002)).toBe(false);
    expect(ports.reserve(1)).toEqual([10002]);
    expect(ports.reserve(1)).toEqual([10005]);
  });

  it("ignores ports it never held", () => {
    const ports = allocator();
    ports.reserve(2);
    ports.release([12345]);
    expect(ports.heldCount).toBe(2);
  });
});

describe("PortAllocator rebuilt from labels", () => {
  it("skips ports marked held and fills the gaps between them", () => {
    const ports = allocator();
    ports.markHeld([10000, 10001, 10003]);
    expect(ports.reserve(2)).toEqual([10002, 10004]);
  });

  it("releases a held port like a reserved one", () => {
    const ports = allocator();
    ports.markHeld([10000]);
    ports.release([10000]);
    expect(ports.reserve(1)).toEqual([10000]);
  });
});

describe("PortAllocator.markForeign", () => {
  it("never hands out a foreign port again, even after a release", () => {
    const ports = allocator(10000, 10003);
    const [first] = ports.reserve(1);
    ports.markForeign(first!);
    ports.release([first!]);
    expect(ports.isHeld(first!)).toBe(false);
    expect(ports.reserve(3)).toEqual([10001, 10002, 10003]);
    expect(() => ports.reserve(1)).toThrow(AppError);
  });

  it("does not count a foreign port as held by the agent", () => {
    const ports = allocator();
    ports.reserve(1);
    ports.markForeign(10000);
    expect(ports.heldCount).toBe(0);
  });
});

describe("PortAllocator exhaustion", () => {
  it("throws port_range_exhausted naming the range when every port is held", () => {
    const ports = allocator(10000, 10002);
    ports.reserve(3);
    const err = appError(() => ports.reserve(1));
    expect(err.code).toBe("port_range_exhausted");
    expect(err.status).toBe(503);
    expect(err.message).toContain("10000-10002");
  });

  it("reserves nothing when it cannot reserve all of a multi-port request", () => {
    const ports = allocator(10000, 10003);
    ports.reserve(2);
    expect(appError(() => ports.reserve(3)).code).toBe("port_range_exhausted");
    expect(ports.heldCount).toBe(2);
    expect(ports.isHeld(10002)).toBe(false);
    expect(ports.isHeld(10003)).toBe(false);
    expect(ports.reserve(2)).toEqual([10002, 10003]);
  });

  it("serves the whole default range, 10001 ports, and not one more", () => {
    const ports = allocator();
    const all = ports.reserve(10001);
    expect(all[0]).toBe(10000);
    expect(all.at(-1)).toBe(20000);
    expect(appError(() => ports.reserve(1)).code).toBe("port_range_exhausted");
  });
});
