/**
 * The address plan of environment networks: each environment gets a /28 of its own from one
 * operator-chosen pool (ENVIRONMENT_SUBNETS, default 10.213.0.0/16: 4096 environments). Docker's
 * default pools hand out /16s and /20s and run dry after about 30 networks, so the agent picks
 * subnets itself. In each /28 the gateway (the host's side of the bridge, where the egress proxy
 * listens) is .1 and the environment's container is .2, so both are known without asking Docker.
 * Pure arithmetic; no Docker calls.
 */
import { isIPv4 } from "node:net";

export const SUBNET_PREFIX = 28;
const SUBNET_SIZE = 2 ** (32 - SUBNET_PREFIX);

export type Cidr = { base: number; prefix: number };
export type EnvironmentSubnet = { subnet: string; gateway: string; containerIp: string };

export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; throws with what is wrong. The base is aligned to the prefix. */
export function parseCidr(text: string): Cidr {
  const [ip, bits] = text.split("/");
  const prefix = Number(bits);
  if (!ip || !isIPv4(ip) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new Error(`${text} is not an IPv4 CIDR such as 10.213.0.0/16`);
  }
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(ipv4ToInt(ip) / size) * size, prefix };
}

export const formatCidr = (c: Cidr) => `${intToIpv4(c.base)}/${c.prefix}`;

export function subnetAt(base: number): EnvironmentSubnet {
  return {
    subnet: formatCidr({ base, prefix: SUBNET_PREFIX }),
    gateway: intToIpv4(base + 1),
    containerIp: intToIpv4(base + 2),
  };
}

/** The first /28 of `pool` that is not in `used` (subnets as Docker reports them); null when full. */
export function freeSubnet(pool: Cidr, used: Iterable<string>): EnvironmentSubnet | null {
  if (pool.prefix > SUBNET_PREFIX) return null;
  const end = pool.base + 2 ** (32 - pool.prefix);
  const taken = new Set<number>();
  for (const s of used) {
    let c: Cidr;
    try {
      c = parseCidr(s);
    } catch {
      continue; // not IPv4 (an IPv6 subnet): cannot overlap the pool
    }
    // Any network overlapping a block makes the block unusable; only blocks in the pool count.
    const first = Math.max(pool.base, Math.floor(c.base / SUBNET_SIZE) * SUBNET_SIZE);
    const last = Math.min(end, c.base + 2 ** (32 - c.prefix));
    for (let b = first; b < last; b += SUBNET_SIZE) taken.add(b);
  }
  for (let base = pool.base; base < end; base += SUBNET_SIZE) {
    if (!taken.has(base)) return subnetAt(base);
  }
  return null;
}
