// Covers src/egress/policy.ts and src/lib/host-patterns.ts: what the egress proxy lets out, by
// name and by resolved address, before it connects anywhere.
import { describe, expect, it } from "vitest";
import { EgressPolicy } from "../../src/egress/policy.js";
import { matches, parsePattern, patternProblem } from "../../src/lib/host-patterns.js";

const policy = (over: Partial<ConstructorParameters<typeof EgressPolicy>[0]> = {}) =>
  new EgressPolicy(
    {
      environmentSubnets: "10.213.0.0/16",
      allowlist: ["registry.example.com", "*.example.org"],
      denylist: ["evil.example.org"],
      allowedCidrs: [],
      resolve: {},
      ...over,
    },
    () => ["192.168.1.20", "172.17.0.1", "10.213.0.1"],
  );

describe("host patterns", () => {
  it("matches exact names and subdomains under a wildcard, never the bare domain", () => {
    expect(matches(parsePattern("registry.example.com"), "Registry.Example.COM.")).toBe(true);
    expect(matches(parsePattern("*.example.org"), "a.b.example.org")).toBe(true);
    expect(matches(parsePattern("*.example.org"), "example.org")).toBe(false);
    expect(matches(parsePattern("*.example.org"), "badexample.org")).toBe(false);
  });

  it.each([
    ["*", /every host/],
    ["*.com", /whole top-level domain/],
    ["127.0.0.1", /IP address/],
    ["[::1]", /IP address/],
    ["a..b", /not a host name/],
    ["-a.example.com", /not a host name/],
  ])("refuses %j", (pattern, why) => {
    expect(patternProblem(pattern)).toMatch(why);
  });
});

describe("decideHost", () => {
  it.each([
    ["registry.example.com", null],
    ["REGISTRY.example.com.", null],
    ["a.example.org", null],
    ["evil.example.org", "denylisted"],
    ["example.org", "not_allowlisted"],
    ["other.test", "not_allowlisted"],
    ["93.184.216.34", "ip_literal"],
    ["[2001:db8::1]", "ip_literal"],
    ["", "bad_request"],
  ])("%j -> %s", (host, reason) => {
    expect(policy().decideHost(host)).toBe(reason);
  });

  it("lets nothing out with an empty allowlist", () => {
    expect(policy({ allowlist: [] }).decideHost("registry.example.com")).toBe("not_allowlisted");
  });
});

describe("decideAddress", () => {
  it.each([
    ["93.184.216.34", null],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["169.254.169.254", "link_local"],
    ["fe80::1", "link_local"],
    ["0.0.0.0", "reserved_address"],
    ["224.0.0.1", "reserved_address"],
    ["192.168.1.20", "host_address"],
    ["10.213.0.18", "environment_address"],
    ["10.1.2.3", "private_address"],
    ["172.20.0.5", "private_address"],
    ["100.64.0.1", "private_address"],
    ["fd00::5", "private_address"],
    ["198.18.0.1", "reserved_address"],
  ])("%s -> %s", (ip, reason) => {
    expect(policy().decideAddress(ip)).toBe(reason);
  });

  it("opens private ranges named in EGRESS_ALLOWED_CIDRS, never loopback, link-local, the host or environments", () => {
    const p = policy({ allowedCidrs: ["10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"] });
    expect(p.decideAddress("10.1.2.3")).toBeNull();
    expect(p.decideAddress("10.213.0.18")).toBe("environment_address");
    expect(p.decideAddress("10.213.0.1")).toBe("environment_address");
    expect(p.decideAddress("169.254.169.254")).toBe("link_local");
    expect(p.decideAddress("127.0.0.1")).toBe("loopback");
  });

  it("pins names from EGRESS_RESOLVE, whatever their case", () => {
    expect(policy({ resolve: { "mirror.internal": "10.0.0.5" } }).pinned("Mirror.Internal.")).toBe("10.0.0.5");
  });
});
