// Covers src/network/subnets.ts: the /28 plan of environment networks.
import { describe, expect, it } from "vitest";
import { freeSubnet, parseCidr, subnetAt } from "../../src/network/subnets.js";

describe("subnets", () => {
  it("puts the gateway at .1 and the environment at .2 of its /28", () => {
    expect(subnetAt(parseCidr("10.213.0.16/28").base)).toEqual({
      subnet: "10.213.0.16/28",
      gateway: "10.213.0.17",
      containerIp: "10.213.0.18",
    });
  });

  it("takes the first /28 of the pool no network overlaps", () => {
    const pool = parseCidr("10.213.0.0/16");
    expect(freeSubnet(pool, [])?.subnet).toBe("10.213.0.0/28");
    expect(freeSubnet(pool, ["10.213.0.0/28", "10.213.0.16/28", "172.17.0.0/16", "fd00::/64"])?.subnet).toBe(
      "10.213.0.32/28",
    );
    // A wider network over the start of the pool blocks every /28 it covers.
    expect(freeSubnet(pool, ["10.213.0.0/24"])?.subnet).toBe("10.213.1.0/28");
  });

  it("says when the pool is full", () => {
    expect(freeSubnet(parseCidr("10.213.0.0/27"), ["10.213.0.0/28", "10.213.0.16/28"])).toBeNull();
    expect(freeSubnet(parseCidr("10.0.0.0/8"), ["10.0.0.0/8"])).toBeNull();
  });

  it("refuses what is not an IPv4 CIDR", () => {
    expect(() => parseCidr("10.213.0.0")).toThrow(/IPv4 CIDR/);
    expect(() => parseCidr("fd00::/8")).toThrow(/IPv4 CIDR/);
  });
});
