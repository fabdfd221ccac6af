/**
 * What the egress proxy lets out, decided in two steps, both before any connection is made:
 *
 * 1. By name. IP literals are refused (a name is what the allowlist speaks of); a denylisted
 *    name is refused even when allowlisted; otherwise only allowlisted names pass. An empty
 *    allowlist lets nothing out.
 * 2. By address, after the proxy resolved the name once (EGRESS_RESOLVE first, then DNS):
 *    loopback, link-local (the metadata address 169.254.169.254 among them), unspecified,
 *    multicast, the host's own addresses and the environments' own subnets are always refused; private and reserved ranges
 *    are refused unless the operator opened them (EGRESS_ALLOWED_CIDRS). The proxy then connects
 *    to the address it checked, so a name that resolves elsewhere a second time (DNS rebinding)
 *    changes nothing.
 */
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { EgressDenyReason as DenyReason } from "../api/contract.js";
import { matches, normalizeHost, parsePattern, type HostPattern } from "../lib/host-patterns.js";

export type EgressPolicyConfig = {
  /** ENVIRONMENT_SUBNETS: never a destination, whatever EGRESS_ALLOWED_CIDRS opens. */
  environmentSubnets: string;
  allowlist: string[];
  denylist: string[];
  allowedCidrs: string[];
  resolve: Record<string, string>;
};

type Range = [address: string, prefix: number, family: "ipv4" | "ipv6"];

const ALWAYS_DENIED: Array<[DenyReason, Range[]]> = [
  [
    "loopback",
    [
      ["127.0.0.0", 8, "ipv4"],
      ["::1", 128, "ipv6"],
    ],
  ],
  [
    "link_local",
    [
      ["169.254.0.0", 16, "ipv4"],
      ["fe80::", 10, "ipv6"],
    ],
  ],
  [
    "reserved_address",
    [
      ["0.0.0.0", 8, "ipv4"],
      ["224.0.0.0", 4, "ipv4"],
      ["240.0.0.0", 4, "ipv4"],
      ["::", 128, "ipv6"],
      ["ff00::", 8, "ipv6"],
    ],
  ],
];

const PRIVATE: Array<[DenyReason, Range[]]> = [
  [
    "private_address",
    [
      ["10.0.0.0", 8, "ipv4"],
      ["172.16.0.0", 12, "ipv4"],
      ["192.168.0.0", 16, "ipv4"],
      ["100.64.0.0", 10, "ipv4"],
      ["fc00::", 7, "ipv6"],
    ],
  ],
  [
    "reserved_address",
    [
      ["192.0.0.0", 24, "ipv4"],
      ["192.0.2.0", 24, "ipv4"],
      ["198.18.0.0", 15, "ipv4"],
      ["198.51.100.0", 24, "ipv4"],
      ["203.0.113.0", 24, "ipv4"],
      ["2001:db8::", 32, "ipv6"],
    ],
  ],
];

function blockList(ranges: Range[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

const family = (ip: string) => (isIP(ip) === 6 ? "ipv6" : "ipv4");

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
const unmap = (ip: string) => ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");

export class EgressPolicy {
  private readonly allow: HostPattern[];
  private readonly deny: HostPattern[];
  private readonly allowedCidrs: BlockList;
  private readonly alwaysDenied: Array<[DenyReason, BlockList]>;
  private readonly privateRanges: Array<[DenyReason, BlockList]>;
  private readonly resolveMap: Map<string, string>;

  constructor(
    readonly config: EgressPolicyConfig,
    private readonly hostAddresses: () => string[] = ownAddresses,
  ) {
    this.allow = config.allowlist.map(parsePattern);
    this.deny = config.denylist.map(parsePattern);
    this.allowedCidrs = new BlockList();
    for (const cidr of config.allowedCidrs) {
      const [address, prefix] = cidr.split("/");
      this.allowedCidrs.addSubnet(address!, Number(prefix), family(address!));
    }
    const [poolBase, poolPrefix] = config.environmentSubnets.split("/");
    this.alwaysDenied = [
      ...ALWAYS_DENIED.map(([reason, ranges]): [DenyReason, BlockList] => [reason, blockList(ranges)]),
      ["environment_address", blockList([[poolBase!, Number(poolPrefix), "ipv4"]])],
    ];
    this.privateRanges = PRIVATE.map(([reason, ranges]) => [reason, blockList(ranges)]);
    this.resolveMap = new Map(Object.entries(config.resolve).map(([name, ip]) => [normalizeHost(name), ip]));
  }

  /** Step 1: may this name be asked for at all? */
  decideHost(rawHost: string): DenyReason | null {
    const host = normalizeHost(rawHost).replace(/^\[|\]$/g, "");
    if (!host) return "bad_request";
    if (isIP(host)) return "ip_literal";
    if (this.deny.some((p) => matches(p, host))) return "denylisted";
    if (!this.allow.some((p) => matches(p, host))) return "not_allowlisted";
    return null;
  }

  /** Step 2: may the proxy connect to this resolved address? */
  decideAddress(rawIp: string): DenyReason | null {
    const ip = unmap(rawIp);
    const fam = family(ip);
    for (const [reason, list] of this.alwaysDenied) if (list.check(ip, fam)) return reason;
    if (this.hostAddresses().includes(ip)) return "host_address";
    if (this.allowedCidrs.check(ip, fam)) return null;
    for (const [reason, list] of this.privateRanges) if (list.check(ip, fam)) return reason;
    return null;
  }

  /** The operator's fixed answer for a name (EGRESS_RESOLVE), if any. */
  pinned(host: string): string | undefined {
    return this.resolveMap.get(normalizeHost(host));
  }
}

/** Every address of this host, on every interface (read each time: bridges come and go). */
function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.address));
}
