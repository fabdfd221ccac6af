// The egress proxy's resolver: one lookup per name in flight, answers kept briefly, failures not
// kept, a deadline per connection, and the host's real resolver underneath.
import { describe, expect, it } from "vitest";
import { HostResolver, type LookupAll } from "../../src/egress/resolve.js";

function countingLookup(answer: (host: string) => Promise<string[]>) {
  const calls: string[] = [];
  const lookupAll: LookupAll = (host) => {
    calls.push(host);
    return answer(host);
  };
  return { calls, lookupAll };
}

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("HostResolver", () => {
  it("answers fifty parallel connections to one name with one lookup", async () => {
    const { calls, lookupAll } = countingLookup(async () => {
      await later(20);
      return ["10.1.2.3"];
    });
    const resolver = new HostResolver(lookupAll);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => resolver.resolve("Registry.Example.", undefined)),
    );
    expect(calls).toEqual(["registry.example"]);
    expect(new Set(answers.map((a) => a.join()))).toEqual(new Set(["10.1.2.3"]));
  });

  it("reuses an answer for a while, then asks again", async () => {
    let now = 1_000;
    const { calls, lookupAll } = countingLookup(() => Promise.resolve(["10.1.2.3"]));
    const resolver = new HostResolver(lookupAll, () => now);
    await resolver.resolve("a.example", undefined);
    now += 29_000;
    await resolver.resolve("a.example", undefined);
    expect(calls).toHaveLength(1);
    now += 2_000;
    await resolver.resolve("a.example", undefined);
    expect(calls).toHaveLength(2);
  });

  it("keeps no failure and no empty answer", async () => {
    let fail = true;
    const { calls, lookupAll } = countingLookup(() =>
      fail ? Promise.reject(new Error("ENOTFOUND")) : Promise.resolve([]),
    );
    const resolver = new HostResolver(lookupAll);
    await expect(resolver.resolve("b.example", undefined)).rejects.toThrow("ENOTFOUND");
    fail = false;
    expect(await resolver.resolve("b.example", undefined)).toEqual([]);
    expect(await resolver.resolve("b.example", undefined)).toEqual([]);
    expect(calls).toHaveLength(3);
  });

  it("gives up on a slow lookup at the deadline, and keeps its late answer for the next connection", async () => {
    const { calls, lookupAll } = countingLookup(async () => {
      await later(150);
      return ["10.9.9.9"];
    });
    const resolver = new HostResolver(lookupAll, Date.now, 50);
    await expect(resolver.resolve("slow.example", undefined)).rejects.toThrow("DNS timeout");
    await later(150);
    expect(await resolver.resolve("slow.example", undefined)).toEqual(["10.9.9.9"]);
    expect(calls).toHaveLength(1);
  });

  it("never looks up a pinned name", async () => {
    const { calls, lookupAll } = countingLookup(() => Promise.resolve(["10.1.1.1"]));
    expect(await new HostResolver(lookupAll).resolve("mirror.internal", "10.0.0.5")).toEqual(["10.0.0.5"]);
    expect(calls).toEqual([]);
  });

  it("remembers a bounded number of names, dropping the oldest", async () => {
    const { calls, lookupAll } = countingLookup(() => Promise.resolve(["10.1.1.1"]));
    const resolver = new HostResolver(lookupAll);
    for (let i = 0; i < 513; i++) await resolver.resolve(`n${i}.example`, undefined);
    await resolver.resolve("n512.example", undefined);
    expect(calls).toHaveLength(513);
    await resolver.resolve("n0.example", undefined);
    expect(calls).toHaveLength(514);
  });

  it("resolves through the host's own resolver", async () => {
    const addresses = await new HostResolver().resolve("localhost", undefined);
    expect(addresses.some((a) => a === "127.0.0.1" || a === "::1")).toBe(true);
  });
});
